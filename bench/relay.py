"""A mixed-platform breakout's relay, measured: 10 groups of 6 (3 on each of two platforms)
exchanging 20 messages each.

    .venv/bin/python bench/relay.py [--groups 10] [--messages 20] [--db URL]

The real core runs with its background workers (the outbox, timers) on the wall clock, with
two recording platforms in this process. The breakout gathers those present in a space on
each platform (`--from present --in`); the groups then talk at once, each in order, and every
copy is timed from the moment its original reached the bot to the moment the platform was
asked to post it. Prints the p50 and p99 relay delay and `lost`, `doubled` and `echoed`
copies (all must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import col, select  # noqa: E402

from adapters.contract import (  # noqa: E402
    Action,
    ActionResult,
    Actor,
    CommandInvoked,
    EventId,
    MessageId,
    MessageReceived,
    OpenSubSpace,
    Place,
    PlatformName,
    SendMessage,
    SpaceId,
    SubSpaceOpened,
    UserId,
)
from adapters.fake import FakeAdapter  # noqa: E402
from bot.app import running  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.core import Bot  # noqa: E402
from bot.models import OutboxRow, OutboxState  # noqa: E402
from bot.scheduler import ManualScheduler  # noqa: E402

PLATFORMS = ("here", "there")
SPACES = {"here": "main", "there": "lounge"}
BREAKOUT = 'breakout size 6 "What next?" --from present --minutes 60 --in there:lounge'


class TimedAdapter(FakeAdapter):
    """Records when each action was asked of the platform."""

    def __init__(self, platform: str) -> None:
        super().__init__(platform)
        self.at: list[tuple[float, Action]] = []

    async def perform(self, action: Action) -> ActionResult:
        self.at.append((time.monotonic(), action))
        return await super().perform(action)


def actor(platform: str, user: str) -> Actor:
    return Actor(PlatformName(platform), UserId(user), user.capitalize())


def event_id() -> EventId:
    return EventId(uuid.uuid4().hex)


async def until(condition: Callable[[], bool], what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/relay.db"
        people = {p: [f"{p}{n}" for n in range(3 * args.groups)] for p in PLATFORMS}
        config = parse_config(
            {
                "community": {"organisers": ["here:ada"]},
                "storage": {"url_env": "BENCH_DB", "data_dir": tmp},
            },
            {"BENCH_DB": db},
            Path(tmp),
        )
        adapters = {p: TimedAdapter(p) for p in PLATFORMS}
        for p, users in people.items():
            adapters[p].present_users[SPACES[p]] = users
        async with running(
            config,
            adapters=list(adapters.values()),
            scheduler=ManualScheduler(),
            serve=False,
        ) as run:
            bot = run.bot
            lounge = Place(PlatformName("there"), SpaceId("lounge"))
            await bot.handle(
                CommandInvoked(
                    event_id=event_id(), actor=actor("there", "zoe"), place=lounge, text="help"
                )
            )
            main = Place(PlatformName("here"), SpaceId("main"))
            await bot.handle(
                CommandInvoked(
                    event_id=event_id(),
                    actor=actor("here", "ada"),
                    place=main,
                    text=BREAKOUT,
                )
            )
            rooms: dict[str, dict[str, list[str]]] = {p: {} for p in PLATFORMS}

            def opened() -> bool:
                for p, adapter in adapters.items():
                    rooms[p] = {
                        r.result.place.space: list(r.action.members)
                        for r in adapter.records
                        if isinstance(r.action, OpenSubSpace)
                        and isinstance(r.result, SubSpaceOpened)
                    }
                intros = sum(
                    1
                    for adapter in adapters.values()
                    for r in adapter.records
                    if r.text.startswith("Breakout group") and r.to is not None
                )
                return intros >= 2 * int(args.groups)

            await until(opened, "the groups' rooms")
            groups = []
            for space, members in rooms["here"].items():
                suffix = space.rsplit("/", 1)[1]
                [there] = [s for s in rooms["there"] if s.endswith(suffix)]
                groups.append(
                    [("here", space, u) for u in members]
                    + [("there", there, u) for u in rooms["there"][there]]
                )
            assert len(groups) == args.groups and all(len(g) == 6 for g in groups), groups
            sent_at: dict[str, float] = {}
            origin: dict[str, tuple[str, str]] = {}
            partner = {}
            for g in groups:
                spaces = {p: s for p, s, _ in g}
                for p in PLATFORMS:
                    partner[(p, spaces[p])] = spaces["there" if p == "here" else "here"]

            async def talk(n: int, group: list[tuple[str, str, str]]) -> None:
                for k in range(args.messages):
                    platform, space, user = group[k % len(group)]
                    token = f"g{n}m{k}"
                    origin[token] = (platform, space)
                    sent_at[token] = time.monotonic()
                    await bot.handle(
                        MessageReceived(
                            event_id=event_id(),
                            actor=actor(platform, user),
                            place=Place(PlatformName(platform), SpaceId(space)),
                            message_id=MessageId(uuid.uuid4().hex),
                            text=f"{token} says hello",
                        )
                    )

            started = time.monotonic()
            await asyncio.gather(*(talk(n, g) for n, g in enumerate(groups)))
            expected = args.groups * args.messages
            await until(lambda: len(copies(adapters)) >= expected, "the copies", 60)
            await until_sent(bot)  # so a late double would show itself
            elapsed = time.monotonic() - started
            found = copies(adapters)
        report(args, found, sent_at, origin, partner, elapsed)


def copies(adapters: dict[str, TimedAdapter]) -> list[tuple[float, str, str, str]]:
    """Every relayed copy asked of a platform: when, its token, and where it went."""
    found: list[tuple[float, str, str, str]] = []
    for p, adapter in adapters.items():
        for at, action in adapter.at:
            if not isinstance(action, SendMessage) or not isinstance(action.to, Place):
                continue
            text = "".join(s for s in action.text if isinstance(s, str))
            if text.endswith(" says hello"):
                token = text.split(": ", 1)[1].split(" ")[0]
                found.append((at, token, p, action.to.space))
    return found


async def until_sent(bot: Bot) -> None:
    """Wait until the outbox holds nothing waiting or in flight."""
    busy = (OutboxState.PENDING, OutboxState.SENDING)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        async with bot.db.reader() as s:
            rows = await s.exec(select(OutboxRow.id).where(col(OutboxRow.state).in_(busy)))
            if rows.first() is None:
                return
        await asyncio.sleep(0.05)


def report(
    args: argparse.Namespace,
    found: list[tuple[float, str, str, str]],
    sent_at: dict[str, float],
    origin: dict[str, tuple[str, str]],
    partner: dict[tuple[str, str], str],
    elapsed: float,
) -> None:
    counts = Counter(token for _, token, _, _ in found)
    echoed = sum(1 for _, token, p, space in found if (p, space) == origin[token])
    misrouted = sum(
        1
        for _, token, p, space in found
        if (p, space) != origin[token] and space != partner[origin[token]]
    )
    delays = sorted(at - sent_at[token] for at, token, _, _ in found)
    print(
        f"{args.groups} mixed groups of 6, {args.messages} messages each: "
        f"{len(sent_at)} messages, {len(found)} copies in {elapsed:.1f} s"
    )
    if delays:
        p50 = statistics.median(delays) * 1000
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] * 1000
        print(f"relay delay p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"lost {sum(1 for token in sent_at if counts[token] == 0)}")
    print(f"doubled {sum(c - 1 for c in counts.values() if c > 1)}")
    print(f"echoed {echoed}")
    print(f"misrouted {misrouted}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--db", help="a database URL (default: SQLite in a temporary directory)")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
