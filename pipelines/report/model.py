"""What a report is made of: sections of tables, charts, examples and text, independent of
HTML or Markdown, and the comparison of two runs' tables cell by cell.

A ``Table``'s rows start with ``keys`` text cells that identify the row (a source, a
stage and reason, ...), followed by values. Values are numbers, text or ``None`` (not
applicable: the source does not run that stage). Comparing two tables matches rows by
their keys and turns every numeric value into a ``Delta``; rows that exist in one run only
are kept, with the other side missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from markupsafe import Markup

Kind = Literal["text", "int", "mb", "pct", "float"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "int"
    key: str = ""
    """What matches the column across two runs (default: its name); a column named after a
    source gets its own key, so a source called "docs" is not the "docs" column."""

    @property
    def id(self) -> str:
        return self.key or self.name


@dataclass(frozen=True)
class Delta:
    """A value of run A beside the same value of run B (``None``: the row or value is
    missing in that run)."""

    value: Any
    other: Any

    @property
    def difference(self) -> float | None:
        if isinstance(self.value, int | float) and isinstance(self.other, int | float):
            return self.value - self.other
        return None


@dataclass(frozen=True)
class Table:
    id: str
    """Unique in the report: the HTML table's id, which tests and scripts read."""
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    keys: int = 1
    note: str = ""
    total: bool = False
    """The last row is a total (rendered apart)."""
    in_summary: bool = True
    """Also in the Markdown summary (long detail tables are in the HTML page only)."""


@dataclass(frozen=True)
class Chart:
    title: str
    svg: Markup
    """SVG markup from ``pipelines.report.charts``, where every text is escaped."""


@dataclass(frozen=True)
class Example:
    label: str
    source: str
    doc_id: str
    detail: str
    chars: int
    text: str


@dataclass(frozen=True)
class Examples:
    title: str
    items: tuple[Example, ...]


@dataclass(frozen=True)
class Text:
    title: str
    text: str
    """Shown preformatted (a config, a diff)."""


Block = Table | Chart | Examples | Text


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    blocks: tuple[Block, ...] = field(default=())
    intro: str = ""


def compare(table: Table, other: Table | None) -> Table:
    """``table`` (run A) with each value paired with run B's: columns matched by key (A's,
    then those only B has), rows by their key cells (A's order, then rows only B has), the
    totals with each other."""
    if other is None:
        other = Table(table.id, table.title, (), ())
    columns = list(table.columns)
    known = {column.id for column in columns}
    columns += [column for column in other.columns if column.id not in known]
    where_a = {column.id: index for index, column in enumerate(table.columns)}
    where_b = {column.id: index for index, column in enumerate(other.columns)}

    def body(t: Table) -> tuple[tuple[Any, ...], ...]:
        return t.rows[:-1] if t.total and t.rows else t.rows

    def paired(row: tuple[Any, ...] | None, other_row: tuple[Any, ...] | None) -> tuple[Any, ...]:
        key = (row if row is not None else other_row)[: table.keys]  # type: ignore[index]
        cells: list[Any] = list(key)
        for column in columns[table.keys :]:
            a = row[where_a[column.id]] if row is not None and column.id in where_a else None
            b = other_row[where_b[column.id]] if other_row is not None and column.id in where_b else None
            cells.append(Delta(a, b))
        return tuple(cells)

    other_rows = {row[: table.keys]: row for row in body(other)}
    rows = [paired(row, other_rows.pop(row[: table.keys], None)) for row in body(table)]
    rows += [paired(None, row) for row in other_rows.values()]
    total = table.total or other.total
    if total:
        a_total = table.rows[-1] if table.total and table.rows else None
        b_total = other.rows[-1] if other.total and other.rows else None
        if a_total is not None or b_total is not None:
            rows.append(paired(a_total, b_total))
    return Table(table.id, table.title, tuple(columns), tuple(rows), table.keys, table.note, total, table.in_summary)
