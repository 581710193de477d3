"""Readers on real files from the sample corpus, and on real text broken in every usual way."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from fastwarc.warc import WarcRecord, WarcRecordType

from corpus.config import ReadConfig
from corpus.reasons import Reason
from corpus.record import Document
from tests.conftest import read_all, reasons


def _jsonl_records(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _news_records(sample_dir: Path) -> list[dict]:
    raw = (sample_dir / "news" / "peoples-daily-199801.jsonl.zst").read_bytes()
    text = zstandard.ZstdDecompressor().decompressobj().decompress(raw).decode()
    return [json.loads(line) for line in text.splitlines()]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _ok(docs: list[Document]) -> list[Document]:
    return [doc for doc in docs if doc.removal is None]


# --- the real sample corpus, one reader each --------------------------------------------


def test_jsonl_gzip_reads_every_fortune_with_its_id(sample_dir: Path) -> None:
    path = sample_dir / "ebooks" / "fortunes-zh.jsonl.gz"
    expected = _jsonl_records(path)
    docs = read_all(path, "jsonl")
    assert [doc.doc_id for doc in docs] == [record["id"] for record in expected]
    assert [doc.text for doc in docs] == [record["text"] for record in expected]
    assert reasons(docs) == [None] * len(expected)
    assert docs[0].meta_value("line") == 1 and docs[0].meta_value("path") == "fortunes-zh.jsonl.gz"


def test_jsonl_zstd_reads_the_news(sample_dir: Path) -> None:
    expected = _news_records(sample_dir)
    docs = read_all(sample_dir / "news" / "peoples-daily-199801.jsonl.zst", "jsonl")
    assert [doc.text for doc in docs] == [record["text"] for record in expected]
    assert "新华社/nt" in docs[1].text  # read as stored: the tags go by the source's config


def test_parquet_with_and_without_an_id_column(sample_dir: Path, tmp_path: Path) -> None:
    table = pq.read_table(sample_dir / "public" / "debian-reference.parquet")
    docs = read_all(sample_dir / "public" / "debian-reference.parquet", "parquet")
    assert [doc.doc_id for doc in docs] == table.column("id").to_pylist()
    assert [doc.text for doc in docs] == table.column("text").to_pylist()
    pq.write_table(table.drop_columns(["id"]).slice(0, 50), tmp_path / "no-ids.parquet")
    rows = read_all(tmp_path / "no-ids.parquet", "parquet")
    assert [doc.text for doc in rows] == table.column("text").to_pylist()[:50]
    assert rows[0].doc_id == "no-ids.parquet:1" and rows[0].meta_value("row") == 1


def test_warc_pages_become_text_with_title_and_url(sample_dir: Path) -> None:
    first = read_all(sample_dir / "web" / "libreoffice-help-zh-cn-00000.warc.gz", "warc")
    assert len(first) == 500 and reasons(first) == [None] * 500
    cn = [doc for path in sorted((sample_dir / "web").glob("*zh-cn*")) for doc in read_all(path, "warc")]
    page = next(doc for doc in cn if str(doc.meta_value("url")).endswith("/text/swriter/main0100.html"))
    assert page.meta_value("title") == "菜单"
    assert "以下章节列出了有关菜单和对话框的帮助主题。" in page.text
    assert "<p" not in page.text and "help2.js" not in page.text
    assert page.doc_id.startswith("urn:uuid:")
    tw = read_all(sample_dir / "web" / "libreoffice-help-zh-tw-00000.warc.gz", "warc")

    def traditional(doc: Document) -> bool:
        return any(char in doc.text for char in "說這與檔個會選擇")

    assert sum(map(traditional, tw)) > 200 and not any(map(traditional, first))  # the reader converts nothing


def test_text_files_in_gb18030_and_big5_are_detected(sample_dir: Path) -> None:
    checked = {"zh_CN": 0, "zh_TW": 0}
    for lang, codec, expected in (("zh_CN", "gb18030", "gb18030"), ("zh_TW", "big5", "big5hkscs")):
        for path in sorted((sample_dir / "encyclopedia" / lang).rglob("*.txt")):
            raw = path.read_bytes()
            if _is_utf8(raw):
                continue
            (doc,) = read_all(path, "text")
            assert doc.removal is None, (path, doc.verdicts)
            assert doc.meta_value("encoding") == expected, path
            assert doc.text == raw.decode(codec) and "\ufffd" not in doc.text
            checked[lang] += 1
    assert checked["zh_CN"] >= 10 and checked["zh_TW"] >= 10, checked


# --- encodings ------------------------------------------------------------------------


def test_gbk_jsonl_without_declaration(sample_dir: Path, tmp_path: Path) -> None:
    records = _news_records(sample_dir)[:200]
    path = _write_lines(tmp_path / "gbk.jsonl", [json.dumps(r, ensure_ascii=False).encode("gbk", "replace") for r in records])
    docs = read_all(path, "jsonl")
    assert reasons(docs) == [None] * 200
    assert [doc.text for doc in docs] == [r["text"].encode("gbk", "replace").decode("gbk") for r in records]
    assert docs[0].meta_value("encoding") == "gb18030"


def test_big5_jsonl_without_declaration(sample_dir: Path, tmp_path: Path) -> None:
    pages = sorted((sample_dir / "encyclopedia" / "zh_TW").rglob("*.txt"))[:80]
    texts = []
    for page in pages:
        try:
            texts.append(page.read_text("utf-8"))
        except UnicodeDecodeError:
            continue
    lines = []
    for text in texts:
        try:
            lines.append(json.dumps({"text": text}, ensure_ascii=False).encode("big5"))
        except UnicodeEncodeError:
            continue
    assert len(lines) >= 30
    docs = read_all(_write_lines(tmp_path / "big5.jsonl", lines), "jsonl")
    assert reasons(docs) == [None] * len(lines)
    assert [doc.text.encode("big5") for doc in docs] == [json.loads(line.decode("big5"))["text"].encode("big5") for line in lines]


def test_utf16_text_file_with_bom(sample_dir: Path, tmp_path: Path) -> None:
    text = _news_records(sample_dir)[3]["text"]
    path = tmp_path / "utf16.txt"
    path.write_bytes(text.encode("utf-16"))
    (doc,) = read_all(path, "text")
    assert doc.text == text and doc.meta_value("encoding") == "utf-16"


def test_invalid_utf8_line_in_the_middle_is_one_error(sample_dir: Path, tmp_path: Path) -> None:
    records = _news_records(sample_dir)[:50]
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in records]
    lines[20] = lines[20].decode().encode("gbk", "replace")  # a stray GBK line in a UTF-8 file
    docs = read_all(_write_lines(tmp_path / "mixed.jsonl", lines), "jsonl")
    assert reasons(docs) == [None] * 20 + ["undecodable_text"] + [None] * 29
    assert docs[20].meta_value("line") == 21 and docs[20].meta_value("path") == "mixed.jsonl"
    assert [doc.text for doc in _ok(docs)] == [r["text"] for i, r in enumerate(records) if i != 20]


# --- broken files ---------------------------------------------------------------------


def test_truncated_gzip_keeps_what_came_before(sample_dir: Path, tmp_path: Path) -> None:
    original = (sample_dir / "ebooks" / "sanguo.jsonl.gz").read_bytes()
    path = tmp_path / "sanguo.jsonl.gz"
    path.write_bytes(original[: len(original) * 6 // 10])
    docs = read_all(path, "jsonl")
    assert reasons(docs)[-1] == "truncated_file"
    good = _ok(docs)
    assert len(good) == len(docs) - 1 >= 50
    assert [doc.doc_id for doc in good] == [f"sanguo-{i:03d}" for i in range(1, len(good) + 1)]
    assert docs[-1].meta_value("line") == len(good)  # the break came after the last good line


def test_truncated_zstd_is_an_error_not_a_silent_end(sample_dir: Path, tmp_path: Path) -> None:
    original = (sample_dir / "news" / "peoples-daily-199801.jsonl.zst").read_bytes()
    path = tmp_path / "news.jsonl.zst"
    path.write_bytes(original[: len(original) // 2])
    docs = read_all(path, "jsonl")
    assert reasons(docs)[-1] == "truncated_file"
    assert set(reasons(docs[:-2])) == {None}  # the line cut in two may fail to parse


def test_truncated_warc_keeps_earlier_records(sample_dir: Path, tmp_path: Path) -> None:
    original = (sample_dir / "web" / "libreoffice-help-zh-cn-00001.warc.gz").read_bytes()
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(original[: len(original) - 700])
    docs = read_all(path, "warc")
    assert reasons(docs)[:-1] == [None] * (len(docs) - 1)
    assert reasons(docs)[-1] == "truncated_file"
    assert len(docs) == 500


def test_bad_json_lines_each_become_an_error(tmp_path: Path) -> None:
    lines = [
        b'{"id": "a", "text": "\xe5\xa5\xbd\xe7\x9a\x84"}',
        b'{"id": "b", "text": ',
        b"[1, 2, 3]",
        b'{"id": "d"}',
        b'{"id": "e", "text": null}',
        b'{"id": "f", "text": 42}',
        b'{"id": 7, "text": "int id"}',
        b'{"id": 1.5, "text": "float id"}',
        b"",
        b"   ",
        b'{"text": "no id"}',
    ]
    docs = read_all(_write_lines(tmp_path / "bad.jsonl", lines), "jsonl")
    assert reasons(docs) == [
        None,
        "malformed_json",
        "not_an_object",
        "missing_text",
        "missing_text",
        "non_string_text",
        None,
        "bad_id",
        None,
    ]
    assert [doc.doc_id for doc in docs] == [
        "a", "bad.jsonl:line:2", "bad.jsonl:line:3", "bad.jsonl:line:4", "bad.jsonl:line:5",
        "bad.jsonl:line:6", "7", "bad.jsonl:line:8", "bad.jsonl:11",
    ]  # fmt: skip
    assert docs[1].text == '{"id": "b", "text": \n'  # the error record shows what was there
    assert docs[0].text == "好的"


def test_text_field_and_id_field_are_configurable(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "x.jsonl", [json.dumps({"content": "正文", "uid": "u1", "text": "别的"}).encode()])
    (doc,) = read_all(path, "jsonl", text_field="content", id_field="uid")
    assert (doc.doc_id, doc.text) == ("u1", "正文")


def test_huge_line_is_skipped_without_losing_the_next(sample_dir: Path, tmp_path: Path) -> None:
    chapters = _jsonl_records(sample_dir / "ebooks" / "sanguo.jsonl.gz")[:3]
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in chapters]
    limit = len(lines[1]) - 1
    lines[0] = json.dumps({"id": "small", "text": "短"}, ensure_ascii=False).encode()
    lines[2] = json.dumps({"id": "small2", "text": "短"}, ensure_ascii=False).encode()
    docs = read_all(_write_lines(tmp_path / "big.jsonl", lines), "jsonl", ReadConfig(max_doc_bytes=limit))
    assert reasons(docs) == [None, "document_too_large", None]
    assert [doc.doc_id for doc in docs] == ["small", "big.jsonl:line:2", "small2"]


def test_empty_and_missing_files(tmp_path: Path) -> None:
    for fmt, name in (("jsonl", "e.jsonl"), ("text", "e.txt"), ("warc", "e.warc.gz")):
        path = tmp_path / name
        path.write_bytes(b"")
        assert reasons(read_all(path, fmt)) == ["empty_file"], fmt
    assert reasons(read_all(tmp_path / "gone.jsonl", "jsonl")) == ["unreadable_file"]


def test_text_file_too_large_and_undecodable(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("中" * 1000, encoding="utf-8")
    assert reasons(read_all(path, "text", ReadConfig(max_doc_bytes=100))) == ["document_too_large"]
    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 40)
    docs = read_all(binary, "text")
    assert len(docs) == 1 and docs[0].removal is not None


def test_parquet_bad_columns(tmp_path: Path) -> None:
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "nocol.parquet")
    (doc,) = read_all(tmp_path / "nocol.parquet", "parquet")
    assert doc.removal is not None and doc.removal.reason is Reason.BAD_PARQUET and "body" in doc.removal.detail
    pq.write_table(pa.table({"text": ["一", None, "三"]}), tmp_path / "nulls.parquet")
    assert reasons(read_all(tmp_path / "nulls.parquet", "parquet")) == [None, "missing_text", None]
    pq.write_table(pa.table({"text": [1, 2]}), tmp_path / "ints.parquet")
    assert reasons(read_all(tmp_path / "ints.parquet", "parquet")) == ["non_string_text", "non_string_text"]
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    assert reasons(read_all(tmp_path / "junk.parquet", "parquet")) == ["bad_parquet"]


def _warc(records: list[tuple[WarcRecordType, str, bytes]]) -> bytes:
    out = io.BytesIO()
    for index, (record_type, url, block) in enumerate(records):
        record = WarcRecord()
        record.init_headers(record_type, record_urn=f"uuid:test-{index}".encode())
        record.headers["WARC-Target-URI"] = url
        record.set_bytes_content(block)
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as member:
            record.write(member)
    return out.getvalue()


def test_warc_records_of_every_kind(tmp_path: Path) -> None:
    html = "<html><head><title>标题</title></head><body><p>正文段落。</p></body></html>".encode("gbk")
    path = tmp_path / "mixed.warc.gz"
    path.write_bytes(
        _warc(
            [
                (
                    WarcRecordType.response,
                    "http://a/1",
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=gbk\r\n\r\n" + html,
                ),
                (WarcRecordType.response, "http://a/2", b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\x89PNG...."),
                (WarcRecordType.response, "http://a/3", b"garbage without http headers"),
                (WarcRecordType.conversion, "http://a/4", "已经提取的文本".encode()),
                (WarcRecordType.request, "http://a/5", b"GET / HTTP/1.1\r\n\r\n"),
                (
                    WarcRecordType.response,
                    "http://a/6",
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + "纯文本".encode(),
                ),
            ]
        )
    )
    docs = read_all(path, "warc")
    assert reasons(docs) == [None, "unsupported_content", "bad_warc_record", None, None]  # requests are not documents
    assert docs[0].text.strip() == "正文段落。" and docs[0].meta_value("title") == "标题"
    assert docs[3].text == "已经提取的文本" and docs[4].text == "纯文本"
    assert docs[0].meta_value("url") == "http://a/1" and docs[0].doc_id == "urn:uuid:test-0"


def test_reading_streams_in_bounded_memory(sample_dir: Path, tmp_path: Path) -> None:
    records = _news_records(sample_dir)
    path = tmp_path / "big.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for copy in range(8):
            for record in records:
                handle.write(json.dumps({"id": f"{copy}-{record['id']}", "text": record["text"]}, ensure_ascii=False) + "\n")
    from corpus.config import InputFile
    from corpus.readers import read_file
    from tests.conftest import source

    tracemalloc.start()
    try:
        count = size = 0
        for doc in read_file(InputFile(str(path), "big.jsonl.gz"), source("jsonl"), ReadConfig()):
            count += 1
            size += doc.size_bytes
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 8 * len(records) and size > 40_000_000
    assert peak < 8_000_000, peak  # a few buffers and one document, not the file


# --- found in review: each of these once lost documents or ended the run ------------------


def test_plain_jsonl_with_a_long_first_line_is_utf8(sample_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "sanguo.jsonl"
    path.write_bytes(gzip.decompress((sample_dir / "ebooks" / "sanguo.jsonl.gz").read_bytes()))
    docs = read_all(path, "jsonl")
    assert reasons(docs) == [None] * 120 and docs[0].meta_value("encoding") is None


def test_truncated_gzip_keeps_every_complete_line(sample_dir: Path, tmp_path: Path) -> None:
    import zlib

    original = (sample_dir / "ebooks" / "fortunes-zh.jsonl.gz").read_bytes()
    cut = original[: len(original) * 6 // 10]
    complete = zlib.decompressobj(31).decompress(cut).count(b"\n")
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(cut)
    docs = read_all(path, "jsonl")
    assert len(_ok(docs)) == complete and reasons(docs)[-1] == "truncated_file"


def test_zstd_with_garbage_after_it_keeps_every_document(sample_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl.zst"
    path.write_bytes((sample_dir / "news" / "peoples-daily-199801.jsonl.zst").read_bytes() + b"garbage")
    docs = read_all(path, "jsonl")
    assert len(_ok(docs)) == len(_news_records(sample_dir)) and reasons(docs)[-1] == "truncated_file"


def test_pathological_json_lines_are_error_records(tmp_path: Path) -> None:
    lines = [
        b'{"text": "a", "n": ' + b"1" * 5000 + b"}",
        b"[" * 100000 + b"]" * 100000,
        b'{"text": "\\ud800\xe4\xb8\xad"}',
        b'{"id": "", "text": "x"}',
    ]
    docs = read_all(_write_lines(tmp_path / "odd.jsonl", lines), "jsonl")
    assert reasons(docs) == ["malformed_json", "malformed_json", "undecodable_text", "bad_id"]
    assert "lone surrogate" in docs[2].removal.detail and "empty string" in docs[3].removal.detail


def test_unusual_encodings(tmp_path: Path) -> None:
    text = "国务院总理今天会见了代表团。"
    cases = {
        "utf32.txt": text.encode("utf-32"),
        "utf16be.txt": ("English words and 中文 " * 30).encode("utf-16-be"),
        "nul-tail.txt": (text * 200).encode() + b"\0" * 8192,
        "big5-short.txt": "總覽 SYNOPSIS".encode("big5"),
        "gbk-short.txt": "概述 SYNOPSIS".encode("gbk"),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    assert read_all(tmp_path / "utf32.txt", "text")[0].text == text
    assert read_all(tmp_path / "utf16be.txt", "text")[0].text.startswith("English words and 中文")
    (nul,) = read_all(tmp_path / "nul-tail.txt", "text")  # a crashed writer's zero-filled tail
    assert nul.removal is not None and "NUL bytes from byte" in nul.removal.detail
    assert read_all(tmp_path / "big5-short.txt", "text")[0].text == "總覽 SYNOPSIS"
    assert read_all(tmp_path / "gbk-short.txt", "text")[0].text == "概述 SYNOPSIS"
    odd = tmp_path / "odd-utf16.jsonl"
    odd.write_bytes('{"text": "中"}\n'.encode("utf-16") + b"\0")
    docs = read_all(odd, "jsonl")
    assert docs[0].text == "中" and reasons(docs)[-1] in ("undecodable_text", "reader_exception")


def test_empty_files_of_every_kind_are_counted(tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), tmp_path / "none.parquet")
    (tmp_path / "blank.jsonl").write_text("\n\n  \n", encoding="utf-8")
    (tmp_path / "zero.parquet").write_bytes(b"")
    for name, fmt in (("none.parquet", "parquet"), ("blank.jsonl", "jsonl"), ("zero.parquet", "parquet")):
        assert reasons(read_all(tmp_path / name, fmt)) == ["empty_file"], name


def test_error_details_hold_no_absolute_path(tmp_path: Path) -> None:
    (doc,) = read_all(tmp_path / "gone.jsonl", "jsonl")
    assert str(tmp_path) not in doc.removal.detail and doc.meta_value("path") == "gone.jsonl"


def _http(headers: bytes, body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + headers + b"\r\n" + body


def test_warc_http_bodies_of_every_kind(tmp_path: Path) -> None:
    html = "<html><body><p>国务院总理朱镕基今天会见了代表团。</p></body></html>".encode("gbk")
    chunked = b"6\r\n" + "中文".encode() + b"\r\n0\r\n\r\n"
    path = tmp_path / "bodies.warc.gz"
    path.write_bytes(
        _warc(
            [
                (WarcRecordType.response, "http://a/gb2312", _http(b"Content-Type: text/html; charset=gb2312\r\n", html)),
                (
                    WarcRecordType.response,
                    "http://a/chunked",
                    _http(b"Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n", chunked),
                ),
                (
                    WarcRecordType.response,
                    "http://a/negative",
                    _http(b"Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n", b"-6\r\nabcdef\r\n0\r\n\r\n"),
                ),
                (
                    WarcRecordType.response,
                    "http://a/gzip-cut",
                    _http(b"Content-Encoding: gzip\r\nContent-Type: text/plain\r\n", gzip.compress(b"x" * 5000)[:-20]),
                ),
                (
                    WarcRecordType.response,
                    "http://a/gzip",
                    _http(b"Content-Encoding: gzip\r\nContent-Type: text/plain\r\n", gzip.compress("压缩".encode())),
                ),
                (WarcRecordType.response, "http://a/status", b"HTTP/1.1 \xb200 OK\r\n\r\nx"),
                (WarcRecordType.response, "http://a/lf", b"HTTP/1.1 200 OK\nContent-Type: text/plain\n\n" + "只有换行".encode()),
            ]
        )
    )
    docs = read_all(path, "warc")
    assert reasons(docs) == [None, None, "bad_warc_record", "bad_warc_record", None, "bad_warc_record", None]
    assert docs[0].text.strip() == "国务院总理朱镕基今天会见了代表团。"
    assert (docs[1].text, docs[4].text, docs[6].text) == ("中文", "压缩", "只有换行")
    bomb = tmp_path / "bomb.warc.gz"
    bomb.write_bytes(
        _warc(
            [
                (
                    WarcRecordType.response,
                    "http://a/b",
                    _http(b"Content-Encoding: gzip\r\nContent-Type: text/plain\r\n", gzip.compress(b"x" * 200_000)),
                )
            ]
        )
    )
    assert reasons(read_all(bomb, "warc", ReadConfig(max_doc_bytes=10_000))) == ["document_too_large"]


# --- found in the second review ------------------------------------------------------------


def test_one_bad_code_unit_costs_one_utf16_line(sample_dir: Path, tmp_path: Path) -> None:
    records = _news_records(sample_dir)[:100]
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
    data = b"\xff\xfe"
    for index, line in enumerate(lines):
        encoded = line.encode("utf-16-le")
        data += encoded[:20] + b"\x00\xdc" + encoded[20:] if index == 9 else encoded  # a lone low surrogate
    (tmp_path / "u16.jsonl").write_bytes(data)
    docs = read_all(tmp_path / "u16.jsonl", "jsonl")
    assert reasons(docs) == [None] * 9 + ["undecodable_text"] + [None] * 90


def test_utf16_without_bom_of_chinese_text(sample_dir: Path, tmp_path: Path) -> None:
    records = _news_records(sample_dir)[:20]
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-16-le")
    (tmp_path / "u16.jsonl").write_bytes(data)
    docs = read_all(tmp_path / "u16.jsonl", "jsonl")
    assert [doc.text for doc in docs] == [r["text"] for r in records]


def test_corrupt_warc_member_costs_one_record(sample_dir: Path, tmp_path: Path) -> None:
    data = bytearray((sample_dir / "web" / "libreoffice-help-zh-cn-00001.warc.gz").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 20] = bytes(byte ^ 0xFF for byte in data[middle : middle + 20])
    (tmp_path / "bad.warc.gz").write_bytes(bytes(data))
    docs = read_all(tmp_path / "bad.warc.gz", "warc")
    assert len(docs) == 500 and reasons(docs).count("bad_warc_record") == 1 and reasons(docs).count(None) == 499
    assert "skipped from offset" in next(doc for doc in docs if doc.removal).removal.detail


def test_brotli_bomb_and_latin_declared_gbk_page(tmp_path: Path) -> None:
    import brotli

    bomb = _warc(
        [
            (
                WarcRecordType.response,
                "http://a/br",
                _http(b"Content-Encoding: br\r\nContent-Type: text/plain\r\n", brotli.compress(b"x" * 5_000_000)),
            )
        ]
    )
    (tmp_path / "br.warc.gz").write_bytes(bomb)
    assert reasons(read_all(tmp_path / "br.warc.gz", "warc", ReadConfig(max_doc_bytes=100_000))) == ["document_too_large"]
    html = "<html><body><p>新华社北京电，国务院总理今天会见了来访的代表团，双方进行了友好交谈。</p></body></html>".encode("gbk")
    page = _warc([(WarcRecordType.response, "http://a/latin", _http(b"Content-Type: text/html; charset=iso-8859-1\r\n", html))])
    (tmp_path / "latin.warc.gz").write_bytes(page)
    (doc,) = read_all(tmp_path / "latin.warc.gz", "warc")
    assert doc.text.strip() == "新华社北京电，国务院总理今天会见了来访的代表团，双方进行了友好交谈。"
    french = "<html><body><p>Le café est très bon à Paris.</p></body></html>".encode("latin-1")
    (tmp_path / "fr.warc.gz").write_bytes(
        _warc([(WarcRecordType.response, "http://a/fr", _http(b"Content-Type: text/html; charset=iso-8859-1\r\n", french))])
    )
    assert read_all(tmp_path / "fr.warc.gz", "warc")[0].text.strip() == "Le café est très bon à Paris."


def test_corrupt_parquet_row_group_costs_only_that_group(tmp_path: Path) -> None:
    texts = [f"第{i}行的文本内容，用来测试读取。" * 3 for i in range(5000)]
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.table({"text": texts}), path, row_group_size=1000, compression="zstd")
    metadata = pq.read_metadata(path)
    column = metadata.row_group(2).column(0)
    data = bytearray(path.read_bytes())
    start = column.dictionary_page_offset + 4  # the dictionary page's header and data
    data[start : start + 200] = bytes(200)
    path.write_bytes(bytes(data))
    docs = read_all(path, "parquet")
    assert reasons(docs).count(None) == 4000
    (broken,) = [doc for doc in docs if doc.removal]
    assert broken.removal.reason.value == "bad_parquet" and broken.meta_value("row") == 2001
    assert [doc.meta_value("row") for doc in docs if not doc.removal][2000] == 3001
