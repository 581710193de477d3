"""Writers (sorted, atomic, deterministic) and the run's accounting."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from corpus import stats, writers
from corpus.reasons import Reason
from corpus.record import Document, Verdict, make_meta


def _docs() -> list[Document]:
    kept = [Document(f"k{i}", "news", "新闻" * i, make_meta({"in_bytes": 6 * i})) for i in range(1, 6)]
    rejected = Document("r1", "web", "短", make_meta({"in_bytes": 3})).with_verdict(Verdict("clean", Reason.TOO_SHORT, 1.0))
    error = Document("e1", "web", "{bad", make_meta({"in_bytes": 4})).with_verdict(Verdict("read", Reason.MALFORMED_JSON))
    crashed = Document("c1", "web", "页面", make_meta({"in_bytes": 6})).with_verdict(Verdict("clean", Reason.STAGE_EXCEPTION))
    return [*kept, rejected, error, crashed]


def test_folder_of_each_outcome() -> None:
    folders = [writers.folder_of(doc) for doc in _docs()]
    assert folders == ["kept/news"] * 5 + ["rejected/clean", "errors", "errors"]


def test_shard_count_and_assignment_are_data_only() -> None:
    assert writers.shard_count(0, 100) == 1 and writers.shard_count(100, 100) == 1 and writers.shard_count(101, 100) == 2
    doc = _docs()[0]
    assert writers.shard_of(doc, 7) == writers.shard_of(Document(doc.doc_id, doc.source, "other text"), 7)


@pytest.mark.parametrize("output_format", ["jsonl", "jsonl.gz", "parquet"])
def test_write_shard_sorts_and_round_trips(tmp_path: Path, output_format: str) -> None:
    docs = _docs()[:5]
    first = writers.write_shard(str(tmp_path / "a"), "kept/news", 0, 1, reversed(docs), output_format)
    second = writers.write_shard(str(tmp_path / "b"), "kept/news", 0, 1, docs, output_format)
    assert first == second  # same bytes whatever the input order
    assert first.path == f"kept/news/part-00000-of-00001.{writers.extension(output_format)}" and first.docs == 5
    in_order = sorted(docs, key=lambda d: (writers.doc_hash(d), writers.json_line(d)))
    assert writers.read_written(str(tmp_path / "a"), "kept/news") == in_order
    assert not [name for name in os.listdir(tmp_path / "a" / "kept" / "news") if ".tmp" in name]


def test_shard_hash_ranges_are_where_shard_of_puts_documents() -> None:
    for count in (1, 2, 3, 7, 1000):
        ranges = [writers.shard_hashes(index, count) for index in range(count)]
        assert ranges[0][0] == 0 and ranges[-1][1] == 1 << 64
        assert all(ranges[i][1] == ranges[i + 1][0] for i in range(count - 1))  # they tile the hash range
        for index, (low, high) in enumerate(ranges):
            for h in (low, high - 1):
                doc_shard = (h * count) >> 64
                assert doc_shard == index
    docs = [Document(f"d{i}", "news", "文") for i in range(500)]
    for doc in docs:
        low, high = writers.shard_hashes(writers.shard_of(doc, 7), 7)
        assert low <= writers.doc_hash(doc) < high


@pytest.mark.parametrize("output_format", ["jsonl", "jsonl.gz", "parquet"])
def test_shards_merged_from_pieces_are_the_shards_written_directly(tmp_path: Path, output_format: str) -> None:
    """However the documents are cut into pieces, each shard is the same file as one
    written from its documents directly; a piece's range read returns exactly its hashes."""
    docs = [Document(f"d{i:03d}", "news", "新闻" * (i % 17 + 1), make_meta({"line": i})) for i in range(300)]
    pieces_dir = str(tmp_path / writers.PIECES)
    pieces = []
    for cut in (range(0, 120), range(120, 121), range(121, 300)):  # uneven pieces, one of a single document
        part = [docs[i] for i in cut]
        pieces.append(writers.write_piece(pieces_dir, "kept/news", [writers.record_of(d) for d in reversed(part)], 0))
    every = sorted(writers.record_of(d) for d in docs)
    assert sorted(r for piece in pieces for r in writers.read_piece(piece)) == every
    count = 4
    for index in range(count):
        low, high = writers.shard_hashes(index, count)
        in_range = [r for piece in pieces for r in writers.read_piece(piece, low, high)]
        assert sorted(in_range) == [r for r in every if low <= r[0] < high]
        merged = writers.merge_shard(str(tmp_path / "merged"), "kept/news", index, count, reversed(pieces), output_format)
        direct = writers.write_shard(
            str(tmp_path / "direct"),
            "kept/news",
            index,
            count,
            [d for d in docs if writers.shard_of(d, count) == index],
            output_format,
        )
        assert merged == direct and merged.docs > 0
    assert sorted(writers.read_written(str(tmp_path / "merged"), "kept/news"), key=lambda d: d.doc_id) == docs
    writers.remove_pieces(str(tmp_path))
    assert not os.path.exists(pieces_dir)


def test_a_piece_with_a_damaged_index_is_refused(tmp_path: Path) -> None:
    piece = writers.write_piece(str(tmp_path), "errors", [writers.record_of(d) for d in _docs()], 0)
    with open(piece.path + ".index", "r+b") as handle:
        handle.truncate(8)
    with pytest.raises(OSError, match="index holds 1 numbers, expected 16"):
        writers.read_piece(piece)


def test_gzip_output_has_no_timestamp(tmp_path: Path) -> None:
    written = writers.write_shard(str(tmp_path), "errors", 0, 1, _docs()[:1], "jsonl.gz")
    data = (tmp_path / written.path).read_bytes()
    assert data[4:8] == b"\x00\x00\x00\x00"  # MTIME field of the gzip header
    assert gzip.decompress(data).decode().startswith('{"id": "k1"')


def test_accounting_per_source_and_stage_funnel() -> None:
    lists = {"news": (), "web": ("clean",)}
    acc: stats.Accumulator = {}
    for doc in _docs():
        stats.add_document(acc, doc, lists)
    merged = stats.merge([acc, {}])
    result = stats.finish(merged, {**lists, "empty": ()})
    web = result["web"]
    assert (web["docs_in"], web["docs_kept"], web["docs_rejected"], web["docs_error"]) == (
        3,
        0,
        {"clean/too_short": 1},
        {"malformed_json": 1, "stage_exception": 1},
    )
    assert web["bytes_in"] == 3 + 4 + 6
    assert web["stages"] == {"clean": {"docs_in": 2, "docs_out": 0, "bytes_out": 0}}  # the read error never entered clean
    assert web["bytes_rejected_by"] == {"clean/too_short": 3} and web["bytes_error_by"] == {
        "malformed_json": 4,
        "stage_exception": 6,
    }
    assert web["examples"]["clean/too_short"] == [{"id": "r1", "text": "短", "chars": 1, "detail": ""}]
    news = result["news"]
    assert (news["docs_in"], news["docs_kept"], news["bytes_kept"]) == (5, 5, sum(6 * i for i in range(1, 6)))
    assert result["empty"]["docs_in"] == 0


def test_merge_equals_single_pass() -> None:
    lists = {"news": (), "web": ("clean",)}
    docs = _docs()
    whole: stats.Accumulator = {}
    for doc in docs:
        stats.add_document(whole, doc, lists)
    left: stats.Accumulator = {}
    right: stats.Accumulator = {}
    for index, doc in enumerate(docs):
        stats.add_document(left if index % 2 else right, doc, lists)
    assert stats.finish(stats.merge([left, right]), lists) == stats.finish(whole, lists)


def test_broken_invariant_fails_loudly() -> None:
    acc: stats.Accumulator = {}
    stats.add_document(acc, _docs()[0], {"news": ()})
    acc["news"]["docs_in"] += 1
    with pytest.raises(stats.AccountingError):
        stats.finish(acc, {"news": ()})


def test_counts_are_checked_against_readers_and_writers() -> None:
    lists = {"news": (), "web": ("clean",)}
    acc: stats.Accumulator = {}
    for doc in _docs():
        stats.add_document(acc, doc, lists)
    assert stats.finish(acc, lists, docs_read={"news": 5, "web": 3}, docs_written=8)
    with pytest.raises(stats.AccountingError, match="readers produced 4 documents, 3 reached the end"):
        stats.finish(acc, lists, docs_read={"news": 5, "web": 4})  # a stage dropped one
    with pytest.raises(stats.AccountingError, match="8 documents reached the end but 7 were written"):
        stats.finish(acc, lists, docs_read={"news": 5, "web": 3}, docs_written=7)


def test_histograms_terms_repairs_and_examples() -> None:
    lists = {"web": ("clean", "sensitive", "spam")}
    meta = make_meta({"in_bytes": 900, "chinese_share": 0.95})
    base = Document("a", "web", "中" * 120, meta).with_verdict(Verdict("clean", Reason.NAVIGATION_REMOVED, 4.0))
    kept = base.with_verdict(Verdict("spam", Reason.SPAM_SCORE, 0.12))
    sensitive = Document("b", "web", "赌" * 3000, meta).with_verdict(
        Verdict("sensitive", Reason.SENSITIVE_WORDS, 4.0, "gambling: 4 distinct hits > max_hits=3: 六合彩, 博彩, 百家乐, 赌博")
    )
    spam = Document("c", "web", "广告" * 40, meta).with_verdict(Verdict("spam", Reason.SPAM, 0.97, "P(spam) 0.9700"))
    many = [Document(f"r{i}", "web", "短" * i).with_verdict(Verdict("clean", Reason.TOO_SHORT, 1.0)) for i in range(1, 9)]
    acc: stats.Accumulator = {}
    for doc in [kept, sensitive, spam, *many]:
        stats.add_document(acc, doc, lists)
    web = stats.finish(acc, lists)["web"]
    histograms = web["histograms"]
    assert histograms["chars"]["edges"][:4] == [0, 50, 100, 150]
    assert histograms["chars"]["kept"][2] == 1 and sum(histograms["chars"]["removed"]) == 10  # 120 chars: bin 100-149
    assert histograms["chars"]["removed"][7] == 1  # 3,000 characters: bin 2,000-4,999
    assert histograms["chinese_share"]["kept"][9] == 1 and histograms["chinese_share"]["removed"][9] == 2
    assert histograms["spam"]["kept"][2] == 1 and histograms["spam"]["removed"][19] == 1  # 0.12 -> 0.10-0.15; 0.97 -> last
    assert web["sensitive_terms"] == {"gambling": [["六合彩", 1], ["博彩", 1], ["百家乐", 1], ["赌博", 1]]}
    assert web["repairs"] == {"clean/navigation_removed": 1} and web["repair_amounts"] == {"clean/navigation_removed": 4}
    assert web["stages"]["clean"] == {
        "docs_in": 11,
        "docs_out": 3,
        "bytes_out": kept.size_bytes + sensitive.size_bytes + spam.size_bytes,
    }
    examples = web["examples"]["clean/too_short"]
    assert len(examples) == stats.EXAMPLES
    # the same examples whatever the order and split of the documents (the smallest hashes of the ids)
    left: stats.Accumulator = {}
    right: stats.Accumulator = {}
    for index, doc in enumerate(reversed([kept, sensitive, spam, *many])):
        stats.add_document(left if index % 3 else right, doc, lists)
    assert stats.finish(stats.merge([left, right]), lists) == stats.finish(acc, lists)
