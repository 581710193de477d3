"""What the benchmarks share: the sample corpus's documents, read as a run reads them."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from corpus.config import RunConfig, find_inputs, load_config  # noqa: E402
from corpus.readers import read_file  # noqa: E402
from corpus.record import Document  # noqa: E402


def sample_documents() -> tuple[RunConfig, list[Document]]:
    """configs/sample.yaml and every document its sources yield (error records left out)."""
    config = load_config(str(REPO / "configs" / "sample.yaml"))
    docs = [
        doc
        for source in config.sources
        for file in find_inputs(source)
        for doc in read_file(file, source, config.read)
        if doc.removal is None
    ]
    return config, docs


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory of this process (or of its finished children) in MB."""
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def write_results(name: str, figures: object) -> Path:
    """bench/results/NAME.json (not committed): the figures a benchmark printed."""
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    return path
