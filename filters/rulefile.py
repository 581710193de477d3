"""Rule files: plain UTF-8 text, one term per line, ``#`` comments, blank lines ignored.

Users keep these files (navigation phrases, advertisement keywords, sensitive words), so
loading them must fail loudly and precisely: a file in the wrong encoding, or a line that
cannot be a term, is a ``ConfigError`` naming the file and line (exit code 2), found at
start-up before any work.

A line starting with ``re:`` is a regular expression (Python syntax) where a file allows
them; the rest of the line is the pattern, checked to compile. ``tail:`` is a pattern too,
for files of boilerplate lines: the line it matches starts a document's trailing block
(credits, a download notice), which goes to the end.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from corpus.config import ConfigError


@dataclass(frozen=True)
class Rules:
    path: str
    terms: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    tails: tuple[str, ...] = ()


def _bad_characters(term: str) -> list[str]:
    return [f"U+{ord(char):04X}" for char in term if unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp")]


@dataclass(frozen=True)
class RuleLine:
    number: int
    text: str
    pattern: bool
    tail: bool = False


@dataclass(frozen=True)
class RuleFileScan:
    """Every term of a file with its line number, and every problem found on the way."""

    path: str
    lines: tuple[RuleLine, ...]
    problems: tuple[str, ...]


def scan_rules(path: str, allow_patterns: bool = False) -> RuleFileScan:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return RuleFileScan(path, (), (f"cannot be read ({exc.strerror or exc})",))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return RuleFileScan(path, (), (f"not UTF-8 (line {line}); save it as UTF-8",))
    lines: list[RuleLine] = []
    problems: list[str] = []
    # split("\n"), not splitlines(): a form feed or U+2028 inside a term is an invalid
    # character to report, not a line break that shifts every later line number.
    for number, raw in enumerate(text.split("\n"), start=1):
        raw = raw.removesuffix("\r")
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("re:", "tail:")):
            tail = line.startswith("tail:")
            pattern = line[5 if tail else 3 :].strip()
            if not allow_patterns:
                problems.append(f"line {number}: patterns (re:, tail:) are not allowed in this file")
                continue
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"line {number}: bad pattern {pattern!r}: {exc}")
                continue
            lines.append(RuleLine(number, pattern, True, tail))
            continue
        bad = _bad_characters(line)
        if bad:
            problems.append(f"line {number}: invalid characters {', '.join(bad)} in {line!r}")
            continue
        lines.append(RuleLine(number, line, False))
    return RuleFileScan(path, tuple(lines), tuple(problems))


def load_rules(path: str, allow_patterns: bool = False) -> Rules:
    """The terms and patterns of a rule file; ConfigError naming the file and line of its
    first problem."""
    scan = scan_rules(path, allow_patterns)
    if scan.problems:
        separator = ", " if scan.problems[0].startswith("line") else ": "
        raise ConfigError(f"rule file {path}{separator}{scan.problems[0]}")
    return Rules(
        path=path,
        terms=tuple(line.text for line in scan.lines if not line.pattern),
        patterns=tuple(line.text for line in scan.lines if line.pattern and not line.tail),
        tails=tuple(line.text for line in scan.lines if line.tail),
    )
