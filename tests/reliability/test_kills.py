"""Kill a run at any moment: the output folder holds exactly one whole run, the previous or
the new one, and the same command run again gives the new run byte for byte.

Two kinds of kill points: SIGKILL and SIGTERM at moments spread over a whole run (the
pipeline, the report, the publish step), and, through ``kill_harness``, just before each
file-system operation of the publish step in turn (where timing cannot aim)."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.rundir import WORK_SUFFIX
from tests.conftest import REPO

CONFIG = """
sources:
  - name: ebooks
    paths: ["fortunes.jsonl"]
    format: jsonl
    stages: [clean]
  - name: news
    paths: ["news.jsonl"]
    format: jsonl
output:
  format: {format}
"""


def _command(config: Path, out: Path, module: str = "pipelines.cli") -> list[str]:
    command = [sys.executable, "-m", module, "run", str(config), "--out", str(out), "--overwrite"]
    return [*command, "--workers", "1", "--progress-seconds", "-1"]


def digest(folder: Path) -> dict[str, str]:
    """Every file of a run but its timing and report (wall time), with its SHA-256."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name not in ("timing.json", "report.html", "report.md")
    }


def _leftovers(out: Path) -> list[str]:
    """What is beside the output folder besides the inputs, configs and references."""
    return sorted(name for name in os.listdir(out.parent) if name.startswith(f".{out.name}"))


@pytest.fixture(scope="module")
def runs(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Inputs (600 fortunes, 300 news), the configs of a previous run (A, plain JSONL) and
    a new one (B, gzipped), and the reference outputs of both."""
    root = tmp_path_factory.mktemp("kills")
    fortunes = gzip.decompress((sample_dir / "ebooks" / "fortunes-zh.jsonl.gz").read_bytes()).splitlines(keepends=True)
    (root / "fortunes.jsonl").write_bytes(b"".join(fortunes[:600]))
    import zstandard

    news = (
        zstandard.ZstdDecompressor()
        .decompressobj()
        .decompress((sample_dir / "news" / "peoples-daily-199801.jsonl.zst").read_bytes())
    )
    (root / "news.jsonl").write_bytes(b"".join(news.splitlines(keepends=True)[:300]))
    configs = {}
    for name, output in (("a", "jsonl"), ("b", "jsonl.gz")):
        configs[name] = root / f"{name}.yaml"
        configs[name].write_text(CONFIG.format(format=output), encoding="utf-8")
    references = {}
    for name in ("a", "b"):
        references[name] = root / f"reference-{name}"
        started = time.monotonic()
        done = subprocess.run(_command(configs[name], references[name]), cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    seconds = time.monotonic() - started
    return {"root": root, "configs": configs, "references": references, "seconds": seconds}


def _previous(runs: dict[str, object], out: Path) -> None:
    """``out`` holds the previous run (A), as its run left it."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(runs["references"]["a"], out)  # type: ignore[index]


def _check_one_whole_run_then_rerun(runs: dict[str, object], out: Path, where: str, had_previous: bool = True) -> None:
    previous, new = (digest(runs["references"][name]) for name in ("a", "b"))  # type: ignore[index]
    if had_previous or out.exists():
        found = digest(out)
        assert found in (previous, new), f"{where}: the folder holds neither whole run: {sorted(set(found) ^ set(new))[:5]}"
    rerun = subprocess.run(_command(runs["configs"]["b"], out), cwd=REPO, capture_output=True, text=True)  # type: ignore[index]
    assert rerun.returncode == 0, f"{where}: {rerun.stderr}"
    assert digest(out) == new, f"{where}: the rerun differs"
    assert _leftovers(out) == [], f"{where}: left beside the run: {_leftovers(out)}"


def _operations(runs: dict[str, object], out: Path) -> int:
    _previous(runs, out)
    done = subprocess.run(
        _command(runs["configs"]["b"], out, "tests.reliability.kill_harness"),  # type: ignore[index]
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "KILL_AT": "0"},
    )
    assert done.returncode == 0, done.stderr
    return int(done.stderr.rsplit("OPERATIONS ", 1)[1].split()[0])


def test_kill_at_every_operation_of_the_publish_step(runs: dict[str, object], tmp_path: Path) -> None:
    """SIGKILL and SIGTERM before file-system operations of the publish step: one whole
    run each time, and the rerun gives the new one."""
    out = tmp_path / "out"
    operations = _operations(runs, out)
    assert operations >= 8, "the publish step: marker, exchange, the old run's deletion, the lock"
    # Every operation up to the old run's deletion and of the release; inside the deletion
    # (one unlink per file of the old run, all alike) every fourth.
    killed_at = sorted({*range(1, 7), *range(7, operations - 3, 4), *range(max(1, operations - 3), operations + 1)})
    terminated_at = sorted({1, 2, 3, 4, operations // 2, operations})
    points = [(k, signal.SIGKILL) for k in killed_at] + [(k, signal.SIGTERM) for k in terminated_at]
    for at, signum in points:
        _previous(runs, out)
        killed = subprocess.run(
            _command(runs["configs"]["b"], out, "tests.reliability.kill_harness"),  # type: ignore[index]
            cwd=REPO,
            capture_output=True,
            text=True,
            env={**os.environ, "KILL_AT": str(at), "KILL_SIGNAL": str(int(signum))},
        )
        where = f"{signum.name} before publish operation {at} of {operations}"
        assert killed.returncode in (-signal.SIGKILL, 128 + signal.SIGTERM), f"{where}: {killed.returncode} {killed.stderr}"
        if signum == signal.SIGTERM:
            assert killed.stderr.strip().endswith(("holds the new run", "holds what it held before")), killed.stderr
            assert _leftovers(out) == [], f"{where}: a stopped run must clean up: {_leftovers(out)}"
        _check_one_whole_run_then_rerun(runs, out, where)


@pytest.mark.parametrize(
    ("fraction", "signum"),
    [(0.15, signal.SIGKILL), (0.35, signal.SIGTERM), (0.55, signal.SIGKILL), (0.75, signal.SIGTERM), (0.95, signal.SIGKILL)],
)
def test_kill_during_a_run(runs: dict[str, object], tmp_path: Path, fraction: float, signum: signal.Signals) -> None:
    """Killed part-way through a run over a previous one (start, pipeline, report,
    publish): the previous run or the new one is there whole, the rerun completes."""
    out = tmp_path / "out"
    _previous(runs, out)
    process = subprocess.Popen(
        _command(runs["configs"]["b"], out),  # type: ignore[index]
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(float(runs["seconds"]) * fraction)  # type: ignore[arg-type]
    if process.poll() is None:
        (os.killpg if signum == signal.SIGKILL else os.kill)(process.pid, signum)
    process.wait()
    _check_one_whole_run_then_rerun(runs, out, f"{signum.name} at {fraction:.0%} of a run")


def test_a_killed_run_leaves_its_work_beside_the_folder_and_the_next_run_removes_it(
    runs: dict[str, object], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    process = subprocess.Popen(
        _command(runs["configs"]["b"], out),  # type: ignore[index]
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    work = tmp_path / f".out{WORK_SUFFIX}"
    deadline = time.monotonic() + 60
    while not any(work.glob("staging-*/config.resolved.yaml")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not out.exists(), "nothing is published before the run is whole"
    assert any(work.glob("staging-*")), "the killed run's staging is left in the work folder"
    _check_one_whole_run_then_rerun(runs, out, "SIGKILL with no previous run", had_previous=False)
