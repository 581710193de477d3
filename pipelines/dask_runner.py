"""A Beam runner that executes a pipeline on a ``dask.distributed`` cluster.

Beam ships a ``DaskRunner`` (``apache_beam.runners.dask``), but as of Beam 2.77 it cannot run
zhcorpus: it keeps one Dask bag per transform rather than per output, so the tagged outputs
of a ``ParDo(...).with_outputs(...)`` (every stage's removed documents, ``beam.Partition``)
all land in the main output; it computes only the last transform of the graph, so branches
that end elsewhere (the stats writers) never run; its side inputs are marked unfinished
upstream, and it reports no metrics. This runner is written for the transforms Beam's SDK
expands a batch pipeline into, and nothing else.

A collection is a list of partitions, each a Dask future (or a tagged part of one) held on
the workers; tasks are submitted as the graph is walked, so work starts at once:

- ``Impulse``, ``Create`` -> partitions made on the workers; ``Flatten`` -> the union of the
  inputs' partitions, no task;
- ``Reshuffle`` -> every partition split round-robin into ``--dask_partitions`` pieces
  (the unit of parallelism), then each piece gathered;
- ``GroupByKey`` -> the same shuffle, but by a CRC-32 of the key's deterministic encoding
  (Python's ``hash`` of a string differs between worker processes), grouped by encoded key
  inside each piece, in encoded-key order;
- ``CombinePerKey`` -> Beam's ``LiftedCombinePerKey``: each partition is combined first and
  only the accumulators are shuffled;
- ``ParDo`` -> one task per partition running Beam's own ``DoFnRunner`` with every output
  tag kept apart and the side inputs passed in whole. A DoFn is set up once per worker
  process and run; its counters come back per task and are summed on the client, its
  distributions combined.

Everything runs in the global window, the only windowing a batch zhcorpus run uses; other
windowing fails before any work starts. The client lets go of a collection as soon as every
transform reading it has been submitted, so Dask frees (or spills) it once they have run.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import pickle
import shutil
import sys
import tempfile
import threading
import uuid
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.coders import coders
from apache_beam.internal import pickler
from apache_beam.metrics.cells import DistributionData, DistributionResult
from apache_beam.metrics.execution import MetricKey, MetricResult, MetricsContainer
from apache_beam.metrics.metric import MetricResults
from apache_beam.metrics.metricbase import MetricName
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pipeline import PipelineVisitor, PTransformOverride
from apache_beam.runners.common import DoFnRunner, Receiver
from apache_beam.runners.runner import PipelineResult, PipelineRunner, PipelineState
from apache_beam.runners.worker import statesampler
from apache_beam.transforms import sideinputs
from apache_beam.transforms.combiners import LiftedCombinePerKey
from apache_beam.transforms.core import Windowing
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.counters import CounterFactory
from apache_beam.utils.windowed_value import WindowedValue
from dask.sizeof import sizeof as dask_sizeof


class DaskOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        parser.add_argument(
            "--dask_address",
            default=None,
            help="scheduler address of a running dask.distributed cluster; "
            "without it a local cluster is started for the run and closed after",
        )
        parser.add_argument(
            "--dask_workers", type=int, default=None, help="workers of the local cluster (default: the CPU count)"
        )
        parser.add_argument("--dask_connect_seconds", type=float, default=30.0, help="how long to try to reach --dask_address")
        parser.add_argument(
            "--dask_partitions",
            type=int,
            default=None,
            help="pieces each reshuffled collection is cut into (default: 2 per worker)",
        )
        parser.add_argument(
            "--dask_upload_code",
            action="store_true",
            default=False,
            help="with --dask_address: send this client's zhcorpus code and rule files to every worker first "
            "(the workers restart to load it; their other dependencies must be installed)",
        )


# -- the transforms the graph is rewritten to -------------------------------------------


class _Create(beam.PTransform):
    def __init__(self, values: tuple[Any, ...]) -> None:
        super().__init__()
        self.values = values

    def expand(self, pbegin: Any) -> pvalue.PCollection:
        return pvalue.PCollection(pbegin.pipeline, is_bounded=True)

    def get_windowing(self, inputs: Any) -> Windowing:
        return Windowing(GlobalWindows())


class _Reshuffle(beam.PTransform):
    def expand(self, pcoll: Any) -> pvalue.PCollection:
        return pvalue.PCollection.from_(pcoll)


class _GroupByKey(beam.PTransform):
    def expand(self, pcoll: Any) -> pvalue.PCollection:
        if not pcoll.windowing.is_default():
            raise NotImplementedError(f"{self.label}: the Dask runner groups in the global window only")
        return pvalue.PCollection.from_(pcoll)


class _Replace(PTransformOverride):
    def __init__(self, kind: type, build: Any) -> None:
        self._kind = kind
        self._build = build

    def matches(self, applied: Any) -> bool:
        return type(applied.transform) is self._kind

    def get_replacement_transform_for_applied_ptransform(self, applied: Any) -> beam.PTransform:
        return self._build(applied.transform)


def _overrides() -> list[PTransformOverride]:
    return [
        # first, since its replacement holds a GroupByKey: each partition combines its own
        # values and only accumulators are shuffled (a CombineGlobally over every document
        # otherwise sends them all to one task)
        _Replace(beam.CombinePerKey, lambda transform: LiftedCombinePerKey(transform.fn, transform.args, transform.kwargs)),
        _Replace(beam.Create, lambda transform: _Create(tuple(transform.values))),
        _Replace(beam.Reshuffle, lambda transform: _Reshuffle()),
        _Replace(beam.GroupByKey, lambda transform: _GroupByKey()),
    ]


# -- what runs inside the tasks ---------------------------------------------------------

Part = tuple[Any, Any]
"""A partition: ``(future, tag)``; with tag ``_WHOLE`` the future's value is the list of
elements, otherwise it is a ParDo task's result and the partition is that tag's output."""


class _Whole:
    def __repr__(self) -> str:
        return "_WHOLE"


_WHOLE = _Whole()


class Block(list):
    """A partition's elements. Dask serialises a plain list element by element (a pickle
    call and a module lookup each); a subclass is pickled in one call, several times faster."""


class _Result:
    """A ParDo bundle's outputs by tag, pickled as one object."""

    __slots__ = ("outputs",)

    def __init__(self, outputs: dict[Any, Block]) -> None:
        self.outputs = outputs


_SIZE_SAMPLES = 16


@dask_sizeof.register(Block)
def _block_bytes(block: Block) -> int:
    """Dask decides what to spill to disk, and when to pause a worker, by ``sizeof`` of the
    results it holds; its default for an object is the object's shell, a few dozen bytes
    for a document that holds kilobytes of text, so every result counted as almost nothing
    and all of a worker's memory as unmanaged. The pickled size of up to 16 evenly spaced
    elements, scaled to the block."""
    if not block:
        return sys.getsizeof(block)
    sample = block[:: max(1, len(block) // _SIZE_SAMPLES)][:_SIZE_SAMPLES]
    try:
        sampled = sum(len(pickle.dumps(element, protocol=pickle.HIGHEST_PROTOCOL)) for element in sample)
    except (pickle.PicklingError, TypeError, AttributeError):  # plain pickle cannot take it: Dask's estimate
        return int(dask_sizeof.dispatch(list)(block))
    return sys.getsizeof(block) + len(block) * sampled // len(sample)


@dask_sizeof.register(_Result)
def _result_bytes(result: _Result) -> int:
    return sum(_block_bytes(block) for block in result.outputs.values())


def _elements(value: Any, tag: Any) -> Block:
    if isinstance(tag, _Whole):
        return value
    return value.outputs.get(tag, Block())


def _make(values: list[Any]) -> Block:
    return Block(values)


class _Collect(Receiver):
    def __init__(self, tag: str | None, runner: _Bundles) -> None:
        self._tag = tag
        self._bundles = runner

    def receive(self, windowed_value: WindowedValue) -> None:
        self._bundles.outputs.setdefault(self._tag, Block()).append(windowed_value.value)


class _Receivers(dict):
    """Every tag a DoFn emits to gets its own receiver; outputs keep their tag."""

    def __init__(self, bundles: _Bundles) -> None:
        super().__init__()
        self._bundles = bundles

    def __missing__(self, tag: str | None) -> _Collect:
        receiver = self[tag] = _Collect(tag, self._bundles)
        return receiver


_SET_UP: dict[tuple[str, str, int], _Bundles] = {}
"""This worker process's DoFns, by (run, transform, thread)."""
_COUNTERS: dict[str, dict[tuple[str, str], int]] = {}
"""This worker process's Beam counter totals, by run."""
_DISTRIBUTIONS: dict[str, dict[tuple[str, str], DistributionData]] = {}
"""This worker process's Beam distributions, by run (sum and count added bundle by
bundle, minimum and maximum over all)."""
_SET_UP_LOCK = threading.Lock()


class _Bundles:
    """One ParDo's DoFn, set up once in a worker process and run on bundle after bundle."""

    def __init__(self, run: str, spec: tuple[Any, ...], side_values: tuple[list[Any], ...]) -> None:
        label, fn, args, kwargs, views = spec
        self.run = run
        self.label = label
        self.outputs: dict[str | None, Block] = {}
        side_inputs = [
            sideinputs.SideInputMap(view_class, options, [GlobalWindows.windowed_value(value) for value in values])
            for (view_class, options), values in zip(views, side_values, strict=True)
        ]
        self.container = MetricsContainer(label)
        self.sampler = statesampler.StateSampler(label, CounterFactory())
        self.runner = DoFnRunner(fn, args, kwargs, side_inputs, Windowing(GlobalWindows()), _Receivers(self), step_name=label)
        with self._scope():
            self.runner.setup()

    @contextmanager
    def _scope(self) -> Iterator[None]:
        statesampler.set_current_tracker(self.sampler)
        try:
            with self.sampler.scoped_state(self.label, "process", metrics_container=self.container):
                yield
        finally:
            statesampler.set_current_tracker(None)

    def _totals(self) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], DistributionData]]:
        cumulative = self.container.get_cumulative()
        return (
            {(key.metric.namespace, key.metric.name): value for key, value in cumulative.counters.items()},
            {(key.metric.namespace, key.metric.name): value for key, value in cumulative.distributions.items()},
        )

    def bundle(self, items: Iterable[Any]) -> _Result:
        """Runs one bundle -> its outputs by tag; the counters' increments go to this
        process's totals for the run. The container is the DoFn's for life: the state
        sampler keeps the first it is given."""
        before, before_distributions = self._totals()
        self.outputs = {}
        with self._scope():
            self.runner.start()
            for item in items:
                self.runner.process(GlobalWindows.windowed_value(item))
            self.runner.finish()
        after, after_distributions = self._totals()
        with _SET_UP_LOCK:
            totals = _COUNTERS.setdefault(self.run, {})
            for key, value in after.items():
                totals[key] = totals.get(key, 0) + value - before.get(key, 0)
            distributions = _DISTRIBUTIONS.setdefault(self.run, {})
            for key, data in after_distributions.items():
                earlier = before_distributions.get(key)
                if earlier is not None:  # the container's are cumulative over the DoFn's life
                    data = DistributionData(data.sum - earlier.sum, data.count - earlier.count, data.min, data.max)
                distributions[key] = data if key not in distributions else distributions[key].combine(data)
        outputs, self.outputs = self.outputs, {}
        return _Result(outputs)

    def teardown(self) -> None:
        with self._scope():
            self.runner.teardown()


def _run_pardo(value: Any, tag: Any, run: str, label: str, spec: bytes, *sides: list[Any]) -> _Result:
    """One bundle: a partition through a ParDo -> (outputs by tag, the bundle's counters)."""
    key = (run, label, threading.get_ident())
    with _SET_UP_LOCK:
        bundles = _SET_UP.get(key)
    if bundles is None:
        bundles = _Bundles(run, pickler.loads(spec), sides)
        with _SET_UP_LOCK:
            _SET_UP[key] = bundles
    return bundles.bundle(_elements(value, tag))


def _forget(run: str) -> int:
    """Tear down and drop this worker's DoFns of a finished run."""
    with _SET_UP_LOCK:
        dropped = [_SET_UP.pop(key) for key in [key for key in _SET_UP if key[0] == run]]
    for bundles in dropped:
        bundles.teardown()
    return len(dropped)


def _collect_counters(run: str) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], DistributionData]]:
    """This worker's counter totals and distributions for a run (a re-run task counts
    again, as Beam's attempted metrics do)."""
    with _SET_UP_LOCK:
        return _COUNTERS.pop(run, {}), _DISTRIBUTIONS.pop(run, {})


def _whole(*parts: Any) -> Block:
    """A side input: every partition of a collection, as one list (``value, tag`` pairs)."""
    return Block(element for i in range(0, len(parts), 2) for element in _elements(parts[i], parts[i + 1]))


def _length(value: Any, tag: Any) -> int:
    return len(_elements(value, tag))


_KEY_CODER = coders.FastPrimitivesCoder().as_deterministic_coder("zhcorpus dask GroupByKey")


def _split(value: Any, tag: Any, pieces: int, by_key: bool, offset: int) -> Block:
    """A partition cut into ``pieces``: by key hash for a GroupByKey, round-robin otherwise."""
    out = Block(Block() for _ in range(pieces))
    for position, element in enumerate(_elements(value, tag)):
        if by_key:
            encoded = _KEY_CODER.encode(element[0])
            out[zlib.crc32(encoded) % pieces].append((encoded, element[0], element[1]))
        else:
            out[(position + offset) % pieces].append(element)
    return out


def _piece(split: Block, index: int) -> Block:
    return split[index]


def _join(*pieces: Block) -> Block:
    return Block(element for piece in pieces for element in piece)


def _group(*pieces: Block) -> Block:
    groups: dict[bytes, tuple[Any, list[Any]]] = {}
    for piece in pieces:
        for encoded, key, value in piece:
            groups.setdefault(encoded, (key, []))[1].append(value)
    return Block(groups[encoded] for encoded in sorted(groups))


# -- walking the graph ------------------------------------------------------------------


class _Submit(PipelineVisitor):
    """Submits each transform's tasks as the (topologically ordered) graph is walked."""

    def __init__(self, client: Any, run: str, pieces: int, readers: dict[pvalue.PCollection, int]) -> None:
        self._client = client
        self._run = run
        self._pieces = pieces
        self._readers = dict(readers)
        self.parts: dict[pvalue.PCollection, list[Part]] = {}
        self.sinks: list[Any] = []
        self._label = ""
        self._tasks = 0

    def _submit(self, function: Any, *args: Any) -> Any:
        """A task, keyed by its transform (as the Dask dashboard shows it)."""
        self._tasks += 1
        key = f"{self._label} {function.__name__.strip('_')}-{self._run[:8]}-{self._tasks}"
        return self._client.submit(function, *args, key=key, pure=False)

    def _read(self, pcoll: pvalue.PCollection) -> list[Part]:
        parts = self.parts[pcoll]
        self._readers[pcoll] -= 1
        if self._readers[pcoll] == 0:
            del self.parts[pcoll]  # Dask frees it once the tasks reading it have run
        return parts

    def _shuffle(self, parts: list[Part], by_key: bool) -> list[Part]:
        splits = [self._submit(_split, value, tag, self._pieces, by_key, index) for index, (value, tag) in enumerate(parts)]
        joined = []
        for index in range(self._pieces):
            pieces = [self._submit(_piece, split, index) for split in splits]
            joined.append((self._submit(_group if by_key else _join, *pieces), _WHOLE))
        return joined

    def visit_transform(self, node: Any) -> None:
        transform = node.transform
        self._label = node.full_label
        inputs = [value for value in node.inputs if isinstance(value, pvalue.PCollection)]
        outputs: dict[Any, list[Part]]
        if isinstance(transform, _Create):
            outputs = {None: [(self._submit(_make, list(transform.values)), _WHOLE)]}
        elif isinstance(transform, beam.Impulse):
            outputs = {None: [(self._submit(_make, [b""]), _WHOLE)]}
        elif isinstance(transform, beam.Flatten):
            outputs = {None: [part for pcoll in inputs for part in self._read(pcoll)]}
        elif isinstance(transform, _Reshuffle):
            outputs = {None: self._shuffle(self._read(inputs[0]), by_key=False)}
        elif isinstance(transform, _GroupByKey):
            outputs = {None: self._shuffle(self._read(inputs[0]), by_key=True)}
        elif isinstance(transform, beam.ParDo):
            outputs = self._pardo(node, transform, inputs[0])
        else:
            raise NotImplementedError(
                f"the Dask runner cannot run {node.full_label!r} ({type(transform).__name__}): "
                "it runs Create, Impulse, Flatten, Reshuffle, GroupByKey and ParDo (and what expands to them)"
            )
        for tag, pcoll in node.outputs.items():
            if self._readers.get(pcoll, 0) > 0:
                self.parts[pcoll] = outputs[tag]
            else:  # nothing reads it: it is computed, and only its size comes back
                self.sinks.extend(self._submit(_length, value, tag) for value, tag in outputs[tag])

    def _pardo(self, node: Any, transform: beam.ParDo, main: pvalue.PCollection) -> dict[Any, list[Part]]:
        views = [(type(side), side._view_options()) for side in transform.side_inputs]
        sides = []
        for side in transform.side_inputs:
            flat = [item for part in self._read(side.pvalue) for item in part]
            sides.append(self._submit(_whole, *flat))
        spec = self._client.scatter(pickler.dumps((node.full_label, transform.fn, transform.args, transform.kwargs, views)))
        results = [
            self._submit(_run_pardo, value, tag, self._run, node.full_label, spec, *sides) for value, tag in self._read(main)
        ]
        return {tag: [(result, tag) for result in results] for tag in node.outputs}


class _CountReaders(PipelineVisitor):
    def __init__(self) -> None:
        self.readers: dict[pvalue.PCollection, int] = {}

    def visit_transform(self, node: Any) -> None:
        for value in [*node.inputs, *(side.pvalue for side in node.side_inputs)]:
            if isinstance(value, pvalue.PCollection):
                self.readers[value] = self.readers.get(value, 0) + 1


# -- running and the result -------------------------------------------------------------


class _Counters(MetricResults):
    def __init__(
        self, totals: dict[tuple[str, str], int], distributions: dict[tuple[str, str], DistributionData] | None = None
    ) -> None:
        self._results = [
            MetricResult(MetricKey("", MetricName(namespace, name)), value, value)
            for (namespace, name), value in sorted(totals.items())
        ]
        self._distributions = [
            MetricResult(MetricKey("", MetricName(namespace, name)), DistributionResult(data), DistributionResult(data))
            for (namespace, name), data in sorted((distributions or {}).items())
        ]

    def query(self, filter: Any = None) -> dict[str, list[Any]]:
        counters = [result for result in self._results if self.matches(filter, result.key)]
        distributions = [result for result in self._distributions if self.matches(filter, result.key)]
        return {
            self.COUNTERS: counters,
            self.DISTRIBUTIONS: distributions,
            self.GAUGES: [],
            self.STRINGSETS: [],
            self.BOUNDED_TRIES: [],
            self.HISTOGRAMS: [],
        }


class DaskRunResult(PipelineResult):
    def __init__(
        self, totals: dict[tuple[str, str], int], distributions: dict[tuple[str, str], DistributionData] | None = None
    ) -> None:
        super().__init__(PipelineState.DONE)
        self._metrics = _Counters(totals, distributions)

    def wait_until_finish(self, duration: Any = None) -> str:
        return self._state

    def cancel(self) -> str:
        return self._state

    def metrics(self) -> MetricResults:
        return self._metrics


_PACKAGES = ("corpus", "filters", "sampling", "pipelines")


def _code_files() -> Iterator[tuple[Path, Path]]:
    """(file, its path relative to the folder holding the packages) of zhcorpus's code and
    rule files, as this process imports them."""
    for package in _PACKAGES:
        root = Path(importlib.import_module(package).__file__ or "").parent
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path, path.relative_to(root.parent)


def code_fingerprint() -> str:
    """A digest of zhcorpus's code and rule files as this process imports them: workers
    that run other code than the client would make another corpus."""
    digest = hashlib.sha256()
    for path, relative in _code_files():
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _upload_code(client: Any, fingerprint: str) -> None:
    """Send zhcorpus's packages to the scheduler and every worker with Dask's
    UploadDirectory plugin: the scheduler (which unpickles the task graph) and each
    worker's nanny unpack them into their local directory and put that first on the path,
    and the workers restart, so the client's code is what runs (over any installed
    version)."""
    from distributed.diagnostics.plugin import UploadDirectory

    workers = len(client.scheduler_info(n_workers=-1)["workers"])
    with tempfile.TemporaryDirectory() as folder:
        staging = Path(folder) / f"zhcorpus-code-{fingerprint[:16]}"
        for path, relative in _code_files():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, staging / relative)
        plugin = UploadDirectory(str(staging), restart_workers=True, update_path=True, mode="all")  # zipped here
    client.register_plugin(plugin)
    client.wait_for_workers(workers)


def _connect(settings: DaskOptions) -> tuple[Any, Any]:
    """(client, the local cluster started for this run or None)."""
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")  # no start and stop lines from every worker
    from dask.distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(os.environ["DASK_LOGGING__DISTRIBUTED"].upper())
    if not settings.dask_address:
        workers = settings.dask_workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        )
        return Client(cluster), cluster
    try:
        client = Client(settings.dask_address, timeout=settings.dask_connect_seconds)
    except (OSError, TimeoutError) as exc:
        raise RuntimeError(f"cannot reach the Dask scheduler at {settings.dask_address}: {exc}") from exc
    ours = code_fingerprint()
    try:
        if settings.dask_upload_code:
            _upload_code(client, ours)
        theirs = client.run(code_fingerprint)
    except Exception as exc:
        client.close()
        raise RuntimeError(
            f"the Dask workers at {settings.dask_address} cannot import zhcorpus ({type(exc).__name__}: {exc}); "
            "install zhcorpus's dependencies on every worker, and this version of zhcorpus or --dask_upload_code"
        ) from exc
    different = sorted(worker for worker, fingerprint in theirs.items() if fingerprint != ours)
    if different:
        client.close()
        raise RuntimeError(
            f"Dask workers {', '.join(different)} run other zhcorpus code or rule files than this client: "
            "install the same version on every worker (pip install the same wheel or checkout) or use --dask_upload_code"
        )
    return client, None


class DaskRunner(PipelineRunner):
    """``--runner pipelines.dask_runner.DaskRunner``; ``zhcorpus run --runner DaskRunner``.
    ``run`` returns when the pipeline has finished (or raises what a task raised)."""

    def run_pipeline(self, pipeline: beam.Pipeline, options: PipelineOptions) -> DaskRunResult:
        settings = options.view_as(DaskOptions)
        pipeline.replace_all(_overrides())
        readers = _CountReaders()
        pipeline.visit(readers)
        client, cluster = _connect(settings)
        run = uuid.uuid4().hex
        try:
            workers = len(client.scheduler_info(n_workers=-1)["workers"]) or 1
            submit = _Submit(client, run, settings.dask_partitions or 2 * workers, readers.readers)
            pipeline.visit(submit)
            client.gather(submit.sinks)
            totals: dict[tuple[str, str], int] = {}
            distributions: dict[tuple[str, str], DistributionData] = {}
            for counters, found in client.run(_collect_counters, run).values():
                for key, value in counters.items():
                    totals[key] = totals.get(key, 0) + value
                for key, data in found.items():
                    distributions[key] = data if key not in distributions else distributions[key].combine(data)
        finally:
            try:
                client.run(_forget, run)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
        return DaskRunResult(totals, distributions)
