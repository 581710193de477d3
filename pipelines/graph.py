"""The Beam graph of a run: read every source, run each source's stages, write, account.

    Read/<source>/Files -> Read/<source>/Spread -> Read/<source>/Parse  (per source)
      -> Read/Merge -> Read/Spread              (from here to the writers documents travel
                                                 in batches, corpus.record.Batch; dedup
                                                 and the shards take them one by one)
      -> Stage/Clean -> ...                     (each source only through its own stages,
                                                 in the pipeline's fixed order)
      -> Write/<Kept|Removed> ...               (kept/<source>, rejected/<stage>, errors)
      -> Shards/...                             (kept documents -> tokens -> the weighted
                                                 mix -> shards/, stats/shards.json; when
                                                 the config has a shards section)
      -> Stats/Accounting -> Stats/Write        (stats/run.json, written last)

This module is the only place where config names meet classes: ``STAGES`` maps a stage
name to its judge and settings. A stage name that the config allows but this version does
not implement yet is refused with a clear message before anything runs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from corpus import stats, writers
from corpus.config import STAGE_ORDER, ConfigError, InputFile, ReadConfig, RunConfig, SourceConfig, find_inputs
from corpus.readers import read_file
from corpus.reasons import Reason
from corpus.record import Batch, Document, Verdict, batch_full, batched
from corpus.work import WorkCounters
from filters.classifier import ClassifierError
from filters.clean import CleanPlan, CleanRules, load_clean_rules
from filters.dedup import Deduplicate, DedupPlan
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
    """Each source's stages, in the pipeline's order."""
    return {source.name: tuple(stage for stage in STAGE_ORDER if stage in source.stages) for source in config.sources}


class ReadFileDoFn(beam.DoFn):
    def __init__(self, source: SourceConfig, read: ReadConfig, progress_seconds: float) -> None:
        self._source = source
        self._read = read
        self._progress_seconds = progress_seconds

    def setup(self) -> None:
        self._meter = ProgressMeter(f"read {self._source.name}", self._progress_seconds)
        self._docs = Metrics.counter("read", f"{self._source.name}.docs")
        self._errors = Metrics.counter("read", f"{self._source.name}.errors")
        self._work = WorkCounters("read")

    def process(self, file: InputFile) -> Iterator[Any]:
        count = [0]
        yield from batched(self._counted(read_file(file, self._source, self._read), count))
        yield pvalue.TaggedOutput(LEDGER, (self._source.name, count[0]))

    def _counted(self, docs: Iterator[Document], count: list[int]) -> Iterator[Document]:
        """``docs``, each counted in ``count[0]`` and the counters, its reading timed."""
        while True:
            started = time.perf_counter()
            doc = next(docs, None)
            if doc is None:
                return
            in_bytes = doc.meta_value("in_bytes")
            size = doc.size_bytes
            self._work.add(in_bytes if isinstance(in_bytes, int) else size, started)
            self._meter.add(size)
            (self._errors if doc.is_error else self._docs).inc()
            count[0] += 1
            yield doc


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


class MarkDuplicateIds(beam.PTransform):
    """A (source, id) read twice: every occurrence after the first (by file, then position)
    becomes a duplicate_id error record. Only (key, place) pairs are shuffled, and the side
    input holds the duplicates alone, so the cost stays small when ids are unique."""

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        duplicates = (
            batches
            | "Places" >> beam.FlatMap(_places)
            | "Group" >> beam.GroupByKey()
            | "LaterCopies" >> beam.FlatMap(_later_copies)
        )
        return batches | "Mark" >> beam.Map(_mark_duplicates, duplicates=beam.pvalue.AsDict(duplicates))


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


class _Accounting(beam.CombineFn):
    def __init__(self, lists: dict[str, tuple[str, ...]]) -> None:
        self._lists = lists

    def create_accumulator(self) -> stats.Accumulator:
        return {}

    def add_input(self, acc: stats.Accumulator, batch: Batch) -> stats.Accumulator:
        for doc in batch.docs:
            acc = stats.add_document(acc, doc, self._lists)
        return acc

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
    return _write_json(report, out_dir, RUN_STATS)


class WriteOutputs(beam.PTransform):
    """Shards every finished document into its folder; returns the files written."""

    def __init__(self, out_dir: str, output_format: str, shard_bytes: int) -> None:
        super().__init__()
        self._out_dir = out_dir
        self._format = output_format
        self._shard_bytes = shard_bytes

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        by_folder = batches | "Folder" >> beam.FlatMap(_by_folder)
        sizes = (
            by_folder
            | "Sizes" >> beam.Map(lambda item: (item[0], sum(doc.size_bytes for doc in item[1].docs)))
            | "SumSizes" >> beam.CombinePerKey(sum)
        )
        shard_bytes, out_dir, output_format = self._shard_bytes, self._out_dir, self._format

        def assign(item: tuple[str, Batch], folder_bytes: dict[str, int]) -> Iterator[tuple[tuple[str, int, int], Batch]]:
            folder, batch = item
            count = writers.shard_count(folder_bytes[folder], shard_bytes)
            shards: dict[int, list[Document]] = {}
            for doc in batch.docs:
                shards.setdefault(writers.shard_of(doc, count), []).append(doc)
            for index, docs in shards.items():
                yield (folder, index, count), Batch(tuple(docs))

        def write(item: tuple[tuple[str, int, int], Any]) -> writers.WrittenFile:
            (folder, index, count), shard_batches = item
            docs = (doc for batch in shard_batches for doc in batch.docs)
            return writers.write_shard(out_dir, folder, index, count, docs, output_format)

        return (
            by_folder
            | "Assign" >> beam.FlatMap(assign, folder_bytes=beam.pvalue.AsDict(sizes))
            | "Group" >> beam.GroupByKey()
            | "WriteShard" >> beam.Map(write)
        )


def _by_folder(batch: Batch) -> Iterator[tuple[str, Batch]]:
    """A batch cut by the folder each document goes to (kept/<source>, rejected/<stage>, errors)."""
    folders: dict[str, list[Document]] = {}
    for doc in batch.docs:
        folders.setdefault(writers.folder_of(doc), []).append(doc)
    for folder, docs in folders.items():
        yield folder, Batch(tuple(docs))


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
    per_source = []
    ledgers = []
    for source in config.sources:
        files = find_inputs(source)
        read = (
            pipeline
            | f"Read/{source.name}/Files" >> beam.Create(files)
            | f"Read/{source.name}/Spread" >> beam.Reshuffle()
            | f"Read/{source.name}/Parse"
            >> beam.ParDo(ReadFileDoFn(source, config.read, progress_seconds)).with_outputs(LEDGER, main="docs")
        )
        per_source.append(read.docs)
        ledgers.append(read[LEDGER])
    ledger = ledgers | "Read/Ledger" >> beam.Flatten()
    # Documents travel in batches (corpus.record.Batch) from the readers to the writers;
    # dedup, which compares documents with each other, and the shards take them one by one.
    batches = per_source | "Read/Merge" >> beam.Flatten() | "Read/Spread" >> beam.Reshuffle()
    batches = batches | "Read/DuplicateIds" >> MarkDuplicateIds()
    split = batches | "Read/Split" >> beam.FlatMap(_split_read).with_outputs(REMOVED, main="ok")

    removed = [split[REMOVED]]
    alive = split.ok
    judges = stage_judges(config)
    for stage in STAGE_ORDER:
        sources = frozenset(name for name, stages in lists.items() if stage in stages)
        if not sources:
            continue
        if stage == "dedup":
            docs = alive | "Stage/Dedup/Unbatch" >> beam.FlatMap(_unbatch)
            kept, stage_removed, report = docs | "Stage/Dedup" >> Deduplicate(DedupPlan.for_run(config))
            alive = kept | "Stage/Dedup/Batch" >> beam.ParDo(Rebatch())
            stage_removed = stage_removed | "Stage/Dedup/BatchRemoved" >> beam.ParDo(Rebatch())
            _ = report | "Stats/WriteDedup" >> beam.Map(_write_json, out_dir=out_dir, relative=DEDUP_STATS)
        else:
            judge_type, settings = judges[stage]
            dofn = StageDoFn(stage, judge_type, settings, sources, progress_seconds)
            alive, stage_removed = alive | f"Stage/{stage.capitalize()}" >> RunStage(dofn)
        removed.append(stage_removed)

    if shards and config.shards is not None:
        add_shards(alive | "Shards/Unbatch" >> beam.FlatMap(_unbatch), config, out_dir)
    finished = [alive, *removed] | "Finish" >> beam.Flatten()
    written = finished | "Write" >> WriteOutputs(out_dir, config.output.format, config.output.shard_bytes)
    accounting = finished | "Stats/Accounting" >> beam.CombineGlobally(_Accounting(lists))
    _ = accounting | "Stats/Write" >> beam.Map(
        _write_run_stats,
        files=beam.pvalue.AsList(written),
        ledger=beam.pvalue.AsList(ledger),
        out_dir=out_dir,
        lists=lists,
    )
