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

import numpy as np
import yaml

from corpus.config import ConfigError
from corpus.readers import format_from_name, read_texts
from pipelines.evaluate import lm
from pipelines.graph import RESOLVED_CONFIG
from sampling.training_sample import run_report, sized_sample


def read_dev(paths: Sequence[str], dev_bytes: int) -> tuple[list[str], dict[str, Any]]:
    """The dev texts: the documents of ``paths`` (any format the readers take, from each
    file's name), in the order given, until ``dev_bytes``."""
    for path in paths:
        if not os.path.isfile(path):
            raise ConfigError(f"--dev: no such file: {path}")
        if format_from_name(path) is None:
            raise ConfigError(f"--dev {path}: cannot tell the format from the name (.jsonl, .parquet, .txt, ...)")
    texts: list[str] = []
    total = skipped = 0
    for _, doc in read_texts(paths):
        if doc is None:
            skipped += 1
            continue
        texts.append(doc.text)
        total += len(doc.text.encode("utf-8", "surrogatepass"))
        if total >= dev_bytes:
            break
    if not texts:
        raise ConfigError("--dev: the files hold no text")
    return texts, {"files": [os.path.abspath(path) for path in paths], "docs": len(texts), "bytes": total, "skipped": skipped}


def _config(run_dir: str) -> Any:
    """A run's resolved config (None for a run folder without one)."""
    path = os.path.join(run_dir, RESOLVED_CONFIG)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc})") from exc


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


MIN_SAMPLE_BYTES = 100_000
"""Below this, a model knows too few characters for its perplexity to mean anything."""
OOV_WARNING = 0.01


def evaluate_runs(
    run_dirs: Sequence[str],
    dev_paths: Sequence[str],
    sample_bytes: int,
    seed: int,
    dev_bytes: int = 5_000_000,
    order: int = lm.ORDER,
    kenlm_bin: str | None = None,
) -> dict[str, Any]:
    """One entry per run: its sample, and its model's perplexity on the dev texts, over the
    dev tokens every run's model knows (and, apart, over all of them)."""
    if not lm.MIN_ORDER <= order <= lm.MAX_ORDER:
        raise ConfigError(f"--order {order}: from {lm.MIN_ORDER} to {lm.MAX_ORDER}")
    for name in lm.TOOLS:
        lm.find_tool(name, kenlm_bin)  # before any work: a missing KenLM is a set-up error
    kept = {run_dir: sum(int(e.get("bytes_kept", 0)) for e in run_report(run_dir)["sources"].values()) for run_dir in run_dirs}
    size = min(sample_bytes, *kept.values())
    if size < MIN_SAMPLE_BYTES:
        small = ", ".join(f"{run_dir} kept {kept[run_dir]:,} bytes" for run_dir in run_dirs if kept[run_dir] == size) or ""
        raise ConfigError(f"a sample of {size:,} bytes is too small for a language model (at least {MIN_SAMPLE_BYTES:,}) {small}")
    dev, dev_facts = read_dev(dev_paths, dev_bytes)
    configs = [_config(run_dir) for run_dir in run_dirs]
    samples, scores = [], []
    with tempfile.TemporaryDirectory(prefix="zhcorpus-evaluate-") as work:
        for index, run_dir in enumerate(run_dirs):
            texts, facts = sized_sample(run_dir, size, seed)
            facts["sample_chars"] = sum(len(text) for text in texts)
            model_path = lm.train(texts, os.path.join(work, f"run{index}.klm"), order, kenlm_bin)
            samples.append(facts)
            scores.append(lm.Model(model_path).score(dev))
    if scores[0].tokens == 0:
        raise ConfigError("--dev: no characters to score in the dev text")
    known_to_all = ~np.logical_or.reduce([score.oov for score in scores])
    results = []
    for facts, score, config in zip(samples, scores, configs, strict=True):
        results.append(
            {
                **facts,
                "dev_tokens": score.tokens,
                "oov": score.oov_count,
                "oov_rate": round(score.oov_rate, 6),
                "perplexity": round(score.perplexity_over(known_to_all), 4),
                "perplexity_with_unknown": round(score.perplexity, 4),
                "config_changes_from_first": config_changes(configs[0], config),
            }
        )
    warnings = [
        f"{entry['run']}: {100 * entry['oov_rate']:.1f}% of the dev characters unknown to its model"
        for entry in results
        if entry["oov_rate"] > OOV_WARNING
    ]
    return {
        "order": order,
        "seed": seed,
        "sample_bytes": size,
        "dev": dev_facts,
        "dev_tokens_compared": int(known_to_all.sum()),
        "runs": results,
        "warnings": warnings,
    }


def summary(evaluation: dict[str, Any]) -> str:
    """The printed table: one line per run, then each run's config changes from the first."""
    header = ("run", "sample MB", "chars", "OOV", "perplexity", "vs first", "with <unk>")
    first = evaluation["runs"][0]["perplexity"]
    rows = [header]
    for entry in evaluation["runs"]:
        change = (entry["perplexity"] - first) / first if first else 0.0
        rows.append(
            (
                entry["run"],
                f"{entry['sample_bytes'] / 1e6:.2f}",
                f"{entry['sample_chars']:,}",
                f"{100 * entry['oov_rate']:.2f}%",
                f"{entry['perplexity']:.2f}",
                f"{100 * change:+.1f}%",
                f"{entry['perplexity_with_unknown']:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))) for row in rows
    ]
    dev = evaluation["dev"]
    lines.append(
        f"character {evaluation['order']}-gram models (KenLM, modified Kneser-Ney) on {evaluation['sample_bytes'] / 1e6:.2f} MB "
        f"of each run's kept text (seed {evaluation['seed']}); dev: {dev['docs']:,} documents, {dev['bytes'] / 1e6:.2f} MB, "
        f"perplexity over the {evaluation['dev_tokens_compared']:,} characters and line ends every model knows; lower is better"
    )
    lines += [f"warning: {warning}" for warning in evaluation["warnings"]]
    for entry in evaluation["runs"][1:]:
        if entry["config_changes_from_first"]:
            lines.append(f"config changes, {entry['run']}:")
            lines += [f"  {change}" for change in entry["config_changes_from_first"]]
    return "\n".join(lines)
