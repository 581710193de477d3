"""Finding a file's text encoding: UTF-8 first, then GB18030/GBK, Big5 and UTF-16.

Chinese files in the wild come in GBK (mainland), Big5 (Taiwan, Hong Kong) and UTF-16 with
a byte order mark (Windows exports), mostly without saying so. The decision is made once
per file from its first bytes:

1. A byte order mark decides (UTF-8-SIG, UTF-16).
2. If most non-ASCII lines of the sample are valid UTF-8, the file is UTF-8. Deciding by
   majority, not by the first failure, matters: a UTF-8 file with one stray GBK line must
   stay UTF-8 (that line becomes an error record), because GB18030 decodes almost any byte
   string and would silently turn every UTF-8 line into mojibake.
3. Otherwise the bytes that failed go to resiliparse's detector (uchardet); measured on
   real man pages re-encoded here, it named GB18030 60/60 and Big5 59/59, where
   charset-normalizer missed 1 and 2. GBK and GB2312 widen to GB18030 and Big5 to
   Big5-HKSCS, their supersets, so that rarer characters still decode.
"""

from __future__ import annotations

import codecs

from resiliparse.parse.encoding import detect_encoding

SNIFF_BYTES = 1 << 16

_WIDER = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "big5hkscs": "big5hkscs",
    "cp950": "big5hkscs",
}


def _normalise(name: str) -> str | None:
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    return _WIDER.get(canonical, canonical)


def is_ascii_compatible(encoding: str) -> bool:
    """Whether splitting the raw bytes at b'\\n' splits the text at line ends."""
    return not codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


def sniff_encoding(sample: bytes, declared: str = "auto") -> str:
    """The encoding to decode a file with, judged from its first bytes."""
    if declared != "auto":
        return _normalise(declared) or declared
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample.count(b"\x00") * 5 > len(sample):  # UTF-16 without a BOM: NUL every other byte
        detected = _normalise(detect_encoding(sample))
        return detected if detected and detected.startswith("utf-16") else "utf-16-le"

    lines = sample.split(b"\n")
    if len(sample) >= SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in the middle of a character
    non_ascii = [line for line in lines if not line.isascii()]
    if not non_ascii:
        return "utf-8"
    failing = []
    for line in non_ascii:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            failing.append(line)
    if len(failing) * 2 <= len(non_ascii):
        return "utf-8"
    detected = _normalise(detect_encoding(b"\n".join(failing)))
    if detected is None or detected in ("utf-8", "ascii"):
        return "gb18030"  # the most common legacy encoding of Chinese text
    return detected
