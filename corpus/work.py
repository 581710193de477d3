"""Throughput counters: how much text each step handled and how long its own work took.

Each step (read, clean, sensitive, spam, quality, dedup's signatures, tokenize) counts, in
Beam counters under its name, the bytes of text it handled and the microseconds it spent
on them, summed over workers. Time is taken around the step's own work only, never around
a ``yield``: downstream steps fused into the same worker run inside it. A Beam
distribution of wall-clock milliseconds gives, by its minimum and maximum over workers,
when the step first started and last finished (within ``CLOCK_EVERY``): the span of the
run it took, for which the busy time says how many cores it kept busy. ``zhcorpus run``
writes the totals to stats/timing.json (MB/s per core of each step, and its span), and
the report shows them.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from apache_beam.metrics import Metrics

BYTES_IN, DOCS_IN, BUSY_MICROSECONDS, CLOCK_MS = "bytes_in", "docs_handled", "busy_us", "clock_ms"
STEPS = ("read", "repair", "clean", "sensitive", "spam", "quality", "dedup", "tokenize")
CLOCK_EVERY = 0.05
"""Seconds between two readings of the clock by one worker's step (a reading costs a few
microseconds; steps count per document or per batch)."""


class WorkCounters:
    def __init__(self, step: str) -> None:
        self._bytes = Metrics.counter(step, BYTES_IN)
        self._docs = Metrics.counter(step, DOCS_IN)
        self._busy = Metrics.counter(step, BUSY_MICROSECONDS)
        self._clock = Metrics.distribution(step, CLOCK_MS)
        self._clocked: float | None = None

    def add(self, size_bytes: int, started: float, docs: int = 1) -> None:
        """Count ``docs`` documents of ``size_bytes`` of text handled since ``started``
        (``time.perf_counter()``)."""
        now = time.perf_counter()
        self._bytes.inc(size_bytes)
        self._docs.inc(docs)
        self._busy.inc(round((now - started) * 1e6))
        if self._clocked is None or now - self._clocked >= CLOCK_EVERY:
            wall = time.time()
            if self._clocked is None:  # this worker's first piece of work: when it started
                self._clock.update(int((wall - (now - started)) * 1000))
            self._clock.update(int(wall * 1000))
            self._clocked = now


def step_figures(
    counters: Iterable[tuple[str, str, int]], clocks: dict[str, tuple[int, int]] | None = None, started: float = 0.0
) -> dict[str, Any]:
    """``(step, counter name, value)`` triples -> per step: MB, documents, busy seconds, MB/s
    per core; with ``clocks`` (step -> first and last wall-clock milliseconds) and the run's
    start (``time.time()``), also the step's span: ``from_s`` and ``to_s`` into the run,
    the cores it kept busy on average over that span, and documents per second of it."""
    totals: dict[str, dict[str, int]] = {}
    for step, name, value in counters:
        if step in STEPS and name in (BYTES_IN, DOCS_IN, BUSY_MICROSECONDS):
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
        if DOCS_IN in totals[step]:
            figures[step]["docs"] = totals[step][DOCS_IN]
        if clocks and step in clocks:
            first, last = clocks[step]
            span = max(last - first, 1) / 1000
            figures[step] |= {
                "from_s": round(first / 1000 - started, 2),
                "to_s": round(last / 1000 - started, 2),
                "busy_cores": round(seconds / span, 2),
            }
            if DOCS_IN in totals[step]:
                figures[step]["docs_per_s"] = round(totals[step][DOCS_IN] / span)
    return figures


def span(figures: dict[str, Any], steps: Iterable[str]) -> float | None:
    """Seconds from the first start to the last end of ``steps`` (those with a span)."""
    found = [figures[step] for step in steps if step in figures and "from_s" in figures[step]]
    if not found:
        return None
    return round(max(entry["to_s"] for entry in found) - min(entry["from_s"] for entry in found), 2)


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
