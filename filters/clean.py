"""The clean stage: repair the text, then reject by PanGu's cleaning rules and more.

PanGu-α (arXiv 2104.12369, Figure 2) cleaned Common Crawl pages with five rules; each is
here, with the definitions the paper leaves out, and every threshold in ``stages.clean``
of the config (corpus/config.py documents each default and where it came from).

Repairs, in this order (the document stays; each change is a repair verdict):
1. Unicode (``fix_unicode``), 2. special symbols (PanGu rule 2), 3. traditional to
   simplified with OpenCC (rule 4) when at least ``min_traditional_share`` of the Chinese
   characters are traditional-only (so simplified text is never touched), 4. PII masking
   (off by default), 5. navigation and boilerplate lines of web pages (rule 5,
   filters/navigation.py), 6. repeated paragraphs (rule 2), then the traditional share is
   measured again (removing English navigation can lift it over the bar). Conversion comes
   before navigation and advertisement matching so that simplified rule files also match
   traditional pages; every step is idempotent, so cleaning clean text changes nothing.

Rejections, measured after the repairs, in this order; in enforce mode the first failed
rule is the verdict (the costlier measures after it are skipped), in annotate mode every
failed rule adds one:
- ``title_only`` (rule 1): one line of at most ``title_max_chars`` characters that does
  not end with sentence punctuation (。，；… : a one-line review is not a title), or the
  text equals the page title;
- ``too_short`` (rule 1): fewer than ``min_chars`` characters, where characters are all
  characters that are not white space;
- ``too_few_chinese`` (rule 1): Chinese characters over characters below
  ``min_chinese_ratio``; Chinese characters are CJK unified ideographs (the basic block,
  extensions A to H and the compatibility ideographs), not punctuation, digits or kana;
- ``advertisement`` (rule 3): more than ``max_ad_hits`` distinct ad keywords;
- ``repetitive_lines`` / ``repetitive_ngrams`` (Gopher, Rae et al. 2021): the share of
  characters in repeated lines (measured before they are removed), of the most frequent
  character n-gram, and of the character 10-grams that repeat an earlier one (a unit of
  any length repeated; the last two for documents of 100 characters or more), above their
  thresholds.

A source skips any of these by name (``rules_off``); ``annotate`` mode records the
rejections as verdicts with ``enforced=False`` and keeps every document.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corpus.config import CleanConfig, SourceConfig
from corpus.reasons import Reason
from corpus.record import Document, Verdict
from filters import clean_text
from filters.matcher import TermMatcher
from filters.navigation import NavigationRules
from filters.rulefile import Rules, load_rules

STAGE = "clean"
RULES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rules")

_NOT_CJK_IDEOGRAPHS = re.compile("[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\U00030000-\U000323af]+")
_WHITESPACE = re.compile(r"\s+")
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
"""Where traditional-only characters are looked for."""
_CHINESE_RANGES = (*_CJK_RANGES, (0x20000, 0x2FA1F), (0x30000, 0x323AF))
"""The ideographs ``count_chinese`` counts (its regular expression spells the same ranges)."""
_SENTENCE_END = ("。", "！", "？", ".", "!", "?", "…", "”", "」", "，", "；", "、", "~", "～", ",", ";")
REPETITION_MIN_CHARS = 100
"""The n-gram measure needs some text: in 4 characters one 3-gram always covers 75%."""
_OPENCC_CONFIGS = {"t2s": "t2s", "tw2sp": "tw2sp", "hk2s": "hk2s"}


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


def ad_rules_path(config: CleanConfig) -> str:
    return config.ad_rules or os.path.join(RULES_DIR, "ads.txt")


def load_clean_rules(config: CleanConfig) -> tuple[Rules, Rules]:
    """Both rule files, checked; raises ConfigError naming the file and line."""
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


def traditional_characters(converter: object) -> str:
    """The Chinese characters that only traditional text uses: those OpenCC's t2s changes
    when converting them one by one (3,761 in the basic and extension A blocks, 460 compatibility
    ideographs; about 30 ms)."""
    convert = converter.convert  # type: ignore[attr-defined]
    return "".join(chr(code) for low, high in _CJK_RANGES for code in range(low, high + 1) if convert(chr(code)) != chr(code))


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
        import opencc

        config = plan.config
        self._plan = plan
        self._config = config
        navigation, ads = load_clean_rules(config)
        self._navigation = NavigationRules(navigation, max_chars=config.navigation_max_chars)
        self._ads = TermMatcher(ads.terms)
        self._table = CharTable(traditional_characters(opencc.OpenCC("t2s")))
        self._converter = opencc.OpenCC(_OPENCC_CONFIGS[config.convert]) if config.convert != "none" else None

    def judge(self, doc: Document) -> Document:
        config = self._config
        off = self._plan.rules_off.get(doc.source, frozenset())
        text = doc.text
        repairs: list[Verdict] = []

        def repaired(reason: Reason, score: float, detail: str) -> None:
            repairs.append(Verdict(STAGE, reason, float(score), detail))

        if config.unicode and "unicode" not in off:
            text, counts = clean_text.fix_unicode(text, self._table.table)
            if counts:
                repaired(Reason.UNICODE_REPAIRED, sum(counts.values()), _counts(counts))
        facts: clean_text.Facts | None = None  # of ``text`` as it is, when known
        if config.symbols and "symbols" not in off:
            facts = self._table.counts(text)
            cleaned, removed = clean_text.remove_symbols(text, facts, self._table.table)
            if cleaned is not text:
                text, facts = cleaned, None
            if removed:
                repaired(Reason.SYMBOLS_REMOVED, removed, f"{removed} characters")
        meta = dict(doc.meta)
        title = str(meta.get("title") or "")
        converting = self._converter is not None and "convert" not in off
        char_counts: clean_text.Facts | None = None
        counted = ""  # the text ``char_counts`` are of
        if converting:
            text, title, char_counts = self._convert(text, title, repaired, facts)
            counted = text
        # PII first: a masked line must look the same to navigation removal on a second pass.
        if config.pii and "pii" not in off:
            text, counts = clean_text.mask_pii(text)
            for kind, count in counts.items():
                repaired(_PII_REASONS[kind], count, f"{count} masked")
        shortened = False  # by removed lines
        if doc.source in self._plan.web_sources and "navigation" not in off:
            text, lines = self._navigation.remove(text)
            if lines:
                shortened = True
                text = clean_text.normalise_whitespace(text)
                repaired(Reason.NAVIGATION_REMOVED, lines, f"{lines} lines")
        deduplicated, lines, duplicate_share = clean_text.dedup_paragraphs(text, config.duplicate_paragraph_min_chars)
        if lines and "duplicate_paragraphs" not in off:
            shortened = True
            text = deduplicated
            repaired(Reason.PARAGRAPHS_DEDUPLICATED, lines, f"{lines} repeated lines")
        if shortened and converting and not any(r.reason is Reason.CONVERTED_TO_SIMPLIFIED for r in repairs):
            # Removed English navigation can lift the traditional share over the bar:
            # measuring again keeps cleaning idempotent.
            text, title, char_counts = self._convert(text, title, repaired)
            counted = text

        if char_counts is None or counted is not text:
            char_counts = self._table.counts(text)
        chars, share = char_counts.chars, char_counts.chinese_share
        rejections = self._rejections(text, title, chars, share, duplicate_share, off)
        meta["chars"] = chars
        meta["chinese_share"] = round(share, 6)
        return Document(doc.doc_id, doc.source, text, tuple(sorted(meta.items())), (*doc.verdicts, *repairs, *rejections))

    def _convert(
        self, text: str, title: str, repaired: Any, facts: clean_text.Facts | None = None
    ) -> tuple[str, str, clean_text.Facts]:
        """(text, title, the counts of the text returned); ``facts``: of ``text``, if known."""
        assert self._converter is not None
        counts = facts or self._table.counts(text)
        share = counts.traditional_share
        if share < self._config.min_traditional_share:
            return text, title, counts
        repaired(Reason.CONVERTED_TO_SIMPLIFIED, round(share, 6), f"{self._config.convert}: traditional share {share:.3f}")
        text, counts = self._to_fixpoint(text)
        return text, self._to_fixpoint(title)[0], counts

    def _to_fixpoint(self, text: str) -> tuple[str, clean_text.Facts]:
        """OpenCC's tables chain for a few characters (t2s: 薴 -> 苧 -> 苎): convert until
        nothing changes (at most 4 passes), so cleaning a cleaned text changes nothing.
        A converted text with no traditional-only character left needs no second pass:
        cleaning it again measures a traditional share of 0 and does not convert it.
        Returns the text and its counts."""
        assert self._converter is not None
        counts = None
        for _ in range(4):
            converted = self._converter.convert(text)
            if converted == text:
                break
            text, counts = converted, None
            if self._config.min_traditional_share > 0:
                counts = self._table.counts(text)
                if not counts.traditional:
                    break
        return text, counts or self._table.counts(text)

    def _rejections(
        self, text: str, title: str, chars: int, share: float, duplicate_share: float, off: frozenset[str]
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
            hits = self._ads.distinct(text)
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
