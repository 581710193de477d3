"""The report as one self-contained HTML page and as a Markdown summary.

HTML goes through Jinja2 with autoescaping on: every value, including text taken from
documents, is escaped unless it is the chart SVG built (and escaped) by
``pipelines.report.charts``. The page has no script and loads nothing: styles are inline,
charts are inline SVG. Every table has an id and every value cell its raw number in
``data-value`` (``data-other``: run B's), for scripts and tests to read.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2

from pipelines.report.model import Chart, Column, Delta, Examples, Section, Table, Text


def format_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "text" or isinstance(value, str):
        return str(value)
    if kind == "mb":
        return f"{value / 1e6:,.2f}"
    if kind == "pct":
        return f"{100 * value:.2f}%"
    if kind == "float":
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def format_difference(delta: Delta, kind: str) -> str:
    """What run A's value changed by against run B: "+12", "-0.50 pp" (percentage points),
    "new" (B has none), "was 1,145" (A has none, or a text that changed); "" unchanged."""
    if delta.value is None and delta.other is None:
        return ""
    if delta.other is None:
        return "new"
    if delta.value is None:
        return f"was {format_value(delta.other, kind)}"
    difference = delta.difference
    if difference is None:
        return "" if delta.value == delta.other else f"was {format_value(delta.other, kind)}"
    shown = format_value(abs(difference), kind)
    if shown.strip("0.,%") == "":  # no change, or one below the display's precision
        return ""
    sign = "+" if difference > 0 else "-"
    return sign + (shown.rstrip("%") + " pp" if kind == "pct" else shown)


def _raw(value: Any) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _cell(value: Any, column: Column) -> dict[str, Any]:
    if isinstance(value, Delta):
        return {
            "text": format_value(value.value, column.kind),
            "change": format_difference(value, column.kind),
            "raw": _raw(value.value),
            "other": _raw(value.other),
            "numeric": column.kind != "text",
        }
    return {
        "text": format_value(value, column.kind),
        "change": None,
        "raw": _raw(value),
        "other": None,
        "numeric": column.kind != "text",
    }


def _table_context(table: Table) -> dict[str, Any]:
    rows = [[_cell(value, column) for value, column in zip(row, table.columns, strict=True)] for row in table.rows]
    return {
        "id": table.id,
        "title": table.title,
        "note": table.note,
        "columns": [{"name": column.name, "numeric": column.kind != "text"} for column in table.columns],
        "rows": rows,
        "total": table.total,
    }


def _block_context(block: Any) -> dict[str, Any]:
    if isinstance(block, Table):
        return {"type": "table", **_table_context(block)}
    if isinstance(block, Chart):
        return {"type": "chart", "title": block.title, "svg": block.svg}
    if isinstance(block, Examples):
        return {"type": "examples", "title": block.title, "examples": block.items}
    if isinstance(block, Text):
        return {"type": "text", "title": block.title, "text": block.text}
    raise TypeError(f"unknown report block {type(block).__name__}")


def render_html(title: str, subtitle: str, sections: list[Section]) -> str:
    source = resources.files("pipelines.report").joinpath("template.html").read_text(encoding="utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    context = [
        {"id": section.id, "title": section.title, "intro": section.intro, "blocks": [_block_context(b) for b in section.blocks]}
        for section in sections
    ]
    return environment.from_string(source).render(title=title, subtitle=subtitle, sections=context)


def _markdown_cell(text: str) -> str:
    """One table cell: HTML-escaped (Markdown renderers pass HTML through), pipes and
    backslashes escaped, on one line."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(title: str, subtitle: str, sections: list[Section]) -> str:
    """Tables and facts only: charts, examples and the config stay in the HTML page."""
    lines = [f"# {_markdown_cell(title)}", "", _markdown_cell(subtitle), ""]
    for section in sections:
        tables = [block for block in section.blocks if isinstance(block, Table) and block.in_summary]
        if not tables and not section.intro:
            continue
        lines += [f"## {section.title}", ""]
        if section.intro:
            lines += [_markdown_cell(section.intro), ""]
        for table in tables:
            lines += [f"### {table.title}", ""]
            if table.note:
                lines += [f"_{_markdown_cell(table.note)}_", ""]
            lines.append("| " + " | ".join(_markdown_cell(column.name) for column in table.columns) + " |")
            lines.append("|" + "|".join("---:" if column.kind != "text" else "---" for column in table.columns) + "|")
            for row in table.rows:
                cells = []
                for value, column in zip(row, table.columns, strict=True):
                    cell = _cell(value, column)
                    text = cell["text"] + (f" ({cell['change']})" if cell["change"] else "")
                    cells.append(_markdown_cell(text))
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)
