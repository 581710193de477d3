"""bench/runners.py in its smoke form (a slice of the sample, 1 and 2 workers on the
DirectRunner and the Dask runner), so that `make bench-runners` keeps working. The one
thing checked besides the keys is that the four runs' outputs are identical."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from filters import classifier
from sampling import tokenizer as tk
from tests.conftest import REPO
from tests.sampling.conftest import real_documents


def test_the_runners_benchmark_runs_and_the_outputs_agree(sample_dir: Path, tmp_path: Path) -> None:
    docs = real_documents(per_source=100, stride=9)
    examples = [classifier.Example(f"{d.source}/{d.doc_id}", d.source == "reviews", d.text) for d in docs]
    classifier.train(examples, str(tmp_path / "spam.bin"), classifier.TrainSettings(kind="spam"))
    tk.train([d.text for d in docs], str(tmp_path / "tokenizer.model"), vocab_size=4000)
    command = [sys.executable, str(REPO / "bench" / "runners.py"), "--smoke", "--work", str(tmp_path / "work")]
    command += ["--spam-model", str(tmp_path / "spam.bin"), "--tokenizer", str(tmp_path / "tokenizer.model")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "work" / "runners.json").read_text(encoding="utf-8"))
    assert set(results["runs"]) == {"DirectRunner-1", "DirectRunner-2", "DaskRunner-1", "DaskRunner-2"}
    assert results["outputs_identical"] is True
    assert all(run["seconds"] > 0 and run["peak_main_mb"] > 0 for run in results["runs"].values())
    assert results["runs"]["DaskRunner-2"]["peak_worker_mb"] > 0
    for run in results["runs"].values():  # the steps' spans came back from every runner (a slice reads in milliseconds)
        assert run["cpu_bound_seconds"] > 0 and run["read_seconds"] is not None
    assert results["DirectRunner_cpu_bound_speedup_2_workers"] > 0 and results["DaskRunner_cpu_bound_speedup_2_workers"] > 0
