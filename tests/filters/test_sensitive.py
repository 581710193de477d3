"""The sensitive stage: PanGu's threshold, counting modes, allow-lists, evasion, rule tools."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from corpus.config import SensitiveCategory, SensitiveConfig
from corpus.reasons import Reason
from corpus.record import Document
from filters.sensitive import CheckReport, Folding, SensitiveRules, check_rule_file, explain, verdict_terms
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
    assert verdict_terms(four.removal.detail) == ("test", ["六合彩", "博彩", "百家乐", "赌博"])  # what the report counts


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
    [
        "赌 博",
        "赌*博",
        "赌_博",
        "赌\u200b博",
        "赌🎲博",
        "赌\U000e0020博",
        "賭博",
        "賭 場",
        "ＰＯＲＮ",
        "Porn",
        "p\u200born",
        "𝐩𝐨𝐫𝐧",
    ],
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


def _check(tmp_path: Path, terms_name: str, terms: str, allow: str) -> tuple[Path, Path, CheckReport, str]:
    """Write a rule file and its allow-list, and check them."""
    terms_path = tmp_path / terms_name
    terms_path.write_text(terms, encoding="utf-8")
    allow_path = tmp_path / terms_name.replace(".txt", "-allow.txt")
    allow_path.write_text(allow, encoding="utf-8")
    report = check_rule_file(str(terms_path), str(allow_path), _folding())
    return terms_path, allow_path, report, "\n".join(report.problems)


def test_rules_check_reports_each_kind_of_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    terms, allow, report, problems = _check(
        tmp_path, "bad.txt", "# comment\n赌博\n賭博\n赌博\n* *\nＡＢ\nab\n加\u200b微信\n老虎机\n", "赌博罪\n天气预报\n"
    )
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


# --- found in review ------------------------------------------------------------------------


def test_sentence_breaks_are_not_separators(tmp_path: Path) -> None:
    rules = _rules(tmp_path, TERMS + "下注\n套现\n", max_hits=0)
    for text in ("我不赌。博物馆很大", "情况下)。\n注意", "买了一套，现在", "赌\n博", "赌、博"):
        assert rules.hits(text) == [], text


def test_spellings_nesting_and_self_overlap_count_once(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "赌博\n賭博\n赌 博\n赌场\n澳门赌场\n哈哈\n", count="occurrences")
    assert [(c.count, c.terms) for c in rules.count("他赌博。")] == [(1, ("赌博",))]
    assert [(c.count, c.terms) for c in rules.count("去澳门赌场")] == [(1, ("澳门赌场",))]
    assert [c.count for c in rules.count("哈哈哈")] == [1]


def test_allow_list_spans_cross_automata_and_scale(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "qq\n赌博\n", allow="QQ音乐\n打击赌博\n", max_hits=0)
    assert rules.hits("我用QQ音乐听歌") == [] and [h.term for h in rules.hits("加我qq")] == ["qq"]
    # 40,000 allowed spans in one document: the pairwise check this replaced was quadratic
    # (minutes here); bisection takes a fraction of a second. No timing is asserted.
    assert rules.count("打击赌博。" * 40_000) == []


def test_word_boundaries_for_mixed_and_non_ascii_terms(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "A片\nQQ群\ncafé\nsm\nporn\n", max_hits=0)
    for text in ("这个 Java 片段", "AQQ群", "cafés", "smörgåsbord", "pornô"):
        assert rules.hits(text) == [], text
    assert [h.term for h in rules.hits("加入QQ群吧")] == ["QQ群"]
    assert [h.term for h in rules.hits("un café noir")] == ["café"]


def test_rules_check_review_cases(tmp_path: Path) -> None:
    terms, allow, _, problems = _check(tmp_path, "t.txt", "free porn\nsm\n赌博\n", "free porn filter\nsmith\n赌博\n")
    assert "'free porn filter' contains no term" not in problems
    assert "'smith' contains no term" in problems  # sm never matches inside smith
    assert "'赌博' is also a term" in problems
    assert main(["rules", "check", str(terms), "filters/rules/sensitive/porn.txt", "--allow", str(allow)]) == 2


def test_explain_in_annotate_mode_and_empty_categories(tmp_path: Path) -> None:
    rules = _rules(tmp_path, TERMS, mode="annotate", max_hits=0)
    assert explain(rules, "赌博")[-1] == "decision: kept (mode annotate; enforce mode would reject it)"
    from corpus.config import ConfigError

    with pytest.raises(ConfigError, match="no term is left once normalised"):
        _rules(tmp_path, "* *\n·…\n")


def test_rule_file_lines_are_split_on_newlines_only(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("赌博\n下\x0c注\n老虎机\n", encoding="utf-8")
    problems = check_rule_file(str(path), None, _folding()).problems
    assert any("line 2: invalid characters U+000C" in p for p in problems)
