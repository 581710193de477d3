"""The same run on every runner gives byte-identical outputs: the DirectRunner (the
reference, one worker, in conftest), zhcorpus's Dask runner on a local cluster it starts
and on a cluster given by address, and Beam's PortableRunner against a local job service
with the LOOPBACK environment (the path Flink's and Spark's job servers take)."""

from __future__ import annotations

import ast
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.dask_runner import DaskRunner, code_fingerprint
from tests.pipelines.conftest import fingerprint, run_zhcorpus


def test_dask_local_cluster_matches_the_direct_runner(slice_config: Path, finished_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "dask"
    assert run_zhcorpus(slice_config, out, "--runner", "DaskRunner", "--workers", "2") == 0
    assert fingerprint(out) == fingerprint(finished_run)
    timing = (out / "stats" / "timing.json").read_text(encoding="utf-8")
    assert '"clean"' in timing and '"mb_s_per_core"' in timing, "the step counters came back from the Dask workers"


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def test_dask_cluster_by_address_matches_and_reruns_identically(
    slice_config: Path, finished_run: Path, dask_cluster: str, tmp_path: Path
) -> None:
    for attempt in ("first", "second"):
        out = tmp_path / attempt
        assert run_zhcorpus(slice_config, out, "--runner", "DaskRunner", "--dask-address", dask_cluster) == 0
        assert fingerprint(out) == fingerprint(finished_run), attempt


def test_dask_runner_semantics_on_a_small_graph(dask_cluster: str, tmp_path: Path) -> None:
    """Tagged outputs stay apart, side inputs arrive whole, groups are complete, every
    branch runs (not only the last), counters are summed over workers."""

    class Split(beam.DoFn):
        def setup(self) -> None:
            self.seen = Metrics.counter("test", "seen")

        def process(self, number: int, odd_ones: list[int]):  # type: ignore[no-untyped-def]
            self.seen.inc()
            yield beam.pvalue.TaggedOutput("odd", number) if number in odd_ones else number

    def write(value: object, name: str) -> None:
        (tmp_path / name).write_text(repr(value), encoding="utf-8")

    pipeline = beam.Pipeline(runner=DaskRunner(), options=PipelineOptions([f"--dask_address={dask_cluster}"]))
    numbers = pipeline | "Numbers" >> beam.Create(range(1000)) | beam.Reshuffle()
    odd = pipeline | "Odd" >> beam.Create(range(1, 1000, 2))
    split = numbers | beam.ParDo(Split(), odd_ones=beam.pvalue.AsList(odd)).with_outputs("odd", main="even")
    _ = split.even | "SumEven" >> beam.CombineGlobally(sum) | "WriteEven" >> beam.Map(write, "even")
    _ = split.odd | "CountOdd" >> beam.combiners.Count.Globally() | "WriteOdd" >> beam.Map(write, "odd")
    groups = split.even | beam.Map(lambda n: (f"k{n % 7}", n)) | beam.GroupByKey() | beam.MapTuple(lambda k, v: (k, len(v)))
    _ = groups | beam.combiners.ToList() | beam.Map(lambda pairs: write(sorted(pairs), "groups"))
    result = pipeline.run()
    assert (tmp_path / "even").read_text() == str(sum(range(0, 1000, 2)))
    assert (tmp_path / "odd").read_text() == "500"
    counts = dict(ast.literal_eval((tmp_path / "groups").read_text()))
    assert sum(counts.values()) == 500 and counts["k0"] == len(range(0, 1000, 14))
    seen = result.metrics().query()["counters"]
    assert [(c.key.metric.name, c.committed) for c in seen] == [("seen", 1000)]


def test_dask_runner_names_an_unreachable_scheduler(
    slice_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    code = run_zhcorpus(
        slice_config, tmp_path / "out", "--runner", "DaskRunner", "--dask-address", f"tcp://127.0.0.1:{port}",
        "--dask_connect_seconds", "2",
    )  # fmt: skip
    assert code == 1
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in capsys.readouterr().err
    assert time.monotonic() - started < 60


@pytest.fixture
def bare_cluster(tmp_path: Path) -> Iterator[str]:
    """A scheduler and one worker (under its nanny) in Python processes that cannot import
    zhcorpus: started with -S and only site-packages on the path, so the editable install's
    .pth file is never read; like a cluster that has the dependencies but not zhcorpus."""
    import os
    import sysconfig

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"], "DASK_LOGGING__DISTRIBUTED": "error"}
    bare = [sys.executable, "-S", "-m"]
    check = subprocess.run([*bare, "filters"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "No module named filters" in check.stderr, "the bare worker must not find zhcorpus"
    processes = [
        subprocess.Popen([*bare, "distributed.cli.dask_scheduler", "--port", str(port), "--dashboard-address", ":0"], cwd=tmp_path, env=env),
        subprocess.Popen(
            [*bare, "distributed.cli.dask_worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1",
             "--local-directory", str(tmp_path / "worker")], cwd=tmp_path, env=env,
        ),
    ]  # fmt: skip
    try:
        from dask.distributed import Client

        with Client(f"tcp://127.0.0.1:{port}", timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        yield f"tcp://127.0.0.1:{port}"
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=60)


def test_dask_upload_code_ships_zhcorpus_to_workers_without_it(
    slice_config: Path, finished_run: Path, bare_cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --dask-upload-code the run stops before any work, saying why; with it the
    workers receive this checkout's packages and rule files and make the same corpus."""
    assert run_zhcorpus(slice_config, tmp_path / "refused", "--runner", "DaskRunner", "--dask-address", bare_cluster) == 1
    assert re.search(r"cannot import zhcorpus.*--dask_upload_code", capsys.readouterr().err)
    out = tmp_path / "shipped"
    assert run_zhcorpus(slice_config, out, "--runner", "DaskRunner", "--dask-address", bare_cluster, "--dask-upload-code") == 0
    assert fingerprint(out) == fingerprint(finished_run)


def test_code_fingerprint_is_stable() -> None:
    assert code_fingerprint() == code_fingerprint() and len(code_fingerprint()) == 64


@pytest.fixture(scope="module")
def job_service() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", f"--port={port}"]
    service = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or service.poll() is not None:
                service.kill()
                pytest.fail("Beam's local job service did not start")
            time.sleep(0.2)
    yield f"localhost:{port}"
    service.terminate()
    service.wait(timeout=30)


def test_portable_runner_on_a_job_service_matches_the_direct_runner(
    slice_config: Path, finished_run: Path, job_service: str, tmp_path: Path
) -> None:
    out = tmp_path / "portable"
    options = ("--runner", "PortableRunner", f"--job_endpoint={job_service}", "--environment_type=LOOPBACK")
    assert run_zhcorpus(slice_config, out, *options) == 0
    assert fingerprint(out) == fingerprint(finished_run)


def test_dask_runner_refuses_windowing_it_does_not_run_before_any_work(tmp_path: Path) -> None:
    """Grouping outside the global window is refused while the graph is rewritten, before
    a cluster is started or anything is read."""
    from apache_beam.transforms import window

    pipeline = beam.Pipeline(runner=DaskRunner(), options=PipelineOptions(["--dask_address=tcp://127.0.0.1:1"]))
    _ = (
        pipeline
        | beam.Create([("a", 1)])
        | beam.WindowInto(window.FixedWindows(60))
        | beam.GroupByKey()
        | beam.Map(lambda kv: (tmp_path / "ran").write_text("ran"))
    )
    with pytest.raises(NotImplementedError, match="groups in the global window only"):
        pipeline.run()
    assert not (tmp_path / "ran").exists()


def test_dask_runner_names_a_primitive_it_does_not_run(dask_cluster: str, tmp_path: Path) -> None:
    """A transform that is its own primitive (no expansion into what the runner knows)
    stops the run with its label, before anything downstream runs."""

    class Unknown(beam.PTransform):
        def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.PCollection:
            return beam.pvalue.PCollection(pbegin.pipeline, is_bounded=True)

    pipeline = beam.Pipeline(runner=DaskRunner(), options=PipelineOptions([f"--dask_address={dask_cluster}"]))
    _ = pipeline | "Mystery" >> Unknown() | beam.Map(lambda x: (tmp_path / "ran").write_text("ran"))
    with pytest.raises(NotImplementedError, match="cannot run 'Mystery' \\(Unknown\\)"):
        pipeline.run()
    assert not (tmp_path / "ran").exists()


def test_dask_counts_partitions_by_what_they_hold() -> None:
    """Dask spills and pauses workers by ``sizeof`` of their results; a partition of
    documents must count its text, not only the list and object shells."""
    import pickle

    from dask.sizeof import sizeof

    from corpus.record import Document
    from pipelines.dask_runner import Block, _Result

    block = Block(Document(f"d{i}", "news", "人民日报社论。" * (20 + i % 50)) for i in range(1000))
    pickled = sum(len(pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL)) for doc in block)
    assert 0.8 * pickled < sizeof(block) < 1.25 * pickled
    assert sizeof(_Result({None: block, "rejected": Block()})) >= sizeof(block)
    assert sizeof(Block()) < 100
