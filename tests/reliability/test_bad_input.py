"""Every kind of broken input in one pipeline run, built from the real sample corpus: each
becomes an error record in errors/ with file, position and reason, counted in
stats/run.json, and the rest of each file is still read."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import apache_beam as beam
import pytest

from corpus.config import load_config
from corpus.writers import read_written
from pipelines.cli import main
from pipelines.graph import build_pipeline

CONFIG = """
sources:
  - name: books
    paths: ["books/*"]
    format: jsonl
  - name: pages
    paths: ["pages/*.txt"]
    format: text
  - name: crawl
    paths: ["crawl/*.warc.gz"]
    format: warc
read:
  max_doc_bytes: 10000000
output:
  format: jsonl
"""


def _records(sample_dir: Path) -> list[dict]:
    return [
        json.loads(line)
        for line in gzip.decompress((sample_dir / "ebooks" / "sanguo.jsonl.gz").read_bytes()).decode().splitlines()
    ]


@pytest.fixture(scope="module")
def broken(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("broken")
    for folder in ("books", "pages", "crawl"):
        (root / folder).mkdir()
    chapters = _records(sample_dir)
    lines = [json.dumps(c, ensure_ascii=False).encode() for c in chapters[:10]]
    lines[3] = lines[3].decode().encode("gbk", "replace")  # invalid UTF-8 in the middle
    lines[5] = b'{"id": "x", "text": "\x00 NUL inside"}'  # a raw NUL byte: not valid JSON
    lines[7] = b'{"id": "sanguo-001", "text": "an id read twice"}'  # duplicate id
    huge = json.dumps({"id": "huge", "text": chapters[0]["text"] * 3600}, ensure_ascii=False).encode()
    assert len(huge) > 50_000_000  # a 50 MB single document
    (root / "books" / "mixed.jsonl").write_bytes(b"\n".join(lines[:8]) + b"\n" + huge + b"\n" + b"\n".join(lines[8:]) + b"\n")
    (root / "books" / "empty.jsonl").write_bytes(b"")
    gz = (sample_dir / "ebooks" / "fortunes-zh.jsonl.gz").read_bytes()  # other ids than mixed.jsonl
    (root / "books" / "cut.jsonl.gz").write_bytes(gz[: len(gz) // 4])
    (root / "books" / "picture.jsonl").write_bytes(bytes(range(256)) * 64)  # a binary file named .jsonl
    page = (sample_dir / "encyclopedia" / "zh_CN" / "man1" / "ls.1.txt").read_bytes()
    (root / "pages" / "ls.txt").write_bytes(page)
    (root / "pages" / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (root / "pages" / "gbk.txt").write_bytes(page.decode().encode("gb18030"))
    (root / "pages" / "vanishing.txt").write_bytes(page)
    warc = (sample_dir / "web" / "libreoffice-help-zh-cn-00002.warc.gz").read_bytes()
    (root / "crawl" / "cut.warc.gz").write_bytes(warc[: len(warc) // 3])
    config = root / "run.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def run(broken: Path) -> Path:
    """The run, with one input deleted after the files were listed and before reading."""
    out = broken.parent / "out"
    config = load_config(str(broken))
    options = beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=in_memory"])
    pipeline = beam.Pipeline(options=options)
    build_pipeline(pipeline, config, str(out), progress_seconds=-1)
    (broken.parent / "pages" / "vanishing.txt").unlink()
    pipeline.run().wait_until_finish()
    return out


def _errors(out: Path) -> dict[tuple[str, str], list]:
    found: dict[tuple[str, str], list] = {}
    for doc in read_written(str(out), "errors"):
        found.setdefault((str(doc.meta_value("path")), doc.removal.reason.value), []).append(doc)
    return found


def test_each_broken_input_is_an_error_record_with_its_place(run: Path) -> None:
    errors = _errors(run)
    assert errors[("mixed.jsonl", "undecodable_text")][0].meta_value("line") == 4
    assert errors[("mixed.jsonl", "malformed_json")][0].meta_value("line") == 6
    (duplicate,) = errors[("mixed.jsonl", "duplicate_id")]
    assert duplicate.meta_value("line") == 8 and "already read at mixed.jsonl:1" in duplicate.removal.detail
    (huge,) = errors[("mixed.jsonl", "document_too_large")]
    assert huge.meta_value("line") == 9 and huge.meta_value("in_bytes") > 50_000_000
    assert ("empty.jsonl", "empty_file") in errors
    assert ("cut.jsonl.gz", "truncated_file") in errors
    assert ("picture.jsonl", "undecodable_text") in errors or ("picture.jsonl", "malformed_json") in errors
    assert "NUL bytes" in errors[("binary.txt", "undecodable_text")][0].removal.detail
    assert ("vanishing.txt", "unreadable_file") in errors
    assert ("cut.warc.gz", "truncated_file") in errors


def test_the_rest_of_each_file_is_still_read(run: Path) -> None:
    books = {doc.doc_id for doc in read_written(str(run), "kept/books")}
    assert {"sanguo-001", "sanguo-002", "sanguo-003", "sanguo-005", "sanguo-007", "sanguo-009", "sanguo-010"} <= books
    pages = {doc.doc_id: doc for doc in read_written(str(run), "kept/pages")}
    assert set(pages) == {"ls.txt", "gbk.txt"} and pages["gbk.txt"].text == pages["ls.txt"].text
    assert len(read_written(str(run), "kept/crawl")) > 100


def test_run_json_counts_every_error(run: Path) -> None:
    report = json.loads((run / "stats" / "run.json").read_text())
    errors = read_written(str(run), "errors")
    counted = sum(sum(entry["docs_error"].values()) for entry in report["sources"].values())
    assert counted == len(errors)
    for name, entry in report["sources"].items():
        assert entry["docs_in"] == entry["docs_kept"] + sum(entry["docs_rejected"].values()) + sum(
            entry["docs_error"].values()
        ), name


def test_bad_configs_exit_2_before_any_work(broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {
        "weights all zero": (CONFIG.replace("format: text", "format: text\n    weight: 0.0"), "weights are all zero"),
        "no files": (CONFIG.replace("pages/*.txt", "pages/*.missing"), "no file matches"),
        "negative threshold": (CONFIG + "stages:\n  clean:\n    min_chars: -5\n", "stages.clean.min_chars"),
    }
    for name, (text, message) in cases.items():
        config = broken.parent / f"{name.replace(' ', '-')}.yaml"
        config.write_text(text, encoding="utf-8")
        out = tmp_path / name.replace(" ", "-")
        assert main(["run", str(config), "--out", str(out)]) == 2, name
        assert message in capsys.readouterr().err, name
        assert not out.exists(), name
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_html_the_extractor_cannot_read_is_an_error(tmp_path: Path) -> None:
    from fastwarc.warc import WarcRecordType

    from tests.conftest import read_all, reasons
    from tests.corpus.test_readers import _http, _warc

    junk = bytes(range(256)) * 20
    page = "<html><head><title>标题</title></head><body></body></html>".encode()
    path = tmp_path / "junk.warc.gz"
    path.write_bytes(
        _warc(
            [
                (WarcRecordType.response, "http://a/junk", _http(b"Content-Type: text/html\r\n", junk)),
                (WarcRecordType.response, "http://a/empty-body", _http(b"Content-Type: text/html\r\n", page)),
            ]
        )
    )
    docs = read_all(path, "warc")
    assert reasons(docs) == ["html_extraction_failed", None]  # a page with only a title is a document
