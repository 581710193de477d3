"""fastText classifiers for spam and quality: one preprocessing function, training,
evaluation and scoring (the pure part; the Beam stage wraps ``Scorer``).

PanGu trained a fastText spam classifier (junk documents from Common Crawl as negatives, a
high-quality corpus as positives) and a GPT-3 style quality classifier. Here:

- ``preprocess`` is the only way text reaches a model, in training and in the filter: ASCII
  lower-cased, then jieba words (``sampling/segment.py``, identical to jieba's default mode)
  or single characters (``tokens="chars"``), white space dropped, joined by spaces on one
  line (fastText reads one example per line).
- Two kinds of model. ``spam``: positives are labelled ``ok``, negatives ``spam``, and the
  score is P(spam); the filter rejects at ``score >= threshold``. ``quality``: positives are
  ``high``, negatives ``low``, the score is P(high); the filter rejects at
  ``score < threshold``. Either way the *rejected* class is the negatives, so evaluation
  reports precision and recall of rejection at each threshold.
- Long documents: a document is scored whole and in windows of about ``window_chars``
  characters cut at line ends, and the worst score counts (the highest P(spam), the lowest
  P(high)), so a spam paragraph cannot hide in a long clean document.
- Reproducible training: a seeded stratified hold-out split (a stable hash of each id
  within each class), fastText's own ``seed``, and one thread by default (fastText's
  asynchronous SGD is only deterministic on one thread).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from itertools import chain
from typing import Literal

from corpus.config import RunConfig
from corpus.ids import stable_hash
from corpus.record import Document
from corpus.writers import file_sha256
from filters.fasttext_file import ModelFileError, check_model_file
from sampling.segment import SEGMENT_METHODS, WORD_SEP, Segmenter

Kind = Literal["spam", "quality"]
Tokens = Literal["words", "chars"]
CLASSES: dict[str, tuple[str, str]] = {"spam": ("ok", "spam"), "quality": ("high", "low")}
"""kind -> (label of the positives, label of the negatives)."""
THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(1, 10))
_ASCII_UPPER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_LINE_END = re.compile(r"\n+")
_NAN_ATTEMPTS = 3
"""Training that diverges is tried again at half the learning rate, this many times in all."""
log = logging.getLogger(__name__)


class ClassifierError(Exception):
    """A model or training set that cannot be used, with the reason."""


@dataclass(frozen=True)
class ModelInfo:
    """What the filter must know to preprocess as training did, and which model file it
    goes with; saved as MODEL.json beside the model (MODEL + ".json")."""

    kind: Kind
    tokens: Tokens = "words"
    segment: str = "fast"
    model_bytes: int = 0
    model_sha256: str = ""
    lr: float = 0.0
    """The learning rate the model was trained at (0.0: not recorded, an older model)."""

    @property
    def score_label(self) -> str:
        """The label whose probability is the score: spam for spam, high for quality."""
        positive, negative = CLASSES[self.kind]
        return negative if self.kind == "spam" else positive


def info_path(model_path: str) -> str:
    return model_path + ".json"


class Preprocessor:
    """``preprocess``, with its segmenter built once."""

    def __init__(self, tokens: Tokens = "words", segment: str = "fast") -> None:
        self.tokens = tokens
        self._segmenter = Segmenter(segment) if tokens == "words" else None  # type: ignore[arg-type]

    def __call__(self, text: str) -> str:
        return preprocess(text, self.tokens, self._segmenter)


def preprocess(text: str, tokens: Tokens = "words", segmenter: Segmenter | None = None) -> str:
    """The one line a model sees for ``text`` (see the module docstring)."""
    lowered = _lower_ascii(text)
    if tokens == "chars":
        return " ".join([char for char in lowered if char.isprintable() and not char.isspace()])
    segmenter = segmenter or Segmenter("fast")
    joined = segmenter.joined(lowered)
    words = segmenter.cut(lowered) if joined is None else joined.split(WORD_SEP) if joined else []
    return " ".join([word for word in words if word.isprintable() and not word.isspace()])


def _lower_ascii(text: str) -> str:
    """ASCII letters lower-cased, nothing else changed. Done on the UTF-8 bytes, where the
    bytes of A-Z never occur inside another character: ten times as fast as str.translate."""
    return text.encode("utf-8", "surrogatepass").translate(_ASCII_UPPER).decode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class Example:
    doc_id: str
    negative: bool
    """True for the class the filter rejects (spam, low quality)."""
    text: str


def _text_key(example: Example) -> str:
    return " ".join(example.text.split())


def stratified_split(examples: Sequence[Example], holdout: float, seed: int) -> tuple[list[Example], list[Example]]:
    """(train, held out): in each class, the ``holdout`` share with the smallest seeded
    hashes is held out, so both classes are in both parts in proportion. The hash is of the
    text (white space folded), not the id: copies of one text land on the same side, so
    the evaluation never scores a text the model was trained on."""
    train: list[Example] = []
    held: list[Example] = []
    for negative in (False, True):
        members = sorted(
            (e for e in examples if e.negative == negative),
            key=lambda e: (stable_hash("holdout", _text_key(e), seed=seed), e.doc_id),
        )
        cut = round(len(members) * holdout)
        if members and holdout > 0:
            cut = min(max(cut, 1), len(members) - 1)
        held.extend(members[:cut])
        train.extend(members[cut:])
    return train, held


@dataclass(frozen=True)
class TrainSettings:
    kind: Kind = "spam"
    tokens: Tokens = "words"
    segment: str = "fast"
    epoch: int = 10
    lr: float = 0.5
    word_ngrams: int = 2
    dim: int = 64
    buckets: int = 200_000
    """Hash buckets of word n-grams: fastText's default 2M makes a 557 MB model; 200k keeps
    the sample's F1 at a tenth of the size."""
    min_count: int = 1
    seed: int = 1
    threads: int = 1
    quantize: bool = False
    length_match: bool = True
    """Train on windows of both classes with the same length distribution
    (``length_matched``), so that the model cannot learn that short means spam."""
    window_chars: int = 1000
    """The longest training window."""


MARGIN_OVER_LENGTH = 0.05
"""A model must beat document length alone by this much AUC on length-matched held-out
windows, or training refuses it (``beats_length``)."""


def _length_bucket(chars: int) -> int:
    """Quarter-octave buckets of a length: windows in one bucket differ by at most 19%."""
    if chars < 8:
        return chars
    top = chars.bit_length() - 1
    return top * 4 + ((chars >> (top - 2)) & 3)


def length_matched(examples: Sequence[Example], seed: int, window_chars: int = 1000) -> list[Example]:
    """Both classes cut into windows of at most ``window_chars`` (at line ends), then, per
    length bucket, as many windows of each class as the rarer class has there (chosen by a
    seeded hash): the two classes' lengths are then distributed alike, and length tells a
    model nothing. The demo's first model, trained on whole documents, learnt "short is
    spam" and rejected every proverb and short poem of the sample (P(spam) 1.0)."""
    buckets: dict[int, tuple[list[Example], list[Example]]] = {}
    for example in examples:
        pieces, _ = _windows(example.text, window_chars)
        for index, piece in enumerate(pieces or [example.text]):
            chars = len("".join(piece.split()))
            if chars:
                side = buckets.setdefault(_length_bucket(chars), ([], []))[example.negative]
                side.append(Example(f"{example.doc_id}#{index}", example.negative, piece))
    matched: list[Example] = []
    for _, (positives, negatives) in sorted(buckets.items()):
        count = min(len(positives), len(negatives))
        for side in (positives, negatives):
            side.sort(key=lambda e: (stable_hash("length", e.doc_id, seed=seed), e.doc_id))
            matched.extend(side[:count])
    return matched


def auc(scores: Sequence[float], negative: Sequence[bool]) -> float:
    """The area under the ROC curve of ``scores`` for telling the negatives (rejected class)
    apart, ties counted half (the Mann-Whitney statistic)."""
    import numpy as np

    values = np.asarray(scores, dtype=float)
    labels = np.asarray(negative, dtype=bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if not positives or not negatives:
        return 0.5
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    while start < len(values):  # average ranks of ties
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def length_baseline(examples: Sequence[Example]) -> dict[str, float]:
    """How well document length alone tells the classes apart: AUC (in the better of the
    two directions) and the best F1 of a length threshold."""
    lengths = [len("".join(example.text.split())) for example in examples]
    negative = [example.negative for example in examples]
    area = auc([-length for length in lengths], negative)  # shorter = more negative
    # The best F1 of "reject the k shortest" (or longest): one pass over the sorted lengths.
    keyed = sorted(zip(lengths if area < 0.5 else [-length for length in lengths], negative, strict=True), reverse=True)
    total_negative = sum(negative)
    best = true_positive = 0.0
    for rejected, (_, is_negative) in enumerate(keyed, start=1):
        true_positive += is_negative
        if true_positive:
            precision, recall = true_positive / rejected, true_positive / total_negative
            best = max(best, 2 * precision * recall / (precision + recall))
    return {"auc": round(max(area, 1 - area), 4), "f1": round(best, 4)}


def _write_training_file(
    path: str, examples: Iterable[Example], info: ModelInfo, preprocessor: Preprocessor, seed: int = 1
) -> dict[str, int]:
    """The fastText training file, in a seeded order that mixes the classes (fastText reads
    it in order; one class after the other trains a worse model). Returns lines per label."""
    positive, negative = CLASSES[info.kind]
    ordered = sorted(examples, key=lambda e: (stable_hash("order", e.doc_id, seed=seed), e.doc_id))
    counts = {positive: 0, negative: 0}
    with open(path, "w", encoding="utf-8") as handle:
        for example in ordered:
            line = preprocessor(example.text)
            if line:
                label = negative if example.negative else positive
                handle.write(f"__label__{label} {line}\n")
                counts[label] += 1
    return counts


def train(examples: Sequence[Example], out_path: str, settings: TrainSettings):  # -> fasttext model
    """Train on ``examples``; the model and its MODEL.json replace any old ones only once
    the new model is complete."""
    import fasttext

    info = ModelInfo(settings.kind, settings.tokens, settings.segment)
    preprocessor = Preprocessor(settings.tokens, settings.segment)
    if settings.length_match:
        examples = length_matched(examples, settings.seed, settings.window_chars)
    with tempfile.TemporaryDirectory() as folder:
        data = os.path.join(folder, "train.txt")
        counts = _write_training_file(data, examples, info, preprocessor, settings.seed)
        empty = [label for label, count in counts.items() if count == 0]
        if empty:
            raise ClassifierError(f"training needs text of both classes; none labelled {', '.join(empty)} after preprocessing")
        lr = settings.lr
        for attempt in range(1, _NAN_ATTEMPTS + 1):
            try:
                model = fasttext.train_supervised(
                    input=data,
                    epoch=settings.epoch,
                    lr=lr,
                    wordNgrams=settings.word_ngrams,
                    dim=settings.dim,
                    bucket=settings.buckets,
                    minCount=settings.min_count,
                    seed=settings.seed,
                    thread=settings.threads,
                    loss="softmax",
                    verbose=0,
                )
                if settings.quantize:
                    model.quantize(input=data, retrain=True, qnorm=True, cutoff=100_000, thread=settings.threads, verbose=0)
                break
            except RuntimeError as exc:
                # fastText stops with "Encountered NaN." when training diverges; its advice
                # is a lower learning rate.
                if "NaN" not in str(exc):
                    raise
                if attempt == _NAN_ATTEMPTS:
                    raise ClassifierError(f"training diverged (NaN) {attempt} times, last at lr {lr}: lower --lr") from None
                log.warning("fastText training diverged at lr %s (NaN): training again at lr %s", lr, lr / 2)
                lr /= 2
        info = replace(info, lr=lr)
        directory = os.path.dirname(os.path.abspath(out_path))
        os.makedirs(directory, exist_ok=True)
        temporary = os.path.join(directory, f".{os.path.basename(out_path)}.tmp-{os.getpid()}")
        model.save_model(temporary)
        info = replace(info, model_bytes=os.path.getsize(temporary), model_sha256=file_sha256(temporary))
        os.replace(temporary, out_path)
    from corpus.writers import write_atomic

    write_atomic(info_path(out_path), (json.dumps(asdict(info), indent=2) + "\n").encode())
    return model


def read_info(model_path: str) -> ModelInfo:
    """MODEL.json, checked: every field known, and the model file of the size and SHA-256
    it names (fastText hangs, or silently scores 0.5, on a truncated file: checked first)."""
    if not os.path.isfile(model_path):
        raise ClassifierError(f"model not found: {model_path}")
    side = info_path(model_path)
    try:
        with open(side, encoding="utf-8") as handle:
            data = json.load(handle)
        info = ModelInfo(**data)
    except FileNotFoundError:
        raise ClassifierError(f"{side} not found: a model comes with it from `zhcorpus classifier train`") from None
    except (OSError, ValueError, TypeError) as exc:
        raise ClassifierError(f"{side}: unreadable ({exc})") from None
    if info.kind not in CLASSES or info.tokens not in ("words", "chars") or info.segment not in SEGMENT_METHODS:
        raise ClassifierError(f"{side}: unknown kind, tokens or segment in {data}")
    if os.path.getsize(model_path) != info.model_bytes or file_sha256(model_path) != info.model_sha256:
        raise ClassifierError(f"{model_path}: not the file {side} describes (truncated, corrupt or replaced)")
    try:  # MODEL.json may have been rewritten to match a broken file: the file itself must add up
        check_model_file(model_path)
    except ModelFileError as exc:
        raise ClassifierError(f"{model_path}: not a whole fastText model ({exc})") from None
    return info


def load(model_path: str):  # -> (fasttext model, ModelInfo)
    """Load a model and its MODEL.json; every problem is a ClassifierError with the reason."""
    import fasttext

    info = read_info(model_path)
    try:
        model = fasttext.load_model(model_path)
    except (ValueError, RuntimeError, MemoryError) as exc:
        raise ClassifierError(f"{model_path}: not a fastText model ({str(exc).strip() or type(exc).__name__})") from None
    labels = {label.removeprefix("__label__") for label in model.get_labels()}
    if labels != set(CLASSES[info.kind]):
        raise ClassifierError(f"{model_path}: labels {sorted(labels)} do not match its kind, {info.kind}")
    return model, info


def _windows(text: str, window_chars: int) -> tuple[list[str], bool]:
    """Pieces of about ``window_chars`` characters, cut at line ends (a longer line alone),
    and whether every cut fell at a line end (no line was longer than a window)."""
    if len(text) <= window_chars:
        return [], True
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    at_line_ends = True
    for line in _LINE_END.split(text):
        if size and size + len(line) > window_chars and size >= window_chars // 2:
            pieces.append("\n".join(current))
            current, size = [], 0
        while len(line) > window_chars:  # one very long line: cut it
            pieces.append(line[:window_chars])
            line = line[window_chars:]
            at_line_ends = False
        current.append(line)
        size += len(line) + 1
    if current and size:
        tail = "\n".join(current)
        if pieces and len(tail) < window_chars // 2:
            pieces[-1] = pieces[-1] + "\n" + tail  # a scrap alone would be judged on a few words
        else:
            pieces.append(tail)
    return pieces, at_line_ends


def scored_lines(text: str, window_chars: int, preprocessor: Preprocessor) -> list[str]:
    """The non-empty preprocessed lines a document is scored on: the whole text first, then
    its windows (``preprocessor`` of each, in order)."""
    windows, at_line_ends = _windows(text, window_chars)
    lines = [line for line in map(preprocessor, windows) if line]
    # Words never span a line end (jieba cuts there), so when the windows were cut at line
    # ends the whole text's words are theirs in order: it is segmented once, not twice.
    whole = " ".join(lines) if windows and at_line_ends else preprocessor(text)
    return [whole, *lines] if whole else lines


class Scorer:
    """``score(text)``: the model's score of a document, worst over the whole and windows."""

    def __init__(self, model_path: str, window_chars: int = 2000) -> None:
        self._model, self.info = load(model_path)
        self._preprocessor = Preprocessor(self.info.tokens, self.info.segment)
        self._label = f"__label__{self.info.score_label}"
        self._window_chars = window_chars

    def probabilities(self, lines: list[str]) -> list[float]:
        """P(score label) of each preprocessed line."""
        labels, probabilities = self._model.predict(lines, k=2)
        scores = []
        for names, values in zip(labels, probabilities, strict=True):
            found = dict(zip(names, values, strict=True))
            scores.append(min(1.0, max(0.0, float(found.get(self._label, 0.0)))))
        return scores

    def lines(self, text: str) -> list[str]:
        """The preprocessed lines ``text`` is scored on (empty: it has no words)."""
        return scored_lines(text, self._window_chars, self._preprocessor)

    def score(self, text: str) -> float:
        """The worst of the whole text's score and its windows' scores (``score_lines``)."""
        return self.score_lines(self.lines(text))

    def score_lines(self, lines: list[str]) -> float:
        """The worst score of a document's ``lines``. A text with no words at all gets the
        worst score there is (P(spam) 1, P(high) 0): a model says nothing useful about an
        empty line, and a document without words is not worth keeping."""
        if not lines:
            return 1.0 if self.info.kind == "spam" else 0.0
        scores = self.probabilities(lines)
        return max(scores) if self.info.kind == "spam" else min(scores)

    def rejects(self, score: float, threshold: float) -> bool:
        return score >= threshold if self.info.kind == "spam" else score < threshold


def _rates(rejected: list[bool], negative: list[bool]) -> dict[str, float]:
    true_positive = sum(r and n for r, n in zip(rejected, negative, strict=True))
    precision = true_positive / max(1, sum(rejected))
    recall = true_positive / max(1, sum(negative))
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "rejected": sum(rejected)}


def evaluate(scorer: Scorer, held_out: Sequence[Example], threshold: float = 0.5, examples: int = 3) -> dict[str, object]:
    """Precision, recall and F1 of rejecting the negatives, at ``threshold`` and at 0.1 ... 0.9,
    a few misclassified documents of each kind, and the model's AUC beside that of document
    length alone, on the held-out documents and on length-matched windows of them (where
    only what the text says can tell the classes apart)."""
    scores = [scorer.score(example.text) for example in held_out]
    negative = [example.negative for example in held_out]
    matched = length_matched(held_out, seed=0)
    matched_scores = [scorer.score(example.text) for example in matched]
    oriented = 1.0 if scorer.info.kind == "spam" else -1.0  # a high score means the negative class
    against_length = {
        "documents": {
            "model_auc": round(auc([oriented * s for s in scores], negative), 4),
            "length": length_baseline(held_out),
        },
        "length_matched": {
            "windows": len(matched),
            "model_auc": round(auc([oriented * s for s in matched_scores], [e.negative for e in matched]), 4),
            "length": length_baseline(matched),
        },
    }
    margin = against_length["length_matched"]["model_auc"] - against_length["length_matched"]["length"]["auc"]
    against_length["beats_length"] = bool(matched) and margin >= MARGIN_OVER_LENGTH
    table = {f"{t:.1f}": _rates([scorer.rejects(s, t) for s in scores], negative) for t in THRESHOLDS}
    at = _rates([scorer.rejects(s, threshold) for s in scores], negative)
    wrong_rejects = [(e, s) for e, s in zip(held_out, scores, strict=True) if not e.negative and scorer.rejects(s, threshold)]
    missed = [(e, s) for e, s in zip(held_out, scores, strict=True) if e.negative and not scorer.rejects(s, threshold)]

    def shown(pairs: list[tuple[Example, float]]) -> list[dict[str, object]]:
        worst = sorted(pairs, key=lambda pair: (-abs(pair[1] - threshold), pair[0].doc_id))[:examples]
        return [{"id": e.doc_id, "score": round(s, 4), "text": e.text[:200]} for e, s in worst]

    return {
        "kind": scorer.info.kind,
        "score": f"P({scorer.info.score_label})",
        "rejects": "score >= threshold" if scorer.info.kind == "spam" else "score < threshold",
        "held_out": {"positives": negative.count(False), "negatives": negative.count(True)},
        "threshold": threshold,
        **at,
        "thresholds": table,
        "positives_rejected": shown(wrong_rejects),
        "negatives_kept": shown(missed),
        "against_length": against_length,
    }


def report_table(report: dict) -> str:
    """The evaluation as a readable table."""
    lines = [
        f"{report['kind']} model: score {report['score']}, rejects when {report['rejects']}; held out "
        f"{report['held_out']['positives']} positives, {report['held_out']['negatives']} negatives",
        f"at {report['threshold']}: precision {report['precision']:.3f}, recall {report['recall']:.3f}, F1 {report['f1']:.3f}",
        "threshold  precision  recall     F1  rejected",
    ]
    for threshold, rates in report["thresholds"].items():
        lines.append(
            f"{threshold:>9}  {rates['precision']:9.3f}  {rates['recall']:6.3f}  {rates['f1']:5.3f}  {rates['rejected']:8d}"
        )
    versus = report.get("against_length")
    if versus:
        documents, matched = versus["documents"], versus["length_matched"]
        lines.append(
            f"AUC, model vs document length alone: held-out documents {documents['model_auc']:.3f} vs "
            f"{documents['length']['auc']:.3f} (length's best F1 {documents['length']['f1']:.3f}); "
            f"{matched['windows']} length-matched windows {matched['model_auc']:.3f} vs {matched['length']['auc']:.3f}"
            + ("" if versus["beats_length"] else f": the model does NOT beat length by {MARGIN_OVER_LENGTH}")
        )
    for title, key in (("positives rejected", "positives_rejected"), ("negatives kept", "negatives_kept")):
        for item in report[key]:
            snippet = item["text"].replace("\n", " ")[:80]
            lines.append(f"{title}: {item['id']} score {item['score']:.3f}: {snippet}")
    return "\n".join(lines)


def guess_format(path: str) -> str:
    """The reader format of a training file, from its name."""
    from corpus.readers import format_from_name

    found = format_from_name(path)
    if found is None:
        raise ClassifierError(f"{path}: cannot tell the format from the name; pass --format")
    return found


def read_examples(paths: Sequence[str], negative: bool, fmt: str | None, text_field: str) -> tuple[list[Example], int]:
    """Examples from files in any format the readers take; (examples, records skipped as errors)."""
    from corpus.readers import read_texts

    side = "negative" if negative else "positive"
    for path in paths:
        if not os.path.isfile(path):
            raise ClassifierError(f"--{side}: no such file: {path}")
        if fmt is None:
            guess_format(path)  # a file whose format cannot be told fails before any reading
    examples: list[Example] = []
    skipped = 0
    for path, doc in read_texts(paths, fmt, text_field):
        if doc is None:
            skipped += 1
        else:
            examples.append(Example(f"{side}:{os.path.basename(path)}:{doc.doc_id}", negative, doc.text))
    return examples, skipped


NEGATIVE_REASONS = (
    "advertisement",
    "sensitive_words",
    "navigation",
    "title_only",
    "too_short",
    "too_few_chinese",
    "repetitive_lines",
    "repetitive_ngrams",
)
"""Rule-stage rejections that can make weak negatives (measured on the sample: navigation-only,
mostly English, ad or sensitive hits); ``navigation`` stands for any document the clean
stage rejected after removing navigation lines from it."""


def weak_labels(
    config: RunConfig, run_dir: str, limit: int, seed: int, reasons: Sequence[str] = NEGATIVE_REASONS
) -> tuple[list[dict], list[dict]]:
    """(positives, negatives) from a finished run, at most ``limit`` each, chosen by seeded
    hashes of their ids (streamed: memory holds ``limit`` documents per side): kept
    documents of sources labelled high (positives) or low (negatives), and documents the
    rule stages rejected for one of ``reasons`` (negatives)."""
    import heapq

    from corpus import writers

    def kept(label: str) -> Iterator[tuple[int, str, dict]]:
        for source in config.sources:
            if source.quality_label != label:
                continue
            for path in writers.written_files(run_dir, f"{writers.KEPT}/{source.name}"):
                for doc in writers.read_written_file(path):
                    yield _ranked(doc, seed, f"kept, source labelled {label}")

    def rejected() -> Iterator[tuple[int, str, dict]]:
        for stage in ("clean", "sensitive"):  # the stages whose reasons these are (dedup's folder is large)
            for path in writers.written_files(run_dir, f"{writers.REJECTED}/{stage}"):
                for doc in writers.read_written_file(path):
                    removal = doc.removal
                    navigation = any(v.reason.value == "navigation_removed" for v in doc.verdicts)
                    navigation = navigation and stage == "clean" and "navigation" in reasons
                    if removal is not None and (removal.reason.value in reasons or navigation):
                        why = f"rejected {removal.stage}/{removal.reason.value}" + (", navigation removed" if navigation else "")
                        yield _ranked(doc, seed, why)

    def take(ranked: Iterable[tuple[int, str, dict]]) -> list[dict]:
        return [item for _, _, item in heapq.nsmallest(limit, ranked, key=lambda entry: entry[:2])]

    return take(kept("high")), take(chain(kept("low"), rejected()))


def _ranked(doc: Document, seed: int, why: str) -> tuple[int, str, dict]:
    name = f"{doc.source}/{doc.doc_id}"
    return stable_hash("label", doc.source, doc.doc_id, seed=seed), name, _labelled(doc, why)


def _labelled(doc, why: str) -> dict:
    return {"id": f"{doc.source}/{doc.doc_id}", "source": doc.source, "why": why, "text": doc.text}
