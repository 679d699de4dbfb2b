"""Lanes of group commits: one key's items run in order, other keys' items beside them."""

from __future__ import annotations

import asyncio
from itertools import count

from bot.batching import Lanes


def keys_in_two_lanes() -> tuple[str, str]:
    """Two keys that `Lanes` with two lanes puts in different lanes (hashes vary by process)."""
    first = "a"
    other = next(k for k in (f"k{i}" for i in count()) if hash(k) % 2 != hash(first) % 2)
    return first, other


async def test_a_keys_items_keep_their_order_while_another_keys_go_by() -> None:
    a, b = keys_in_two_lanes()
    ran: list[list[tuple[str, int]]] = []
    release = asyncio.Event()

    async def run(batch: list[tuple[str, int]]) -> list[int]:
        ran.append(batch)
        if (a, 1) in batch:
            await release.wait()
        return [n for _, n in batch]

    lanes = Lanes(run, limit=10, lanes=2, key=lambda item: item[0])
    first = asyncio.create_task(lanes.submit((a, 1)))
    await asyncio.sleep(0)  # its batch starts and is held
    later = asyncio.create_task(lanes.submit((a, 2)))
    async with asyncio.timeout(5):
        assert await lanes.submit((b, 1)) == 1  # beside the held batch, not behind it
    assert not first.done() and not later.done()
    assert ran == [[(a, 1)], [(b, 1)]]  # (a, 2) waits for the batch before it
    release.set()
    assert await asyncio.gather(first, later) == [1, 2]
    assert ran[-1] == [(a, 2)]
