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

import re
import sys
import unicodedata
from collections import Counter

# --- Unicode ---------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


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
_INVISIBLE = re.compile(f"[{_char_class(_invisible)}\U000f0000-\U0010ffff]+")
_FULLWIDTH_ALNUM = re.compile("[０-９Ａ-Ｚａ-ｚ]+")
_TO_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF5B) if chr(code).isalnum()}
_SPACES = re.compile(f"[{_char_class(lambda c: c.isspace() and c not in chr(10) + chr(13), 0x3001)}]")
_RUN_OF_SPACES = re.compile(r" {2,}")
_LINE_EDGES = re.compile(r" *\n *")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalise_whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    text = _RUN_OF_SPACES.sub(" ", text)
    text = _LINE_EDGES.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def fix_unicode(text: str) -> tuple[str, dict[str, int]]:
    """(repaired text, counts of what was repaired), counts only for non-zero kinds.
    White space is normalised too but not counted: nearly every extracted page has some,
    and a count that is always there tells a report nothing."""
    counts: dict[str, int] = {}
    text, ansi = _ANSI.subn("", text)
    if ansi:
        counts["ansi_codes"] = ansi
    invisible = sum(len(match) for match in _INVISIBLE.findall(text))
    if invisible:
        text = _INVISIBLE.sub("", text)
        counts["invisible"] = invisible
    fullwidth = sum(len(match) for match in _FULLWIDTH_ALNUM.findall(text))
    if fullwidth:
        text = _FULLWIDTH_ALNUM.sub(lambda match: match.group().translate(_TO_HALFWIDTH), text)
        counts["fullwidth"] = fullwidth
    return normalise_whitespace(text), counts


# --- special symbols -------------------------------------------------------------------


def _decorative(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) == "So"
        or 0x2500 <= code <= 0x25FF  # box drawing, block elements, geometric shapes
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (emoji presentation)
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
    )


_DECORATIVE_CLASS = _char_class(_decorative)
_SYMBOL_RUN = re.compile(f"[{_DECORATIVE_CLASS}](?: ?[{_DECORATIVE_CLASS}]){{2,}}")
_PUNCTUATION_CLASS = _char_class(lambda c: unicodedata.category(c).startswith("P") or c in "=+~^|<>`$", 0x10000)
_REPEATED_PUNCTUATION = re.compile(f"([{_PUNCTUATION_CLASS}])\\1{{3,}}")
_ONLY_SYMBOLS = re.compile(f"[{_DECORATIVE_CLASS}{_PUNCTUATION_CLASS} ]*")


def remove_symbols(text: str) -> tuple[str, int]:
    """(text, characters removed). A line left with nothing but symbols goes entirely,
    so a removed separator or emoji wall leaves no blank line behind."""
    if not (_SYMBOL_RUN.search(text) or _REPEATED_PUNCTUATION.search(text) or _has_symbol_line(text)):
        return text, 0
    kept = []
    for line in text.split("\n"):
        cleaned = _REPEATED_PUNCTUATION.sub(r"\1", _SYMBOL_RUN.sub("", line))
        if line.strip() and _ONLY_SYMBOLS.fullmatch(cleaned):
            continue
        kept.append(cleaned)
    cleaned_text = normalise_whitespace("\n".join(kept))
    return cleaned_text, len(text) - len(cleaned_text)


def _has_symbol_line(text: str) -> bool:
    return any(line and _ONLY_SYMBOLS.fullmatch(line) for line in text.split("\n"))


# --- duplicated paragraphs ---------------------------------------------------------------


def dedup_paragraphs(text: str, min_chars: int) -> tuple[str, int]:
    """(text without later copies of a line of ``min_chars`` or more, lines removed)."""
    seen: set[str] = set()
    kept: list[str] = []
    removed = 0
    for line in text.split("\n"):
        if len(line) >= min_chars:
            if line in seen:
                removed += 1
                continue
            seen.add(line)
        kept.append(line)
    if not removed:
        return text, 0
    return normalise_whitespace("\n".join(kept)), removed


def duplicate_line_share(text: str, min_chars: int) -> float:
    """Gopher-style: the share of characters in lines (of ``min_chars`` or more) that
    repeat an earlier line. Measured before the repeats are removed."""
    seen: set[str] = set()
    duplicated = total = 0
    for line in text.split("\n"):
        total += len(line)
        if len(line) >= min_chars:
            if line in seen:
                duplicated += len(line)
            else:
                seen.add(line)
    return duplicated / total if total else 0.0


# --- PII ---------------------------------------------------------------------------------

PII_PLACEHOLDERS = {"email": "[EMAIL]", "url": "[URL]", "id_card": "[ID_CARD]", "phone": "[PHONE]"}
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'，。；、）】」』]+", re.IGNORECASE)
_ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
_PHONE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[- ]?)?(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def valid_id_card(number: str) -> bool:
    """GB 11643-1999 check digit of an 18-character mainland ID card number."""
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def mask_pii(text: str) -> tuple[str, dict[str, int]]:
    counts: dict[str, int] = {}
    text, counts["email"] = _EMAIL.subn(PII_PLACEHOLDERS["email"], text)
    text, counts["url"] = _URL.subn(PII_PLACEHOLDERS["url"], text)
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


def top_ngram_share(text: str, n: int) -> float:
    """Gopher-style: the share of characters covered by the most frequent character n-gram
    (white space ignored; occurrences may overlap, so capped at 1). Vectorised: code points
    fit in 21 bits, so an n-gram of up to 3 characters is one 64-bit key."""
    import numpy as np

    if not 1 <= n <= 3:
        raise ValueError("top_ngram_share supports n from 1 to 3")
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


def most_common(items: list[str], limit: int = 3) -> str:
    return ", ".join(f"{item} x{count}" for item, count in Counter(items).most_common(limit))


if sys.maxunicode < 0x10FFFF:  # pragma: no cover - every CPython since 3.3 is wide
    raise RuntimeError("zhcorpus needs a Python with full Unicode code points")
