"""Throughput counters: how much text each step handled and how long its own work took.

Each step (read, clean, sensitive, spam, quality, dedup's signatures, tokenize) counts, in
Beam counters under its name, the bytes of text it handled and the microseconds it spent
on them, summed over workers. Time is taken around the step's own work only, never around
a ``yield``: downstream steps fused into the same worker run inside it. ``zhcorpus run``
writes the totals to stats/timing.json (MB/s per core of each step), and the report shows
them.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from apache_beam.metrics import Metrics

BYTES_IN, BUSY_MICROSECONDS = "bytes_in", "busy_us"
STEPS = ("read", "clean", "sensitive", "spam", "quality", "dedup", "tokenize")


class WorkCounters:
    def __init__(self, step: str) -> None:
        self._bytes = Metrics.counter(step, BYTES_IN)
        self._busy = Metrics.counter(step, BUSY_MICROSECONDS)

    def add(self, size_bytes: int, started: float) -> None:
        """Count ``size_bytes`` of text handled since ``started`` (``time.perf_counter()``)."""
        self._bytes.inc(size_bytes)
        self._busy.inc(round((time.perf_counter() - started) * 1e6))


def step_figures(counters: Iterable[tuple[str, str, int]]) -> dict[str, Any]:
    """``(step, counter name, value)`` triples -> per step: MB, busy seconds, MB/s per core."""
    totals: dict[str, dict[str, int]] = {}
    for step, name, value in counters:
        if step in STEPS and name in (BYTES_IN, BUSY_MICROSECONDS):
            totals.setdefault(step, {})[name] = totals.get(step, {}).get(name, 0) + value
    figures: dict[str, Any] = {}
    for step in STEPS:
        if step not in totals:
            continue
        megabytes = totals[step].get(BYTES_IN, 0) / 1e6
        seconds = totals[step].get(BUSY_MICROSECONDS, 0) / 1e6
        figures[step] = {
            "mb": round(megabytes, 3),
            "busy_seconds": round(seconds, 3),
            "mb_s_per_core": round(megabytes / seconds, 3) if seconds > 0 else None,
        }
    return figures


PACKAGES = (
    "zhcorpus",
    "apache-beam",
    "opencc",
    "jieba",
    "rjieba",
    "fasttext-numpy2-wheel",
    "datasketch",
    "sentencepiece",
    "pyarrow",
    "numpy",
)


def versions() -> dict[str, str]:
    """Python's and the main packages' versions, for the record of a run."""
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found
