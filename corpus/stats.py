"""The run's accounting: where every document of every source went, and why.

Computed from the finished documents alone (each carries its verdicts), so it cannot drift
from what was written. Per source: ``docs_in``, ``bytes_in``, ``docs_kept``,
``bytes_kept``, ``docs_rejected`` (``"<stage>/<reason>"`` -> count), ``docs_error``
(reason -> count), the funnel through its stages, repairs and annotate-mode verdicts.
The invariant ``docs_in == docs_kept + sum(docs_rejected) + sum(docs_error)`` is checked
for every source; a run that breaks it fails instead of writing a report.

``bytes_in`` is the UTF-8 size of a document's text as read (for an error record, of the
raw bytes that could not be read), ``bytes_kept`` the size of the text as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corpus.reasons import Kind
from corpus.record import Document

Accumulator = dict[str, dict[str, Any]]


def _new_source(stages: tuple[str, ...]) -> dict[str, Any]:
    return {
        "docs_in": 0,
        "bytes_in": 0,
        "docs_kept": 0,
        "bytes_kept": 0,
        "docs_rejected": {},
        "bytes_rejected": 0,
        "docs_error": {},
        "bytes_error": 0,
        "repairs": {},
        "annotated": {},
        "stages": {stage: {"docs_in": 0, "docs_out": 0} for stage in stages},
    }


def _bump(counts: dict[str, int], key: str, by: int = 1) -> None:
    counts[key] = counts.get(key, 0) + by


def add_document(acc: Accumulator, doc: Document, stage_lists: Mapping[str, tuple[str, ...]]) -> Accumulator:
    stages = stage_lists.get(doc.source, ())
    entry = acc.setdefault(doc.source, _new_source(stages))
    in_bytes = doc.meta_value("in_bytes")
    entry["docs_in"] += 1
    entry["bytes_in"] += in_bytes if isinstance(in_bytes, int) else doc.size_bytes
    removal = doc.removal
    if removal is None:
        entry["docs_kept"] += 1
        entry["bytes_kept"] += doc.size_bytes
    elif removal.reason.kind is Kind.ERROR:
        _bump(entry["docs_error"], removal.reason.value)
        entry["bytes_error"] += doc.size_bytes
    else:
        _bump(entry["docs_rejected"], f"{removal.stage}/{removal.reason.value}")
        entry["bytes_rejected"] += doc.size_bytes
    for verdict in doc.verdicts:
        if not verdict.enforced:  # annotate mode: what would have been rejected or repaired
            _bump(entry["annotated"], f"{verdict.stage}/{verdict.reason.value}")
        elif verdict.reason.kind is Kind.REPAIR:
            _bump(entry["repairs"], f"{verdict.stage}/{verdict.reason.value}")
    stopped_at = removal.stage if removal is not None else None
    if stopped_at is None or stopped_at in stages:
        for stage in stages:
            entry["stages"][stage]["docs_in"] += 1
            if stage == stopped_at:
                break
            entry["stages"][stage]["docs_out"] += 1
    return acc


def merge(accumulators: list[Accumulator]) -> Accumulator:
    merged: Accumulator = {}
    for acc in accumulators:
        for source, entry in acc.items():
            if source not in merged:
                merged[source] = _new_source(tuple(entry["stages"]))
            target = merged[source]
            for key, value in entry.items():
                if key == "stages":
                    for stage, counts in value.items():
                        target["stages"][stage]["docs_in"] += counts["docs_in"]
                        target["stages"][stage]["docs_out"] += counts["docs_out"]
                elif isinstance(value, dict):
                    for name, count in value.items():
                        _bump(target[key], name, count)
                else:
                    target[key] += value
    return merged


class AccountingError(Exception):
    """The invariant failed: a document was lost or counted twice (a bug, never data)."""


def finish(
    acc: Accumulator,
    stage_lists: Mapping[str, tuple[str, ...]],
    docs_read: Mapping[str, int] | None = None,
    docs_written: int | None = None,
) -> dict[str, Any]:
    """The ``sources`` part of stats/run.json, every source present, keys sorted.

    Besides the invariant, the counts are checked against two independent ones when
    given: what the readers produced per source (counted as each file was read) and what
    the writers wrote. A stage that dropped a document, or a writer that lost one, makes
    them differ, and the run fails here instead of reporting a corpus it did not write.
    """
    sources: dict[str, Any] = {}
    total_in = 0
    for source, stages in sorted(stage_lists.items()):
        entry = acc.get(source, _new_source(stages))
        accounted = entry["docs_kept"] + sum(entry["docs_rejected"].values()) + sum(entry["docs_error"].values())
        if accounted != entry["docs_in"]:
            raise AccountingError(f"source {source}: docs_in={entry['docs_in']} but {accounted} accounted for")
        if docs_read is not None and docs_read.get(source, 0) != entry["docs_in"]:
            raise AccountingError(
                f"source {source}: readers produced {docs_read.get(source, 0)} documents, {entry['docs_in']} reached the end"
            )
        total_in += entry["docs_in"]
        sources[source] = {
            key: (dict(sorted(value.items())) if isinstance(value, dict) and key != "stages" else value)
            for key, value in entry.items()
        }
    if docs_written is not None and docs_written != total_in:
        raise AccountingError(f"{total_in} documents reached the end but {docs_written} were written")
    return sources
