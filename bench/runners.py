"""The whole pipeline on 1 and 2 workers, on the DirectRunner and on zhcorpus's Dask runner.

Input: the real sample corpus repeated ``--copies`` times (default 2, 73 MB; the same
input-xN folders as bench/scale.py), every stage on (clean, sensitive, spam, dedup,
tokenise, shards). Each run is its own process tree, sampled every 0.2 s: wall time, MB/s
per core of input (cores = workers), the speed-up of 2 workers over 1 (of the whole run,
and of the CPU-bound steps and of the read step alone, from the steps' spans in each
run's stats/timing.json), and the peak memory of the main process (the DirectRunner's
runner, or the Dask client and scheduler) and of the largest worker. The four runs'
outputs are compared file by file: they must be equal.

Figures go to bench/results/runners.json; nothing asserts on them. ``--smoke`` runs one
copy of a small slice, to keep the script working.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from scale import build_input, parse_setup, zhcorpus_config  # noqa: E402

from corpus.work import span  # noqa: E402

RUNS = (("DirectRunner", 1), ("DirectRunner", 2), ("DaskRunner", 1), ("DaskRunner", 2))
CPU_BOUND = ("clean", "sensitive", "spam", "quality", "dedup")
"""The steps that judge or sketch one document at a time (dedup: its signatures), fused
into one stage: their span, from the first start to the last end (stats/timing.json)."""


def sampled(command: list[str], log: Path) -> dict[str, Any]:
    """Run ``command``; wall seconds and the peak RSS of the main process and of the
    largest other process in its tree (a worker), sampled every 0.2 s."""
    started = time.perf_counter()
    with open(log, "w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    main = psutil.Process(process.pid)
    peak_main = peak_worker = 0
    while process.poll() is None:
        try:
            peak_main = max(peak_main, main.memory_info().rss)
            for child in main.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # a process that ended between the two calls
                    peak_worker = max(peak_worker, child.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])} ... failed (exit {process.returncode}); see {log}")
    return {"seconds": round(seconds, 2), "peak_main_mb": round(peak_main / 2**20), "peak_worker_mb": round(peak_worker / 2**20)}


def digest(out: Path) -> str:
    """One hash over every output file but the timing (kept, rejected, errors, stats, shards)."""
    total = hashlib.sha256()
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.name not in ("timing.json", "report.html", "report.md"):
            total.update(str(path.relative_to(out)).encode() + b"\0" + path.read_bytes())
    return total.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2, help="copies of the sample corpus in the input (default 2)")
    parser.add_argument("--smoke", action="store_true", help="one copy of a slice, to check the script runs")
    args, setup = parse_setup(parser)
    copies, per_source = (1, 300) if args.smoke else (args.copies, None)
    folder, megabytes, docs = build_input(setup, copies, per_source)
    config = zhcorpus_config(setup, folder, ["clean", "sensitive", "spam", "dedup"], shards=True)
    print(f"input: {megabytes:.1f} MB, {docs:,} documents; {os.cpu_count()} cores")
    results: dict[str, Any] = {"input_mb": round(megabytes, 2), "input_docs": docs, "cores": os.cpu_count(), "runs": {}}
    digests = {}
    for runner, workers in RUNS:
        name = f"{runner}-{workers}"
        out = setup.work / "runs" / f"runners-{name}"
        command = [str(REPO / ".venv" / "bin" / "zhcorpus"), "run", str(config), "--out", str(out), "--overwrite"]
        command += ["--no-report", "--progress-seconds", "-1", "--runner", runner, "--workers", str(workers)]
        figures = sampled(command, setup.work / f"runners-{name}.log")
        figures["mb_s_per_core"] = round(megabytes / figures["seconds"] / workers, 3)
        steps = json.loads((out / "stats" / "timing.json").read_text(encoding="utf-8"))["steps"]
        figures["busy_seconds"] = {step: entry["busy_seconds"] for step, entry in steps.items()}
        figures["spans"] = {step: [entry.get("from_s"), entry.get("to_s")] for step, entry in steps.items()}
        figures["cpu_bound_seconds"] = span(steps, CPU_BOUND)
        figures["read_seconds"] = span(steps, ("read",))
        digests[name] = digest(out)
        shutil.rmtree(out, ignore_errors=True)
        results["runs"][name] = figures
        print(
            f"{name:15} {figures['seconds']:8.1f} s  {figures['mb_s_per_core']:6.3f} MB/s per core  "
            f"peak main {figures['peak_main_mb']:,} MB, largest worker {figures['peak_worker_mb']:,} MB"
        )
    for runner in ("DirectRunner", "DaskRunner"):
        one, two = results["runs"][f"{runner}-1"], results["runs"][f"{runner}-2"]
        results[f"{runner}_speedup_2_workers"] = round(one["seconds"] / two["seconds"], 2)
        line = f"{runner}: 2 workers are {results[f'{runner}_speedup_2_workers']:.2f}x as fast as 1 (whole run)"
        for part in ("cpu_bound", "read"):
            if one[f"{part}_seconds"] and two[f"{part}_seconds"]:
                results[f"{runner}_{part}_speedup_2_workers"] = round(one[f"{part}_seconds"] / two[f"{part}_seconds"], 2)
                line += (
                    f"; {part.replace('_', '-')} steps {one[f'{part}_seconds']:.1f} -> {two[f'{part}_seconds']:.1f} s, "
                    f"{results[f'{runner}_{part}_speedup_2_workers']:.2f}x"
                )
        print(line)
    results["outputs_identical"] = len(set(digests.values())) == 1
    print("outputs identical across the four runs:", results["outputs_identical"])
    target = setup.work / "runners.json" if args.smoke else REPO / "bench" / "results" / "runners.json"
    target.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"written to {target}")


if __name__ == "__main__":
    main()
