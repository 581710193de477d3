"""A large plain JSONL or lines file read in parts (``split_file``) gives the documents of
the whole file: the same ids, texts, line numbers and error records, in the same order."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import zstandard

from corpus.config import InputFile, ReadConfig, SourceConfig
from corpus.readers import read_file, split_file
from corpus.reasons import Reason
from corpus.record import Document
from tests.conftest import source


def _news_lines(sample_dir: Path) -> list[bytes]:
    """The People's Daily sample's JSONL lines, real Chinese news (about 2 MB)."""
    raw = (sample_dir / "news" / "peoples-daily-199801.jsonl.zst").read_bytes()
    return zstandard.ZstdDecompressor().decompressobj().decompress(raw).splitlines()


def _whole_and_parts(
    path: Path, src: SourceConfig, split_bytes: int, max_doc_bytes: int = 10_000_000
) -> tuple[list[Document], list[Document], int]:
    file = InputFile(str(path), path.name)
    read = ReadConfig(split_bytes=split_bytes, max_doc_bytes=max_doc_bytes)
    whole = list(read_file(file, src, ReadConfig(split_bytes=0, max_doc_bytes=max_doc_bytes)))
    parts = split_file(file, src, read)
    assert all(part.path == file.path and part.rel == file.rel for part in parts)
    from_parts = [doc for part in parts for doc in read_file(part, src, read)]
    return whole, from_parts, len(parts)


def test_news_with_every_kind_of_broken_line(sample_dir: Path, tmp_path: Path) -> None:
    """Real news with blank lines, bad JSON, invalid UTF-8, a line over max_doc_bytes and no
    line feed at the end, cut into parts of 64 KB: every document and error record the
    whole file gives, with the same ids and positions, and nothing else."""
    lines = _news_lines(sample_dir)[:600]
    lines[10:10] = [b"", b"   ", b'{"id": "broken", "text": ']  # blank, blank, malformed
    lines[200:200] = [b'{"text": "\xff\xfe bad bytes"}', b'{"text": "' + "长".encode() * 40_000 + b'"}']
    lines[400:400] = ['{"id": 7, "text": "数字编号"}'.encode(), b"[1, 2]"]
    path = tmp_path / "news.jsonl"
    path.write_bytes(b"\n".join(lines))  # no line feed after the last line
    whole, from_parts, count = _whole_and_parts(path, source("jsonl"), 64 * 1024, max_doc_bytes=100_000)
    assert count > 10
    assert [doc.to_dict() for doc in from_parts] == [doc.to_dict() for doc in whole]
    found = {doc.removal.reason for doc in whole if doc.removal}
    assert {Reason.MALFORMED_JSON, Reason.UNDECODABLE_TEXT, Reason.DOCUMENT_TOO_LARGE} <= found
    assert whole[-1].meta_value("line") == len(lines)


def test_lines_format_without_ids_keeps_line_numbers(sample_dir: Path, tmp_path: Path) -> None:
    """Ids of a lines file are "<file>:<line>": a part must count the lines before it."""
    texts = _news_lines(sample_dir)[:400]
    path = tmp_path / "news.txt"
    path.write_bytes(b"\n\n".join(texts) + b"\n")  # a blank line between documents
    whole, from_parts, count = _whole_and_parts(path, source("lines"), 32 * 1024)
    assert count > 10
    assert [doc.doc_id for doc in from_parts] == [doc.doc_id for doc in whole]
    assert [doc.to_dict() for doc in from_parts] == [doc.to_dict() for doc in whole]
    assert whole[1].doc_id == "news.txt:3"


def test_gbk_file_is_cut_at_line_ends(sample_dir: Path, tmp_path: Path) -> None:
    """GBK without a declaration: the whole file's encoding goes to every part (a part in
    the middle could not be sniffed alone), and 0x0A is never inside a GBK character."""
    text = b"\n".join(_news_lines(sample_dir)[:300]).decode("utf-8")
    path = tmp_path / "news-gbk.jsonl"
    path.write_bytes(text.encode("gbk", "replace"))
    whole, from_parts, count = _whole_and_parts(path, source("jsonl"), 64 * 1024)
    assert count > 5
    assert {
        part.encoding for part in split_file(InputFile(str(path), path.name), source("jsonl"), ReadConfig(split_bytes=65536))
    } == {"gb18030"}
    assert [doc.to_dict() for doc in from_parts] == [doc.to_dict() for doc in whole]
    assert all(doc.removal is None for doc in whole[:50])


def test_parts_cover_the_file_at_line_starts(sample_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    path.write_bytes(b"\n".join(_news_lines(sample_dir)) + b"\n")
    data = path.read_bytes()
    parts = split_file(InputFile(str(path), path.name), source("jsonl"), ReadConfig(split_bytes=100_000))
    assert parts[0].start == 0 and parts[-1].end == len(data)
    for before, after in itertools.pairwise(parts):
        assert before.end == after.start and data[after.start - 1 : after.start] == b"\n"
        assert after.first_line == data[: after.start].count(b"\n")
    sizes = [part.end - part.start for part in parts]  # type: ignore[operator]
    assert min(sizes) >= 50_000  # the last part is not a sliver


@pytest.mark.parametrize(
    ("name", "content", "fmt"),
    [
        ("small.jsonl", b'{"text": "\xe5\x8d\x81"}\n' * 10, "jsonl"),  # under twice split_bytes
        ("news.jsonl.gz", None, "jsonl"),  # compressed: no seeking
        ("utf16.txt", ("第一行\n" * 20_000).encode("utf-16"), "lines"),  # 0x0A inside characters
        ("blank.jsonl", b"\n   \n\t\n" * 20_000, "jsonl"),  # no record: one empty_file record
        ("page.html", b"<p>x</p>\n" * 20_000, "text"),  # one document per file
    ],
)
def test_files_that_stay_whole(tmp_path: Path, name: str, content: bytes | None, fmt: str) -> None:
    path = tmp_path / name
    path.write_bytes(content if content is not None else b"\x1f\x8b" + bytes(range(256)) * 800)  # gzip-like bytes
    file = InputFile(str(path), name)
    assert split_file(file, source(fmt), ReadConfig(split_bytes=4096)) == [file]


def test_blank_file_still_counts_once(tmp_path: Path) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_bytes(b"\n \n" * 50_000)
    file = InputFile(str(path), path.name)
    parts = split_file(file, source("jsonl"), ReadConfig(split_bytes=4096))
    docs = [doc for part in parts for doc in read_file(part, source("jsonl"), ReadConfig())]
    assert [doc.removal.reason for doc in docs if doc.removal] == [Reason.EMPTY_FILE]


def test_missing_file_stays_whole_and_is_reported(tmp_path: Path) -> None:
    file = InputFile(str(tmp_path / "gone.jsonl"), "gone.jsonl")
    assert split_file(file, source("jsonl"), ReadConfig(split_bytes=4096)) == [file]
    docs = list(read_file(file, source("jsonl"), ReadConfig()))
    assert [doc.removal.reason for doc in docs if doc.removal] == [Reason.UNREADABLE_FILE]


def test_a_part_of_blank_lines_adds_nothing(sample_dir: Path, tmp_path: Path) -> None:
    """Parts holding only blank lines (the file has records elsewhere) give no record, not
    an empty_file one each."""
    lines = _news_lines(sample_dir)
    path = tmp_path / "gappy.jsonl"
    path.write_bytes(b"\n".join(lines[:20]) + b"\n" * 200_000 + b"\n".join(lines[20:40]) + b"\n")
    whole, from_parts, count = _whole_and_parts(path, source("jsonl"), 16 * 1024)
    assert count > 10
    assert [doc.to_dict() for doc in from_parts] == [doc.to_dict() for doc in whole]
    assert len(whole) == 40 and all(doc.removal is None for doc in whole)


@pytest.mark.parametrize("change", ["grown", "cut", "rewritten", "emptied", "deleted"])
def test_a_file_changed_after_it_was_split_is_read_as_it_is_now(sample_dir: Path, tmp_path: Path, change: str) -> None:
    """Parts describe the file they were cut from (size, modification time): if it changed
    before they are read, the first part reads the file whole, as it is now, and the
    others nothing, so nothing is read at the wrong line numbers, missed or doubled."""
    lines = _news_lines(sample_dir)[:300]
    path = tmp_path / "news.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    file = InputFile(str(path), path.name)
    read = ReadConfig(split_bytes=32 * 1024)
    parts = split_file(file, source("jsonl"), read)
    assert len(parts) > 5
    if change == "grown":
        path.write_bytes(path.read_bytes() + b"\n".join(_news_lines(sample_dir)[300:400]) + b"\n")
    elif change == "cut":
        path.write_bytes(b"\n".join(lines[:50]) + b"\n")
    elif change == "rewritten":
        path.write_bytes(b"\n".join([b"", *lines[::-1]]) + b"\n")
    elif change == "emptied":
        path.write_bytes(b"")
    else:
        path.unlink()
    if path.exists():
        os.utime(path, ns=(1, 1))  # a different time even within the clock's resolution
    from_parts = [doc.to_dict() for part in parts for doc in read_file(part, source("jsonl"), read)]
    now_whole = [doc.to_dict() for doc in read_file(file, source("jsonl"), ReadConfig(split_bytes=0))]
    assert from_parts == now_whole
    assert len(now_whole) == {"grown": 400, "cut": 50, "rewritten": 300, "emptied": 1, "deleted": 1}[change]
