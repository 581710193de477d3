"""``zhcorpus report``: one page a data engineer reads after every run.

``write_report(RUN_DIR)`` reads the run's stats files (``sections.py``), lays them out as
sections of tables, charts and examples, and writes ``report.html`` (self-contained: no
script, no network) and ``report.md`` (the tables) into the run folder, or beside
``out``. With ``against``, every table shows run B's value beside run A's and the
difference, and the resolved configs are diffed. With ``gold`` (a labels file, gold/),
the run's decisions are measured against it (``zhcorpus evaluate --gold``) in a section
of their own: a rule's change on the gold set, when run B is the run before it.
"""

from __future__ import annotations

import dataclasses
import os

from corpus.config import ConfigError
from corpus.writers import write_atomic
from pipelines.report.data import ReportError, RunData, load_run
from pipelines.report.render import render_html, render_markdown
from pipelines.report.sections import build_sections

REPORT_HTML, REPORT_MARKDOWN = "report.html", "report.md"

__all__ = ["REPORT_HTML", "REPORT_MARKDOWN", "ReportError", "write_report"]


def _with_gold(run: RunData, labels_path: str | None) -> RunData:
    if labels_path is None:
        return run
    from pipelines.evaluate import gold

    try:
        figures = gold.evaluate(gold.load_labels(labels_path), run.path)
    except (gold.GoldError, ConfigError) as exc:
        raise ReportError(str(exc)) from exc
    return dataclasses.replace(run, gold=figures)


def write_report(
    run_dir: str, out: str | None = None, against: str | None = None, shown_as: str = "", gold: str | None = None
) -> tuple[str, str]:
    """Write the HTML report and its Markdown summary; return both paths. ``shown_as``:
    the run folder the report names, when it is written before the run is in place;
    ``gold``: a labels file to measure the run (and ``against``) on."""
    run = _with_gold(load_run(run_dir, shown_as), gold)
    other = _with_gold(load_run(against), gold) if against is not None else None
    html_path = out or os.path.join(run_dir, REPORT_HTML)
    markdown_path = os.path.splitext(html_path)[0] + ".md"
    if other is None:
        title = f"zhcorpus run report: {run.name}"
        subtitle = f"{os.path.abspath(run.place)}"
    else:
        title = f"zhcorpus run report: {run.name} against {other.name}"
        subtitle = f"A = {os.path.abspath(run.place)}, B = {os.path.abspath(other.place)}; each value of A with its change from B"
    try:
        sections = build_sections(run, other)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ReportError(
            f"{run.path}{' or ' + other.path if other else ''}: stats files not as this zhcorpus writes them "
            f"({type(exc).__name__}: {exc}); written by another version?"
        ) from exc
    write_atomic(html_path, render_html(title, subtitle, sections).encode())
    write_atomic(markdown_path, render_markdown(title, subtitle, sections).encode())
    return html_path, markdown_path
