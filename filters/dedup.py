"""The dedup stage: exact and MinHash near-duplicates across every source that lists it.

PanGu-alpha deduplicated fuzzily at document level across all its sources; its paper
publishes no parameters (Zeng et al. 2021, section 3). zhcorpus's defaults:
character 5-grams, 128 permutations, Jaccard 0.8, bands and rows derived by
``lsh_params`` with false negatives weighted 0.9 (14 bands of 9 rows: a pair at Jaccard
0.85 becomes a candidate with probability 0.975), candidates verified by exact Jaccard.
The arithmetic is in ``filters/minhash.py``, the clustering in ``filters/components.py``.

The graph, every step a Beam transform (nothing is collected into one process except the
union-find of a graph below ``union_find_max_edges``). The groupings whose size follows
the input's (the exact groups, the band partitions, verification's joins, the decisions)
wait on disk, not in the runner (``corpus.spill.DiskCoGroupByKey``):

    Sketch      each document: normalised text -> node key, exact key, LSH band keys
    Exact       grouped by exact key: the smallest node survives, the others are
                exact duplicates (a bucket of 100,000 identical pages is one group, read
                twice, never paired)
    Bands       exact survivors only: band keys ``(band, bytes)``, batched by partition of
                the key space -> grouped -> buckets formed in memory per partition ->
                an edge from each bucket's smallest node to each other member (linear in
                the bucket, never all pairs) -> Distinct
    Verify      (optional) exact Jaccard of the two n-gram sets of each edge (the sets
                made from the normalised texts of the edges' ends, joined by node; a set
                is the 32-bit n-gram hashes whose Jaccard the signature estimates, 4
                bytes per n-gram; the joins wait on disk, ``corpus.spill``)
    Components  connected components, labelled by their smallest node
    Paragraphs  (optional) lines of ``paragraph_min_chars`` or more shared with another
                surviving document are removed from all but the first (survivor order);
                a document that loses every such line is rejected
    Apply       the documents wait on disk, not in a shuffle: the sketch step writes each
                compared document into sorted runs ("pieces", ordered by a hash of its
                node, as the writers' pieces are) and passes on only their descriptions;
                the decisions (and paragraph removals) are grouped by stretch of that
                hash range, ``ceil(compared bytes / APPLY_RANGE_BYTES)`` stretches (at
                least ``corpus.spill.SPREAD_STRETCHES``, so every worker has some), and
                each stretch's documents are read from every piece and given their
                verdicts: kept / removed

Node keys sort in survivor order, so "the smallest node" is the survivor everywhere:
source priority (the order of ``priority``; unlisted sources rank equal, after the listed
ones), then the longer normalised text (letters and digits: white space and punctuation do
not make a copy "longer"), then source name and id.
A removed document's verdict names its cluster, the cluster's size and its survivor.

Documents whose normalised text is empty (only punctuation or symbols) are not compared
(they would all be "equal"); they pass through, as do documents of sources that do not
list ``dedup``. In annotate mode every verdict is recorded with ``enforced=False`` and no
text changes; the report's ``removed`` counts then mean "would be removed".

Known limit of paragraph mode: a near cluster's survivor can itself lose every paragraph
to another document and be rejected; its cluster's verdicts still name it.

Known limit of ``verify``: a bucket is checked as a star from its smallest node, so if that
node is a false candidate, two other members that are true duplicates are linked only
through another band they share. The benchmark (bench/dedup.py) measures recall 0.997 at
Jaccard >= 0.85 with it; a second star over the rejected members would close the gap.
"""

from __future__ import annotations

import hashlib
import heapq
import os
import pickle
import struct
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindows

from corpus import writers
from corpus.config import DedupConfig, RunConfig
from corpus.reasons import Reason
from corpus.record import Document, Verdict
from corpus.spill import DiskCoGroupByKey, spread_count
from corpus.work import WorkCounters
from filters.components import ConnectedComponents
from filters.minhash import MinHasher, band_keys, exact_key, jaccard, lsh_params, minhash_set, normalise
from filters.stage import failed

STAGE = "dedup"
KEPT = "kept"
REMOVED = "removed"
EVENTS = "events"
PASS_THROUGH = "pass_through"  # noqa: S105 - an output tag, not a secret
PARAGRAPHS = "paragraphs"
TEXTS = "texts"
APPLY_RANGE_BYTES = 64 * 1024 * 1024
"""Documents (``size_bytes``) per stretch of the node-hash range that one Apply task gives
verdicts to: about what that task holds in memory at once."""
FAILED = "failed"
_LONGEST = (1 << 64) - 1
_EXAMPLES = 5
_TOP_CLUSTERS = 20
_FLUSH_ENTRIES = 200_000  # band entries buffered per bundle: about 20 MB


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


def node_key(rank: int, length: int, source: str, doc_id: str) -> bytes:
    """Bytes that sort in survivor order: priority rank, longer first, then source and id."""
    return struct.pack(">IQ", rank, _LONGEST - length) + source.encode() + b"\x00" + doc_id.encode("utf-8", "surrogatepass")


def node_hash(node: bytes) -> int:
    """A 64-bit hash of a node key: where the node's document lies in the Apply ranges."""
    return int.from_bytes(hashlib.blake2b(node, digest_size=8).digest(), "big")


def node_parts(node: bytes) -> tuple[str, str]:
    """(source, doc id) of a node key."""
    source, _, doc_id = node[12:].partition(b"\x00")
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


class _Tally:
    """Counts kept inside a DoFn for one bundle and emitted once at its end: one event per
    (kind, source, ...) per bundle instead of one per document."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, ...], list[int]] = {}

    def add(self, key: tuple[str, ...], size: int = 0, count: int = 1) -> None:
        entry = self._counts.setdefault(key, [0, 0])
        entry[0] += count
        entry[1] += size

    def emit(self) -> Iterator[Any]:
        counts, self._counts = self._counts, {}
        for key, (count, size) in sorted(counts.items()):
            yield pvalue.TaggedOutput(EVENTS, GlobalWindows.windowed_value(("count", key, count, size)))


@dataclass(frozen=True)
class Decision:
    """Why a document is removed by dedup."""

    reason: Reason
    survivor: bytes
    cluster_size: int
    cluster: str
    copy_of: bytes | None = None
    """For an exact duplicate whose exact survivor was itself removed as a near duplicate:
    that exact survivor (``survivor`` is then the near cluster's survivor)."""

    def detail(self) -> str:
        via = f"exact copy of {node_name(self.copy_of)}, a near duplicate; " if self.copy_of is not None else ""
        return f"cluster {self.cluster} of {self.cluster_size} documents; {via}survivor {node_name(self.survivor)}"


def _follow_near_survivor(item: tuple[bytes, Iterable[tuple[Any, ...]]]) -> Iterator[tuple[bytes, Decision]]:
    """Exact losers keyed by their exact survivor, which near dedup may have removed in turn:
    point them at the survivor that is actually kept.

    The values are tagged (the label, the losers) and read twice. They come from a
    ``DiskCoGroupByKey``, which holds one stretch of the key range in a worker's memory: an
    exact group of a million pages is a list of a million (node, decision) pairs there,
    some hundreds of MB, never in the runner."""
    exact_survivor, values = item
    label = exact_survivor
    for value in values:
        if value[0] == "label":
            label = value[1]
    for value in values:
        if value[0] == "loser":
            _, loser, decision = value
            if label != exact_survivor:
                decision = Decision(decision.reason, label, decision.cluster_size, decision.cluster, exact_survivor)
            yield loser, decision


_BANDS_CACHE = 100_000


class _SketchFn(beam.DoFn):
    """Document -> its sketch, and the document itself into a piece on disk (the main
    output is the pieces' descriptions, ``writers.Piece``); documents not compared leave by
    the ``pass`` output."""

    def __init__(self, plan: DedupPlan, work_dir: str) -> None:
        self._plan = plan
        self._work_dir = work_dir

    def setup(self) -> None:
        config = self._plan.config
        self._hasher = MinHasher(config.num_perm, config.seed, config.ngram) if config.near else None
        self._ranks = dict(self._plan.priority)
        # Exact copies have the same normalised text, so the same bands: a worker computes
        # them once per text (the sample's reviews are half repeats). Bounded: 100,000
        # entries of about 700 bytes.
        self._bands_of: dict[bytes, tuple[tuple[int, bytes], ...]] = {}
        self._work = WorkCounters(STAGE)  # the signatures: the stage's per-document work

    def start_bundle(self) -> None:
        self._tally = _Tally()
        self._piece = writers.PieceBuffer()

    def finish_bundle(self) -> Iterator[Any]:
        yield from self._tally.emit()
        if self._piece.records:
            yield GlobalWindows.windowed_value(self._piece.write(self._work_dir, STAGE))

    def process(self, doc: Document) -> Iterator[Any]:
        if doc.source not in self._plan.sources:
            yield pvalue.TaggedOutput(PASS_THROUGH, doc)
            return
        size = doc.size_bytes
        self._tally.add(("seen", doc.source), size)
        started = time.perf_counter()
        try:
            outputs = list(self._sketch(doc))
        except Exception as exc:  # noqa: BLE001 - one bad document must not fail a run: it becomes an error record
            self._work.add(size, started)
            self._tally.add(("failed", doc.source), size)
            yield pvalue.TaggedOutput(FAILED, failed(doc, STAGE, exc))
            return
        self._work.add(size, started)
        yield from outputs

    def _sketch(self, doc: Document) -> Iterator[Any]:
        normalised = normalise(doc.text)
        if not normalised:
            self._tally.add(("not_compared", doc.source), doc.size_bytes)
            yield pvalue.TaggedOutput(PASS_THROUGH, doc)
            return
        # Everything is computed before anything is yielded: a document that fails half-way
        # must not leave a sketch in the graph (it could become a survivor that is not written).
        node = node_key(self._ranks[doc.source], len(normalised), doc.source, doc.doc_id)
        text_key = exact_key(normalised)
        bands: tuple[tuple[int, bytes], ...] = ()
        if self._hasher is not None:
            cached = self._bands_of.get(text_key)
            if cached is None:
                cached = tuple(band_keys(self._hasher.signature(normalised), self._plan.bands, self._plan.rows))
                if len(self._bands_of) < _BANDS_CACHE:
                    self._bands_of[text_key] = cached
            bands = cached
        # Without exact dedup every document is its own exact group: a unique key per node.
        key = text_key if self._plan.config.exact else node
        found = paragraph_hashes(doc.text, self._plan.config.paragraph_min_chars) if self._plan.config.paragraphs else ()
        yield pvalue.TaggedOutput("sketch", (key, (node, bands)))
        if self._plan.config.near and self._plan.config.verify:
            yield pvalue.TaggedOutput(TEXTS, (node, normalised))
        if found:
            yield pvalue.TaggedOutput(PARAGRAPHS, (node, found))
        record = (node_hash(node), pickle.dumps((node, doc), protocol=pickle.HIGHEST_PROTOCOL))
        if self._piece.add(record, doc.size_bytes):
            yield self._piece.write(self._work_dir, STAGE)


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


class _BandBatchFn(beam.DoFn):
    """(node, band keys) -> ((band, partition), [(band bytes, node), ...]): band entries
    batched per partition within a bundle (flushed every ``_FLUSH_ENTRIES``).

    Shuffling one element per band entry (14 per document) cost more than computing the
    signatures; batches cut the elements Beam handles by the batch size (large on the
    DirectRunner, whose bundles are large; smaller on runners with small bundles). A partition is a
    fixed slice of a band's key space (the band's first value modulo ``partitions``), so
    all members of a bucket meet in one partition, whatever the bundles.
    """

    def __init__(self, partitions: int) -> None:
        self._partitions = partitions

    def start_bundle(self) -> None:
        self._batches: dict[tuple[int, int], list[tuple[bytes, bytes]]] = {}
        self._buffered = 0

    def process(self, item: tuple[bytes, tuple[tuple[int, bytes], ...]]) -> Iterator[Any]:
        node, bands = item
        for band, key in bands:
            part = (band, int.from_bytes(key[:4], "little") % self._partitions)
            self._batches.setdefault(part, []).append((key, node))
        self._buffered += len(bands)
        if self._buffered >= _FLUSH_ENTRIES:
            yield from self._flush()

    def finish_bundle(self) -> Iterator[Any]:
        for element in self._flush():
            yield GlobalWindows.windowed_value(element)

    def _flush(self) -> Iterator[tuple[tuple[int, int], list[tuple[bytes, bytes]]]]:
        batches, self._batches, self._buffered = self._batches, {}, 0
        yield from sorted(batches.items())


def _partition_edges(item: tuple[tuple[int, int], Iterable[list[tuple[bytes, bytes]]]]) -> Iterator[tuple[bytes, bytes]]:
    """Buckets of one partition of one band -> an edge from each bucket's smallest node to
    every other member: linear in the bucket, never all pairs."""
    _, batches = item
    buckets: dict[bytes, list[bytes]] = {}
    for batch in batches:
        for key, node in batch:
            buckets.setdefault(key, []).append(node)
    for nodes in buckets.values():
        if len(nodes) > 1:
            smallest = min(nodes)
            for node in nodes:
                if node != smallest:
                    yield smallest, node


class _VerifyEdges(beam.PTransform):
    """Keep an edge only when the exact Jaccard of its ends' n-gram sets reaches the threshold.

    The near end of an edge (a bucket's smallest node) may have thousands of far ends, so
    it sends its n-gram set to each of them as a separate element (``CoGroupByKey`` holds a
    key's values as one list: the hub's list is of node keys only, never of sets); each far
    end, which has few near ends, compares. The two ends' sets meet in one element.
    """

    def __init__(self, texts: beam.PCollection, config: DedupConfig, work_dir: str) -> None:
        super().__init__()
        self._texts = texts
        """(node, normalised text) of every compared document: smaller than the documents."""
        self._config = config
        self._work_dir = work_dir
        """Where the joins' values wait (``DiskCoGroupByKey``): texts and sets are as large
        as the input, and would otherwise wait in the runner."""

    def expand(self, edges: beam.PCollection) -> beam.PCollection:
        ngram, threshold = self._config.ngram, self._config.threshold

        def candidate_sets(item: tuple[bytes, dict[str, Iterable[Any]]]) -> Iterator[tuple[bytes, bytes]]:
            node, grouped = item
            texts = list(grouped["text"])
            if texts and next(iter(grouped["candidate"]), None) is not None:
                yield node, minhash_set(texts[0], ngram).tobytes()

        def send_near_set(item: tuple[bytes, dict[str, Iterable[Any]]]) -> Iterator[tuple[bytes, tuple[bytes, bytes]]]:
            near, grouped = item
            for own_set in grouped["set"]:
                for far in grouped["far"]:
                    yield far, (near, own_set)

        def compare(item: tuple[bytes, dict[str, Iterable[Any]]]) -> Iterator[Any]:
            import numpy as np

            far, grouped = item
            compared = rejected = 0
            for own_set in grouped["set"]:
                own = np.frombuffer(own_set, dtype=np.uint32)
                for near, near_set in grouped["near"]:
                    compared += 1
                    if jaccard(own, np.frombuffer(near_set, dtype=np.uint32)) >= threshold:
                        yield near, far
                    else:
                        rejected += 1
            if compared:
                yield pvalue.TaggedOutput(EVENTS, ("count", ("candidate_pairs",), compared, 0))
                yield pvalue.TaggedOutput(EVENTS, ("count", ("verify_rejected",), rejected, 0))

        candidates = edges | "Candidates" >> beam.FlatMap(lambda edge: [(edge[0], True), (edge[1], True)])
        sets = (
            {"text": self._texts, "candidate": candidates}
            | "JoinTexts" >> DiskCoGroupByKey(os.path.join(self._work_dir, "texts"))
            | "Sets" >> beam.FlatMap(candidate_sets)
        )
        near_sets = (
            {"set": sets, "far": edges}
            | "JoinNearEnds" >> DiskCoGroupByKey(os.path.join(self._work_dir, "near-ends"))
            | "SendNearSets" >> beam.FlatMap(send_near_set)
        )
        compared = (
            {"set": sets, "near": near_sets}
            | "JoinFarEnds" >> DiskCoGroupByKey(os.path.join(self._work_dir, "far-ends"))
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


def _ranges(total_bytes: int) -> int:
    return spread_count(total_bytes, APPLY_RANGE_BYTES)


def _by_range(item: tuple[bytes, Any], kind: str, ranges: int) -> tuple[int, tuple[str, bytes, Any]]:
    node, value = item
    return (node_hash(node) * ranges) >> 64, (kind, node, value)


class _ApplyFn(beam.DoFn):
    """(stretch of the node-hash range, its decisions and paragraph removals) -> every
    document of that stretch, read from the pieces, with its dedup verdict."""

    def __init__(self, config: DedupConfig) -> None:
        self._config = config

    def start_bundle(self) -> None:
        self._tally = _Tally()

    def finish_bundle(self) -> Iterator[Any]:
        yield from self._tally.emit()

    def process(
        self, item: tuple[int, Iterable[tuple[str, bytes, Any]]], pieces: list[writers.Piece], ranges: int
    ) -> Iterator[Any]:
        index, values = item
        decisions: dict[bytes, list[Decision]] = {}
        drops: dict[bytes, set[int]] = {}
        for kind, node, value in values:
            if kind == "decision":
                decisions.setdefault(node, []).append(value)
            elif kind == "paragraph":
                drops.setdefault(node, set()).add(value)
        low, high = writers.shard_hashes(index, ranges)
        for piece in sorted(pieces):
            for _, record in writers.read_piece(piece, low, high):
                node, doc = pickle.loads(record)  # noqa: S301 - written by this run's sketch step
                yield from self._apply(doc, decisions.get(node, []), sorted(drops.get(node, ())))

    def _apply(self, doc: Document, decisions: list[Decision], drop_lines: list[int]) -> Iterator[Any]:
        enforced = self._config.mode == "enforce"
        if decisions:
            decision = min(decisions, key=lambda d: (d.reason.value, d.survivor))
            judged = doc.with_verdict(Verdict(STAGE, decision.reason, None, decision.detail(), enforced))
            survivor_source = node_parts(decision.survivor)[0]
            self._tally.add(("removed", decision.reason.value, doc.source, survivor_source), doc.size_bytes)
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
            self._tally.add(("removed", Reason.DUPLICATE_PARAGRAPHS.value, doc.source, doc.source), doc.size_bytes)
            yield pvalue.TaggedOutput(REMOVED, judged) if judged.removal is not None else judged
            return
        self._tally.add(("paragraphs", doc.source), count=len(dropped))
        detail = f"{len(dropped)} paragraphs that occur in other documents removed"
        verdict = Verdict(STAGE, Reason.CROSS_DOCUMENT_PARAGRAPHS_REMOVED, float(len(dropped)), detail, enforced)
        yield doc.with_verdict(verdict, remaining if enforced else None)  # annotate mode: the text stays


class Deduplicate(beam.PTransform):
    """``docs | Deduplicate(plan)`` -> ``(kept, removed, report)``; ``kept`` and
    ``removed`` are tuples of PCollections (the documents that left by each way: flatten
    them to have one; kept apart, each can be written where it is produced, with no trip
    through a Flatten, which Beam's FnApiRunner materialises), ``report`` is a one-element
    PCollection holding ``stats/dedup.json``'s content."""

    def __init__(self, plan: DedupPlan, work_dir: str) -> None:
        super().__init__()
        self._plan = plan
        self._work_dir = work_dir
        """Where the compared documents wait for their verdicts (a folder every worker can
        write and read; the caller removes it once the run's outputs are written)."""

    def expand(self, docs: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection, beam.PCollection]:
        plan, config = self._plan, self._plan.config
        work_dir = os.path.abspath(self._work_dir)
        sketched = docs | "Sketch" >> beam.ParDo(_SketchFn(plan, work_dir)).with_outputs(
            "sketch", PARAGRAPHS, PASS_THROUGH, EVENTS, FAILED, TEXTS, main="pieces"
        )
        pieces = sketched.pieces
        exact = (
            {"member": sketched.sketch}
            | "Exact/Group" >> DiskCoGroupByKey(os.path.join(work_dir, "exact"))
            | "Exact/Survivors"
            >> beam.FlatMap(lambda item: _exact_groups((item[0], item[1]["member"]))).with_outputs(
                "survivors", EVENTS, main="decisions"
            )
        )
        decisions = [exact.decisions]
        events = [sketched[EVENTS], exact[EVENTS]]
        rounds: list[beam.PCollection] = []
        if config.near:
            band_batches = exact.survivors | "Near/BandBatches" >> beam.ParDo(_BandBatchFn(config.band_partitions))
            edges = (
                {"batch": band_batches}
                | "Near/Partitions" >> DiskCoGroupByKey(os.path.join(work_dir, "bands"))
                | "Near/Edges" >> beam.FlatMap(lambda item: _partition_edges((item[0], item[1]["batch"])))
                | "Near/DistinctEdges" >> beam.Distinct()
            )
            if config.verify:
                verify = _VerifyEdges(sketched[TEXTS], config, os.path.join(work_dir, "verify"))
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
            decisions = [
                {
                    "loser": exact.decisions | "Exact/BySurvivor" >> beam.Map(lambda item: (item[1].survivor, ("loser", *item))),
                    "label": labels | "Exact/Labels" >> beam.Map(lambda item: (item[0], ("label", item[1]))),
                }
                | "Exact/JoinNear" >> DiskCoGroupByKey(os.path.join(work_dir, "exact-near"))
                | "Exact/FollowNear"
                >> beam.FlatMap(lambda item: _follow_near_survivor((item[0], [*item[1]["loser"], *item[1]["label"]]))),
                near.decisions,
            ]
            events.append(near[EVENTS])
        ranges = (
            pieces
            | "Apply/Sizes" >> beam.Map(lambda piece: piece.doc_bytes)
            | "Apply/Total" >> beam.CombineGlobally(sum)
            | "Apply/Ranges" >> beam.Map(_ranges)
        )
        count = beam.pvalue.AsSingleton(ranges)
        keyed = [
            ranges | "Apply/Every" >> beam.FlatMap(lambda n: [(index, ("range", b"", None)) for index in range(n)]),
            *(
                part | f"Apply/DecisionRanges/{number}" >> beam.Map(_by_range, "decision", count)
                for number, part in enumerate(decisions)
            ),
        ]
        if config.paragraphs:
            all_decisions = decisions | "Decisions" >> beam.Flatten()
            removals = (
                {"paragraphs": sketched[PARAGRAPHS], "decision": all_decisions}
                | "Paragraphs/JoinDecisions" >> beam.CoGroupByKey()
                | "Paragraphs/Owners" >> beam.FlatMap(_paragraph_owners)
                | "Paragraphs/Group" >> beam.GroupByKey()
                | "Paragraphs/Removals" >> beam.FlatMap(_paragraph_removals)
            )
            keyed.append(removals | "Apply/ParagraphRanges" >> beam.Map(_by_range, "paragraph", count))
        applied = (
            {str(number): part for number, part in enumerate(keyed)}
            | "Apply/Group" >> DiskCoGroupByKey(os.path.join(work_dir, "decisions"))
            | "Apply/Values" >> beam.Map(lambda item: (item[0], [value for part in item[1].values() for value in part]))
            | "Apply/Verdicts"
            >> beam.ParDo(_ApplyFn(config), pieces=beam.pvalue.AsList(pieces), ranges=count).with_outputs(
                REMOVED, EVENTS, main=KEPT
            )
        )
        events.append(applied[EVENTS])
        kept = (applied[KEPT], sketched[PASS_THROUGH])
        round_list = (rounds or [pieces.pipeline | "Rounds/None" >> beam.Create([])]) | "Rounds" >> beam.Flatten()
        report = (
            events
            | "Report/Events" >> beam.Flatten()
            | "Report/Combine" >> beam.CombineGlobally(DedupReportFn())
            | "Report/Finish" >> beam.Map(finish_report, plan=plan, rounds=beam.pvalue.AsList(round_list))
        )
        removed = (applied[REMOVED], sketched[FAILED])
        return kept, removed, report


Report = dict[str, Any]


class DedupReportFn(beam.CombineFn):
    """Folds the stage's events into counts; the largest clusters are kept as a bounded
    top list, so the accumulator stays small whatever the corpus."""

    def create_accumulator(self) -> Report:
        return {"sources": {}, "histogram": {}, "top": [], "matrix": {}, "verify": {"candidate_pairs": 0, "rejected": 0}}

    def add_input(self, acc: Report, event: tuple[Any, ...]) -> Report:
        if event[0] == "count":
            _, key, count, size = event
            kind = key[0]
            if kind in ("seen", "not_compared", "failed"):
                entry = _source_entry(acc, key[1])
                entry[f"docs_{kind}"] += count
                entry[f"bytes_{kind}"] += size
            elif kind == "removed":
                _, reason, source, survivor_source = key
                entry = _source_entry(acc, source)
                entry["removed"][reason] = entry["removed"].get(reason, 0) + count
                entry["bytes_removed"] += size
                if reason != Reason.DUPLICATE_PARAGRAPHS.value:
                    row = acc["matrix"].setdefault(source, {})
                    row[survivor_source] = row.get(survivor_source, 0) + count
            elif kind == "paragraphs":
                _source_entry(acc, key[1])["paragraphs_removed"] += count
            elif kind == "candidate_pairs":
                acc["verify"]["candidate_pairs"] += count
            elif kind == "verify_rejected":
                acc["verify"]["rejected"] += count
        elif event[0] == "cluster":
            _, cluster_kind, survivor, size, examples = event
            bucket = _size_bucket(size)
            histogram = acc["histogram"].setdefault(cluster_kind, {})
            histogram[bucket] = histogram.get(bucket, 0) + 1
            acc["top"] = _top([*acc["top"], (size, cluster_kind, survivor, examples)])
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
            "docs_failed": 0,
            "bytes_failed": 0,
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
