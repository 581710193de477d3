"""Shared fixtures: the real sample corpus (built by `make sample`) and helpers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pytest

from corpus.config import InputFile, ReadConfig, SourceConfig
from corpus.readers import read_file
from corpus.record import Document

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"
DEBROOT = REPO / ".cache" / "debroot"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    if not (SAMPLE / "MANIFEST.json").exists():
        pytest.fail("the sample corpus is missing: run `make sample` (or `make test`, which builds it)")
    return SAMPLE


def source(fmt: str, name: str = "src", **settings: object) -> SourceConfig:
    return SourceConfig(name=name, paths=("unused",), format=fmt, **settings)  # type: ignore[arg-type]


def read_all(path: str | os.PathLike[str], fmt: str, read: ReadConfig | None = None, **settings: object) -> list[Document]:
    """Every document of one file through the real reader."""
    file = InputFile(path=str(path), rel=os.path.basename(path))
    return list(read_file(file, source(fmt, **settings), read or ReadConfig()))


def sample_source(name: str) -> SourceConfig:
    """A source of configs/sample.yaml, with its format conversion settings."""
    from corpus.config import load_config

    return load_config(str(REPO / "configs" / "sample.yaml")).source(name)


def read_news() -> list[Document]:
    """The People's Daily sample as the news source reads it (tags stripped by config)."""
    path = SAMPLE / "news" / "peoples-daily-199801.jsonl.zst"
    return list(read_file(InputFile(str(path), path.name), sample_source("news"), ReadConfig()))


def reasons(docs: Iterable[Document]) -> list[str | None]:
    return [doc.removal.reason.value if doc.removal else None for doc in docs]


def copy_sample_slice(sample_dir: Path, root: Path, warc: str, man_pages: int) -> None:
    """A small real corpus under ``root``: one WARC file of web pages (web/), the first
    ``man_pages`` man1 pages in zh_CN and zh_TW (encyclopedia/), and the fortunes (ebooks/)."""
    (root / "web").mkdir()
    shutil.copy(sample_dir / "web" / warc, root / "web")
    for lang in ("zh_CN", "zh_TW"):
        (root / "encyclopedia" / lang).mkdir(parents=True)
        for page in sorted((sample_dir / "encyclopedia" / lang / "man1").glob("*.txt"))[:man_pages]:
            shutil.copy(page, root / "encyclopedia" / lang / page.name)
    (root / "ebooks").mkdir()
    shutil.copy(sample_dir / "ebooks" / "fortunes-zh.jsonl.gz", root / "ebooks")
