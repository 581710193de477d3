"""The record: immutable, carries its verdicts, round-trips through JSON."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle

import pytest

from corpus.ids import stable_fraction, stable_hash
from corpus.reasons import Kind, Reason
from corpus.record import Batch, Document, Verdict, batched, make_meta


def _doc() -> Document:
    return Document("d1", "news", "中文文本", make_meta({"path": "a.jsonl", "line": 3}))


def test_document_is_frozen_and_with_verdict_returns_a_new_one() -> None:
    doc = _doc()
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.text = "x"  # type: ignore[misc]
    judged = doc.with_verdict(Verdict("clean", Reason.TOO_SHORT, 4.0, "4 < 150"))
    assert doc.verdicts == () and doc.removal is None
    assert judged.verdicts == (Verdict("clean", Reason.TOO_SHORT, 4.0, "4 < 150"),)
    assert judged.is_rejected and not judged.is_error and judged.removal is judged.verdicts[0]
    repaired = doc.with_verdict(Verdict("read", Reason.UNDECODABLE_TEXT), text="别的")
    assert repaired.text == "别的" and doc.text == "中文文本" and repaired.is_error


def test_annotate_verdicts_do_not_remove() -> None:
    doc = _doc().with_verdict(Verdict("clean", Reason.TOO_SHORT, 4.0, enforced=False))
    assert doc.removal is None and not doc.is_rejected


def test_meta_is_sorted_pairs_and_immutable() -> None:
    doc = _doc().with_meta(url="http://x", line=4)
    assert doc.meta == (("line", 4), ("path", "a.jsonl"), ("url", "http://x"))
    assert doc.meta_value("url") == "http://x" and doc.meta_value("missing", 0) == 0
    assert {doc.meta}  # usable in a set: hashable, truly immutable


def test_dict_round_trip_and_pickle() -> None:
    doc = _doc().with_verdict(Verdict("clean", Reason.TOO_FEW_CHINESE, 0.2, "share", enforced=False))
    assert Document.from_dict(doc.to_dict()) == doc
    assert pickle.loads(pickle.dumps(doc)) == doc
    assert doc.size_bytes == len("中文文本".encode())


def test_every_reason_has_a_kind() -> None:
    assert {reason.kind for reason in Reason} == {Kind.ERROR, Kind.REJECT, Kind.REPAIR, Kind.SCORE}
    assert Reason.CONVERTED_TO_SIMPLIFIED.kind is Kind.REPAIR
    assert Reason.TRUNCATED_FILE.kind is Kind.ERROR and Reason.TOO_SHORT.kind is Kind.REJECT
    assert len({reason.value for reason in Reason}) == len(Reason)


def test_stable_hash_is_fixed_across_processes() -> None:
    # The definition, spelled out: a change here changes every shard assignment and sample.
    expected = int.from_bytes(hashlib.blake2b(b"0\x1fnews\x1fd1", digest_size=8).digest(), "big")
    assert stable_hash("news", "d1") == expected == 9033217147933890071
    assert stable_hash("news", "d1", seed=1) != stable_hash("news", "d1")
    assert stable_hash("a", "bc") != stable_hash("ab", "c")
    assert 0 <= stable_fraction("x") < 1


def test_batches_keep_every_document_in_order_within_their_limits() -> None:
    docs = [Document(f"d{i}", "news", "新" * (i % 7) * 100) for i in range(50)]
    by_count = list(batched(docs, max_docs=8, max_chars=10**9))
    assert [len(batch) for batch in by_count] == [8] * 6 + [2]
    by_chars = list(batched(docs, max_docs=10**9, max_chars=1000))
    assert all(sum(len(doc.text) for doc in batch.docs[:-1]) < 1000 for batch in by_chars), "a batch closes at the limit"
    for batches in (by_count, by_chars):
        assert [doc for batch in batches for doc in batch.docs] == docs and all(batches)
    assert list(batched([])) == []
    one = by_chars[0]
    assert pickle.loads(pickle.dumps(one)) == one and isinstance(one, Batch)
