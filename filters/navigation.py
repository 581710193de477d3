"""Navigation bars and boilerplate lines of web pages (PanGu's cleaning rule 5).

A line-level classifier from rules, applied to web sources after HTML-to-text. A line is
boilerplate when any of these holds:

1. a pattern of the rule file (``re:`` lines: copyright and ICP footers, site-specific
   headers) matches it;
2. it is short (at most ``max_chars`` non-space characters), does not end a sentence, and
   navigation terms of the rule file (首页, 上一页, 登录, 分享到 ...) cover at least half
   of its characters;
3. it looks like a menu or a breadcrumb trail: at least ``min_segments`` segments split by
   separators (| > » / · or spaces), on average no longer than ``max_segment_chars``,
   and no sentence punctuation.

Rules 2 and 3 look at short, sentence-less lines only, so a paragraph that mentions 首页
is never touched.
"""

from __future__ import annotations

import re

from filters.matcher import TermMatcher, normalise_term
from filters.rulefile import Rules

_SENTENCE_END = ("。", "！", "？", "；", ".", "!", "?", ";", "…", "”")
_SENTENCE_PUNCTUATION = re.compile(r"[。！？；，,;]")
_SEPARATORS = re.compile(r"\s*[|｜>＞»›/／·•]\s*|\s+")


_GLOBAL_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


def _scoped(pattern: str) -> str:
    """One pattern as a group of an alternation: a leading (?i) becomes (?i:...)."""
    flags = _GLOBAL_FLAGS.match(pattern)
    if flags:
        return f"(?{flags.group(1)}:{pattern[flags.end() :]})"
    return f"(?:{pattern})"


class NavigationRules:
    def __init__(self, rules: Rules, max_chars: int = 20, min_segments: int = 3, max_segment_chars: float = 6.0) -> None:
        self._matcher = TermMatcher(rules.terms)
        self._patterns = re.compile("|".join(map(_scoped, rules.patterns))) if rules.patterns else None
        self._max_chars = max_chars
        self._min_segments = min_segments
        self._max_segment_chars = max_segment_chars

    def is_boilerplate(self, line: str, patterns_possible: bool = True) -> bool:
        """Whether a line is navigation or boilerplate (``patterns_possible=False``: the
        caller knows no pattern matches anywhere in the text)."""
        stripped = line.strip()
        if not stripped:
            return False
        if patterns_possible and self._patterns is not None and self._patterns.search(stripped):
            return True
        if _SENTENCE_PUNCTUATION.search(stripped) or stripped.endswith(_SENTENCE_END):
            return False
        compact = "".join(stripped.split())
        if len(compact) <= self._max_chars and self._term_coverage(compact) * 2 >= len(compact):
            return True
        segments = [segment for segment in _SEPARATORS.split(stripped) if segment]
        return len(segments) >= self._min_segments and sum(map(len, segments)) / len(segments) <= self._max_segment_chars

    def _term_coverage(self, compact: str) -> int:
        covered = [False] * len(normalise_term(compact))
        for hit in self._matcher.find(compact):
            covered[hit.start : hit.end] = [True] * (hit.end - hit.start)
        return sum(covered)

    def remove(self, text: str) -> tuple[str, int]:
        """(text without boilerplate lines, lines removed)."""
        kept: list[str] = []
        removed = 0
        # One scan of the whole text tells whether any line can match a pattern at all.
        patterns_possible = self._patterns is not None and self._patterns.search(text) is not None
        for line in text.split("\n"):
            if line and self.is_boilerplate(line, patterns_possible):
                removed += 1
            else:
                kept.append(line)
        return ("\n".join(kept), removed) if removed else (text, 0)
