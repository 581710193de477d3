"""Text repairs of the clean stage: pure functions from text to (text, what changed).

Each repair keeps the document and returns how much it changed, so the stage can record a
repair verdict and reports can count them. Every function is idempotent: cleaning clean
text changes nothing.

- ``fix_unicode``: terminal colour codes, control, format (zero-width, bidi marks, BOM),
  private-use, surrogate and replacement characters removed; full-width ASCII letters and
  digits to half-width (Chinese punctuation is kept: it is the right punctuation for
  Chinese text); every kind of space to an ASCII space, line ends to ``\\n``, runs of
  spaces and of blank lines collapsed, lines stripped.
- ``remove_symbols``: runs of 3 or more decorative symbols (emoji walls, stars, box-drawing
  art, geometric shapes), runs of 4 or more of one punctuation mark collapsed to one, and
  lines made only of symbols and punctuation (separators like ``------``).
- ``dedup_paragraphs``: a line that repeats an earlier one (of at least ``min_chars``
  characters; shorter ones are headings, labels and table cells) is removed.
- ``mask_pii``: e-mail addresses, URLs, mainland ID card numbers (checksum verified) and
  phone numbers replaced by placeholders.
"""

from __future__ import annotations

import array
import functools
import re
import sys
import unicodedata
from collections import Counter
from typing import NamedTuple

from filters import _textscan

# --- Unicode ---------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|\^\[\[[0-9;]*m")
"""Escape sequences, and colour codes written out in caret notation (^[[32m, as a fortune
file that was saved from a terminal has them)."""


def _char_class(predicate: object, limit: int = 0x30000) -> str:
    """A regex character class of every code point below ``limit`` that matches."""
    ranges: list[tuple[int, int]] = []
    for code in range(limit):
        if predicate(chr(code)):  # type: ignore[operator]
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


def _invisible(char: str) -> bool:
    if char in "\n\t\r":
        return False
    return unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs") or char == "\ufffd"


# Private use planes 15 and 16 are added as ranges instead of being enumerated.
_INVISIBLE = re.compile(f"[{_char_class(_invisible)}\U000e0000-\U000e007f\U000f0000-\U0010ffff]+")
_RADICALS = re.compile("[\u2e80-\u2eff\u2f00-\u2fdf]")
"""Kangxi and supplementary radicals: PDF extraction yields ⼈ (U+2F08) for 人; NFKC maps
the Kangxi ones back to the ideograph."""
_RADICAL_BASE = 0x2E80
_UINT32 = next(code for code in "IL" if array.array(code).itemsize == 4)
_RADICAL_IDEOGRAPHS = array.array(
    _UINT32, (ord(unicodedata.normalize("NFKC", chr(code))) for code in range(0x2E80, 0x2FE0))
).tobytes()
"""Each radical's NFKC form (one character each: ``ord`` would fail otherwise), as 32-bit
code points in the machine's byte order, for the compiled repair."""
_FULLWIDTH_ALNUM = re.compile("[０-９Ａ-Ｚａ-ｚ]+")
_TO_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF5B) if chr(code).isalnum()}
OTHER_WHITESPACE = re.compile("[" + _char_class(lambda char: char.isspace() and char not in " \n", 0x3001) + "]")
"""White space other than the ASCII space and line feed (U+3000 is the last): the same
as ``[^\\S \\n]``, found in twice the speed, the class being listed, not a category."""


def normalise_whitespace(text: str) -> str:
    """Every kind of space to one ASCII space, lines stripped, at most one blank line in a
    row, the text stripped. Line ends are "\\r\\n", "\\r", "\\n" and U+2028; U+2029 is a
    paragraph break (a blank line); white space is what ``str.isspace`` says. The same as
    ``"\\n".join(" ".join(line.split()) for line in lines)``, then runs of blank lines
    collapsed and the whole stripped (tests check it against that definition), in one
    compiled pass (filters/_textscan.c); a text that is already normal comes back as is."""
    return _textscan.normalise_whitespace(text)


def _usual(char: str) -> bool:
    """Characters common in clean Chinese and English text that no repair touches."""
    code = ord(char)
    usual_block = (
        0x20 <= code <= 0x7E
        or 0xA1 <= code <= 0xFF
        or 0x2010 <= code <= 0x2027
        or 0x3001 <= code <= 0x303F
        or 0x3400 <= code <= 0x9FFF
        or (0xFF01 <= code <= 0xFF5E and not chr(code).isalnum())
    )
    return char == " " or (usual_block and unicodedata.category(char) not in ("So", "Cf", "Zs", "Cc"))


_UNUSUAL = re.compile(f"[^\n{_char_class(_usual, 0x10000)}]")
"""One fast scan (over 1 GB/s here) tells whether any repair but white space can apply."""


def fix_unicode(text: str, table: bytes | None = None) -> tuple[str, dict[str, int]]:
    """(repaired text, counts of what was repaired), counts only for non-zero kinds.
    White space is normalised too but not counted: nearly every extracted page has some,
    and a count that is always there tells a report nothing. Terminal colour codes go
    first (``_ANSI``, until none is left); then one compiled pass
    (``_textscan.repair_unicode``) removes the invisible characters (``_INVISIBLE``),
    maps the radicals to their NFKC ideograph (``_RADICALS``) and full-width letters and
    digits to ASCII (``_FULLWIDTH_ALNUM``), and normalises the white space, as those
    steps one after the other would (tests compare the two). ``table``: a ``class_table``
    (the base one when not given). A text that needs nothing comes back as is."""
    counts: dict[str, int] = {}
    if "\x1b" in text or "^[[" in text:
        ansi = 0
        while True:  # a code written inside another (\x1b[;\x1b[34;1mm) is whole once that one goes
            text, found = _ANSI.subn("", text)
            ansi += found
            if not found:
                break
        if ansi:
            counts["ansi_codes"] = ansi
    text, invisible, radicals, fullwidth = _textscan.repair_unicode(
        text, table or base_table(), _RADICAL_BASE, _RADICAL_IDEOGRAPHS
    )
    if invisible:
        counts["invisible"] = invisible
    if radicals:
        counts["radicals"] = radicals
    if fullwidth:
        counts["fullwidth"] = fullwidth
    return text, counts


# --- special symbols -------------------------------------------------------------------


def _decorative(char: str) -> bool:
    code = ord(char)
    if code == 0x25CB or 0x2E80 <= code <= 0x2FDF:  # ○ is a zero in 二○○○年; radicals are repaired
        return False
    return (
        unicodedata.category(char) == "So"
        or 0x2500 <= code <= 0x25FF  # box drawing, block elements, geometric shapes
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (emoji presentation)
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
    )


_DECORATIVE_CLASS = _char_class(_decorative)
_DECORATIVE_CHAR = re.compile(f"[{_DECORATIVE_CLASS}]")
_SYMBOL_RUN = re.compile(f"[{_DECORATIVE_CLASS}](?: ?[{_DECORATIVE_CLASS}]){{2,}}")
_PUNCTUATION_CLASS = _char_class(lambda c: unicodedata.category(c).startswith("P") or c in "=+~^|<>`$", 0x10000)
_PUNCTUATION_CHAR = re.compile(f"[{_PUNCTUATION_CLASS}]")
_REPEATED_PUNCTUATION = re.compile(f"([{_PUNCTUATION_CLASS}])\\1{{3,}}")
_ONLY_SYMBOLS = re.compile(f"[{_DECORATIVE_CLASS}{_PUNCTUATION_CLASS} ]*")
# A line of only symbols, punctuation and spaces: the definition the compiled pass's
# ``symbol_line`` is tested against (the first line, and the others after a line break).
_SYMBOL_LINE_BODY = f" *+[{_DECORATIVE_CLASS}{_PUNCTUATION_CLASS}][{_DECORATIVE_CLASS}{_PUNCTUATION_CLASS} ]*+(?:\n|$)"
_FIRST_SYMBOL_LINE = re.compile(_SYMBOL_LINE_BODY)
_LATER_SYMBOL_LINE = re.compile("\n" + _SYMBOL_LINE_BODY)


# --- one pass over the characters ------------------------------------------------------

# The class bits of ``class_table`` (the same values as in filters/_textscan.c).
CLASS_SPACE = 1
"""``str.isspace`` (below U+3001, the last space): not counted as a character."""
CLASS_CHINESE = 2
CLASS_TRADITIONAL = 4
CLASS_UNUSUAL = 8
"""``_UNUSUAL``: a character some repair other than white space may touch."""
CLASS_OTHER_SPACE = 16
"""``OTHER_WHITESPACE``."""
CLASS_DECORATIVE = 32
"""``_decorative``: every such character is unusual too (``class_table`` checks)."""
CLASS_PUNCTUATION = 64
"""``_PUNCTUATION_CLASS``: a run of 4 or more of one is collapsed."""
CLASS_INVISIBLE = 128
"""``_INVISIBLE``: removed."""
CLASS_RADICAL = 256
"""``_RADICALS``: to the NFKC ideograph."""
CLASS_FULLWIDTH = 512
"""``_FULLWIDTH_ALNUM``: to ASCII."""
CLASS_COMMON = 1024
"""The caller's ``common`` characters (of ``class_table``): the commonest Chinese ones."""
CLASS_ZH_PUNCTUATION = 2048
"""``ZH_PUNCTUATION``: Chinese punctuation, which is Chinese text as much as its characters."""
CLASS_KANA = 4096
CLASS_HANGUL = 8192

ZH_PUNCTUATION = re.compile(
    "[\u3001-\u3003\u3008-\u3011\u3014-\u301f\uff01\uff08\uff09\uff0c\uff0e\uff1a\uff1b\uff1f\u2014\u2026\u201c\u201d\u2018\u2019\u00b7\ufe50-\ufe6b]"
)
"""、。〃 〈〉《》「」『』【】 〔〕〖〗〘〙〚〛〜〝〞〟 ！（），．：；？ — … “” ‘’ · and the small forms."""
KANA = re.compile("[\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fd-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
HANGUL = re.compile("[\u1100-\u11ff\u3131-\u318e\uac00-\ud7a3]")


class Facts(NamedTuple):
    """What one pass over a text finds (``scan``)."""

    seen: int
    """The class bits of all its characters, or-ed."""
    chars: int
    """Characters that are not white space."""
    chinese: int
    traditional: int
    decorative: int
    repeated_punctuation: bool
    """4 or more of one punctuation mark in a row (what ``_REPEATED_PUNCTUATION`` finds)."""
    symbol_line: bool
    """A line of symbols, punctuation and spaces only, with at least one symbol or mark
    (what ``_FIRST_SYMBOL_LINE`` and ``_LATER_SYMBOL_LINE`` find)."""
    common: int = 0
    """Chinese characters among the table's common ones."""
    zh_punctuation: int = 0
    kana: int = 0
    hangul: int = 0

    @property
    def common_share(self) -> float:
        """Common characters over Chinese characters (1.0 without Chinese)."""
        return self.common / self.chinese if self.chinese else 1.0

    @property
    def chinese_share(self) -> float:
        """Chinese characters over characters that are not white space."""
        return self.chinese / self.chars if self.chars else 0.0

    @property
    def traditional_share(self) -> float:
        """Traditional-only characters over Chinese characters."""
        return self.traditional / self.chinese if self.traditional else 0.0


@functools.lru_cache(maxsize=4)
def class_table(chinese: tuple[tuple[int, int], ...] = (), traditional: str = "", common: str = "") -> bytes:
    """16 bits of classes per code point, for the compiled passes. Each class is marked
    where this module's own regular expressions match in a string of every code point, so
    the compiled passes see exactly what they define; ``chinese`` (ranges, inclusive) and
    ``traditional`` come from the caller. About 0.3 s, so remembered: each process builds
    a table once, however many stage instances it sets up (the bytes are read-only)."""
    import numpy as np

    table = np.zeros(0x110000, dtype=np.uint16)
    every = "".join(map(chr, range(0x110000)))  # lone surrogates included: a str may hold them
    for pattern, bit in (
        (_UNUSUAL, CLASS_UNUSUAL),
        (OTHER_WHITESPACE, CLASS_OTHER_SPACE),
        (_DECORATIVE_CHAR, CLASS_DECORATIVE),
        (_PUNCTUATION_CHAR, CLASS_PUNCTUATION),
        (_INVISIBLE, CLASS_INVISIBLE),
        (_RADICALS, CLASS_RADICAL),
        (_FULLWIDTH_ALNUM, CLASS_FULLWIDTH),
        (ZH_PUNCTUATION, CLASS_ZH_PUNCTUATION),
        (KANA, CLASS_KANA),
        (HANGUL, CLASS_HANGUL),
    ):
        for match in re.compile(f"(?:{pattern.pattern})+").finditer(every):
            table[match.start() : match.end()] |= bit
    table[[code for code in range(0x3001) if chr(code).isspace()]] |= CLASS_SPACE
    for low, high in chinese:
        table[low : high + 1] |= CLASS_CHINESE
    table[[ord(char) for char in traditional]] |= CLASS_TRADITIONAL
    table[[ord(char) for char in common]] |= CLASS_COMMON
    decorative = (table & CLASS_DECORATIVE) != 0
    if (table[decorative] & CLASS_UNUSUAL == 0).any() or (table[decorative] & CLASS_PUNCTUATION).any():
        raise AssertionError("a decorative symbol must be unusual and not punctuation (remove_symbols counts on it)")
    repairs = (table & (CLASS_INVISIBLE | CLASS_RADICAL | CLASS_FULLWIDTH)).astype(np.uint32)
    if ((repairs & (repairs - 1)) != 0).any():
        raise AssertionError("the invisible, radical and full-width classes must not overlap (fix_unicode counts on it)")
    return table.tobytes()  # the machine's byte order, as the compiled passes read it


def scan(text: str, table: bytes) -> Facts:
    """The facts of a text in one compiled pass (filters/_textscan.c, over 1 GB/s here)."""
    return Facts(*_textscan.scan(text, table))


def base_table() -> bytes:
    """The ``class_table`` without Chinese and traditional characters, built at first use:
    what the repairs need when their caller has no table of its own."""
    return class_table()


def separator_or_decoration(line: str) -> bool:
    """A line that holds a decorative symbol, or is one mark repeated three times or more
    (-----, =====, ***): a symbol-only line that is not code (a C struct's ``{`` and
    ``};``, a comment's ``*/``)."""
    marks = "".join(line.split())
    return _DECORATIVE_CHAR.search(line) is not None or (len(marks) >= 3 and len(set(marks)) == 1)


def remove_symbols(text: str, facts: Facts | None = None, table: bytes | None = None) -> tuple[str, int]:
    """(text, characters removed). A line left with nothing but symbols goes entirely if it
    was a separator or decoration (``separator_or_decoration``: code stays), so a removed
    separator or emoji wall leaves no blank line behind. Compiled passes do
    what ``_REPEATED_PUNCTUATION`` (runs collapsed), ``_SYMBOL_RUN`` (runs removed) and
    ``_ONLY_SYMBOLS`` (lines dropped) define (tests compare them). ``facts``: the text's,
    if the caller has scanned it; ``table``: a ``class_table`` (the base one when not
    given). A text with nothing to remove comes back as is (the same object)."""
    table = table or base_table()
    facts = facts or scan(text, table)
    decorative_runs = facts.decorative >= 3  # a run needs 3
    if not (facts.repeated_punctuation or decorative_runs or facts.symbol_line):
        return text, 0
    cleaned = _textscan.remove_symbol_runs(text, table, facts.repeated_punctuation, decorative_runs)
    if cleaned == text and not facts.symbol_line:
        return text, 0
    # Neither run removal takes a line break, so the lines still pair up one to one.
    cleaned = normalise_whitespace(_textscan.drop_symbol_lines(text, cleaned, table))
    return cleaned, len(text) - len(cleaned)


# --- duplicated paragraphs ---------------------------------------------------------------


def dedup_paragraphs(text: str, min_chars: int) -> tuple[str, int, float]:
    """(text without later copies of a line of ``min_chars`` or more, lines removed, the
    share of characters that were in such copies: Gopher's duplicate-line measure). The
    lines are compared in one compiled pass (filters/_textscan.c; tests check it against
    the plain loop over ``text.split("\\n")`` with a set of the lines seen)."""
    if "\n" not in text:
        return text, 0, 0.0  # one line (most reviews)
    kept, removed, duplicated = _textscan.drop_repeated_lines(text, min_chars)
    if not removed:
        return text, 0, 0.0
    return normalise_whitespace(kept), removed, duplicated / len(text)


# --- PII ---------------------------------------------------------------------------------

PII_PLACEHOLDERS = {"email": "[EMAIL]", "url": "[URL]", "id_card": "[ID_CARD]", "phone": "[PHONE]"}
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"(?<![A-Za-z0-9])(?:https?://|www\.)[^\s<>\"'，。；、）】」』]+", re.IGNORECASE)
_ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
# Not inside a longer number, a decimal (3.14159265359), a version or a hex string.
_PHONE = re.compile(
    r"(?<![0-9A-Za-z.+\-])(?:(?:\+|00)86[- ]?)?"
    r"(?:1[3-9]\d(?:[- ]?\d{4}){2}|0(?:10|2\d|[3-9]\d{2})[- ]?\d{7,8})"  # area codes: 010, 02x, 03xx-09xx
    r"(?![0-9A-Za-z]|[.,]\d)"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def valid_id_card(number: str) -> bool:
    """GB 11643-1999 check digit of an 18-character mainland ID card number."""
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def _url_placeholder(match: re.Match[str]) -> str:
    """Punctuation that ends a sentence, or closes a bracket the URL did not open, stays."""
    url = match.group()
    tail = ""
    while url and (url[-1] in ".,;:!?" or (url[-1] == ")" and url.count("(") < url.count(")"))):
        tail = url[-1] + tail
        url = url[:-1]
    return PII_PLACEHOLDERS["url"] + tail


def mask_pii(text: str) -> tuple[str, dict[str, int]]:
    counts: dict[str, int] = {}
    text, counts["email"] = _EMAIL.subn(PII_PLACEHOLDERS["email"], text)
    text, counts["url"] = _URL.subn(_url_placeholder, text)
    id_cards = 0

    def id_card(match: re.Match[str]) -> str:
        nonlocal id_cards
        if valid_id_card(match.group()):
            id_cards += 1
            return PII_PLACEHOLDERS["id_card"]
        return match.group()

    text = _ID_CARD.sub(id_card, text)
    counts["id_card"] = id_cards
    text, counts["phone"] = _PHONE.subn(PII_PLACEHOLDERS["phone"], text)
    return text, {kind: count for kind, count in counts.items() if count}


# --- measures ----------------------------------------------------------------------------


def top_ngram_share(text: str, n: int, above: float | None = None) -> float:
    """Gopher-style: the share of characters covered by the most frequent character n-gram
    (white space ignored; occurrences may overlap, so capped at 1). Vectorised: code points
    fit in 21 bits, so an n-gram of up to 3 characters is one 64-bit key.

    With ``above``, a share that cannot exceed it is not computed and 0.0 is returned: a
    histogram of the keys hashed into 4,096 bins bounds the top count from above (two
    keys in one bin only add up), without the sort that exact counting needs. The
    histogram is one compiled pass (filters/_textscan.c: the keys below, hashed by their
    top 12 bits after a Fibonacci multiplication; tests check it against that definition)."""
    import numpy as np

    if not 1 <= n <= 3:
        raise ValueError("top_ngram_share supports n from 1 to 3")
    if above is not None:
        chars, top_bin = _textscan.ngram_bound(text, n)
        if chars <= n or top_bin * n / chars <= above:
            return 0.0
    compact = "".join(text.split())
    if len(compact) <= n:
        return 0.0
    points = np.frombuffer(compact.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    width = len(points) - n + 1
    keys = points[:width].copy()
    for offset in range(1, n):
        keys = (keys << np.uint64(21)) | points[offset : offset + width]
    counts = np.unique(keys, return_counts=True)[1]
    return min(1.0, int(counts.max()) * n / len(compact))


def repeated_ngram_share(text: str, n: int) -> float:
    """The share of the character n-grams (white space ignored) that repeat an earlier one:
    1 - distinct / all. A unit of any length repeated k times (one ad line 500 times, or a
    1 MB line of one 11-character phrase) scores about (k - 1) / k once the unit reaches n,
    while real text, even templated documentation, stays far below (measured on the sample:
    README, stages.clean.max_repeated_ngram_share). Counted in one compiled pass
    (filters/_textscan.c, 64-bit rolling hashes); this is its definition:
    ``1 - len(set(ngrams)) / len(ngrams)``, which tests compare it with."""
    grams, repeats = _textscan.repeated_ngrams(text, n)
    return repeats / grams if grams else 0.0


def most_common(items: list[str], limit: int = 3) -> str:
    return ", ".join(f"{item} x{count}" for item, count in Counter(items).most_common(limit))


if sys.maxunicode < 0x10FFFF:  # pragma: no cover - every CPython since 3.3 is wide
    raise RuntimeError("zhcorpus needs a Python with full Unicode code points")


# --- the stages' table ----------------------------------------------------------------------

CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
"""Where traditional-only characters are looked for."""
CHINESE_RANGES = (*CJK_RANGES, (0x20000, 0x2FA1F), (0x30000, 0x323AF))
"""The ideographs counted as Chinese: CJK unified ideographs (the basic block, extensions A
to H) and the compatibility ideographs."""
COMMON_CHARACTERS = 3000
"""How many of the commonest Chinese characters (by jieba's dictionary) are "common": on
the sample's news, e-books, man pages and crawled pages a text's Chinese characters are at
least 68% among them (median 99.6%); UTF-8 read as GBK (鎴戜滑浠婂ぉ) at most 53%."""


def traditional_characters(converter: object) -> str:
    """The Chinese characters that only traditional text uses: those OpenCC's t2s changes
    when converting them one by one (3,761 in the basic and extension A blocks, 460
    compatibility ideographs; about 30 ms)."""
    convert = converter.convert  # type: ignore[attr-defined]
    return "".join(chr(code) for low, high in CJK_RANGES for code in range(low, high + 1) if convert(chr(code)) != chr(code))


@functools.cache
def common_characters(count: int = COMMON_CHARACTERS) -> str:
    """The ``count`` commonest Chinese characters by the frequencies of jieba's dictionary,
    with their traditional forms."""
    import os

    import jieba
    import opencc

    frequency: dict[str, int] = {}
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as handle:
        for line in handle:
            word, count_text, *_ = line.split()
            for char in word:
                frequency[char] = frequency.get(char, 0) + int(count_text)
    simplified = "".join(sorted(frequency, key=lambda char: (-frequency[char], char))[:count])
    return "".join(sorted(set(simplified) | set(opencc.OpenCC("s2t").convert(simplified))))


@functools.cache
def stage_table() -> bytes:
    """The class table the repair and clean stages run with (Chinese ranges, traditional-only
    and common characters), built once per process."""
    import opencc

    return class_table(CHINESE_RANGES, traditional_characters(opencc.OpenCC("t2s")), common_characters())


# --- what language a text is written in ---------------------------------------------------

_WORD = r"[A-Za-z][a-z]*(?:['\u2019-][A-Za-z]+)*"
PROSE_RUN = re.compile(
    # The first letter comes first and the look back after it (the same test as before
    # it): a pattern that starts with a character class is only tried where one is.
    rf"[A-Za-z](?<![\w./\\@#$%&*=+<>-][A-Za-z])[a-z]*(?:['\u2019-][A-Za-z]+)*[,;:.!?)]?"
    rf"(?:\s+\(?{_WORD}[,;:.!?)]?){{2,}}(?![\w/\\@#$%&*=+<>])"
)
"""Foreign prose: three or more words in a row, each letters only and lower case after its
first letter (so not a command, path, option, identifier, CamelCase product name or
acronym: ``ls -l /usr/share``, ``LibreOffice Calc``, ``HTTP``), separated by white space."""
FOREIGN_LETTER_WEIGHT = 1 / 3
"""A letter of foreign prose weighs a third of a Chinese character: a translation runs about
three English letters to a Chinese character."""


def prose_letters(text: str) -> int:
    """The letters of the foreign-prose runs of ``text`` (``PROSE_RUN``)."""
    if not _ASCII_LOWER.search(text):  # no prose without lower-case letters
        return 0
    # A run's only letters are ASCII ones (``_WORD``): the rest is spaces and punctuation.
    return len(_NOT_ASCII_LETTER.sub("", "".join(PROSE_RUN.findall(text))))


_ASCII_LOWER = re.compile("[a-z]")
_NOT_ASCII_LETTER = re.compile("[^A-Za-z]+")


def language_share(text: str, facts: Facts) -> float:
    """How much of ``text`` is written in Chinese: Chinese characters and punctuation over
    those plus foreign prose (letters of ``PROSE_RUN``, weighted ``FOREIGN_LETTER_WEIGHT``),
    kana (twice: Japanese) and hangul. Commands, paths, URLs, code and numbers count for
    neither side: Chinese technical writing full of them is Chinese. 0.0 without Chinese.
    On the gold set, the documents labelled ``not_chinese`` measure below 0.3 but for
    three of 56, the kept ones above 0.4 but for three of 516."""
    chinese = facts.chinese + facts.zh_punctuation
    if not chinese:
        return 0.0
    foreign = FOREIGN_LETTER_WEIGHT * prose_letters(text) + 2 * facts.kana + facts.hangul
    return chinese / (chinese + foreign)
