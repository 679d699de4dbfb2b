"""How fast the Matrix adapter delivers to a real Synapse on loopback, and how fast it starts.

Usage: python bench/matrix_send.py [--messages N]
Starts Synapse (installing it into its own venv on first use, as the tests do), registers a
bot and a member, and measures: the adapter's start (login, joins, first full-state sync),
N sends one after another, N sends four at a time (the outbox's default batch), and the
same key sent again (an idempotent retry). Synapse's rate limits are raised, as for an
exempted bot, so these are the adapter's and the server's own speeds.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.contract import Inbound, Place, PlatformName, SendMessage, SpaceId  # noqa: E402
from adapters.matrix import MatrixAdapter  # noqa: E402
from bot.config import Secret  # noqa: E402
from bot.db import Database  # noqa: E402
from tests.matrix.people import person  # noqa: E402
from tests.synapse import MatrixUser, start_synapse  # noqa: E402


async def ignore(_event: Inbound) -> None:
    return None


async def run(n: int, workdir: Path) -> None:
    server = await asyncio.to_thread(start_synapse, workdir / "synapse")
    try:
        users = {}
        for name in ("benchbot", "member"):
            password = secrets.token_hex(8)
            user_id, token = await asyncio.to_thread(server.register, name, password)
            users[name] = MatrixUser(user_id, password, token)
        bot = users["benchbot"]
        db = Database(f"sqlite:///{workdir / 'bot.db'}")
        await db.upgrade()
        async with person(server, users["member"]) as member:
            room = await member.create_room("Bench", invite=(bot.user_id,))
            adapter = MatrixAdapter(
                db,
                homeserver=server.base_url,
                user_id=bot.user_id,
                access_token=Secret(bot.access_token),
                rooms=[room],
            )
            started = time.perf_counter()
            await adapter.start(ignore)
            took = time.perf_counter() - started
            print(f"adapter start (login, join, full-state sync): {took:.2f} s")
            to = Place(PlatformName("matrix"), SpaceId(room))
            run_id = uuid.uuid4().hex

            def send(i: int, tag: str) -> SendMessage:
                return SendMessage(key=f"{run_id}:{tag}:{i}", to=to, text=(f"message {i}",))

            started = time.perf_counter()
            for i in range(n):
                await adapter.perform(send(i, "seq"))
            elapsed = time.perf_counter() - started
            print(f"{n} sends one at a time: {elapsed:.2f} s, {n / elapsed:.1f} messages/s")

            started = time.perf_counter()
            for first in range(0, n, 4):
                await asyncio.gather(
                    *(adapter.perform(send(i, "batch")) for i in range(first, min(first + 4, n)))
                )
            elapsed = time.perf_counter() - started
            print(f"{n} sends four at a time: {elapsed:.2f} s, {n / elapsed:.1f} messages/s")

            started = time.perf_counter()
            for i in range(n):
                await adapter.perform(send(i, "seq"))
            elapsed = time.perf_counter() - started
            print(f"{n} retried sends (same keys): {elapsed:.2f} s, {n / elapsed:.1f} /s")
            await adapter.stop()
        await db.close()
        print(f"Synapse resident memory: {server.rss_bytes() / 2**20:.0f} MiB")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.messages, Path(tmp)))


if __name__ == "__main__":
    main()
