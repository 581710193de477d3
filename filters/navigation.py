"""Navigation bars and boilerplate lines of web pages (PanGu's cleaning rule 5).

A line-level classifier from rules, applied to web sources after HTML-to-text. A line is
boilerplate when any of these holds:

1. a pattern of the rule file (``re:`` lines: copyright and ICP footers, site-specific
   headers) matches it and it is footer-like: at most 30 characters, or at most
   ``pattern_max_chars`` without a full stop, so a paragraph that mentions 版权所有 stays;
2. it does not end or hold a sentence, and it is made only of navigation terms of the
   rule file (首页, 上一页, 登录, 分享到 ...) and separators, at most ``max_chars``
   characters: 搜索引擎 or 注册资本 hold a term but are not made of terms;
3. it looks like a menu or a breadcrumb trail: at least ``min_segments`` segments split by
   explicit separators (| > » / ·), on average at most ``max_segment_chars`` long; or
   split by spaces, then with at least four segments of at most four characters, one of
   which is a navigation term (首页 新闻 体育 娱乐), so that a poem laid out with spaces or a
   date (2023 年 5 月 1 日) is not a menu.

Rules 2 and 3 look at sentence-less lines only, so a paragraph that mentions 首页 is never
touched. Patterns are compiled one by one (a back-reference or a named group in one
cannot break another), and one scan of the whole text tells whether any can match.
"""

from __future__ import annotations

import re

from filters.matcher import TermMatcher
from filters.rulefile import Rules

_SENTENCE_END = ("。", "！", "？", "；", ".", "!", "?", ";", "…", "”", "、", "，", ",")
_SENTENCE_PUNCTUATION = re.compile(r"[。！？；，,;、：:]")
_EXPLICIT_SEPARATORS = re.compile(r"\s*[|｜>＞»›/／·•]\s*")
_SPACES = re.compile(r"\s+")
_FULL_STOP = re.compile(r"[。！？]")
_WORD_CHARACTER = re.compile(r"[^\W_]")
# A line without sentence punctuation: the first line, and the others after their line
# break (the engine jumps from line break to line break; a leading ^ in MULTILINE mode
# is tried at every character). Possessive: a line with a mark fails without backtracking.
_SENTENCE_LESS_FIRST_LINE = re.compile(r"[^\n。！？；，,;、]++(?=\n|\Z)")
_SENTENCE_LESS_LATER_LINE = re.compile(r"\n([^\n。！？；，,;、]++)(?=\n|\Z)")
_REMEMBERED_LINES = 100_000
"""Decisions kept per worker (forgotten all at once when full): a few MB at most."""


_LEADING_FLAGS_AND_CARET = re.compile(r"((?:\(\?[aiLmsux]+\))*)\^")
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")
"""Something that may refer to a group by number or name (or a literal that looks so:
such a pattern is then searched apart, which is only slower)."""


def _line_finder(pattern: str) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """How to find where a pattern matches. A pattern anchored at a line start (``^...``)
    becomes (the rest, matched at the start of the text; a line break followed by the
    rest, searched): the engine then jumps from line break to line break instead of trying
    every position (a tenth of the time on the sample's web pages), and every line the
    pattern matches at the start of is found, even where matches would overlap. Any other
    pattern is (the pattern, None), searched as written. Only a pattern whose parse begins
    with the anchor is rewritten (``^a|b`` is an alternation, and stays as it is)."""
    compiled = re.compile(pattern, re.MULTILINE)
    prefix = _LEADING_FLAGS_AND_CARET.match(pattern)
    try:
        from re import _parser  # the parse the compiler works from

        parsed = list(_parser.parse(pattern))
        anchored = bool(parsed) and parsed[0] == (_parser.AT, _parser.AT_BEGINNING)
    except Exception:  # noqa: BLE001 - another Python's internals: search as written
        anchored = False
    if not (anchored and prefix) or "x" in prefix.group(1):
        # Verbose patterns (?x) are searched as written: white space and # comments
        # there would swallow what the rewrite adds.
        return compiled, None
    flags, rest = prefix.group(1), pattern[prefix.end() :]
    return re.compile(f"{flags}(?:{rest})", re.MULTILINE), re.compile(f"{flags}\\n(?={rest})", re.MULTILINE)


def _line_finders(patterns: list[str]) -> list[tuple[re.Pattern[str], re.Pattern[str] | None]]:
    """``_line_finder`` of each pattern, except that the patterns anchored at a line start
    are searched together, as one alternation inside the lookahead after the line break:
    each line break is tried once for all of them, and as the lookahead consumes nothing
    the lines found are those any of them finds. A pattern with a back-reference (group
    numbers shift in an alternation) is searched apart, and all of them are if they do
    not compile together (a group name used twice)."""
    finders, together = [], []
    for pattern in patterns:
        finder = _line_finder(pattern)
        if finder[1] is None or _BACKREFERENCE.search(pattern):
            finders.append(finder)
        else:
            together.append(pattern)
    if len(together) < 2:
        return finders + [_line_finder(pattern) for pattern in together]
    scoped = []
    for pattern in together:
        prefix = _LEADING_FLAGS_AND_CARET.match(pattern)
        assert prefix is not None  # _line_finder rewrote it
        flags = "".join(re.findall(r"[aiLmsux]", prefix.group(1)))
        scoped.append(f"(?{flags}:{pattern[prefix.end() :]})" if flags else f"(?:{pattern[prefix.end() :]})")
    alternation = "|".join(scoped)
    try:
        combined = (re.compile(f"(?:{alternation})", re.MULTILINE), re.compile(f"\\n(?={alternation})", re.MULTILINE))
    except re.error:
        return finders + [_line_finder(pattern) for pattern in together]
    return [*finders, combined]


class NavigationRules:
    def __init__(
        self,
        rules: Rules,
        max_chars: int = 20,
        min_segments: int = 3,
        max_segment_chars: float = 6.0,
        pattern_max_chars: int = 80,
    ) -> None:
        self._matcher = TermMatcher(rules.terms)
        self._patterns = [re.compile(pattern, re.MULTILINE) for pattern in rules.patterns]
        self._line_finders = _line_finders(list(rules.patterns))
        self._max_chars = max_chars
        self._min_segments = min_segments
        self._max_segment_chars = max_segment_chars
        self._pattern_max_chars = pattern_max_chars
        self._decisions: dict[str, bool] = {}

    def is_boilerplate(self, line: str, patterns: list[re.Pattern[str]] | None = None) -> bool:
        """Whether a line is navigation or boilerplate. ``patterns``: the patterns worth
        trying (default all; ``remove`` has already tried them and passes none)."""
        stripped = line.strip()
        if not stripped:
            return False
        candidates = self._patterns if patterns is None else patterns
        if candidates and self._footer_like(stripped) and any(pattern.search(stripped) for pattern in candidates):
            return True
        # A colon inside a line joins a sentence; at its end it labels a menu (分享到：).
        if _SENTENCE_PUNCTUATION.search(stripped.rstrip("：:")) or stripped.endswith(_SENTENCE_END):
            return False
        if len(stripped) <= self._max_chars * 2 and self._only_terms(stripped):
            return True
        return self._menu_shaped(stripped)

    def _footer_like(self, stripped: str) -> bool:
        """Short, or holding no full sentence: a paragraph that mentions 版权所有 in passing
        is not a footer."""
        return len(stripped) <= 30 or (len(stripped) <= self._pattern_max_chars and not _FULL_STOP.search(stripped))

    def _only_terms(self, stripped: str) -> bool:
        """Every letter, digit or ideograph of the line lies inside a navigation term."""
        hits = self._matcher.find(stripped)
        if not hits:
            return False
        remainder, position = [], 0
        for hit in hits:
            if hit.start > position:
                remainder.append(stripped[position : hit.start])
            position = max(position, hit.end)
        remainder.append(stripped[position:])
        return _WORD_CHARACTER.search("".join(remainder)) is None

    def _menu_shaped(self, stripped: str) -> bool:
        segments = [segment for segment in _EXPLICIT_SEPARATORS.split(stripped) if segment]
        if len(segments) >= self._min_segments:
            return sum(map(len, segments)) / len(segments) <= self._max_segment_chars
        words = [word for word in _SPACES.split(stripped) if word]
        return len(words) >= 4 and all(len(word) <= 4 for word in words) and any(self._matcher.find(word) for word in words)

    def remove(self, text: str) -> tuple[str, int]:
        """(text without boilerplate lines, lines removed). Each pattern runs once over the
        whole text (MULTILINE) to find the lines it matches, and only lines that hold no
        sentence punctuation reach the Python checks: a regex finds them in C. The checks
        run once per distinct line, and their answer is remembered (a site repeats its
        menus on every page: 41,000 distinct of the sample's 133,000 such lines, of which
        5,400 are boilerplate); the text is split into lines only when one goes."""
        dropped_lines: set[int] = set()  # indices of lines a pattern removes
        for first, later in self._line_finders:
            if later is None:
                starts = [match.start() for match in first.finditer(text)]
            else:
                starts = [match.start() + 1 for match in later.finditer(text)]
                if first.match(text):
                    starts.append(0)
            for position in starts:
                start = text.rfind("\n", 0, position) + 1
                end = text.find("\n", start)
                line = text[start : end if end >= 0 else len(text)]
                if line and self._footer_like(line.strip()):
                    dropped_lines.add(text.count("\n", 0, start))
        decisions = self._decisions
        boilerplate: set[str] = set()
        first = _SENTENCE_LESS_FIRST_LINE.match(text)
        sentence_less = set(_SENTENCE_LESS_LATER_LINE.findall(text))
        if first:
            sentence_less.add(first.group())
        for line in sentence_less:
            decision = decisions.get(line)
            if decision is None:
                if len(decisions) >= _REMEMBERED_LINES:
                    decisions.clear()
                decision = decisions[line] = self.is_boilerplate(line, patterns=[])
            if decision:
                boilerplate.add(line)
        if not (boilerplate or dropped_lines):
            return text, 0
        lines = text.split("\n")
        if dropped_lines:
            kept = [line for index, line in enumerate(lines) if not (line in boilerplate or index in dropped_lines)]
        else:
            kept = [line for line in lines if line not in boilerplate]
        removed = len(lines) - len(kept)
        if not removed:
            return text, 0
        # As if each removed line went with the line break after it: a removed last line
        # leaves the break before it.
        last_removed = lines[-1] in boilerplate or len(lines) - 1 in dropped_lines
        return "\n".join(kept) + ("\n" if last_removed and kept else ""), removed
