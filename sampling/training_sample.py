"""Reproducible samples of a finished run's kept documents.

For the tokenizer (``kept_sample``): every kept document of the config's sources is taken
with probability ``sample_bytes / kept bytes`` (the run's stats/run.json gives the kept
bytes), decided by a seeded stable hash of its source and id: the same run, size and seed
always give the same sample, in (source, id) order. For evaluation (``sized_sample``):
exactly a given number of bytes, so that the language models of two runs learn from the
same amount of text.
"""

from __future__ import annotations

import json
import os
from typing import Any

from corpus import writers
from corpus.config import ConfigError, RunConfig
from corpus.ids import stable_fraction


def run_report(run_dir: str) -> dict[str, Any]:
    """A finished run's stats/run.json (ConfigError when there is none)."""
    try:
        with open(os.path.join(run_dir, "stats", "run.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--run {run_dir}: cannot read stats/run.json ({exc})") from None


def _candidates(run_dir: str, names: list[str], fraction: float, seed: int, salt: str) -> list[tuple[float, str, str, str]]:
    """``(rank, source, id, text)`` of the kept documents whose seeded rank is below ``fraction``."""
    chosen = []
    for name in names:
        for path in writers.written_files(run_dir, f"{writers.KEPT}/{name}"):
            for doc in writers.read_written_file(path):
                rank = stable_fraction(salt, doc.source, doc.doc_id, seed=seed)
                if fraction >= 1.0 or rank < fraction:
                    chosen.append((rank, doc.source, doc.doc_id, doc.text))
    return chosen


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def kept_sample(config: RunConfig, run_dir: str, sample_bytes: int, seed: int) -> tuple[list[str], dict[str, object]]:
    """(texts, facts about the sample) from the kept documents of ``config``'s sources."""
    report = run_report(run_dir)
    names = [source.name for source in config.sources]
    kept_bytes = sum(int(report["sources"].get(name, {}).get("bytes_kept", 0)) for name in names)
    if kept_bytes == 0:
        raise ConfigError(f"--run {run_dir}: the run kept no documents of the config's sources")
    fraction = min(1.0, sample_bytes / kept_bytes)
    chosen = sorted(
        (source, doc_id, text) for _, source, doc_id, text in _candidates(run_dir, names, fraction, seed, "tokenizer")
    )
    facts = {
        "run": os.path.abspath(run_dir),
        "seed": seed,
        "sample_fraction": round(fraction, 6),
        "sample_docs": len(chosen),
        "sample_bytes": sum(_utf8_size(text) for _, _, text in chosen),
        "sources": sorted({source for source, _, _ in chosen}),
    }
    return [text for _, _, text in chosen], facts


def sized_sample(run_dir: str, sample_bytes: int, seed: int) -> tuple[list[str], dict[str, object]]:
    """``sample_bytes`` of a run's kept text (all its sources), or all of it if it holds
    less: documents in the order of a seeded hash of their ids, the last one cut at a
    character boundary (so up to 3 bytes short). Two runs sampled to one size give samples
    of the same size."""
    report = run_report(run_dir)
    names = sorted(report["sources"])
    kept_bytes = sum(int(entry.get("bytes_kept", 0)) for entry in report["sources"].values())
    fraction = min(1.0, 1.2 * sample_bytes / kept_bytes) if kept_bytes else 1.0  # a margin, then cut
    chosen = sorted(_candidates(run_dir, names, fraction, seed, "evaluate"))
    if fraction < 1.0 and sum(_utf8_size(text) for *_, text in chosen) < sample_bytes:
        chosen = sorted(_candidates(run_dir, names, 1.0, seed, "evaluate"))  # the margin was not enough
    texts: list[str] = []
    total = 0
    for _, _, _, text in chosen:
        size = _utf8_size(text)
        if total + size > sample_bytes:
            cut = text.encode("utf-8", "surrogatepass")[: sample_bytes - total].decode("utf-8", "ignore")
            if cut:
                texts.append(cut)
                total += _utf8_size(cut)
            break
        texts.append(text)
        total += size
    facts = {
        "run": os.path.abspath(run_dir),
        "seed": seed,
        "sample_docs": len(texts),
        "sample_bytes": total,
        "kept_bytes": kept_bytes,
    }
    return texts, facts
