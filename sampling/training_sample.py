"""The text a tokenizer is trained on: a reproducible sample of a finished run's kept documents.

Every kept document is taken with probability ``sample_bytes / kept bytes`` (the run's
stats/run.json gives the kept bytes), decided by a seeded stable hash of its source and id:
the same run, size and seed always give the same sample, in (source, id) order.
"""

from __future__ import annotations

import json
import os

from corpus import writers
from corpus.config import ConfigError, RunConfig
from corpus.ids import stable_fraction


def kept_sample(config: RunConfig, run_dir: str, sample_bytes: int, seed: int) -> tuple[list[str], dict[str, object]]:
    """(texts, facts about the sample) from the kept documents of ``config``'s sources."""
    try:
        with open(os.path.join(run_dir, "stats", "run.json"), encoding="utf-8") as handle:
            report = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--run {run_dir}: cannot read stats/run.json ({exc})") from None
    names = [source.name for source in config.sources]
    kept_bytes = sum(int(report["sources"].get(name, {}).get("bytes_kept", 0)) for name in names)
    if kept_bytes == 0:
        raise ConfigError(f"--run {run_dir}: the run kept no documents of the config's sources")
    fraction = min(1.0, sample_bytes / kept_bytes)
    chosen: list[tuple[str, str, str]] = []
    for name in names:
        for path in writers.written_files(run_dir, f"{writers.KEPT}/{name}"):
            for doc in writers.read_written_file(path):
                if fraction >= 1.0 or stable_fraction("tokenizer", doc.source, doc.doc_id, seed=seed) < fraction:
                    chosen.append((doc.source, doc.doc_id, doc.text))
    chosen.sort()
    facts = {
        "run": os.path.abspath(run_dir),
        "seed": seed,
        "sample_fraction": round(fraction, 6),
        "sample_docs": len(chosen),
        "sample_bytes": sum(len(text.encode("utf-8", "surrogatepass")) for _, _, text in chosen),
        "sources": sorted({source for source, _, _ in chosen}),
    }
    return [text for _, _, text in chosen], facts
