"""The comparison of two runs' tables and the Markdown rendering, on tables built by hand
(the tests of the whole report use real runs: tests/pipelines/test_report.py)."""

from __future__ import annotations

from pipelines.report.model import Column, Delta, Section, Table, compare
from pipelines.report.render import format_difference, render_markdown


def _table(rows: tuple[tuple[object, ...], ...], sources: tuple[str, ...], total: bool = True) -> Table:
    columns = (Column("reason", "text"), Column("docs"), *(Column(s, key=f"source:{s}") for s in sources))
    return Table("t", "T", columns, rows, total=total)


def test_columns_match_by_key_and_totals_by_position() -> None:
    # sources named like a column ("docs") and like the total row ("total")
    a = _table((("x", 5, 3, 2), ("total", 9, 9, 9)), ("docs", "total"))
    b = _table((("x", 4, 1, 3), ("y", 2, 2, 0), ("total", 6, 6, 6)), ("docs", "total"))
    paired = compare(a, b)
    assert [column.id for column in paired.columns] == ["reason", "docs", "source:docs", "source:total"]
    x, y, total = paired.rows
    assert x == ("x", Delta(5, 4), Delta(3, 1), Delta(2, 3))
    assert y == ("y", Delta(None, 2), Delta(None, 2), Delta(None, 0))  # only in B
    assert total == ("total", Delta(9, 6), Delta(9, 6), Delta(9, 6))


def test_columns_only_b_has_are_kept() -> None:
    a = _table((("x", 5, 3),), ("web",), total=False)
    b = _table((("x", 4, 1, 3),), ("web", "news"), total=False)
    paired = compare(a, b)
    assert [column.id for column in paired.columns][-1] == "source:news"
    assert paired.rows[0][-1] == Delta(None, 3)


def test_differences_as_shown() -> None:
    assert format_difference(Delta(5, 4), "int") == "+1"
    assert format_difference(Delta(1_000, 1_145), "int") == "-145"
    assert format_difference(Delta(0.25, 0.2), "pct") == "+5.00 pp"
    assert format_difference(Delta(1_000_001, 1_000_000), "mb") == ""  # below the precision shown
    assert format_difference(Delta(7, 7), "int") == ""
    assert format_difference(Delta(7, None), "int") == "new"
    assert format_difference(Delta(None, 7), "int") == "was 7"
    assert format_difference(Delta("2.77.0", "2.60.0"), "text") == "was 2.60.0"


def test_markdown_escapes_html_and_pipes() -> None:
    table = Table("t", "T", (Column("id", "text"), Column("docs")), (("<script>a|b</script>", 1),))
    markdown = render_markdown("title", "sub", [Section("s", "S", (table,))])
    assert "<script>" not in markdown and "| &lt;script&gt;a\\|b&lt;/script&gt; | 1 |" in markdown
