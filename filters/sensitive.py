"""The sensitive stage: documents holding too many terms of the users' rule files.

PanGu-α removed a document holding more than three of its 724 hand-collected sensitive
words (arXiv 2104.12369); the paper does not say distinct words or occurrences, so each
category of terms (a rule file) has its own ``max_hits`` (default 3: reject at 4 or more)
and ``count`` (``distinct``, the default, or ``occurrences``), and an optional allow-list
of longer harmless terms that contain a listed one (a hit inside an allowed term does not
count: 赌场 in a list, 赌场风云 the film in its allow-list).

Matching defeats simple evasion. Terms and text are folded the same way before one
Aho-Corasick automaton (ahocorasick-rs, see filters/matcher.py) runs over the text:
- traditional to simplified, character by character (OpenCC t2s of each character);
- full-width letters and digits to ASCII, and case;
- separators removed for Chinese terms: white space, punctuation, symbols and zero-width
  characters between the characters of a term are ignored (敏 感 词, 敏*感*词, 敏\\u200b感词).
Terms made only of Latin letters and digits match as whole words on the folded text with
its separators kept: removing spaces would make "sm" match inside "is my" (measured: a
raw list of ~3,000 public terms flagged 14 of 15 debian-reference chapters through such
short Latin entries). Offsets are reported against the original text.
"""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter

import ahocorasick_rs

from corpus.config import ConfigError, SensitiveCategory, SensitiveConfig
from corpus.reasons import Reason
from corpus.record import Document, Verdict
from filters.rulefile import load_rules

STAGE = "sensitive"
EXAMPLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rules", "sensitive")
EXAMPLE_CATEGORIES = (
    SensitiveCategory(
        name="gambling", rules=os.path.join(EXAMPLES_DIR, "gambling.txt"), allow=os.path.join(EXAMPLES_DIR, "gambling-allow.txt")
    ),
    SensitiveCategory(name="porn", rules=os.path.join(EXAMPLES_DIR, "porn.txt")),
    SensitiveCategory(name="fraud", rules=os.path.join(EXAMPLES_DIR, "fraud.txt")),
)
"""Used when the config names no categories: small example lists written by the team."""

_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


def _is_separator(char: str) -> bool:
    category = unicodedata.category(char)
    return char.isspace() or category[0] in "PSZ" or category in ("Cf", "Cc", "Mn")


@dataclass(frozen=True)
class Folding:
    """Two translate tables over the same folding: with and without separators."""

    keep_separators: dict[int, int | None]
    drop_separators: dict[int, int | None]

    @classmethod
    def build(cls) -> Folding:
        import opencc

        t2s = opencc.OpenCC("t2s").convert
        table: dict[int, int | None] = {}
        for low, high in _CJK_RANGES:
            for code in range(low, high + 1):
                simplified = t2s(chr(code))
                if len(simplified) == 1 and simplified != chr(code):
                    table[code] = ord(simplified)
        for code in range(0xFF01, 0xFF5F):  # full-width ASCII forms
            table[code] = code - 0xFEE0
        table[0x3000] = 0x20
        for code in range(0x10000):
            char = chr(code)
            lowered = char.lower()
            if code not in table and len(lowered) == 1 and lowered != char:
                table[code] = ord(lowered)
        for code in range(0x20, 0x7F):  # the folded forms of full-width letters must fold further
            if chr(code).isupper():
                table[code + 0xFEE0] = ord(chr(code).lower())
        for code in range(0xD800, 0xE000):  # lone surrogates cannot reach the matcher (UTF-8)
            table[code] = 0xFFFD
        dropping = dict(table)
        for code in range(0x10000):
            target = chr(table.get(code, code))  # type: ignore[arg-type]
            if _is_separator(target):
                dropping[code] = None
        return cls(keep_separators=table, drop_separators=dropping)

    def fold(self, text: str, drop_separators: bool) -> str:
        return text.translate(self.drop_separators if drop_separators else self.keep_separators)

    def original_offsets(self, text: str) -> list[int]:
        """For each character of the separator-free folding, its index in ``text``."""
        drop = self.drop_separators
        return [index for index, char in enumerate(text) if drop.get(ord(char), 0) is not None]


def _is_latin(term: str) -> bool:
    return term.isascii() and any(char.isalnum() for char in term)


def _word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


@dataclass(frozen=True)
class Hit:
    category: str
    term: str
    """As written in the rule file."""
    start: int
    end: int
    """Offsets in the original text."""


@dataclass(frozen=True)
class _Entry:
    category: str
    term: str
    allow: bool


class SensitiveMatcher:
    """All categories' terms and allow-lists in two automata (Chinese, Latin).

    An automaton's value is a small integer naming a folded key; the entries behind it
    are looked up only for the keys that hit. Counting a document's hits then needs no
    Python work per hit beyond a set of integers, which matters when a list of common
    words hits every few characters."""

    def __init__(self, categories: Iterable[tuple[str, Iterable[str], Iterable[str]]], folding: Folding) -> None:
        self._folding = folding
        self._entries: list[tuple[_Entry, ...]] = []
        self._keys: list[str] = []
        self._is_latin: list[bool] = []
        ids: dict[tuple[bool, str], int] = {}
        self.sizes: dict[str, int] = {}
        self._allow_ids: set[int] = set()
        for name, terms, allowed in categories:
            count = 0
            for term, allow in [(t, False) for t in terms] + [(t, True) for t in allowed]:
                latin = _is_latin(folding.fold(term, drop_separators=False))  # ＰＯＲＮ is Latin too
                key = folding.fold(term.strip(), drop_separators=not latin)
                if latin:
                    key = " ".join(key.split())
                if not key:
                    continue
                if (latin, key) not in ids:
                    ids[(latin, key)] = len(self._entries)
                    self._entries.append(())
                    self._keys.append(key)
                    self._is_latin.append(latin)
                key_id = ids[(latin, key)]
                self._entries[key_id] = (*self._entries[key_id], _Entry(name, term.strip(), allow))
                if allow:
                    self._allow_ids.add(key_id)
                count += 0 if allow else 1
            self.sizes[name] = count
        cjk_ids = [key_id for key_id, latin in enumerate(self._is_latin) if not latin]
        latin_ids = [key_id for key_id, latin in enumerate(self._is_latin) if latin]
        self._cjk_ids, self._latin_ids = cjk_ids, latin_ids
        self._cjk = ahocorasick_rs.AhoCorasick([self._keys[i] for i in cjk_ids]) if cjk_ids else None
        self._latin = ahocorasick_rs.AhoCorasick([self._keys[i] for i in latin_ids]) if latin_ids else None

    def _cjk_matches(self, text: str) -> list[tuple[int, int, int]]:
        """(key id, start, end) on the separator-free folding."""
        if self._cjk is None:
            return []
        ids = self._cjk_ids
        return [
            (ids[index], start, end)
            for index, start, end in self._cjk.find_matches_as_indexes(
                self._folding.fold(text, drop_separators=True), overlapping=True
            )
        ]

    def _latin_matches(self, text: str) -> list[tuple[int, int, int]]:
        """(key id, start, end): Latin terms as whole words on the folding with its
        separators kept (the same length as the text)."""
        if self._latin is None:
            return []
        plain = self._folding.fold(text, drop_separators=False)
        found = []
        for index, start, end in self._latin.find_matches_as_indexes(plain, overlapping=True):
            if (start > 0 and _word_char(plain[start - 1])) or (end < len(plain) and _word_char(plain[end])):
                continue
            found.append((self._latin_ids[index], start, end))
        return found

    def _spans(self, matches: list[tuple[int, int, int]]) -> list[tuple[int, int, _Entry]]:
        """(start, end, entry) of every counted hit: allowed spans of the same category
        swallow the hits inside them."""
        spans = [(start, end, entry) for key_id, start, end in matches for entry in self._entries[key_id]]
        if self._allow_ids.isdisjoint(key_id for key_id, _, _ in matches):
            return spans
        allowed = [(start, end, entry.category) for start, end, entry in spans if entry.allow]
        return [
            (start, end, entry)
            for start, end, entry in spans
            if not entry.allow and not any(a <= start and end <= b and name == entry.category for a, b, name in allowed)
        ]

    def terms_hit(self, text: str) -> dict[tuple[str, str], int]:
        """(category, term) -> occurrences of every counted hit."""
        counted: Counter[tuple[str, str]] = Counter()
        for matches in (self._cjk_matches(text), self._latin_matches(text)):
            if not matches:
                continue
            if self._allow_ids.isdisjoint(key_id for key_id, _, _ in matches):
                for key_id, occurrences in Counter(map(itemgetter(0), matches)).items():
                    for entry in self._entries[key_id]:
                        counted[(entry.category, entry.term)] += occurrences
            else:
                for _, _, entry in self._spans(matches):
                    counted[(entry.category, entry.term)] += 1
        return counted

    def hits(self, text: str) -> list[Hit]:
        """Every counted hit with offsets in the original text (for explaining)."""
        found: list[Hit] = []
        cjk = self._cjk_matches(text)
        if cjk:
            offsets = self._folding.original_offsets(text)
            found += [
                Hit(entry.category, entry.term, offsets[start], offsets[end - 1] + 1) for start, end, entry in self._spans(cjk)
            ]
        found += [Hit(entry.category, entry.term, start, end) for start, end, entry in self._spans(self._latin_matches(text))]
        found.sort(key=lambda hit: (hit.start, hit.end, hit.category, hit.term))
        return found


@dataclass(frozen=True)
class CategoryCount:
    category: str
    count: int
    terms: tuple[str, ...]
    rejects: bool


def load_categories(config: SensitiveConfig) -> list[tuple[SensitiveCategory, tuple[str, ...], tuple[str, ...]]]:
    """Every category with its terms and allowed terms; ConfigError on a bad file."""
    loaded = []
    for category in config.categories or EXAMPLE_CATEGORIES:
        terms = load_rules(category.rules).terms
        if not terms:
            raise ConfigError(f"rule file {category.rules}: no terms (category {category.name})")
        allowed = load_rules(category.allow).terms if category.allow else ()
        loaded.append((category, terms, allowed))
    return loaded


class SensitiveRules:
    """The sensitive stage's judge."""

    def __init__(self, config: SensitiveConfig) -> None:
        self._config = config
        loaded = load_categories(config)
        self._categories = {category.name: category for category, _, _ in loaded}
        self._matcher = SensitiveMatcher(((c.name, terms, allowed) for c, terms, allowed in loaded), Folding.build())

    def count(self, text: str) -> list[CategoryCount]:
        by_category: dict[str, dict[str, int]] = {}
        for (category, term), occurrences in self._matcher.terms_hit(text).items():
            by_category.setdefault(category, {})[term] = occurrences
        counts = []
        for name in self._categories:
            terms = by_category.get(name)
            if not terms:
                continue
            category = self._categories[name]
            count = len(terms) if category.count == "distinct" else sum(terms.values())
            counts.append(CategoryCount(name, count, tuple(sorted(terms)), count > category.max_hits))
        return counts

    def hits(self, text: str) -> list[Hit]:
        return self._matcher.hits(text)

    @property
    def categories(self) -> dict[str, SensitiveCategory]:
        return dict(self._categories)

    @property
    def mode(self) -> str:
        return self._config.mode

    def judge(self, doc: Document) -> Document:
        """A verdict per category over its max_hits; in annotate mode, per category with any
        hit (enforced=False, the detail says whether it would reject)."""
        enforced = self._config.mode == "enforce"
        for result in self.count(doc.text):
            if not (result.rejects or not enforced):
                continue
            category = self._categories[result.category]
            verdict_word = "> max_hits" if result.rejects else "<= max_hits"
            detail = f"{result.category}: {result.count} {category.count} hits {verdict_word}={category.max_hits}: " + ", ".join(
                result.terms[:20]
            )
            doc = doc.with_verdict(Verdict(STAGE, Reason.SENSITIVE_WORDS, float(result.count), detail, enforced))
        return doc


# --- rule file tools (zhcorpus rules check / explain) -----------------------------------


@dataclass(frozen=True)
class CheckReport:
    path: str
    terms: int
    problems: tuple[str, ...]
    notes: tuple[str, ...]


def check_rule_file(path: str, allow_path: str | None, folding: Folding) -> CheckReport:
    """Problems a person should fix in a rule file (and its allow-list), and notes."""
    from filters.rulefile import scan_rules

    scan = scan_rules(path)
    problems = [f"{path}, {problem}" if problem.startswith("line") else f"{path}: {problem}" for problem in scan.problems]
    notes: list[str] = []
    first_line: dict[str, int] = {}
    by_folded: dict[str, list[tuple[int, str]]] = {}
    for line in scan.lines:
        if line.text in first_line:
            problems.append(f"{path}, line {line.number}: duplicate of line {first_line[line.text]}: {line.text!r}")
            continue
        first_line[line.text] = line.number
        folded = folding.fold(line.text, drop_separators=not _is_latin(folding.fold(line.text, drop_separators=False)))
        folded = " ".join(folded.split())
        if not folded:
            problems.append(f"{path}, line {line.number}: {line.text!r} normalises to nothing (only separators)")
            continue
        by_folded.setdefault(folded, []).append((line.number, line.text))
    for folded, entries in by_folded.items():
        if len(entries) > 1:
            listed = ", ".join(f"line {number} {text!r}" for number, text in entries)
            problems.append(f"{path}: {listed} all normalise to {folded!r}")
    if allow_path:
        allow_scan = scan_rules(allow_path)
        problems += [f"{allow_path}: {problem}" for problem in allow_scan.problems]
        allowed = [(line.number, line.text, folding.fold(line.text, drop_separators=True)) for line in allow_scan.lines]
        for number, text, folded_allow in allowed:
            inside = [term for term in by_folded if term in folded_allow]
            if inside:
                notes.append(f"{allow_path}, line {number}: {text!r} allows {', '.join(repr(t) for t in inside)}")
            else:
                problems.append(
                    f"{allow_path}, line {number}: {text!r} contains no term of {os.path.basename(path)}: it has no effect"
                )
    return CheckReport(path, len(by_folded), tuple(problems), tuple(notes))


def explain(rules: SensitiveRules, text: str, context: int = 8) -> list[str]:
    """A readable account of what matched where, per category, and the decision."""
    lines = []
    hits = rules.hits(text)
    counts = {result.category: result for result in rules.count(text)}
    for name, category in rules.categories.items():
        result = counts.get(name)
        decision = "REJECT" if result and result.rejects else "keep"
        count = result.count if result else 0
        lines.append(f"{name}: {count} {category.count} hits, max_hits {category.max_hits} -> {decision}")
        for hit in (hit for hit in hits if hit.category == name):
            before = text[max(0, hit.start - context) : hit.start].replace("\n", " ")
            after = text[hit.end : hit.end + context].replace("\n", " ")
            lines.append(f"  {hit.term}  at {hit.start}-{hit.end}  …{before}[{text[hit.start : hit.end]}]{after}…")
    rejected = any(result.rejects for result in counts.values())
    lines.append(f"decision: {'rejected' if rejected else 'kept'} (mode {rules.mode})")
    return lines
