"""Property tests (Hypothesis) over arbitrary Unicode and bytes: no exception escapes a
reader or a stage's pure functions, the accounting invariant holds, and cleaning clean
text changes nothing."""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus import stats
from corpus.compose import Composer, RecordError
from corpus.config import CleanConfig, InputFile, ReadConfig, SensitiveConfig, SourceConfig
from corpus.readers import read_file
from corpus.reasons import Reason
from corpus.record import Document, Verdict, make_meta
from filters import clean_text
from filters.clean import CharTable, CleanPlan, CleanRules, count_chars, count_chinese, traditional_characters
from filters.sensitive import SensitiveRules

SETTINGS = settings(
    max_examples=int(os.environ.get("ZHCORPUS_HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Any code point, surrogates included: text from JSON escapes can hold them.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=400)
CHINESE_ISH = st.text(
    st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.sampled_from(list(" \n，。！？、：；“”（）\t\u3000abcXYZ123１２３★━\u200b\x1b")),
    ),
    max_size=400,
)


@cache
def _clean() -> CleanRules:
    sources = (SourceConfig(name="web", paths=("x",), format="warc"), SourceConfig(name="news", paths=("x",), format="jsonl"))
    return CleanRules(CleanPlan.for_sources(CleanConfig(pii=True), sources))


@cache
def _sensitive() -> SensitiveRules:
    return SensitiveRules(SensitiveConfig())


FORMATS = {
    "jsonl": ".jsonl",
    "json": ".json",
    "tsv": ".tsv",
    "csv": ".csv",
    "lines": ".txt",
    "text": ".txt",
    "warc": ".warc",
    "parquet": ".parquet",
}


@SETTINGS
@given(data=st.binary(max_size=3000), fmt=st.sampled_from(sorted(FORMATS)), gzipped=st.booleans())
def test_readers_never_raise_on_arbitrary_bytes(data: bytes, fmt: str, gzipped: bool) -> None:
    import gzip

    suffix = FORMATS[fmt] + (".gz" if gzipped and fmt != "parquet" else "")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
        source = SourceConfig(name="s", paths=("x",), format=fmt, header=fmt != "tsv", columns=("text",) if fmt == "tsv" else ())  # type: ignore[arg-type]
        docs = list(read_file(InputFile(str(path), path.name), source, ReadConfig(max_doc_bytes=2000)))
    assert docs, "every file gives at least one record (a document or an error)"
    for doc in docs:
        doc.text.encode("utf-8", "replace")
        assert doc.removal is not None or "\ud800" not in doc.text


@SETTINGS
@given(text=st.one_of(ANY_TEXT, CHINESE_ISH), source=st.sampled_from(["web", "news"]))
def test_clean_never_raises_and_is_idempotent(text: str, source: str) -> None:
    rules = _clean()
    once = rules.judge(Document("d", source, text))
    twice = rules.judge(Document("d", source, once.text))
    assert twice.text == once.text


@SETTINGS
@given(text=st.one_of(ANY_TEXT, CHINESE_ISH))
def test_text_repairs_are_idempotent(text: str) -> None:
    fixed, _ = clean_text.fix_unicode(text)
    assert clean_text.fix_unicode(fixed)[0] == fixed
    spaced = clean_text.normalise_whitespace(text)
    assert clean_text.normalise_whitespace(spaced) == spaced
    symbols, _ = clean_text.remove_symbols(fixed)
    assert clean_text.remove_symbols(symbols)[0] == symbols


@SETTINGS
@given(text=st.one_of(ANY_TEXT, CHINESE_ISH, st.text(st.sampled_from(list("赌博彩六合 *\u200b賭場porn")), max_size=60)))
def test_sensitive_matching_never_raises_and_offsets_fit(text: str) -> None:
    rules = _sensitive()
    for hit in rules.hits(text):
        assert 0 <= hit.start < hit.end <= len(text)
    rules.judge(Document("d", "s", text))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(["a", "b", "text", "id"]), children, max_size=4)
    ),
    max_leaves=20,
)


@SETTINGS
@given(record=JSON_VALUES, template=st.sampled_from(["{a}", "{a[*]}\n{b.a}", "{text}{{x}}", "{a[0].b}", "{b[*].text}"]))
def test_composition_gives_a_document_or_a_named_problem(record: object, template: str) -> None:
    composer = Composer(SourceConfig(name="s", paths=("x",), format="jsonl", text_template=template, meta_fields=("id",)))
    try:
        composed = composer.compose(record)
    except RecordError as problem:
        assert problem.reason in (Reason.MISSING_TEXT, Reason.NON_STRING_TEXT, Reason.NOT_AN_OBJECT) and problem.detail
    else:
        assert isinstance(composed.text, str) and composed.text.strip()


OUTCOMES = st.sampled_from(
    [None, Reason.TOO_SHORT, Reason.MALFORMED_JSON, Reason.SENSITIVE_WORDS, Reason.CONVERTED_TO_SIMPLIFIED]
)


@SETTINGS
@given(
    docs=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), OUTCOMES, st.text(max_size=30)), max_size=60),
    split=st.integers(0, 60),
)
def test_accounting_invariant_holds_and_merges(docs: list, split: int) -> None:
    lists = {"a": ("clean",), "b": ("clean", "sensitive"), "c": ()}
    stage_of = {
        Reason.TOO_SHORT: "clean",
        Reason.MALFORMED_JSON: "read",
        Reason.SENSITIVE_WORDS: "sensitive",
        Reason.CONVERTED_TO_SIMPLIFIED: "clean",
    }
    built = []
    for index, (source, reason, text) in enumerate(docs):
        doc = Document(str(index), source, text, make_meta({"in_bytes": len(text.encode("utf-8", "replace"))}))
        built.append(doc if reason is None else doc.with_verdict(Verdict(stage_of[reason], reason)))
    whole: stats.Accumulator = {}
    left: stats.Accumulator = {}
    right: stats.Accumulator = {}
    for index, doc in enumerate(built):
        stats.add_document(whole, doc, lists)
        stats.add_document(left if index < split else right, doc, lists)
    read = {source: sum(doc.source == source for doc in built) for source in lists}
    result = stats.finish(whole, lists, docs_read=read, docs_written=len(built))
    assert stats.finish(stats.merge([left, right]), lists) == result
    assert sum(entry["docs_in"] for entry in result.values()) == len(built)


SPACED = st.text(st.sampled_from(list(" \n\r\t\u3000\u2028\u2029\xa0\x1c\x85中文ab。")), max_size=60)


@SETTINGS
@given(text=st.one_of(SPACED, ANY_TEXT, CHINESE_ISH))
def test_normalise_whitespace_is_its_definition(text: str) -> None:
    """The fast paths (text already normal, only line breaks out of place) give what the
    plain definition gives: every line's spaces collapsed and stripped, at most one blank
    line in a row, the text stripped."""
    import re

    plain = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    plain = re.sub(r"\n{3,}", "\n\n", "\n".join(" ".join(line.split()) for line in plain.split("\n"))).strip()
    assert clean_text.normalise_whitespace(text) == plain


@SETTINGS
@given(text=st.one_of(SPACED, ANY_TEXT, CHINESE_ISH))
def test_char_table_counts_are_the_definitions(text: str) -> None:
    counts = _char_table().counts(text)
    assert (counts.chars, counts.chinese) == (count_chars(text), count_chinese(text))


SYMBOLISH = st.text(st.sampled_from(list(" \n！!！…—-=★☆━╔║😀\ufe0f🏻中a。，\u3000\t")), max_size=80)


@SETTINGS
@given(text=st.one_of(SYMBOLISH, SPACED, ANY_TEXT, CHINESE_ISH))
def test_scan_finds_what_the_definitions_find(text: str) -> None:
    """The compiled pass's facts against the regular expressions that define them."""
    from tests.filters.test_textscan import facts_as_found, facts_by_definition

    assert facts_as_found(_char_table().counts(text)) == facts_by_definition(text)


@SETTINGS
@given(text=st.one_of(SYMBOLISH, SPACED, ANY_TEXT, CHINESE_ISH))
def test_compiled_repairs_are_their_definitions(text: str) -> None:
    """fix_unicode and remove_symbols (compiled) against the steps their regular
    expressions define."""
    from tests.filters.test_textscan import fixed_by_definition, symbols_removed_by_definition

    table = _char_table().table
    assert clean_text.fix_unicode(text, table) == fixed_by_definition(text)
    assert clean_text.remove_symbols(text, table=table) == symbols_removed_by_definition(text)


@SETTINGS
@given(text=st.one_of(SYMBOLISH, ANY_TEXT, CHINESE_ISH), n=st.integers(min_value=1, max_value=3))
def test_ngram_bound_is_its_definition(text: str, n: int) -> None:
    from filters import _textscan
    from tests.filters.test_textscan import ngram_top_bin_by_definition

    assert _textscan.ngram_bound(text, n) == ngram_top_bin_by_definition(text, n)


@SETTINGS
@given(
    lines=st.lists(
        st.sampled_from(["", " ", "短", "重复的一行文字内容", "重复的一行文字内容 ", "𠀀𠀀", "\r", "a\u3000b"]), max_size=12
    ),
    min_chars=st.integers(min_value=0, max_value=12),
)
def test_drop_repeated_lines_is_the_plain_loop(lines: list[str], min_chars: int) -> None:
    from filters import _textscan
    from tests.filters.test_textscan import dropped_by_definition

    text = "\n".join(lines)
    assert _textscan.drop_repeated_lines(text, min_chars) == dropped_by_definition(text, min_chars)


@cache
def _char_table() -> CharTable:
    import opencc

    return CharTable(traditional_characters(opencc.OpenCC("t2s")))


# Readers turn text with lone surrogates into error records (it cannot be written as UTF-8).
UTF8_TEXT = st.text(st.characters(codec="utf-8"), max_size=400)
LINED = st.lists(
    st.one_of(
        st.sampled_from(
            ["\n", "\n\n", "\r\n", " ", "\t", "\u3000", "AbC", "12.5%", "的是", "我们在野生动物园玩", "，。！", "\x00"]
        ),
        UTF8_TEXT,
    ),
    max_size=40,
).map("".join)


@SETTINGS
@given(text=st.one_of(LINED, UTF8_TEXT, CHINESE_ISH), window_chars=st.integers(4, 80))
def test_classifier_lines_are_their_definition(text: str, window_chars: int) -> None:
    """What a spam model scores is the plain definition: ASCII lower-cased, jieba's words
    without white space or unprintable ones, joined by spaces; the whole text (segmented
    once more, not reused from the windows) and then each window."""
    from filters import classifier
    from sampling.segment import Segmenter

    segmenter = _segmenter()

    def plain(piece: str) -> str:
        lowered = piece.translate({code: code + 32 for code in range(ord("A"), ord("Z") + 1)})
        return " ".join(word for word in segmenter.cut(lowered) if not word.isspace() and word.isprintable())

    preprocessor = classifier.Preprocessor()
    assert isinstance(preprocessor._segmenter, Segmenter)
    assert classifier.preprocess(text, segmenter=segmenter) == plain(text)
    windows, _ = classifier._windows(text, window_chars)
    expected = [line for line in map(plain, [text, *windows]) if line]
    assert classifier.scored_lines(text, window_chars, preprocessor) == expected


@cache
def _segmenter():
    from sampling.segment import Segmenter

    return Segmenter("fast")
