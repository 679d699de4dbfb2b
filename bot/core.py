"""The core: turns each inbound event into handler calls, inside one transaction.

Around every handler it drops re-delivered events, ignores the bot's own messages, finds (or
creates) the member behind the platform account, and checks the caller's role. A handler's
failure is logged with context and answered with a short apology; it never stops an adapter.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, literal
from sqlalchemy.dialects import postgresql
from sqlmodel import col, select

from adapters.contract import (
    Actor,
    Adapter,
    ButtonPressed,
    Capability,
    CommandInvoked,
    Inbound,
    MemberJoined,
    MemberLeft,
    MessageReceived,
    ReactionAdded,
)
from bot import i18n
from bot.batching import Lanes
from bot.clock import Clock
from bot.config import Config
from bot.context import Context, Scope, insert_ignore
from bot.db import Database
from bot.errors import Cmd, NotYet, PermissionDenied, Phrase, UserInputError
from bot.grammar import CommandTable, Invocation
from bot.i18n import N_
from bot.metrics import Metrics
from bot.models import ROLE_NAMES, Claimed, Community, Identity, Member, Role, SeenEvent, Space
from bot.pubsub import RESYNC, PubSub
from bot.router import ResultHook, Router, TimerHandler
from bot.scheduler import ManualScheduler, Scheduler

log = logging.getLogger(__name__)

COMMUNITY_SLUG = "default"
NOT_A_MEMBER = N_(
    "Hello! I am this community's bot, and I only talk with its members. To take part, "
    "join one of the community's rooms first."
)
"""The answer to someone who writes privately but is in none of the community's spaces
(on a platform that reports who is: `Capability.MEMBERSHIP`)."""
SORRY = N_(
    "Sorry, something went wrong. Please try again in a moment. The organisers can find "
    "what happened in the bot's log."
)
NOT_YET_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
"""Seconds before each new try of an event that came too early (`NotYet`): a post's thread
is recorded within milliseconds, unless the platform is slow or the post failed."""
INBOUND_BATCH = 100
"""Most events handled in one transaction: enough to amortise its cost, few enough that
the first of them is not kept waiting long for the last."""

POSTGRES_LANES = 2
"""Batches of events handled at once on PostgreSQL, each actor's events in one of them, in
order (`Lanes`). One batch waiting for its round trips left the event loop idle a tenth of
the time: `bench/checkin_answers.py --db` took 471 answers/s with one lane, 545 with two
and 521 with three."""

MEMBER_OF_ACCOUNT = (
    select(Identity, Member)
    .join(Member, col(Member.id) == col(Identity.member_id))
    .where(
        col(Identity.platform) == bindparam("platform"),
        col(Identity.external_id) == bindparam("user_id"),
    )
)
"""Built once, run for every inbound event: building an ORM select costs more than running it."""

_SEEN = (
    postgresql.insert(SeenEvent)
    .values(
        platform=bindparam("platform"),
        event_id=bindparam("event_id"),
        seen_at=bindparam("seen_at"),
    )
    .on_conflict_do_nothing()
    .returning(col(SeenEvent.platform))
    .cte("seen")
)
SEEN_AND_ACCOUNT = (
    select(select(func.count()).select_from(_SEEN).scalar_subquery(), Identity, Member)
    .select_from(select(literal(1)).subquery())
    .outerjoin(
        Identity,
        and_(
            col(Identity.platform) == bindparam("platform"),
            col(Identity.external_id) == bindparam("user_id"),
        ),
    )
    .outerjoin(Member, col(Member.id) == col(Identity.member_id))
)
"""On PostgreSQL, an event recorded as seen (1, or 0 when seen before) and the account behind
it (or NULLs) in one statement: one round trip of the half dozen of an answer."""

KINDS: dict[type[Inbound], str] = {
    MessageReceived: "message",
    CommandInvoked: "command",
    ButtonPressed: "button",
    ReactionAdded: "reaction",
    MemberJoined: "member_joined",
}
"""The `kind` label of an event in the metrics."""


Account = tuple[Identity, Member]
"""A platform account and the member behind it."""


@dataclass(frozen=True)
class CommunityRef:
    id: int
    timezone: str


class Bot:
    """The platform-neutral bot. Adapters feed it events; it queues effects in the database."""

    def __init__(
        self,
        config: Config,
        db: Database,
        clock: Clock,
        routers: Iterable[Router],
        adapters: Mapping[str, Adapter] | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.clock = clock
        self.routers = list(routers)
        self.adapters: dict[str, Adapter] = dict(adapters or {})
        self.scheduler: Scheduler = scheduler or ManualScheduler()
        self.commands = CommandTable(spec for r in self.routers for spec in r.commands)
        self.timer_handlers: dict[str, TimerHandler] = {}
        self.result_hooks: dict[str, ResultHook] = {}
        for r in self.routers:
            self.timer_handlers.update(r.timers)
            self.result_hooks.update(r.results)
        self._wakers: dict[str, Callable[[], None]] = {}
        self._takers: dict[str, Callable[[Claimed], None]] = {}
        self._community: CommunityRef | None = None
        self._community_row: Community | None = None
        """The community's row as `prepare` left it: only `prepare` writes it, so every event's
        context shares this detached copy instead of reading it again."""
        self._organisers = set(config.model.community.organisers)
        self.web_url: str | None = config.model.web.public_url
        """The web server's base URL for links in messages (a dashboard link, an .ics file);
        `web.public_url`, else set by `bot.app.running` once the server listens."""
        self._spaces: set[tuple[str, str]] = set()
        """Spaces known to have their row, so most events skip inserting it."""
        self._inbound = Lanes(
            self._handle_batch,
            limit=INBOUND_BATCH,
            lanes=1 if db.is_sqlite else POSTGRES_LANES,
            key=lambda event: (event.platform, event.actor.user_id),
        )
        self._background: set[asyncio.Task[None]] = set()
        self._early: dict[tuple[str, str], int] = {}
        """Events handled too early (`NotYet`), by platform and event id: tries so far."""
        self.metrics = Metrics()
        self.process_id = f"{socket.gethostname()[:60]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        """This process among those sharing the database (`bot.cluster`)."""
        self.processes = 1
        """How many processes share the database now, as last counted (`bot.cluster`)."""
        self.pubsub: PubSub | None = None

    # --- wiring ---------------------------------------------------------------------------

    def capabilities(self, platform: str) -> frozenset[Capability]:
        adapter = self.adapters.get(platform)
        return adapter.capabilities if adapter else frozenset()

    def on_wake(self, name: str, waker: Callable[[], None]) -> None:
        """Let a worker (`outbox:<platform>`, `timers`) be woken when work is queued for it."""
        self._wakers[name] = waker

    def on_hand_off(self, platform: str, take: Callable[[Claimed], None]) -> None:
        """Let an outbox take rows queued already claimed (`Scope.perform`), once committed."""
        self._takers[platform] = take

    def no_hand_off(self, platform: str) -> None:
        """The platform's outbox stopped here (another process leads it): queue its rows."""
        self._takers.pop(platform, None)

    def takes_hand_offs(self, platform: str) -> bool:
        return platform in self._takers

    def hand_off(self, platform: str, row: Claimed) -> None:
        self._takers[platform](row)

    def wake(self, names: Iterable[str]) -> None:
        """Wake the workers for queued work, here and in the other processes."""
        names = list(names)
        self._wake_here(names)
        if names and self.pubsub is not None:
            self.pubsub.publish("wake", names)

    def _wake_here(self, names: Any) -> None:
        """Wake these workers of this process (all of them after a lost connection)."""
        for name in self._wakers if names == RESYNC else names:
            waker = self._wakers.get(name)
            if waker:
                waker()

    def listen(self, pubsub: PubSub) -> None:
        """Be woken by, and wake, the other processes sharing the database."""
        self.pubsub = pubsub
        pubsub.subscribe("wake", self._wake_here)

    async def prepare(self) -> None:
        """Create or update the community from the config, then run the routers' start hooks."""
        section = self.config.model.community
        async with self.db.session() as s:
            row = (await s.exec(select(Community).where(Community.slug == COMMUNITY_SLUG))).first()
            if row is None:
                row = Community(slug=COMMUNITY_SLUG, name=section.name, timezone=section.timezone)
            row.name, row.timezone = section.name, section.timezone
            s.add(row)
            await s.flush()
            assert row.id is not None
            self._community = CommunityRef(row.id, row.timezone)
            self._community_row = row
        for r in self.routers:
            for hook in r.on_start:
                await hook(self)

    @property
    def community(self) -> CommunityRef:
        if self._community is None:
            raise RuntimeError("Bot.prepare() has not run")
        return self._community

    # --- handling -------------------------------------------------------------------------

    async def handle(self, event: Inbound) -> None:
        """Handle one inbound event completely; safe to call concurrently and repeatedly.

        Events arriving together are handled in one transaction (`_handle_batch`), so a
        burst of answers costs one commit, not one each.
        """
        adapter = self.adapters.get(event.platform)
        if adapter is not None and event.actor.user_id == adapter.self_id:
            return
        self.metrics.inbound_for(event.platform, KINDS.get(type(event), "other")).inc()
        await self._inbound.submit(event)

    async def _handle_batch(self, events: list[Inbound]) -> list[None]:
        """Handle events in one transaction, with no savepoint between them: on PostgreSQL a
        savepoint is a round trip per event, a fifth of an answer's, paid for a failure that
        is rare. When an event fails, the transaction is rolled back instead: those before
        it are handled again together, it is handled alone (and answered), and those after
        it go on as the next batch."""
        rest = events
        while rest:
            if len(rest) == 1:
                await self._handle_alone(rest[0])
                break
            failed = await self._handle_together(rest)
            if failed is None:
                break
            if failed == len(rest):  # the commit itself failed: no one event to blame
                log.warning("a batch of %d events failed; handling them one by one", len(rest))
                for event in rest:
                    await self._handle_alone(event)
                break
            if failed:
                await self._handle_batch(rest[:failed])
            await self._handle_alone(rest[failed])
            rest = rest[failed + 1 :]
        return [None] * len(events)

    async def _handle_together(self, events: list[Inbound]) -> int | None:
        """Handle `events` in one transaction: None once committed; else, rolled back, the
        index of the event that failed (`len(events)` if the commit failed)."""
        scopes: list[Scope] = []
        took: list[float] = []
        try:
            async with self.db.session() as s:
                for event in events:
                    started = time.perf_counter()
                    ctx = await self._context(s, event)
                    if isinstance(ctx, Context):
                        await self._dispatch(ctx, event)
                    if ctx is not None:
                        scopes.append(ctx)
                    took.append(time.perf_counter() - started)
        except Exception:  # handled again, alone, where it is logged and answered
            return len(took)
        for event, seconds in zip(events, took, strict=True):
            self._observe(event, seconds)
        for scope in scopes:
            scope.committed()
        return None

    async def _handle_alone(self, event: Inbound) -> None:
        """Handle an event in a transaction of its own: a failure rolls it back, which undoes
        exactly this event's changes, and the caller is answered in a second one."""
        started = time.perf_counter()
        ctx: Scope | None = None
        try:
            async with self.db.session() as s:
                ctx = await self._context(s, event)
                if isinstance(ctx, Context):
                    await self._dispatch(ctx, event)
        except NotYet:  # undone with the transaction, its re-delivery record too
            self._later(event)
            ctx = None
        except UserInputError as exc:
            ctx = await self._answer_failure(event, exc)
        except Exception:
            log_failure(event)
            ctx = await self._answer_failure(event, None)
        finally:
            self._observe(event, time.perf_counter() - started)
        if ctx is not None:
            ctx.committed()

    def _observe(self, event: Inbound, seconds: float) -> None:
        self.metrics.handler_for(KINDS.get(type(event), "other")).observe(seconds)

    def _later(self, event: Inbound) -> None:
        """Handle the event again after a moment; after the last try, let it go (what it
        waited for never came: a post the platform refused)."""
        seen = (event.platform, event.event_id)
        tries = self._early.pop(seen, 0)
        if tries >= len(NOT_YET_DELAYS):
            log.warning("%s event %s: what it waited for never came", *seen)
            return
        self._early[seen] = tries + 1

        async def again() -> None:
            await asyncio.sleep(NOT_YET_DELAYS[tries])
            await self.handle(event)
            if self._early.get(seen) == tries + 1:  # handled at last
                del self._early[seen]

        self.spawn(f"handle {event.event_id} again", again())

    async def _answer_failure(self, event: Inbound, failure: UserInputError | None) -> Scope | None:
        """After a failure that ended the event's transaction: record the event as seen and
        answer the caller (bad input's explanation, or an apology when `failure` is None), in
        a transaction of its own."""
        try:
            async with self.db.session() as s:
                ctx = await self._context(s, event)
                if isinstance(ctx, Context):
                    await ctx.reply(_failure_text(ctx, failure), private=True)
                return ctx
        except Exception:
            log.exception("could not apologise for %s event %s", event.platform, event.event_id)
            return None

    async def _context(self, s: Any, event: Inbound) -> Scope | None:
        """The event's context; None when it was handled before (a re-delivery) or needs no
        handler (someone left); a bare scope with a polite refusal queued when someone who is
        not a member writes privately."""
        now = self.clock.now()
        fresh, found = await self._first_sight(s, event, now)
        if not fresh:
            log.info("dropping re-delivered %s event %s", event.platform, event.event_id)
            return None
        community = self._community_row
        assert community is not None
        if Capability.MEMBERSHIP in self.capabilities(event.platform) and (
            event.place.direct or isinstance(event, MemberLeft)
        ):
            account = found[0] if found is not None else None
            present = account is not None and account.left_at is None
            if isinstance(event, MemberLeft):
                if account is not None and present:
                    account.left_at = now
                    s.add(account)
                return None
            if not present:
                scope = self.scope(s)
                key = f"not-a-member:{event.platform}:{event.event_id}"
                words = i18n.words(
                    i18n.choose(event.actor.locale, self.config.model.community.language)
                )
                await scope.send(event.place, words._(NOT_A_MEMBER), key=key)
                return scope
        member, identity = await self._member_of(s, event.actor, now, found)
        if identity.left_at is not None and not event.place.direct:  # back in a space
            identity.left_at = None
            s.add(identity)
        ctx = Context(
            bot=self,
            session=s,
            now=now,
            event=event,
            community=community,
            member=member,
            identity=identity,
        )
        space = (event.platform, event.place.space)
        if space not in self._spaces and not event.place.direct:
            await insert_ignore(
                s,
                Space,
                community_id=community.id,
                platform=event.platform,
                external_id=event.place.space,
                direct=event.place.direct,
            )
            ctx.after_commit.append(lambda: self._spaces.add(space))
        return ctx

    async def _first_sight(
        self, s: Any, event: Inbound, now: datetime
    ) -> tuple[bool, Account | None]:
        """Record the event as seen (False: it was seen before) and find the account behind
        it; on PostgreSQL in one round trip."""
        seen = {"platform": event.platform, "event_id": event.event_id, "seen_at": hour_of(now)}
        if self.db.is_sqlite:
            if not await insert_ignore(s, SeenEvent, **seen):
                return False, None
            return True, await self._account(s, event.actor)
        both = await s.exec(SEEN_AND_ACCOUNT, params={**seen, "user_id": event.actor.user_id})
        fresh, identity, member = both.one()
        return bool(fresh), None if identity is None else (identity, member)

    async def _account(self, s: Any, actor: Actor) -> Account | None:
        params = {"platform": actor.platform, "user_id": actor.user_id}
        found = (await s.exec(MEMBER_OF_ACCOUNT, params=params)).first()
        return None if found is None else (found[0], found[1])

    async def member_for(self, s: Any, actor: Actor, now: datetime) -> tuple[Member, Identity]:
        """The member behind a platform account, created on first sight (also for people a
        ritual meets before they speak, such as those present in a space)."""
        return await self._member_of(s, actor, now, await self._account(s, actor))

    async def _member_of(
        self, s: Any, actor: Actor, now: datetime, found: Account | None
    ) -> tuple[Member, Identity]:
        """`member_for`, with the account already looked up."""
        if found is not None:
            identity, member = found
            if identity.display_name != actor.display_name and actor.display_name:
                if member.display_name == identity.display_name:  # the name came from here
                    member.display_name = actor.display_name[:200]
                    s.add(member)
                identity.display_name = actor.display_name[:200]
                s.add(identity)
            spoken = i18n.supported(actor.locale)
            if spoken is not None and spoken != member.platform_language:
                member.platform_language = spoken
                s.add(member)
            granted = granted_role(actor)
            if granted is not None and granted > member.role:
                member.role = granted
                s.add(member)
            return member, identity
        name = (actor.display_name or actor.user_id)[:200]
        role = (
            Role.ORGANISER
            if f"{actor.platform}:{actor.user_id}" in self._organisers
            else max(granted_role(actor) or Role.MEMBER, Role.MEMBER)
        )
        member = Member(
            community_id=self.community.id,
            display_name=name,
            role=role,
            platform_language=i18n.supported(actor.locale),
            created_at=now,
        )
        s.add(member)
        await s.flush()
        assert member.id is not None
        identity = Identity(
            member_id=member.id,
            platform=actor.platform,
            external_id=actor.user_id,
            display_name=name,
        )
        s.add(identity)
        await s.flush()
        return member, identity

    async def _dispatch(self, ctx: Context, event: Inbound) -> None:
        if isinstance(event, CommandInvoked):
            await self.run_command(ctx, event.text)
        elif isinstance(event, MessageReceived):
            for r in self.routers:
                for handler in r.messages:
                    if await handler(ctx, event):
                        return
        elif isinstance(event, ButtonPressed):
            for r in self.routers:
                button = r.buttons.get(event.action)
                if button:
                    await button(ctx, event)
                    return
            raise UserInputError(N_("That button does not work any more."))
        elif isinstance(event, ReactionAdded):
            for r in self.routers:
                for reaction in r.reactions:
                    if await reaction(ctx, event):
                        return
        elif isinstance(event, MemberJoined | MemberLeft):
            return
        else:
            for r in self.routers:
                other = r.inbound.get(type(event))
                if other is not None:
                    await other(ctx, event)
                    return

    async def run_command(self, ctx: Context, text: str) -> None:
        invocation = self.commands.parse(text)
        check_role(ctx.role, invocation)
        await invocation.spec.handler(ctx, invocation)

    # --- scheduled and background work -----------------------------------------------------

    def scope(self, session: Any) -> Scope:
        return Scope(bot=self, session=session, now=self.clock.now())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Scope]:
        """A write transaction as a scope; its after-commit work runs once it committed."""
        async with self.db.session() as s:
            scope = self.scope(s)
            yield scope
        scope.committed()

    def spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run slow work (a download) outside any transaction: inside one, it would hold up
        every event behind it. Its failure is logged; the bot's stop cancels it."""
        task = asyncio.create_task(work, name=name)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    async def background_done(self) -> int:
        """Wait for the background work started so far; how many there were (for tests)."""
        tasks = list(self._background)
        await asyncio.gather(*tasks, return_exceptions=True)
        return len(tasks)

    async def stop_background(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self.background_done()

    async def fire_series(self, job_id: str, kind: str, ref: str, occurrence: datetime) -> None:
        """A recurring series came due: queue its occurrence as a timer, once per occurrence."""
        async with self.transaction() as scope:
            await scope.schedule(kind, ref, occurrence, key=f"{job_id}@{occurrence.isoformat()}")


def _failure_text(ctx: Context, failure: UserInputError | None) -> str:
    return ctx.explain(failure) if failure is not None else ctx._(SORRY)


def hour_of(at: datetime) -> datetime:
    """When an event was seen, to the hour: enough to forget it after days, and not the
    moment of an anonymous answer, which the bot must not keep."""
    return at.replace(minute=0, second=0, microsecond=0)


def log_failure(event: Inbound) -> None:
    log.exception(
        "handler failed for %s event %s from %s in %s",
        type(event).__name__,
        event.event_id,
        event.actor.user_id,
        event.place.space,
    )


def granted_role(actor: Actor) -> Role | None:
    """The highest community role the platform grants the actor (see `Actor.roles`)."""
    roles = [Role.parse(r) for r in actor.roles if r.upper() in Role.__members__]
    return max(roles, default=None)


def check_role(role: Role, invocation: Invocation) -> None:
    needed = invocation.spec.role
    if role < needed:
        command, yours = Cmd(" ".join(invocation.spec.path)), Phrase(ROLE_NAMES[role])
        if needed is Role.ORGANISER:
            raise PermissionDenied(
                N_("{command} needs the organiser role; you are {role}."),
                command=command,
                role=yours,
            )
        raise PermissionDenied(
            N_("{command} needs the catalyst or organiser role; you are {role}."),
            command=command,
            role=yours,
        )
