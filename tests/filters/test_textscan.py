"""The compiled passes of the clean stage (filters/_textscan.c) against their definitions
in Python (clean_text's regular expressions and str methods), on every document of the
real sample corpus and on edge inputs; tests/reliability/test_properties.py does the same
on arbitrary Unicode."""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

import pytest

from corpus.config import find_inputs, load_config
from corpus.readers import read_file
from filters import _textscan, clean_text
from filters.clean import CharTable, count_chars, count_chinese
from tests.conftest import REPO

EDGES = [
    "",
    " ",
    "\n",
    "!!!!",
    "!!!",
    "中文！！！！好",
    "——————",
    "a\n----\nb",
    "  ★ ★ ★  \n正文",
    "★☆★正文",
    "正文\n= = =",
    "\r\n\r\n文字\u2029\u2028 \u3000x\x1c\x85y\t",
    "\u2029",
    "a\u2029b",
    "\ud800 lone surrogate\udfff",
    "𠀀𪚥㐀 說明與檔案",
    "😀😀😀 emoji wall 👍🏻👍🏻",
    "╔══╗\n║表║\n╚══╝",
    "\x00\x1b[31m红\x1b[0m\u200b\ufeff\ue000",
]


@cache
def _sample_texts() -> list[str]:
    """Every document the sample corpus's sources read (about 52,000)."""
    config = load_config(str(REPO / "configs" / "sample.yaml"))
    return [
        doc.text
        for source in config.sources
        for file in find_inputs(source)
        for doc in read_file(file, source, config.read)
        if doc.removal is None
    ]


@pytest.fixture(scope="module")
def texts(sample_dir: object) -> list[str]:
    return _sample_texts() + EDGES


def facts_by_definition(text: str) -> dict[str, object]:
    """What each fact of ``clean_text.scan`` means, in the regular expressions the stage
    used before the compiled pass, and still uses where it repairs."""
    unusual = clean_text._UNUSUAL.findall(text)
    return {
        "unusual": bool(unusual),
        "other_space": bool(clean_text.OTHER_WHITESPACE.search(text)),
        "chars": count_chars(text),
        "chinese": count_chinese(text),
        # remove_symbols counted the decorative symbols among the unusual characters
        "decorative": len(clean_text._DECORATIVE_CHAR.findall("".join(unusual))),
        "repeated_punctuation": bool(clean_text._REPEATED_PUNCTUATION.search(text)),
        "symbol_line": bool(clean_text._FIRST_SYMBOL_LINE.match(text) or clean_text._LATER_SYMBOL_LINE.search(text)),
    }


def facts_as_found(facts: clean_text.Facts) -> dict[str, object]:
    return {
        "unusual": bool(facts.seen & clean_text.CLASS_UNUSUAL),
        "other_space": bool(facts.seen & clean_text.CLASS_OTHER_SPACE),
        "chars": facts.chars,
        "chinese": facts.chinese,
        "decorative": facts.decorative,
        "repeated_punctuation": facts.repeated_punctuation,
        "symbol_line": facts.symbol_line,
    }


def normalised_by_definition(text: str) -> str:
    plain = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(" ".join(line.split()) for line in plain.split("\n"))).strip()


def fixed_by_definition(text: str) -> tuple[str, dict[str, int]]:
    """fix_unicode as the steps its regular expressions define, one after the other."""
    ansi = invisible = radicals = fullwidth = 0
    while found := clean_text._ANSI.subn("", text)[1]:  # a code inside another is whole once that one goes
        text = clean_text._ANSI.sub("", text)
        ansi += found
    invisible = sum(len(match) for match in clean_text._INVISIBLE.findall(text))
    text = clean_text._INVISIBLE.sub("", text)
    radicals = len(clean_text._RADICALS.findall(text))
    text = clean_text._RADICALS.sub(lambda match: unicodedata.normalize("NFKC", match.group()), text)
    fullwidth = sum(len(match) for match in clean_text._FULLWIDTH_ALNUM.findall(text))
    text = clean_text._FULLWIDTH_ALNUM.sub(lambda match: match.group().translate(clean_text._TO_HALFWIDTH), text)
    counts = {"ansi_codes": ansi, "invisible": invisible, "radicals": radicals, "fullwidth": fullwidth}
    return normalised_by_definition(text), {kind: count for kind, count in counts.items() if count}


def symbols_removed_by_definition(text: str) -> tuple[str, int]:
    """remove_symbols as its regular expressions define it: runs of one punctuation mark
    collapsed, decorative runs removed, then the lines left with symbols only dropped."""
    cleaned = clean_text._SYMBOL_RUN.sub("", clean_text._REPEATED_PUNCTUATION.sub(r"\1", text))
    if cleaned == text and not (clean_text._FIRST_SYMBOL_LINE.match(text) or clean_text._LATER_SYMBOL_LINE.search(text)):
        return text, 0
    kept = [
        new
        for old, new in zip(text.split("\n"), cleaned.split("\n"), strict=True)
        if not (old.strip() and clean_text._ONLY_SYMBOLS.fullmatch(new) and clean_text.separator_or_decoration(old))
    ]
    cleaned = normalised_by_definition("\n".join(kept))
    return cleaned, len(text) - len(cleaned)


def ngram_top_bin_by_definition(text: str, n: int) -> tuple[int, int]:
    """(characters that are not white space, the largest bin) of top_ngram_share's bound:
    each n-gram's code points as 21-bit fields of one key, hashed to 4,096 bins by the top
    12 bits of key * 0x9E3779B97F4A7C15 (mod 2**64)."""
    compact = "".join(text.split())
    bins = [0] * 4096
    for start in range(len(compact) - n + 1):
        key = 0
        for char in compact[start : start + n]:
            key = (key << 21) | ord(char)
        bins[((key * 0x9E3779B97F4A7C15) % 2**64) >> 52] += 1
    return len(compact), max(bins)


def test_scan_finds_what_the_definitions_find(texts: list[str]) -> None:
    table = CharTable()  # the stage's table: the symbol classes and the Chinese ranges
    found = [table.counts(text) for text in texts]
    different = [
        text[:60] for text, facts in zip(texts, found, strict=True) if facts_as_found(facts) != facts_by_definition(text)
    ]
    assert not different, different[:5]
    assert sum(facts.symbol_line for facts in found) > 100  # the sample has separator lines
    assert sum(facts.repeated_punctuation for facts in found) > 100
    assert sum(facts.decorative >= 3 for facts in found) > 100


def test_traditional_counts_are_the_set_of_characters(texts: list[str]) -> None:
    import opencc

    from filters.clean import traditional_characters

    traditional = traditional_characters(opencc.OpenCC("t2s"))
    table = CharTable(traditional)
    chosen = set(traditional)
    for text in texts[::7] + EDGES:
        assert table.counts(text).traditional == sum(char in chosen for char in text), text[:40]


def test_normalise_whitespace_is_its_definition_on_the_sample(texts: list[str]) -> None:
    for text in texts:
        assert clean_text.normalise_whitespace(text) == normalised_by_definition(text), text[:60]
    normal = "第一行 two words\n\n第二段"
    assert clean_text.normalise_whitespace(normal) is normal  # nothing to do: no copy
    assert clean_text.normalise_whitespace("\u3000中文\u3000") == "中文"  # the result is as narrow as it can be
    assert clean_text.normalise_whitespace("a\u3000b").isascii()


def test_fix_unicode_is_its_steps(texts: list[str]) -> None:
    table = CharTable().table
    repaired = 0
    for text in texts:
        fixed = clean_text.fix_unicode(text, table)
        assert fixed == fixed_by_definition(text), text[:60]
        repaired += bool(fixed[1])
    assert repaired > 1000  # the sample has invisible and full-width characters
    normal = "正文，没有要修的。"
    assert clean_text.fix_unicode(normal)[0] is normal
    assert clean_text.fix_unicode("⼈\u200bＡ１ \x1b[31m红") == (
        "人A1 红",
        {"ansi_codes": 1, "invisible": 1, "radicals": 1, "fullwidth": 2},
    )


def test_noncharacters_and_tags_are_removed_wherever_they_stand() -> None:
    """``_INVISIBLE`` holds the tag block and planes 15 and 16 whole, noncharacters
    included. Before the compiled pass these were removed only from a text that also held
    a control, format or private-use character (``_invisible`` gated the pass); now always,
    and counted."""
    for char in ("\U0010ffff", "\U000fffff", "\U000e0000", "\U000e0010"):
        assert clean_text.fix_unicode(f"a{char}b") == ("ab", {"invisible": 1})
        assert clean_text.fix_unicode(f"a{char}b\u200b") == ("ab", {"invisible": 2})


def test_remove_symbols_is_its_regular_expressions(texts: list[str]) -> None:
    table = CharTable().table
    removed = 0
    for text in texts:
        result = clean_text.remove_symbols(text, table=table)
        assert result == symbols_removed_by_definition(text), text[:60]
        removed += result[1] > 0
    assert removed > 1000


def test_ngram_bound_is_its_definition(texts: list[str]) -> None:
    for text in texts[::25] + EDGES:
        for n in (1, 2, 3):
            assert _textscan.ngram_bound(text, n) == ngram_top_bin_by_definition(text, n), (n, text[:40])


def dropped_by_definition(text: str, min_chars: int) -> tuple[str, int, int]:
    """The plain loop: later copies of a line of ``min_chars`` or more go."""
    seen: set[str] = set()
    kept: list[str] = []
    removed = duplicated = 0
    for line in text.split("\n"):
        if len(line) >= min_chars:
            if line in seen:
                removed += 1
                duplicated += len(line)
                continue
            seen.add(line)
        kept.append(line)
    return "\n".join(kept), removed, duplicated


def test_drop_repeated_lines_is_the_plain_loop(texts: list[str]) -> None:
    repeated = 0
    for text in texts:
        for min_chars in (10, 0):
            assert _textscan.drop_repeated_lines(text, min_chars) == dropped_by_definition(text, min_chars), text[:60]
        repeated += _textscan.drop_repeated_lines(text, 10)[1] > 0
    assert repeated > 1000  # the help pages repeat lines
    text = "同一行\n别的\n同一行"
    assert _textscan.drop_repeated_lines(text, 10)[0] is text  # nothing dropped: no copy


def test_the_class_table_holds_what_the_compiled_pass_assumes() -> None:
    """No white space above U+3000 (the pass skips the Unicode lookup above it), every
    decorative symbol is unusual and none is punctuation (remove_symbols counts on both;
    ``class_table`` refuses a table where they fail)."""
    assert not [code for code in range(0x3001, 0x110000) if chr(code).isspace()]
    table = clean_text.class_table(((0x4E00, 0x9FFF),), "說")
    assert len(table) == 2 * 0x110000

    def classes(char: str) -> int:
        return int.from_bytes(table[2 * ord(char) : 2 * ord(char) + 2], sys.byteorder)

    assert classes(" ") == clean_text.CLASS_SPACE and classes("\u3000") & clean_text.CLASS_OTHER_SPACE
    assert classes("說") == clean_text.CLASS_CHINESE | clean_text.CLASS_TRADITIONAL
    assert classes("★") & clean_text.CLASS_DECORATIVE and classes("！") & clean_text.CLASS_PUNCTUATION
    assert classes("\u200b") & clean_text.CLASS_INVISIBLE and classes("⼈") & clean_text.CLASS_RADICAL
    assert classes("Ａ") & clean_text.CLASS_FULLWIDTH and not classes("a") and not classes("中") & clean_text.CLASS_TRADITIONAL


def test_bad_arguments_are_refused_not_read_past() -> None:
    with pytest.raises(ValueError, match="0x110000"):
        _textscan.scan("text", b"\x00" * 10)
    with pytest.raises(TypeError):
        _textscan.normalise_whitespace(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="different numbers of lines"):
        _textscan.drop_symbol_lines("a\nb", "a", clean_text.base_table())
    with pytest.raises(ValueError, match="different numbers of lines"):
        _textscan.drop_symbol_lines("a", "a\nb", clean_text.base_table())
    with pytest.raises(ValueError, match="n from 1 to 3"):
        _textscan.ngram_bound("text", 4)


def test_remove_symbols_gives_back_a_text_with_nothing_to_remove() -> None:
    """The clean judge reuses a text's facts when remove_symbols returns the same object."""
    text = "正文，没有符号。\n第二行"
    assert clean_text.remove_symbols(text) == (text, 0) and clean_text.remove_symbols(text)[0] is text
    assert clean_text.remove_symbols("正文！！！！\n★★★\n完") == ("正文！\n完", 7)  # 3 marks, 3 stars, a line feed
