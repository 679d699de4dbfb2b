"""Splitting people into balanced breakout groups that avoid recent pairings.

A pure function of its inputs (the seed included), so a split can be reproduced and tested.
The cost of a split is the number of times each pair in it already shared a group in the
history given; a greedy placement is improved by swapping people between groups while a swap
lowers that cost, from seeded random starts (many for a small crowd, one for hundreds),
keeping the cheapest and, among equals, the one that leaves the most fresh pairings for later.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Sequence
from typing import TypeVar

P = TypeVar("P", bound=Hashable)

RESTART_BUDGET = 600
"""Random starts × people: small splits get many starts, large ones one or two."""


def group_count(people: int, *, groups: int | None = None, size: int | None = None) -> int:
    """How many groups to make: never more than half the people, so nobody is alone.

    With `size`, groups hold at least `size` people where possible (7 people, size 2: 3 groups
    of 2+2+3); with `groups`, as many as asked when there are people enough.
    """
    if (groups is None) == (size is None):
        raise ValueError("give exactly one of groups or size")
    if people <= 1:
        return people
    wanted = groups if groups is not None else people // size  # type: ignore[operator]
    return max(1, min(wanted, people // 2))


def split(
    people: Sequence[P],
    *,
    groups: int | None = None,
    size: int | None = None,
    history: Iterable[Collection[P]] = (),
    seed: int = 0,
) -> list[list[P]]:
    """Balanced groups (sizes within one) of `people`, minimising pairs seen in `history`.

    `history` holds past groups; a pair's weight is how many of them it shared. People are
    placed exactly once; duplicates in `people` are ignored.
    """
    unique = list(dict.fromkeys(people))
    count = group_count(len(unique), groups=groups, size=size)
    if count == 0:
        return []
    index = {p: i for i, p in enumerate(unique)}
    weights = _pair_weights(history, index)
    rng = random.Random(seed)
    if not weights:
        return [[unique[i] for i in g] for g in _search(len(unique), count, weights, rng)]
    best: tuple[tuple[int, int], list[list[int]]] | None = None
    for _ in range(max(1, RESTART_BUDGET // len(unique))):
        candidate = _search(len(unique), count, weights, rng)
        score = (_cost(candidate, weights), _closed_triangles(candidate, weights, len(unique)))
        if best is None or score < best[0]:
            best = (score, candidate)
    assert best is not None
    return [[unique[i] for i in group] for group in best[1]]


def repeated_pairs(groups: Iterable[Collection[P]], history: Iterable[Collection[P]]) -> int:
    """How many pairs placed together in `groups` already shared a group in `history`."""
    seen = {frozenset((a, b)) for g in history for a in g for b in g if a != b}
    return sum(
        1
        for g in groups
        for i, a in enumerate(g)
        for b in list(g)[i + 1 :]
        if frozenset((a, b)) in seen
    )


Weights = dict[int, dict[int, int]]


def _pair_weights(history: Iterable[Collection[P]], index: dict[P, int]) -> Weights:
    weights: Weights = defaultdict(lambda: defaultdict(int))
    for past in history:
        present = sorted({index[p] for p in past if p in index})
        for n, a in enumerate(present):
            for b in present[n + 1 :]:
                weights[a][b] += 1
                weights[b][a] += 1
    return {a: dict(others) for a, others in weights.items()}


def _sizes(people: int, count: int) -> list[int]:
    base, extra = divmod(people, count)
    return [base + 1 if g < extra else base for g in range(count)]


def _search(people: int, count: int, weights: Weights, rng: random.Random) -> list[list[int]]:
    order = list(range(people))
    rng.shuffle(order)
    capacity = _sizes(people, count)
    rng.shuffle(capacity)
    if not weights:
        groups, start = [], 0
        for cap in capacity:
            groups.append(order[start : start + cap])
            start += cap
        return groups
    # The most constrained people first: those with the heaviest history.
    order.sort(key=lambda p: -sum(weights.get(p, {}).values()))
    members: list[list[int]] = [[] for _ in range(count)]
    where = [0] * people
    affinity = [[0] * count for _ in range(people)]
    """affinity[p][g]: the weight between p and everyone now in group g."""
    for p in order:
        open_groups = [g for g in range(count) if len(members[g]) < capacity[g]]
        g = min(open_groups, key=lambda g: (affinity[p][g], len(members[g]), rng.random()))
        members[g].append(p)
        where[p] = g
        for q, w in weights.get(p, {}).items():
            affinity[q][g] += w
    _improve(members, where, affinity, weights)
    return members


def _improve(
    members: list[list[int]], where: list[int], affinity: list[list[int]], weights: Weights
) -> None:
    """Give each person in a costly group their best improving swap; repeat until none is left."""
    improved = True
    while improved:
        improved = False
        for p, others in weights.items():
            gp = where[p]
            if affinity[p][gp] == 0:
                continue
            best_delta, best_q = 0, -1
            for gq, group in enumerate(members):
                if gq == gp:
                    continue
                gain_p = affinity[p][gq] - affinity[p][gp]
                for q in group:
                    delta = gain_p + affinity[q][gp] - affinity[q][gq] - 2 * others.get(q, 0)
                    if delta < best_delta:
                        best_delta, best_q = delta, q
            if best_q >= 0:
                _swap(p, best_q, members, where, affinity, weights)
                improved = True


def _swap(
    p: int,
    q: int,
    members: list[list[int]],
    where: list[int],
    affinity: list[list[int]],
    weights: Weights,
) -> None:
    gp, gq = where[p], where[q]
    members[gp][members[gp].index(p)] = q
    members[gq][members[gq].index(q)] = p
    where[p], where[q] = gq, gp
    for r, w in weights.get(p, {}).items():
        affinity[r][gp] -= w
        affinity[r][gq] += w
    for r, w in weights.get(q, {}).items():
        affinity[r][gq] -= w
        affinity[r][gp] += w


def _closed_triangles(groups: list[list[int]], weights: Weights, people: int) -> int:
    """How many never-met triples the split's new pairs spoil: fewer keeps later rounds open.

    Among equally good splits this is the tie-break that lets the next rounds avoid repeats
    too (12 people in threes get four clean rounds instead of three).
    """
    spoiled = 0
    for group in groups:
        for n, a in enumerate(group):
            met_a = weights.get(a, {}).keys()
            for b in group[n + 1 :]:
                if b in met_a:
                    continue
                met_either = (met_a | weights.get(b, {}).keys()) - {a, b}
                spoiled += people - 2 - len(met_either)
    return spoiled


def _cost(groups: list[list[int]], weights: Weights) -> int:
    return sum(
        weights.get(a, {}).get(b, 0) for g in groups for i, a in enumerate(g) for b in g[i + 1 :]
    )
