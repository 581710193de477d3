"""The sensitive stage: PanGu's threshold, counting modes, allow-lists, evasion, rule tools."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from corpus.config import SensitiveCategory, SensitiveConfig
from corpus.reasons import Reason
from corpus.record import Document
from filters.sensitive import Folding, SensitiveRules, check_rule_file, explain
from pipelines.cli import main
from tests.conftest import read_news


@cache
def _speech() -> Document:
    return next(doc for doc in read_news() if doc.doc_id == "peoples-daily-199801-00000")


@cache
def _folding() -> Folding:
    return Folding.build()


def _rules(tmp_path: Path, terms: str, allow: str | None = None, mode: str = "enforce", **settings: object) -> SensitiveRules:
    rules = tmp_path / "terms.txt"
    rules.write_text(terms, encoding="utf-8")
    allow_path = None
    if allow is not None:
        allow_path = tmp_path / "allow.txt"
        allow_path.write_text(allow, encoding="utf-8")
    category = SensitiveCategory(name="test", rules=str(rules), allow=str(allow_path) if allow_path else None, **settings)  # type: ignore[arg-type]
    return SensitiveRules(SensitiveConfig(mode=mode, categories=(category,)))  # type: ignore[arg-type]


TERMS = "赌博\n博彩\n六合彩\n百家乐\n老虎机\n赌场\nporn\nsm\n"


def _with(text: str) -> Document:
    speech = _speech()
    return Document(speech.doc_id, speech.source, speech.text + "\n" + text, speech.meta)


def test_pangu_threshold_three_distinct_kept_four_rejected(tmp_path: Path) -> None:
    rules = _rules(tmp_path, TERMS)
    three = rules.judge(_with("据报道，有人利用赌博、博彩和六合彩进行诈骗。"))
    assert three.removal is None
    four = rules.judge(_with("据报道，有人利用赌博、博彩、六合彩和百家乐进行诈骗。"))
    assert four.removal is not None and four.removal.reason is Reason.SENSITIVE_WORDS
    assert four.removal.score == 4 and four.removal.detail == "test: 4 distinct hits > max_hits=3: 六合彩, 博彩, 百家乐, 赌博"


def test_occurrences_mode_counts_repeats(tmp_path: Path) -> None:
    text = "赌博、赌博、赌博、赌博。"
    assert _rules(tmp_path, TERMS).judge(_with(text)).removal is None
    judged = _rules(tmp_path, TERMS, count="occurrences").judge(_with(text))
    assert judged.removal is not None and judged.removal.score == 4


def test_allow_list_hits_do_not_count(tmp_path: Path) -> None:
    rules = _rules(tmp_path, TERMS, allow="赌场风云\n打击赌博\n", max_hits=0)
    assert rules.judge(_with("电影《赌场风云》重映，警方开展打击赌博行动。")).removal is None
    assert rules.judge(_with("他去了赌场。")).removal is not None


@pytest.mark.parametrize(
    "evasion",
    ["赌 博", "赌*博", "赌_博", "赌\u200b博", "赌、博", "賭博", "賭 場", "ＰＯＲＮ", "Porn", "赌\n博"],
)
def test_each_evasion_form_still_hits(tmp_path: Path, evasion: str) -> None:
    rules = _rules(tmp_path, TERMS, max_hits=0)
    text = f"这句话里藏着{evasion}两个字。"
    (hit,) = rules.hits(text)
    assert text[hit.start : hit.end] == evasion  # offsets in the original text
    assert rules.judge(Document("d", "news", text)).removal is not None


def test_latin_terms_match_whole_words_only(tmp_path: Path) -> None:
    rules = _rules(tmp_path, TERMS, max_hits=0)
    for text in ("This is my analysis.", "pornography studies", "SMS message", "a s m b"):
        assert rules.hits(text) == [], text
    assert [h.term for h in rules.hits("an sm club")] == ["sm"]


def test_real_corpus_text_without_terms_is_kept(tmp_path: Path) -> None:
    rules = SensitiveRules(SensitiveConfig())  # the shipped example categories
    news = read_news()[:300]
    assert sum(rules.judge(doc).removal is not None for doc in news) == 0


def test_annotate_mode_records_every_category_with_hits(tmp_path: Path) -> None:
    rules = _rules(tmp_path, TERMS, mode="annotate")
    judged = rules.judge(_with("赌博、博彩、六合彩、百家乐、老虎机。"))
    assert judged.removal is None
    (verdict,) = judged.verdicts
    assert verdict.reason is Reason.SENSITIVE_WORDS and not verdict.enforced and verdict.score == 5
    light = rules.judge(_with("只提到赌博。"))
    assert [(v.enforced, v.score) for v in light.verdicts] == [(False, 1.0)] and "<= max_hits=3" in light.verdicts[0].detail


def test_rules_check_reports_each_kind_of_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    terms = tmp_path / "bad.txt"
    terms.write_text("# comment\n赌博\n賭博\n赌博\n* *\nＡＢ\nab\n加\u200b微信\n老虎机\n", encoding="utf-8")
    allow = tmp_path / "bad-allow.txt"
    allow.write_text("赌博罪\n天气预报\n", encoding="utf-8")
    report = check_rule_file(str(terms), str(allow), _folding())
    problems = "\n".join(report.problems)
    assert "line 4: duplicate of line 2: '赌博'" in problems
    assert "'* *' normalises to nothing" in problems
    assert "line 2 '赌博', line 3 '賭博' all normalise to '赌博'" in problems
    assert "line 6 'ＡＢ', line 7 'ab' all normalise to 'ab'" in problems
    assert "line 8: invalid characters U+200B" in problems
    assert "'天气预报' contains no term of bad.txt" in problems
    assert report.notes == (f"{allow}, line 1: '赌博罪' allows '赌博'",)
    assert main(["rules", "check", str(terms)]) == 1  # finds bad-allow.txt beside bad.txt
    out = capsys.readouterr().out
    assert "problems" in out and "problem:" in out
    assert main(["rules", "check", "filters/rules/sensitive/gambling.txt", "filters/rules/sensitive/porn.txt"]) == 0


def test_rules_check_on_unreadable_files(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("赌博\n".encode("gbk"))
    assert any("not UTF-8" in p for p in check_rule_file(str(gbk), None, _folding()).problems)
    assert any("cannot be read" in p for p in check_rule_file(str(tmp_path / "none.txt"), None, _folding()).problems)


def test_rules_explain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "run.yaml"
    (tmp_path / "data.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    (tmp_path / "terms.txt").write_text(TERMS, encoding="utf-8")
    config.write_text(
        "sources:\n  - {name: s, paths: [data.jsonl], format: jsonl, stages: [sensitive]}\n"
        "stages:\n  sensitive:\n    categories:\n      - {name: gambling, rules: terms.txt, max_hits: 1}\n",
        encoding="utf-8",
    )
    assert main(["rules", "explain", "--rules", str(config), "网上有賭 博和六合彩。"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "gambling: 2 distinct hits, max_hits 1 -> REJECT"
    assert out[1] == "  赌博  at 3-6  …网上有[賭 博]和六合彩。…"
    assert out[-1] == "decision: rejected (mode enforce)"
    lines = explain(SensitiveRules(SensitiveConfig()), "今天天气很好。")
    assert lines[-1] == "decision: kept (mode enforce)"
