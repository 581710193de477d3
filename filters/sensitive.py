"""The sensitive stage: documents holding too many terms of the users' rule files.

PanGu-α removed a document holding more than three of its 724 hand-collected sensitive
words (arXiv 2104.12369); the paper does not say distinct words or occurrences, so each
category of terms (a rule file) has its own ``max_hits`` (default 3: reject at 4 or more)
and ``count`` (``distinct``, the default, or ``occurrences``), and an optional allow-list
of longer harmless terms that contain a listed one (a hit inside an allowed term does not
count: 赌场 in a list, 赌场风云 the film in its allow-list).

Matching defeats simple evasion. Terms and text are folded the same way before an
Aho-Corasick automaton (ahocorasick-rs, see filters/matcher.py) runs over the text:
- traditional to simplified, character by character (OpenCC t2s of each character; it
  also merges a few simplified characters, 乾 -> 干, which can only add hits);
- full-width forms, mathematical and circled letters, Kangxi radicals to their plain
  characters (NFKC of single characters), and case;
- for Chinese terms, separators between the characters of a term are ignored: spaces,
  symbols, punctuation inside a clause, zero-width and combining characters, variation
  selectors (敏 感 词, 敏*感*词, 敏\u200b感词, 敏🎲感词). Sentence and clause punctuation
  (。！？；，：、) and line breaks are kept: 我不赌。博物馆 must not hit 赌博.
Terms without Chinese characters (porn, café) match as whole words, on the text with
zero-width and soft-hyphen characters removed (p\u200born still hits porn) but spaces
kept: removing spaces would make "sm" match inside "is my" (measured: a raw list of
~3,000 public terms flagged 14 of 15 debian-reference chapters through such short Latin
entries). A Chinese term with Latin ends (QQ群, A片) needs a word boundary at those ends.

Counting takes the leftmost-longest matches, so a term nested in a longer one (赌场 in
澳门赌场) or overlapping itself (哈哈 in 哈哈哈) counts once, and a longer allowed term
swallows the hits inside it. The same term written twice, or in both scripts (赌博 and
賭博), is one entry. Offsets are reported against the original text.
"""

from __future__ import annotations

import bisect
import functools
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
_BREAKS = set("。！？；，：、\n\r\u2028\u2029!?;")
"""Sentence and clause punctuation and line breaks: never dropped from between characters."""
_FILLERS = {0x115F, 0x1160, 0x3164, 0xFFA0}  # Hangul fillers: invisible letters


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES) or 0x20000 <= code <= 0x323AF


def _droppable(char: str) -> bool:
    """A character to skip between the characters of a Chinese term."""
    if char in _BREAKS:
        return False
    category = unicodedata.category(char)
    return char.isspace() or category[0] in "PSZ" or category in ("Cf", "Cc", "Mn", "Me") or ord(char) in _FILLERS


def _invisible(char: str) -> bool:
    """A character to skip inside a word term (zero-width, soft hyphen, combining marks)."""
    return unicodedata.category(char) in ("Cf", "Mn", "Me") or ord(char) in _FILLERS


@dataclass(frozen=True)
class Folding:
    """Three translate tables over the same folding: plain (same length as the text), for
    Chinese terms (separators dropped) and for word terms (invisible characters dropped)."""

    plain: dict[int, int | None]
    chinese: dict[int, int | None]
    words: dict[int, int | None]

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
        chinese: dict[int, int | None] = {}
        words: dict[int, int | None] = {}
        category = unicodedata.category
        for code in range(0x110000):
            if 0xD800 <= code < 0xE000:  # lone surrogates cannot reach the matcher (UTF-8)
                table[code] = 0xFFFD
                continue
            char = chr(code)
            if category(char) in ("Cn", "Co"):
                continue  # unassigned and private use (most code points): nothing folds them
            if code not in table:
                compatible = unicodedata.normalize("NFKC", char) if not char.isascii() else char
                if len(compatible) == 1 and compatible != char and (compatible.isalnum() or compatible == " "):
                    char = compatible  # full-width, math and circled letters, Kangxi radicals
                lowered = char.lower()
                if len(lowered) == 1:
                    char = lowered
                if char != chr(code):
                    table[code] = ord(char)
            target = chr(table.get(code, code))  # type: ignore[arg-type]
            if _droppable(target):
                chinese[code] = None
            if _invisible(target):
                words[code] = None
        return cls(plain=table, chinese={**table, **chinese}, words={**table, **words})

    def fold(self, text: str, drop_separators: bool) -> str:
        return text.translate(self.chinese if drop_separators else self.plain)

    def fold_words(self, text: str) -> str:
        return text.translate(self.words)

    @staticmethod
    def offsets(text: str, table: dict[int, int | None]) -> list[int]:
        """For each character of ``text`` folded by ``table``, its index in ``text``."""
        return [index for index, char in enumerate(text) if table.get(ord(char), 0) is not None]

    def original_offsets(self, text: str) -> list[int]:
        return self.offsets(text, self.chinese)


def _is_word_term(folded: str) -> bool:
    """A term without Chinese characters: matched as a whole word."""
    return any(char.isalnum() for char in folded) and not any(map(_is_cjk, folded))


def _word_char(char: str) -> bool:
    return char.isalnum() and not _is_cjk(char)


@dataclass(frozen=True)
class Hit:
    category: str
    term: str
    """As written in the rule file (its first spelling)."""
    start: int
    end: int
    """Offsets in the original text."""


@dataclass(frozen=True)
class _Entry:
    category: str
    term: str
    allow: bool


class SensitiveMatcher:
    """All categories' terms and allow-lists in two automata (Chinese terms, word terms),
    both leftmost-longest. An automaton's value is a small integer naming a folded key;
    the entries behind it are looked up only for the keys that hit."""

    def __init__(self, categories: Iterable[tuple[str, Iterable[str], Iterable[str]]], folding: Folding) -> None:
        self._folding = folding
        self._entries: list[dict[str, _Entry]] = []  # key id -> category -> entry (first spelling)
        self._keys: list[str] = []
        self._word: list[bool] = []
        ids: dict[tuple[bool, str], int] = {}
        self.sizes: dict[str, int] = {}
        for name, terms, allowed in categories:
            counted: set[int] = set()
            for term, allow in [(t, False) for t in terms] + [(t, True) for t in allowed]:
                word = _is_word_term(folding.fold(term, drop_separators=False))
                key = folding.fold_words(term.strip()) if word else folding.fold(term.strip(), drop_separators=True)
                if word:
                    key = " ".join(key.split())
                if not key:
                    continue
                if (word, key) not in ids:
                    ids[(word, key)] = len(self._entries)
                    self._entries.append({})
                    self._keys.append(key)
                    self._word.append(word)
                key_id = ids[(word, key)]
                existing = self._entries[key_id].get(name)
                if existing is None or (allow and not existing.allow):  # an allowed spelling wins
                    self._entries[key_id][name] = _Entry(name, existing.term if existing else term.strip(), allow)
                if not allow:
                    counted.add(key_id)
            self.sizes[name] = len([k for k in counted if not self._entries[k][name].allow])
        self._allow_ids = {key_id for key_id, entries in enumerate(self._entries) if any(e.allow for e in entries.values())}
        self._edged = {
            key_id
            for key_id, key in enumerate(self._keys)
            if not self._word[key_id] and (_word_char(key[0]) or _word_char(key[-1]))
        }
        kind = ahocorasick_rs.MatchKind.LeftmostLongest
        self._cjk_ids = [key_id for key_id, word in enumerate(self._word) if not word]
        self._word_ids = [key_id for key_id, word in enumerate(self._word) if word]
        self._cjk = ahocorasick_rs.AhoCorasick([self._keys[i] for i in self._cjk_ids], matchkind=kind) if self._cjk_ids else None
        self._words = (
            ahocorasick_rs.AhoCorasick([self._keys[i] for i in self._word_ids], matchkind=kind) if self._word_ids else None
        )

    def _cjk_matches(self, text: str) -> list[tuple[int, int, int]]:
        """(key id, start, end) on the Chinese folding (separators dropped)."""
        if self._cjk is None:
            return []
        ids = self._cjk_ids
        folded = self._folding.fold(text, drop_separators=True)
        return [(ids[index], start, end) for index, start, end in self._cjk.find_matches_as_indexes(folded)]

    def _word_matches(self, text: str) -> tuple[list[tuple[int, int, int]], str]:
        """(key id, start, end) of whole-word matches on the word folding, and that folding."""
        if self._words is None:
            return [], ""
        folded = self._folding.fold_words(text)
        found = []
        for index, start, end in self._words.find_matches_as_indexes(folded):
            if (start > 0 and _word_char(folded[start - 1])) or (end < len(folded) and _word_char(folded[end])):
                continue
            found.append((self._word_ids[index], start, end))
        return found, folded

    def _spans(self, text: str) -> list[tuple[int, int, int]]:
        """(key id, start, end) of every match, offsets in the original text, after the
        word-boundary check of Chinese terms with Latin ends."""
        spans: list[tuple[int, int, int]] = []
        cjk = self._cjk_matches(text)
        if cjk:
            offsets = self._folding.original_offsets(text)
            for key_id, start, end in cjk:
                first, last = offsets[start], offsets[end - 1] + 1
                key = self._keys[key_id]
                if key_id in self._edged and (
                    (_word_char(key[0]) and first > 0 and _word_char(text[first - 1]))
                    or (_word_char(key[-1]) and last < len(text) and _word_char(text[last]))
                ):
                    continue
                spans.append((key_id, first, last))
        words, _ = self._word_matches(text)
        if words:
            offsets = self._folding.offsets(text, self._folding.words)
            spans += [(key_id, offsets[start], offsets[end - 1] + 1) for key_id, start, end in words]
        spans.sort(key=lambda span: (span[1], span[2]))
        return spans

    def _counted(self, text: str) -> list[tuple[int, int, _Entry]]:
        """(start, end, entry) of every counted hit: allowed spans of a category swallow
        that category's hits inside them, whichever automaton found either."""
        spans = self._spans(text)
        found: list[tuple[int, int, _Entry]] = []
        allowed: dict[str, list[tuple[int, int]]] = {}
        for key_id, start, end in spans:
            for entry in self._entries[key_id].values():
                if entry.allow:
                    allowed.setdefault(entry.category, []).append((start, end))
                else:
                    found.append((start, end, entry))
        if not allowed:
            return found
        reach = {name: _reach(spans_) for name, spans_ in allowed.items()}
        return [(start, end, entry) for start, end, entry in found if not _inside(reach.get(entry.category), start, end)]

    def terms_hit(self, text: str) -> dict[tuple[str, str], int]:
        """(category, term) -> occurrences of every counted hit."""
        counted: Counter[tuple[str, str]] = Counter()
        cjk = self._cjk_matches(text)
        words, _ = self._word_matches(text)
        if not cjk and not words:
            return counted
        ids = {key_id for key_id, _, _ in cjk} | {key_id for key_id, _, _ in words}
        if ids & self._allow_ids or ids & self._edged:
            for _, _, entry in self._counted(text):
                counted[(entry.category, entry.term)] += 1
            return counted
        for key_id, occurrences in Counter(map(itemgetter(0), cjk + words)).items():
            for entry in self._entries[key_id].values():
                counted[(entry.category, entry.term)] += occurrences
        return counted

    def hits(self, text: str) -> list[Hit]:
        """Every counted hit with offsets in the original text (for explaining)."""
        found = [Hit(entry.category, entry.term, start, end) for start, end, entry in self._counted(text)]
        found.sort(key=lambda hit: (hit.start, hit.end, hit.category, hit.term))
        return found


def _reach(spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Starts sorted, and the furthest end reached by any span starting at or before each."""
    spans = sorted(spans)
    starts, ends, furthest = [], [], -1
    for start, end in spans:
        furthest = max(furthest, end)
        starts.append(start)
        ends.append(furthest)
    return starts, ends


def _inside(reach: tuple[list[int], list[int]] | None, start: int, end: int) -> bool:
    """Whether [start, end) lies inside one of the spans (O(log n))."""
    if reach is None:
        return False
    starts, ends = reach
    index = bisect.bisect_right(starts, start) - 1
    return index >= 0 and ends[index] >= end


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


@functools.cache
def _folding() -> Folding:
    """Built once per process (it walks every code point: about a second)."""
    return Folding.build()


class SensitiveRules:
    """The sensitive stage's judge."""

    def __init__(self, config: SensitiveConfig) -> None:
        self._config = config
        loaded = load_categories(config)
        self._categories = {category.name: category for category, _, _ in loaded}
        self._matcher = SensitiveMatcher(((c.name, terms, allowed) for c, terms, allowed in loaded), _folding())
        for category, _, _ in loaded:
            if not self._matcher.sizes.get(category.name):
                raise ConfigError(f"rule file {category.rules}: no term is left once normalised (category {category.name})")

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


def verdict_terms(detail: str) -> tuple[str, list[str]]:
    """The category and the terms (at most 20) a sensitive verdict's detail names: the
    inverse of the detail written by ``SensitiveFilter.judge``."""
    category, _, rest = detail.partition(": ")
    _, _, terms = rest.partition(": ")
    return category, [term for term in terms.split(", ") if term]


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
        folded = _key(line.text, folding)
        if not folded:
            problems.append(f"{path}, line {line.number}: {line.text!r} normalises to nothing (only separators)")
            continue
        by_folded.setdefault(folded, []).append((line.number, line.text))
    for folded, entries in by_folded.items():
        if len(entries) > 1:
            listed = ", ".join(f"line {number} {text!r}" for number, text in entries)
            problems.append(f"{path}: {listed} all normalise to {folded!r} (counted as one term)")
    if allow_path:
        allow_scan = scan_rules(allow_path)
        problems += [f"{allow_path}: {problem}" for problem in allow_scan.problems]
        matcher = SensitiveMatcher([("terms", [entries[0][1] for entries in by_folded.values()], [])], folding)
        for line in allow_scan.lines:
            if _key(line.text, folding) in by_folded:
                problems.append(f"{allow_path}, line {line.number}: {line.text!r} is also a term: the allow-list switches it off")
                continue
            inside = sorted({hit.term for hit in matcher.hits(line.text)})
            if inside:
                notes.append(f"{allow_path}, line {line.number}: {line.text!r} allows {', '.join(repr(t) for t in inside)}")
            else:
                problems.append(
                    f"{allow_path}, line {line.number}: {line.text!r} contains no term of {os.path.basename(path)}: it has no effect"
                )
    return CheckReport(path, len(by_folded), tuple(problems), tuple(notes))


def _key(term: str, folding: Folding) -> str:
    """A term as the matcher keys it."""
    if _is_word_term(folding.fold(term, drop_separators=False)):
        return " ".join(folding.fold_words(term).split())
    return folding.fold(term, drop_separators=True)


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
    if rules.mode == "annotate":
        lines.append(f"decision: kept (mode annotate; enforce mode would {'reject' if rejected else 'keep'} it)")
    else:
        lines.append(f"decision: {'rejected' if rejected else 'kept'} (mode enforce)")
    return lines
