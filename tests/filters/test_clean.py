"""PanGu's rule 1 on edge inputs and on real documents of the sample corpus."""

from __future__ import annotations

from pathlib import Path

from corpus.config import CleanConfig
from corpus.reasons import Reason
from corpus.record import Document
from filters.clean import CleanRules, chinese_share, count_chars, count_chinese
from tests.conftest import read_all


def test_counts_on_edge_inputs() -> None:
    assert (count_chars(""), count_chinese(""), chinese_share("")) == (0, 0, 0.0)
    assert (count_chars(" \n\t\u3000 "), chinese_share(" \n\u3000")) == (0, 0.0)  # ideographic space is space
    assert count_chinese("中文，ＡＢＣ１２３。") == 2  # full-width letters, digits, punctuation are not Chinese
    assert count_chars("中文，ＡＢＣ １２３。") == 10
    assert count_chinese("說明與檔案") == 5  # traditional counts
    assert count_chinese("𠀀𪚥㐀") == 3  # extension B and A
    assert count_chinese("ひらがなカタカナ한국어") == 0
    assert chinese_share("中文 text") == 2 / 6


def _judge(text: str, **settings: object) -> Document:
    return CleanRules(CleanConfig(**settings)).judge(Document("d", "web", text))  # type: ignore[arg-type]


def test_rule_1_thresholds() -> None:
    assert _judge("中" * 150).removal is None
    short = _judge("中" * 149)
    assert short.removal is not None and short.removal.reason is Reason.TOO_SHORT and short.removal.score == 149
    english = _judge("中" * 89 + "x" * 61)
    assert english.removal is not None and english.removal.reason is Reason.TOO_FEW_CHINESE
    assert english.removal.score == round(89 / 150, 6)
    assert _judge("中" * 90 + "x" * 60).removal is None  # exactly 60% stays
    both = _judge("hello")
    assert [v.reason for v in both.verdicts] == [Reason.TOO_SHORT, Reason.TOO_FEW_CHINESE]
    assert _judge("", min_chars=0, min_chinese_ratio=0.0).removal is None


def test_annotate_mode_records_without_removing() -> None:
    doc = _judge("hello", mode="annotate")
    assert doc.removal is None
    assert [(v.reason, v.enforced) for v in doc.verdicts] == [(Reason.TOO_SHORT, False), (Reason.TOO_FEW_CHINESE, False)]


def test_rule_1_on_real_documents(sample_dir: Path) -> None:
    rules = CleanRules(CleanConfig())
    news = read_all(sample_dir / "news" / "peoples-daily-199801.jsonl.zst", "jsonl")
    speech = next(doc for doc in news if doc.doc_id == "peoples-daily-199801-00000")
    assert rules.judge(speech).removal is None  # the 1998 New Year speech: long, all Chinese
    headline_only = next(doc for doc in news if len(doc.text) < 60)
    judged = rules.judge(headline_only)
    assert judged.removal is not None and judged.removal.reason is Reason.TOO_SHORT
    web = [doc for path in sorted((sample_dir / "web").glob("*zh-cn*")) for doc in read_all(path, "warc")]
    page = next(doc for doc in web if str(doc.meta_value("url")).endswith("/text/swriter/01/05150104.html"))
    judged = rules.judge(page)  # a 130-character page, half of it the English debug footer
    assert [v.reason for v in judged.verdicts] == [Reason.TOO_SHORT, Reason.TOO_FEW_CHINESE]
