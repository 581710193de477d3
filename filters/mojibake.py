"""Mojibake: text decoded with the wrong encoding, repaired where its bytes can be had back.

Two kinds are common in Chinese corpora, and both can be undone exactly:

- UTF-8 read as GBK / GB18030: 我们今天 becomes 鎴戜滑浠婂ぉ. Each character is a real but
  rare Chinese character (the lead bytes of UTF-8's Chinese, 0xE4-0xE9, are GBK's rows of
  rare characters), so the text's share of common characters falls: on the sample it is at
  least 0.68 in real text and at most 0.53 in such mojibake (``COMMON_SHARE``). Encoding
  the line as GB18030, which maps every character back to its bytes, gives the UTF-8 back;
  the line is repaired when that decodes and reads as common Chinese.
- UTF-8 read as Latin-1 or Windows-1252: 中文 becomes ä¸­æ–‡ (twice: Ã¤Â¸Â­...). ftfy
  finds and undoes it, and leaves real accented text and code alone (a well-kept library
  that does this better than a table of our own).

A repair must give Chinese back: ftfy's other fixes (C1 controls read as Windows-1252,
a Latin-1 example of mojibake in a manual, ÉÏº£ÊÐ, half-decoded as ÉϺ£ÊÐ) are not taken.

What cannot be undone is garbled: replacement characters (U+FFFD, where a decoder gave up)
in a tenth or more of the text, or a text whose Chinese stays rare after the repair.
Lines of replacement characters alone (emoji or pictures lost by a crawler: ������) carry
nothing and are dropped. So are damaged lines: Chinese with C1 control characters
(U+0080-U+009F) in it, bytes that went astray before the text was published (the sample's
LibreOffice help has 创建 GIF 动画图像 as 冀\x9b建 GIF 活动\x99\x80¾像 on 14 pages); what
they said cannot be had back. A text that is mostly such lines is garbled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ftfy
import ftfy.badness

from filters import clean_text

COMMON_SHARE = 0.6
"""A text (or line) whose Chinese characters are less common than this is tried as GBK
mojibake; a repaired line must read at least ``REPAIRED_SHARE`` common."""
REPAIRED_SHARE = 0.85
GARBLED_SHARE = 0.45
"""A text still this rare after the repairs is garbled (real text: 0.68 at the least)."""
REPLACEMENT_SHARE = 0.1
"""A text with this share of replacement characters is garbled."""
MIN_CHINESE = 8
"""Fewer Chinese characters say nothing about how common they are."""
_REPLACEMENT_LINE = re.compile(r"^[\ufffd \t]*\ufffd[\ufffd \t]*$", re.MULTILINE)
_C1 = re.compile("[\x80-\x9f]")
_CP1252_HIGH = "\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
_LATIN1_PAIR = re.compile(f"[\xc2-\xf4][\x80-\xbf{_CP1252_HIGH}]")
"""UTF-8 read as Latin-1 or Windows-1252 always holds a lead byte's letter followed by a
continuation byte's (ä¸ for the first two bytes of 中): a text without such a pair is not
tried with ftfy, whose measure of badness runs at about 6 MB/s (Chinese news with a few
·, ° or é would all be tried)."""
_DAMAGED_LINE = re.compile("^(?=[^\n]*[\x80-\x9f])(?=[^\n]*[\u3400-\u9fff])[^\n]*$", re.MULTILINE)


@dataclass(frozen=True)
class Mojibake:
    text: str
    repaired_lines: int
    """Lines given back their real text."""
    dropped_lines: int
    """Lines of replacement characters only, dropped."""
    damaged_lines: int
    """Lines of Chinese with C1 control characters, dropped."""
    garbled: str
    """Why the text cannot be used ('' when it can)."""


def _rare(facts: clean_text.Facts) -> bool:
    return facts.chinese >= MIN_CHINESE and facts.common_share < COMMON_SHARE


def dropped(line: str) -> bool:
    """Whether ``repair`` drops this line (of replacement characters only, or damaged)."""
    return (not line.strip(" \t\ufffd") and "\ufffd" in line) or _DAMAGED_LINE.fullmatch(line) is not None


def _gbk_line(line: str, table: bytes) -> str | None:
    """The line's real text when it is UTF-8 read as GBK, else None."""
    try:
        fixed = line.encode("gb18030").decode("utf-8")
    except UnicodeError:
        return None
    facts = clean_text.scan(fixed, table)
    return fixed if fixed != line and facts.chinese and facts.common_share >= REPAIRED_SHARE else None


def repair(text: str, table: bytes, facts: clean_text.Facts | None = None) -> Mojibake:
    """The text with its mojibake undone where it can be (see the module docstring)."""
    facts = facts or clean_text.scan(text, table)
    repaired = dropped = 0
    if "\ufffd" in text:
        text, dropped = _REPLACEMENT_LINE.subn("", text)
    damaged = 0
    if _C1.search(text):
        lines_before = text.count("\n") + 1
        text, damaged = _DAMAGED_LINE.subn("", text)
        if damaged * 2 >= lines_before:
            garbled_lines = f"{damaged} of {lines_before} lines damaged (Chinese with C1 control characters)"
            return Mojibake(text, 0, dropped, damaged, garbled_lines)
    lines: list[str] | None = None
    if _rare(facts):
        lines = text.split("\n")
        for index, line in enumerate(lines):
            if _rare(clean_text.scan(line, table)) and (fixed := _gbk_line(line, table)) is not None:
                lines[index] = fixed
                repaired += 1
    if _LATIN1_PAIR.search(text) and ftfy.badness.is_bad(text):
        lines = lines if lines is not None else text.split("\n")
        for index, line in enumerate(lines):
            if ftfy.badness.is_bad(line):
                fixed = ftfy.fix_encoding(line)
                if fixed != line and clean_text.scan(fixed, table).chinese > clean_text.scan(line, table).chinese:
                    lines[index] = fixed
                    repaired += 1
    if lines is not None and repaired:
        text = "\n".join(lines)
    after = clean_text.scan(text, table) if repaired or dropped or damaged else facts
    garbled = ""
    replacements = text.count("\ufffd")
    if after.chars and replacements >= REPLACEMENT_SHARE * after.chars:
        garbled = f"{replacements} replacement characters in {after.chars}"
    elif after.chinese >= MIN_CHINESE and after.common_share < GARBLED_SHARE:
        garbled = f"common Chinese characters {after.common_share:.2f} < {GARBLED_SHARE}: mojibake that does not undo"
    return Mojibake(text, repaired, dropped, damaged, garbled)
