"""Group commit: work submitted concurrently shares one transaction.

SQLite has one writer, so concurrent write transactions queue for it and each pays for a
transaction of its own (a turn at the lock, a BEGIN, a COMMIT, a session around them), which
under load cost more than the work inside. A `GroupCommit` runs whatever was submitted while
the previous batch ran as the next batch: a burst of N costs a few transactions, and a lone
item still starts at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Runs submitted items in batches of at most `limit`, in the order submitted.

    `run` takes a batch and returns one outcome per item, in order: a result, or an exception
    that `submit` raises to that item's caller only.
    """

    def __init__(
        self, run: Callable[[list[T]], Awaitable[Sequence[R | BaseException]]], *, limit: int
    ) -> None:
        self._run = run
        self._limit = limit
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Run `item` with the others waiting; its outcome once its batch has run. A caller
        that is cancelled meanwhile leaves its item to run all the same."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self._limit]
            del self._pending[: self._limit]
            try:
                outcomes: Sequence[R | BaseException] = await self._run([i for i, _ in batch])
            except Exception as exc:
                outcomes = [exc] * len(batch)
            except BaseException:  # cancelled: the bot is stopping
                for _, done in batch + self._pending:
                    done.cancel()
                self._pending.clear()
                raise
            for (_, done), outcome in zip(batch, outcomes, strict=True):
                if done.done():
                    continue
                if isinstance(outcome, BaseException):
                    done.set_exception(outcome)
                else:
                    done.set_result(outcome)


class Lanes(Generic[T, R]):
    """Group commits side by side, each item going to the lane of its key: items with one key
    keep their order, and items with others run beside them.

    On PostgreSQL a batch spends much of its time waiting for round trips, with the event loop
    idle unless another batch runs meanwhile; on SQLite, with its single writer, one lane is
    best.
    """

    def __init__(
        self,
        run: Callable[[list[T]], Awaitable[Sequence[R | BaseException]]],
        *,
        limit: int,
        lanes: int,
        key: Callable[[T], Hashable],
    ) -> None:
        self._lanes = [GroupCommit(run, limit=limit) for _ in range(lanes)]
        self._key = key

    async def submit(self, item: T) -> R:
        """As `GroupCommit.submit`, in the lane of the item's key."""
        return await self._lanes[hash(self._key(item)) % len(self._lanes)].submit(item)
