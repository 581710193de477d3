"""The throughput counters: busy time and bytes per step, and each step's span (when it
first started and last finished), read back through a real Beam pipeline's metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter

from corpus import work


def _work(item: int) -> int:
    counters = work.WorkCounters("clean")
    started = time.perf_counter()
    time.sleep(0.01)
    counters.add(1000, started)
    return item


def test_counters_and_span_come_back_from_the_runner() -> None:
    before = time.time()
    pipeline = beam.Pipeline()
    _ = pipeline | beam.Create(list(range(20))) | beam.Map(_work)
    result = pipeline.run()
    result.wait_until_finish()
    after = time.time()
    found = result.metrics().query(MetricsFilter().with_namespace("clean"))
    counters = [(c.key.metric.namespace, c.key.metric.name, c.committed) for c in found["counters"]]
    (clock,) = [d.committed for d in found["distributions"] if d.key.metric.name == work.CLOCK_MS]
    figures = work.step_figures(counters, {"clean": (clock.min, clock.max)}, before)["clean"]
    assert figures["mb"] == 0.02 and figures["docs"] == 20 and 0.2 <= figures["busy_seconds"] < 2
    assert 0 < figures["docs_per_s"] <= 20 / 0.18
    assert 0 <= figures["from_s"] < figures["to_s"] <= after - before + 0.01
    # 20 pieces of work of 10 ms each, one after the other: a span of about their sum
    assert figures["to_s"] - figures["from_s"] >= 0.18
    assert work.span({"clean": figures}, ["clean", "spam"]) == round(figures["to_s"] - figures["from_s"], 2)


def test_figures_without_spans_and_spans_of_several_steps() -> None:
    counters = [("read", work.BYTES_IN, 5_000_000), ("read", work.BUSY_MICROSECONDS, 2_000_000), ("other", "x", 1)]
    assert work.step_figures(counters) == {"read": {"mb": 5.0, "busy_seconds": 2.0, "mb_s_per_core": 2.5}}
    clocks = {"read": (101_000, 103_000)}
    assert work.step_figures(counters, clocks, 100.0)["read"] == {
        "mb": 5.0,
        "busy_seconds": 2.0,
        "mb_s_per_core": 2.5,
        "from_s": 1.0,
        "to_s": 3.0,
        "busy_cores": 1.0,
    }
    steps = {"clean": {"from_s": 4.0, "to_s": 9.5}, "spam": {"from_s": 4.1, "to_s": 10.0}, "read": {"mb": 1}}
    assert work.span(steps, ["clean", "spam", "read"]) == 6.0
    assert work.span(steps, ["quality"]) is None


class _Steady(beam.DoFn):
    """One WorkCounters for the DoFn's life, as the stages keep theirs."""

    def setup(self) -> None:
        self._counters = work.WorkCounters("spam")

    def process(self, item: int) -> Iterator[int]:
        started = time.perf_counter()
        time.sleep(0.01)
        self._counters.add(10, started)
        yield item


def test_the_clock_is_read_at_most_every_clock_every_seconds() -> None:
    """40 pieces of work of 10 ms by one DoFn: the first start and one reading per 50 ms,
    not one per piece; the span still reaches the last piece to within CLOCK_EVERY."""
    before = time.time()
    pipeline = beam.Pipeline()
    _ = pipeline | beam.Create(list(range(40))) | beam.ParDo(_Steady())
    result = pipeline.run()
    result.wait_until_finish()
    after = time.time()
    found = result.metrics().query(MetricsFilter().with_namespace("spam"))["distributions"]
    (clock,) = [d.committed for d in found if d.key.metric.name == work.CLOCK_MS]
    assert 2 <= clock.count <= 1 + (after - before) / work.CLOCK_EVERY + 1 < 40
    assert clock.min / 1000 >= before - 0.01 and clock.max / 1000 <= after + 0.01
    assert (clock.max - clock.min) / 1000 >= 0.4 - work.CLOCK_EVERY - 0.01
