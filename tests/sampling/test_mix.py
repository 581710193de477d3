"""The weighted source mix: targets, renormalising, repeats and subsamples, the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from corpus.config import SourceConfig
from sampling.mix import BUCKETS, mix_bucket, plan_mix


def src(name: str, **settings: object) -> SourceConfig:
    return SourceConfig(name=name, paths=("unused",), format="jsonl", **settings)  # type: ignore[arg-type]


def synthetic(docs: int, seed: int, name: str) -> tuple[tuple[int, int], np.ndarray, list[tuple[str, int, int]]]:
    """A source of documents with varied lengths: (available, histogram, [(id, bucket, tokens)])."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(20, 2000, size=docs)
    rows = [(f"{name}-{i}", mix_bucket(name, f"{name}-{i}", 7), int(n)) for i, n in enumerate(lengths)]
    histogram = np.zeros(BUCKETS, dtype=np.int64)
    for _, bucket, tokens in rows:
        histogram[bucket] += tokens
    return (docs, int(lengths.sum())), histogram, rows


def realise(targets: dict, rows: dict[str, list[tuple[str, int, int]]]) -> dict[str, int]:
    return {name: sum(targets[name].copies(bucket) * tokens for _, bucket, tokens in rows[name]) for name in rows}


def test_weights_give_the_asked_shares_within_one_percent() -> None:
    sources = [src("big", weight=0.2), src("small", weight=0.5), src("mid", weight=0.3)]
    data = {
        name: synthetic(docs, seed, name) for name, docs, seed in [("big", 20_000, 1), ("small", 1_500, 2), ("mid", 5_000, 3)]
    }
    available = {name: entry[0] for name, entry in data.items()}
    histograms = {name: entry[1] for name, entry in data.items()}
    total = 5_000_000
    targets, warnings = plan_mix(sources, available, histograms, total)
    assert warnings == []
    realised = realise(targets, {name: entry[2] for name, entry in data.items()})
    assert realised == {name: targets[name].tokens_taken for name in realised}, "the plan knows the exact outcome"
    grand = sum(realised.values())
    for source in sources:
        assert abs(realised[source.name] / grand - source.weight) / source.weight < 0.01
        assert abs(realised[source.name] - source.weight * total) / (source.weight * total) < 0.01
    assert targets["small"].epochs_target > 1 and targets["small"].whole_copies >= 1  # repeated
    assert targets["big"].epochs_target < 1 and targets["big"].whole_copies == 0  # subsampled


def test_weights_not_adding_up_are_renormalised_with_a_warning() -> None:
    sources = [src("a", weight=0.6281), src("b", weight=0.3818)]  # 100.99%, like PanGu's 2.6B/13B
    data = {name: synthetic(3000, i, name) for i, name in enumerate("ab")}
    targets, warnings = plan_mix(sources, {n: d[0] for n, d in data.items()}, {n: d[1] for n, d in data.items()}, 1_000_000)
    assert warnings == ["the sources' weights add up to 1.0099, not 1: renormalised"]
    assert targets["a"].weight_target == pytest.approx(0.6281 / 1.0099)
    assert targets["a"].weight_asked == 0.6281


def test_a_source_without_tokens_gives_its_share_to_the_others() -> None:
    sources = [src("full", weight=0.5), src("empty", weight=0.5), src("off", weight=0.0)]
    data = synthetic(4000, 5, "full")
    targets, warnings = plan_mix(sources, {"full": data[0], "off": data[0]}, {"full": data[1], "off": data[1]}, 2_000_000)
    assert warnings == ["source empty has weight 0.5 but kept no tokens: its share goes to the others"]
    assert targets["full"].weight_target == 1.0
    assert targets["empty"].copies(0) == 0 and targets["empty"].tokens_taken == 0
    assert targets["off"].tokens_taken == 0 and targets["off"].docs == 4000
    assert targets["full"].tokens_taken == pytest.approx(2_000_000, rel=0.001)


def test_epochs_repeat_and_subsample() -> None:
    sources = [src("twice", epochs=2.0), src("half", epochs=0.5), src("once")]
    data = {name: synthetic(3000, i, name) for i, name in enumerate(["twice", "half", "once"])}
    targets, warnings = plan_mix(sources, {n: d[0] for n, d in data.items()}, {n: d[1] for n, d in data.items()}, None)
    assert warnings == []
    realised = realise(targets, {name: entry[2] for name, entry in data.items()})
    assert realised["twice"] == 2 * data["twice"][0][1]
    assert realised["once"] == data["once"][0][1]
    assert abs(realised["half"] - 0.5 * data["half"][0][1]) / (0.5 * data["half"][0][1]) < 0.01
    assert {target.weight_asked for target in targets.values()} == {None}


def test_no_mix_at_all_means_everything_once() -> None:
    data = synthetic(100, 1, "a")
    targets, _ = plan_mix([src("a")], {"a": data[0]}, {"a": data[1]}, None)
    assert targets["a"].whole_copies == 1 and targets["a"].extra_below == 0


def test_a_weighted_mix_with_nothing_kept_is_empty_with_a_warning() -> None:
    targets, warnings = plan_mix([src("a", weight=1.0)], {}, {}, 1000)
    assert warnings[-1] == "no source with a weight above 0 kept any tokens: the training mix is empty"
    assert targets["a"].tokens_taken == 0 and targets["a"].copies(0) == 0


def test_buckets_are_stable_and_spread() -> None:
    assert mix_bucket("web", "doc-1", 0) == mix_bucket("web", "doc-1", 0)
    assert mix_bucket("web", "doc-1", 0) != mix_bucket("web", "doc-1", 1)
    buckets = [mix_bucket("s", str(i), 0) for i in range(20_000)]
    assert min(buckets) >= 0 and max(buckets) < BUCKETS
    assert abs(np.mean(buckets) / BUCKETS - 0.5) < 0.02


def test_mix_settings_that_cannot_work_are_config_errors() -> None:
    from corpus.config import ConfigError, parse_config

    def config(sources: list[dict], **shards: object) -> None:
        parse_config(
            {"sources": [{"paths": ["x"], "format": "jsonl", **s} for s in sources], "shards": {"tokenizer": "m", **shards}}
        )

    config([{"name": "a", "weight": 0.5}, {"name": "b", "weight": 0.5}], tokens=1000)  # fine
    config([{"name": "a", "epochs": 0.0}, {"name": "b"}])  # b goes in once: fine
    cases = [
        ([{"name": "a", "weight": 1.0}], {}, "shards.tokens"),
        ([{"name": "a", "weight": 1.0}, {"name": "b"}], {"tokens": 10}, "sources b have no weight"),
        ([{"name": "a", "weight": 1.0}, {"name": "b", "epochs": 1.0}], {"tokens": 10}, "use one kind"),
        ([{"name": "a", "weight": 1.0, "epochs": 1.0}], {"tokens": 10}, "not both"),
        ([{"name": "a", "epochs": 2.0}], {"tokens": 10}, "no source gives a weight"),
        ([{"name": "a", "epochs": 0.0}], {}, "every source has epochs 0"),
        ([{"name": "a"}], {"seq_length": 1024, "shard_tokens": 1000}, "at least one sequence"),
        ([{"name": "a"}], {"shard_tokens": 300_000_000}, "less than or equal to 200000000"),
        ([{"name": "a"}], {"formats": ["parquet", "parquet"]}, "listed twice"),
        ([{"name": "a"}], {"shuffle": False}, "unknown key"),
    ]
    for sources, shards, message in cases:
        with pytest.raises(ConfigError, match=message):
            config(sources, **shards)


def test_a_source_repeated_over_max_epochs_is_warned_about() -> None:
    """The sample's web pages went into the shards 9.4 times with no warning; PanGu's most
    repeated source went in 3.65 times."""
    sources = [src("small", weight=0.6), src("big", weight=0.4)]
    data = {name: synthetic(docs, seed, name) for name, docs, seed in [("small", 200, 1), ("big", 20_000, 2)]}
    available = {name: entry[0] for name, entry in data.items()}
    histograms = {name: entry[1] for name, entry in data.items()}
    total = 10 * available["small"][1]
    targets, warnings = plan_mix(sources, available, histograms, total)
    assert targets["small"].epochs_target == pytest.approx(6.0)
    (warning,) = warnings
    assert warning.startswith("source small goes into the shards 6.00 times, over shards.max_epochs 4:")
    assert "200 documents" in warning
    _, relaxed = plan_mix(sources, available, histograms, total, max_epochs=6.5)
    assert relaxed == []
