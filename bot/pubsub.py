"""Messages between the processes sharing one PostgreSQL database (`LISTEN`/`NOTIFY`).

A process that queues work another process may be waiting for (an outbox row due now, a timer)
or stores a web chat message someone may be watching through another process, publishes a
small note; every other process hears it within milliseconds and wakes its worker or pushes
the message to its browsers. Notes are hints, never the truth: the rows are in the database,
so a note lost while a connection was down costs only time (after a reconnect every topic is
told to look again, and the workers look every 30 s anyway).

On SQLite there is one process, so there is nothing to tell: `publish` does nothing.

Notes are sent by a task of their own, many in one statement, so the transaction that
queued the work never waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bot.db import asyncpg_args, sync_url

log = logging.getLogger(__name__)

Listener = Callable[[Any], None]
MAX_PAYLOAD = 7_000
"""Bytes a note may take (PostgreSQL refuses payloads of 8,000 or more)."""
LINGER = 0.005
"""Seconds a note waits for others to share its statement: under load, stores of the web
chat and queued work each published one, a statement apiece."""
RECONNECT_AFTER = 1.0
FLUSH_ON_STOP = 1.0
RESYNC = "__resync__"
"""What listeners are given after a reconnect: notes may have been missed meanwhile."""


def channel_for(url: str) -> str:
    """One channel per database and schema: processes on one URL hear each other, and
    others sharing the server (other schemas, as in the tests) do not."""
    options = sync_url(url).query.get("options", "")
    if not options:
        return "community_bot"
    return "community_bot_" + hashlib.sha256(str(options).encode()).hexdigest()[:16]


class PubSub:
    def __init__(self, url: str) -> None:
        target = sync_url(url)
        self.enabled = target.drivername != "sqlite"
        self.connect_args = asyncpg_args(target) if self.enabled else {}
        self.channel = channel_for(url)
        self.origin = uuid.uuid4().hex
        """Marks this process's own notes, which it does not hear back."""
        self._own = self._wrap([])[:-2]
        """How this process's notes begin (`_wrap`)."""
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._outgoing: list[tuple[str, Any]] = []
        self._queued = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = asyncio.Event()
        self._idle = asyncio.Event()
        """Set while nothing waits to be sent."""
        self._idle.set()

    def subscribe(self, topic: str, listener: Listener) -> None:
        """Call `listener(data)` for each note on `topic` from another process (and with
        `RESYNC` after a reconnect)."""
        self._listeners[topic].append(listener)

    def publish(self, topic: str, data: Any) -> None:
        """Tell the other processes; returns at once."""
        if self.enabled:
            self._outgoing.append((topic, data))
            self._idle.clear()
            self._queued.set()

    async def start(self) -> None:
        if self.enabled:
            self._tasks = [
                asyncio.create_task(self._listen(), name="pubsub-listen"),
                asyncio.create_task(self._send(), name="pubsub-send"),
            ]
            async with asyncio.timeout(30):
                await self.listening.wait()

    async def stop(self) -> None:
        """Send what is queued (for at most a second), then stop."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), FLUSH_ON_STOP)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- receiving ------------------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_until_lost()
                log.warning("pubsub: the listening connection closed; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("pubsub: listening failed (%r); reconnecting", exc)
            await asyncio.sleep(RECONNECT_AFTER)

    async def _listen_until_lost(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(**self.connect_args)
        try:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _: lost.set())
            await conn.add_listener(self.channel, lambda *note: self._heard(note[-1]))
            listened_before = self.listening.is_set()
            self.listening.set()
            if listened_before:
                self._deliver_everywhere(RESYNC)
            await lost.wait()
        finally:
            conn.terminate()

    def _heard(self, payload: str) -> None:
        if payload.startswith(self._own):  # this process's own note, heard back: not parsed
            return
        try:
            items = json.loads(payload)["n"]
        except (ValueError, KeyError, TypeError):
            log.warning("pubsub: ignoring a malformed note %.200r", payload)
            return
        for topic, data in items:
            for listener in self._listeners.get(topic, ()):
                try:
                    listener(data)
                except Exception:
                    log.exception("pubsub: a %s listener failed", topic)

    def _deliver_everywhere(self, data: Any) -> None:
        for listeners in self._listeners.values():
            for listener in listeners:
                with contextlib.suppress(Exception):
                    listener(data)

    # --- sending --------------------------------------------------------------------------

    def _payloads(self) -> list[str]:
        """The queued notes as few payloads as fit, in order."""
        payloads: list[str] = []
        batch: list[str] = []
        size = 0
        for topic, data in self._outgoing:
            encoded = json.dumps([topic, data], separators=(",", ":"))
            if len(encoded) > MAX_PAYLOAD:
                log.warning("pubsub: a %s note of %d bytes is too big", topic, len(encoded))
                continue
            if batch and size + len(encoded) > MAX_PAYLOAD:
                payloads.append(self._wrap(batch))
                batch, size = [], 0
            batch.append(encoded)
            size += len(encoded) + 1
        if batch:
            payloads.append(self._wrap(batch))
        self._outgoing.clear()
        return payloads

    def _wrap(self, encoded: list[str]) -> str:
        """A payload of notes already encoded (each `[topic, data]`), marked as this
        process's: each note is encoded once."""
        return f'{{"o":"{self.origin}","n":[{",".join(encoded)}]}}'

    async def _send(self) -> None:
        import asyncpg

        while True:
            conn = None
            try:
                conn = await asyncpg.connect(**self.connect_args)
                while True:
                    await self._queued.wait()
                    await asyncio.sleep(LINGER)
                    self._queued.clear()
                    payloads = self._payloads()
                    if payloads:
                        calls = ", ".join(
                            f"pg_notify($1, ${i})" for i in range(2, len(payloads) + 2)
                        )
                        await conn.execute(f"SELECT {calls}", self.channel, *payloads)
                    if not self._outgoing:
                        self._idle.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("pubsub: sending failed (%r); reconnecting", exc)
            finally:
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(RECONNECT_AFTER)
