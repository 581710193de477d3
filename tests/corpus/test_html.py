"""Web pages to text (corpus/html.py) and the reader of saved ``.html`` files, on real
pages as crawled (the gold set's sources, `make gold`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from corpus.html import HTML_LINKS, HTML_ZONES, extract
from tests.conftest import REPO, read_all

GOLD = REPO / "data" / "gold"


@pytest.fixture(scope="module")
def crawl() -> Path:
    if not (GOLD / "MANIFEST.json").exists():
        pytest.fail("the gold set's sources are missing: run `make gold` (or `make test`, which builds them)")
    return GOLD / "crawl"


def _lines(page_text: str, zones: str, links: str) -> list[tuple[str, str, str]]:
    lines = page_text.split("\n")
    assert len(lines) == len(zones) == len(links)
    return list(zip(lines, zones, links, strict=True))


def test_a_news_page_keeps_every_block_and_marks_its_chrome(crawl: Path) -> None:
    page = extract((crawl / "gne" / "tests" / "ifeng" / "1.html").read_text(encoding="utf-8"))
    lines = _lines(page.text, page.zones, page.links)
    by_text = {line: (zone, link) for line, zone, link in lines}
    assert page.title.startswith("女童眼睛被塞几十片纸")
    assert by_text["首页"] == ("n", "9"), "the channel menu: navigation, all link text"
    assert by_text["女童眼睛被塞几十片纸，“无法用科学解释”"] == ("M", "0"), "the article's title: a heading in the main zone"
    paragraph = next(line for line, _, _ in lines if line.startswith("7岁小花（化名）“眼睛被塞纸”事件"))
    assert by_text[paragraph] == ("m", "0")
    related = [link for line, _, link in lines if "南京大屠杀" in line]
    assert related == ["9"], "a recommended headline is a link"
    assert "\n\n" not in page.text and all(line == line.strip() for line, _, _ in lines)


def test_headings_of_a_help_page_are_headings(sample_dir: Path) -> None:
    """LibreOffice's one-word headings (编辑, 新建, 名称) are what navigation rules once deleted."""
    docs = read_all(sample_dir / "web" / "libreoffice-help-zh-cn-00000.warc.gz", "warc")
    doc = next(d for d in docs if d.meta_value("title") == "宏")
    lines = _lines(doc.text, str(doc.meta_value(HTML_ZONES)), str(doc.meta_value(HTML_LINKS)))
    headings = [line for line, zone, _ in lines if zone == "M"]
    assert headings[:4] == ["宏", "宏名称", "宏的来源/保存宏", "运行/保存"] and "编辑" in headings
    assert [zone for line, zone, _ in lines if line.startswith("This page is:")] == ["f"]


def test_saved_pages_are_read_in_their_real_encoding(crawl: Path) -> None:
    """Declared gb2312, saved as UTF-8 (common: the crawler re-encoded the page); and a
    GB2312 page whose archive banner declares UTF-8."""
    declared_gb = crawl / "go-readability" / "qq.html"
    assert b"gb2312" in declared_gb.read_bytes()[:3000].lower()
    [doc] = read_all(declared_gb, "html")
    assert doc.removal is None and "\ufffd" not in doc.text and doc.meta_value("title")
    real_gb = crawl / "go-trafilatura" / "archive.org.he.xinhuanet.com.25340717.html"
    [doc] = read_all(real_gb, "html")
    assert doc.removal is None and "\ufffd" not in doc.text
    assert sum("\u4e00" <= char <= "\u9fff" for char in doc.text) > 500


def test_what_a_page_hides_is_not_text() -> None:
    page = extract(
        "<html><head><title>T</title><script>var x = '脚本';</script><style>p{}</style></head><body>"
        "<div hidden>隐藏一</div><div style='display: none'>隐藏二</div><p aria-hidden='true'>隐藏三</p>"
        "<p>正文第一段。</p><table><tr><td>参数</td><td>说明</td></tr></table><pre>int main() {\n  return 0;\n}</pre>"
        "<div class='footer-copyright'>版权所有</div><div class='share-box'>分享到</div></body></html>"
    )
    assert page.text.split("\n") == ["正文第一段。", "参数 说明", "int main() {", "return 0;", "}", "版权所有", "分享到"]
    assert page.zones == "mmmmmfx"


def test_a_page_nested_without_end_is_read() -> None:
    depth = 20_000
    page = extract("<div>" * depth + "深处的文字" + "</div>" * depth)
    assert page.text == "深处的文字"
    assert sys.getrecursionlimit() < depth


def test_an_html_file_that_is_not_html(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (tmp_path / "b.html").write_bytes(b"")
    assert [doc.removal.reason.value for doc in read_all(tmp_path / "a.html", "html")] == ["html_extraction_failed"]
    assert [doc.removal.reason.value for doc in read_all(tmp_path / "b.html", "html")] == ["empty_file"]
