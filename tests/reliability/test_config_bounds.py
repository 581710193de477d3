"""A bad config costs a second and a clear line, never the machine (issue: reliability,
rows 9 to 12 and the YAML rows)."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from corpus.config import ConfigError, SourceConfig, load_config
from pipelines.cli import main
from sampling.mix import BUCKETS, plan_mix

GOOD = """
sources:
  - name: a
    paths: ["a.jsonl"]
    format: jsonl
"""

BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True))
    + "sources: *i\n"
)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    (tmp_path / "a.jsonl").write_text('{"id": "1", "text": "一段文字"}\n', encoding="utf-8")
    return tmp_path


def _write(folder: Path, text: str) -> str:
    path = folder / "run.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_billion_laughs_is_refused_at_once_in_little_memory(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Row 9: nine levels of nine aliases (387 million values expanded) grew
    ``zhcorpus validate`` to 6.8 GB."""
    path = _write(folder, BOMB)
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(ConfigError, match="expands to more than 100,000 values through its aliases"):
        load_config(path)
    seconds = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 0.5 and peak < 100_000_000
    assert main(["validate", path]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_yaml_alias_that_contains_itself_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "self.yaml"
    path.write_text("sources: &s\n  - name: a\n    paths: *s\n    format: jsonl\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    assert "an alias refers to a node that contains it" in capsys.readouterr().err


def test_yaml_merge_keys_work(folder: Path) -> None:
    config = load_config(
        _write(
            folder,
            """
x-common: &common
  format: jsonl
  stages: [clean, dedup]
sources:
  - <<: *common
    name: a
    paths: ["a.jsonl"]
  - <<: *common
    name: b
    paths: ["a.jsonl"]
    stages: [dedup]      # a source's own key wins over the merged one
""",
        )
    )
    assert [(s.name, s.format, s.stages) for s in config.sources] == [
        ("a", "jsonl", ("repair", "clean", "dedup")),
        ("b", "jsonl", ("repair", "dedup")),
    ]


def test_a_key_written_twice_is_still_refused(folder: Path) -> None:
    with pytest.raises(ConfigError, match="appears twice"):
        load_config(_write(folder, GOOD + "seed: 1\nseed: 2\n"))


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ("output:\n  shard_bytes: 1\n", "output.shard_bytes"),  # row 10: 249,505 files for 70 documents
        ("read:\n  split_bytes: 10\n", "split_bytes must be 0"),
        ("stages:\n  dedup:\n    band_partitions: 1000000000000\n", "band_partitions"),
        ("max_error_share: 1.5\n", "max_error_share"),
    ],
)
def test_sizes_have_sane_bounds(folder: Path, extra: str, where: str) -> None:
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        load_config(_write(folder, GOOD + extra))


@pytest.mark.parametrize("weight", [".inf", ".nan", "-1.0"])
def test_weights_must_be_finite_and_not_negative(folder: Path, weight: str) -> None:
    text = (
        GOOD.replace("format: jsonl", f"format: jsonl\n    weight: {weight}") + "shards:\n  tokenizer: t.model\n  tokens: 1000\n"
    )
    with pytest.raises(ConfigError, match="weight"):
        load_config(_write(folder, text))


def test_huge_weights_give_the_same_mix_as_small_ones() -> None:
    """Row 11: weights of 1e308 "added up to inf", exit 0, no shards."""
    histogram = np.zeros(BUCKETS, dtype=np.int64)
    histogram[:10] = 100
    available = {"a": (10, 1000), "b": (10, 1000)}
    histograms = {"a": histogram, "b": histogram}

    def plan(weights: tuple[float, float]) -> dict[str, float]:
        sources = [SourceConfig(name=n, paths=("x",), format="jsonl", weight=w) for n, w in zip("ab", weights, strict=True)]
        targets, _ = plan_mix(sources, available, histograms, 1500)
        return {name: target.weight_target for name, target in targets.items()}

    assert plan((1e308, 1e308)) == plan((0.5, 0.5)) == {"a": 0.5, "b": 0.5}
    assert plan((1e308, 3e307)) == pytest.approx(plan((10.0, 3.0)))


def test_a_mix_that_would_repeat_a_source_without_end_is_refused() -> None:
    histogram = np.zeros(BUCKETS, dtype=np.int64)
    histogram[0] = 10
    sources = [SourceConfig(name="a", paths=("x",), format="jsonl", weight=1.0)]
    with pytest.raises(ValueError, match="at most 1000"):
        plan_mix(sources, {"a": (1, 10)}, {"a": histogram}, 10**15)


def test_epochs_are_bounded(folder: Path) -> None:
    with pytest.raises(ConfigError, match="epochs"):
        load_config(_write(folder, GOOD.replace("format: jsonl", "format: jsonl\n    epochs: 1.0e12")))


def test_a_config_that_is_not_a_config_file(folder: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(str(folder))
    big = folder / "big.yaml"
    big.write_bytes(b"# " + b"x" * 11_000_000 + b"\n")
    with pytest.raises(ConfigError, match="not a config"):
        load_config(str(big))
