"""The gold set: documents labelled by hand, and a run's decisions measured against them.

A label (one line of ``gold/labels.jsonl``) names a document of a run by its source and id
and says what a careful data engineer decided on reading it (gold/GUIDELINE.md): keep or
drop, the reason of a drop, and which lines of a kept document are junk (navigation,
boilerplate, advertisements, markup) rather than its own text. Lines are those of the
document as read (the readers' output, before any stage), identified by number, with the
SHA-256 of the whole text to notice when a reader changes what it gives; the text itself
is not stored: it is rebuilt from the packages (``make sample gold``).

``evaluate`` reads the documents again through the run's own resolved config, finds each
labelled document among the run's outputs, and measures:

- per rejection reason of the run: precision, the share of its removals that the labels
  drop too;
- per reason of the labels: recall, the share of those documents the run removed (by any
  rule), and which rules removed them;
- documents the labels keep that the run kept ("good documents kept");
- per line, on the documents the labels keep: content lines kept and junk lines removed.
  A line is found in the run's output by its text with white space removed, compared after
  NFKC and OpenCC's t2s (so a converted or repaired line is still found), or, when that
  fails, by its letters, digits and Chinese characters alone (a line whose symbols were
  cleaned); each output line matches one labelled line at most.

Removals as exact or near duplicates are not content decisions: a label's ``dedup`` field
says whether the copy the run kept instead (its survivor) holds the same text, read side
by side. A labelled document removed as a copy counts as kept where ``dedup`` is ``copy``
(its text survives), and the dedup reasons' precision is the share of ``copy``; one removed
as a copy without that judgement is left out of the figures and listed (``zhcorpus gold
sheets --unjudged`` writes the sheets that judge it). Recall of dedup is not measured here
(it needs every pair): the scale benchmark measures it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from corpus.config import RunConfig, find_inputs, load_config
from corpus.readers import read_file
from corpus.record import Document
from corpus.writers import read_written_file, written_files

FORMAT = 1
GOLD_REASONS = (
    "not_chinese",
    "too_short",
    "title_only",
    "boilerplate",
    "advertisement",
    "spam",
    "repetitive",
    "garbled",
    "sensitive",
)
DEDUP_REASONS = ("exact_duplicate", "near_duplicate")
SPLITS = ("tune", "check")
MIN_EXAMPLES = 20
"""A reason is held to its bars (precision, recall) once this many labelled documents
have it; below, its figures are reported only."""
BARS = {"precision": 0.95, "recall": 0.90, "good_kept": 0.95, "content_kept": 0.98, "junk_removed": 0.85}
_SURVIVOR = re.compile(r"survivor ([^/\s]+)/(\S+)")
_NOT_WORD = re.compile(r"[^\w]|_", re.UNICODE)
_CONTROLS = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2060\ufeff]")
"""Terminal colour codes and invisible characters: not what a line says."""


class GoldError(Exception):
    """A labels file or run that cannot be evaluated; the message says why."""


@dataclasses.dataclass(frozen=True)
class Label:
    source: str
    doc_id: str
    decision: str
    """``keep`` or ``drop``."""
    reason: str | None = None
    """Of a drop: one of ``GOLD_REASONS``."""
    junk: tuple[int, ...] = ()
    """Of a keep: the numbers of its junk lines (0-based, in the document as read)."""
    lines: int = 0
    text_sha256: str = ""
    split: str = "tune"
    """``tune``: rules are tuned on it; ``check``: held out to check them."""
    stratum: str = ""
    """How the document was chosen (its source and, where the choice was by the run's
    decision at labelling time, that decision): for reading the figures, not used in them."""
    dedup: str | None = None
    """For a document removed as a duplicate when it was labelled: ``copy`` when the
    survivor holds the same text, ``different`` when it does not."""
    note: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.source, self.doc_id

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["id"] = data.pop("doc_id")
        data["junk"] = format_ranges(self.junk)
        return {key: value for key, value in data.items() if value not in (None, "", ())}


def parse_ranges(text: str) -> tuple[int, ...]:
    """'0-3, 7, 10-11' -> (0, 1, 2, 3, 7, 10, 11)."""
    numbers: set[int] = set()
    for part in text.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        if not low.strip().isdigit() or (high and not high.strip().isdigit()):
            raise ValueError(f"not a line number or range: {part!r}")
        start, end = int(low), int(high or low)
        if end < start:
            raise ValueError(f"range runs backwards: {part!r}")
        numbers.update(range(start, end + 1))
    return tuple(sorted(numbers))


def format_ranges(numbers: Iterable[int]) -> str:
    ordered = sorted(set(numbers))
    parts: list[str] = []
    start = previous = None
    for number in [*ordered, None]:
        if number is not None and previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = number
    return ", ".join(parts)


def load_labels(path: str) -> list[Label]:
    labels = []
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    labels.append(_label(line))
                except (ValueError, TypeError) as exc:
                    raise GoldError(f"{path}, line {number}: {exc}") from None
    except FileNotFoundError:
        raise GoldError(f"labels not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldError(f"{path}: cannot be read ({exc})") from None
    twice = [key for key, count in Counter(label.key for label in labels).items() if count > 1]
    if twice:
        raise GoldError(f"{path}: documents labelled twice: {twice[:3]}")
    return labels


_LABEL_FIELDS = {field.name for field in dataclasses.fields(Label)} - {"doc_id"} | {"id"}


def _label(line: str) -> Label:
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    missing = [name for name in ("source", "id", "decision") if name not in data]
    unknown = sorted(set(data) - _LABEL_FIELDS)
    if missing or unknown:
        raise ValueError(
            "; ".join([*(f"missing field {name!r}" for name in missing), *(f"unknown field {n!r}" for n in unknown)])
        )
    data["doc_id"] = data.pop("id")
    data["junk"] = parse_ranges(data.get("junk", ""))
    label = Label(**data)
    _check_label(label)
    return label


def _check_label(label: Label, where: str = "") -> None:
    at = f"{where}: " if where else ""
    if label.decision not in ("keep", "drop"):
        raise ValueError(f"{at}decision {label.decision!r}, not keep or drop")
    if label.decision == "drop" and label.reason not in GOLD_REASONS:
        raise ValueError(f"{at}a drop needs a reason of {', '.join(GOLD_REASONS)}, not {label.reason!r}")
    if label.decision == "keep" and label.reason:
        raise ValueError(f"{at}a keep has no reason")
    if label.split not in SPLITS:
        raise ValueError(f"{at}split {label.split!r}")
    if label.dedup not in (None, "copy", "different"):
        raise ValueError(f"{at}dedup {label.dedup!r}, not copy or different")
    if label.junk and max(label.junk) >= label.lines:
        raise ValueError(f"{at}junk line {max(label.junk)} of a document of {label.lines} lines")


def write_labels(path: str, labels: Iterable[Label]) -> None:
    ordered = sorted(labels, key=lambda label: label.key)
    text = "".join(json.dumps(label.to_dict(), ensure_ascii=False, sort_keys=True) + "\n" for label in ordered)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


# --- documents as read -------------------------------------------------------------------


def documents_as_read(config: RunConfig, keys: set[tuple[str, str]] | None = None) -> Iterator[Document]:
    """The documents of a run's sources as the readers give them (no stage), those of
    ``keys`` only when given."""
    sources = {source.name for source in config.sources}
    wanted_sources = sources if keys is None else {source for source, _ in keys} & sources
    for source in config.sources:
        if source.name not in wanted_sources:
            continue
        for file in find_inputs(source):
            for doc in read_file(file, source, config.read):
                if doc.removal is None and (keys is None or (doc.source, doc.doc_id) in keys):
                    yield doc


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@functools.cache
def _converter(config: str) -> Any:
    import opencc

    return opencc.OpenCC(config)


def line_keys(line: str, convert: str = "t2s", passes: int = 4) -> tuple[str, str]:
    """(strict, loose) forms a line is found by: without terminal codes and invisible
    characters, NFKC, in simplified script, lower case, no white space; loose: its letters,
    digits and Chinese characters alone. The script: the run's own conversion to its
    fixpoint (tw2sp also changes Taiwan phrasing, and again on its own output: 程式碼 ->
    程式码 -> 程序码), then t2s, which changes no simplified text: a labelled line and its
    converted copy in the output have the same key (the output is keyed with
    ``convert="t2s"``)."""
    text = unicodedata.normalize("NFKC", _CONTROLS.sub("", line))
    if convert not in ("none", "t2s"):
        for _ in range(passes):
            converted = _converter(convert).convert(text)
            if converted == text:
                break
            text = converted
    text = _converter("t2s").convert(text)
    strict = "".join(text.lower().split())
    return strict, _NOT_WORD.sub("", strict)


# --- evaluation ----------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    """What the run did with one labelled document."""

    label: Label
    removal: str | None
    """``stage/reason`` of its removal, or None when kept."""
    text: str | None
    """The text the run kept."""
    content_lines: int = 0
    content_kept: int = 0
    junk_lines: int = 0
    junk_removed: int = 0


def _run_outputs(run_dir: str, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Document]:
    found: dict[tuple[str, str], Document] = {}
    for folder_root in ("kept", "rejected"):
        root = os.path.join(run_dir, folder_root)
        if not os.path.isdir(root):
            continue
        for folder in sorted(os.listdir(root)):
            for path in written_files(run_dir, f"{folder_root}/{folder}"):
                for doc in read_written_file(path):
                    if (doc.source, doc.doc_id) in keys:
                        found[doc.source, doc.doc_id] = doc
    return found


def _match_lines(label: Label, read_lines: list[str], kept_text: str | None, convert: str = "t2s") -> tuple[int, int, int, int]:
    """(content lines, content kept, junk lines, junk removed) of a kept-labelled document."""
    strict_out: Counter[str] = Counter()
    loose_out: Counter[str] = Counter()
    if kept_text is not None:
        for line in kept_text.split("\n"):
            strict, loose = line_keys(line, "t2s")
            if strict:
                strict_out[strict] += 1
                if loose:
                    loose_out[loose] += 1
    junk = set(label.junk)
    counts = [0, 0, 0, 0]
    for number, line in enumerate(read_lines):
        # As read, and as the run's conversion would give it (a document is converted
        # only when enough of it is traditional: either may be in the output).
        candidates = dict.fromkeys((line_keys(line, "t2s"), line_keys(line, convert, 1), line_keys(line, convert)))
        if not next(iter(candidates))[0]:
            continue
        kept = False
        for strict, loose in candidates:
            if strict_out[strict] > 0:
                strict_out[strict] -= 1
                if loose:
                    loose_out[loose] -= 1
                kept = True
                break
        if not kept:
            for _, loose in candidates:
                if loose and loose_out[loose] > 0:
                    loose_out[loose] -= 1
                    kept = True
                    break
        if number in junk:
            counts[2] += 1
            counts[3] += not kept
        else:
            counts[0] += 1
            counts[1] += kept
    return counts[0], counts[1], counts[2], counts[3]


def evaluate(labels: list[Label], run_dir: str, config_path: str | None = None) -> dict[str, Any]:
    """The run's decisions against the labels (see the module docstring)."""
    path = config_path or os.path.join(run_dir, "config.resolved.yaml")
    if not os.path.exists(os.path.join(run_dir, "stats", "run.json")):
        raise GoldError(f"{run_dir}: not a finished run (no stats/run.json)")
    config = load_config(path)
    keys = {label.key for label in labels}
    as_read = {(doc.source, doc.doc_id): doc for doc in documents_as_read(config, keys)}
    outputs = _run_outputs(run_dir, keys)
    outcomes: list[Outcome] = []
    missing, stale, unjudged = [], [], []
    for label in labels:
        doc, out = as_read.get(label.key), outputs.get(label.key)
        if doc is None or out is None:
            missing.append(label.key)
            continue
        if text_sha256(doc.text) != label.text_sha256:
            stale.append(label.key)
            continue
        removal = out.removal
        if removal is not None and removal.reason.value in DEDUP_REASONS and label.dedup is None:
            unjudged.append(label.key)  # removed as a copy, but not read beside its survivor
            continue
        outcome = Outcome(
            label, f"{removal.stage}/{removal.reason.value}" if removal else None, out.text if not removal else None
        )
        if label.decision == "keep" and not (removal and removal.reason.value in DEDUP_REASONS and label.dedup == "copy"):
            counts = _match_lines(label, doc.text.split("\n"), outcome.text, config.stages.repair.convert)
            outcome.content_lines, outcome.content_kept, outcome.junk_lines, outcome.junk_removed = counts
        outcomes.append(outcome)
    return {
        "labels": len(labels),
        "evaluated": len(outcomes),
        "missing": [f"{source}/{doc_id}" for source, doc_id in missing],
        "stale": [f"{source}/{doc_id}" for source, doc_id in stale],
        "unjudged_dedup": [f"{source}/{doc_id}" for source, doc_id in unjudged],
        "all": _figures(outcomes),
        **{split: _figures([o for o in outcomes if o.label.split == split]) for split in SPLITS},
    }


def _kept_right(outcome: Outcome) -> bool:
    """A document the labels keep, kept by the run (or removed as a copy of a kept one)."""
    if outcome.removal is None:
        return True
    return outcome.removal.split("/")[-1] in DEDUP_REASONS and outcome.label.dedup == "copy"


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _figures(outcomes: list[Outcome]) -> dict[str, Any]:
    keep = [o for o in outcomes if o.label.decision == "keep"]
    drop = [o for o in outcomes if o.label.decision == "drop"]
    by_removal: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.removal is not None:
            by_removal.setdefault(outcome.removal, []).append(outcome)
    precision = {}
    for removal, removed in sorted(by_removal.items()):
        if removal.split("/")[-1] in DEDUP_REASONS:
            judged = [o for o in removed if o.label.dedup is not None]
            right = sum(o.label.dedup == "copy" for o in judged)
            precision[removal] = {
                "removed": len(removed),
                "judged": len(judged),
                "right": right,
                "precision": _ratio(right, len(judged)),
            }
        else:
            right = sum(o.label.decision == "drop" for o in removed)
            wrong = [f"{o.label.source}/{o.label.doc_id}" for o in removed if o.label.decision == "keep"]
            precision[removal] = {
                "removed": len(removed),
                "judged": len(removed),
                "right": right,
                "precision": _ratio(right, len(removed)),
                "wrongly_removed": wrong[:10],
            }
    recall = {}
    for reason in GOLD_REASONS:
        labelled = [o for o in drop if o.label.reason == reason]
        if not labelled:
            continue
        removed = [o for o in labelled if o.removal is not None]
        recall[reason] = {
            "labelled": len(labelled),
            "removed": len(removed),
            "recall": _ratio(len(removed), len(labelled)),
            "by": dict(Counter(o.removal for o in removed).most_common()),
            "missed": [f"{o.label.source}/{o.label.doc_id}" for o in labelled if o.removal is None][:10],
        }
    content = sum(o.content_lines for o in keep)
    junk = sum(o.junk_lines for o in keep)
    good_kept = sum(_kept_right(o) for o in keep)
    return {
        "documents": len(outcomes),
        "keep": len(keep),
        "drop": len(drop),
        "good_kept": {"kept": good_kept, "of": len(keep), "share": _ratio(good_kept, len(keep))},
        "drops_removed": {"removed": sum(o.removal is not None for o in drop), "of": len(drop)},
        "lines": {
            "content": content,
            "content_kept": sum(o.content_kept for o in keep),
            "content_kept_share": _ratio(sum(o.content_kept for o in keep), content),
            "junk": junk,
            "junk_removed": sum(o.junk_removed for o in keep),
            "junk_removed_share": _ratio(sum(o.junk_removed for o in keep), junk),
        },
        "precision": precision,
        "recall": recall,
        "wrongly_removed": [f"{o.label.source}/{o.label.doc_id} ({o.removal})" for o in keep if not _kept_right(o)][:30],
        "by_source": {
            source: _source_figures([o for o in outcomes if o.label.source == source])
            for source in sorted({o.label.source for o in outcomes})
        },
    }


def _source_figures(outcomes: list[Outcome]) -> dict[str, Any]:
    keep = [o for o in outcomes if o.label.decision == "keep"]
    drop = [o for o in outcomes if o.label.decision == "drop"]
    content, junk = sum(o.content_lines for o in keep), sum(o.junk_lines for o in keep)
    return {
        "documents": len(outcomes),
        "good_kept": _ratio(sum(_kept_right(o) for o in keep), len(keep)),
        "drops_removed": _ratio(sum(o.removal is not None for o in drop), len(drop)),
        "content_kept": _ratio(sum(o.content_kept for o in keep), content),
        "junk_removed": _ratio(sum(o.junk_removed for o in keep), junk),
    }


def bars(figures: Mapping[str, Any]) -> list[str]:
    """The bars a set of figures fails (empty: all met), for reasons with enough examples."""
    failed = []
    for removal, entry in figures["precision"].items():
        if entry["judged"] >= MIN_EXAMPLES and entry["precision"] is not None and entry["precision"] < BARS["precision"]:
            failed.append(f"precision of {removal} {entry['precision']:.3f} < {BARS['precision']}")
    for reason, entry in figures["recall"].items():
        if entry["labelled"] >= MIN_EXAMPLES and entry["recall"] < BARS["recall"]:
            failed.append(f"recall of {reason} {entry['recall']:.3f} < {BARS['recall']}")
    checks = (
        ("good documents kept", figures["good_kept"]["share"], BARS["good_kept"]),
        ("content lines kept", figures["lines"]["content_kept_share"], BARS["content_kept"]),
        ("junk lines removed", figures["lines"]["junk_removed_share"], BARS["junk_removed"]),
    )
    failed += [f"{name} {value:.3f} < {bar}" for name, value, bar in checks if value is not None and value < bar]
    return failed


def summary(figures: Mapping[str, Any], split: str = "all") -> str:
    """A person's view of the figures of one split."""
    part = figures[split]
    lines = [
        f"gold set: {figures['evaluated']} of {figures['labels']} labelled documents evaluated ({split}: {part['documents']}, "
        f"{part['keep']} keep, {part['drop']} drop)",
    ]
    if figures["missing"] or figures["stale"] or figures["unjudged_dedup"]:
        lines.append(
            f"  left out: not in the run {len(figures['missing'])}, read differently since labelled {len(figures['stale'])}, "
            f"removed as copies but not judged beside their survivor {len(figures['unjudged_dedup'])} "
            "(zhcorpus gold sheets --unjudged)"
        )
    good, text = part["good_kept"], part["lines"]
    lines.append(f"good documents kept      {_percent(good['share'])}  ({good['kept']} of {good['of']})")
    lines.append(
        f"content lines kept       {_percent(text['content_kept_share'])}  ({text['content_kept']:,} of {text['content']:,})"
    )
    lines.append(
        f"junk lines removed       {_percent(text['junk_removed_share'])}  ({text['junk_removed']:,} of {text['junk']:,})"
    )
    lines.append("removed by               precision  right/judged")
    for removal, entry in part["precision"].items():
        lines.append(f"  {removal:<24}{_percent(entry['precision']):>9}  {entry['right']}/{entry['judged']}")
    lines.append("labelled drop            recall     removed/labelled  by")
    for reason, entry in part["recall"].items():
        by = ", ".join(f"{key} {count}" for key, count in entry["by"].items())
        lines.append(f"  {reason:<24}{_percent(entry['recall']):>7}    {entry['removed']}/{entry['labelled']}  {by}")
    lines.append("per source               good kept  drops removed  content kept  junk removed")
    for source, entry in part["by_source"].items():
        cells = [_percent(entry[key]) for key in ("good_kept", "drops_removed", "content_kept", "junk_removed")]
        lines.append(f"  {source:<22}{cells[0]:>10}{cells[1]:>15}{cells[2]:>14}{cells[3]:>14}")
    failed = bars(part)
    lines.append("bars: all met" if not failed else "bars not met: " + "; ".join(failed))
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "   -  " if value is None else f"{value * 100:5.1f}%"


# --- labelling sheets --------------------------------------------------------------------

SHEET_START = "### DOCUMENT"
SHEET_END = "### END"
_FIELDS = ("decision", "reason", "junk", "dedup", "note")
SURVIVOR_LINES = 120
STRATA = "strata.tsv"
"""Lines of a survivor shown beside a document removed as its copy."""


def _outcomes_of_run(run_dir: str) -> dict[tuple[str, str], tuple[str, Document]]:
    """(source, id) -> (the run's outcome: ``kept`` or ``stage/reason``, the output doc)."""
    found: dict[tuple[str, str], tuple[str, Document]] = {}
    for folder_root in ("kept", "rejected"):
        root = os.path.join(run_dir, folder_root)
        for folder in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            for path in written_files(run_dir, f"{folder_root}/{folder}"):
                for doc in read_written_file(path):
                    removal = doc.removal
                    outcome = "kept" if removal is None else f"{removal.stage}/{removal.reason.value}"
                    found[doc.source, doc.doc_id] = (outcome, doc)
    return found


def select(run_dir: str, quotas: Mapping[str, Mapping[str, int]], seed: int = 0) -> list[tuple[str, str, str]]:
    """(source, id, stratum) of the documents to label: per source, ``quotas[source]`` says
    how many of each outcome of the run (``kept``, ``clean/too_short`` ...; ``*`` for any),
    each chosen by a seeded hash of the id, so the same run gives the same choice."""
    from corpus.ids import stable_hash

    outcomes = _outcomes_of_run(run_dir)
    chosen: list[tuple[str, str, str]] = []
    taken: set[tuple[str, str]] = set()
    for source, wanted in quotas.items():
        docs = sorted(
            ((key, outcome) for key, (outcome, _) in outcomes.items() if key[0] == source),
            key=lambda item: stable_hash("gold", item[0][1], seed=seed),
        )
        for outcome_name, count in wanted.items():
            pool = [key for key, outcome in docs if (outcome_name == "*" or outcome == outcome_name) and key not in taken]
            for key in pool[:count]:
                taken.add(key)
                chosen.append((key[0], key[1], f"{source}/{outcome_name}"))
    return chosen


def unjudged(labels: list[Label], run_dir: str) -> list[tuple[str, str, str]]:
    """(source, id, stratum) of the labelled documents the run removed as copies that no
    label has judged beside their survivor."""
    outcomes = _outcomes_of_run(run_dir)
    chosen = []
    for label in labels:
        outcome = outcomes.get(label.key, ("", None))[0]
        if label.dedup is None and outcome.split("/")[-1] in DEDUP_REASONS:
            chosen.append((label.source, label.doc_id, label.stratum))
    return chosen


def write_sheets(
    config: RunConfig,
    run_dir: str,
    chosen: list[tuple[str, str, str]],
    out_dir: str,
    per_sheet: int,
    labels: Mapping[tuple[str, str], Label] | None = None,
) -> list[str]:
    """Labelling sheets: each document as read, its lines numbered, with empty fields to
    fill (gold/GUIDELINE.md); a document the run removed as a copy shows its survivor.
    ``labels``: fields already labelled, filled in (a sheet that only asks for ``dedup``)."""
    labels = labels or {}
    keys = {(source, doc_id) for source, doc_id, _ in chosen}
    outcomes = _outcomes_of_run(run_dir)
    survivors: dict[tuple[str, str], tuple[str, str]] = {}
    for key in keys:
        outcome, doc = outcomes.get(key, ("", None))
        if doc is not None and outcome.split("/")[-1] in DEDUP_REASONS:
            match = _SURVIVOR.search(doc.removal.detail if doc.removal else "")  # the dedup verdict names it
            if match:
                survivors[key] = (match.group(1), match.group(2))
    as_read = {(doc.source, doc.doc_id): doc for doc in documents_as_read(config, keys | set(survivors.values()))}
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for start in range(0, len(chosen), per_sheet):
        blocks = []
        for number, (source, doc_id, _stratum) in enumerate(chosen[start : start + per_sheet], start):
            doc = as_read.get((source, doc_id))
            if doc is None:
                continue
            lines = doc.text.split("\n")
            known = labels.get((source, doc_id))
            head = [
                f"{SHEET_START} {number}",
                f"source: {source}",
                f"id: {doc_id}",
                f"title: {doc.meta_value('title', '') or ''}",
                f"lines: {len(lines)}",
                f"decision: {known.decision if known else ''}",
                f"reason: {(known.reason or '') if known else ''}",
                f"junk: {format_ranges(known.junk) if known else ''}",
            ]
            survivor = survivors.get((source, doc_id))
            if survivor is not None:
                head.append("dedup: ")
            head.append(f"note: {known.note if known else ''}")
            body = [f"--- text ({len(lines)} lines)"] + [f"{i:4d}| {line}" for i, line in enumerate(lines)]
            if survivor is not None and survivor in as_read:
                other = as_read[survivor].text.split("\n")
                body.append(f"--- the copy kept instead: {survivor[0]}/{survivor[1]} ({len(other)} lines)")
                body += [f"   s| {line}" for line in other[:SURVIVOR_LINES]]
            blocks.append("\n".join([*head, *body, SHEET_END]))
        path = os.path.join(out_dir, f"sheet-{start // per_sheet:03d}.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n\n".join(blocks) + "\n")
        paths.append(path)
    # The strata (the run's outcome when chosen) stay off the sheets: a labeller must not
    # see what the pipeline decided.
    with open(os.path.join(out_dir, STRATA), "w", encoding="utf-8") as handle:
        handle.writelines(f"{source}\t{doc_id}\t{stratum}\n" for source, doc_id, stratum in chosen)
    return paths


def read_sheets(paths: list[str], config: RunConfig, seed: int = 0, check_share: float = 0.4) -> list[Label]:
    """Labels from filled sheets, with each document's text hash and line count taken from
    the documents as read, and a seeded split into ``tune`` and ``check``."""
    from corpus.ids import stable_hash

    filled: list[dict[str, str]] = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            current: dict[str, str] | None = None
            for number, line in enumerate(handle, 1):
                if line.startswith(SHEET_START):
                    current = {"where": f"{path}:{number}"}
                elif line.startswith(SHEET_END):
                    if current is not None:
                        filled.append(current)
                    current = None
                elif current is not None and not line.startswith(("---", "   s|")) and "|" not in line[:6]:
                    field, _, value = line.partition(":")
                    if field.strip() in (*_FIELDS, "source", "id", "stratum") and field.strip() not in current:
                        current[field.strip()] = value.strip()
    keys = {(entry["source"], entry["id"]) for entry in filled}
    as_read = {(doc.source, doc.doc_id): doc for doc in documents_as_read(config, keys)}
    strata: dict[tuple[str, str], str] = {}
    for folder in sorted({os.path.dirname(path) for path in paths}):
        if os.path.exists(os.path.join(folder, STRATA)):
            with open(os.path.join(folder, STRATA), encoding="utf-8") as handle:
                for row in handle:
                    source, doc_id, stratum = row.rstrip("\n").split("\t")
                    strata[source, doc_id] = stratum
    labels = []
    for entry in filled:
        doc = as_read.get((entry["source"], entry["id"]))
        if doc is None:
            raise GoldError(f"{entry['where']}: {entry['source']}/{entry['id']} is not a document of the config's sources")
        decision = entry.get("decision", "").lower()
        if not decision:
            raise GoldError(f"{entry['where']}: no decision")
        split = "check" if stable_hash("split", entry["source"], entry["id"], seed=seed) % 1000 < check_share * 1000 else "tune"
        try:
            label = Label(
                source=entry["source"],
                doc_id=entry["id"],
                decision=decision,
                reason=(entry.get("reason") or None) if decision == "drop" else None,
                junk=parse_ranges(entry.get("junk", "")) if decision == "keep" else (),
                lines=len(doc.text.split("\n")),
                text_sha256=text_sha256(doc.text),
                split=split,
                stratum=strata.get((entry["source"], entry["id"]), ""),
                dedup=(entry.get("dedup") or None),
                note=entry.get("note", ""),
            )
            _check_label(label, entry["where"])
        except ValueError as exc:
            raise GoldError(str(exc)) from None
        labels.append(label)
    return labels
