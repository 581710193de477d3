"""What every stage shares: a pure judge wrapped in a thin Beam DoFn.

A stage's logic is a plain class with ``judge(doc) -> doc`` (tested without Beam). The
``StageDoFn`` builds it once per worker in ``setup()``, runs it on batches of documents
(``corpus.record.Batch``) but only on documents whose source lists the stage, counts with
Beam metrics, prints progress, and sends every removed document (rejected, or an error the
judge raised) to the ``removed`` tagged output, in batches, with its verdict. Nothing
leaves a stage without a verdict.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import Any, Protocol

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics

from corpus.reasons import Reason
from corpus.record import Batch, Document, Verdict, exception_detail
from corpus.work import WorkCounters

REMOVED = "removed"
"""The tag of the output that carries rejected and failed documents."""


def failed(doc: Document, stage: str, exc: Exception) -> Document:
    """The error record of a document a stage raised on: it leaves, the run goes on."""
    return doc.with_verdict(Verdict(stage, Reason.STAGE_EXCEPTION, detail=exception_detail(exc)))


class Judge(Protocol):
    """A stage's pure logic: returns the document with this stage's verdicts added."""

    def judge(self, doc: Document) -> Document: ...


class ProgressMeter:
    """Prints a line on stderr at a steady interval: documents and MB done, and the rate.

    In multi-process runners each worker prints its own lines (pid shown), which is what a
    person watching a long run needs: proof of life and a rate, per stage.
    """

    def __init__(self, label: str, interval_seconds: float) -> None:
        self._label = label
        self._interval = interval_seconds
        self._docs = 0
        self._bytes = 0
        self._started = time.monotonic()
        self._last = self._started

    def add(self, size_bytes: int, docs: int = 1) -> None:
        self._docs += docs
        self._bytes += size_bytes
        now = time.monotonic()
        if self._interval >= 0 and now - self._last >= self._interval:
            self._last = now
            elapsed = max(now - self._started, 1e-9)
            megabytes = self._bytes / 1e6
            print(
                f"[zhcorpus] {self._label}: {self._docs:,} docs, {megabytes:,.1f} MB, "
                f"{megabytes / elapsed:.2f} MB/s (worker {os.getpid()})",
                file=sys.stderr,
                flush=True,
            )


class StageDoFn(beam.DoFn):
    """Runs one stage's judge on the documents of the sources that list the stage."""

    def __init__(self, stage: str, judge_type: type, settings: Any, sources: frozenset[str], progress_seconds: float) -> None:
        self._stage = stage
        self._judge_type = judge_type
        self._settings = settings
        self._sources = sources
        self._progress_seconds = progress_seconds
        self._judge: Judge | None = None
        self._meter: ProgressMeter | None = None

    def setup(self) -> None:
        self._judge = self._judge_type(self._settings)  # heavy objects are built here, once per worker
        self._meter = ProgressMeter(self._stage, self._progress_seconds)
        self._seen = Metrics.counter(self._stage, "docs_in")
        self._kept = Metrics.counter(self._stage, "docs_kept")
        self._removed = Metrics.counter(self._stage, "docs_removed")
        self._failed = Metrics.counter(self._stage, "docs_failed")
        self._work = WorkCounters(self._stage)

    def process(self, batch: Batch) -> Iterator[Any]:
        assert self._judge is not None and self._meter is not None
        kept: list[Document] = []
        removed: list[Document] = []
        seen = failures = size = 0
        started = time.perf_counter()
        for doc in batch.docs:
            if doc.source not in self._sources:
                kept.append(doc)
                continue
            seen += 1
            size += doc.size_bytes
            try:
                judged = self._judge.judge(doc)
            except Exception as exc:  # noqa: BLE001 - one bad document must not fail a run: it becomes an error record
                failures += 1
                removed.append(failed(doc, self._stage, exc))
                continue
            (kept if judged.removal is None else removed).append(judged)
        if not seen:
            yield batch  # no document of this stage's sources
            return
        self._work.add(size, started, seen)
        self._meter.add(size, seen)
        self._seen.inc(seen)
        self._failed.inc(failures)
        self._removed.inc(len(removed) - failures)
        self._kept.inc(seen - len(removed))
        if kept:
            yield Batch(tuple(kept))
        if removed:
            yield pvalue.TaggedOutput(REMOVED, Batch(tuple(removed)))


class RunStage(beam.PTransform):
    """``batches | RunStage(...)`` -> ``(kept, removed)`` batches, labelled by the caller."""

    def __init__(self, dofn: StageDoFn) -> None:
        super().__init__()
        self._dofn = dofn

    def expand(self, docs: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        outputs = docs | "Judge" >> beam.ParDo(self._dofn).with_outputs(REMOVED, main="kept")
        return outputs.kept, outputs[REMOVED]
