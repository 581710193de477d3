"""The output folder: a run deletes only what a zhcorpus run wrote, one run at a time, and
every misuse is one line and exit 2 before any work, every failure one line and exit 1,
with nothing temporary left behind (issue: reliability, rows 1, 2, 4 and the last three)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.rundir import MARKER, WORK_SUFFIX, RunFolder, RunFolderError, exchange, foreign_entries
from tests.conftest import REPO

CONFIG = """
sources:
  - name: ebooks
    paths: ["fortunes.jsonl"]
    format: jsonl
    stages: [clean]
output:
  format: jsonl
"""


@pytest.fixture(scope="module")
def config(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("folder")
    lines = gzip.decompress((sample_dir / "ebooks" / "fortunes-zh.jsonl.gz").read_bytes()).splitlines(keepends=True)
    (root / "fortunes.jsonl").write_bytes(b"".join(lines[:400]))
    path = root / "run.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _run(config: Path, out: str | Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pipelines.cli", "run", str(config), "--out", str(out), "--workers", "1"]
    return subprocess.run([*command, "--progress-seconds", "-1", *extra], cwd=REPO, capture_output=True, text=True)


def _last_line(stderr: str) -> str:
    """The one line a command ends with (a warning before the work may precede it); no
    traceback, and nothing else on stderr."""
    lines = stderr.strip().splitlines()
    assert all(line.startswith("zhcorpus: ") for line in lines), stderr
    assert len([line for line in lines if not line.startswith("zhcorpus: warning:")]) == 1, stderr
    return lines[-1]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_folder_of_the_users_own_files_is_never_touched(config: Path, tmp_path: Path) -> None:
    """Row 1: kept/, shards/ and report.md of the user's own, no marker: refused, even
    with --overwrite, and every file stays as it was."""
    out = tmp_path / "mine"
    for name, data in (("kept/notes.jsonl", b"mine\n"), ("shards/tokens.bin", b"\x00\x01"), ("report.md", b"# mine\n")):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    before = _tree(out)
    for extra in ((), ("--overwrite",)):
        done = _run(config, out, *extra)
        assert done.returncode == 2
        assert "holds files zhcorpus did not write" in _last_line(done.stderr)
        assert _tree(out) == before
        assert sorted(os.listdir(tmp_path)) == ["mine"], "no work folder left beside it"


def test_an_empty_out_is_refused_and_the_current_folder_untouched(config: Path, tmp_path: Path) -> None:
    """Row 2: --out "" once published the run into the current folder."""
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "x").write_text("mine")
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", str(config), "--out", ""],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 2 and "--out is empty" in _last_line(done.stderr)
    assert sorted(os.listdir(tmp_path)) == ["kept"] and (tmp_path / "kept" / "x").read_text() == "mine"
    os.chdir(tmp_path)
    try:
        with pytest.raises(RunFolderError, match="current folder"):
            RunFolder(".")
    finally:
        os.chdir(REPO)


def test_overwrite_replaces_only_an_untouched_run(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _run(config, out).returncode == 0
    marker = json.loads((out / MARKER).read_text())
    assert marker["written_by"] == "zhcorpus" and marker["files"]["kept"] == 1
    again = _run(config, out)
    assert again.returncode == 2 and "--overwrite" in _last_line(again.stderr)
    (out / "notes.txt").write_text("mine")
    (out / "kept" / "ebooks" / "extra.jsonl").write_text("mine")
    refused = _run(config, out, "--overwrite")
    assert refused.returncode == 2
    assert "notes.txt" in refused.stderr and "kept/ (2 files, the run wrote 1)" in refused.stderr
    assert (out / "notes.txt").read_text() == "mine" and (out / "kept" / "ebooks" / "extra.jsonl").exists()
    os.remove(out / "notes.txt")
    os.remove(out / "kept" / "ebooks" / "extra.jsonl")
    assert foreign_entries(str(out)) == []
    assert _run(config, out, "--overwrite").returncode == 0
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_a_review_sheet_goes_beside_the_run_not_into_it(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _run(config, out).returncode == 0
    assert main(["evaluate", "--review", str(out), "--n", "4"]) == 0
    assert (tmp_path / "run.review.csv").exists()
    assert foreign_entries(str(out)) == [], "a review sheet in the run would stop the next --overwrite"


def test_one_run_per_folder_and_the_lock_survives_a_killed_holder(config: Path, tmp_path: Path) -> None:
    """Row 4: two runs on one --out 3 s apart both 'succeeded', one without its config."""
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from pipelines.rundir import RunFolder\nimport time\nwith RunFolder({str(out)!r}):\n    print('held', flush=True); time.sleep(60)",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    second = _run(config, out)
    assert second.returncode == 2
    assert "is being written by another zhcorpus run (pid" in _last_line(second.stderr)
    assert time.monotonic() - started < 30, "refused at once, not after a run"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    first = _run(config, out)  # the kernel released the dead holder's lock
    assert first.returncode == 0, first.stderr
    assert (out / "config.resolved.yaml").exists()


def test_two_runs_started_three_seconds_apart(sample_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = tmp_path / "run.yaml"  # the sample's e-books, cleaned and deduplicated: a run of 10 s or so
    config.write_text(
        CONFIG.replace("fortunes.jsonl", str(sample_dir / "ebooks" / "*.jsonl.gz")).replace("[clean]", "[clean, dedup]")
    )
    command = [sys.executable, "-m", "pipelines.cli", "run", str(config), "--out", str(out), "--workers", "1"]
    first = subprocess.Popen([*command, "--progress-seconds", "-1"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    work = tmp_path / f".run{WORK_SUFFIX}"
    deadline = time.monotonic() + 60
    while not (work / "lock").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(max(0.0, 3.0 - 0.5))
    second = _run(config, out)
    assert first.poll() is None, "the first run is still running when the second starts"
    _, first_err = first.communicate()
    assert first.returncode == 0, first_err
    assert second.returncode == 2 and "another zhcorpus run" in second.stderr
    assert (out / "config.resolved.yaml").exists() and (out / MARKER).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--runner", "NoSuchRunner"), "--runner NoSuchRunner: no such runner"),
        (("--runner", "PortableRunner"), "needs --job_endpoint"),
        (("--runner", "PortableRunner", "--job_endpoint=localhost:1"), "no Docker engine answers"),
        (("--no_such_beam_option",), "unknown option(s)"),
    ],
)
def test_misuse_is_one_line_and_exit_2_before_any_work(config: Path, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    """The last rows: each of these was a traceback with exit 1, some after .staging was made."""
    if "Docker" in message and shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        pytest.skip("a Docker engine answers on this machine")
    done = _run(config, tmp_path / "out", *args)
    assert done.returncode == 2
    assert message in _last_line(done.stderr)
    assert os.listdir(tmp_path) == [], "nothing is created before the misuse is found"


def test_out_under_a_file_and_out_a_file(config: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("mine")
    for out, message in ((tmp_path / "file" / "sub", "is a file, not a folder"), (tmp_path / "file", "is a file, not a folder")):
        done = _run(config, out)
        assert done.returncode == 2 and message in _last_line(done.stderr)
    assert sorted(os.listdir(tmp_path)) == ["file"] and (tmp_path / "file").read_text() == "mine"


def test_a_run_mostly_of_errors_fails_and_leaves_the_previous_run(config: Path, tmp_path: Path) -> None:
    """A regression that raises on every document must not pass for a run."""
    out = tmp_path / "run"
    assert _run(config, out).returncode == 0
    before = _tree(out)
    broken = tmp_path / "broken.yaml"
    (tmp_path / "fortunes.jsonl").write_bytes(b"".join(b"{not json %d\n" % i for i in range(30)) + b'{"id": "ok", "text": "x"}\n')
    broken.write_text(CONFIG.replace("stages: [clean]", "stages: []"), encoding="utf-8")
    done = _run(broken, out, "--overwrite")
    assert done.returncode == 1
    line = _last_line(done.stderr)
    assert "source ebooks: 30 of 31 documents (96.8%) are errors, over max_error_share 0.5" in line
    assert "the run was not published" in line
    assert _tree(out) == before and sorted(os.listdir(tmp_path)) == ["broken.yaml", "fortunes.jsonl", "run"]
    verbose = _run(broken, out, "--overwrite", "--verbose")
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text(broken.read_text() + "max_error_share: 1.0\n", encoding="utf-8")
    assert _run(lenient, out, "--overwrite").returncode == 0


def test_a_full_disk_is_one_line_and_leaves_nothing(config: Path, tmp_path: Path) -> None:
    """A tmpfs of 3 MB in a mount namespace of its own: the run fills it."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    probe = subprocess.run(["unshare", "--mount", "--map-root-user", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no mount namespace here: {probe.stderr.decode().strip()}")
    disk = tmp_path / "disk"
    disk.mkdir()
    (tmp_path / "big.yaml").write_text(CONFIG.replace("fortunes.jsonl", str(REPO / "data/sample/ebooks/*.jsonl.gz")))
    script = (
        f"mount -t tmpfs -o size=3m tmpfs {disk} && "
        f"{sys.executable} -m pipelines.cli run {tmp_path / 'big.yaml'} --out {disk / 'run'} --workers 1 --progress-seconds -1; "
        f"echo EXIT $?; ls -A {disk}"
    )
    done = subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", script], cwd=REPO, capture_output=True, text=True)
    assert "EXIT 1" in done.stdout, done.stdout + done.stderr
    line = _last_line(done.stderr)
    assert f"no space left on device writing {disk}:" in line and "MB free, the run needs about" in line
    assert done.stdout.strip().splitlines()[-1] == "EXIT 1", f"left on the full disk: {done.stdout}"


def test_publish_without_an_exchange_finishes_after_a_kill_between_its_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the file system cannot exchange two folders, a kill between the two renames
    leaves the folder missing for that instant; the next command on it puts it back."""
    import pipelines.rundir as rundir

    out = tmp_path / "run"
    for version in ("old", "new"):
        folder = RunFolder(str(out))
        with folder:
            staging = folder.new_staging()
            Path(staging, "kept").mkdir()
            Path(staging, "kept", "doc.jsonl").write_text(version)
            if version == "new":
                monkeypatch.setattr(rundir, "exchange", lambda first, second: False)
                renames: list[str] = []
                real_rename = os.rename

                def rename_then_die(source: str, target: str) -> None:
                    real_rename(source, target)
                    renames.append(target)
                    if len(renames) == 1:  # the old run moved aside: killed here
                        raise KeyboardInterrupt

                monkeypatch.setattr(os, "rename", rename_then_die)
                with pytest.raises(KeyboardInterrupt):
                    folder.publish(staging)
                monkeypatch.setattr(os, "rename", real_rename)
                assert not out.exists(), "the window: DIR moved aside, the new run not yet in"
                folder._lock_fd, lock = None, folder._lock_fd  # dies without its cleanup
                os.close(lock)  # type: ignore[arg-type]
            else:
                folder.publish(staging)
    with RunFolder(str(out)):
        pass
    assert (out / "kept" / "doc.jsonl").read_text() == "new"
    assert os.listdir(tmp_path) == ["run"]


def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x").write_text("a")
    (tmp_path / "b" / "y").write_text("b")
    if not exchange(str(tmp_path / "a"), str(tmp_path / "b")):
        pytest.skip("this file system cannot exchange folders")
    assert os.listdir(tmp_path / "a") == ["y"] and os.listdir(tmp_path / "b") == ["x"]
