"""Inputs are what the user meant: every real file read once, however the tree is linked,
and never the run's own outputs (issue: reliability, rows 5 and 6)."""

from __future__ import annotations

import glob
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpus.config import ConfigError, find_inputs, load_config
from corpus.globbing import glob_files
from tests.conftest import REPO

CONFIG = """
sources:
  - name: books
    paths: ["{pattern}"]
    format: jsonl
output:
  format: jsonl
"""


def _run(config: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pipelines.cli", "run", str(config), "--out", str(out), "--workers", "1"]
    return subprocess.run([*command, "--progress-seconds", "-1", "--no-report", *extra], cwd=REPO, capture_output=True, text=True)


@pytest.fixture()
def books(sample_dir: Path, tmp_path: Path) -> Path:
    """data/books/sanguo.jsonl (120 chapters), with a link back to data/ inside it."""
    (tmp_path / "data" / "books").mkdir(parents=True)
    chapters = gzip.decompress((sample_dir / "ebooks" / "sanguo.jsonl.gz").read_bytes())
    (tmp_path / "data" / "books" / "sanguo.jsonl").write_bytes(chapters)
    return tmp_path


def test_a_symlink_loop_reads_each_file_once(books: Path) -> None:
    """Row 5: a link to an ancestor under ``**`` read one file 41 times."""
    (books / "data" / "books" / "loop").symlink_to("..")
    (books / "data" / "books" / "again").symlink_to("../books")  # a second loop: exponential for glob
    (books / "data" / "alias.jsonl").symlink_to("books/sanguo.jsonl")  # the same file, linked
    pattern = str(books / "data" / "**" / "*.jsonl")
    started = time.monotonic()
    assert glob_files(pattern) == [str(books / "data" / "alias.jsonl")]
    assert time.monotonic() - started < 5
    config = books / "run.yaml"
    config.write_text(CONFIG.format(pattern="data/**/*.jsonl"), encoding="utf-8")
    done = _run(config, books / "out")
    assert done.returncode == 0, done.stderr
    kept = [line for path in (books / "out" / "kept" / "books").iterdir() for line in path.read_text().splitlines()]
    assert len(kept) == 120, "each chapter once"


def test_globs_mean_what_they_mean_to_glob(sample_dir: Path) -> None:
    """Without links, the walk finds exactly the files ``glob.glob`` finds."""
    for pattern in (
        "**/*.txt",
        "**",
        "*/*.gz",
        "encyclopedia/zh_*/man[1-3]/*.txt",
        "web/libreoffice-help-zh-?n-0000[0-2].warc.gz",
        "**/man1/l*.txt",
        "encyclopedia/**/",
    ):
        full = str(sample_dir / pattern)
        expected = sorted(path for path in glob.glob(full, recursive=True) if os.path.isfile(path))
        assert glob_files(full) == expected, pattern


def test_hidden_names_are_left_out_as_glob_does(tmp_path: Path) -> None:
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "a.jsonl").write_text("{}\n")
    (tmp_path / ".b.jsonl").write_text("{}\n")
    (tmp_path / "c.jsonl").write_text("{}\n")
    assert glob_files(str(tmp_path / "**" / "*.jsonl")) == [str(tmp_path / "c.jsonl")]
    assert glob_files(str(tmp_path / ".*.jsonl")) == [str(tmp_path / ".b.jsonl")]


def test_out_inside_an_input_glob_is_refused(books: Path) -> None:
    """Row 6: the previous run's outputs were read as input on --overwrite (220 -> 440)."""
    config = books / "run.yaml"
    config.write_text(CONFIG.format(pattern="data/**/*.jsonl"), encoding="utf-8")
    out = books / "data" / "run"
    first = _run(config, out)
    assert first.returncode == 0, first.stderr  # the folder was empty: nothing of it was read
    again = _run(config, out, "--overwrite")
    assert again.returncode == 2
    assert "reach files under --out" in again.stderr and "never its inputs" in again.stderr
    assert "Traceback" not in again.stderr


def test_a_source_of_links_to_one_file_is_one_file(books: Path) -> None:
    for name in ("a", "b", "c"):
        (books / "data" / f"{name}.jsonl").symlink_to("books/sanguo.jsonl")
    config = books / "run.yaml"
    config.write_text(CONFIG.format(pattern="data/*.jsonl"), encoding="utf-8")
    source = load_config(str(config)).sources[0]
    assert [file.rel for file in find_inputs(source)] == ["a.jsonl"]


def test_a_glob_of_nothing_but_a_broken_link_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "gone.jsonl").symlink_to("nowhere.jsonl")
    config = tmp_path / "run.yaml"
    config.write_text(CONFIG.format(pattern="*.jsonl"), encoding="utf-8")
    with pytest.raises(ConfigError, match="no file matches"):
        load_config(str(config))
