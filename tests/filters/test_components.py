"""Connected components: union-find and the Beam transform on both of its paths."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from filters.components import ConnectedComponents, UnionFind, components


def _random_graph(seed: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    edges = []
    for _ in range(300):
        first, second = rng.sample(range(400), 2)
        edges.append((min(first, second), max(first, second)))
    path = list(range(1000, 1040))  # a long path: diameter 39, more than any round count below
    rng.shuffle(path)
    edges += [(min(a, b), max(a, b)) for a, b in itertools.pairwise(path)]
    return edges


def test_union_find_roots_are_component_minimums() -> None:
    union_find = UnionFind()
    union_find.union(5, 3)
    union_find.union(9, 7)
    union_find.union(7, 5)
    union_find.union(20, 21)
    assert union_find.roots() == {3: 3, 5: 3, 7: 3, 9: 3, 20: 20, 21: 20}
    assert components([("b", "c"), ("a", "c")]) == {"a": "a", "b": "a", "c": "a"}


def _run(edges: list[tuple[int, int]], rounds: int, max_edges: int, check_report: Callable[[dict[str, Any]], None]) -> None:
    """Runs the transform; its labels must equal the one-process union-find's."""

    def report_matches(found: list[tuple[Any, Any]]) -> None:
        check_report({str(key): value for key, value in found})

    with TestPipeline() as pipeline:
        transform = ConnectedComponents(rounds=rounds, union_find_max_edges=max_edges)
        labels = pipeline | beam.Create(edges) | transform
        assert_that(labels, equal_to(sorted(components(edges).items())), label="labels")
        assert_that(transform.rounds_report, report_matches, label="report")


@pytest.mark.parametrize(
    ("rounds", "max_edges", "path"), [(0, 10_000, "union-find"), (3, 0, "propagation"), (0, 0, "propagation")]
)
def test_transform_matches_union_find(rounds: int, max_edges: int, path: str) -> None:
    def check(report: dict[str, Any]) -> None:
        assert report["path"] == path
        if path == "propagation" and rounds < 39:
            assert report["unsettled"] > 0  # the long path cannot settle in so few rounds

    _run(_random_graph(7), rounds, max_edges, check)


def test_propagation_counts_changes_and_settles_the_rest() -> None:
    chain = [(i, i + 1) for i in range(12)]  # label 0 needs 12 rounds to reach node 12

    def check(report: dict[str, Any]) -> None:
        assert report["path"] == "propagation"
        # Initially node i+1 has label i; each round moves label 0 one step further.
        assert [report[str(i)] for i in range(1, 5)] == [11, 10, 9, 8]
        assert report["unsettled"] > 0  # finished by the union-find over label pairs

    _run(chain, 4, 0, check)


def test_enough_rounds_leave_nothing_to_settle() -> None:
    star = [(0, i) for i in range(1, 50)] + [(10, 100), (100, 101)]

    def check(report: dict[str, Any]) -> None:
        assert report["unsettled"] == 0 and report["4"] == 0 and report["1"] > 0

    _run(star, 4, 0, check)
