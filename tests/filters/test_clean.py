"""The clean stage, rule by rule, on real text of the sample corpus and on edge inputs."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import pytest

from corpus.config import CleanConfig, RepairConfig, SourceConfig
from corpus.html import HTML_LINKS, HTML_ZONES
from corpus.reasons import Kind, Reason
from corpus.record import Document
from filters.clean import CleanPlan, CleanRules, chinese_share, count_chars, count_chinese
from filters.repair import RepairPlan, Repairs
from tests.conftest import SAMPLE, read_all, read_news


@cache
def _web_pages(lang: str) -> dict[str, Document]:
    pages = [doc for path in sorted((SAMPLE / "web").glob(f"*{lang}*")) for doc in read_all(path, "warc", name="web")]
    return {
        str(doc.meta_value("url")).split(f"/{lang.replace('zh-cn', 'zh-CN').replace('zh-tw', 'zh-TW')}/")[1]: doc for doc in pages
    }


@cache
def _news() -> list[Document]:
    return read_news()


_REPAIR_SETTINGS = {field.name for field in dataclasses.fields(RepairConfig)} - {"mode"}


class _RepairThenClean:
    """The repair stage, then the clean stage: what a document of a source listing clean
    goes through."""

    def __init__(self, repairs: Repairs, clean: CleanRules) -> None:
        self.repairs, self.clean = repairs, clean

    def judge(self, doc: Document) -> Document:
        repaired = self.repairs.judge(doc)
        return repaired if repaired.removal is not None else self.clean.judge(repaired)


def _rules(**settings: object) -> _RepairThenClean:
    sources = (
        SourceConfig(name="web", paths=("x",), format="warc"),
        SourceConfig(name="news", paths=("x",), format="jsonl"),
        SourceConfig(name="lenient", paths=("x",), format="warc", rules_off=("title_only", "min_chars")),
    )
    repair = {key: value for key, value in settings.items() if key in _REPAIR_SETTINGS}
    clean = {key: value for key, value in settings.items() if key not in _REPAIR_SETTINGS}
    return _RepairThenClean(
        Repairs(RepairPlan.for_sources(RepairConfig(**repair), sources)),  # type: ignore[arg-type]
        CleanRules(CleanPlan.for_sources(CleanConfig(**clean), sources)),  # type: ignore[arg-type]
    )


def _reasons(doc: Document, kind: Kind | None = None) -> list[str]:
    return [v.reason.value for v in doc.verdicts if kind is None or v.reason.kind is kind]


def _speech() -> Document:
    return next(doc for doc in _news() if doc.doc_id == "peoples-daily-199801-00000")


# --- measures on edge inputs --------------------------------------------------------------


def test_counts_on_edge_inputs() -> None:
    assert (count_chars(""), count_chinese(""), chinese_share("")) == (0, 0, 0.0)
    assert (count_chars(" \n\t\u3000 "), chinese_share(" \n\u3000")) == (0, 0.0)
    assert count_chinese("中文，ＡＢＣ１２３。") == 2  # full-width letters, digits, punctuation are not Chinese
    assert count_chinese("說明與檔案") == 5 and count_chinese("𠀀𪚥㐀") == 3
    assert count_chinese("ひらがなカタカナ한국어") == 0
    assert chinese_share("中文 text") == 2 / 6


@pytest.mark.parametrize("text", ["", "   \n\n\t ", "\u3000\u3000", "\x00\x1b[0m\u200b"])
def test_empty_and_blank_documents_are_rejected_not_crashed(text: str) -> None:
    doc = _rules().judge(Document("d", "news", text))
    assert doc.text == "" and doc.removal is not None and doc.removal.reason is Reason.TOO_SHORT


def test_huge_document_is_cleaned(sample_dir: Path) -> None:
    text = "\n".join(doc.text for doc in _news()[:400])  # about 1 MB of real news
    doc = _rules().judge(Document("huge", "news", text))
    assert doc.removal is None and count_chars(doc.text) > 200_000


# --- repairs -------------------------------------------------------------------------------


def test_unicode_repairs_are_counted() -> None:
    doc = _rules().judge(Document("u", "news", "\x1b[33m新华社\u200b北京１２月３１日电\ufeff。\ue000\r\n\u3000\u3000正文\ufffd"))
    assert doc.text == "新华社北京12月31日电。\n正文"
    (verdict,) = [v for v in doc.verdicts if v.reason is Reason.UNICODE_REPAIRED]
    assert verdict.detail == "ansi_codes 1, invisible 4, fullwidth 4" and verdict.score == 9


def test_fortunes_lose_their_colour_codes(sample_dir: Path) -> None:
    fortunes = read_all(sample_dir / "ebooks" / "fortunes-zh.jsonl.gz", "jsonl", name="news")
    coloured = [doc for doc in fortunes if "\x1b[" in doc.text][:50]
    assert len(coloured) == 50
    for doc in coloured:
        judged = _rules().judge(doc)
        assert "\x1b" not in judged.text and "[m" not in judged.text
        assert "unicode_repaired" in _reasons(judged)


def test_special_symbols_removed() -> None:
    text = "★★★★★ 热门推荐 ★★★★★\n══════════\n今天天气很好！！！！！我们去公园。\n😀😀😀😀😀\n结束——好的……"
    doc = _rules(min_chars=0).judge(Document("s", "news", text))
    assert doc.text == "热门推荐\n今天天气很好！我们去公园。\n结束——好的……"
    assert "symbols_removed" in _reasons(doc)


def test_traditional_page_becomes_simplified() -> None:
    page = _web_pages("zh-tw")["text/shared/02/01170801.html"]
    assert "資料" in page.text
    doc = _rules().judge(page)
    assert "资料" in doc.text and "資料" not in doc.text
    (verdict,) = [v for v in doc.verdicts if v.reason is Reason.CONVERTED_TO_SIMPLIFIED]
    assert verdict.score is not None and verdict.score > 0.2 and verdict.detail.startswith("t2s:")


def test_simplified_text_is_never_converted() -> None:
    with_t2s, without = _rules(), _rules(convert="none")
    for doc in _news()[:300]:
        judged = with_t2s.judge(doc)
        assert "converted_to_simplified" not in _reasons(judged), doc.doc_id
        assert judged.text == without.judge(doc).text


def _shingles(text: str, n: int = 5) -> set[str]:
    compact = "".join(text.split())
    return {compact[i : i + n] for i in range(len(compact) - n + 1)}


def _jaccard(a: str, b: str) -> float:
    x, y = _shingles(a), _shingles(b)
    return len(x & y) / len(x | y) if x | y else 0.0


def test_tw2sp_brings_zh_tw_man_pages_near_their_zh_cn_twins(sample_dir: Path) -> None:
    before, after_t2s, after_tw2sp = [], [], []
    t2s, tw2sp = _rules(min_chars=0), _rules(min_chars=0, convert="tw2sp")
    for page in ("ls.1", "cp.1", "mv.1", "rm.1", "chmod.1", "mkdir.1", "tar.1", "grep.1"):
        (cn,) = read_all(sample_dir / "encyclopedia" / "zh_CN" / "man1" / f"{page}.txt", "text", name="news")
        (tw,) = read_all(sample_dir / "encyclopedia" / "zh_TW" / "man1" / f"{page}.txt", "text", name="news")
        simplified = t2s.judge(cn).text
        before.append(_jaccard(simplified, tw.text))
        after_t2s.append(_jaccard(simplified, t2s.judge(tw).text))
        after_tw2sp.append(_jaccard(simplified, tw2sp.judge(tw).text))
    assert sum(after_t2s) > sum(before) * 1.5
    assert sum(after_tw2sp) >= sum(after_t2s)


def test_navigation_removed_from_a_real_libreoffice_page() -> None:
    page = _web_pages("zh-cn")["text/swriter/main0100.html"]
    lines = page.text.split("\n")
    assert "LibreOffice 7.4 帮助" in lines and "Help content debug info:" in lines
    doc = _rules().judge(page)
    kept = doc.text.split("\n")
    for boilerplate in (
        "LibreOffice 7.4 帮助",
        "索引 🔎︎",
        "Help content debug info:",
        "This page is: /text/swriter/main0100.xhp",
        "Title is: 菜单",
    ):
        assert boilerplate not in kept
    assert kept[0] == "菜单" and "以下章节列出了有关菜单和对话框的帮助主题。" in kept and "「帮助」菜单" in kept
    (verdict,) = [v for v in doc.verdicts if v.reason is Reason.NAVIGATION_REMOVED]
    assert verdict.score == 6  # with the page's structure: its "相关主题" link too
    assert doc.removal is None


def test_navigation_only_on_web_sources() -> None:
    page = _web_pages("zh-cn")["text/swriter/main0100.html"]
    as_news = _rules().judge(dataclasses.replace(page, source="news"))
    assert "navigation_removed" not in _reasons(as_news) and "LibreOffice 7.4 帮助" in as_news.text


@pytest.mark.parametrize(
    ("line", "boilerplate"),
    [
        ("首页 > 新闻中心 > 国内新闻 > 正文", True),
        ("首页 | 新闻 | 体育 | 娱乐 | 财经 | 科技", True),
        ("上一页 下一页", True),
        ("登录 注册", True),
        ("分享到：", True),
        ("Copyright © 2008-2020 某某网 版权所有", True),
        ("京ICP备12345678号-1", True),
        ("我们回到首页之后，发现页面已经更新了。", False),
        ("新华社北京十二月三十一日电", False),
        ("菜单", False),
        ("首页 新闻 体育 娱乐 财经", True),
        ("Login Register", True),
        ("Index 🔎︎", True),
        ("搜索引擎", False),
        ("注册资本", False),
        ("白日依山尽 黄河入海流 欲穷千里目 更上一层楼", False),
        ("2023 年 5 月 1 日 星期一", False),
        ("在 Calc 中查找与替换", False),
        ("选择「文件 - 导出」", False),
        ("他认为，盗版行为严重侵犯了版权所有者的合法权益，呼吁社会各界共同抵制，这一看法得到许多人的支持和赞同。", False),
    ],
)
def test_navigation_line_classifier(line: str, boilerplate: bool) -> None:
    from filters.clean import load_clean_rules
    from filters.navigation import NavigationRules

    navigation, _ = load_clean_rules(CleanConfig())
    assert NavigationRules(navigation).is_boilerplate(line) is boilerplate


def test_repeated_paragraphs_keep_the_first() -> None:
    """PanGu rule 2 removes a later copy of a paragraph (200+ characters); a shorter line
    that recurs is the text's own (默认值为 TRUE。 under two properties) and stays."""
    speech = _speech()
    paragraphs = speech.text.split("\n")
    long_ones = [p for p in paragraphs if len(p) >= 200]
    doubled = "\n".join([*paragraphs, long_ones[0], long_ones[1]])
    doc = _rules().judge(Document("twice", "news", doubled))
    assert doc.text == _rules().judge(speech).text
    (verdict,) = [v for v in doc.verdicts if v.reason is Reason.PARAGRAPHS_DEDUPLICATED]
    assert verdict.score == 2 and doc.removal is None
    short = "\n".join([*paragraphs[:8], "默认值为 TRUE。", "另一个属性", "默认值为 TRUE。"])
    assert _rules().judge(Document("short", "news", short)).text.count("默认值为 TRUE。") == 2


def test_pii_masking_is_off_by_default_and_counted_when_on() -> None:
    text = (
        _speech().text
        + "\n联系：zhang.san@example.com，电话 13812345678，网址 https://www.example.com/a?b=1，身份证 11010519491231002X。"
    )
    assert "zhang.san@example.com" in _rules().judge(Document("p", "news", text)).text
    doc = _rules(pii=True).judge(Document("p", "news", text))
    assert doc.text.endswith("联系：[EMAIL]，电话 [PHONE]，网址 [URL]，身份证 [ID_CARD]。")
    assert sorted(r for r in _reasons(doc, Kind.REPAIR) if r.startswith("pii_")) == [
        "pii_email",
        "pii_id_card",
        "pii_phone",
        "pii_url",
    ]
    assert "[ID_CARD]" not in _rules(pii=True).judge(Document("p", "news", "号码 110105194912310021 校验位不对")).text


# --- rejections, by document id and reason --------------------------------------------------


def test_each_rejection_on_real_documents() -> None:
    rules = _rules()
    speech = _speech()
    headline = _web_pages("zh-cn")["text/simpress/01/03050000.html"]  # the page is just 选项栏
    short_article = next(doc for doc in _news() if doc.doc_id == "peoples-daily-199801-00057")
    english_page = _web_pages("zh-cn")["text/scalc/01/statistics_regression.html"]  # untranslated: 3% Chinese
    cases = {
        speech.doc_id: (speech, None),
        headline.doc_id: (headline, "title_only"),
        short_article.doc_id: (short_article, "too_short"),
        english_page.doc_id: (english_page, "too_few_chinese"),
    }
    for doc_id, (doc, expected) in cases.items():
        judged = rules.judge(doc)
        assert (judged.removal.reason.value if judged.removal else None) == expected, doc_id


def test_advertisement_lines_go_and_the_article_stays() -> None:
    """PanGu removed a document for an ad keyword; here an advertising line goes and the
    article stays, and a document is rejected only when its running text advertises."""
    speech = _speech()
    with_ad_line = Document("ad3", "news", speech.text + "\n加微信领取优惠券，全场包邮！")
    judged = _rules().judge(with_ad_line)
    assert judged.removal is None and judged.text == _rules().judge(speech).text
    (verdict,) = [v for v in judged.verdicts if v.reason is Reason.ADS_REMOVED]
    assert verdict.score == 1
    report = Document(
        "ad1", "news", speech.text + "\n记者调查发现，不少网站以“加微信领取优惠券、全场包邮”为诱饵，诱导消费者点击。"
    )
    assert _rules().judge(report).text.endswith("诱导消费者点击。"), "a sentence about ads is text"
    shop = "\n".join(
        ["本店所有商品全场包邮，加微信可以领取优惠券，欢迎致电咨询，数量有限先到先得哦！"] * 3 + speech.text.split("\n")[:2]
    )
    judged = _rules(duplicate_paragraph_min_chars=10_000).judge(Document("shop", "news", shop))
    assert judged.removal is not None and judged.removal.reason is Reason.ADVERTISEMENT
    assert _rules(max_ad_hits=5).judge(Document("shop", "news", shop)).removal is None


def test_repetition_rules() -> None:
    paragraphs = _speech().text.split("\n")
    short_lines = [p for p in paragraphs if 10 <= len(p) < 200]
    padded = "\n".join(paragraphs[:3] + [short_lines[0]] * 12)
    judged = _rules().judge(Document("rep-lines", "news", padded))
    assert judged.removal is not None and judged.removal.reason is Reason.REPETITIVE_LINES
    long_line = next(p for p in paragraphs if len(p) >= 200)
    repaired = "\n".join(paragraphs[:3] + [long_line] * 6)  # judged on what the repair leaves
    judged = _rules().judge(Document("rep-paragraphs", "news", repaired))
    assert judged.removal is None and "paragraphs_deduplicated" in _reasons(judged)
    judged = _rules().judge(Document("rep-ngrams", "news", "赚大钱！" * 40 + _speech().text[:200]))
    assert judged.removal is not None and judged.removal.reason is Reason.REPETITIVE_NGRAMS


def test_rules_can_be_switched_off_per_source() -> None:
    headline = _web_pages("zh-cn")["text/simpress/01/03050000.html"]
    as_lenient = dataclasses.replace(headline, source="lenient")
    assert _rules().judge(headline).removal is not None
    assert _rules().judge(as_lenient).removal is None


def test_annotate_mode_records_without_removing() -> None:
    headline = _web_pages("zh-cn")["text/simpress/01/03050000.html"]
    doc = _rules(mode="annotate").judge(headline)
    assert doc.removal is None
    assert [(v.reason.value, v.enforced) for v in doc.verdicts if v.reason.kind is Kind.REJECT] == [
        ("title_only", False),
        ("too_short", False),
    ]


def test_measures_are_recorded_in_meta() -> None:
    doc = _rules().judge(_speech())
    assert doc.meta_value("chars") == count_chars(doc.text)
    assert doc.meta_value("chinese_share") == 1.0  # what the text is written in (chinese_share counts characters)
    assert round(chinese_share(doc.text), 6) > 0.85


def _without_structure(doc: Document) -> Document:
    meta = tuple((key, value) for key, value in doc.meta if key not in (HTML_ZONES, HTML_LINKS))
    return Document(doc.doc_id, doc.source, doc.text, meta)


def test_cleaning_is_idempotent_on_real_documents() -> None:
    """On text alone: a page's structure is used once, by the first pass (a second would
    judge the cleaned page by its text, which knows no headings)."""
    rules = _rules()
    pages = list(_web_pages("zh-tw").values())[:150] + list(_web_pages("zh-cn").values())[:150] + _news()[:150]
    for doc in map(_without_structure, pages):
        once = rules.judge(doc)
        twice = rules.judge(Document(doc.doc_id, doc.source, once.text, doc.meta))
        assert twice.text == once.text, doc.doc_id


def test_anchored_patterns_match_lines_anywhere_in_the_text() -> None:
    page = _web_pages("zh-cn")["text/swriter/main0100.html"]
    rules = _rules()
    kept = [rules.judge(doc).text for doc in list(_web_pages("zh-cn").values())[:400]]
    assert not [text for text in kept if "This page is:" in text or "Title is:" in text]
    assert "Title is:" not in rules.judge(page).text


def test_navigation_patterns_are_compiled_one_by_one(tmp_path: Path) -> None:
    from filters.navigation import NavigationRules
    from filters.rulefile import load_rules

    path = tmp_path / "nav.txt"
    path.write_text(
        "re:^(.)\\1{5,}$\nre:^(?P<y>\\d{4})年版$\nre:^(?P<y>\\d{4}) edition$\nre:(?x) ^ 版权 \\s* 声明 $\n", encoding="utf-8"
    )
    navigation = NavigationRules(load_rules(str(path), allow_patterns=True))
    text = "正文第一行。\naaaaaa\n2020年版\n2021 edition\n版权 声明\n正文最后一行。"
    assert navigation.remove(text) == ("正文第一行。\n正文最后一行。", 4)


def test_line_start_patterns_are_rewritten_only_where_the_anchor_leads(tmp_path: Path) -> None:
    """A pattern anchored at a line start is searched from line break to line break: it
    still finds the first line, later lines and the last one, keeps its inline flags, and
    ``^a|b`` (an alternation, anchored in one branch) is searched as written."""
    from filters.navigation import NavigationRules, _line_finder
    from filters.rulefile import load_rules

    assert _line_finder("^本站(声明|所有)")[1] is not None
    assert _line_finder("(?i)^help$")[1] is not None
    assert _line_finder("^菜单|导航栏目")[1] is None
    assert _line_finder("版权所有")[1] is None
    path = tmp_path / "nav.txt"
    path.write_text("re:^本站(声明|所有)\nre:(?i)^help$\nre:^菜单|导航栏目\n", encoding="utf-8")
    navigation = NavigationRules(load_rules(str(path), allow_patterns=True))
    text = "本站声明\n正文第一行。\nHELP\n正文：导航栏目\n本站所有\n正文最后一行。\n菜单"
    assert navigation.remove(text) == ("正文第一行。\n正文最后一行。\n", 5)
    assert navigation.remove("正文。\nHelp") == ("正文。\n", 1)


def test_line_start_patterns_searched_together_find_what_they_find_apart(tmp_path: Path) -> None:
    """The line-start patterns are tried together at each line break; a pattern with a
    back-reference is searched apart, and all are when they cannot be compiled together
    (a group name used twice). Real help pages lose the same lines either way."""
    from filters.clean import navigation_rules_path
    from filters.navigation import NavigationRules, _line_finder, _line_finders
    from filters.rulefile import load_rules

    together = _line_finders(["^本站(声明|所有)", "(?i)^help$", "版权所有", r"^(\w)\1$"])
    assert len(together) == 3 and together[-1][0].pattern == "(?:(?:本站(声明|所有))|(?i:help$))"
    assert len(_line_finders(["^(?P<x>菜单)$", "^(?P<x>导航)$"])) == 2  # the same group name: apart
    path = tmp_path / "nav.txt"
    path.write_text("re:^本站(声明|所有)\nre:(?i)^help$\nre:^(\\w)\\1$\n", encoding="utf-8")
    text = "本站声明\n正文第一行。\nHELP\n好好\n本站所有\n正文最后一行。"
    assert NavigationRules(load_rules(str(path), allow_patterns=True)).remove(text) == ("正文第一行。\n正文最后一行。", 4)

    rules = load_rules(navigation_rules_path(CleanConfig()), allow_patterns=True)
    combined, apart = NavigationRules(rules), NavigationRules(rules)
    apart._line_finders = [_line_finder(pattern) for pattern in rules.patterns]
    assert len(combined._line_finders) < len(apart._line_finders)
    pages = [doc.text for doc in _web_pages("zh-cn").values()]
    assert [combined.remove(text) for text in pages] == [apart.remove(text) for text in pages]


def test_verbose_line_start_patterns_are_searched_as_written(tmp_path: Path) -> None:
    """(?x) patterns are not rewritten: the line break the rewrite puts before them, and
    the bracket after them, would be white space or part of a # comment there."""
    import re

    from filters.navigation import NavigationRules, _line_finder, _line_finders
    from filters.rulefile import load_rules

    assert _line_finder("(?x)^foo")[1] is None
    assert len(_line_finders(["(?x)^foo", "^bar", "(?ix) ^ a \\s b  # a comment"])) == 3
    path = tmp_path / "nav.txt"
    path.write_text("re:(?x)^foo\nre:^bar\nre:(?ix) ^ a \\s b  # a comment\n", encoding="utf-8")
    navigation = NavigationRules(load_rules(str(path), allow_patterns=True))
    text = "The foo fighters played here\nfoo\nbar\nA B\n正文。"
    assert navigation.remove(text) == ("The foo fighters played here\n正文。", 3)
    assert [m.start() for m in re.compile("(?x)^foo", re.MULTILINE).finditer(text)] == [29]


def test_remembered_line_decisions_change_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Navigation remembers its decision per line; a warm memory, and one forgotten every
    few lines, remove exactly what a fresh one does, on real zh-CN help pages."""
    from filters import navigation as module
    from filters.clean import navigation_rules_path
    from filters.navigation import NavigationRules
    from filters.rulefile import load_rules

    rules = load_rules(navigation_rules_path(CleanConfig()), allow_patterns=True)
    pages = [doc.text for doc in list(_web_pages("zh-cn").values())[:300]]
    fresh = [NavigationRules(rules).remove(text) for text in pages]
    assert sum(lines for _, lines in fresh) > 1000
    warm = NavigationRules(rules)
    assert [warm.remove(text) for text in pages] == fresh
    assert [warm.remove(text) for text in pages] == fresh
    monkeypatch.setattr(module, "_REMEMBERED_LINES", 7)
    forgetful = NavigationRules(rules)
    assert [forgetful.remove(text) for text in pages] == fresh
    assert len(forgetful._decisions) <= 7


def test_symbols_keep_chinese_zero_and_repair_radicals() -> None:
    from filters.clean_text import fix_unicode, remove_symbols

    assert remove_symbols("到二○○○年，我国将基本实现小康。") == ("到二○○○年，我国将基本实现小康。", 0)
    text, counts = fix_unicode("⼀⼆⼈⼊中国⼈民")
    assert text == "一二人入中国人民" and counts == {"radicals": 5}


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("返回 0.0209757694。", "返回 0.0209757694。"),
        ("圆周率 3.14159265359", "圆周率 3.14159265359"),
        ("权限 017777777777", "权限 017777777777"),
        ("地址 0002f000-00032000", "地址 0002f000-00032000"),
        ("版本 13.812345678", "版本 13.812345678"),
        ("电话 138-1234-5678。", "电话 [PHONE]。"),
        ("电话 +86 138 1234 5678", "电话 [PHONE]"),
        ("电话 0755 12345678", "电话 [PHONE]"),
        ("请发邮件至zhangsan@163.com。", "请发邮件至[EMAIL]。"),
        ("(见 http://tldp.org/)", "(见 [URL])"),
        ("访问 https://example.com/a_(b) 即可。", "访问 [URL] 即可。"),
    ],
)
def test_pii_patterns(text: str, masked: str) -> None:
    from filters.clean_text import mask_pii

    assert mask_pii(text)[0] == masked


def test_idempotent_with_pii_and_man_pages_as_web(sample_dir: Path) -> None:
    rules = _rules(pii=True)
    pages = [
        dataclasses.replace(doc, source="web")
        for path in sorted((sample_dir / "encyclopedia" / "zh_CN" / "man1").glob("*.txt"))[:150]
        for doc in read_all(path, "text", name="news")
    ]
    pages += [_without_structure(page) for page in list(_web_pages("zh-tw").values())[:150]]
    for doc in pages:
        once = rules.judge(doc)
        assert rules.judge(Document(doc.doc_id, doc.source, once.text, doc.meta)).text == once.text, doc.doc_id


def test_conversion_runs_to_a_fixpoint_so_cleaning_is_idempotent() -> None:
    """OpenCC's t2s maps 薴 to 苧 and 苧 to 苎: one pass left a text that a second clean
    changed again (found by the property test in tests/reliability)."""
    rules = _rules(min_chars=0, min_chinese_ratio=0.0)
    once = rules.judge(Document("a", "lenient", "薴"))
    assert once.text == "苎"
    assert rules.judge(Document("a", "lenient", once.text)).text == once.text


def test_tw2sp_converts_once_when_no_traditional_character_is_left() -> None:
    """tw2sp maps Taiwan's 程式 to the mainland's 程序, and mainland 程序 read as Taiwan's
    word for a process to 进程: a second pass would turn "in the program" into "in the
    process". One pass leaves no traditional-only character, so cleaning again does not
    convert and the first pass stands (LibreOffice's Basic help, zh-TW)."""
    rules = _rules(convert="tw2sp")
    page = _web_pages("zh-tw")["text/sbasic/guide/sample_code.html"]
    assert "在程式中讀取或編輯控制" in page.text
    once = rules.judge(page)
    assert "在程序中读取或编辑控制" in once.text and "在进程中" not in once.text
    assert Reason.CONVERTED_TO_SIMPLIFIED.value in _reasons(once)
    again = rules.judge(Document(page.doc_id, page.source, once.text, _without_structure(page).meta))
    assert Reason.CONVERTED_TO_SIMPLIFIED.value not in _reasons(again)
    assert "在程序中读取或编辑控制" in again.text and "在进程中" not in again.text


def test_char_table_counts_as_the_definitions_do() -> None:
    """The one-pass counts against count_chars, count_chinese and the traditional set, on
    every document of the sample's news, web pages and edge inputs."""
    import opencc

    from filters.clean import CharTable, traditional_characters

    traditional = traditional_characters(opencc.OpenCC("t2s"))
    table = CharTable(traditional)
    texts = [doc.text for doc in _news()[:2000]] + [doc.text for doc in _web_pages("zh-tw").values()]
    texts += ["", " \n\t\u3000\x1c\x85", "中文，ＡＢＣ１２３。", "說明與檔案𠀀𪚥㐀", "ひらがな한국어", "\ud800 lone surrogate"]
    for text in texts:
        counts = table.counts(text)
        assert (counts.chars, counts.chinese) == (count_chars(text), count_chinese(text)), text[:40]
        assert counts.traditional == sum(char in traditional for char in text), text[:40]
    assert "說" in traditional and "说" not in traditional and "中" not in traditional
    assert table.counts("說明與檔案").traditional_share == 0.6  # 明 and 案 are written alike in both


def test_top_ngram_share_with_a_bound_is_exact_above_it() -> None:
    """``above`` skips the exact count only where the hashed histogram proves the share
    cannot exceed it: on real news and a repetitive page the answers agree."""
    from filters.clean_text import top_ngram_share

    assert top_ngram_share("哈哈哈哈哈哈哈哈哈哈", 3) == 1.0
    assert top_ngram_share("好评好评好评好评好评好评", 2) == 1.0
    assert top_ngram_share("ab", 3) == 0.0
    texts = [doc.text for doc in _news()[:1500]] + ["买买买，快来买！" * 40, "点击这里" * 30 + "正文" * 10]
    skipped = 0
    for limit in (0.0, 0.05, 0.1, 0.3):
        for n in (1, 2, 3):
            for text in texts:
                exact, bounded = top_ngram_share(text, n), top_ngram_share(text, n, above=limit)
                assert bounded == exact if exact > limit else bounded in (0.0, exact)
                skipped += bounded != exact
    assert skipped > 10_000  # the bound decides most of them
    with pytest.raises(ValueError):
        top_ngram_share("文本", 4)
