"""Group commit: work submitted concurrently shares one transaction.

SQLite has one writer, so concurrent write transactions queue for it and each pays for a
transaction of its own (a turn at the lock, a BEGIN, a COMMIT, a session around them), which
under load cost more than the work inside. A `GroupCommit` runs whatever was submitted while
the previous batch ran as the next batch: a burst of N costs a few transactions, and a lone
item still starts at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
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
