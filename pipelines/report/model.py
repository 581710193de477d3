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

Kind = Literal["text", "int", "mb", "pct", "score", "float"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "int"


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
    preformatted: bool = True


Block = Table | Chart | Examples | Text


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    blocks: tuple[Block, ...] = field(default=())
    intro: str = ""


def compare(table: Table, other: Table | None) -> Table:
    """``table`` (run A) with each numeric value paired with run B's: rows matched by key,
    A's order first, then rows only B has."""
    other_rows = {row[: other.keys]: row for row in other.rows} if other is not None else {}
    other_columns = {column.name: index for index, column in enumerate(other.columns)} if other is not None else {}
    seen = set()
    rows = []

    def paired(row: tuple[Any, ...] | None, other_row: tuple[Any, ...] | None, key: tuple[Any, ...]) -> tuple[Any, ...]:
        cells: list[Any] = list(key)
        for index, column in enumerate(table.columns[table.keys :], start=table.keys):
            value = row[index] if row is not None else None
            where = other_columns.get(column.name)
            before = other_row[where] if other_row is not None and where is not None else None
            cells.append(value if column.kind == "text" and row is not None else Delta(value, before))
        return tuple(cells)

    for row in table.rows:
        key = row[: table.keys]
        seen.add(key)
        rows.append(paired(row, other_rows.get(key), key))
    for key, other_row in other_rows.items():
        if key not in seen:
            rows.append(paired(None, other_row, key))
    if table.total and table.rows:  # keep the total last
        totals = [row for row in rows if row[0] == table.rows[-1][0]]
        rows = [row for row in rows if row[0] != table.rows[-1][0]] + totals
    return Table(table.id, table.title, table.columns, tuple(rows), table.keys, table.note, table.total)
