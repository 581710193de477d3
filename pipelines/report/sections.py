"""The report's content, built from a finished run's files (never from the documents):

    stats/run.json      funnel, rejections and errors with examples, repairs, histograms,
                        sensitive terms
    stats/dedup.json    dedup per source, cluster sizes, largest clusters, who lost to whom
    stats/shards.json   the training mix (PanGu's Table 4), shards, tokens per document
    stats/timing.json   runner, wall time, throughput per step, package versions
    config.resolved.yaml

A section whose file is absent (a stage that did not run) is left out. With a second run,
every table pairs each value with the other run's (``model.compare``).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Callable, Iterable
from typing import Any

from corpus.config import STAGE_ORDER
from corpus.stats import EXAMPLES
from corpus.work import STEPS
from pipelines.graph import RESOLVED_CONFIG
from pipelines.report.charts import bar_chart
from pipelines.report.data import RunData
from pipelines.report.model import Chart, Column, Example, Examples, Section, Table, Text, compare

SNIPPET_CHARS = 200
"""Characters of a document shown in an example (its line breaks shown as ⏎)."""


def _both(build: Callable[[RunData], Table | None], run: RunData, other: RunData | None) -> Table | None:
    table = build(run)
    if other is None:
        return table
    before = build(other)
    if table is None and before is None:
        return None
    if table is None:  # only run B has it: its rows, with run A's side missing
        assert before is not None
        return compare(dataclasses.replace(before, rows=()), before)
    return compare(table, before)


def _blocks(*blocks: Any) -> tuple[Any, ...]:
    return tuple(block for block in blocks if block is not None)


def _stages_used(run: RunData) -> list[str]:
    used = {stage for entry in run.sources.values() for stage in entry.get("stages", {})}
    return [stage for stage in STAGE_ORDER if stage in used]


# --- overview and funnel ----------------------------------------------------------------


def overview_table(run: RunData) -> Table:
    rows = []
    totals = [0] * 6
    for name, entry in run.sources.items():
        values = [
            entry["docs_in"],
            entry["docs_kept"],
            sum(entry["docs_rejected"].values()),
            sum(entry["docs_error"].values()),
            entry["bytes_in"],
            entry["bytes_kept"],
        ]
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        rows.append((name, *values, values[1] / values[0] if values[0] else 0.0))
    rows.append(("total", *totals, totals[1] / totals[0] if totals[0] else 0.0))
    columns = (
        Column("source", "text"),
        Column("docs in"),
        Column("kept"),
        Column("rejected"),
        Column("errors"),
        Column("MB in", "mb"),
        Column("MB kept", "mb"),
        Column("docs kept", "pct"),
    )
    return Table(
        "sources",
        "Documents per source",
        columns,
        tuple(rows),
        total=True,
        note="docs in = kept + rejected + errors, per source",
    )


def funnel_table(run: RunData) -> Table:
    stages = _stages_used(run)
    columns = [Column("source", "text"), Column("docs in"), Column("MB in", "mb")]
    for stage in stages:
        columns += [Column(f"after {stage}"), Column(f"MB after {stage}", "mb")]
    columns += [Column("kept"), Column("MB kept", "mb")]
    rows = []
    for name, entry in run.sources.items():
        row: list[Any] = [name, entry["docs_in"], entry["bytes_in"]]
        for stage in stages:
            counts = entry["stages"].get(stage)
            row += [counts["docs_out"], counts.get("bytes_out")] if counts else [None, None]
        row += [entry["docs_kept"], entry["bytes_kept"]]
        rows.append(tuple(row))
    note = (
        "PanGu's Table 3 with sizes: documents and MB left after each stage the source runs (blank: not run). "
        "MB in is the text as read; later sizes are of the text as written, after every repair."
    )
    return Table("funnel", "Funnel through the stages", tuple(columns), tuple(rows), note=note)


def section_overview(run: RunData, other: RunData | None) -> Section:
    return Section("overview", "Overview", _blocks(_both(overview_table, run, other), _both(funnel_table, run, other)))


# --- rejections, errors, repairs ---------------------------------------------------------


def _source_columns(sources: Iterable[str]) -> tuple[Column, ...]:
    return tuple(Column(source, key=f"source:{source}") for source in sources)


def _reason_table(
    run: RunData, table_id: str, title: str, counts_key: str, bytes_key: str | None, note: str, staged: bool = True
) -> Table | None:
    """Reasons (``"<stage>/<reason>"`` keys split in two columns when ``staged``) with
    documents, MB, share of all input and a column per source."""
    docs_in = sum(entry["docs_in"] for entry in run.sources.values()) or 1
    sources = list(run.sources)
    reasons: dict[str, dict[str, int]] = {}
    sizes: dict[str, int] = {}
    for name, entry in run.sources.items():
        for reason, count in entry.get(counts_key, {}).items():
            reasons.setdefault(reason, {})[name] = count
        for reason, size in entry.get(bytes_key, {}).items() if bytes_key else ():
            sizes[reason] = sizes.get(reason, 0) + size
    if not reasons:
        return None
    rows = []
    for reason, per_source in sorted(reasons.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        total = sum(per_source.values())
        keys = tuple(reason.split("/", 1)) if staged else (reason,)
        size = (sizes.get(reason),) if bytes_key else ()
        rows.append((*keys, total, *size, total / docs_in, *(per_source.get(s, 0) for s in sources)))
    columns = (
        *((Column("stage", "text"), Column("reason", "text")) if staged else (Column("reason", "text"),)),
        Column("docs"),
        *((Column("MB", "mb"),) if bytes_key else ()),
        Column("of all docs in", "pct"),
        *_source_columns(sources),
    )
    return Table(table_id, title, columns, tuple(rows), keys=2 if staged else 1, note=note)


def rejections_table(run: RunData) -> Table | None:
    note = "documents a stage removed; MB of their text as written"
    return _reason_table(run, "rejected", "Rejections by stage and reason", "docs_rejected", "bytes_rejected_by", note)


def errors_table(run: RunData) -> Table | None:
    note = "what could not be read or processed (the stage is in each error record)"
    return _reason_table(run, "errors", "Error records by reason", "docs_error", "bytes_error_by", note, staged=False)


def annotated_table(run: RunData) -> Table | None:
    title = "Annotate mode: what would have been removed or repaired"
    return _reason_table(run, "annotated", title, "annotated", None, "verdicts recorded with enforced: false")


def _examples(run: RunData, kinds: Iterable[str]) -> Examples | None:
    reasons: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, entry in run.sources.items():
        for reason, examples in entry.get("examples", {}).items():
            if reason in kinds:
                reasons.setdefault(reason, []).extend((name, example) for example in examples)
    items = []
    for reason in sorted(reasons):
        picked = sorted(reasons[reason], key=lambda pair: (pair[1]["id"], pair[0]))
        # one per source first, so every source that lost documents to a reason shows one
        by_source: dict[str, list[dict[str, Any]]] = {}
        for name, example in picked:
            by_source.setdefault(name, []).append(example)
        rounds = [
            (name, examples[i]) for i in range(EXAMPLES) for name, examples in sorted(by_source.items()) if i < len(examples)
        ]
        for name, example in rounds[:EXAMPLES]:
            text = " ⏎ ".join(line.strip() for line in example["text"][:SNIPPET_CHARS].splitlines() if line.strip())
            text += "…" if example["chars"] > SNIPPET_CHARS else ""
            items.append(Example(reason, name, example["id"], example["detail"], example["chars"], text))
    return Examples("Examples", tuple(items)) if items else None


def section_rejections(run: RunData, other: RunData | None) -> Section | None:
    rejected = {reason for entry in run.sources.values() for reason in entry.get("docs_rejected", {})}
    errors = {reason for entry in run.sources.values() for reason in entry.get("docs_error", {})}
    blocks = _blocks(
        _both(rejections_table, run, other),
        _examples(run, rejected),
        _both(errors_table, run, other),
        _examples(run, errors),
        _both(annotated_table, run, other),
    )
    return Section("rejections", "Rejections and errors", blocks) if blocks else None


def repairs_table(run: RunData) -> Table | None:
    sources = list(run.sources)
    repairs: dict[str, dict[str, int]] = {}
    amounts: dict[str, int] = {}
    for name, entry in run.sources.items():
        for repair, count in entry["repairs"].items():
            repairs.setdefault(repair, {})[name] = count
        for repair, amount in entry.get("repair_amounts", {}).items():
            amounts[repair] = amounts.get(repair, 0) + amount
    if not repairs:
        return None
    rows = []
    for repair, per_source in sorted(repairs.items()):
        stage, _, name = repair.rpartition("/")
        rows.append((stage, name, sum(per_source.values()), amounts.get(repair), *(per_source.get(s, 0) for s in sources)))
    columns = (
        Column("stage", "text"),
        Column("repair", "text"),
        Column("docs"),
        Column("amount"),
        *_source_columns(sources),
    )
    note = (
        "documents repaired (kept or not), and the amount: characters for unicode and symbols, lines for navigation "
        "and repeated paragraphs, items masked for PII, paragraphs shared with other documents for dedup"
    )
    return Table("repaired", "Repairs", columns, tuple(rows), keys=2, note=note)


def section_repairs(run: RunData, other: RunData | None) -> Section | None:
    table = _both(repairs_table, run, other)
    return Section("repairs", "Repairs", (table,)) if table is not None else None


# --- distributions -----------------------------------------------------------------------


def _edge_label(edges: list[float], index: int, name: str) -> str:
    low = edges[index]
    if name == "chars":
        return f"{int(low):,}+" if index + 1 == len(edges) else f"{int(low):,}-{int(edges[index + 1]) - 1:,}"
    high = edges[index + 1] if index + 1 < len(edges) else 1.0
    return f"{low:.2f}-{high:.2f}"


Histogram = tuple[list[float], list[int], list[int]]
"""The bins' lower edges, documents kept and documents removed per bin."""


def _histogram_totals(run: RunData, name: str) -> Histogram | None:
    """A histogram of run.json summed over sources, with the edges stored beside it."""
    found: Histogram | None = None
    for source, entry in run.sources.items():
        histogram = entry.get("histograms", {}).get(name)
        if histogram is None:
            continue
        edges, kept, removed = list(histogram["edges"]), list(histogram["kept"]), list(histogram["removed"])
        if not len(edges) == len(kept) == len(removed):
            raise ValueError(f"histogram {name} of {source}: {len(edges)} edges but {len(kept)}/{len(removed)} counts")
        if found is None:
            found = (edges, kept, removed)
        elif found[0] != edges:
            raise ValueError(f"histogram {name} of {source}: other bins than the other sources")
        else:
            found = (
                edges,
                [a + b for a, b in zip(found[1], kept, strict=True)],
                [a + b for a, b in zip(found[2], removed, strict=True)],
            )
    return found


_HISTOGRAM_TITLES = {
    "chars": "Document length (characters, as written)",
    "chinese_share": "Chinese share (CJK ideographs over non-space characters; documents the clean stage saw)",
    "spam": "Spam score P(spam) (documents the spam stage scored)",
    "quality": "Quality score P(high quality) (documents the quality stage scored)",
}


def _histogram_table(name: str) -> Callable[[RunData], Table | None]:
    def build(run: RunData) -> Table | None:
        totals = _histogram_totals(run, name)
        if totals is None:
            return None
        edges, kept, removed = totals
        rows = tuple((_edge_label(edges, i, name), kept[i], removed[i]) for i in range(len(edges)))
        columns = (Column("bin", "text"), Column("kept"), Column("removed"))
        title = f"{_HISTOGRAM_TITLES[name].split(' (')[0]}: documents per bin"
        return Table(f"histogram-{name}", title, columns, rows, in_summary=False)

    return build


def _threshold(run: RunData, name: str, edges: list[float]) -> tuple[float, str] | None:
    """Where the config's threshold for ``name`` falls on its histogram, and its label."""
    stages = run.config.get("stages") or {}
    if name in ("spam", "quality"):
        value = (stages.get(name) or {}).get("threshold")
        label = f"threshold {value}"
    elif name == "chinese_share":
        value = (stages.get("clean") or {}).get("min_chinese_ratio")
        label = f"min_chinese_ratio {value}"
    else:
        value = (stages.get("clean") or {}).get("min_chars")
        label = f"min_chars {value} (non-space)"
    if not isinstance(value, int | float):
        return None
    for index in range(len(edges)):
        high = edges[index + 1] if index + 1 < len(edges) else (1.0 if name != "chars" else None)
        if high is None or value < high:
            width = (high - edges[index]) if high is not None else 1.0
            return index + (value - edges[index]) / width, label
    return float(len(edges)), label


def _histogram_chart(run: RunData, other: RunData | None, name: str) -> Chart | None:
    """Kept against removed; with a second run, both runs' kept and removed."""
    mine = _histogram_totals(run, name)
    theirs = _histogram_totals(other, name) if other is not None else None
    shown = mine or theirs
    if shown is None:
        return None
    edges = shown[0]
    if mine is not None and theirs is not None and mine[0] != theirs[0]:
        theirs = None  # other bins: only run A's can be drawn on this axis
    labels = [_edge_label(edges, i, name) for i in range(len(edges))]
    empty = [0] * len(edges)
    if other is None:
        series = [("kept", shown[1]), ("removed (any stage)", shown[2])]
    else:
        a = mine or (edges, empty, empty)
        b = theirs or (edges, empty, empty)
        series = [
            (f"kept, {run.name}", a[1]),
            (f"removed, {run.name}", a[2]),
            (f"kept, {other.name}", b[1]),
            (f"removed, {other.name}", b[2]),
        ]
    scored = name in ("spam", "quality")  # most documents in one bin: a log scale shows the others
    marker = _threshold(run if mine is not None else other, name, edges)  # type: ignore[arg-type]
    y_label = "documents (log scale)" if scored else "documents"
    return Chart(_HISTOGRAM_TITLES[name], bar_chart(labels, series, y_label, marker, log=scored))


def sensitive_table(run: RunData) -> Table | None:
    rows = []
    for name, entry in run.sources.items():
        for category, terms in entry.get("sensitive_terms", {}).items():
            rows.extend((category, term, name, count) for term, count in terms[:20])
    if not rows:
        return None
    columns = (Column("category", "text"), Column("term", "text"), Column("source", "text"), Column("documents"))
    note = "the terms named by the verdicts (rejections; every hit in annotate mode), top 20 per category and source"
    return Table(
        "sensitive-terms",
        "Sensitive words: top terms per category",
        columns,
        tuple(sorted(rows, key=lambda r: (r[0], r[2], -r[3], r[1]))),
        keys=3,
        note=note,
    )


def section_distributions(run: RunData, other: RunData | None) -> Section | None:
    blocks: list[Any] = []
    for name in _HISTOGRAM_TITLES:
        chart = _histogram_chart(run, other, name)
        if chart is not None:
            blocks += [chart, _both(_histogram_table(name), run, other)]
    table = _both(sensitive_table, run, other)
    if table is not None:
        blocks.append(table)
    return Section("distributions", "Distributions", tuple(blocks)) if blocks else None


# --- dedup -------------------------------------------------------------------------------


def dedup_table(run: RunData) -> Table | None:
    if run.dedup is None:
        return None
    rows = []
    for name, entry in run.dedup["sources"].items():
        removed = entry.get("removed", {})
        rows.append(
            (
                name,
                entry["docs_seen"],
                removed.get("exact_duplicate", 0),
                removed.get("near_duplicate", 0),
                removed.get("duplicate_paragraphs", 0),
                entry["bytes_removed"],
                entry.get("paragraphs_removed", 0),
                entry["docs_not_compared"],
                entry["docs_failed"],
            )
        )
    columns = (
        Column("source", "text"),
        Column("docs seen"),
        Column("exact"),
        Column("near"),
        Column("all paragraphs shared"),
        Column("MB removed", "mb"),
        Column("paragraphs removed"),
        Column("not compared"),
        Column("failed"),
    )
    return Table("dedup-sources", "Duplicates removed per source", columns, tuple(rows))


def _size_key(label: str) -> int:
    return int(label.split("-")[0].rstrip("+"))


def cluster_table(run: RunData) -> Table | None:
    if run.dedup is None:
        return None
    sizes = run.dedup.get("cluster_sizes", {})
    labels = sorted({label for counts in sizes.values() for label in counts}, key=_size_key)
    rows = tuple((label, sizes.get("exact", {}).get(label, 0), sizes.get("near", {}).get(label, 0)) for label in labels)
    return Table(
        "clusters",
        "Cluster sizes (documents per cluster, survivor included)",
        (Column("size", "text"), Column("exact"), Column("near")),
        rows,
    )


def largest_table(run: RunData) -> Table | None:
    if run.dedup is None or not run.dedup.get("largest_clusters"):
        return None
    rows = tuple(
        (entry["cluster"], entry["kind"], entry["size"], entry["survivor"], ", ".join(entry["examples"]))
        for entry in run.dedup["largest_clusters"]
    )
    columns = (
        Column("cluster", "text"),
        Column("kind", "text"),
        Column("size"),
        Column("survivor", "text"),
        Column("removed, e.g.", "text"),
    )
    return Table("largest-clusters", "Largest clusters", columns, rows, in_summary=False)


def matrix_table(run: RunData) -> Table | None:
    if run.dedup is None:
        return None
    lost_to = run.dedup.get("lost_to", {})
    survivors = sorted({survivor for row in lost_to.values() for survivor in row})
    if not survivors:
        return None
    rows = tuple((loser, *(row.get(survivor, 0) for survivor in survivors)) for loser, row in sorted(lost_to.items()))
    columns = (Column("lost by \\ kept in", "text"), *_source_columns(survivors))
    return Table(
        "lost-to",
        "Which source lost documents to which",
        columns,
        rows,
        note="rows: the source of the removed document; columns: the source of its cluster's survivor",
    )


def section_dedup(run: RunData, other: RunData | None) -> Section | None:
    if run.dedup is None and (other is None or other.dedup is None):
        return None
    dedup = run.dedup or (other.dedup if other else None) or {}
    settings = dedup.get("settings", {})
    verify = dedup.get("verify", {})
    intro = ", ".join(f"{key} {value}" for key, value in sorted(settings.items()))
    if verify:
        intro += f"; candidate pairs verified {verify.get('candidate_pairs', 0):,}, rejected as below the threshold {verify.get('rejected', 0):,}"
    blocks: list[Any] = [_both(dedup_table, run, other)]
    clusters = cluster_table(run)
    if clusters is not None and clusters.rows:
        labels = [row[0] for row in clusters.rows]
        chart = bar_chart(
            labels, [("exact", [row[1] for row in clusters.rows]), ("near", [row[2] for row in clusters.rows])], "clusters"
        )
        blocks.append(Chart("Cluster size histogram", chart))
    blocks += [_both(cluster_table, run, other), _both(largest_table, run, other), _both(matrix_table, run, other)]
    return Section("dedup", "Deduplication", _blocks(*blocks), intro=intro)


# --- the training mix and shards ---------------------------------------------------------


def mix_table(run: RunData) -> Table | None:
    if run.shards is None:
        return None
    rows = []
    for name, entry in run.shards["sources"].items():
        rows.append(
            (
                name,
                entry["docs"],
                entry["tokens_available"],
                entry["weight_asked"],
                entry["weight_target"],
                entry["weight_realised"],
                entry["epochs_realised"],
                entry["tokens_realised"],
                entry.get("docs_failed", 0),
            )
        )
    columns = (
        Column("source", "text"),
        Column("docs"),
        Column("tokens available"),
        Column("weight asked", "pct"),
        Column("target", "pct"),
        Column("realised", "pct"),
        Column("epochs", "float"),
        Column("tokens in shards"),
        Column("not tokenised"),
    )
    return Table("mix-sources", "Training mix (PanGu's Table 4)", columns, tuple(rows))


def shard_table(run: RunData) -> Table | None:
    if run.shards is None:
        return None
    rows = []
    for shard in run.shards["shards"]:
        mix = sum(shard["source_tokens"].values()) or 1
        rows.append(
            (
                str(shard["index"]),
                shard["sequences"],
                shard["tokens"],
                shard["eod"],
                shard["padding"],
                sum(file["bytes"] for file in shard["files"]),
                " ".join(f"{name} {100 * tokens / mix:.0f}%" for name, tokens in shard["source_tokens"].items()),
                " ".join(f"{os.path.basename(file['path'])} {file['sha256'][:12]}" for file in shard["files"]),
            )
        )
    columns = (
        Column("shard", "text"),
        Column("sequences"),
        Column("tokens"),
        Column("<eod>"),
        Column("<pad>"),
        Column("MB", "mb"),
        Column("source mix", "text"),
        Column("files (sha256)", "text"),
    )
    return Table("shards", "Shards", columns, tuple(rows))


def _token_histogram(run: RunData) -> tuple[list[str], dict[str, list[int]]] | None:
    if run.shards is None:
        return None
    histogram = run.shards.get("doc_tokens_histogram", {})
    labels = sorted({label for counts in histogram.values() for label in counts}, key=_size_key)
    return labels, {source: [counts.get(label, 0) for label in labels] for source, counts in histogram.items()}


def token_length_table(run: RunData) -> Table | None:
    found = _token_histogram(run)
    if found is None:
        return None
    labels, per_source = found
    sources = list(per_source)
    rows = tuple((label, *(per_source[source][i] for source in sources)) for i, label in enumerate(labels))
    return Table(
        "doc-tokens",
        "Tokens per document (kept documents, once each)",
        (Column("tokens", "text"), *_source_columns(sources)),
        rows,
        in_summary=False,
    )


def section_mix(run: RunData, other: RunData | None) -> Section | None:
    if run.shards is None and (other is None or other.shards is None):
        return None
    blocks: list[Any] = [_both(mix_table, run, other), _both(shard_table, run, other)]
    found = _token_histogram(run)
    if found is not None and found[0]:
        labels, per_source = found
        totals = [sum(values[i] for values in per_source.values()) for i in range(len(labels))]
        blocks.append(Chart("Tokens per document", bar_chart(labels, [("documents", totals)], "documents")))
    blocks.append(_both(token_length_table, run, other))
    intro = ""
    shards = run.shards or {}
    if shards:
        tokenizer = shards["tokenizer"]
        intro = (
            f"tokenizer {os.path.basename(tokenizer['model'])} ({tokenizer['vocab_size']:,} pieces, {tokenizer['dtype']}, "
            f"sha256 {tokenizer['sha256'][:12]}), segment {tokenizer['segment']}, sequences of {shards['sequence_tokens']} tokens, "
            f"formats {', '.join(shards['formats'])}, seed {shards['seed']}"
        )
        if shards.get("warnings"):
            intro += "; warnings: " + "; ".join(shards["warnings"])
    return Section("mix", "Training mix and shards", _blocks(*blocks), intro=intro)


# --- the run ----------------------------------------------------------------------------


def steps_table(run: RunData) -> Table | None:
    steps = (run.timing or {}).get("steps")
    if not steps:
        return None
    ordered = sorted(steps.items(), key=lambda item: (STEPS.index(item[0]) if item[0] in STEPS else len(STEPS), item[0]))
    rows = tuple((step, figures["mb"] * 1e6, figures["busy_seconds"], figures["mb_s_per_core"]) for step, figures in ordered)
    columns = (Column("step", "text"), Column("MB", "mb"), Column("busy seconds", "float"), Column("MB/s per core", "float"))
    note = "time spent in each step's own work, summed over workers (dedup: the signatures; the shuffles between steps are not in it)"
    if any("from_s" in figures for _, figures in ordered):  # runs since the steps' spans were recorded
        rows = tuple(
            (*row, figures.get("from_s"), figures.get("to_s"), figures.get("busy_cores"))
            for row, (_, figures) in zip(rows, ordered, strict=True)
        )
        columns = (*columns, Column("from s", "float"), Column("to s", "float"), Column("busy cores", "float"))
        note += (
            "; from/to: when the step first started and last finished, in seconds into the run (none for a step run by a "
            "later `zhcorpus shards build`); busy cores: its busy seconds over that span"
        )
    return Table("steps", "Throughput per step", columns, rows, note=note)


def versions_table(run: RunData) -> Table | None:
    found = (run.timing or {}).get("versions")
    if not found:
        return None
    columns = (Column("package", "text"), Column("version", "text"))
    return Table("versions", "Versions", columns, tuple(sorted(found.items())), in_summary=False)


def run_facts(run: RunData) -> str:
    timing = run.timing or {}
    megabytes = sum(entry["bytes_in"] for entry in run.sources.values()) / 1e6
    facts = [f"run {os.path.abspath(run.place)}"]
    if timing:
        seconds = timing.get("seconds", 0) or 0
        workers = timing.get("workers")
        facts.append(
            f"runner {timing.get('runner')}, {workers} worker{'' if workers == 1 else 's'} on {timing.get('cores', '?')} cores, "
            f"{seconds:,.1f} s wall, {megabytes:,.1f} MB in ({megabytes / max(seconds, 1e-9):.2f} MB/s)"
        )
        if "shards_build_seconds" in timing:
            facts.append(f"shards built separately in {timing['shards_build_seconds']:,.1f} s")
    return "; ".join(facts)


def section_run(run: RunData, other: RunData | None) -> Section:
    blocks: list[Any] = [_both(steps_table, run, other), _both(versions_table, run, other)]
    if other is not None:
        diff = "".join(
            difflib.unified_diff(
                other.config_text.splitlines(keepends=True),
                run.config_text.splitlines(keepends=True),
                fromfile=f"{other.name}/{RESOLVED_CONFIG}",
                tofile=f"{run.name}/{RESOLVED_CONFIG}",
            )
        )
        blocks.append(Text("Config differences", diff or "(the resolved configs are identical)"))
    blocks.append(Text(f"Config ({RESOLVED_CONFIG})", run.config_text or "(not found)"))
    intro = run_facts(run) + (f" | against: {run_facts(other)}" if other is not None else "")
    return Section("run", "The run", _blocks(*blocks), intro=intro)


# --- the gold set ------------------------------------------------------------------------


def gold_table(run: RunData) -> Table | None:
    if run.gold is None:
        return None
    from pipelines.evaluate.gold import SPLITS, bars

    rows = []
    for split in ("all", *SPLITS):
        part = run.gold[split]
        if not part["documents"]:
            continue
        lines = part["lines"]
        failed = bars(part)
        rows.append(
            (
                split,
                part["documents"],
                part["good_kept"]["share"],
                lines["content_kept_share"],
                lines["junk_removed_share"],
                "all met" if not failed else "; ".join(failed).replace(" < ", " below "),
            )
        )
    columns = (
        Column("split", "text"),
        Column("documents"),
        Column("good kept", "pct"),
        Column("content lines kept", "pct"),
        Column("junk lines removed", "pct"),
        Column("bars", "text"),
    )
    note = (
        f"{run.gold['evaluated']} of {run.gold['labels']} labelled documents evaluated; rules are tuned on 'tune' and "
        "checked on 'check'. Bars: good kept 0.95, content lines kept 0.98, junk lines removed 0.85, and for a reason "
        "with 20 or more examples precision 0.95 and recall 0.90"
    )
    return Table("gold", "Gold set: documents and lines, per split", columns, tuple(rows), note=note)


def gold_precision_table(run: RunData) -> Table | None:
    if run.gold is None or not run.gold["all"]["precision"]:
        return None
    rows = tuple(
        (removal, entry["judged"], entry["right"], entry["precision"])
        for removal, entry in sorted(run.gold["all"]["precision"].items())
    )
    columns = (Column("removed by", "text"), Column("judged"), Column("right"), Column("precision", "pct"))
    note = "documents a rule removed that the gold set judges, and how many of them a reader would drop too"
    return Table("gold-precision", "Gold set: precision per reason", columns, rows, note=note)


def gold_recall_table(run: RunData) -> Table | None:
    if run.gold is None or not run.gold["all"]["recall"]:
        return None
    rows = tuple(
        (reason, entry["labelled"], entry["removed"], entry["recall"])
        for reason, entry in sorted(run.gold["all"]["recall"].items())
    )
    columns = (Column("labelled drop", "text"), Column("labelled"), Column("removed"), Column("recall", "pct"))
    note = "documents a reader would drop, by the reader's reason, and how many of them the run removed (by any rule)"
    return Table("gold-recall", "Gold set: recall per labelled reason", columns, rows, note=note)


def section_gold(run: RunData, other: RunData | None) -> Section | None:
    blocks = _blocks(_both(gold_table, run, other), _both(gold_precision_table, run, other), _both(gold_recall_table, run, other))
    return Section("gold", "Against the gold set", blocks) if blocks else None


SECTIONS = (
    section_overview,
    section_gold,
    section_rejections,
    section_repairs,
    section_distributions,
    section_dedup,
    section_mix,
    section_run,
)


def build_sections(run: RunData, other: RunData | None = None) -> list[Section]:
    return [section for build in SECTIONS if (section := build(run, other)) is not None]
