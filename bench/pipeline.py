"""Throughput of the pipeline on the real sample corpus: MB/s per core and peak memory.

Two figures:
- readers alone, one process, no Beam: what parsing each format costs per core;
- `zhcorpus run configs/sample.yaml` end to end on the DirectRunner with every core.

Run with `make bench` (builds the sample corpus first). Timings are printed and written to
bench/results/pipeline.json; no test asserts on them.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "bench"))

from common import peak_rss_mb, write_results  # noqa: E402

from corpus.config import find_inputs, load_config  # noqa: E402
from corpus.readers import read_file  # noqa: E402


def bench_readers(config_path: Path) -> dict[str, dict[str, float]]:
    config = load_config(str(config_path))
    results = {}
    for source in config.sources:
        started = time.perf_counter()
        docs = size = 0
        for file in find_inputs(source):
            for doc in read_file(file, source, config.read):
                docs += 1
                size += doc.size_bytes
        seconds = time.perf_counter() - started
        results[source.name] = {"docs": docs, "mb": size / 1e6, "seconds": seconds, "mb_s_per_core": size / 1e6 / seconds}
    return results


def bench_run(config_path: Path, workers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "pipelines.cli",
            "run",
            str(config_path),
            "--out",
            out,
            "--workers",
            str(workers),
            "--progress-seconds",
            "-1",
            "--no-shards",  # the shard stage needs a tokenizer trained on a run: bench/tokens.py measures it
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        report = json.loads((Path(out) / "stats" / "run.json").read_text())
    megabytes = sum(entry["bytes_in"] for entry in report["sources"].values()) / 1e6
    docs = sum(entry["docs_in"] for entry in report["sources"].values())
    return {
        "workers": workers,
        "input_mb": megabytes,
        "docs": docs,
        "seconds": seconds,
        "mb_s_per_core": megabytes / seconds / workers,
        "docs_per_s": docs / seconds,
        "peak_rss_mb": max(peak_rss_mb(resource.RUSAGE_CHILDREN), peak_rss_mb(resource.RUSAGE_SELF)),
    }


def main() -> None:
    config_path = REPO / "configs" / "sample.yaml"
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, {platform.machine()}, Python {platform.python_version()}")
    print(f"versions: apache-beam {version('apache-beam')}, resiliparse {version('resiliparse')}, pyarrow {version('pyarrow')}")
    readers = bench_readers(config_path)
    print("\nreaders alone (1 process):")
    for name, figures in readers.items():
        print(f"  {name:<13} {figures['docs']:>7} docs {figures['mb']:7.1f} MB  {figures['mb_s_per_core']:7.2f} MB/s per core")
    runs = [bench_run(config_path, 1), bench_run(config_path, cores)]
    print("\nzhcorpus run configs/sample.yaml (DirectRunner):")
    for figures in runs:
        print(
            f"  {figures['workers']} worker(s): {figures['input_mb']:.1f} MB, {figures['docs']} docs in {figures['seconds']:.1f} s"
            f" = {figures['mb_s_per_core']:.2f} MB/s per core, {figures['docs_per_s']:.0f} docs/s, peak RSS {figures['peak_rss_mb']:.0f} MB"
        )
    print(f"\nwritten to {write_results('pipeline', {'cores': cores, 'readers': readers, 'runs': runs})}")


if __name__ == "__main__":
    main()
