"""The end-to-end benchmark in its smoke form (one small copy of the sample), so that
`make bench` keeps working: it runs, and writes bench/results/latest.json's keys. Nothing
here looks at the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from filters import classifier
from sampling import tokenizer as tk
from tests.conftest import REPO
from tests.sampling.conftest import real_documents

KEYS = (
    "pipeline_mb_s_per_core",
    "dedup_mb_s_per_core",
    "tokenize_mb_s_per_core",
    "peak_rss_mb",
    "peer_name",
    "peer_ratio",
    "input_mb",
)


def test_the_benchmark_runs_and_reports_its_keys(sample_dir: Path, tmp_path: Path) -> None:
    docs = real_documents(per_source=100, stride=9)
    examples = [classifier.Example(f"{d.source}/{d.doc_id}", d.source == "reviews", d.text) for d in docs]
    classifier.train(examples, str(tmp_path / "spam.bin"), classifier.TrainSettings(kind="spam"))
    tk.train([d.text for d in docs], str(tmp_path / "tokenizer.model"), vocab_size=4000)
    command = [
        sys.executable,
        str(REPO / "bench" / "scale.py"),
        "--smoke",
        "--work",
        str(tmp_path / "work"),
        "--spam-model",
        str(tmp_path / "spam.bin"),
        "--tokenizer",
        str(tmp_path / "tokenizer.model"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    latest = json.loads((tmp_path / "work" / "latest.json").read_text(encoding="utf-8"))
    assert set(KEYS) <= set(latest) and latest["details"]["smoke"]
    assert latest["input_mb"] > 1 and latest["peak_rss_mb"] > 0
    assert isinstance(latest["pipeline_mb_s_per_core"], float) and isinstance(latest["tokenize_mb_s_per_core"], float)
    if latest["peer_ratio"] is None:  # Data-Juicer not installed: the output says why
        assert latest["peer_problem"] and "not run" in done.stdout
    assert "every stage + shards" in done.stdout and "the shared recipe" in done.stdout
