"""PanGu-alpha's tokenizer: jieba words, then SentencePiece, and back.

Encoding (as PanGu-alpha describes its tokenizer and shards): the text is segmented as
``jieba.cut(text, cut_all=False)`` does (``sampling/segment.py``, identical and faster);
inside each word a space becomes U+2582 and a newline U+2583; the words are joined by single
spaces and encoded by a SentencePiece model. Decoding runs it backwards: SentencePiece
decodes to the joined words, the joining spaces are removed and U+2582/U+2583 become space
and newline again. ``<eod>`` ends a document, ``<eot>`` is for the trainer's own use, and
``<pad>`` fills the end of the last sequence.

Models trained here (``train``) use BPE by default with: identity normalisation (no NFKC,
so the text is not changed behind the pipeline's back), no dummy prefix and no whitespace
collapsing (so decoding gives back the joined words exactly), byte fallback (a character
outside the vocabulary becomes its UTF-8 bytes, never ``<unk>``), ``<eod>``/``<eot>`` as
control symbols (a document that contains the literal text "<eod>" cannot forge a document
boundary) and ``<pad>`` as SentencePiece's pad piece. Training is single-threaded by
default: SentencePiece's BPE trainer gives a different (equally good) model for a
different thread count, and the same model for the same one.

Round trip: ``decode(encode(text)) == text`` for every text that holds none of U+2581
(SentencePiece's own space mark, which decodes to a joining space and is then removed),
U+2582 or U+2583 (decoded to space and newline); so ``encode(decode(ids)) == ids`` for ids
that ``encode`` made. A model trained elsewhere without byte fallback (PanGu's own 40k
vocabulary) maps characters it has never seen to ``<unk>``, which decodes to " ⁇ ".
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from sampling.segment import Segmenter, SegmentMethod

SPACE_MARK = "\u2582"
NEWLINE_MARK = "\u2583"
EOD = "<eod>"
EOT = "<eot>"
PAD = "<pad>"
UINT16_MAX_VOCAB = 1 << 16

_TO_MARKS = str.maketrans({" ": SPACE_MARK, "\n": NEWLINE_MARK})
_FROM_MARKS = str.maketrans({" ": None, SPACE_MARK: " ", NEWLINE_MARK: "\n"})
_JOINED_TO_PANGU = str.maketrans({"\x00": " ", " ": SPACE_MARK, "\n": NEWLINE_MARK})
_TRAIN_LINE_BYTES = 4000  # SentencePiece skips training sentences above max_sentence_length


class TokenizerError(Exception):
    """A tokenizer model that cannot be used: missing, not SentencePiece, no special tokens."""


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits (vocabularies up to 65,536), else int32."""
    return np.dtype(np.uint16) if vocab_size <= UINT16_MAX_VOCAB else np.dtype(np.int32)


def pangu_words(words: Iterable[str]) -> str:
    """Segmented words in PanGu's form: marks for space and newline, joined by spaces."""
    return " ".join(word.translate(_TO_MARKS) for word in words)


def from_pangu(joined: str) -> str:
    """The text back from PanGu's form (what SentencePiece decodes to)."""
    return joined.translate(_FROM_MARKS)


class Segmented:
    """text -> PanGu's segmented form, with the chosen segmentation method."""

    def __init__(self, method: SegmentMethod = "fast") -> None:
        self._segmenter = Segmenter(method)

    def __call__(self, text: str) -> str:
        joined = self._segmenter.joined(text)
        if joined is not None:
            return joined.translate(_JOINED_TO_PANGU)  # words hold no NUL: one C pass
        return pangu_words(self._segmenter.cut(text))


class Tokenizer:
    """PanGu's tokenizer over a SentencePiece model file.

    Built cheaply (a path and a method); the model and the dictionary load on first use,
    so a Beam DoFn can carry one and load it in ``setup()`` (call ``load()``).
    """

    def __init__(self, model_path: str, segment: SegmentMethod = "fast") -> None:
        self.model_path = model_path
        self.segment = segment
        self._processor = None
        self._segmented: Segmented | None = None
        self.eod_id = self.eot_id = self.pad_id = -1
        self.vocab_size = 0

    def __getstate__(self) -> dict:
        return {"model_path": self.model_path, "segment": self.segment}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["model_path"], state["segment"])  # type: ignore[misc]

    def load(self) -> Tokenizer:
        if self._processor is None:
            self._processor = load_model(self.model_path)
            self.vocab_size = self._processor.get_piece_size()
            self.eod_id, self.eot_id, self.pad_id = (self._processor.piece_to_id(p) for p in (EOD, EOT, PAD))
            self._segmented = Segmented(self.segment)
        return self

    @property
    def dtype(self) -> np.dtype:
        return token_dtype(self.load().vocab_size)

    def segmented(self, text: str) -> str:
        self.load()
        assert self._segmented is not None
        return self._segmented(text)

    def encode(self, text: str) -> list[int]:
        return self.load()._processor.encode(self.segmented(text))  # type: ignore[union-attr]

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        processor = self.load()._processor
        return processor.encode([self.segmented(text) for text in texts])  # type: ignore[union-attr]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; control tokens (``<eod>``, ``<eot>``, ``<pad>``) decode to nothing."""
        processor = self.load()._processor
        return from_pangu(processor.decode([int(i) for i in ids]))  # type: ignore[union-attr]

    def piece(self, token_id: int) -> str:
        return self.load()._processor.id_to_piece(int(token_id))  # type: ignore[union-attr]


def load_model(path: str):  # -> sentencepiece.SentencePieceProcessor
    """Load a SentencePiece model that has PanGu's special tokens, or say why not."""
    import sentencepiece as spm

    if not os.path.isfile(path):
        raise TokenizerError(f"tokenizer model not found: {path}")
    processor = spm.SentencePieceProcessor()
    try:
        processor.load(path)
    except (OSError, RuntimeError) as exc:
        raise TokenizerError(f"{path}: not a SentencePiece model ({str(exc).strip() or type(exc).__name__})") from None
    unk = processor.unk_id()
    missing = [piece for piece in (EOD, EOT, PAD) if processor.piece_to_id(piece) == unk]
    if missing:
        raise TokenizerError(f"{path}: the model has no {', '.join(missing)} token (PanGu's scheme needs <eod>, <eot>, <pad>)")
    return processor


def training_lines(texts: Iterable[str], segment: SegmentMethod = "fast") -> Iterator[str]:
    """Documents in PanGu's segmented form, cut at word boundaries into lines short enough
    for SentencePiece's trainer (pieces never cross a space, so the cut changes nothing)."""
    segmented = Segmented(segment)
    for text in texts:
        line: list[str] = []
        size = 0
        for word in segmented(text).split(" "):
            line.append(word)
            size += len(word.encode("utf-8", "surrogatepass")) + 1
            if size >= _TRAIN_LINE_BYTES:
                yield " ".join(line)
                line, size = [], 0
        if line and any(line):
            yield " ".join(line)


def train(
    texts: Iterable[str],
    out_path: str,
    vocab_size: int = 40_000,
    model_type: str = "bpe",
    segment: SegmentMethod = "fast",
    threads: int = 1,
    character_coverage: float = 0.9995,
) -> dict[str, object]:
    """Train a SentencePiece model in PanGu's scheme on ``texts``; write it atomically to
    ``out_path`` (plus ``.vocab`` next to it). Returns the training facts for a report."""
    import sentencepiece as spm

    lines = list(training_lines(texts, segment))
    if not lines:
        raise TokenizerError("no text to train the tokenizer on (the run kept no documents?)")
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=model,
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=character_coverage,
            normalization_rule_name="identity",
            add_dummy_prefix=False,
            remove_extra_whitespaces=False,
            split_by_whitespace=True,
            byte_fallback=True,
            unk_id=0,
            pad_id=1,
            pad_piece=PAD,
            bos_id=-1,
            eos_id=-1,
            control_symbols=[EOD, EOT],
            required_chars=SPACE_MARK + NEWLINE_MARK,
            num_threads=threads,
            max_sentence_length=_TRAIN_LINE_BYTES * 4 + 64,
            input_sentence_size=0,
            minloglevel=2,
        )
    except RuntimeError as exc:
        raise TokenizerError(f"SentencePiece could not train this model: {str(exc).strip()}") from None
    data = model.getvalue()
    from corpus.writers import write_atomic

    write_atomic(out_path, data)
    processor = spm.SentencePieceProcessor(model_proto=data)
    vocab = "".join(f"{processor.id_to_piece(i)}\t{processor.get_score(i):g}\n" for i in range(processor.get_piece_size()))
    write_atomic(os.path.splitext(out_path)[0] + ".vocab", vocab.encode("utf-8"))
    return {
        "model": out_path,
        "vocab_size": processor.get_piece_size(),
        "model_type": model_type,
        "segment": segment,
        "training_lines": len(lines),
        "training_bytes": sum(len(line.encode("utf-8", "surrogatepass")) for line in lines),
        "threads": threads,
    }
