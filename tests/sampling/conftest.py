"""Fixtures of the sampling tests: real documents of the sample corpus, a tokenizer trained
on them (once per session), and a finished-run folder holding them as kept documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.config import InputFile, ReadConfig, find_inputs, load_config
from corpus.readers import read_file
from corpus.record import Document
from sampling import tokenizer as tk
from tests.conftest import REPO

PER_SOURCE = 120  # documents per source in the fixtures: every source, simplified and traditional


def real_documents(per_source: int = PER_SOURCE, stride: int = 7) -> list[Document]:
    """Documents of every sample source as a run reads them (every ``stride``-th one)."""
    config = load_config(str(REPO / "configs" / "sample.yaml"))
    docs: list[Document] = []
    for source in config.sources:
        taken: list[Document] = []
        for file in find_inputs(source):
            for doc in read_file(InputFile(file.path, file.rel), source, ReadConfig()):
                if doc.removal is None and doc.text.strip():
                    taken.append(doc)
        docs.extend(taken[::stride][:per_source])
    return docs


@pytest.fixture(scope="session")
def documents(sample_dir: Path) -> list[Document]:
    return real_documents()


@pytest.fixture(scope="session")
def model_path(documents: list[Document], tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("tokenizer") / "test.model")
    tk.train([doc.text for doc in documents], path, vocab_size=6000)
    return path


@pytest.fixture(scope="session")
def tokenizer(model_path: str) -> tk.Tokenizer:
    return tk.Tokenizer(model_path).load()
