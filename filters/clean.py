"""The clean stage: junk lines out, then reject by PanGu's cleaning rules and more.

PanGu-α (arXiv 2104.12369, Figure 2) cleaned Common Crawl pages with five rules; each is
here, with the definitions the paper leaves out, and every threshold in ``stages.clean``
of the config (corpus/config.py documents each default and the gold-set figures it was
chosen on). The repairs every source gets (Unicode, mojibake, traditional script) come
first, in the repair stage (filters/repair.py).

Junk lines leave and the document stays (each step a repair verdict with its count of
lines or characters), in this order:
1. navigation of web sources (PanGu rule 5): with the page's structure when the reader
   gave it (corpus/html.py: menus, footers, link lists, comments; filters/navigation.py
   ``structural_junk``), else by the rule file's terms and patterns line by line;
2. boilerplate of any source (filters/boilerplate.py): troff leftovers, translators'
   credits, e-book site markers;
3. advertisement lines: an ad keyword in a line that is not running text (PanGu rule 3
   dropped the whole document for one keyword; a report that mentions 博彩 in a sentence
   stays);
4. decorative symbols and separator lines (rule 2), never code, formulas or file names;
5. PII masking (off by default);
6. later copies of a paragraph of ``duplicate_paragraph_min_chars`` or more (rule 2):
   a short line that recurs (默认值为 TRUE。 under two properties) is the text's own.

Rejections, measured on the text those steps leave, in this order; in enforce mode the
first failed rule is the verdict (the costlier measures after it are skipped), in
annotate mode every failed rule adds one:
- ``title_only`` (rule 1): one line of at most ``title_max_chars`` characters that does
  not end with sentence punctuation (。，；… : a one-line review is not a title), or the
  text equals the page title;
- ``too_short`` (rule 1): fewer than ``min_chars`` characters that are not white space;
- ``too_few_chinese`` (rule 1): the share of the text written in Chinese below
  ``min_chinese_ratio``: Chinese characters and punctuation against foreign prose, kana
  and hangul, where commands, paths, URLs and code count for neither
  (``clean_text.language_share``), or PanGu's Chinese characters over all characters
  (``chinese_measure: characters``);
- ``advertisement`` (rule 3): more than ``max_ad_hits`` distinct ad keywords left in
  running text;
- ``repetitive_lines`` / ``repetitive_ngrams`` (Gopher, Rae et al. 2021): the share of
  characters in repeated lines, of the most frequent character n-gram, and of the
  character 10-grams that repeat an earlier one (a unit of any length repeated; the last
  two for documents of 100 characters or more), above their thresholds; the verdict's
  score is the measure.

A source skips any of these by name (``rules_off``); ``annotate`` mode records the
rejections as verdicts with ``enforced=False`` and keeps every document. Every step is
idempotent, so cleaning clean text changes nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from corpus.config import CleanConfig, SourceConfig
from corpus.html import HTML_LINKS, HTML_ZONES
from corpus.reasons import Reason
from corpus.record import Document, Verdict
from filters import clean_text
from filters.boilerplate import BoilerplateRules
from filters.matcher import TermMatcher
from filters.navigation import NavigationRules, remove_lines, structural_junk
from filters.rulefile import Rules, load_rules

STAGE = "clean"
RULES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rules")

_NOT_CJK_IDEOGRAPHS = re.compile("[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\U00030000-\U000323af]+")
_WHITESPACE = re.compile(r"\s+")
_CJK_RANGES = clean_text.CJK_RANGES
_CHINESE_RANGES = clean_text.CHINESE_RANGES
"""The ideographs ``count_chinese`` counts (its regular expression spells the same ranges)."""
_SENTENCE_END = ("。", "！", "？", ".", "!", "?", "…", "”", "」", "，", "；", "、", "~", "～", ",", ";")
REPEATED_LINE_MIN_CHARS = 10
"""Lines this long or longer count in the repeated-line share (shorter: labels, cells)."""
REPETITION_MIN_CHARS = 100
"""The n-gram measure needs some text: in 4 characters one 3-gram always covers 75%."""


def count_chars(text: str) -> int:
    """Characters that are not white space."""
    if clean_text.OTHER_WHITESPACE.search(text):
        return len(text) - sum(len(run) for run in _WHITESPACE.findall(text))
    return len(text) - text.count(" ") - text.count("\n")  # normalised text: a tenth of the time


def count_chinese(text: str) -> int:
    """CJK unified ideographs (all extensions and the compatibility block). Removing the
    runs between them is three times faster than removing the ideographs."""
    return len(_NOT_CJK_IDEOGRAPHS.sub("", text))


def chinese_share(text: str) -> float:
    chars = count_chars(text)
    return count_chinese(text) / chars if chars else 0.0


def navigation_rules_path(config: CleanConfig) -> str:
    return config.navigation_rules or os.path.join(RULES_DIR, "navigation.txt")


def boilerplate_rules_path(config: CleanConfig) -> str:
    return config.boilerplate_rules or os.path.join(RULES_DIR, "boilerplate.txt")


def ad_rules_path(config: CleanConfig) -> str:
    return config.ad_rules or os.path.join(RULES_DIR, "ads.txt")


def load_clean_rules(config: CleanConfig) -> tuple[Rules, Rules]:
    """Both rule files, checked; raises ConfigError naming the file and line."""
    load_rules(boilerplate_rules_path(config), allow_patterns=True)  # checked now, loaded by the judge
    return load_rules(navigation_rules_path(config), allow_patterns=True), load_rules(ad_rules_path(config))


@dataclass(frozen=True)
class CleanPlan:
    """What the clean judge needs: the settings, and per source whether it is a web
    source and which rules it switches off."""

    config: CleanConfig
    web_sources: frozenset[str] = frozenset()
    rules_off: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def for_sources(cls, config: CleanConfig, sources: tuple[SourceConfig, ...]) -> CleanPlan:
        return cls(
            config=config,
            web_sources=frozenset(s.name for s in sources if s.format in config.navigation_formats),
            rules_off={s.name: frozenset(s.rules_off) for s in sources},
        )


traditional_characters = clean_text.traditional_characters


class CharTable:
    """The three counts the stage needs (``count_chars``, ``count_chinese`` and the
    traditional ones) in one compiled pass over the text (``clean_text.scan``, over
    1 GB/s here, where the three regular expressions it replaced ran at 40 MB/s together);
    tests check it against them."""

    def __init__(self, traditional: str = "") -> None:
        self._table = clean_text.class_table(_CHINESE_RANGES, traditional)

    @property
    def table(self) -> bytes:
        """The class table (``clean_text.class_table``) the repairs run with."""
        return self._table

    def counts(self, text: str) -> clean_text.Facts:
        """The counts (and the symbol checks' facts) of ``text``."""
        return clean_text.scan(text, self._table)


class CleanRules:
    """The clean stage's judge: repairs and rejections of one document."""

    def __init__(self, plan: CleanPlan) -> None:
        config = plan.config
        self._plan = plan
        self._config = config
        navigation, ads = load_clean_rules(config)
        self._navigation = NavigationRules(navigation, max_chars=config.navigation_max_chars)
        self._boilerplate = BoilerplateRules(load_rules(boilerplate_rules_path(config), allow_patterns=True))
        self._ads = TermMatcher(ads.terms)
        self._table = clean_text.stage_table()

    def judge(self, doc: Document) -> Document:
        config = self._config
        off = self._plan.rules_off.get(doc.source, frozenset())
        text = doc.text
        repairs: list[Verdict] = []

        def repaired(reason: Reason, score: float, detail: str) -> None:
            repairs.append(Verdict(STAGE, reason, float(score), detail))

        meta = dict(doc.meta)
        zones, links = meta.pop(HTML_ZONES, None), meta.pop(HTML_LINKS, None)  # the page's structure: used here, once
        title = str(meta.get("title") or "")
        if doc.source in self._plan.web_sources and "navigation" not in off:
            # First, while the lines are those the page's structure describes.
            lines = text.split("\n")
            if isinstance(zones, str) and isinstance(links, str) and len(zones) == len(links) == len(lines):
                flags = self._navigation.flags(text) or [False] * len(lines)
                text, removed = remove_lines(text, structural_junk(lines, zones, links, flags))
            else:
                text, removed = self._navigation.remove(text)
            if removed:
                text = clean_text.normalise_whitespace(text)
                repaired(Reason.NAVIGATION_REMOVED, removed, f"{removed} lines")
        if "boilerplate" not in off:
            flags = self._boilerplate.flags(text)
            if flags:
                text, removed = remove_lines(text, flags)
                text = clean_text.normalise_whitespace(text)
                repaired(Reason.BOILERPLATE_REMOVED, removed, f"{removed} lines")
        ads_found: tuple[str, list[str]] | None = None  # (text, its ad terms): not searched twice
        if "ads" not in off and len(self._ads):
            hits = self._ads.distinct(text)
            flags = self._ad_lines(text) if hits else None
            if flags:
                text, removed = remove_lines(text, flags)
                text = clean_text.normalise_whitespace(text)
                repaired(Reason.ADS_REMOVED, removed, f"{removed} lines")
            else:
                ads_found = (text, hits)
        facts: tuple[str, clean_text.Facts] | None = None  # (text, its counts): not scanned twice
        if config.symbols and "symbols" not in off:
            scanned = clean_text.scan(text, self._table)
            cleaned, removed = clean_text.remove_symbols(text, scanned, self._table)
            if removed:
                repaired(Reason.SYMBOLS_REMOVED, removed, f"{removed} characters")
            if cleaned is text:
                facts = (text, scanned)
            text = cleaned
        if config.pii and "pii" not in off:
            text, counts = clean_text.mask_pii(text)
            for kind, count in counts.items():
                repaired(_PII_REASONS[kind], count, f"{count} masked")
        deduplicated, lines, _ = clean_text.dedup_paragraphs(text, config.duplicate_paragraph_min_chars)
        if lines and "duplicate_paragraphs" not in off:
            text = deduplicated
            repaired(Reason.PARAGRAPHS_DEDUPLICATED, lines, f"{lines} repeated paragraphs")
        duplicate_share = clean_text.dedup_paragraphs(text, REPEATED_LINE_MIN_CHARS)[2]  # of the text left
        char_counts = facts[1] if facts is not None and facts[0] is text else clean_text.scan(text, self._table)
        chars = char_counts.chars
        if config.chinese_measure == "language":
            share = clean_text.language_share(text, char_counts)
        else:
            share = char_counts.chinese_share
        known_ads = ads_found[1] if ads_found is not None and ads_found[0] is text else None
        rejections = self._rejections(text, title, chars, share, duplicate_share, off, known_ads)
        meta["chars"] = chars
        meta["chinese_share"] = round(share, 6)
        return Document(doc.doc_id, doc.source, text, tuple(sorted(meta.items())), (*doc.verdicts, *repairs, *rejections))

    def _ad_lines(self, text: str) -> list[bool] | None:
        """The lines that advertise: an ad keyword in a line that is not running text (a
        sentence that mentions 博彩 in a report stays; 微信号：CSDNnews goes)."""
        flags = [bool(line.strip()) and not _running_text(line) and bool(self._ads.distinct(line)) for line in text.split("\n")]
        return flags if any(flags) else None

    def _rejections(
        self,
        text: str,
        title: str,
        chars: int,
        share: float,
        duplicate_share: float,
        off: frozenset[str],
        known_ads: list[str] | None = None,
    ) -> list[Verdict]:
        config = self._config
        enforced = config.mode == "enforce"
        found: list[Verdict] = []
        # In enforce mode the first failed rule decides and the costlier measures after it
        # are skipped (``undecided`` turns False); annotate mode measures everything.
        undecided = True

        one_short_line = "\n" not in text and chars <= config.title_max_chars and not text.endswith(_SENTENCE_END)
        if "title_only" not in off and text and (one_short_line or (title and text == title.strip())):
            found.append(_rejection(Reason.TITLE_ONLY, chars, f"only a title: {text[:60]!r}", enforced))
            undecided = not enforced
        if undecided and chars < config.min_chars and "min_chars" not in off:
            found.append(_rejection(Reason.TOO_SHORT, chars, f"{chars} characters < min_chars={config.min_chars}", enforced))
            undecided = not enforced
        if undecided and share < config.min_chinese_ratio and "chinese_ratio" not in off:
            detail = f"Chinese share {share:.3f} < min_chinese_ratio={config.min_chinese_ratio}"
            found.append(_rejection(Reason.TOO_FEW_CHINESE, share, detail, enforced))
            undecided = not enforced
        if undecided and "ads" not in off and len(self._ads):
            hits = known_ads if known_ads is not None else self._ads.distinct(text)
            if len(hits) > config.max_ad_hits:
                detail = f"{len(hits)} ad keywords > max_ad_hits={config.max_ad_hits}: {', '.join(hits[:10])}"
                found.append(_rejection(Reason.ADVERTISEMENT, len(hits), detail, enforced))
                undecided = not enforced
        if undecided and "repetition" not in off:
            if duplicate_share > config.max_duplicate_line_share:
                detail = f"{duplicate_share:.3f} of characters in repeated lines > {config.max_duplicate_line_share}"
                found.append(_rejection(Reason.REPETITIVE_LINES, duplicate_share, detail, enforced))
                undecided = not enforced
            if undecided and chars >= REPETITION_MIN_CHARS:
                top = clean_text.top_ngram_share(text, config.top_ngram_chars, above=config.max_top_ngram_share)
                if top > config.max_top_ngram_share:
                    detail = f"top {config.top_ngram_chars}-gram covers {top:.3f} > {config.max_top_ngram_share}"
                    found.append(_rejection(Reason.REPETITIVE_NGRAMS, top, detail, enforced))
                    undecided = False  # one repetitive_ngrams verdict, in annotate mode too
            if undecided and chars >= REPETITION_MIN_CHARS:
                n = config.repeated_ngram_chars
                repeated = clean_text.repeated_ngram_share(text, n)
                if repeated > config.max_repeated_ngram_share:
                    detail = f"{repeated:.3f} of the {n}-grams repeat an earlier one > {config.max_repeated_ngram_share}"
                    found.append(_rejection(Reason.REPETITIVE_NGRAMS, repeated, detail, enforced))
        return found


_RUNNING_TEXT = re.compile(r"[。！？；，]")


def _running_text(line: str) -> bool:
    """A line of sentences: 20 characters or more, with sentence punctuation."""
    stripped = line.strip()
    return len(stripped) >= 20 and _RUNNING_TEXT.search(stripped) is not None


def _rejection(reason: Reason, score: float, detail: str, enforced: bool) -> Verdict:
    return Verdict(STAGE, reason, round(float(score), 6), detail, enforced)


_PII_REASONS = {
    "email": Reason.PII_EMAIL,
    "url": Reason.PII_URL,
    "id_card": Reason.PII_ID_CARD,
    "phone": Reason.PII_PHONE,
}


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in counts.items())
