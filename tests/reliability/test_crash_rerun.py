"""A run killed with SIGKILL part-way leaves nothing that looks complete, and the same
command run again gives outputs byte-identical to an uninterrupted run."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

CONFIG = """
sources:
  - name: web
    paths: ["web/*.warc.gz"]
    format: warc
    stages: [clean, sensitive]
  - name: news
    paths: ["news/*.jsonl.zst"]
    format: jsonl
output:
  format: jsonl.gz
  shard_bytes: 500000
"""


def _command(config: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipelines.cli",
        "run",
        str(config),
        "--out",
        str(out),
        "--workers",
        "1",
        "--progress-seconds",
        "-1",
    ]


def _files(out: Path) -> dict[str, str]:
    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*"))
        if path.is_file() and path.name not in ("timing.json", "report.html", "report.md")  # wall time, throughput
    }


@pytest.fixture(scope="module")
def setup(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, float]:
    root = tmp_path_factory.mktemp("crash")
    (root / "web").mkdir()
    (root / "news").mkdir()
    for name in ("libreoffice-help-zh-cn-00000.warc.gz", "libreoffice-help-zh-tw-00000.warc.gz"):
        shutil.copy(sample_dir / "web" / name, root / "web" / name)
    shutil.copy(sample_dir / "news" / "peoples-daily-199801.jsonl.zst", root / "news")
    config = root / "run.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    reference = root / "reference"
    started = time.monotonic()
    subprocess.run(_command(config, reference), check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return config, reference, time.monotonic() - started


@pytest.mark.parametrize("fraction", [0.4, 0.8, 0.95])
def test_killed_run_then_rerun_gives_identical_outputs(setup: tuple[Path, Path, float], tmp_path: Path, fraction: float) -> None:
    config, reference, seconds = setup
    out = tmp_path / "out"
    process = subprocess.Popen(
        _command(config, out), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    time.sleep(seconds * fraction)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    expected = _files(reference)
    finished = (out / "stats" / "run.json").exists()
    if finished:
        # Killed (or done) after run.json, which is written last: the outputs are complete,
        # and running the same command again must refuse rather than redo them.
        assert _files(out) == expected
    else:
        for name, digest in _files(out).items():
            if ".tmp-" in name or name.startswith(".staging/"):
                continue  # work in progress, under names that do not look final
            assert expected.get(name) == digest, f"{name} under its final name but not complete"
    rerun = subprocess.run(_command(config, out), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if finished:
        assert rerun.returncode == 2 and "--overwrite" in rerun.stderr
        return
    assert rerun.returncode == 0, rerun.stderr
    assert _files(out) == expected
