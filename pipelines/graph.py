"""The Beam graph of a run: read every source, run each source's stages, write, account.

    Read/Files -> Read/Parts -> Read/SpreadFiles -> Read/Parse (every source's files
                                                 in one step; a large JSONL or lines file
                                                 in parts, read on different workers)
      -> Read/DuplicateIds/Spread               (from here to the writers documents travel
                                                 in batches, corpus.record.Batch; dedup
                                                 and the shards take them one by one; the
                                                 batches wait on disk, in pieces, and
                                                 only the pieces are spread)
      -> Stage/Clean -> ...                     (each source only through its own stages,
                                                 in the pipeline's fixed order)
      -> Write/Pieces/<n>                       (where each collection of finished documents
                                                 is produced: sorted runs on disk, and the
                                                 accounting per bundle)
      -> Write/Group -> Write/MergeShard        (kept/<source>, rejected/<stage>, errors:
                                                 each file merged from its folder's pieces)
      -> Shards/...                             (kept documents -> tokens -> the weighted
                                                 mix -> shards/, stats/shards.json; when
                                                 the config has a shards section)
      -> Write/Accounting -> Stats/Write        (stats/run.json, written last)

This module is the only place where config names meet classes: ``STAGES`` maps a stage
name to its judge and settings. A stage name that the config allows but this version does
not implement yet is refused with a clear message before anything runs.
"""

from __future__ import annotations

import json
import os
import pickle
import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from corpus import stats, writers
from corpus.config import ALWAYS, STAGE_ORDER, ConfigError, InputFile, ReadConfig, RunConfig, SourceConfig, find_inputs
from corpus.readers import read_file, split_file
from corpus.reasons import Reason
from corpus.record import Batch, Document, Verdict, batch_full, batched
from corpus.spill import DiskCoGroupByKey, SpillFn
from corpus.work import WorkCounters
from filters.classifier import ClassifierError
from filters.clean import CleanPlan, CleanRules, load_clean_rules
from filters.dedup import Deduplicate, DedupPlan
from filters.repair import RepairPlan, Repairs
from filters.sensitive import SensitiveRules
from filters.spam import ModelJudge, ModelStagePlan, check_model
from filters.stage import REMOVED, ProgressMeter, RunStage, StageDoFn
from sampling.shards import SHARD_STATS, BuildShards, ShardPlan
from sampling.tokenizer import TokenizerError, load_model

RUN_STATS = "stats/run.json"
DEDUP_STATS = "stats/dedup.json"
TIMING = "stats/timing.json"
"""Written by ``zhcorpus run`` after the pipeline: wall time, runner, throughput, versions."""
RESOLVED_CONFIG = "config.resolved.yaml"
LEDGER = "ledger"
"""Tag of the readers' per-file counts, which the accounting checks the end against."""


def stage_judges(config: RunConfig) -> dict[str, tuple[type, Any]]:
    """Stage name -> (judge class, its settings) for the stages that judge one document at
    a time. Grows as stages land; dedup, which compares documents, is its own transform."""
    judges: dict[str, tuple[type, Any]] = {
        "repair": (Repairs, RepairPlan.for_sources(config.stages.repair, config.sources)),
        "clean": (CleanRules, CleanPlan.for_sources(config.stages.clean, config.sources)),
        "sensitive": (SensitiveRules, config.stages.sensitive),
    }
    for stage, settings in (("spam", config.stages.spam), ("quality", config.stages.quality)):
        if settings is not None:
            judges[stage] = (ModelJudge, ModelStagePlan(stage, settings))
    return judges


def check_stages_available(config: RunConfig, shards: bool = True) -> None:
    """Everything a run needs that the config only names: stages, rule files, the
    tokenizer model (unless the run leaves the shards out)."""
    load_clean_rules(config.stages.clean)  # a broken rule file is a config error, found now
    if any("sensitive" in source.stages for source in config.sources):
        SensitiveRules(config.stages.sensitive)  # files, and terms that fold to nothing: found now
    for stage, settings in (("spam", config.stages.spam), ("quality", config.stages.quality)):
        users = [source.name for source in config.sources if stage in source.stages]
        if users and settings is None:
            raise ConfigError(
                f"sources {', '.join(users)} list the {stage} stage but stages.{stage}.model is not set "
                f"(train a model with `zhcorpus classifier train --label {stage}`)"
            )
        if users and settings is not None:
            try:
                check_model(ModelStagePlan(stage, settings))  # missing, corrupt or the wrong kind: found now
            except ClassifierError as exc:
                raise ConfigError(f"stages.{stage}.model: {exc}") from None
    if shards and config.shards is not None:
        try:
            load_model(config.shards.tokenizer)
        except TokenizerError as exc:
            raise ConfigError(
                f"shards.tokenizer: {exc} (train one with `zhcorpus tokenizer train`, or run with --no-shards)"
            ) from None
    available = [*stage_judges(config), "dedup"]
    for source in config.sources:
        missing = [stage for stage in source.stages if stage not in available]
        if missing:
            raise ConfigError(
                f"sources ({source.name}).stages: {', '.join(missing)} not implemented in this version of zhcorpus "
                f"(available: {', '.join(available)})"
            )


def stage_lists(config: RunConfig) -> dict[str, tuple[str, ...]]:
    """Each source's stages, in the pipeline's order (the repair stage for every source)."""
    return {
        source.name: tuple(stage for stage in STAGE_ORDER if stage in source.stages or stage in ALWAYS)
        for source in config.sources
    }


class ReadFileDoFn(beam.DoFn):
    """(source name, file) -> the file's documents in batches, and (source, count) on the
    ``LEDGER`` output. One reader for every source, so that all the files of a run are
    read in one step, spread over the workers together."""

    def __init__(self, sources: tuple[SourceConfig, ...], read: ReadConfig, progress_seconds: float) -> None:
        self._sources = {source.name: source for source in sources}
        self._read = read
        self._progress_seconds = progress_seconds

    def setup(self) -> None:
        self._meters = {name: ProgressMeter(f"read {name}", self._progress_seconds) for name in self._sources}
        self._docs = {name: Metrics.counter("read", f"{name}.docs") for name in self._sources}
        self._errors = {name: Metrics.counter("read", f"{name}.errors") for name in self._sources}
        self._work = WorkCounters("read")

    def process(self, item: tuple[str, InputFile]) -> Iterator[Any]:
        name, file = item
        count = [0]
        yield from batched(self._counted(name, read_file(file, self._sources[name], self._read), count))
        yield pvalue.TaggedOutput(LEDGER, (name, count[0]))

    def _counted(self, name: str, docs: Iterator[Document], count: list[int]) -> Iterator[Document]:
        """``docs``, each counted in ``count[0]`` and the counters, its reading timed."""
        meter, docs_counter, errors_counter = self._meters[name], self._docs[name], self._errors[name]
        while True:
            started = time.perf_counter()
            doc = next(docs, None)
            if doc is None:
                return
            in_bytes = doc.meta_value("in_bytes")
            size = doc.size_bytes
            self._work.add(in_bytes if isinstance(in_bytes, int) else size, started)
            meter.add(size)
            (errors_counter if doc.is_error else docs_counter).inc()
            count[0] += 1
            yield doc


def _file_parts(item: tuple[str, InputFile], sources: dict[str, SourceConfig], read: ReadConfig) -> list[tuple[str, InputFile]]:
    """(source name, file) -> (source name, part) for each part a worker can read apart."""
    name, file = item
    return [(name, part) for part in split_file(file, sources[name], read)]


_POSITION_KEYS = ("line", "row", "item", "offset", "byte")


def _where(doc: Document) -> tuple[str, int]:
    """(file, position) of a document as read: its place in the input, for ordering."""
    position = next((doc.meta_value(key) for key in _POSITION_KEYS if doc.meta_value(key) is not None), 0)
    return str(doc.meta_value("path", "")), int(position) if isinstance(position, int) else 0


def _later_copies(item: tuple[tuple[str, str], Any]) -> Iterator[tuple[tuple[str, str, str, int], str]]:
    (source, doc_id), places = item
    ordered = sorted(set(places))
    first_path, first_position = ordered[0]
    for path, position in ordered[1:]:
        yield (source, doc_id, path, position), f"id {doc_id!r} already read at {first_path}:{first_position}"


def _mark_duplicate(doc: Document, duplicates: dict[tuple[str, str, str, int], str]) -> Document:
    if doc.removal is not None:
        return doc
    detail = duplicates.get((doc.source, doc.doc_id, *_where(doc)))
    return doc if detail is None else doc.with_verdict(Verdict("read", Reason.DUPLICATE_ID, detail=detail))


def _mark_duplicates(batch: Batch, duplicates: dict[tuple[str, str, str, int], str]) -> Batch:
    if not duplicates:
        return batch
    return Batch(tuple(_mark_duplicate(doc, duplicates) for doc in batch.docs))


def _places(batch: Batch) -> list[tuple[tuple[str, str], tuple[str, int]]]:
    return [((doc.source, doc.doc_id), _where(doc)) for doc in batch.docs if doc.removal is None]


SPILL_PIECE_BYTES = 8 * 1024 * 1024
"""The read step's pieces: small, so that a few large files still spread evenly."""


def _unspill(piece: writers.Piece, duplicates: dict[tuple[str, str, str, int], str]) -> Iterator[Batch]:
    for _, data in writers.read_piece(piece):
        _, batch = pickle.loads(data)  # noqa: S301 - written by this run's read step
        yield _mark_duplicates(batch, duplicates)


class SpreadAndMarkDuplicateIds(beam.PTransform):
    """Spreads the read batches over the workers, and marks a (source, id) read twice:
    every occurrence after the first (by file, then position) becomes a duplicate_id error
    record. Only (key, place) pairs are grouped (on disk, ``DiskCoGroupByKey``), and the
    side input holds the duplicates alone, so the cost stays small when ids are unique.

    The batches wait for the side input on disk, not in the runner: the read step pickles
    them into pieces under ``work_dir`` (8 MB each) and only the pieces' descriptions are
    spread; each worker reads its pieces back and marks. A runner that keeps its shuffles
    in memory (the DirectRunner) would otherwise hold the whole input at this point."""

    def __init__(self, work_dir: str) -> None:
        super().__init__()
        self._work_dir = work_dir

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        places = batches | "Places" >> beam.FlatMap(_places)
        duplicates = (
            {"place": places}
            | "Group" >> DiskCoGroupByKey(os.path.join(self._work_dir, "places"))
            | "LaterCopies" >> beam.FlatMap(lambda item: _later_copies((item[0], item[1]["place"])))
        )
        return (
            batches
            | "Keyed" >> beam.Map(lambda batch: (0, batch))
            | "Spill" >> beam.ParDo(SpillFn(os.path.join(self._work_dir, "batches"), "read", SPILL_PIECE_BYTES))
            | "Spread" >> beam.Reshuffle()
            | "Mark" >> beam.FlatMap(_unspill, duplicates=beam.pvalue.AsDict(duplicates))
        )


def _split_read(batch: Batch) -> Iterator[Any]:
    """Documents that arrived as error records leave now; the rest go to the stages."""
    ok: list[Document] = []
    failed: list[Document] = []
    for doc in batch.docs:
        (ok if doc.removal is None else failed).append(doc)
    if not failed:
        yield batch
        return
    if ok:
        yield Batch(tuple(ok))
    yield pvalue.TaggedOutput(REMOVED, Batch(tuple(failed)))


def _one(parts: tuple[beam.PCollection, ...], label: str) -> beam.PCollection:
    """The parts as one collection (a Flatten only when there are several)."""
    return parts[0] if len(parts) == 1 else parts | label >> beam.Flatten()


def _unbatch(batch: Batch) -> tuple[Document, ...]:
    return batch.docs


class Rebatch(beam.DoFn):
    """Documents -> batches of the documents of one bundle (see ``Batch``)."""

    def start_bundle(self) -> None:
        self._docs: list[Document] = []
        self._chars = 0

    def process(self, doc: Document) -> Iterator[Batch]:
        self._docs.append(doc)
        self._chars += len(doc.text)
        if batch_full(len(self._docs), self._chars):
            yield Batch(tuple(self._docs))
            self._docs, self._chars = [], 0

    def finish_bundle(self) -> Iterator[Any]:
        if self._docs:
            yield GlobalWindows.windowed_value(Batch(tuple(self._docs)))
            self._docs, self._chars = [], 0


class _MergeAccounting(beam.CombineFn):
    """The accounting of a whole run from the writers' per-bundle accounting."""

    def create_accumulator(self) -> stats.Accumulator:
        return {}

    def add_input(self, acc: stats.Accumulator, other: stats.Accumulator) -> stats.Accumulator:
        return stats.merge([acc, other])

    def merge_accumulators(self, accumulators: Any) -> stats.Accumulator:
        return stats.merge(list(accumulators))

    def extract_output(self, acc: stats.Accumulator) -> stats.Accumulator:
        return acc


def _write_json(report: dict[str, Any], out_dir: str, relative: str) -> str:
    data = (json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    writers.write_atomic(os.path.join(out_dir, relative), data)
    return relative


def _write_run_stats(
    acc: stats.Accumulator,
    files: list[writers.WrittenFile],
    ledger: list[tuple[str, int]],
    out_dir: str,
    lists: dict[str, tuple[str, ...]],
) -> str:
    docs_read: dict[str, int] = {}
    for source, count in ledger:
        docs_read[source] = docs_read.get(source, 0) + count
    report = {
        "sources": stats.finish(acc, lists, docs_read=docs_read, docs_written=sum(file.docs for file in files)),
        "outputs": [file.to_dict() for file in sorted(files)],
    }
    writers.remove_pieces(out_dir)  # every shard is merged: the side input waits for all of them
    return _write_json(report, out_dir, RUN_STATS)


ACCOUNTING = "accounting"
"""Tag of the writers' per-bundle accounting (``stats.Accumulator``)."""


class WritePieces(beam.DoFn):
    """Finished batches -> pieces (``writers.Piece``) of their documents, written where the
    documents finish, so that no document goes through the runner to be written; and, on
    the ``ACCOUNTING`` output, once per bundle, the accounting of the documents."""

    def __init__(self, out_dir: str, lists: dict[str, tuple[str, ...]]) -> None:
        self._pieces_dir = os.path.join(out_dir, writers.PIECES)
        self._lists = lists

    def start_bundle(self) -> None:
        self._buffers: dict[str, writers.PieceBuffer] = {}
        self._acc: stats.Accumulator = {}

    def process(self, batch: Batch) -> Iterator[writers.Piece]:
        for doc in batch.docs:
            self._acc = stats.add_document(self._acc, doc, self._lists)
            folder = writers.folder_of(doc)
            if self._buffers.setdefault(folder, writers.PieceBuffer()).add(writers.record_of(doc), doc.size_bytes):
                yield self._buffers.pop(folder).write(self._pieces_dir, folder)

    def finish_bundle(self) -> Iterator[Any]:
        for folder in sorted(self._buffers):
            yield GlobalWindows.windowed_value(self._buffers[folder].write(self._pieces_dir, folder))
        self._buffers = {}
        if self._acc:
            yield pvalue.TaggedOutput(ACCOUNTING, GlobalWindows.windowed_value(self._acc))
            self._acc = {}


def _plan_shards(item: tuple[str, Any], shard_bytes: int) -> Iterator[tuple[tuple[str, int, int], list[writers.Piece]]]:
    """A folder's pieces -> one (folder, index, count) per shard file, with every piece."""
    folder, pieces = item
    pieces = sorted(pieces)
    count = writers.shard_count(sum(piece.doc_bytes for piece in pieces), shard_bytes)
    for index in range(count):
        yield (folder, index, count), pieces


class WriteOutputs(beam.PTransform):
    """Finished batches (one collection, or a tuple of them) -> the files of kept/<source>,
    rejected/<stage> and errors; returns (the files written, the run's accounting).

    Each collection gets its own piece writer, fused into the step that produces it, so
    the documents are encoded and written to pieces where they are; only the pieces'
    descriptions are grouped, by folder, and each shard is merged from them."""

    def __init__(self, out_dir: str, output_format: str, shard_bytes: int, lists: dict[str, tuple[str, ...]]) -> None:
        super().__init__()
        self._out_dir = out_dir
        self._format = output_format
        self._shard_bytes = shard_bytes
        self._lists = lists

    def expand(self, finished: Any) -> tuple[beam.PCollection, beam.PCollection]:
        collections = [finished] if isinstance(finished, beam.PCollection) else list(finished)
        pieces, accounts = [], []
        for number, batches in enumerate(collections):
            written = batches | f"Pieces/{number}" >> beam.ParDo(WritePieces(self._out_dir, self._lists)).with_outputs(
                ACCOUNTING, main="pieces"
            )
            pieces.append(written.pieces)
            accounts.append(written[ACCOUNTING])
        out_dir, output_format = self._out_dir, self._format
        files = (
            pieces
            | "AllPieces" >> beam.Flatten()
            | "ByFolder" >> beam.Map(lambda piece: (piece.folder, piece))
            | "Group" >> beam.GroupByKey()
            | "PlanShards" >> beam.FlatMap(_plan_shards, shard_bytes=self._shard_bytes)
            | "SpreadShards" >> beam.Reshuffle()
            | "MergeShard" >> beam.MapTuple(lambda shard, pieces: writers.merge_shard(out_dir, *shard, pieces, output_format))
        )
        accounting = accounts | "AllAccounting" >> beam.Flatten() | "Accounting" >> beam.CombineGlobally(_MergeAccounting())
        return files, accounting


def add_shards(docs: beam.PCollection, config: RunConfig, out_dir: str) -> None:
    """Kept documents -> shards/ and stats/shards.json under ``out_dir``."""
    report = docs | "Shards" >> BuildShards(ShardPlan.for_run(config), out_dir)
    _ = report | "Stats/WriteShards" >> beam.Map(_write_json, out_dir=out_dir, relative=SHARD_STATS)


def build_shards_pipeline(pipeline: beam.Pipeline, config: RunConfig, run_dir: str, out_dir: str) -> None:
    """Shards from the kept documents of a finished run in ``run_dir``."""
    files = [path for source in config.sources for path in writers.written_files(run_dir, f"{writers.KEPT}/{source.name}")]
    docs = (
        pipeline
        | "Kept/Files" >> beam.Create(files)
        | "Kept/Spread" >> beam.Reshuffle()
        | "Kept/Read" >> beam.FlatMap(writers.read_written_file)
        | "Kept/SpreadDocs" >> beam.Reshuffle()
    )
    add_shards(docs, config, out_dir)


def build_pipeline(
    pipeline: beam.Pipeline, config: RunConfig, out_dir: str, progress_seconds: float = 30.0, shards: bool = True
) -> None:
    """Add the whole run to ``pipeline``; outputs go under ``out_dir``."""
    check_stages_available(config, shards)
    lists = stage_lists(config)
    files = [(source.name, file) for source in config.sources for file in find_inputs(source)]
    read = (
        pipeline
        | "Read/Files" >> beam.Create(files)
        | "Read/Parts" >> beam.FlatMap(_file_parts, {source.name: source for source in config.sources}, config.read)
        | "Read/SpreadFiles" >> beam.Reshuffle()
        | "Read/Parse"
        >> beam.ParDo(ReadFileDoFn(config.sources, config.read, progress_seconds)).with_outputs(LEDGER, main="docs")
    )
    ledger = read[LEDGER]
    # Documents travel in batches (corpus.record.Batch) from the readers to the writers;
    # dedup, which compares documents with each other, and the shards take them one by one.
    batches = read.docs | "Read/DuplicateIds" >> SpreadAndMarkDuplicateIds(os.path.join(out_dir, writers.PIECES, "read"))
    split = batches | "Read/Split" >> beam.FlatMap(_split_read).with_outputs(REMOVED, main="ok")

    removed = [split[REMOVED]]
    # The surviving batches; after dedup, one collection per way out of it (each is written
    # where it is produced: a Flatten would take every document through the runner).
    alive: tuple[beam.PCollection, ...] = (split.ok,)
    judges = stage_judges(config)
    for stage in STAGE_ORDER:
        sources = frozenset(name for name, stages in lists.items() if stage in stages)
        if not sources:
            continue
        if stage == "dedup":
            docs = _one(alive, "Stage/Dedup/Merge") | "Stage/Dedup/Unbatch" >> beam.FlatMap(_unbatch)
            kept, stage_removed, report = docs | "Stage/Dedup" >> Deduplicate(
                DedupPlan.for_run(config), os.path.join(out_dir, writers.PIECES, "dedup")
            )
            alive = tuple(part | f"Stage/Dedup/Batch/{number}" >> beam.ParDo(Rebatch()) for number, part in enumerate(kept))
            removed += [
                part | f"Stage/Dedup/BatchRemoved/{number}" >> beam.ParDo(Rebatch()) for number, part in enumerate(stage_removed)
            ]
            _ = report | "Stats/WriteDedup" >> beam.Map(_write_json, out_dir=out_dir, relative=DEDUP_STATS)
        else:
            judge_type, settings = judges[stage]
            dofn = StageDoFn(stage, judge_type, settings, sources, progress_seconds)
            passed, stage_removed = _one(alive, f"Stage/{stage.capitalize()}/Merge") | f"Stage/{stage.capitalize()}" >> RunStage(
                dofn
            )
            alive = (passed,)
            removed.append(stage_removed)

    if shards and config.shards is not None:
        add_shards(_one(alive, "Shards/Merge") | "Shards/Unbatch" >> beam.FlatMap(_unbatch), config, out_dir)
    written, accounting = (*alive, *removed) | "Write" >> WriteOutputs(
        out_dir, config.output.format, config.output.shard_bytes, lists
    )
    _ = accounting | "Stats/Write" >> beam.Map(
        _write_run_stats,
        files=beam.pvalue.AsList(written),
        ledger=beam.pvalue.AsList(ledger),
        out_dir=out_dir,
        lists=lists,
    )
