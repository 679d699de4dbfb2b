"""The grouping algorithm: balanced, complete, reproducible, and shy of repeated pairs."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.breakouts.grouping import group_count, repeated_pairs, split

people_lists = st.lists(st.integers(0, 400), max_size=80, unique=True)
histories = st.lists(st.lists(st.integers(0, 400), min_size=2, max_size=6), max_size=30)


@settings(max_examples=150, deadline=None)
@given(
    people=people_lists,
    how=st.one_of(
        st.tuples(st.just("groups"), st.integers(1, 30)),
        st.tuples(st.just("size"), st.integers(1, 12)),
    ),
    history=histories,
    seed=st.integers(0, 2**32),
)
def test_everyone_once_sizes_within_one_no_singletons(
    people: list[int], how: tuple[str, int], history: list[list[int]], seed: int
) -> None:
    groups = split(people, **{how[0]: how[1]}, history=history, seed=seed)
    placed = Counter(p for g in groups for p in g)
    assert sorted(placed) == sorted(people)
    assert set(placed.values()) <= {1}
    sizes = [len(g) for g in groups]
    if sizes:
        assert max(sizes) - min(sizes) <= 1
    if len(people) >= 2:
        assert min(sizes) >= 2
    if how[0] == "size" and len(people) >= 2 * how[1]:
        assert min(sizes) >= how[1]


@pytest.mark.parametrize(
    ("people", "kwargs", "sizes"),
    [
        (7, {"size": 2}, [2, 2, 3]),
        (9, {"size": 3}, [3, 3, 3]),
        (10, {"size": 3}, [3, 3, 4]),
        (5, {"groups": 4}, [2, 3]),
        (1, {"size": 3}, [1]),
        (0, {"groups": 2}, []),
        (8, {"groups": 3}, [2, 3, 3]),
    ],
)
def test_group_sizes(people: int, kwargs: dict[str, int], sizes: list[int]) -> None:
    groups = split(list(range(people)), **kwargs)
    assert sorted(len(g) for g in groups) == sizes


def test_group_count_needs_exactly_one_way() -> None:
    with pytest.raises(ValueError):
        group_count(5)
    with pytest.raises(ValueError):
        group_count(5, groups=2, size=2)


def test_same_seed_same_split_and_other_seeds_differ() -> None:
    people = [f"p{i}" for i in range(20)]
    assert split(people, size=4, seed=3) == split(people, size=4, seed=3)
    assert len({str(split(people, size=4, seed=s)) for s in range(10)}) > 1


def test_duplicates_are_placed_once() -> None:
    groups = split(["a", "b", "a", "c", "d"], size=2)
    assert sorted(p for g in groups for p in g) == ["a", "b", "c", "d"]


def test_four_rounds_of_twelve_in_threes_repeat_no_pair() -> None:
    people = list(range(12))
    history: list[list[int]] = []
    for round_ in range(4):
        groups = split(people, size=3, history=history, seed=round_)
        assert repeated_pairs(groups, history) == 0
        history += groups


def test_history_is_avoided_when_it_can_be() -> None:
    history = [["a", "b"], ["c", "d"]]
    for seed in range(20):
        groups = split(["a", "b", "c", "d"], size=2, history=history, seed=seed)
        assert repeated_pairs(groups, history) == 0


def test_people_outside_the_split_in_history_are_ignored() -> None:
    groups = split([1, 2, 3, 4], size=2, history=[[1, 99], [2, 98, 3]], seed=0)
    assert repeated_pairs(groups, [[2, 3]]) == 0
