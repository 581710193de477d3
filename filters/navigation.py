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
_SEPARATORS_BUT_SLASH = re.compile(r"\s*[|｜>＞»›·•]\s*")
"""A slash separates a breadcrumb only in a line with Chinese in it: /usr/share/doc is a path."""
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
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
        separators = _EXPLICIT_SEPARATORS if _CHINESE.search(stripped) else _SEPARATORS_BUT_SLASH
        segments = [segment for segment in separators.split(stripped) if segment]
        if len(segments) >= self._min_segments:
            return sum(map(len, segments)) / len(segments) <= self._max_segment_chars
        words = [word for word in _SPACES.split(stripped) if word]
        return len(words) >= 4 and all(len(word) <= 4 for word in words) and any(self._matcher.find(word) for word in words)

    def flags(self, text: str) -> list[bool] | None:
        """Per line of ``text``, whether it is boilerplate; None when no line is. Each
        pattern runs once over the whole text (MULTILINE) to find the lines it matches, and
        only lines that hold no sentence punctuation reach the Python checks: a regex finds
        them in C. The checks run once per distinct line, and their answer is remembered (a
        site repeats its menus on every page: 41,000 distinct of the sample's 133,000 such
        lines, of which 5,400 are boilerplate); the text is split into lines only when one
        goes."""
        dropped_lines: set[int] = set()  # indices of lines a pattern removes
        starts: set[int] = set()
        for first, later in self._line_finders:
            if later is None:
                starts.update(match.start() for match in first.finditer(text))
            else:
                starts.update(match.start() + 1 for match in later.finditer(text))
                if first.match(text):
                    starts.add(0)
        index, counted = 0, 0  # the line of position ``counted``, counted as the positions ascend
        for position in sorted(starts):
            start = text.rfind("\n", 0, position) + 1
            index += text.count("\n", counted, start)
            counted = start
            end = text.find("\n", start)
            line = text[start : end if end >= 0 else len(text)]
            if line and self._footer_like(line.strip()):
                dropped_lines.add(index)
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
            return None
        return [line in boilerplate or index in dropped_lines for index, line in enumerate(text.split("\n"))]

    def remove(self, text: str) -> tuple[str, int]:
        """(text without boilerplate lines, lines removed)."""
        flags = self.flags(text)
        return remove_lines(text, flags) if flags else (text, 0)


def remove_lines(text: str, flags: list[bool]) -> tuple[str, int]:
    """(text without the flagged lines, lines removed): as if each removed line went with
    the line break after it (a removed last line leaves the break before it)."""
    lines = text.split("\n")
    kept = [line for line, flagged in zip(lines, flags, strict=True) if not flagged]
    removed = len(lines) - len(kept)
    if not removed:
        return text, 0
    return "\n".join(kept) + ("\n" if flags[-1] and kept else ""), removed


# --- web pages with their structure --------------------------------------------------------

JUNK_ZONES = frozenset("nfscax")
"""Zones of corpus/html.py that hold no text of the page's own: navigation, footer, aside,
comments, advertisements, widgets."""
_URL_LINE = re.compile(r"^(?:→\s*)?(?:https?://|www\.)|^\[\d+\]\s")
"""A reference: a URL, or a numbered footnote ([28] 参见 Debian Policy Manual ...), which
is text even when it is mostly a link."""
_PROSE_PUNCTUATION = re.compile(r"[。！？；，]")


def _prose(line: str, link: int) -> bool:
    """A line of running text: sentence punctuation, 20 characters or more, few links."""
    return link <= 3 and len(line) >= 20 and _PROSE_PUNCTUATION.search(line) is not None


def _asides_with_text(stripped: list[str], zones: str, links: str) -> set[int]:
    """The lines of asides that hold running text of 30 characters or more: boxes in the
    text's own flow (a manual's "sidebar" of notes), not a site's column of links."""
    rescued: set[int] = set()
    lowered = zones.lower()
    for run in re.finditer(r"s+", lowered):
        start, end = run.span()
        if any(len(stripped[k]) >= 30 and _prose(stripped[k], int(links[k])) for k in range(start, end)):
            rescued.update(range(start, end))
    return rescued


def structural_junk(
    lines: list[str], zones: str, links: str, boilerplate: list[bool], short_chars: int = 10, link_share: int = 7
) -> list[bool]:
    """Which lines of a web page are junk, from the page's structure (corpus/html.py:
    each line's zone and link share) and the text rules' verdicts (``boilerplate``). Tuned
    on the gold set's tune split: 0.9% of content lines removed and 93% of junk lines, on
    its check split 2.1% and 90% (gold/README.md).

    - a heading of the main zone is never junk (a property heading 打印 is content);
    - a line the text rules call boilerplate is junk;
    - a line mostly inside links (``link_share`` tenths or more) is junk: menus, lists of
      related headlines; unless it is a reference (a URL, a numbered footnote);
    - a line in a junk zone is junk if it is not running text, and short (``short_chars``
      or fewer) or partly a link; comments are junk even as running text; an aside that
      holds running text is the text's own box (a manual's "sidebar" note), not junk;
    - a short line without sentence punctuation between two junk lines is junk (the time
      stamps, source names and counters of a list of related headlines)."""
    stripped = list(map(str.strip, lines))
    lowered = zones.lower()
    rescued = _asides_with_text(stripped, zones, links)
    headings = {line for line, zone in zip(stripped, zones, strict=True) if zone == "M"}
    junk: list[bool] = []
    for index, (line, zone, link_digit, rule) in enumerate(zip(stripped, lowered, links, boilerplate, strict=True)):
        if rule:
            junk.append(bool(line) and zones[index] != "M")
            continue
        if zones[index] == "M" or not line:
            junk.append(False)
            continue
        link = int(link_digit)
        # A copy of one of the page's headings (its title again in a header bar) is its
        # title, as gold/GUIDELINE.md counts it.
        in_junk_zone = zone in JUNK_ZONES and index not in rescued and line not in headings
        if link < link_share and not in_junk_zone:
            junk.append(False)
            continue
        reference = _URL_LINE.match(line) is not None
        junk.append(
            not reference
            and (link >= link_share or (zone == "c" or (not _prose(line, link) and (len(line) <= short_chars or link >= 3))))
        )
    # A run of several short lines between junk is junk too: each such line is judged by
    # the nearest non-empty lines before it (as already judged) and after it.
    filled = [index for index, line in enumerate(stripped) if line]
    for _ in range(2):
        for position, index in enumerate(filled):
            line = stripped[index]
            if junk[index] or zones[index] == "M" or len(line) > 20 or _PROSE_PUNCTUATION.search(line):
                continue
            before = position > 0 and junk[filled[position - 1]]
            after = position + 1 < len(filled) and junk[filled[position + 1]]
            if before and after:
                junk[index] = True
    return junk
