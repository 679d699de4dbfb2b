"""The core: turns each inbound event into handler calls, inside one transaction.

Around every handler it drops re-delivered events, ignores the bot's own messages, finds (or
creates) the member behind the platform account, and checks the caller's role. A handler's
failure is logged with context and answered with a short apology; it never stops an adapter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import col, select

from adapters.contract import (
    Actor,
    Adapter,
    ButtonPressed,
    Capability,
    CommandInvoked,
    Inbound,
    MemberJoined,
    MessageReceived,
    ReactionAdded,
)
from bot.batching import GroupCommit
from bot.clock import Clock
from bot.config import Config
from bot.context import Context, Scope, insert_ignore
from bot.db import Database, savepoint
from bot.errors import PermissionDenied, UserInputError
from bot.grammar import CommandTable, Invocation
from bot.models import Claimed, Community, Identity, Member, Role, SeenEvent, Space
from bot.router import ResultHook, Router, TimerHandler
from bot.scheduler import ManualScheduler, Scheduler

log = logging.getLogger(__name__)

COMMUNITY_SLUG = "default"
SORRY = (
    "Sorry, something went wrong with that. The organisers can find the details in the "
    "bot's log; please try again in a moment."
)
INBOUND_BATCH = 100
"""Most events handled in one transaction: enough to amortise its cost, few enough that
the first of them is not kept waiting long for the last."""

MEMBER_OF_ACCOUNT = (
    select(Identity, Member)
    .join(Member, col(Member.id) == col(Identity.member_id))
    .where(
        col(Identity.platform) == bindparam("platform"),
        col(Identity.external_id) == bindparam("user_id"),
    )
)
"""Built once, run for every inbound event: building an ORM select costs more than running it."""


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
        self._inbound = GroupCommit(self._handle_batch, limit=INBOUND_BATCH)
        self._background: set[asyncio.Task[None]] = set()

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

    def takes_hand_offs(self, platform: str) -> bool:
        return platform in self._takers

    def hand_off(self, platform: str, row: Claimed) -> None:
        self._takers[platform](row)

    def wake(self, names: Iterable[str]) -> None:
        for name in names:
            waker = self._wakers.get(name)
            if waker:
                waker()

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

        Events arriving together are handled in one transaction, each in a savepoint of its
        own (`GroupCommit`), so a burst of answers costs one commit, not one each.
        """
        adapter = self.adapters.get(event.platform)
        if adapter is not None and event.actor.user_id == adapter.self_id:
            return
        await self._inbound.submit(event)

    async def _handle_batch(self, events: list[Inbound]) -> list[None]:
        """Handle events in one transaction; if it cannot commit, each in one of its own."""
        try:
            async with self.db.session() as s:
                scopes = [await self._handle_in(s, event) for event in events]
        except Exception:
            if len(events) > 1:
                log.warning("a batch of %d events failed; handling them one by one", len(events))
                for event in events:
                    await self._handle_batch([event])
                return [None] * len(events)
            scopes = [await self._apologise(events[0])]
        for scope in scopes:
            if scope is not None:
                scope.committed()
        return [None] * len(events)

    async def _handle_in(self, s: Any, event: Inbound) -> Context | None:
        """Handle one event in a savepoint: a failure undoes only this event's changes, and
        the caller is answered (with a short apology for anything but bad input)."""
        try:
            async with savepoint(s):
                ctx = await self._context(s, event)
                if ctx is not None:
                    await self._dispatch(ctx, event)
                return ctx
        except UserInputError as exc:
            text = exc.reply_text()
        except Exception:
            log_failure(event)
            text = SORRY
        async with savepoint(s):
            ctx = await self._context(s, event)
            if ctx is not None:
                await ctx.reply(text, private=True)
            return ctx

    async def _apologise(self, event: Inbound) -> Context | None:
        """After a failure that ended the whole transaction (the database refused it): record
        the event as seen and apologise, in a transaction of its own."""
        log_failure(event)
        try:
            async with self.db.session() as s:
                ctx = await self._context(s, event)
                if ctx is not None:
                    await ctx.reply(SORRY, private=True)
                return ctx
        except Exception:
            log.exception("could not apologise for %s event %s", event.platform, event.event_id)
            return None

    async def _context(self, s: Any, event: Inbound) -> Context | None:
        """The event's context, or None when it was handled before (a re-delivery)."""
        now = self.clock.now()
        fresh = await insert_ignore(
            s, SeenEvent, platform=event.platform, event_id=event.event_id, seen_at=now
        )
        if not fresh:
            log.info("dropping re-delivered %s event %s", event.platform, event.event_id)
            return None
        community = self._community_row
        assert community is not None
        member, identity = await self.member_for(s, event.actor, now)
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
        if space not in self._spaces:
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

    async def member_for(self, s: Any, actor: Actor, now: datetime) -> tuple[Member, Identity]:
        """The member behind a platform account, created on first sight (also for people a
        ritual meets before they speak, such as those present in a space)."""
        found = (
            await s.exec(
                MEMBER_OF_ACCOUNT, params={"platform": actor.platform, "user_id": actor.user_id}
            )
        ).first()
        if found is not None:
            identity, member = found
            if identity.display_name != actor.display_name and actor.display_name:
                identity.display_name = actor.display_name[:200]
                s.add(identity)
            return member, identity
        name = (actor.display_name or actor.user_id)[:200]
        role = (
            Role.ORGANISER
            if f"{actor.platform}:{actor.user_id}" in self._organisers
            else Role.MEMBER
        )
        member = Member(
            community_id=self.community.id, display_name=name, role=role, created_at=now
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
            raise UserInputError("That button no longer does anything.")
        elif isinstance(event, ReactionAdded):
            for r in self.routers:
                for reaction in r.reactions:
                    if await reaction(ctx, event):
                        return
        elif isinstance(event, MemberJoined):
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


def log_failure(event: Inbound) -> None:
    log.exception(
        "handler failed for %s event %s from %s in %s",
        type(event).__name__,
        event.event_id,
        event.actor.user_id,
        event.place.space,
    )


def check_role(role: Role, invocation: Invocation) -> None:
    needed = invocation.spec.role
    if role < needed:
        names = " or ".join(r.label for r in Role if r >= needed)
        raise PermissionDenied(
            f"`{' '.join(invocation.spec.path)}` needs the {names} role; you are {role.article}."
        )
