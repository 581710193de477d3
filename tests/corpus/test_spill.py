"""DiskCoGroupByKey groups as beam.CoGroupByKey does, with its values on disk."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from corpus import spill, writers


def _inputs() -> dict[str, list[tuple[Any, Any]]]:
    rng = random.Random(7)
    keys: list[Any] = [f"节点{i}".encode() for i in range(300)] + [(i, "边") for i in range(50)] + [0, -1]
    return {
        "text": [(rng.choice(keys), "正文" * rng.randint(0, 40)) for _ in range(2000)],
        "candidate": [(rng.choice(keys), True) for _ in range(500)],
        "empty": [],
    }


def _normalised(item: tuple[Any, dict[str, Any]]) -> tuple[Any, tuple[tuple[str, tuple[Any, ...]], ...]]:
    key, grouped = item
    return key, tuple((tag, tuple(sorted(values, key=repr))) for tag, values in sorted(grouped.items()))


@pytest.mark.parametrize("range_bytes", [1 << 30, 4096])
def test_groups_like_cogroupbykey(tmp_path: Path, range_bytes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """One stretch or dozens, and pieces of a few records or one per bundle: the same groups
    as Beam's own CoGroupByKey, every tag present in each."""
    monkeypatch.setattr(writers, "PIECE_BYTES", 2048)
    data = _inputs()
    with beam.Pipeline() as pipeline:
        inputs = {tag: pipeline | f"Create/{tag}" >> beam.Create(items) for tag, items in data.items()}
        ours = inputs | "Disk" >> spill.DiskCoGroupByKey(str(tmp_path / "pieces"), range_bytes) | "Ours" >> beam.Map(_normalised)
        theirs = inputs | "Beam" >> beam.CoGroupByKey() | "Theirs" >> beam.Map(_normalised)
        expected = (
            ({"ours": ours, "theirs": theirs} | "Both" >> beam.CoGroupByKey())
            | "Same"
            >> beam.Map(lambda item: (item[0], list(item[1]["ours"]) == list(item[1]["theirs"]) and len(item[1]["ours"]) == 1))
            | "Differing" >> beam.Filter(lambda item: not item[1])
        )
        assert_that(expected, equal_to([]))
    pieces = list((tmp_path / "pieces").iterdir())
    assert len(pieces) > 2  # the values did go to disk (each piece has its index beside it)


def test_no_values_no_groups(tmp_path: Path) -> None:
    with beam.Pipeline() as pipeline:
        empty = pipeline | beam.Create([]) | beam.Map(lambda item: item)
        grouped = {"a": empty} | spill.DiskCoGroupByKey(str(tmp_path))
        assert_that(grouped, equal_to([]))


def test_key_hash_is_stable() -> None:
    """The same numbers on every worker, runner and Python process (not the salted hash())."""
    assert spill.key_hash(b"abc") == 0xD8BB14D833D59559
    assert spill.key_hash((1, "边")) == 0x10429314E3CCCF4D
    assert spill.key_hash(b"abc") != spill.key_hash("abc")


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (0, 1),  # nothing: one (empty) stretch
        (300_000, 1),  # a small grouping is not cut up
        (3 * spill.SPREAD_BYTES, 3),  # a stretch per SPREAD_BYTES up to SPREAD_STRETCHES
        (40 * spill.SPREAD_BYTES, spill.SPREAD_STRETCHES),  # below range_bytes, still spread over the workers
        (spill.RANGE_BYTES * 20 + 1, 21),  # large: range_bytes at most per stretch
    ],
)
def test_spread_count(total: int, expected: int) -> None:
    assert spill.spread_count(total, spill.RANGE_BYTES) == expected
