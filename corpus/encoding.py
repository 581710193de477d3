"""Finding a file's text encoding: UTF-8 first, then GB18030/GBK, Big5 and UTF-16/32.

Chinese files in the wild come in GBK (mainland), Big5 (Taiwan, Hong Kong) and UTF-16
(Windows exports), mostly without saying so. The decision is made once per file from its
first 64 KB (``SNIFF_BYTES``):

1. A byte order mark decides (UTF-32 is checked before UTF-16, whose mark it starts with).
2. UTF-16 without a mark: NUL bytes nearly all at odd (little-endian) or even
   (big-endian) positions, a strict decode that succeeds, and, where NULs are few (mostly
   Chinese text has none), text that reads as Chinese. A block of NULs (a zero-filled
   tail) has them at both parities and is not UTF-16.
3. UTF-8 if the sample decodes (a character cut at the end of the sample is not a
   failure), if at most one in twenty of its non-ASCII characters fails, or if most of its
   non-ASCII lines decode: a UTF-8 file with one stray GBK line
   stays UTF-8 (that line becomes an error record), because GB18030 decodes almost any
   bytes and would silently turn every UTF-8 line into mojibake.
4. Otherwise only GB18030 and Big5-HKSCS (the supersets of GBK/GB2312 and Big5) are
   candidates, never a Latin code page. Each decodes the lines that failed as UTF-8; the
   one whose text has most of the 5,000 commonest Chinese characters (simplified and
   traditional, from jieba's dictionary and OpenCC) and fewest replacement, private-use
   and C1 control characters wins. resiliparse's detector (uchardet) breaks ties; on re-
   encoded real man pages it named GB18030 60/60 and Big5 59/59.
"""

from __future__ import annotations

import codecs
import functools
import os
import unicodedata

SNIFF_BYTES = 1 << 16
LEGACY_CANDIDATES = ("gb18030", "big5hkscs")

_WIDER = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "big5hkscs": "big5hkscs",
    "cp950": "big5hkscs",
}


def normalise_encoding(name: str) -> str | None:
    """Python's name for an encoding, widened to its Chinese superset; None if unknown."""
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    return _WIDER.get(canonical, canonical)


def is_ascii_compatible(encoding: str) -> bool:
    """Whether splitting the raw bytes at b'\\n' splits the text at line ends."""
    return not codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


def _decodes(data: bytes, encoding: str, at_eof: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=at_eof)
    except UnicodeDecodeError:
        return False
    return True


def _utf16_without_bom(sample: bytes, at_eof: bool) -> str | None:
    """UTF-16 without a mark: the NULs (the high bytes of ASCII) nearly all on one byte
    parity, a strict decode, and - when NULs are few, as in mostly Chinese text - a
    decoded text that reads as Chinese."""
    nuls = sample.count(0)
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    encoding = "utf-16-le" if odd >= even else "utf-16-be"
    dominant = max(odd, even)
    # Ideographs with a zero low byte (一 is U+4E00) put some NULs on the other parity.
    if dominant < nuls * 0.6 or not _decodes(sample, encoding, at_eof):
        return None
    if dominant >= nuls * 0.9 and nuls * 10 >= len(sample):
        return encoding
    text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    return encoding if looks_chinese(text) else None


@functools.cache
def _common_chinese() -> frozenset[str]:
    """The commonest Chinese characters, simplified and traditional."""
    import jieba
    import opencc

    counts: dict[str, int] = {}
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as handle:
        for line in handle:
            word, frequency, *_ = line.split()
            for char in word:
                counts[char] = counts.get(char, 0) + int(frequency)
    simplified = "".join(sorted(counts, key=lambda char: -counts[char])[:5000])
    return frozenset(simplified) | frozenset(opencc.OpenCC("s2t").convert(simplified))


def looks_chinese(text: str) -> bool:
    """Whether most non-ASCII characters of ``text`` are common Chinese characters."""
    non_ascii = [char for char in text if not char.isascii()]
    return bool(non_ascii) and sum(char in _common_chinese() for char in non_ascii) * 2 >= len(non_ascii)


def is_legacy(encoding: str) -> bool:
    """GB18030 or Big5-HKSCS: the encodings that decode valid UTF-8 into silent mojibake."""
    return encoding in LEGACY_CANDIDATES


def decode_line(raw: bytes, encoding: str) -> tuple[str, str]:
    """(text, encoding used) of one line of a file decoded with ``encoding``. In a GB18030
    or Big5 file, a line that is valid UTF-8 and reads as Chinese is UTF-8: files joined
    from several origins mix them, and GB18030 would decode it without an error into
    mojibake (我们今天 -> 鎴戜滑浠婂ぉ). By chance a legacy line is valid UTF-8 almost
    never (each Chinese character would need three bytes of UTF-8's shape), and its UTF-8
    reading would not be common Chinese. Raises UnicodeDecodeError as ``bytes.decode``."""
    if is_legacy(encoding) and not raw.isascii():
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if looks_chinese(text):
                return text, "utf-8"
    return raw.decode(encoding), encoding


def decode_lines(data: bytes, encoding: str) -> tuple[str, int]:
    """A whole legacy text decoded line by line (``decode_line``), and how many of its
    lines were UTF-8. Raises UnicodeDecodeError with the offset in ``data``."""
    parts: list[str] = []
    switched = 0
    offset = 0
    for line in data.splitlines(keepends=True):
        try:
            text, used = decode_line(line, encoding)
        except UnicodeDecodeError as exc:
            raise UnicodeDecodeError(exc.encoding, data, offset + exc.start, offset + exc.end, exc.reason) from None
        parts.append(text)
        switched += used != encoding
        offset += len(line)
    return "".join(parts), switched


def _score(lines: list[bytes], encoding: str) -> float:
    common = _common_chinese()
    good = bad = 0
    for line in lines:
        text = line.decode(encoding, "replace")
        good += sum(char in common for char in text)
        bad += sum(
            1 for char in text if char == "\ufffd" or (unicodedata.category(char) in ("Co", "Cc") and char not in "\r\n\t")
        )
    return good - 3 * bad


def _legacy(failing: list[bytes]) -> str:
    from resiliparse.parse.encoding import detect_encoding

    suggested = normalise_encoding(detect_encoding(b"\n".join(failing)))
    scores = {encoding: _score(failing, encoding) for encoding in LEGACY_CANDIDATES}
    best = max(scores.values())
    winners = [encoding for encoding, score in scores.items() if score == best]
    return suggested if suggested in winners else winners[0]


def sniff_encoding(sample: bytes, declared: str = "auto", at_eof: bool = False) -> str:
    """The encoding to decode a file with, judged from its first bytes (``at_eof``: the
    sample is the whole file, so a cut-off character at its end is a real error)."""
    if declared != "auto":
        return normalise_encoding(declared) or declared
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if 0 in sample:
        utf16 = _utf16_without_bom(sample[: len(sample) // 2 * 2], at_eof)
        if utf16:
            return utf16
    if _decodes(sample, "utf-8", at_eof):
        return "utf-8"
    # A few bad bytes among much valid UTF-8 (one corrupt character in a one-line JSON
    # array): still UTF-8. Legacy text read as UTF-8 is nearly all replacement characters.
    decoded = sample.decode("utf-8", "replace")
    bad = decoded.count("\ufffd")
    if bad * 20 <= sum(not char.isascii() for char in decoded) - bad:
        return "utf-8"
    lines = sample.split(b"\n")
    if not at_eof and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut anywhere
    non_ascii = [line for line in lines if not line.isascii()]
    if not non_ascii:  # one long line, cut by the sample's end, that is not UTF-8
        return _legacy([sample])
    failing = [line for line in non_ascii if not _decodes(line, "utf-8", True)]
    if len(failing) * 2 <= len(non_ascii):
        return "utf-8"
    return _legacy(failing)
