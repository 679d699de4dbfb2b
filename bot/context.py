"""What a handler works with: one database transaction and the effects it queues.

A handler never talks to a platform. It changes tables, queues outbound actions in the outbox
and schedules timers, all in the same transaction, so its effects happen exactly once or not at
all. The delivery workers and the timer loop pick the queued work up after the commit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.codec import encode_action
from adapters.contract import (
    Action,
    Button,
    Capability,
    CommandsInThreads,
    Destination,
    Direct,
    Inbound,
    Place,
    PlatformName,
    Purpose,
    Segment,
    SendMessage,
    SpaceId,
)
from bot import i18n, pending_outbox
from bot.errors import UserInputError
from bot.i18n import Words
from bot.models import (
    AuditEntry,
    Community,
    Identity,
    Member,
    OutboxRow,
    OutboxState,
    Role,
    Timer,
)
from bot.pending_outbox import Pending

if TYPE_CHECKING:
    from bot.core import Bot


@functools.cache
def _insert_ignore_statement(table: Table, dialect: str) -> Any:
    """Built once per table, the values passed at execution: building and hashing a fresh
    statement on every call cost more than running it (three run for every inbound event)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    pk = next(iter(table.primary_key.columns))
    return insert(table).on_conflict_do_nothing().returning(pk)


def dialect_of(session: AsyncSession) -> str:
    return session.sync_session.get_bind().dialect.name


async def insert_ignore(session: AsyncSession, model: type[SQLModel], **values: Any) -> bool:
    """Insert a row unless its unique key exists; True when inserted."""
    return await insert_ignore_id(session, model, **values) is not None


async def insert_ignore_id(
    session: AsyncSession, model: type[SQLModel], **values: Any
) -> int | None:
    """Insert a row unless its unique key exists; its primary key when inserted."""
    table = model.__table__  # type: ignore[attr-defined]
    stmt = _insert_ignore_statement(table, dialect_of(session))
    result = await session.exec(stmt, params=values)
    inserted: int | None = result.scalar()
    return inserted


INSERT_CHUNK = 500
"""Rows per multi-row INSERT: well under SQLite's limit of bound variables per statement."""


async def insert_many_ignore(
    session: AsyncSession, model: type[SQLModel], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert rows, skipping those whose unique key exists, a chunk per statement."""
    table = model.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert
    for i in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[i : i + INSERT_CHUNK]
        await session.exec(insert(table).values(list(chunk)).on_conflict_do_nothing())


@dataclass(frozen=True)
class Queued:
    """One action for `Scope.perform_many`, with `perform`'s delivery options."""

    action: Action
    platform: str
    recipient: Member | None = None
    at: datetime | None = None
    not_after: datetime | None = None
    grace_until: datetime | None = None


@dataclass
class Scope:
    """A transaction plus the ways to queue effects from it."""

    bot: Bot
    session: AsyncSession
    now: datetime
    woken: set[str] = field(default_factory=set)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    """Run once the transaction committed: changes outside the database (the scheduler's
    job store must not be written while this transaction holds SQLite's write lock)."""
    memo: dict[Any, Any] = field(default_factory=dict)
    """What handlers sharing this transaction may reuse (timers due together fire in one
    transaction: a burst of nudges to the same audience loads that audience once)."""

    def capabilities(self, platform: str) -> frozenset[Capability]:
        return self.bot.capabilities(platform)

    def max_text(self, platform: str) -> int | None:
        """The most characters one message may carry on `platform` (None: no adapter)."""
        adapter = self.bot.adapters.get(platform)
        return adapter.max_text if adapter else None

    def words_for(self, member: Member | None) -> Words:
        """A member's language: their own choice, then their platform's, then the
        community's."""
        community = self.bot.config.model.community
        if member is None:
            return i18n.words(community.language)
        return i18n.words(
            i18n.choose(member.language, member.platform_language, community.language)
        )

    def words_in(self, platform: str, space: str) -> Words:
        """The language of a post to a whole space: the space's own, else the community's."""
        community = self.bot.config.model.community
        return i18n.words(community.languages.get(f"{platform}:{space}", community.language))

    def community_spaces(self) -> list[Place]:
        """The community's main spaces (`[community] spaces`) on the platforms running now."""
        configured = (ref.partition(":") for ref in self.bot.config.model.community.spaces)
        return [
            Place(PlatformName(platform), SpaceId(space))
            for platform, _, space in configured
            if platform in self.bot.adapters
        ]

    def command(self, text: str, platform: str, place: Place | None = None) -> str:
        """A command as people type it on `platform`, in backticks (`!checkin pass`); at a
        `place` in a thread, as the platform takes it there (Slack: `@bot checkin pass`)."""
        adapter = self.bot.adapters.get(platform)
        if adapter is None:
            return f"`{text}`"
        prefix = adapter.command_prefix
        if place is not None and place.thread and isinstance(adapter, CommandsInThreads):
            prefix = adapter.thread_command_prefix
        return f"`{prefix}{text}`"

    def committed(self) -> None:
        """Once the transaction committed: run its after-commit work and wake the workers
        it queued work for."""
        for callback in self.after_commit:
            callback()
        self.bot.wake(self.woken)

    async def perform(
        self,
        action: Action,
        platform: str,
        *,
        recipient: Member | None = None,
        at: datetime | None = None,
        not_after: datetime | None = None,
        grace_until: datetime | None = None,
        on_result: str | None = None,
    ) -> None:
        """Queue an action in the outbox; a repeated key is ignored.

        An action due now with no conditions to check (no recipient's quiet hours or pause,
        no deadline) is inserted with the transaction's other such rows as it commits
        (`bot.pending_outbox`) and handed straight to its adapter's outbox, already claimed:
        a reply then costs no claim and no wait for one.
        """
        values = self._outbox_values(
            action, platform, recipient, at, not_after, grace_until, on_result
        )
        direct = (
            recipient is None
            and not_after is None
            and grace_until is None
            and values["next_attempt_at"] <= self.now
            and self.bot.takes_hand_offs(platform)
        )
        if direct:
            values.update(state=OutboxState.SENDING, attempts=1, claimed_by=self.bot.process_id)
            hand_off = functools.partial(self.bot.hand_off, platform)
            pending_outbox.add(self.session, Pending(values, hand_off, self.after_commit))
        else:
            await insert_ignore(self.session, OutboxRow, **values)
            self.woken.add(f"outbox:{platform}")

    async def perform_many(self, queued: Sequence[Queued]) -> None:
        """Queue many actions in a few statements (a fan-out); repeated keys are ignored."""
        await pending_outbox.flush(self.session)  # those queued before go out before these
        rows = [
            self._outbox_values(
                q.action, q.platform, q.recipient, q.at, q.not_after, q.grace_until, None
            )
            for q in queued
        ]
        await insert_many_ignore(self.session, OutboxRow, rows)
        self.woken.update(f"outbox:{q.platform}" for q in queued)

    def _outbox_values(
        self,
        action: Action,
        platform: str,
        recipient: Member | None,
        at: datetime | None,
        not_after: datetime | None,
        grace_until: datetime | None,
        on_result: str | None,
    ) -> dict[str, Any]:
        return {
            "key": action.key,
            "platform": platform,
            "action": encode_action(action),
            "state": "pending",
            "recipient_member_id": recipient.id if recipient else None,
            "attempts": 0,
            "next_attempt_at": at or self.now,
            "not_after": not_after,
            "grace_until": grace_until,
            "on_result": on_result,
            "created_at": self.now,
            "claimed_by": None,
        }

    async def send(
        self,
        to: Destination,
        *text: Segment,
        key: str,
        buttons: tuple[Button, ...] = (),
        purpose: Purpose | None = None,
        broadcast: bool = False,
        **options: Any,
    ) -> None:
        action = SendMessage(
            key=key,
            to=to,
            text=tuple(text),
            buttons=buttons,
            purpose=purpose,
            broadcast=broadcast,
        )
        await self.perform(action, to.platform, **options)

    async def schedule(self, kind: str, ref: str | int, due_at: datetime, key: str) -> bool:
        """Run the `kind` timer handler with `ref` at `due_at`, once per `key`."""
        inserted = await insert_ignore(
            self.session,
            Timer,
            key=key,
            kind=kind,
            ref=str(ref),
            due_at=due_at,
            state="pending",
            attempts=0,
        )
        self.woken.add("timers")
        return inserted

    async def audit(
        self, community: Community, actor: Member | None, action: str, **detail: Any
    ) -> None:
        self.session.add(
            AuditEntry(
                community_id=community.id or 0,
                actor_member_id=actor.id if actor else None,
                action=action,
                detail=detail,
                at=self.now,
            )
        )


@dataclass
class Context(Scope):
    """A scope for one inbound event: who sent it, where, and with what role."""

    event: Inbound = field(kw_only=True)
    community: Community = field(kw_only=True)
    member: Member = field(kw_only=True)
    identity: Identity = field(kw_only=True)
    _replies: int = field(default=0, kw_only=True)

    @property
    def role(self) -> Role:
        return Role(self.member.role)

    @property
    def platform(self) -> PlatformName:
        return self.event.platform

    @property
    def words(self) -> Words:
        """The messages in the language of the person who sent this event."""
        return self.words_for(self.member)

    def _(self, message: str, /, **params: object) -> str:
        """A message to the sender, in their language (`ctx._("Saved, {name}.", name=n)`)."""
        return self.words._(message, **params)

    def cmd(self, text: str) -> str:
        """A command as the sender types it here (`/checkin pass`), for a message."""
        return self.command(text, self.platform)

    def explain(self, error: UserInputError) -> str:
        """Why the sender's command could not be used, in their language and platform's words."""
        return error.reply_text(self.words, self.cmd)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.member.timezone or self.community.timezone)

    def command(self, text: str, platform: str, place: Place | None = None) -> str:
        """As `Scope.command`, written for where the event happened unless told otherwise:
        that is where the answer is read, and the command typed."""
        here = self.event.place if platform == self.platform else None
        return super().command(text, platform, place or here)

    def reply_key(self) -> str:
        """Deterministic per event, so a handler re-run after a crash queues the same keys."""
        self._replies += 1
        return f"reply:{self.platform}:{self.event.event_id}:{self._replies}"

    def private_place(self) -> Destination:
        """Where to answer only the caller: a DM where the platform has them, else in place."""
        if self.event.place.direct:
            return self.event.place
        if Capability.DIRECT_MESSAGES in self.capabilities(self.platform):
            return Direct(self.platform, self.event.actor.user_id, near=self.event.place)
        return self.event.place

    async def reply(
        self,
        *text: Segment,
        private: bool = False,
        buttons: tuple[Button, ...] = (),
        to: Place | None = None,
        on_result: str | None = None,
    ) -> None:
        """Answer where the event happened (in its thread), or privately."""
        dest: Destination = to or (self.private_place() if private else self.event.place)
        await self.send(dest, *text, key=self.reply_key(), buttons=buttons, on_result=on_result)
