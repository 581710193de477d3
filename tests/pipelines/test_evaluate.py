"""`zhcorpus evaluate` on real text of the sample corpus: KenLM character models, the
comparison of runs by perplexity on a held-out dev set, and the review sheet round trip."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from corpus import writers
from corpus.record import Document
from pipelines.cli import main
from pipelines.evaluate import lm
from pipelines.evaluate.review import score_sheet
from tests.conftest import copy_sample_slice
from tests.sampling.conftest import real_documents

CONFIG = """
sources:
  - name: web
    paths: ["web/*.warc.gz"]
    format: warc
    stages: [clean, dedup]
  - name: encyclopedia
    paths: ["encyclopedia/**/*.txt"]
    format: text
    stages: [clean, dedup]
    rules_off: [title_only, min_chars, chinese_ratio, ads, repetition]
  - name: ebooks
    paths: ["ebooks/*.jsonl*"]
    format: jsonl
    stages: [clean]
stages:
  repair:
    convert: tw2sp
"""

JUNK = [  # what the clean stage exists to remove: navigation, menus, English boilerplate, symbol walls
    "首页 | 登录 | 注册 | 帮助\nHome > Products > Help > Index\n上一页 下一页 返回顶部\n★★★★★ ☆☆☆☆☆ ▲▲▲▲\nCopyright © 2024 All rights reserved. 京ICP备12345678号",
    "Click here to subscribe!!! FREE FREE FREE\nShare: Facebook Twitter Weibo WeChat\n【广告】点击进入 >>> www.example.com <<<",
]


@pytest.fixture(scope="module")
def root(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evaluate")
    copy_sample_slice(sample_dir, root, "libreoffice-help-zh-tw-00001.warc.gz", man_pages=60)
    junk = [{"id": f"junk-{i}", "text": JUNK[i % 2] + f"\n第{i}页"} for i in range(3000)]
    (root / "ebooks" / "junk.jsonl").write_text(
        "\n".join(json.dumps(d, ensure_ascii=False) for d in junk) + "\n", encoding="utf-8"
    )
    (root / "run.yaml").write_text(CONFIG, encoding="utf-8")
    # the dev set: People's Daily, a source neither run holds
    news = [doc for doc in real_documents(per_source=400, stride=2) if doc.source == "news"]
    (root / "dev.jsonl").write_text(
        "\n".join(json.dumps({"id": d.doc_id, "text": d.text}, ensure_ascii=False) for d in news) + "\n", encoding="utf-8"
    )
    return root


def _run(root: Path, name: str, *extra: str) -> Path:
    out = root / name
    args = ["run", str(root / "run.yaml"), "--out", str(out), "--workers", "1", "--progress-seconds", "-1", "--no-report"]
    assert main([*args, *extra]) == 0
    return out


@pytest.fixture(scope="module")
def runs(root: Path) -> tuple[Path, Path]:
    return _run(root, "clean"), _run(root, "noclean", "--skip-stage", "clean")


def test_a_model_knows_its_own_text_better_than_other_text(sample_dir: Path, tmp_path: Path) -> None:
    docs = real_documents(per_source=300, stride=3)
    news = [doc.text for doc in docs if doc.source == "news"]
    reviews = [doc.text for doc in docs if doc.source == "reviews"]
    model = lm.Model(lm.train(news[:200], str(tmp_path / "news.klm")))
    own, held_out, other = model.score(news[:50]), model.score(news[200:]), model.score(reviews)
    assert own.perplexity < held_out.perplexity < other.perplexity
    assert own.tokens == sum(len(line.split()) + 1 for text in news[:50] for line in lm.char_sentences(text))  # + </s>
    assert other.oov_count > 0 and other.perplexity_over(~other.oov) < other.perplexity


def test_char_sentences() -> None:
    assert list(lm.char_sentences("你好 世界\n\n  Hi\u200b!\t\n")) == ["你 好 ▁ 世 界", "H i !"]


def test_the_run_without_its_rules_scores_worse_on_the_dev_set(root: Path, runs: tuple[Path, Path], tmp_path: Path) -> None:
    clean, noclean = runs
    out = tmp_path / "evaluation.json"
    args = ["evaluate", str(clean), str(noclean), "--dev", str(root / "dev.jsonl"), "--sample-bytes", "600000", "--out", str(out)]
    assert main(args) == 0
    evaluation = json.loads(out.read_text(encoding="utf-8"))
    first, second = evaluation["runs"]
    assert evaluation["sample_bytes"] == 600_000
    assert 600_000 - 4 < first["sample_bytes"] <= 600_000 and 600_000 - 4 < second["sample_bytes"] <= 600_000  # one character
    assert first["perplexity"] < second["perplexity"]
    assert evaluation["dev_tokens_compared"] <= min(first["dev_tokens"] - first["oov"], second["dev_tokens"] - second["oov"])
    assert 'sources[web].stages: ["repair", "clean", "dedup"] -> ["repair", "dedup"]' in second["config_changes_from_first"]
    again = tmp_path / "again.json"
    assert main([*args[:-1], str(again)]) == 0  # identical runs, identical scores
    assert again.read_bytes() == out.read_bytes()


def test_identical_runs_score_identically(root: Path, runs: tuple[Path, Path], tmp_path: Path) -> None:
    twin = _run(root, "clean-twin")
    out = tmp_path / "twins.json"
    assert (
        main(
            ["evaluate", str(runs[0]), str(twin), "--dev", str(root / "dev.jsonl"), "--sample-bytes", "300000", "--out", str(out)]
        )
        == 0
    )
    first, second = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert first["perplexity"] == second["perplexity"] and second["config_changes_from_first"] == []


def test_review_sheet_round_trip(runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean, _ = runs
    sheet = tmp_path / "sheet.csv"
    assert main(["evaluate", "--review", str(clean), "--n", "40", "--out", str(sheet)]) == 0
    assert sheet.read_bytes().startswith("\ufeff".encode())  # spreadsheets read it as UTF-8
    with open(sheet, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 40 and sum(row["outcome"] == "kept" for row in rows) == 20
    assert {row["stage"] for row in rows if row["outcome"] == "rejected"} == {"clean", "dedup"}
    kept_ids = {
        (doc.source, doc.doc_id)
        for folder in ("kept/web", "kept/encyclopedia", "kept/ebooks")
        for doc in writers.read_written(str(clean), folder)
    }
    assert all(((row["source"], row["id"]) in kept_ids) == (row["outcome"] == "kept") for row in rows)
    # a person's judgements: every rejection right but the first clean one, two kept documents junk, one row left out
    first_clean = next(row for row in rows if row["stage"] == "clean")
    kept_rows = [row for row in rows if row["outcome"] == "kept"]
    for row in rows:
        row["judgement"] = "good" if row["outcome"] == "kept" else "BAD"
    first_clean["judgement"] = "good"
    kept_rows[0]["judgement"] = kept_rows[1]["judgement"] = "junk"
    kept_rows[2]["judgement"] = ""
    with open(sheet, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    scores = score_sheet(str(sheet))
    clean_rows = sum(row["stage"] == "clean" for row in rows)
    assert scores["unjudged"] == 1
    assert scores["groups"]["kept"] == {"judged": 19, "right": 17, "precision": round(17 / 19, 4)}
    assert scores["groups"]["rejected by clean"] == {
        "judged": clean_rows,
        "right": clean_rows - 1,
        "precision": round((clean_rows - 1) / clean_rows, 4),
    }
    assert scores["groups"]["rejected by dedup"]["precision"] == 1.0
    assert main(["evaluate", "--score", str(sheet)]) == 0
    assert "rejected by clean" in capsys.readouterr().out
    rows[3]["judgement"] = "maybe"
    with open(sheet, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["evaluate", "--score", str(sheet)]) == 2
    assert "row 4: judgement 'maybe'" in capsys.readouterr().err


def test_the_sheet_is_safe_in_a_spreadsheet_and_reads_back_as_spreadsheets_save_it(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    clean, _ = runs
    planted = tmp_path / "planted"
    shutil.copytree(clean, planted)
    kept = writers.read_written(str(planted), "kept/ebooks")
    for path in (planted / "kept" / "ebooks").iterdir():
        path.unlink()
    # kept documents whose text a spreadsheet would run as a formula
    formulas = [Document(d.doc_id, d.source, '=HYPERLINK("http://x","点我")' + d.text, d.meta, d.verdicts) for d in kept]
    writers.write_shard(str(planted), "kept/ebooks", 0, 1, formulas, "jsonl")
    sheet = tmp_path / "sheet.csv"
    assert main(["evaluate", "--review", str(planted), "--n", "200", "--out", str(sheet)]) == 0
    text = sheet.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(" in text and ',"=HYPERLINK(' not in text
    with open(sheet, encoding="utf-8-sig", newline="") as handle:
        header, *body = list(csv.reader(handle))
    judgement, outcome = header.index("judgement"), header.index("outcome")
    for row in body:
        row[judgement] = "good" if row[outcome] == "kept" else "bad"
    # as a spreadsheet on a Chinese Windows machine saves it: GB18030, semicolons, the header in capitals, blank rows
    saved = tmp_path / "saved.csv"
    lines = [
        ";".join(cell.replace(";", ",").replace("\n", " ").replace('"', "") for cell in row)
        for row in [[h.upper() for h in header], *body]
    ]
    saved.write_bytes("\r\n".join([*lines, ";;;;", ""]).encode("gb18030", "replace"))
    scores = score_sheet(str(saved))
    assert scores["rows"] == len(body) and scores["unjudged"] == 0
    assert all(group["precision"] == 1.0 for group in scores["groups"].values())


def test_evaluate_errors_are_clear(
    root: Path, runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean, _ = runs
    assert main(["evaluate", str(clean)]) == 2
    assert "--dev" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path), "--dev", str(root / "dev.jsonl")]) == 2
    assert "not a finished run" in capsys.readouterr().err
    assert main(["evaluate", str(clean), "--dev", str(tmp_path / "none.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert (
        main(["evaluate", str(clean), "--dev", str(root / "dev.jsonl"), "--kenlm-bin", str(tmp_path), "--review", str(clean)])
        == 2
    )
    assert main(["evaluate", str(clean), "--dev", str(root / "dev.jsonl"), "--sample-bytes", "1000"]) == 2
    assert "too small for a language model" in capsys.readouterr().err
    assert main(["evaluate", str(clean), "--dev", str(root / "dev.jsonl"), "--order", "9"]) == 2
    assert "--order 9" in capsys.readouterr().err
    blank = tmp_path / "blank.jsonl"
    blank.write_text('{"id": "1", "text": "\\u200b\\u200c"}\n', encoding="utf-8")
    assert main(["evaluate", str(clean), "--dev", str(blank), "--sample-bytes", "200000"]) == 2
    assert "no characters to score" in capsys.readouterr().err
    with pytest.raises(lm.LanguageModelError, match="no text"):
        lm.train(["\u200b", " "], str(tmp_path / "empty.klm"))
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    with pytest.raises(lm.LanguageModelError, match="make kenlm"):
        _missing_tool(empty_bin)


def _missing_tool(folder: Path) -> str:
    """find_tool with nothing to find: no folder given holds it and the PATH is empty."""
    import os
    import sys
    from unittest import mock

    with (
        mock.patch.dict(os.environ, {"PATH": str(folder), "ZHCORPUS_KENLM_BIN": str(folder)}),
        mock.patch.object(sys, "executable", str(folder / "python")),
    ):
        return lm.find_tool("lmplz", str(folder))
