"""Rule files: plain UTF-8 text, one term per line, ``#`` comments, blank lines ignored.

Users keep these files (navigation phrases, advertisement keywords, sensitive words), so
loading them must fail loudly and precisely: a file in the wrong encoding, or a line that
cannot be a term, is a ``ConfigError`` naming the file and line (exit code 2), found at
start-up before any work.

A line starting with ``re:`` is a regular expression (Python syntax) where a file allows
them; the rest of the line is the pattern, checked to compile.
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


def _bad_characters(term: str) -> list[str]:
    return [f"U+{ord(char):04X}" for char in term if unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs", "Cn")]


def load_rules(path: str, allow_patterns: bool = False) -> Rules:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"rule file {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"rule file {path}: not UTF-8 (line {line}); save it as UTF-8") from None
    terms: list[str] = []
    patterns: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("re:"):
            if not allow_patterns:
                raise ConfigError(f"rule file {path}, line {number}: patterns (re:) are not allowed in this file")
            pattern = line[3:].strip()
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"rule file {path}, line {number}: bad pattern {pattern!r}: {exc}") from None
            patterns.append(pattern)
            continue
        bad = _bad_characters(line)
        if bad:
            raise ConfigError(f"rule file {path}, line {number}: invalid characters {', '.join(bad)} in {line!r}")
        terms.append(line)
    return Rules(path=path, terms=tuple(terms), patterns=tuple(patterns))
