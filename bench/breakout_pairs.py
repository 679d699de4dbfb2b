"""Repeated pairs over many breakouts: our grouping against a plain random shuffle.

12 people in groups of 3 for 10 rounds, each round's groups added to the history of the next.
Prints the repeated pairs per round side by side, then the time to group 500 people (with ten
rounds of history, the realistic case) and with none.

    .venv/bin/python bench/breakout_pairs.py
"""

from __future__ import annotations

import random
import time

from bot.breakouts.grouping import repeated_pairs, split

PEOPLE = 12
SIZE = 3
ROUNDS = 10


def shuffled(people: list[int], size: int, rng: random.Random) -> list[list[int]]:
    order = people[:]
    rng.shuffle(order)
    return [order[i : i + size] for i in range(0, len(order), size)]


def main() -> None:
    people = list(range(PEOPLE))
    ours_history: list[list[int]] = []
    shuffle_history: list[list[int]] = []
    rng = random.Random(1)
    totals = [0, 0]
    print(f"{PEOPLE} people, groups of {SIZE}: repeated pairs per round")
    print(f"{'round':>5}  {'ours':>4}  {'shuffle':>7}")
    for n in range(1, ROUNDS + 1):
        ours = split(people, size=SIZE, history=ours_history, seed=n)
        theirs = shuffled(people, SIZE, rng)
        counts = [repeated_pairs(ours, ours_history), repeated_pairs(theirs, shuffle_history)]
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        print(f"{n:>5}  {counts[0]:>4}  {counts[1]:>7}")
        ours_history += ours
        shuffle_history += theirs
    print(f"{'total':>5}  {totals[0]:>4}  {totals[1]:>7}")
    placed = ROUNDS * (PEOPLE // SIZE) * SIZE * (SIZE - 1) // 2
    distinct = PEOPLE * (PEOPLE - 1) // 2
    print(f"(any grouping repeats at least {placed} - {distinct} = {placed - distinct} in total)")

    crowd = list(range(500))
    history: list[list[int]] = []
    for n in range(10):
        history += shuffled(crowd, 4, random.Random(100 + n))
    for label, past in (("no history", []), ("10 rounds of history", history)):
        start = time.perf_counter()
        groups = split(crowd, size=4, history=past, seed=7)
        elapsed = time.perf_counter() - start
        print(
            f"500 people, size 4, {label}: {elapsed * 1000:.0f} ms "
            f"({len(groups)} groups, {repeated_pairs(groups, past)} repeated pairs)"
        )


if __name__ == "__main__":
    main()
