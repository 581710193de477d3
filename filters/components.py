"""Connected components of a graph given as a PCollection of edges, in Beam.

Every node ends labelled with the smallest node of its component. The dedup stage orders
nodes so that the smallest is the survivor, so the label *is* the survivor.

Two paths, chosen at run time from the number of edges (a singleton side input):

- small graphs (``union_find_max_edges`` or fewer edges): one ``CombineGlobally`` whose
  accumulator is a union-find; partial union-finds are built in parallel and merged.
- large graphs: min-label propagation across workers. Each round, every node sends its
  label to its neighbours and takes the smallest label it hears (a ``CoGroupByKey`` of
  labels with adjacency, then a combine); the number of labels that changed is counted per
  round. Beam graphs have a fixed shape, so the rounds are unrolled (``rounds``); once
  labels stop changing, further rounds change nothing. Whatever is still unsettled after
  the last round (an edge whose two ends carry different labels) is merged by a union-find
  over those label pairs, which is small because propagation has already collapsed almost
  every component; so the result is exact whatever the graph's diameter.

Both paths give the same labels (tested); ``rounds_report`` says how much each round changed.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from typing import Any, TypeVar

import apache_beam as beam

Node = TypeVar("Node", bound=Hashable)


class UnionFind:
    """Union-find whose root is always the smallest node of its set (union by minimum,
    path halving)."""

    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}

    def find(self, node: Any) -> Any:
        parent = self.parent
        root = parent.setdefault(node, node)
        while root != parent[root]:
            parent[root] = parent[parent[root]]
            root = parent[root]
        return root

    def union(self, first: Any, second: Any) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            if b < a:
                a, b = b, a
            self.parent[b] = a

    def roots(self) -> dict[Any, Any]:
        """Every node -> the smallest node of its set."""
        return {node: self.find(node) for node in list(self.parent)}


def components(edges: Iterable[tuple[Any, Any]]) -> dict[Any, Any]:
    """Node -> smallest node of its component, in one process (the reference)."""
    union_find = UnionFind()
    for first, second in edges:
        union_find.union(first, second)
    return union_find.roots()


class _UnionFindFn(beam.CombineFn):
    def create_accumulator(self) -> UnionFind:
        return UnionFind()

    def add_input(self, acc: UnionFind, edge: tuple[Any, Any]) -> UnionFind:
        acc.union(*edge)
        return acc

    def merge_accumulators(self, accumulators: Iterable[UnionFind]) -> UnionFind:
        merged: UnionFind | None = None
        for acc in accumulators:
            if merged is None:
                merged = acc
                continue
            for node, parent in acc.parent.items():
                merged.union(node, parent)
        return merged if merged is not None else UnionFind()

    def extract_output(self, acc: UnionFind) -> dict[Any, Any]:
        return acc.roots()


class _MinLabelFn(beam.CombineFn):
    """(own label, smallest label heard) -> (new label, changed)."""

    def create_accumulator(self) -> tuple[Any, Any]:
        return (None, None)

    def add_input(self, acc: tuple[Any, Any], message: tuple[Any, bool]) -> tuple[Any, Any]:
        own, heard = acc
        label, is_own = message
        if is_own:
            own = label if own is None or label < own else own
        else:
            heard = label if heard is None or label < heard else heard
        return own, heard

    def merge_accumulators(self, accumulators: Iterable[tuple[Any, Any]]) -> tuple[Any, Any]:
        own: Any = None
        heard: Any = None
        for acc_own, acc_heard in accumulators:
            if acc_own is not None and (own is None or acc_own < own):
                own = acc_own
            if acc_heard is not None and (heard is None or acc_heard < heard):
                heard = acc_heard
        return own, heard

    def extract_output(self, acc: tuple[Any, Any]) -> tuple[Any, bool]:
        own, heard = acc
        if heard is not None and heard < own:
            return heard, True
        return own, False


def _send_labels(item: tuple[Any, dict[str, Iterable[Any]]]) -> Iterator[tuple[Any, tuple[Any, bool]]]:
    node, grouped = item
    labels = list(grouped["label"])
    if not labels:
        return
    label = labels[0]
    yield node, (label, True)
    for neighbour in grouped["adjacent"]:
        yield neighbour, (label, False)


def _both_directions(edge: tuple[Any, Any]) -> Iterator[tuple[Any, Any]]:
    first, second = edge
    yield first, second
    yield second, first


def _initial_labels(edge: tuple[Any, Any]) -> Iterator[tuple[Any, Any]]:
    smaller = min(edge)
    yield edge[0], smaller
    yield edge[1], smaller


def _endpoint_label(item: tuple[Any, dict[str, Iterable[Any]]]) -> Iterator[tuple[Any, Any]]:
    """(u, {label: [Lu], far_ends: [v...]}) -> (v, Lu) for each edge (u, v)."""
    _, grouped = item
    labels = list(grouped["label"])
    for far_end in grouped["far_ends"]:
        yield far_end, labels[0]


def _unsettled(item: tuple[Any, dict[str, Iterable[Any]]]) -> Iterator[tuple[Any, Any]]:
    """(v, {label: [Lv], heard: [Lu...]}) -> (Lu, Lv) wherever they differ."""
    _, grouped = item
    labels = list(grouped["label"])
    for heard in grouped["heard"]:
        if heard != labels[0]:
            yield heard, labels[0]


class ConnectedComponents(beam.PTransform):
    """``edges`` (pairs of nodes) -> ``(node, smallest node of its component)`` for every node
    that has an edge; also ``self.rounds_report``, a PCollection of ``(round, labels
    changed)`` plus ``("unsettled", edges merged by the final union-find)`` and
    ``("path", "union-find" | "propagation")``, after ``expand``."""

    def __init__(self, rounds: int, union_find_max_edges: int) -> None:
        super().__init__()
        self._rounds = rounds
        self._max_edges = union_find_max_edges
        self.rounds_report: beam.PCollection | None = None

    def expand(self, edges: beam.PCollection) -> beam.PCollection:
        max_edges = self._max_edges
        edge_count = edges | "CountEdges" >> beam.combiners.Count.Globally()
        small = edges | "SmallGraph" >> beam.Filter(
            lambda _, count: count <= max_edges, count=beam.pvalue.AsSingleton(edge_count)
        )
        large = edges | "LargeGraph" >> beam.Filter(lambda _, count: count > max_edges, count=beam.pvalue.AsSingleton(edge_count))

        adjacency = large | "Adjacency" >> beam.FlatMap(_both_directions)
        labels = large | "InitialLabels" >> beam.FlatMap(_initial_labels) | "InitialMin" >> beam.CombinePerKey(min)
        reports = [edge_count | "Path" >> beam.Map(lambda count: ("path", "union-find" if count <= max_edges else "propagation"))]
        for round_index in range(1, self._rounds + 1):
            step = f"Round{round_index}"
            judged = (
                {"label": labels, "adjacent": adjacency}
                | f"{step}/Join" >> beam.CoGroupByKey()
                | f"{step}/Send" >> beam.FlatMap(_send_labels)
                | f"{step}/Min" >> beam.CombinePerKey(_MinLabelFn())
            )
            labels = judged | f"{step}/Labels" >> beam.Map(lambda item: (item[0], item[1][0]))
            reports.append(
                judged
                | f"{step}/Changed" >> beam.Map(lambda item: int(item[1][1]))
                | f"{step}/CountChanged" >> beam.CombineGlobally(sum)
                | f"{step}/Report" >> beam.Map(lambda changed, index=round_index: (index, changed))
            )

        heard = (
            {"label": labels, "far_ends": large}
            | "Settle/JoinFirst" >> beam.CoGroupByKey()
            | "Settle/SendLabel" >> beam.FlatMap(_endpoint_label)
        )
        unsettled = (
            {"label": labels, "heard": heard}
            | "Settle/JoinSecond" >> beam.CoGroupByKey()
            | "Settle/Differ" >> beam.FlatMap(_unsettled)
            | "Settle/Distinct" >> beam.Distinct()
        )
        reports.append(
            unsettled
            | "Settle/Count" >> beam.combiners.Count.Globally()
            | "Settle/Report" >> beam.Map(lambda n: ("unsettled", n))
        )
        roots = (
            (small, unsettled) | "UnionFind/Edges" >> beam.Flatten() | "UnionFind/Merge" >> beam.CombineGlobally(_UnionFindFn())
        )
        from_union_find = roots | "UnionFind/Labels" >> beam.FlatMap(lambda found: sorted(found.items()))

        def relabel(item: tuple[Any, Any], found: dict[Any, Any]) -> tuple[Any, Any]:
            node, label = item
            return node, found.get(label, label)

        from_propagation = labels | "Propagation/Relabel" >> beam.Map(relabel, found=beam.pvalue.AsSingleton(roots))
        small_nodes = from_union_find | "UnionFind/OnlySmall" >> beam.Filter(
            lambda _, count: count <= max_edges, count=beam.pvalue.AsSingleton(edge_count)
        )
        self.rounds_report = reports | "Report" >> beam.Flatten()
        return (small_nodes, from_propagation) | "Labels" >> beam.Flatten()
