"""The dedup stage: exact and MinHash near-duplicates across every source that lists it.

PanGu-alpha deduplicated fuzzily at document level across all its sources; its paper
publishes no parameters (see ../shared/docs/PANGU_PIPELINE.md). zhcorpus's defaults:
character 5-grams, 128 permutations, Jaccard 0.8, bands and rows derived by
``lsh_params`` with false negatives weighted 0.9 (14 bands of 9 rows: a pair at Jaccard
0.85 becomes a candidate with probability 0.975), candidates verified by exact Jaccard.
The arithmetic is in ``filters/minhash.py``, the clustering in ``filters/components.py``.

The graph, every step a Beam transform (nothing is collected into one process except the
union-find of a graph below ``union_find_max_edges``):

    Sketch      each document: normalised text -> node key, exact key, LSH band keys
    Exact       GroupByKey(exact key): the smallest node survives, the others are
                exact duplicates (a bucket of 100,000 identical pages is one group, read
                twice, never paired)
    Bands       exact survivors only: GroupByKey((band, bytes)) -> an edge from the
                bucket's smallest node to each other member (linear in the bucket, never
                all pairs) -> Distinct
    Verify      (optional) exact Jaccard of the two n-gram sets of each edge
    Components  connected components, labelled by their smallest node
    Paragraphs  (optional) lines of ``paragraph_min_chars`` or more shared with another
                surviving document are removed from all but the first (survivor order);
                a document that loses every such line is rejected
    Apply       CoGroupByKey(documents, decisions): verdicts, kept / removed

Node keys sort in survivor order, so "the smallest node" is the survivor everywhere:
source priority (the order of ``priority``; unlisted sources rank equal, after the listed
ones), then the longer normalised text (letters and digits: white space and punctuation do
not make a copy "longer"), then source name and id.
A removed document's verdict names its cluster, the cluster's size and its survivor.

Documents whose normalised text is empty (only punctuation or symbols) are not compared
(they would all be "equal"); they pass through, as do documents of sources that do not
list ``dedup``.
"""

from __future__ import annotations

import hashlib
import heapq
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam import pvalue

from corpus.config import DedupConfig, RunConfig
from corpus.reasons import Reason
from corpus.record import Document, Verdict
from filters.components import ConnectedComponents
from filters.minhash import MinHasher, band_keys, exact_key, jaccard, lsh_params, normalise, shingle_set

STAGE = "dedup"
KEPT = "kept"
REMOVED = "removed"
EVENTS = "events"
PASS_THROUGH = "pass_through"  # noqa: S105 - an output tag, not a secret
PARAGRAPHS = "paragraphs"
FAILED = "failed"
_LONGEST = (1 << 64) - 1
_EXAMPLES = 5
_TOP_CLUSTERS = 20


@dataclass(frozen=True)
class DedupPlan:
    """The dedup settings resolved for one run: which sources take part, in which order
    they win, and the LSH shape."""

    config: DedupConfig
    sources: frozenset[str]
    priority: tuple[tuple[str, int], ...]
    bands: int
    rows: int

    @classmethod
    def for_run(cls, config: RunConfig) -> DedupPlan:
        dedup = config.stages.dedup
        ranks = {name: rank for rank, name in enumerate(dedup.priority)}
        if dedup.bands is not None and dedup.rows is not None:
            bands, rows = dedup.bands, dedup.rows
        else:
            bands, rows = lsh_params(
                dedup.threshold, dedup.num_perm, 1.0 - dedup.false_negative_weight, dedup.false_negative_weight
            )
        return cls(
            config=dedup,
            sources=frozenset(s.name for s in config.sources if "dedup" in s.stages),
            priority=tuple((s.name, ranks.get(s.name, len(ranks))) for s in config.sources),
            bands=bands,
            rows=rows,
        )

    def rank(self, source: str) -> int:
        return dict(self.priority)[source]


def node_key(rank: int, length: int, source: str, doc_id: str) -> bytes:
    """Bytes that sort in survivor order: priority rank, longer first, then source and id."""
    return struct.pack(">HQ", rank, _LONGEST - length) + source.encode() + b"\x00" + doc_id.encode("utf-8", "surrogatepass")


def node_parts(node: bytes) -> tuple[str, str]:
    """(source, doc id) of a node key."""
    source, _, doc_id = node[10:].partition(b"\x00")
    return source.decode(), doc_id.decode("utf-8", "surrogatepass")


def node_name(node: bytes) -> str:
    source, doc_id = node_parts(node)
    return f"{source}/{doc_id}"


def cluster_id(kind: str, survivor: bytes) -> str:
    return f"{kind}-{hashlib.blake2b(survivor, digest_size=6).hexdigest()}"


def paragraph_hashes(text: str, min_chars: int) -> tuple[tuple[int, bytes], ...]:
    """(line index, 8-byte hash of the normalised line) for every line long enough."""
    found = []
    for index, line in enumerate(text.split("\n")):
        normalised = normalise(line)
        if len(normalised) >= min_chars:
            found.append((index, hashlib.blake2b(normalised.encode("utf-8", "surrogatepass"), digest_size=8).digest()))
    return tuple(found)


@dataclass(frozen=True)
class Decision:
    """Why a document is removed by dedup."""

    reason: Reason
    survivor: bytes
    cluster_size: int
    cluster: str


class _SketchFn(beam.DoFn):
    """Document -> (node, doc) for the final join, plus its sketch; documents not compared
    leave by the ``pass`` output."""

    def __init__(self, plan: DedupPlan) -> None:
        self._plan = plan

    def setup(self) -> None:
        config = self._plan.config
        self._hasher = MinHasher(config.num_perm, config.seed, config.ngram) if config.near else None
        self._ranks = dict(self._plan.priority)

    def process(self, doc: Document) -> Iterator[Any]:
        if doc.source not in self._plan.sources:
            yield pvalue.TaggedOutput(PASS_THROUGH, doc)
            return
        yield pvalue.TaggedOutput(EVENTS, ("seen", doc.source, doc.size_bytes))
        try:
            yield from self._sketch(doc)
        except Exception as exc:  # noqa: BLE001 - one bad document must not fail a run: it becomes an error record
            detail = f"{type(exc).__name__}: {exc}"[:500]
            yield pvalue.TaggedOutput(FAILED, doc.with_verdict(Verdict(STAGE, Reason.STAGE_EXCEPTION, detail=detail)))

    def _sketch(self, doc: Document) -> Iterator[Any]:
        normalised = normalise(doc.text)
        if not normalised:
            yield pvalue.TaggedOutput(EVENTS, ("not_compared", doc.source, doc.size_bytes))
            yield pvalue.TaggedOutput(PASS_THROUGH, doc)
            return
        node = node_key(self._ranks[doc.source], len(normalised), doc.source, doc.doc_id)
        bands: tuple[tuple[int, bytes], ...] = ()
        if self._hasher is not None:
            bands = tuple(band_keys(self._hasher.signature(normalised), self._plan.bands, self._plan.rows))
        # Without exact dedup every document is its own exact group: a unique key per node.
        key = exact_key(normalised) if self._plan.config.exact else node
        yield pvalue.TaggedOutput("sketch", (key, (node, bands)))
        if self._plan.config.paragraphs:
            found = paragraph_hashes(doc.text, self._plan.config.paragraph_min_chars)
            if found:
                yield pvalue.TaggedOutput(PARAGRAPHS, (node, found))
        yield node, doc


def _exact_groups(item: tuple[bytes, Iterable[tuple[bytes, tuple[Any, ...]]]]) -> Iterator[Any]:
    """One exact group -> decisions for all but the smallest node; the survivor's bands go on."""
    _, members = item
    survivor: tuple[bytes, Any] | None = None
    size = 0
    for member in members:  # first pass: the survivor and the size, nothing held
        size += 1
        if survivor is None or member[0] < survivor[0]:
            survivor = member
    assert survivor is not None
    yield pvalue.TaggedOutput("survivors", survivor)
    if size == 1:
        return
    name = cluster_id("exact", survivor[0])
    decision = Decision(Reason.EXACT_DUPLICATE, survivor[0], size, name)
    for node, _ in members:  # second pass
        if node != survivor[0]:
            yield node, decision
    examples = heapq.nsmallest(_EXAMPLES + 1, (node for node, _ in members))
    yield pvalue.TaggedOutput(EVENTS, ("cluster", "exact", survivor[0], size, tuple(examples[1:])))


def _band_entries(item: tuple[bytes, tuple[tuple[int, bytes], ...]]) -> Iterator[tuple[tuple[int, bytes], bytes]]:
    node, bands = item
    for band in bands:
        yield band, node


def _bucket_edges(item: tuple[tuple[int, bytes], Iterable[bytes]]) -> Iterator[tuple[bytes, bytes]]:
    """An edge from the bucket's smallest node to each other member: linear, never all pairs."""
    _, nodes = item
    smallest = min(nodes)
    for node in nodes:
        if node != smallest:
            yield smallest, node


class _VerifyEdges(beam.PTransform):
    """Keep an edge only when the exact Jaccard of its ends' n-gram sets reaches the threshold.

    Each edge's far end sends its n-gram set to the near end (the bucket's smallest node),
    which holds its own set once and compares it with each one it receives.
    """

    def __init__(self, keyed_docs: beam.PCollection, config: DedupConfig) -> None:
        super().__init__()
        self._docs = keyed_docs
        self._config = config

    def expand(self, edges: beam.PCollection) -> beam.PCollection:
        ngram, threshold = self._config.ngram, self._config.threshold

        def candidate_sets(item: tuple[bytes, dict[str, Iterable[Any]]]) -> Iterator[tuple[bytes, bytes]]:
            node, grouped = item
            docs = list(grouped["doc"])
            if docs and next(iter(grouped["candidate"]), None) is not None:
                yield node, shingle_set(normalise(docs[0].text), ngram).tobytes()

        def send_far_set(item: tuple[bytes, dict[str, Iterable[Any]]]) -> Iterator[tuple[bytes, tuple[bytes, bytes]]]:
            far, grouped = item
            for own_set in grouped["set"]:
                for near in grouped["near"]:
                    yield near, (far, own_set)

        def compare(item: tuple[bytes, dict[str, Iterable[Any]]]) -> Iterator[Any]:
            import numpy as np

            near, grouped = item
            for own_set in grouped["set"]:
                own = np.frombuffer(own_set, dtype=np.uint64)
                for far, far_set in grouped["far"]:
                    similarity = jaccard(own, np.frombuffer(far_set, dtype=np.uint64))
                    if similarity >= threshold:
                        yield near, far
                    else:
                        yield pvalue.TaggedOutput(EVENTS, ("verify_rejected", 1))
                    yield pvalue.TaggedOutput(EVENTS, ("candidate_pairs", 1))

        candidates = edges | "Candidates" >> beam.FlatMap(lambda edge: [(edge[0], True), (edge[1], True)])
        sets = (
            {"doc": self._docs, "candidate": candidates}
            | "JoinDocs" >> beam.CoGroupByKey()
            | "Sets" >> beam.FlatMap(candidate_sets)
        )
        far_sets = (
            {"set": sets, "near": edges | "ByFarEnd" >> beam.Map(lambda edge: (edge[1], edge[0]))}
            | "JoinFarEnds" >> beam.CoGroupByKey()
            | "SendFarSets" >> beam.FlatMap(send_far_set)
        )
        compared = (
            {"set": sets, "far": far_sets}
            | "JoinNearEnds" >> beam.CoGroupByKey()
            | "Compare" >> beam.FlatMap(compare).with_outputs(EVENTS, main="edges")
        )
        self.events = compared[EVENTS]
        return compared.edges


def _near_clusters(item: tuple[bytes, Iterable[bytes]]) -> Iterator[Any]:
    survivor, members = item
    size = 0
    for _ in members:
        size += 1
    name = cluster_id("near", survivor)
    decision = Decision(Reason.NEAR_DUPLICATE, survivor, size, name)
    for node in members:
        if node != survivor:
            yield node, decision
    examples = heapq.nsmallest(_EXAMPLES, (node for node in members if node != survivor))
    yield pvalue.TaggedOutput(EVENTS, ("cluster", "near", survivor, size, tuple(examples)))


def _paragraph_owners(item: tuple[bytes, dict[str, Iterable[Any]]]) -> Iterator[tuple[bytes, tuple[bytes, int]]]:
    """Paragraphs of documents that survived document-level dedup, keyed by paragraph."""
    node, grouped = item
    if next(iter(grouped["decision"]), None) is not None:
        return
    for found in grouped["paragraphs"]:
        for index, paragraph in found:
            yield paragraph, (node, index)


def _paragraph_removals(item: tuple[bytes, Iterable[tuple[bytes, int]]]) -> Iterator[tuple[bytes, int]]:
    """The document that comes first (survivor order) keeps a paragraph; others lose it."""
    _, places = item
    owner = min(node for node, _ in places)
    for node, index in places:
        if node != owner:
            yield node, index


class _ApplyFn(beam.DoFn):
    """(node, {doc, decision, paragraph}) -> the document with its dedup verdict."""

    def __init__(self, config: DedupConfig) -> None:
        self._config = config

    def process(self, item: tuple[bytes, dict[str, Iterable[Any]]]) -> Iterator[Any]:
        _, grouped = item
        for doc in grouped["doc"]:
            yield from self._apply(doc, list(grouped["decision"]), sorted(set(grouped["paragraph"])))

    def _apply(self, doc: Document, decisions: list[Decision], drop_lines: list[int]) -> Iterator[Any]:
        enforced = self._config.mode == "enforce"
        if decisions:
            decision = min(decisions, key=lambda d: (d.reason.value, d.survivor))
            detail = f"cluster {decision.cluster} of {decision.cluster_size} documents; survivor {node_name(decision.survivor)}"
            judged = doc.with_verdict(Verdict(STAGE, decision.reason, None, detail, enforced))
            survivor_source = node_parts(decision.survivor)[0]
            yield pvalue.TaggedOutput(EVENTS, ("removed", decision.reason.value, doc.source, survivor_source, doc.size_bytes))
            yield pvalue.TaggedOutput(REMOVED, judged) if judged.removal is not None else judged
            return
        if not drop_lines:
            yield doc
            return
        lines = doc.text.split("\n")
        dropped = set(drop_lines)
        remaining = "\n".join(line for index, line in enumerate(lines) if index not in dropped)
        if len(dropped) == len(paragraph_hashes(doc.text, self._config.paragraph_min_chars)):
            detail = f"all {len(dropped)} paragraphs of {self._config.paragraph_min_chars}+ characters occur in other documents"
            judged = doc.with_verdict(Verdict(STAGE, Reason.DUPLICATE_PARAGRAPHS, float(len(dropped)), detail, enforced))
            yield pvalue.TaggedOutput(
                EVENTS, ("removed", Reason.DUPLICATE_PARAGRAPHS.value, doc.source, doc.source, doc.size_bytes)
            )
            yield pvalue.TaggedOutput(REMOVED, judged) if judged.removal is not None else judged
            return
        yield pvalue.TaggedOutput(EVENTS, ("paragraphs", doc.source, len(dropped)))
        detail = f"{len(dropped)} paragraphs that occur in other documents removed"
        yield doc.with_verdict(Verdict(STAGE, Reason.CROSS_DOCUMENT_PARAGRAPHS_REMOVED, float(len(dropped)), detail), remaining)


class Deduplicate(beam.PTransform):
    """``docs | Deduplicate(plan)`` -> ``(kept, removed, report)``; ``report`` is a
    one-element PCollection holding ``stats/dedup.json``'s content."""

    def __init__(self, plan: DedupPlan) -> None:
        super().__init__()
        self._plan = plan

    def expand(self, docs: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection, beam.PCollection]:
        plan, config = self._plan, self._plan.config
        sketched = docs | "Sketch" >> beam.ParDo(_SketchFn(plan)).with_outputs(
            "sketch", PARAGRAPHS, PASS_THROUGH, EVENTS, FAILED, main="keyed"
        )
        keyed = sketched.keyed
        exact = (
            sketched.sketch
            | "Exact/Group" >> beam.GroupByKey()
            | "Exact/Survivors" >> beam.FlatMap(_exact_groups).with_outputs("survivors", EVENTS, main="decisions")
        )
        decisions = [exact.decisions]
        events = [sketched[EVENTS], exact[EVENTS]]
        rounds: list[beam.PCollection] = []
        if config.near:
            edges = (
                exact.survivors
                | "Near/BandKeys" >> beam.FlatMap(_band_entries)
                | "Near/Buckets" >> beam.GroupByKey()
                | "Near/Edges" >> beam.FlatMap(_bucket_edges)
                | "Near/DistinctEdges" >> beam.Distinct()
            )
            if config.verify:
                verify = _VerifyEdges(keyed, config)
                edges = edges | "Near/Verify" >> verify
                events.append(verify.events)
            cluster = ConnectedComponents(config.rounds, config.union_find_max_edges)
            labels = edges | "Near/Components" >> cluster
            assert cluster.rounds_report is not None
            rounds.append(cluster.rounds_report)
            near = (
                labels
                | "Near/ByCluster" >> beam.Map(lambda item: (item[1], item[0]))
                | "Near/Clusters" >> beam.GroupByKey()
                | "Near/Decisions" >> beam.FlatMap(_near_clusters).with_outputs(EVENTS, main="decisions")
            )
            decisions.append(near.decisions)
            events.append(near[EVENTS])
        all_decisions = decisions | "Decisions" >> beam.Flatten()
        joined: dict[str, beam.PCollection] = {"doc": keyed, "decision": all_decisions}
        if config.paragraphs:
            joined["paragraph"] = (
                {"paragraphs": sketched[PARAGRAPHS], "decision": all_decisions}
                | "Paragraphs/JoinDecisions" >> beam.CoGroupByKey()
                | "Paragraphs/Owners" >> beam.FlatMap(_paragraph_owners)
                | "Paragraphs/Group" >> beam.GroupByKey()
                | "Paragraphs/Removals" >> beam.FlatMap(_paragraph_removals)
            )
        else:
            joined["paragraph"] = keyed.pipeline | "Paragraphs/None" >> beam.Create([])
        applied = (
            joined
            | "Apply/Join" >> beam.CoGroupByKey()
            | "Apply/Verdicts" >> beam.ParDo(_ApplyFn(config)).with_outputs(REMOVED, EVENTS, main=KEPT)
        )
        events.append(applied[EVENTS])
        kept = (applied[KEPT], sketched[PASS_THROUGH]) | "Kept" >> beam.Flatten()
        round_list = (rounds or [keyed.pipeline | "Rounds/None" >> beam.Create([])]) | "Rounds" >> beam.Flatten()
        report = (
            events
            | "Report/Events" >> beam.Flatten()
            | "Report/Combine" >> beam.CombineGlobally(DedupReportFn())
            | "Report/Finish" >> beam.Map(finish_report, plan=plan, rounds=beam.pvalue.AsList(round_list))
        )
        removed = (applied[REMOVED], sketched[FAILED]) | "Removed" >> beam.Flatten()
        return kept, removed, report


Report = dict[str, Any]


class DedupReportFn(beam.CombineFn):
    """Folds the stage's events into counts; the largest clusters are kept as a bounded
    top list, so the accumulator stays small whatever the corpus."""

    def create_accumulator(self) -> Report:
        return {"sources": {}, "histogram": {}, "top": [], "matrix": {}, "verify": {"candidate_pairs": 0, "rejected": 0}}

    def add_input(self, acc: Report, event: tuple[Any, ...]) -> Report:
        kind = event[0]
        if kind in ("seen", "not_compared"):
            _, source, size = event
            entry = _source_entry(acc, source)
            entry[f"docs_{kind}"] += 1
            entry[f"bytes_{kind}"] += size
        elif kind == "removed":
            _, reason, source, survivor_source, size = event
            entry = _source_entry(acc, source)
            entry["removed"][reason] = entry["removed"].get(reason, 0) + 1
            entry["bytes_removed"] += size
            if reason != Reason.DUPLICATE_PARAGRAPHS.value:
                row = acc["matrix"].setdefault(source, {})
                row[survivor_source] = row.get(survivor_source, 0) + 1
        elif kind == "paragraphs":
            _, source, count = event
            _source_entry(acc, source)["paragraphs_removed"] += count
        elif kind == "cluster":
            _, cluster_kind, survivor, size, examples = event
            bucket = _size_bucket(size)
            histogram = acc["histogram"].setdefault(cluster_kind, {})
            histogram[bucket] = histogram.get(bucket, 0) + 1
            acc["top"] = _top([*acc["top"], (size, cluster_kind, survivor, examples)])
        elif kind == "candidate_pairs":
            acc["verify"]["candidate_pairs"] += event[1]
        elif kind == "verify_rejected":
            acc["verify"]["rejected"] += event[1]
        return acc

    def merge_accumulators(self, accumulators: Iterable[Report]) -> Report:
        merged = self.create_accumulator()
        for acc in accumulators:
            for source, entry in acc["sources"].items():
                target = _source_entry(merged, source)
                for key, value in entry.items():
                    if isinstance(value, dict):
                        for name, count in value.items():
                            target[key][name] = target[key].get(name, 0) + count
                    else:
                        target[key] += value
            for kind, histogram in acc["histogram"].items():
                target_histogram = merged["histogram"].setdefault(kind, {})
                for bucket, count in histogram.items():
                    target_histogram[bucket] = target_histogram.get(bucket, 0) + count
            for source, row in acc["matrix"].items():
                target_row = merged["matrix"].setdefault(source, {})
                for survivor_source, count in row.items():
                    target_row[survivor_source] = target_row.get(survivor_source, 0) + count
            merged["top"] = _top([*merged["top"], *acc["top"]])
            for key in ("candidate_pairs", "rejected"):
                merged["verify"][key] += acc["verify"][key]
        return merged

    def extract_output(self, acc: Report) -> Report:
        return acc


def _source_entry(acc: Report, source: str) -> dict[str, Any]:
    return acc["sources"].setdefault(
        source,
        {
            "docs_seen": 0,
            "bytes_seen": 0,
            "docs_not_compared": 0,
            "bytes_not_compared": 0,
            "removed": {},
            "bytes_removed": 0,
            "paragraphs_removed": 0,
        },
    )


def _size_bucket(size: int) -> str:
    """2, 3, 4-7, 8-15, ...: powers of two, so a histogram stays short."""
    if size <= 3:
        return str(size)
    low = 1 << (size.bit_length() - 1)
    return f"{low}-{2 * low - 1}"


def _top(clusters: list[tuple[int, str, bytes, tuple[bytes, ...]]]) -> list[tuple[int, str, bytes, tuple[bytes, ...]]]:
    return sorted(clusters, key=lambda c: (-c[0], c[1], c[2]))[:_TOP_CLUSTERS]


def _bucket_order(bucket: str) -> int:
    return int(bucket.split("-")[0])


def finish_report(acc: Report, plan: DedupPlan, rounds: list[tuple[Any, Any]]) -> Report:
    """The content of ``stats/dedup.json``: settings, per source, clusters, matrix, rounds."""
    config = plan.config
    components: dict[str, Any] = {}
    changed: dict[int, int] = {}
    for key, value in rounds:
        if key == "path":
            components["path"] = value
        elif key == "unsettled":
            components["unsettled_label_pairs"] = value
        else:
            changed[key] = value
    components["labels_changed_per_round"] = [changed[index] for index in sorted(changed)]
    return {
        "settings": {
            "exact": config.exact,
            "near": config.near,
            "ngram": config.ngram,
            "num_perm": config.num_perm,
            "threshold": config.threshold,
            "bands": plan.bands,
            "rows": plan.rows,
            "seed": config.seed,
            "verify": config.verify,
            "paragraphs": config.paragraphs,
            "mode": config.mode,
            "priority": list(config.priority),
        },
        "sources": {source: acc["sources"][source] for source in sorted(acc["sources"])},
        "cluster_sizes": {
            kind: dict(sorted(histogram.items(), key=lambda item: _bucket_order(item[0])))
            for kind, histogram in sorted(acc["histogram"].items())
        },
        "largest_clusters": [
            {
                "kind": kind,
                "size": size,
                "cluster": cluster_id(kind, survivor),
                "survivor": node_name(survivor),
                "examples": [node_name(node) for node in examples],
            }
            for size, kind, survivor, examples in acc["top"]
        ],
        "lost_to": {source: dict(sorted(row.items())) for source, row in sorted(acc["matrix"].items())},
        "verify": acc["verify"],
        "components": components if config.near else {},
    }
