"""The one record that flows through every stage, and the verdicts it carries.

Beam forbids changing an input element, and reports need to know why each document left,
so a ``Document`` is frozen: a stage returns a new one (``with_verdict``) that carries the
stage's verdict along with every earlier one.

``meta`` is a tuple of ``(key, value)`` pairs sorted by key, not a dict: it is truly
immutable, hashable, and serialises in one order on every runner.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from corpus.reasons import Kind, Reason

MetaValue = str | int | float | bool | None
Meta = tuple[tuple[str, MetaValue], ...]


def exception_detail(exc: BaseException) -> str:
    """What an error record says about an exception: its type and message, at most 500
    characters (a message can quote a whole document)."""
    return f"{type(exc).__name__}: {exc}"[:500]


def make_meta(values: Mapping[str, MetaValue] | Iterable[tuple[str, MetaValue]]) -> Meta:
    pairs = values.items() if isinstance(values, Mapping) else values
    return tuple(sorted(dict(pairs).items()))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one stage said about one document.

    ``enforced`` is False when the stage ran in annotate mode: the reason and score are
    recorded (to tune thresholds) but the document is not removed.
    """

    stage: str
    reason: Reason
    score: float | None = None
    detail: str = ""
    enforced: bool = True

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        # Plain tuples pickle several times faster than a slotted dataclass's state, and
        # Beam pickles every element at each fusion break.
        return (Verdict, (self.stage, self.reason, self.score, self.detail, self.enforced))

    @property
    def removes(self) -> bool:
        return self.enforced and self.reason.kind in (Kind.ERROR, Kind.REJECT)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "reason": self.reason.value,
            "score": self.score,
            "detail": self.detail,
            "enforced": self.enforced,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        return cls(
            stage=data["stage"],
            reason=Reason(data["reason"]),
            score=data.get("score"),
            detail=data.get("detail", ""),
            enforced=data.get("enforced", True),
        )


@dataclass(frozen=True, slots=True)
class Document:
    doc_id: str
    source: str
    text: str
    meta: Meta = ()
    verdicts: tuple[Verdict, ...] = field(default=())

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (Document, (self.doc_id, self.source, self.text, self.meta, self.verdicts))

    def with_verdict(self, verdict: Verdict, text: str | None = None) -> Document:
        """A new document with ``verdict`` appended (and the text replaced, for repairs)."""
        # Direct construction: dataclasses.replace introspects the fields on every call,
        # and this runs several times per document in every stage.
        return Document(self.doc_id, self.source, self.text if text is None else text, self.meta, (*self.verdicts, verdict))

    def with_meta(self, **values: MetaValue) -> Document:
        return Document(self.doc_id, self.source, self.text, make_meta({**dict(self.meta), **values}), self.verdicts)

    def meta_value(self, key: str, default: MetaValue = None) -> MetaValue:
        for name, value in self.meta:
            if name == key:
                return value
        return default

    @property
    def removal(self) -> Verdict | None:
        """The verdict that removed this document (error or enforced rejection), if any."""
        for verdict in self.verdicts:
            if verdict.removes:
                return verdict
        return None

    @property
    def is_error(self) -> bool:
        removal = self.removal
        return removal is not None and removal.reason.kind is Kind.ERROR

    @property
    def is_rejected(self) -> bool:
        removal = self.removal
        return removal is not None and removal.reason.kind is Kind.REJECT

    @property
    def size_bytes(self) -> int:
        return len(self.text.encode("utf-8", "replace"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.doc_id,
            "source": self.source,
            "text": self.text,
            "meta": dict(self.meta),
            "verdicts": [verdict.to_dict() for verdict in self.verdicts],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Document:
        return cls(
            doc_id=data["id"],
            source=data["source"],
            text=data["text"],
            meta=make_meta(data.get("meta", {})),
            verdicts=tuple(Verdict.from_dict(v) for v in data.get("verdicts", ())),
        )


BATCH_DOCS = 500
"""At most this many documents travel together between steps ..."""
BATCH_CHARS = 1_000_000
"""... and about this many characters of text at most (a batch closes once it reaches them)."""


@dataclass(frozen=True, slots=True)
class Batch:
    """Documents that travel together between the steps of a run: one element instead of
    hundreds. Beam's cost per element (encoding at every fusion break, bundle processing,
    the runner's shuffle buffers, counters) is paid once per batch, and one pickle of a
    batch names the Document and Verdict classes once. Which documents share a batch
    depends on how a runner cut the work; nothing downstream depends on it (writers sort,
    counts add up, dedup compares documents one by one)."""

    docs: tuple[Document, ...]

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (Batch, (self.docs,))

    def __len__(self) -> int:
        return len(self.docs)


def batch_full(docs: int, chars: int, max_docs: int = BATCH_DOCS, max_chars: int = BATCH_CHARS) -> bool:
    """Does a batch of ``docs`` documents and ``chars`` characters close now?"""
    return docs >= max_docs or chars >= max_chars


def batched(docs: Iterable[Document], max_docs: int = BATCH_DOCS, max_chars: int = BATCH_CHARS) -> Iterator[Batch]:
    """``docs`` cut into batches in order (none empty)."""
    current: list[Document] = []
    size = 0
    for doc in docs:
        current.append(doc)
        size += len(doc.text)
        if batch_full(len(current), size, max_docs, max_chars):
            yield Batch(tuple(current))
            current, size = [], 0
    if current:
        yield Batch(tuple(current))
