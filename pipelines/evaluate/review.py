"""The review sheet: people read a random sample of what a run kept and rejected, as PanGu's
team did, and their judgements become the precision of each stage's rejections and of the
kept set.

``make_sheet`` draws ``n`` documents of a finished run: half kept, half rejected, the
rejected half spread evenly over the stages that removed documents (a stage that removed
thousands would otherwise fill it alone), each part by a seeded hash of the ids. It writes
a CSV (UTF-8 with a byte order mark, which spreadsheets read as UTF-8) with an empty
``judgement`` column. A person writes ``good`` (text worth training on) or ``bad`` (junk)
in it; ``score_sheet`` reads it back: a rejection is right when the document is bad, a
kept document is right when it is good.
"""

from __future__ import annotations

import csv
import heapq
import io
import os
from collections.abc import Iterator
from typing import Any

from corpus import writers
from corpus.ids import stable_hash
from corpus.record import Document
from sampling.training_sample import run_report

COLUMNS = ("row", "judgement", "outcome", "stage", "reason", "source", "id", "verdicts", "chars", "text")
TEXT_CHARS = 2_000
"""Characters of a document in the sheet (a spreadsheet cell holds 32,767)."""
GOOD = frozenset({"good", "g", "keep", "ok", "yes", "y", "1"})
BAD = frozenset({"bad", "b", "junk", "reject", "no", "n", "0"})


class SheetError(Exception):
    """A filled sheet that cannot be scored: a column missing, a judgement not understood."""


def _documents(run_dir: str, folder: str) -> Iterator[Document]:
    for path in writers.written_files(run_dir, folder):
        yield from writers.read_written_file(path)


def _smallest(docs: Iterator[Document], n: int, seed: int, key: str) -> list[tuple[int, Document]]:
    return heapq.nsmallest(
        n, ((stable_hash("review", key, doc.source, doc.doc_id, seed=seed), doc) for doc in docs), key=lambda x: x[0]
    )


def make_sheet(run_dir: str, n: int, seed: int, out: str) -> dict[str, Any]:
    """Write the sheet of ``n`` documents of ``run_dir`` to ``out``; return what it holds."""
    report = run_report(run_dir)
    removed: dict[str, int] = {}
    for entry in report["sources"].values():
        for reason, count in entry["docs_rejected"].items():
            stage = reason.split("/", 1)[0]
            removed[stage] = removed.get(stage, 0) + count
    stages = sorted(removed)
    quota = n // 2 if stages else 0
    chosen: list[tuple[str, int, Document]] = []
    # even shares; what a small stage cannot fill goes to the larger ones
    for index, stage in enumerate(sorted(stages, key=lambda name: (removed[name], name))):
        share = min(removed[stage], (quota - len(chosen)) // (len(stages) - index))
        for rank, doc in _smallest(_documents(run_dir, f"{writers.REJECTED}/{stage}"), share, seed, stage):
            chosen.append(("rejected", rank, doc))
    kept_folders = [f"{writers.KEPT}/{source}" for source in sorted(report["sources"])]
    kept = (doc for folder in kept_folders for doc in _documents(run_dir, folder))
    for rank, doc in _smallest(kept, n - len(chosen), seed, "kept"):
        chosen.append(("kept", rank, doc))
    chosen.sort(key=lambda item: item[1])  # kept and rejected mixed, not in blocks
    buffer = io.StringIO(newline="")
    sheet = csv.writer(buffer)
    sheet.writerow(COLUMNS)
    for row, (outcome, _, doc) in enumerate(chosen, start=1):
        removal = doc.removal
        verdicts = "; ".join(
            f"{v.stage}/{v.reason.value}{'' if v.enforced else ' (annotate)'}: {v.detail}"[:300] for v in doc.verdicts
        )
        sheet.writerow(
            _cell(value)
            for value in (
                row,
                "",
                outcome,
                removal.stage if removal else "",
                removal.reason.value if removal else "",
                doc.source,
                doc.doc_id,
                verdicts,
                len(doc.text),
                doc.text[:TEXT_CHARS],
            )
        )
    writers.write_atomic(out, ("\ufeff" + buffer.getvalue()).encode("utf-8"))  # the mark: spreadsheets read UTF-8
    outcomes = [outcome for outcome, _, _ in chosen]
    return {"rows": len(chosen), "kept": outcomes.count("kept"), "rejected": outcomes.count("rejected"), "stages": stages}


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+cmd|...``)
    gets a leading apostrophe, which spreadsheets show as text; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _read_rows(path: str) -> list[dict[str, str]]:
    """A sheet as saved by zhcorpus or a spreadsheet: UTF-8 (with or without a byte-order
    mark) or GB18030 (a Chinese Windows "CSV" save), comma or semicolon separated, header
    names in any case; rows with nothing in them are left out."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise SheetError(f"{path}: unreadable ({exc})") from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SheetError(f"{path}: neither UTF-8 nor GB18030; save it as CSV UTF-8")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        header, *body = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except (csv.Error, ValueError) as exc:
        raise SheetError(f"{path}: not a CSV review sheet ({exc or 'empty'})") from exc
    names = [name.strip().lower() for name in header]
    return [dict(zip(names, row, strict=False)) for row in body if any(cell.strip() for cell in row)]


def _judgement(value: str, row: str) -> bool | None:
    """True: good, False: bad, None: not judged."""
    word = value.strip().lower()
    if not word:
        return None
    if word in GOOD:
        return True
    if word in BAD:
        return False
    raise SheetError(
        f"row {row}: judgement {value!r} is neither good ({', '.join(sorted(GOOD))}) nor bad ({', '.join(sorted(BAD))})"
    )


def score_sheet(path: str) -> dict[str, Any]:
    """Precision per stage of the rejections (judged bad / judged) and of the kept set
    (judged good / judged), from a filled sheet."""
    rows = _read_rows(path)
    missing = {"row", "judgement", "outcome", "stage"} - set(rows[0] if rows else COLUMNS)
    if missing or not rows:
        raise SheetError(f"{path}: not a review sheet ({'no rows' if not rows else 'missing ' + ', '.join(sorted(missing))})")
    groups: dict[str, dict[str, int]] = {}
    unjudged = 0
    for row in rows:
        judged = _judgement(row.get("judgement") or "", row.get("row", "?"))
        if judged is None:
            unjudged += 1
            continue
        outcome = (row.get("outcome") or "").strip()
        if outcome == "kept":
            group, right = "kept", judged
        elif outcome == "rejected":
            group, right = f"rejected by {(row.get('stage') or '').strip()}", not judged
        else:
            raise SheetError(f"row {row.get('row', '?')}: outcome {outcome!r} is neither kept nor rejected")
        counts = groups.setdefault(group, {"judged": 0, "right": 0})
        counts["judged"] += 1
        counts["right"] += int(right)
    results = {
        group: {**counts, "precision": round(counts["right"] / counts["judged"], 4)} for group, counts in sorted(groups.items())
    }
    return {"sheet": os.path.abspath(path), "rows": len(rows), "unjudged": unjudged, "groups": results}


def score_summary(scores: dict[str, Any]) -> str:
    lines = [f"{'group':<28}{'judged':>8}{'right':>8}{'precision':>11}"]
    for group, counts in scores["groups"].items():
        lines.append(f"{group:<28}{counts['judged']:>8}{counts['right']:>8}{counts['precision']:>11.3f}")
    lines.append(
        f"{scores['rows']} rows, {scores['unjudged']} not judged; a rejection is right when the document is bad, "
        "a kept document when it is good"
    )
    return "\n".join(lines)
