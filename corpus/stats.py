"""The run's accounting: where every document of every source went, and why.

Computed from the finished documents alone (each carries its verdicts), so it cannot drift
from what was written. Per source: ``docs_in``, ``bytes_in``, ``docs_kept``,
``bytes_kept``, ``docs_rejected`` (``"<stage>/<reason>"`` -> count) and their bytes,
``docs_error`` (reason -> count) and their bytes, the funnel through its stages (documents
in and out, and the bytes that went on), repairs (documents, and the amount repaired:
characters, lines or items, the repair verdicts' scores; a conversion's score is the
traditional share, so it has no amount), annotate-mode verdicts, histograms of document length,
Chinese share and model scores (kept and removed apart), the sensitive terms found per
category, and a few examples of every rejection and error (chosen by a seeded hash of the
id, so the same ones on every runner). The invariant
``docs_in == docs_kept + sum(docs_rejected) + sum(docs_error)`` is checked for every
source; a run that breaks it fails instead of writing a report.

``bytes_in`` is the UTF-8 size of a document's text as read (for an error record, of the
raw bytes that could not be read); every other size is of the text as written, after all
repairs (so a stage's ``bytes_out`` is what the documents that passed it weigh in the
outputs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corpus.ids import stable_hash
from corpus.reasons import Kind, Reason
from corpus.record import Document
from filters.sensitive import STAGE as SENSITIVE_STAGE
from filters.sensitive import verdict_terms

Accumulator = dict[str, dict[str, Any]]

EXAMPLES = 3
"""Examples kept per source and rejection (or error) reason."""
EXAMPLE_CHARS = 300
"""An example's text (and its verdict's detail) is cut to this many characters."""

HISTOGRAMS: dict[str, tuple[float, ...]] = {
    # name -> the bins' lower edges (the last bin is open above)
    "chars": (0, 50, 100, 150, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000),
    "chinese_share": tuple(i / 10 for i in range(10)),
    "spam": tuple(i / 20 for i in range(20)),
    "quality": tuple(i / 20 for i in range(20)),
}
"""``chars``: characters of the text as written; ``chinese_share``: the clean stage's
measure (documents it saw); ``spam`` / ``quality``: the stage's model score (documents it
scored)."""
_SCORED_STAGES = ("spam", "quality")


def _new_source(stages: tuple[str, ...]) -> dict[str, Any]:
    return {
        "docs_in": 0,
        "bytes_in": 0,
        "docs_kept": 0,
        "bytes_kept": 0,
        "docs_rejected": {},
        "bytes_rejected": 0,
        "bytes_rejected_by": {},
        "docs_error": {},
        "bytes_error": 0,
        "bytes_error_by": {},
        "repairs": {},
        "repair_amounts": {},
        "annotated": {},
        "stages": {stage: {"docs_in": 0, "docs_out": 0, "bytes_out": 0} for stage in stages},
        "histograms": {},
        "sensitive_terms": {},
        "examples": {},
    }


def _bump(counts: dict[str, Any], key: str, by: int = 1) -> None:
    counts[key] = counts.get(key, 0) + by


def _bin(name: str, value: float) -> int:
    edges = HISTOGRAMS[name]
    index = 0
    while index + 1 < len(edges) and value >= edges[index + 1]:
        index += 1
    return index


def _count_in_histogram(entry: dict[str, Any], name: str, value: float, kept: bool) -> None:
    side = entry["histograms"].setdefault(name, {}).setdefault("kept" if kept else "removed", {})
    _bump(side, str(_bin(name, value)))


def _add_example(entry: dict[str, Any], key: str, doc: Document, detail: str) -> None:
    examples = entry["examples"].setdefault(key, [])
    example = (stable_hash(doc.source, doc.doc_id), doc.doc_id, doc.text[:EXAMPLE_CHARS], len(doc.text), detail[:EXAMPLE_CHARS])
    if len(examples) >= EXAMPLES and example >= examples[-1]:  # the whole tuple: ids can repeat (duplicate_id)
        return
    examples.append(example)
    examples.sort()
    del examples[EXAMPLES:]


def add_document(acc: Accumulator, doc: Document, stage_lists: Mapping[str, tuple[str, ...]]) -> Accumulator:
    stages = stage_lists.get(doc.source, ())
    entry = acc.setdefault(doc.source, _new_source(stages))
    in_bytes = doc.meta_value("in_bytes")
    size = doc.size_bytes
    entry["docs_in"] += 1
    entry["bytes_in"] += in_bytes if isinstance(in_bytes, int) else size
    removal = doc.removal
    if removal is None:
        entry["docs_kept"] += 1
        entry["bytes_kept"] += size
    elif removal.reason.kind is Kind.ERROR:
        _bump(entry["docs_error"], removal.reason.value)
        _bump(entry["bytes_error_by"], removal.reason.value, size)
        entry["bytes_error"] += size
        _add_example(entry, removal.reason.value, doc, removal.detail)
    else:
        key = f"{removal.stage}/{removal.reason.value}"
        _bump(entry["docs_rejected"], key)
        _bump(entry["bytes_rejected_by"], key, size)
        entry["bytes_rejected"] += size
        _add_example(entry, key, doc, removal.detail)
    kept = removal is None
    for verdict in doc.verdicts:
        if not verdict.enforced:  # annotate mode: what would have been rejected or repaired
            _bump(entry["annotated"], f"{verdict.stage}/{verdict.reason.value}")
        elif verdict.reason.kind is Kind.REPAIR:
            key = f"{verdict.stage}/{verdict.reason.value}"
            _bump(entry["repairs"], key)
            if verdict.reason is not Reason.CONVERTED_TO_SIMPLIFIED:  # its score is a share, not a count
                _bump(entry["repair_amounts"], key, round(verdict.score or 0))
        if verdict.stage in _SCORED_STAGES and verdict.score is not None:
            _count_in_histogram(entry, verdict.stage, verdict.score, kept)
        elif verdict.stage == SENSITIVE_STAGE and verdict.detail:
            category, terms = verdict_terms(verdict.detail)
            found = entry["sensitive_terms"].setdefault(category, {})
            for term in terms:
                _bump(found, term)
    if removal is None or removal.reason.kind is not Kind.ERROR:  # an error record's text is raw bytes
        _count_in_histogram(entry, "chars", len(doc.text), kept)
    share = doc.meta_value("chinese_share")
    if isinstance(share, int | float):
        _count_in_histogram(entry, "chinese_share", float(share), kept)
    stopped_at = removal.stage if removal is not None else None
    if stopped_at is None or stopped_at in stages:
        for stage in stages:
            entry["stages"][stage]["docs_in"] += 1
            if stage == stopped_at:
                break
            entry["stages"][stage]["docs_out"] += 1
            entry["stages"][stage]["bytes_out"] += size
    return acc


def _merge_into(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, Mapping):
            _merge_into(target.setdefault(key, {}), value)
        else:
            target[key] = target.get(key, 0) + value


def merge(accumulators: list[Accumulator]) -> Accumulator:
    merged: Accumulator = {}
    for acc in accumulators:
        for source, entry in acc.items():
            target = merged.setdefault(source, _new_source(tuple(entry["stages"])))
            for key, value in entry.items():
                if key == "examples":
                    for reason, examples in value.items():
                        combined = sorted({*target[key].get(reason, []), *examples})
                        target[key][reason] = combined[:EXAMPLES]
                elif isinstance(value, dict):
                    _merge_into(target[key], value)
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
        sources[source] = _finished_entry(entry)
    if docs_written is not None and docs_written != total_in:
        raise AccountingError(f"{total_in} documents reached the end but {docs_written} were written")
    return sources


TOP_TERMS = 50
"""Sensitive terms listed per category, the most frequent first."""


def _finished_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One source's accumulator as written: histograms as lists of counts per bin beside
    their edges, examples as objects, terms as ``[term, documents]`` pairs, the most
    frequent first (a JSON object would be re-sorted by key)."""
    finished: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "histograms":
            finished[key] = {
                name: {
                    "edges": list(HISTOGRAMS[name]),
                    **{
                        side: [sides.get(side, {}).get(str(i), 0) for i in range(len(HISTOGRAMS[name]))]
                        for side in ("kept", "removed")
                    },
                }
                for name, sides in sorted(value.items())
            }
        elif key == "examples":
            finished[key] = {
                reason: [
                    {"id": doc_id, "text": text, "chars": chars, "detail": detail} for _, doc_id, text, chars, detail in examples
                ]
                for reason, examples in sorted(value.items())
            }
        elif key == "sensitive_terms":
            finished[key] = {
                category: [[term, count] for term, count in sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TERMS]]
                for category, terms in sorted(value.items())
            }
        elif isinstance(value, dict) and key != "stages":
            finished[key] = dict(sorted(value.items()))
        else:
            finished[key] = value
    return finished
