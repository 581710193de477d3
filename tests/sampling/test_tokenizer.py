"""PanGu's tokenizer: the scheme, round trips on real text, special tokens, training, and
the model problems that must be clear errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import jieba
import numpy as np
import pytest
import sentencepiece as spm

from corpus.record import Document
from sampling import tokenizer as tk


def test_segmented_form_is_pangus(tokenizer: tk.Tokenizer) -> None:
    text = "今天 天气\n很好"
    words = jieba.lcut(text)
    expected = " ".join(word.replace(" ", "\u2582").replace("\n", "\u2583") for word in words)
    assert tokenizer.segmented(text) == expected
    assert tokenizer.segmented(text) == tk.pangu_words(words)
    assert tk.from_pangu(expected) == text
    assert tokenizer.segmented("a\x00b 中文") == tk.pangu_words(jieba.lcut("a\x00b 中文"))  # the NUL path


def test_round_trip_on_real_documents_of_every_source(tokenizer: tk.Tokenizer, documents: list[Document]) -> None:
    ids = tokenizer.encode_many([doc.text for doc in documents])
    for doc, doc_ids in zip(documents, ids, strict=True):
        assert tokenizer.decode(doc_ids) == doc.text, doc.doc_id
        assert tokenizer.encode(tokenizer.decode(doc_ids)) == doc_ids, doc.doc_id
    assert max(max(i) for i in ids if i) < tokenizer.vocab_size


def test_round_trip_of_whitespace_rare_characters_and_markup(tokenizer: tk.Tokenizer) -> None:
    for text in ["", " ", "\n\n", "  两个空格\t制表符\r\nCRLF", "生僻字𠀋𪚥和emoji😀", "<eod> is text, not a token"]:
        assert tokenizer.decode(tokenizer.encode(text)) == text


def test_special_tokens_cannot_be_forged_by_text(tokenizer: tk.Tokenizer) -> None:
    assert len({tokenizer.eod_id, tokenizer.eot_id, tokenizer.pad_id}) == 3
    ids = tokenizer.encode("文档<eod>里面<pad>")
    assert tokenizer.eod_id not in ids and tokenizer.pad_id not in ids
    assert tokenizer.decode([*tokenizer.encode("上文"), tokenizer.eod_id, *tokenizer.encode("下文")]) == "上文下文"


def test_documented_non_round_trip_marks(tokenizer: tk.Tokenizer) -> None:
    """U+2582/U+2583 in the input come back as space/newline (module docstring)."""
    assert tokenizer.decode(tokenizer.encode("a\u2582b\u2583c")) == "a b\nc"


def test_training_is_reproducible(documents: list[Document], tmp_path: Path) -> None:
    texts = [doc.text for doc in documents[::4]]
    first = tk.train(texts, str(tmp_path / "a.model"), vocab_size=4000)
    tk.train(texts, str(tmp_path / "b.model"), vocab_size=4000)
    digest = [hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() for name in ("a.model", "b.model")]
    assert digest[0] == digest[1]
    assert first["vocab_size"] == 4000 and first["model_type"] == "bpe"
    assert (tmp_path / "a.vocab").read_text(encoding="utf-8").splitlines()[1].startswith("<pad>")


def test_tiny_vocabulary_still_round_trips_through_byte_fallback(documents: list[Document], tmp_path: Path) -> None:
    short = [doc.text for doc in documents if doc.source == "ebooks"][:10]
    info = tk.train(short, str(tmp_path / "tiny.model"), vocab_size=1000, character_coverage=1.0)
    tiny = tk.Tokenizer(str(tmp_path / "tiny.model")).load()
    assert info["vocab_size"] == 1000 and tiny.dtype == np.uint16
    for doc in documents[::40]:  # mostly characters the tiny model never saw
        assert tiny.decode(tiny.encode(doc.text)) == doc.text


def test_dtype_follows_the_vocabulary() -> None:
    assert tk.token_dtype(40_000) == np.uint16
    assert tk.token_dtype(65_536) == np.uint16
    assert tk.token_dtype(65_537) == np.int32


def test_unigram_model_type(documents: list[Document], tmp_path: Path) -> None:
    tk.train([doc.text for doc in documents[::6]], str(tmp_path / "u.model"), vocab_size=3000, model_type="unigram")
    unigram = tk.Tokenizer(str(tmp_path / "u.model")).load()
    assert unigram.decode(unigram.encode(documents[0].text)) == documents[0].text


def test_model_problems_are_clear_errors(tmp_path: Path, documents: list[Document]) -> None:
    with pytest.raises(tk.TokenizerError, match="not found"):
        tk.load_model(str(tmp_path / "missing.model"))
    (tmp_path / "junk.model").write_bytes(b"not a model at all")
    with pytest.raises(tk.TokenizerError, match="not a SentencePiece model"):
        tk.load_model(str(tmp_path / "junk.model"))
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(doc.text for doc in documents[:50]),
        model_prefix=str(tmp_path / "plain"),
        vocab_size=800,
        minloglevel=2,
    )
    with pytest.raises(tk.TokenizerError, match="no <eod>, <eot>, <pad> token"):
        tk.load_model(str(tmp_path / "plain.model"))
    with pytest.raises(tk.TokenizerError, match="no text"):
        tk.train(["", ""], str(tmp_path / "empty.model"), vocab_size=100)
    with pytest.raises(tk.TokenizerError, match="Vocabulary size is smaller than required_chars"):
        tk.train([doc.text for doc in documents[:50]], str(tmp_path / "small.model"), vocab_size=100)
    assert not (tmp_path / "small.model").exists()
