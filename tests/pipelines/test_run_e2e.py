"""`zhcorpus run` end to end on a slice of the real sample corpus, with broken files mixed in.

Checks what the foundation promises: every document read ends in exactly one of kept/,
rejected/<stage>/ or errors/ with its reason; stats/run.json accounts for all of them;
outputs are byte-identical across reruns and worker counts; a finished run is not
overwritten by accident.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
import zstandard

from corpus.config import InputFile, find_inputs, load_config
from corpus.readers import read_file, split_file
from corpus.reasons import Kind, Reason
from corpus.writers import read_written
from pipelines import graph
from tests.pipelines.conftest import CONFIG, fingerprint, run_zhcorpus


def test_every_document_read_is_written_exactly_once(slice_config: Path, finished_run: Path) -> None:
    config = load_config(str(slice_config))
    read = Counter(
        (doc.source, doc.doc_id)
        for source in config.sources
        for file in find_inputs(source)
        for doc in read_file(file, source, config.read)
    )
    folders = [
        "errors",
        *(f"rejected/{stage}" for stage in ("read", "clean", "sensitive", "dedup")),
        *(f"kept/{s.name}" for s in config.sources),
    ]
    written = Counter((doc.source, doc.doc_id) for folder in folders for doc in read_written(str(finished_run), folder))
    assert written == read
    assert sum(read.values()) > 9000


def test_run_json_accounts_for_every_source(finished_run: Path) -> None:
    report = json.loads((finished_run / "stats" / "run.json").read_text())
    for name, entry in report["sources"].items():
        accounted = entry["docs_kept"] + sum(entry["docs_rejected"].values()) + sum(entry["docs_error"].values())
        assert entry["docs_in"] == accounted, name
        kept = read_written(str(finished_run), f"kept/{name}")
        assert entry["docs_kept"] == len(kept)
        assert entry["bytes_kept"] == sum(doc.size_bytes for doc in kept)
    assert report["sources"]["ebooks"]["docs_error"] == {
        "malformed_json": 1,
        "missing_text": 1,
        "not_an_object": 1,
        "truncated_file": 1,
        "undecodable_text": 1,
    }
    assert report["sources"]["encyclopedia"]["docs_error"] == {"empty_file": 1}
    reviews = report["sources"]["reviews"]  # 300 positive kept, 300 negative (GBK file) filtered out
    assert (reviews["docs_in"], reviews["docs_kept"], reviews["docs_rejected"]) == (600, 300, {"read/filtered_out": 300})
    web_rejected = report["sources"]["web"]["docs_rejected"]
    assert (
        {"clean/too_short", "clean/too_few_chinese"}
        <= set(web_rejected)
        <= {f"clean/{r.value}" for r in Reason if r.kind is Kind.REJECT}
    )
    assert report["sources"]["web"]["repairs"]["clean/navigation_removed"] > 900  # every page has its header
    assert report["sources"]["web"]["repairs"]["repair/converted_to_simplified"] > 200  # the zh-TW pages
    assert set(report["sources"]["public"]["stages"]) == {"repair", "dedup"}  # the repairs run on every source
    assert set(report["sources"]["web"]["stages"]) == {"repair", "clean", "dedup"}
    web_clean = report["sources"]["web"]["stages"]["clean"]
    assert web_clean["docs_in"] == report["sources"]["web"]["docs_in"]
    assert web_clean["docs_out"] == report["sources"]["web"]["docs_kept"]
    listed = {item["path"] for item in report["outputs"]}
    on_disk = {str(p.relative_to(finished_run)) for f in ("kept", "rejected", "errors") for p in (finished_run / f).rglob("*.gz")}
    assert listed == on_disk
    assert not (finished_run / ".pieces").exists()  # the pieces the shards were merged from are gone


def test_rejected_and_errors_hold_what_they_should(finished_run: Path) -> None:
    rejected = read_written(str(finished_run), "rejected/clean")
    assert rejected and {doc.source for doc in rejected} <= {"web", "news"}
    for doc in rejected:
        assert doc.removal is not None and doc.removal.stage == "clean"
        assert doc.removal.reason.kind is Kind.REJECT and doc.removal.detail
    errors = {(doc.meta_value("path"), doc.removal.reason.value): doc for doc in read_written(str(finished_run), "errors")}
    truncated = errors[("sanguo-cut.jsonl.gz", "truncated_file")]
    assert truncated.source == "ebooks" and isinstance(truncated.meta_value("line"), int)
    assert errors[("broken.jsonl", "malformed_json")].meta_value("line") == 2
    assert errors[("broken.jsonl", "undecodable_text")].meta_value("line") == 5
    assert ("zh_CN/empty.txt", "empty_file") in errors
    (planted,) = read_written(str(finished_run), "rejected/sensitive")
    assert planted.doc_id == "sanguo-gambling" and planted.removal.reason is Reason.SENSITIVE_WORDS
    assert planted.removal.detail.startswith("gambling: 4 distinct hits > max_hits=3")
    kept_news = read_written(str(finished_run), "kept/news")
    assert all(len("".join(doc.text.split())) >= 60 for doc in kept_news)  # clean ran on news too
    assert (finished_run / "config.resolved.yaml").read_text().count("min_chars: 60") == 1


def test_dedup_removes_the_converted_twins_and_reports_it(finished_run: Path) -> None:
    """The zh_TW man pages, converted by the clean stage (tw2sp) before dedup, are near or
    exact duplicates of their zh_CN twins; the zh_CN page survives (same source: longer
    text, then the smaller id, and zh_CN sorts first)."""
    run = json.loads((finished_run / "stats" / "run.json").read_text())
    dedup = json.loads((finished_run / "stats" / "dedup.json").read_text())
    removed = read_written(str(finished_run), "rejected/dedup")
    twins = [doc for doc in removed if doc.source == "encyclopedia"]
    assert len(twins) >= 15
    for doc in twins:
        assert doc.removal.reason in (Reason.NEAR_DUPLICATE, Reason.EXACT_DUPLICATE)
        survivor = doc.removal.detail.split("survivor ")[1]
        assert survivor.startswith("encyclopedia/")
    assert sum(doc.doc_id.startswith("zh_TW/") for doc in twins) > sum(doc.doc_id.startswith("zh_CN/") for doc in twins)
    for name, entry in run["sources"].items():
        dedup_rejected = {key.split("/")[1]: n for key, n in entry["docs_rejected"].items() if key.startswith("dedup/")}
        assert dedup_rejected == dedup["sources"].get(name, {"removed": {}})["removed"], name
        if "dedup" in entry["stages"]:
            assert entry["stages"]["dedup"]["docs_in"] == dedup["sources"][name]["docs_seen"]
    lost = sum(n for row in dedup["lost_to"].values() for n in row.values())
    assert lost == len(removed)  # every removal names the source it lost to
    assert dedup["settings"]["priority"] == ["encyclopedia"] and dedup["components"]["path"] == "union-find"


def test_progress_lines_are_printed(slice_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_zhcorpus(slice_config, tmp_path / "out", "--workers", "1") == 0
    captured = capsys.readouterr()
    assert "[zhcorpus] clean:" in captured.err and "[zhcorpus] read web:" in captured.err
    assert "total" in captured.out and "rejected: " in captured.out and " clean/too_short " in captured.out


def test_outputs_identical_across_reruns_and_worker_counts(slice_config: Path, finished_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "two-workers"
    assert run_zhcorpus(slice_config, out, "--workers", "2") == 0
    assert fingerprint(out) == fingerprint(finished_run)


def test_finished_run_is_not_overwritten_by_accident(
    slice_config: Path, finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "copy"
    shutil.copytree(finished_run, out)
    assert run_zhcorpus(slice_config, out, "--workers", "1") == 2
    assert "--overwrite" in capsys.readouterr().err
    stale = out / "kept" / "web" / "part-99999-of-99999.jsonl.gz"
    stale.write_bytes(b"not written by the run")
    assert run_zhcorpus(slice_config, out, "--workers", "1", "--overwrite") == 2
    assert "kept/ (" in capsys.readouterr().err and stale.exists(), "a file the run did not write is never deleted"
    stale.unlink()
    assert run_zhcorpus(slice_config, out, "--workers", "1", "--overwrite") == 0
    assert fingerprint(out) == fingerprint(finished_run)


def test_a_stage_without_its_model_is_refused_before_any_work(
    slice_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = slice_config.parent / "dedup.yaml"
    config.write_text(
        CONFIG.replace("stages: [clean, dedup]\n  - name: encyclopedia", "stages: [clean, spam]\n  - name: encyclopedia")
    )
    assert run_zhcorpus(config, tmp_path / "out") == 2
    assert "list the spam stage but stages.spam.model is not set" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_failed_overwrite_leaves_the_old_run_intact(
    slice_config: Path, finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pipelines.graph

    out = tmp_path / "kept-safe"
    shutil.copytree(finished_run, out)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the pipeline fails while building")

    monkeypatch.setattr(pipelines.graph, "build_pipeline", broken)
    assert run_zhcorpus(slice_config, out, "--workers", "1", "--overwrite") == 1
    assert "run failed: RuntimeError: the pipeline fails while building" in capsys.readouterr().err
    assert fingerprint(out) == fingerprint(finished_run)
    assert sorted(os.listdir(tmp_path)) == ["kept-safe"], "nothing left beside it"


def test_a_large_plain_file_read_in_parts_gives_the_same_run(
    sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The news as one plain JSONL file, read whole (split_bytes 0) and in parts of 64 KB,
    on one worker and on two: the same kept, rejected, errors and accounting."""
    raw = (sample_dir / "news" / "peoples-daily-199801.jsonl.zst").read_bytes()
    lines = zstandard.ZstdDecompressor().decompressobj().decompress(raw).splitlines()
    lines[100:100] = [b"", b'{"id": "broken", "text": ']  # a blank line, an error record
    (tmp_path / "news").mkdir()
    news = tmp_path / "news" / "news.jsonl"
    news.write_bytes(b"\n".join(lines) + b"\n")
    planned: list[int] = []  # parts per file, seen in this process (one worker runs here)

    def counted_split(*args: object, **kwargs: object) -> list[InputFile]:
        parts = split_file(*args, **kwargs)  # type: ignore[arg-type]
        planned.append(len(parts))
        return parts

    monkeypatch.setattr(graph, "split_file", counted_split)
    outs = {}
    for split_bytes, workers in ((0, "1"), (65536, "1"), (65536, "2")):
        config = tmp_path / f"split-{split_bytes}.yaml"
        config.write_text(
            "sources:\n  - name: news\n    paths: [news/*.jsonl]\n    format: jsonl\n    stages: [clean, dedup]\n"
            f"read:\n  split_bytes: {split_bytes}\noutput:\n  format: jsonl\n  shard_bytes: 500000\n",
            encoding="utf-8",
        )
        outs[split_bytes, workers] = tmp_path / f"out-{split_bytes}-{workers}"
        assert run_zhcorpus(config, outs[split_bytes, workers], "--workers", workers, "--no-shards") == 0
    assert planned[0] == 1 and planned[1] > 20  # whole, then in parts (the 2-worker run plans in its workers)
    assert fingerprint(outs[65536, "1"]) == fingerprint(outs[0, "1"])
    assert fingerprint(outs[65536, "2"]) == fingerprint(outs[0, "1"])
    errors = [json.loads(line) for path in (outs[0, "1"] / "errors").rglob("*.jsonl") for line in path.read_text().splitlines()]
    assert [error["id"] for error in errors] == ["news.jsonl:line:102"]
