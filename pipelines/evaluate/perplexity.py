"""Compare runs the way PanGu compared rule sets: a small language model trained on each
run's output, scored on one high-quality dev set (lower perplexity is better).

Each run gives the same number of bytes of its kept text (``sized_sample``: the smallest
run's kept text or ``--sample-bytes``, whichever is less, chosen by a seeded hash), a
character 5-gram model is estimated on it (``lm.py``), and the dev text is scored. The
table also gives the dev characters the model never saw (OOV) and the perplexity over the
known ones, and the configs' differences, so that a lower score can be traced to a rule.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from typing import Any

import yaml

from corpus.config import ConfigError
from filters.classifier import ClassifierError, read_examples
from pipelines.evaluate import lm
from pipelines.graph import RESOLVED_CONFIG
from sampling.training_sample import run_report, sized_sample


def read_dev(paths: Sequence[str], dev_bytes: int) -> tuple[list[str], dict[str, Any]]:
    """The dev texts: the documents of ``paths`` (any format the readers take, from each
    file's name), in the order given, until ``dev_bytes``."""
    try:
        examples, skipped = read_examples(paths, False, None, "text")
    except ClassifierError as exc:
        raise ConfigError(str(exc).replace("--positive", "--dev")) from None
    texts: list[str] = []
    total = 0
    for example in examples:
        if total >= dev_bytes:
            break
        texts.append(example.text)
        total += len(example.text.encode("utf-8", "surrogatepass"))
    if not texts:
        raise ConfigError("--dev: the files hold no text")
    return texts, {"files": [os.path.abspath(path) for path in paths], "docs": len(texts), "bytes": total, "skipped": skipped}


def _config(run_dir: str) -> Any:
    try:
        with open(os.path.join(run_dir, RESOLVED_CONFIG), encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _flatten(value: Any, path: str, into: dict[str, Any]) -> dict[str, Any]:
    """Key paths to leaf values; lists of named mappings (sources, categories) by name."""
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else str(key), into)
    elif isinstance(value, list) and value and all(isinstance(item, dict) and "name" in item for item in value):
        for item in value:
            _flatten({k: v for k, v in item.items() if k != "name"}, f"{path}[{item['name']}]", into)
    else:
        into[path] = value
    return into


def config_changes(first: Any, other: Any) -> list[str]:
    """``path: first -> other`` for every setting that differs between two resolved configs."""
    a, b = _flatten(first, "", {}), _flatten(other, "", {})
    missing = object()
    changes = []
    for path in sorted(set(a) | set(b)):
        before, after = a.get(path, missing), b.get(path, missing)
        if before != after:
            shown = ("(none)" if v is missing else json.dumps(v, ensure_ascii=False) for v in (before, after))
            changes.append(f"{path}: {' -> '.join(shown)}")
    return changes


def evaluate_runs(
    run_dirs: Sequence[str],
    dev_paths: Sequence[str],
    sample_bytes: int,
    seed: int,
    dev_bytes: int = 5_000_000,
    order: int = lm.ORDER,
    kenlm_bin: str | None = None,
) -> dict[str, Any]:
    """One entry per run: its sample, and its model's perplexity on the dev texts."""
    for name in lm.TOOLS:
        lm.find_tool(name, kenlm_bin)  # before any work: a missing KenLM is a set-up error
    kept = {run_dir: sum(int(e.get("bytes_kept", 0)) for e in run_report(run_dir)["sources"].values()) for run_dir in run_dirs}
    empty = [run_dir for run_dir, size in kept.items() if size == 0]
    if empty:
        raise ConfigError(f"{', '.join(empty)}: kept nothing to train a model on")
    size = min(sample_bytes, *kept.values())
    dev, dev_facts = read_dev(dev_paths, dev_bytes)
    first_config = _config(run_dirs[0])
    results = []
    with tempfile.TemporaryDirectory(prefix="zhcorpus-evaluate-") as work:
        for index, run_dir in enumerate(run_dirs):
            texts, facts = sized_sample(run_dir, size, seed)
            model_path = lm.train(texts, os.path.join(work, f"run{index}.klm"), order, kenlm_bin)
            score = lm.Model(model_path).score(dev)
            results.append(
                {
                    **facts,
                    "dev_tokens": score.tokens,
                    "oov": score.oov,
                    "oov_rate": round(score.oov_rate, 6),
                    "perplexity": round(score.perplexity, 4),
                    "perplexity_known": round(score.perplexity_known, 4),
                    "config_changes_from_first": config_changes(first_config, _config(run_dir)),
                }
            )
    return {"order": order, "seed": seed, "sample_bytes": size, "dev": dev_facts, "runs": results}


def summary(evaluation: dict[str, Any]) -> str:
    """The printed table: one line per run, then each run's config changes from the first."""
    header = ("run", "sample MB", "docs", "dev tokens", "OOV", "perplexity", "known only", "vs first")
    first = evaluation["runs"][0]["perplexity"]
    rows = [header]
    for entry in evaluation["runs"]:
        change = (entry["perplexity"] - first) / first if first else 0.0
        rows.append(
            (
                entry["run"],
                f"{entry['sample_bytes'] / 1e6:.2f}",
                f"{entry['sample_docs']:,}",
                f"{entry['dev_tokens']:,}",
                f"{100 * entry['oov_rate']:.2f}%",
                f"{entry['perplexity']:.2f}",
                f"{entry['perplexity_known']:.2f}",
                f"{100 * change:+.1f}%",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))) for row in rows
    ]
    dev = evaluation["dev"]
    lines.append(
        f"character {evaluation['order']}-gram models (KenLM, modified Kneser-Ney) on {evaluation['sample_bytes'] / 1e6:.2f} MB "
        f"of each run's kept text (seed {evaluation['seed']}); dev: {dev['docs']:,} documents, {dev['bytes'] / 1e6:.2f} MB; lower is better"
    )
    for entry in evaluation["runs"][1:]:
        if entry["config_changes_from_first"]:
            lines.append(f"config changes, {entry['run']}:")
            lines += [f"  {change}" for change in entry["config_changes_from_first"]]
    return "\n".join(lines)
