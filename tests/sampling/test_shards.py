"""The shard stage end to end on real documents: the mix, the packing, byte-identical
reruns, and the shards read back by the real readers (Hugging Face datasets, megatron-core)."""

from __future__ import annotations

import collections
import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from corpus import writers
from corpus.config import RunConfig, parse_config
from corpus.record import Document
from pipelines.graph import build_shards_pipeline
from sampling import tokenizer as tk
from sampling.inspect import inspect_shards, read_sequences, shards_summary
from sampling.shards import SHARD_STATS
from tests.conftest import REPO

SEQ = 255  # sequences of 256 tokens: many sequences, several shards, from a few hundred documents


def make_run(tmp: Path, documents: list[Document]) -> Path:
    """A finished run's folder holding ``documents`` as its kept output."""
    run = tmp / "run"
    by_source: dict[str, list[Document]] = collections.defaultdict(list)
    for doc in documents:
        by_source[doc.source].append(doc)
    for source, docs in by_source.items():
        half = len(docs) // 2
        writers.write_shard(str(run), f"kept/{source}", 0, 2, docs[:half], "jsonl.gz")
        writers.write_shard(str(run), f"kept/{source}", 1, 2, docs[half:], "parquet")
    (run / "stats").mkdir(parents=True, exist_ok=True)
    (run / "stats" / "run.json").write_text("{}")
    return run


def config_for(model: str, mix: dict[str, dict[str, float]], **shards: Any) -> RunConfig:
    sources = [{"name": name, "paths": ["unused"], "format": "jsonl", **settings} for name, settings in mix.items()]
    return parse_config(
        {"sources": sources, "seed": 3, "shards": {"tokenizer": model, "seq_length": SEQ, "shard_tokens": 40_000, **shards}}
    )


def build(config: RunConfig, run: Path, out: Path, workers: int = 1) -> dict[str, Any]:
    mode = ["--direct_running_mode=in_memory"] if workers == 1 else ["--direct_running_mode=multi_processing"]
    options = PipelineOptions(["--runner=DirectRunner", *mode, f"--direct_num_workers={workers}"])
    with beam.Pipeline(options=options) as pipeline:
        build_shards_pipeline(pipeline, config, str(run), str(out))
    return json.loads((out / SHARD_STATS).read_text(encoding="utf-8"))


def digests(out: Path) -> dict[str, str]:
    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


WEIGHTS = {"web": 0.35, "encyclopedia": 0.1, "ebooks": 0.2, "public": 0.1, "reviews": 0.05, "news": 0.2}


@pytest.fixture(scope="module")
def weighted(documents: list[Document], model_path: str, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    tmp = tmp_path_factory.mktemp("shards")
    run = make_run(tmp, documents)
    config = config_for(model_path, {name: {"weight": weight} for name, weight in WEIGHTS.items()}, tokens=200_000)
    report = build(config, run, tmp / "out")
    return config, run, tmp / "out", report


def test_every_sequence_is_real_documents_whole_and_the_mix_is_the_plan(
    weighted: tuple, documents: list[Document], tokenizer: tk.Tokenizer
) -> None:
    _config, _, out, report = weighted
    texts = collections.Counter()
    sequences = np.concatenate([read_sequences(str(path)) for path in sorted((out / "shards").glob("*.idx"))])
    assert sequences.shape[1] == SEQ + 1
    flat = sequences.reshape(-1)
    eods = np.flatnonzero(flat == tokenizer.eod_id)
    start = 0
    for end in eods:
        texts[tokenizer.decode(flat[start:end])] += 1
        start = int(end) + 1
    assert (flat[start:] == tokenizer.pad_id).all(), "only padding after the last <eod>"
    by_text = {doc.text: doc for doc in documents}
    assert set(texts) <= set(by_text), "every piece between two <eod> is one whole kept document"
    realised = collections.Counter()
    for text, copies in texts.items():
        doc = by_text[text]
        target = report["sources"][doc.source]
        assert copies in (int(target["epochs_target"]), int(target["epochs_target"]) + 1), doc.doc_id
        realised[doc.source] += copies * (len(tokenizer.encode(text)) + 1)
    largest = collections.Counter()
    for doc, ids in zip(documents, tokenizer.encode_many([doc.text for doc in documents]), strict=True):
        largest[doc.source] = max(largest[doc.source], len(ids) + 1)
    for name, entry in report["sources"].items():
        assert entry["tokens_realised"] == realised[name] == entry["tokens_planned"], name
        assert entry["weight_target"] == WEIGHTS[name]
        # documents go in whole: the realised count misses the target by less than one document
        assert abs(entry["tokens_realised"] - entry["tokens_target"]) <= largest[name], name
    epochs = {name: entry["epochs_realised"] for name, entry in report["sources"].items()}
    assert epochs["reviews"] > 1 and epochs["web"] < 1, epochs  # repeated and subsampled
    totals = report["totals"]
    assert totals["eod"] == sum(texts.values()) == len(eods)
    assert totals["tokens"] == totals["tokens_realised"] + totals["padding"] == flat.size
    assert totals["shards"] == len(report["shards"]) >= 4
    assert report["warnings"] == [] and report["tokenizer"]["dtype"] == "uint16"
    assert sum(report["doc_tokens_histogram"]["news"].values()) == report["sources"]["news"]["docs"]


def test_rerun_with_more_workers_is_byte_identical(weighted: tuple, tmp_path: Path) -> None:
    config, run, out, _ = weighted
    build(config, run, tmp_path / "again", workers=2)
    assert digests(tmp_path / "again") == digests(out)


def test_parquet_loads_with_hugging_face_datasets_and_equals_megatron(
    weighted: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, out, report = weighted
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    files = sorted(str(path) for path in (out / "shards").glob("*.parquet"))
    dataset = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "hf"))
    assert str(dataset.features["input_ids"].feature.dtype) == "uint16"
    assert len(dataset) == report["totals"]["sequences"]
    table = dataset.with_format("arrow")[:]
    ids = np.array(table.column("input_ids").to_pylist(), dtype=np.uint16)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Transformer Engine and Apex are not installed": CPU only here
        from megatron.core.datasets.indexed_dataset import IndexedDataset

    megatron = []
    for shard in report["shards"]:
        prefix = str(out / shard["files"][0]["path"]).removesuffix(".bin")
        indexed = IndexedDataset(prefix)
        assert len(indexed) == shard["sequences"]
        assert indexed.document_indices.tolist() == list(range(shard["sequences"] + 1))
        megatron.extend(np.array(indexed[i]) for i in range(len(indexed)))  # copies: the mmap closes with it
    assert np.array_equal(np.stack(megatron), ids), "Parquet and Megatron shards hold the same tokens, in order"
    assert table.column("sequence").to_pylist() == list(range(len(ids)))


def test_epochs_mix_and_an_empty_source(documents: list[Document], model_path: str, tmp_path: Path) -> None:
    kept = [doc for doc in documents if doc.source in ("news", "ebooks")]
    run = make_run(tmp_path, kept)
    config = config_for(model_path, {"news": {"epochs": 2.0}, "ebooks": {"epochs": 0.5}, "web": {"epochs": 1.0}})
    report = build(config, run, tmp_path / "out")
    news, ebooks, web = (report["sources"][name] for name in ("news", "ebooks", "web"))
    assert news["tokens_realised"] == 2 * news["tokens_available"]
    assert abs(ebooks["tokens_realised"] - ebooks["tokens_available"] / 2) <= ebooks["tokens_available"] * 0.05
    assert web == {**web, "docs": 0, "tokens_available": 0, "tokens_realised": 0}
    assert report["warnings"] == ["source web kept no tokens: it is not in the shards"]


def test_summary_and_inspect_read_the_shards(weighted: tuple, tokenizer: tk.Tokenizer) -> None:
    _, _run, out, report = weighted
    summary = shards_summary(str(out / SHARD_STATS))
    assert "weight asked" in summary and "35.00%" in summary
    shown = inspect_shards(str(out), None, decode=1, chars=40)
    first = report["shards"][0]
    assert f"{first['sequences']:,}" in shown and "sequence 0 of" in shown and "tokens]" in shown
    one = inspect_shards(str(out / first["files"][0]["path"]), tokenizer.model_path, decode=0, chars=10)
    assert first["files"][0]["sha256"][:16] in one


def test_cli_shards_build_and_bad_tokenizer_exit_2(weighted: tuple, tmp_path: Path) -> None:
    _config, run, _, _ = weighted
    body = {
        "sources": [{"name": "news", "paths": [str(REPO / "data/sample/news/*.jsonl.zst")], "format": "jsonl", "epochs": 1.0}],
        "shards": {"tokenizer": str(tmp_path / "missing.model")},
    }
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(body), encoding="utf-8")
    command = [sys.executable, "-m", "pipelines.cli"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [*command, "shards", "build", "--config", str(path), "--run", str(run)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 2, result.stderr
    assert "shards.tokenizer: tokenizer model not found" in result.stderr and "zhcorpus tokenizer train" in result.stderr
    result = subprocess.run([*command, "run", str(path), "--out", str(tmp_path / "o")], capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "--no-shards" in result.stderr
    result = subprocess.run([*command, "shards", "inspect", str(tmp_path)], capture_output=True, text=True, env=env)
    assert result.returncode == 1 and "no shard files" in result.stderr


def test_a_run_with_a_shards_section_writes_shards_in_the_same_pipeline(model_path: str, tmp_path: Path) -> None:
    from pipelines.graph import build_pipeline

    fortunes = REPO / "data" / "sample" / "ebooks" / "fortunes-zh.jsonl.gz"
    config = parse_config(
        {
            "sources": [{"name": "ebooks", "paths": [str(fortunes)], "format": "jsonl", "stages": ["sensitive"], "epochs": 1.0}],
            "shards": {"tokenizer": model_path, "seq_length": 511, "shard_tokens": 100_000, "formats": ["parquet"]},
        }
    )
    with beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=in_memory"])) as pipeline:
        build_pipeline(pipeline, config, str(tmp_path), progress_seconds=-1)
    run = json.loads((tmp_path / "stats" / "run.json").read_text(encoding="utf-8"))
    report = json.loads((tmp_path / SHARD_STATS).read_text(encoding="utf-8"))
    assert report["sources"]["ebooks"]["docs"] == run["sources"]["ebooks"]["docs_kept"] > 0
    assert report["sources"]["ebooks"]["tokens_realised"] == report["sources"]["ebooks"]["tokens_available"]
    assert report["totals"]["eod"] == run["sources"]["ebooks"]["docs_kept"]
    assert sorted(path.suffix for path in (tmp_path / "shards").iterdir()) == [".parquet"] * report["totals"]["shards"]


def test_a_run_that_kept_nothing_gets_an_empty_report_not_a_crash(model_path: str, tmp_path: Path) -> None:
    run = make_run(tmp_path, [])
    report = build(config_for(model_path, {"web": {"weight": 1.0}}, tokens=1000), run, tmp_path / "out")
    assert report["totals"] == {**report["totals"], "shards": 0, "sequences": 0, "tokens": 0, "eod": 0}
    assert report["warnings"][-1] == "no source with a weight above 0 kept any tokens: the training mix is empty"
    assert not (tmp_path / "out" / "shards").exists()
