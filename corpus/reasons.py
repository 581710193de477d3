"""Every reason a report can give for what happened to a document.

This module is the complete list: a verdict carries one of these members, never a free
string, so a report can name every outcome and a typo fails at import time, not in a
report nobody reads.

Each reason has a kind:
- ``ERROR``: the input could not be read or processed; the record goes to ``errors/``.
- ``REJECT``: a stage decided to remove the document; it goes to ``rejected/<stage>/``.
- ``REPAIR``: a stage changed the text but kept the document (counted, never removing).
"""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class Kind(StrEnum):
    ERROR = "error"
    REJECT = "reject"
    REPAIR = "repair"
    SCORE = "score"  # a measurement kept with the document (a model's score); never removes


@unique
class Reason(StrEnum):
    # --- errors while reading (corpus/readers.py) ---
    UNREADABLE_FILE = "unreadable_file"  # open/read failed (missing, permission, I/O)
    EMPTY_FILE = "empty_file"  # a file with no bytes at all
    TRUNCATED_FILE = "truncated_file"  # gzip/zstd stream ends early or is corrupt
    UNDECODABLE_TEXT = "undecodable_text"  # bytes invalid in the file's (detected) encoding
    MALFORMED_JSON = "malformed_json"  # a JSON line that does not parse
    NOT_AN_OBJECT = "not_an_object"  # a JSON line that parses to a list, number, ...
    MISSING_TEXT = "missing_text"  # the text field is absent or null
    NON_STRING_TEXT = "non_string_text"  # the text field is a number, list, ...
    BAD_ID = "bad_id"  # the id field is present but not a string or integer
    DOCUMENT_TOO_LARGE = "document_too_large"  # above the configured max_doc_bytes
    BAD_PARQUET = "bad_parquet"  # unreadable Parquet file or missing column
    BAD_WARC_RECORD = "bad_warc_record"  # broken WARC/HTTP headers
    HTML_EXTRACTION_FAILED = "html_extraction_failed"  # the HTML parser gave up
    UNSUPPORTED_CONTENT = "unsupported_content"  # a WARC response that is not text (image, PDF)
    MALFORMED_ROW = "malformed_row"  # a CSV/TSV row with the wrong number of fields, or unparsable
    DUPLICATE_ID = "duplicate_id"  # a (source, id) already read: later copies are errors
    READER_EXCEPTION = "reader_exception"  # the reader failed in a way nobody foresaw (a bug)
    # --- errors inside a stage (filters/stage.py) ---
    STAGE_EXCEPTION = "stage_exception"  # a stage raised on this document

    # --- the repair stage (filters/repair.py), on every document ---
    MOJIBAKE_REPAIRED = "mojibake_repaired"  # UTF-8 read as GBK or Latin-1 undone; U+FFFD and damaged lines dropped
    UNICODE_REPAIRED = "unicode_repaired"  # control/zero-width/private-use out, full-width, spaces
    CONVERTED_TO_SIMPLIFIED = "converted_to_simplified"  # PanGu rule 4: OpenCC t2s / tw2sp / hk2s
    GARBLED = "garbled"  # rejection: mojibake that does not undo, or replacement characters

    # --- repairs by the clean stage (filters/clean.py): the document stays ---
    SYMBOLS_REMOVED = "symbols_removed"  # PanGu rule 2: decorative runs, repeated punctuation
    NAVIGATION_REMOVED = "navigation_removed"  # PanGu rule 5: navigation and boilerplate lines of web pages
    BOILERPLATE_REMOVED = "boilerplate_removed"  # lines a converter or site added (rule file patterns)
    ADS_REMOVED = "ads_removed"  # lines with advertisement keywords that are not running text
    PARAGRAPHS_DEDUPLICATED = "paragraphs_deduplicated"  # PanGu rule 2: repeated paragraphs
    PII_EMAIL = "pii_email"  # e-mail addresses masked
    PII_URL = "pii_url"  # URLs masked
    PII_ID_CARD = "pii_id_card"  # mainland ID card numbers masked
    PII_PHONE = "pii_phone"  # phone numbers masked

    # --- rejections while reading (corpus/compose.py) ---
    FILTERED_OUT = "filtered_out"  # a record that fails the source's `where` conditions

    # --- rejections by the clean stage (filters/clean.py) ---
    TITLE_ONLY = "title_only"  # PanGu rule 1: only the title of a page
    TOO_SHORT = "too_short"  # PanGu rule 1: fewer than 150 characters
    TOO_FEW_CHINESE = "too_few_chinese"  # PanGu rule 1: under 60% Chinese characters
    ADVERTISEMENT = "advertisement"  # PanGu rule 3: advertisement keywords
    REPETITIVE_LINES = "repetitive_lines"  # Gopher: too many characters in repeated lines
    REPETITIVE_NGRAMS = "repetitive_ngrams"  # Gopher: one character n-gram covers too much

    # --- rejections by the sensitive stage (filters/sensitive.py) ---
    SENSITIVE_WORDS = "sensitive_words"  # more terms of a category than its max_hits

    # --- the dedup stage (filters/dedup.py) ---
    EXACT_DUPLICATE = "exact_duplicate"  # same normalised text as the cluster's survivor
    NEAR_DUPLICATE = "near_duplicate"  # MinHash LSH cluster: Jaccard >= threshold with a member
    DUPLICATE_PARAGRAPHS = "duplicate_paragraphs"  # every paragraph occurs in another document
    CROSS_DOCUMENT_PARAGRAPHS_REMOVED = "cross_document_paragraphs_removed"  # repair: shared paragraphs out
    # --- the spam and quality stages (filters/spam.py): fastText models ---
    SPAM = "spam"  # P(spam) >= the spam stage's threshold
    LOW_QUALITY = "low_quality"  # P(high quality) < the quality stage's threshold
    SPAM_SCORE = "spam_score"  # score: P(spam) of a document the spam stage kept
    QUALITY_SCORE = "quality_score"  # score: P(high quality) of a document the quality stage kept

    @property
    def kind(self) -> Kind:
        return _KIND[self]


_KIND: dict[Reason, Kind] = {
    Reason.UNREADABLE_FILE: Kind.ERROR,
    Reason.EMPTY_FILE: Kind.ERROR,
    Reason.TRUNCATED_FILE: Kind.ERROR,
    Reason.UNDECODABLE_TEXT: Kind.ERROR,
    Reason.MALFORMED_JSON: Kind.ERROR,
    Reason.NOT_AN_OBJECT: Kind.ERROR,
    Reason.MISSING_TEXT: Kind.ERROR,
    Reason.NON_STRING_TEXT: Kind.ERROR,
    Reason.BAD_ID: Kind.ERROR,
    Reason.DOCUMENT_TOO_LARGE: Kind.ERROR,
    Reason.BAD_PARQUET: Kind.ERROR,
    Reason.BAD_WARC_RECORD: Kind.ERROR,
    Reason.HTML_EXTRACTION_FAILED: Kind.ERROR,
    Reason.UNSUPPORTED_CONTENT: Kind.ERROR,
    Reason.MALFORMED_ROW: Kind.ERROR,
    Reason.FILTERED_OUT: Kind.REJECT,
    Reason.DUPLICATE_ID: Kind.ERROR,
    Reason.READER_EXCEPTION: Kind.ERROR,
    Reason.STAGE_EXCEPTION: Kind.ERROR,
    Reason.MOJIBAKE_REPAIRED: Kind.REPAIR,
    Reason.GARBLED: Kind.REJECT,
    Reason.UNICODE_REPAIRED: Kind.REPAIR,
    Reason.SYMBOLS_REMOVED: Kind.REPAIR,
    Reason.CONVERTED_TO_SIMPLIFIED: Kind.REPAIR,
    Reason.NAVIGATION_REMOVED: Kind.REPAIR,
    Reason.BOILERPLATE_REMOVED: Kind.REPAIR,
    Reason.ADS_REMOVED: Kind.REPAIR,
    Reason.PARAGRAPHS_DEDUPLICATED: Kind.REPAIR,
    Reason.PII_EMAIL: Kind.REPAIR,
    Reason.PII_URL: Kind.REPAIR,
    Reason.PII_ID_CARD: Kind.REPAIR,
    Reason.PII_PHONE: Kind.REPAIR,
    Reason.TITLE_ONLY: Kind.REJECT,
    Reason.TOO_SHORT: Kind.REJECT,
    Reason.TOO_FEW_CHINESE: Kind.REJECT,
    Reason.ADVERTISEMENT: Kind.REJECT,
    Reason.REPETITIVE_LINES: Kind.REJECT,
    Reason.REPETITIVE_NGRAMS: Kind.REJECT,
    Reason.SENSITIVE_WORDS: Kind.REJECT,
    Reason.EXACT_DUPLICATE: Kind.REJECT,
    Reason.NEAR_DUPLICATE: Kind.REJECT,
    Reason.DUPLICATE_PARAGRAPHS: Kind.REJECT,
    Reason.CROSS_DOCUMENT_PARAGRAPHS_REMOVED: Kind.REPAIR,
    Reason.SPAM: Kind.REJECT,
    Reason.LOW_QUALITY: Kind.REJECT,
    Reason.SPAM_SCORE: Kind.SCORE,
    Reason.QUALITY_SCORE: Kind.SCORE,
}

_missing = set(Reason) - set(_KIND)
if _missing:  # a new reason without a kind would break every report that groups by kind
    raise RuntimeError(f"reasons without a kind: {sorted(r.value for r in _missing)}")
