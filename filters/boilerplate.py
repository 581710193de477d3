"""Boilerplate lines of any source: what a site, a converter or a packager added to every
document, found by the patterns of a rule file (``filters/rules/boilerplate.txt``).

Web pages have their own rules (filters/navigation.py, with the page's structure); these
are for text that has no structure: troff that a man-page converter left behind, the
translators' credits at the end of a man page, an e-book site's section markers and
download notices. A ``re:`` pattern removes the lines it matches (at most ``MAX_CHARS``
long: a paragraph that quotes a pattern stays); a ``tail:`` pattern starts a trailing
block that is removed to the end of the document, line by line while the lines are short.
"""

from __future__ import annotations

import re

from filters.navigation import _line_finder, _line_finders
from filters.rulefile import Rules

MAX_CHARS = 120
"""A line longer than this is text, not boilerplate, whatever it matches."""


_LINE_LOCAL_ONLY = re.compile(r"\\[AZ]|\(\?<[=!]")
"""What a pattern may mean differently in one line than in the whole text (\\A, \\Z,
lookbehinds): with one of these, every line is tried on its own."""


class BoilerplateRules:
    def __init__(self, rules: Rules) -> None:
        patterns, tails = list(rules.patterns), list(rules.tails)
        self._lines = _Alternatives(patterns)
        self._tails = _Alternatives(tails)
        # Finders over the whole text (filters/navigation.py): the line-start patterns are
        # tried at line breaks only, all at once; they give the lines worth trying.
        self._finders = _line_finders([*patterns, *tails])
        self._whole_text = not any(_LINE_LOCAL_ONLY.search(pattern) for pattern in (*patterns, *tails))

    def flags(self, text: str) -> list[bool] | None:
        """Per line, whether it is boilerplate; None when no line is."""
        if not self._finders:
            return None
        if "\n" not in text:  # one line (most reviews): tried as it is
            line = text.strip()
            found = bool(line) and len(line) <= MAX_CHARS and (self._tails.search(line) or self._lines.search(line))
            return [True] if found else None
        lines = text.split("\n")
        stripped = list(map(str.strip, lines))
        candidates: list[int] | None = None
        if self._whole_text:
            # In the lines stripped and joined, a line's match is a match in the whole text
            # (^ and $ at line ends), so the whole text's matches name the lines to try.
            candidates = self._candidates("\n".join(stripped))
            if candidates is not None and not candidates:
                return None
        flags = [False] * len(lines)
        found = False
        count = len(lines)
        order = iter(candidates) if candidates is not None else iter(range(count))
        for index in order:
            line = stripped[index]
            if flags[index] or not line or len(line) > MAX_CHARS:
                continue  # inside a tail already, empty, or text
            if self._tails.search(line):
                # A tail: removed to the end while the lines are short.
                while index < count and len(stripped[index]) <= MAX_CHARS:
                    flags[index] = found = True
                    index += 1
            elif self._lines.search(line):
                flags[index] = found = True
        return flags if found else None

    def _candidates(self, text: str) -> list[int] | None:
        """The lines (indexes, ascending) where a pattern matches in the whole text; None
        when a match crosses a line break (then every line is tried)."""
        starts: set[int] = set()
        for first, later in self._finders:
            if later is None:
                for match in first.finditer(text):
                    if "\n" in match.group():
                        return None
                    starts.add(match.start())
            else:
                if first.match(text) is not None:
                    starts.add(0)
                starts.update(match.start() + 1 for match in later.finditer(text))
        lines: list[int] = []
        line, position = 0, 0
        for start in sorted(starts):
            line += text.count("\n", position, start)
            position = start
            if not lines or lines[-1] != line:
                lines.append(line)
        return lines


class _Alternatives:
    """Patterns tried on one line: those anchored at its start (``^...``) matched at the
    start only, the others searched. Searched together, an alternation of anchored
    patterns is tried at every character of the line."""

    def __init__(self, patterns: list[str]) -> None:
        # Anchored as a whole (``^a|b`` is not), as filters/navigation.py tells it.
        starts = [_line_finder(pattern)[1] is not None for pattern in patterns]
        anchored = [pattern for pattern, start in zip(patterns, starts, strict=True) if start]
        others = [pattern for pattern, start in zip(patterns, starts, strict=True) if not start]
        self._anchored = re.compile("|".join(f"(?:{pattern})" for pattern in anchored)) if anchored else None
        self._others = re.compile("|".join(f"(?:{pattern})" for pattern in others)) if others else None

    def search(self, line: str) -> bool:
        return (self._anchored is not None and self._anchored.match(line) is not None) or (
            self._others is not None and self._others.search(line) is not None
        )
