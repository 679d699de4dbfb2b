"""Texts longer than a platform takes in one message, cut into messages that fit.

A platform refuses a message over its size (Matrix 64 KiB, Discord 2,000 characters), and a
refused summary was a dead letter nobody in the room saw. Cuts fall between lines, which is
between a summary's items; a single line too long is cut at its last space that fits, and
only text without any space mid-word.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from adapters.contract import (
    Action,
    ActionResult,
    Adapter,
    Segment,
    SendMessage,
    plain_text,
)


def _length(segment: Segment) -> int:
    return len(segment) if isinstance(segment, str) else len(plain_text((segment,)))


def _pieces(text: tuple[Segment, ...], limit: int) -> list[Segment]:
    """The text as lines (each keeping its line end) and mentions, none longer than `limit`."""
    pieces: list[Segment] = []
    for segment in text:
        if not isinstance(segment, str):  # a mention or a link: never cut
            pieces.append(segment)
            continue
        for line in segment.splitlines(keepends=True):
            while len(line) > limit:
                cut = line.rfind(" ", 1, limit + 1)
                if cut > 0:  # the space becomes the cut: platforms trim it from either part
                    pieces.append(line[:cut])
                    line = line[cut + 1 :]
                else:
                    pieces.append(line[:limit])
                    line = line[limit:]
            if line:
                pieces.append(line)
    return pieces


def split_text(text: tuple[Segment, ...], limit: int) -> list[tuple[Segment, ...]]:
    """`text` in parts of at most `limit` characters, in order, cut where a reader expects."""
    if sum(_length(s) for s in text) <= limit:
        return [text]
    parts: list[list[Segment]] = [[]]
    size = 0
    for piece in _pieces(text, limit):
        if size + _length(piece) > limit and parts[-1]:
            parts.append([])
            size = 0
        if not parts[-1] and isinstance(piece, str) and not piece.strip("\n"):
            continue  # a part does not start with blank lines
        parts[-1].append(piece)
        size += _length(piece)
    return [_tidy(p) for p in parts if p]


def _tidy(part: list[Segment]) -> tuple[Segment, ...]:
    """Join neighbouring strings and drop the white space the cut left at the end."""
    joined: list[Segment] = []
    for piece in part:
        if joined and isinstance(piece, str) and isinstance(joined[-1], str):
            joined[-1] += piece
        else:
            joined.append(piece)
    if isinstance(joined[-1], str):
        joined[-1] = joined[-1].rstrip()
    return tuple(joined)


async def perform_in_parts(
    adapter: Adapter, action: Action, pace: Callable[[], Awaitable[None]]
) -> ActionResult:
    """Perform the action; a message longer than the adapter takes goes as several, one after
    another, each after `pace` (the rate limit). The first part's result stands for the whole
    (a thread roots there); buttons go on the last. Parts after the first carry keys of their
    own, so a retry after a partial failure repeats none where sends are idempotent (elsewhere
    it may repeat the parts sent before the failure)."""
    if not isinstance(action, SendMessage):
        await pace()
        return await adapter.perform(action)
    parts = split_text(action.text, adapter.max_text)
    results = []
    for i, part in enumerate(parts):
        await pace()
        last = i == len(parts) - 1
        piece = replace(
            action,
            key=action.key if i == 0 else f"{action.key}#{i + 1}",
            text=part,
            buttons=action.buttons if last else (),
        )
        results.append(await adapter.perform(piece))
    return results[0]
