"""The Beam pieces on their own: a stage's tagged outputs, reading, writing."""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to

from corpus import stats, writers
from corpus.config import CleanConfig, InputFile, ReadConfig
from corpus.reasons import Reason
from corpus.record import BATCH_DOCS, Batch, Document, Verdict, batched
from corpus.writers import read_written
from filters.clean import CleanPlan, CleanRules
from filters.stage import REMOVED, RunStage, StageDoFn
from pipelines.graph import ReadFileDoFn, WriteOutputs
from tests.conftest import read_all, source


class _Explodes:
    def __init__(self, settings: object) -> None:
        self.settings = settings

    def judge(self, doc: Document) -> Document:
        if "boom" in doc.text:
            raise ValueError("cannot judge this")
        return doc


LONG = "".join(chr(0x4E00 + i) for i in range(200))  # 200 distinct ideographs: passes every rule
SHORT = LONG[:10]


def _ids_and_reasons(doc: Document) -> tuple[str, str | None]:
    return doc.doc_id, doc.removal.reason.value if doc.removal else None


def _batches(docs: list[Document], size: int = 2) -> list[Batch]:
    """Small batches, so that a batch mixes kept and removed documents and sources."""
    return list(batched(docs, max_docs=size))


def _docs(batch: Batch) -> tuple[Document, ...]:
    assert isinstance(batch, Batch) and batch.docs, "stages pass on non-empty batches"
    return batch.docs


def test_stage_sends_rejections_to_the_tagged_output_and_skips_other_sources() -> None:
    docs = [
        Document("long", "web", LONG),
        Document("short", "web", SHORT),
        Document("latin", "web", "x" * 300),
        Document("other-source", "news", "短"),
    ]
    with BeamPipeline() as pipeline:
        kept, removed = (
            pipeline
            | beam.Create(_batches(docs))
            | "Stage/Clean" >> RunStage(StageDoFn("clean", CleanRules, CleanPlan(CleanConfig()), frozenset({"web"}), -1))
        )
        kept, removed = kept | "KeptDocs" >> beam.FlatMap(_docs), removed | "RemovedDocs" >> beam.FlatMap(_docs)
        assert_that(
            kept | "KeptIds" >> beam.Map(_ids_and_reasons), equal_to([("long", None), ("other-source", None)]), label="kept"
        )
        assert_that(
            removed | "RemovedIds" >> beam.Map(_ids_and_reasons),
            equal_to([("short", "title_only"), ("latin", "too_few_chinese")]),
            label="removed",
        )


def test_stage_annotate_mode_keeps_everything() -> None:
    docs = [Document("short", "web", SHORT), Document("long", "web", LONG)]
    with BeamPipeline() as pipeline:
        kept, removed = (
            pipeline
            | beam.Create(_batches(docs))
            | RunStage(StageDoFn("clean", CleanRules, CleanPlan(CleanConfig(mode="annotate")), frozenset({"web"}), -1))
        )
        annotated = (
            kept | beam.FlatMap(_docs) | beam.Map(lambda d: (d.doc_id, [(v.reason.value, v.enforced) for v in d.verdicts]))
        )
        assert_that(annotated, equal_to([("short", [("title_only", False), ("too_short", False)]), ("long", [])]), label="kept")
        assert_that(removed, equal_to([]), label="removed")


def test_a_judge_that_raises_makes_an_error_record_not_a_failed_run() -> None:
    docs = [Document("fine", "web", "好"), Document("bad", "web", "boom")]
    with BeamPipeline() as pipeline:
        stage = RunStage(StageDoFn("clean", _Explodes, None, frozenset({"web"}), -1))
        kept, removed = pipeline | beam.Create(_batches(docs)) | stage
        kept, removed = kept | "KeptDocs" >> beam.FlatMap(_docs), removed | "RemovedDocs" >> beam.FlatMap(_docs)
        assert_that(kept | "K" >> beam.Map(_ids_and_reasons), equal_to([("fine", None)]), label="kept")
        details = removed | "R" >> beam.Map(lambda d: (d.doc_id, d.removal.reason.value, d.removal.detail))
        assert_that(details, equal_to([("bad", "stage_exception", "ValueError: cannot judge this")]), label="removed")


def test_read_dofn_reads_real_files(sample_dir: Path) -> None:
    path = sample_dir / "ebooks" / "fortunes-zh.jsonl.gz"
    with BeamPipeline() as pipeline:
        batches = (
            pipeline
            | beam.Create([("ebooks", InputFile(str(path), "fortunes-zh.jsonl.gz"))])
            | beam.ParDo(ReadFileDoFn((source("jsonl", name="ebooks"), source("jsonl", name="news")), ReadConfig(), -1))
        )
        expected = [doc.doc_id for doc in read_all(path, "jsonl")]
        assert len(expected) == 5671  # quotes, Tang and Song poems
        assert_that(batches | beam.FlatMap(_docs) | beam.Map(lambda d: d.doc_id), equal_to(expected))
        sizes = batches | "Sizes" >> beam.Map(len)
        assert_that(sizes, equal_to([BATCH_DOCS] * (5671 // BATCH_DOCS) + [5671 % BATCH_DOCS]), label="batches in file order")


def test_write_outputs_shards_by_size_orders_and_accounts(tmp_path: Path) -> None:
    docs = [Document(f"d{i:03d}", "news", "新闻" * 50) for i in range(40)]
    docs.append(
        Document("bad", "news", "x").with_verdict(
            CleanRules(CleanPlan(CleanConfig())).judge(Document("bad", "news", "x")).removal
        )
    )
    lists = {"news": ("clean",)}
    with BeamPipeline() as pipeline:
        first = pipeline | "First" >> beam.Create(_batches(docs[:25], 7))
        second = pipeline | "Second" >> beam.Create(_batches(docs[25:], 3))
        written, accounting = (first, second) | WriteOutputs(str(tmp_path), "jsonl", shard_bytes=1000, lists=lists)
        assert_that(
            written | beam.Map(lambda f: f.path.split("/part")[0]) | beam.Distinct(), equal_to(["kept/news", "rejected/clean"])
        )
        funnel = accounting | beam.Map(lambda acc: stats.finish(acc, lists)["news"]["docs_kept"])
        assert_that(funnel, equal_to([40]), label="accounting")
    files = sorted((tmp_path / "kept" / "news").iterdir())
    assert len(files) == 12  # 40 x 300 bytes / 1000 per shard
    kept = read_written(str(tmp_path), "kept/news")
    assert sorted(d.doc_id for d in kept) == [f"d{i:03d}" for i in range(40)]
    for index, file in enumerate(files):
        in_file = [Document.from_dict(json.loads(line)) for line in file.read_text().splitlines()]
        hashes = [writers.doc_hash(d) for d in in_file]
        assert hashes == sorted(hashes)  # ordered by hash
        assert all(writers.shard_of(d, 12) == index for d in in_file)


def test_read_errors_leave_their_batch_and_rebatching_keeps_every_document() -> None:
    from pipelines.graph import Rebatch, _split_read

    docs = [Document(f"d{i}", "web", LONG) for i in range(5)]
    docs[2] = docs[2].with_verdict(Verdict("read", Reason.MALFORMED_JSON, detail="x"))
    with BeamPipeline() as pipeline:
        split = pipeline | beam.Create(_batches(docs, 3)) | beam.FlatMap(_split_read).with_outputs(REMOVED, main="ok")
        ok_ids = split.ok | "OkDocs" >> beam.FlatMap(_docs) | "OkIds" >> beam.Map(lambda d: d.doc_id)
        assert_that(ok_ids, equal_to(["d0", "d1", "d3", "d4"]), label="ok")
        failed = split[REMOVED] | "FailedDocs" >> beam.FlatMap(_docs) | "FailedIds" >> beam.Map(lambda d: d.doc_id)
        assert_that(failed, equal_to(["d2"]), label="failed")
        rebatched = pipeline | "Docs" >> beam.Create(docs * 300) | beam.ParDo(Rebatch()) | "Again" >> beam.FlatMap(_docs)
        assert_that(
            rebatched | "Ids" >> beam.Map(lambda d: d.doc_id), equal_to([d.doc_id for d in docs * 300]), label="rebatched"
        )
