"""Readers: every input file becomes a stream of Documents, good ones and error records.

Formats: JSONL (``.jsonl``, ``.jsonl.gz``, ``.jsonl.zst``), JSON arrays (streamed with
ijson), CSV and TSV, one record per line (with an optional label), Parquet, plain text
files (one document per file, optionally ``.gz``/``.zst``), and WARC/WET (Common Crawl,
gzip or plain) with HTML turned into text by resiliparse. Records with fields are
composed into documents by the source's templates (corpus/compose.py).

Nothing is lost: a line, row or record that cannot be read becomes an error record, a
``Document`` whose single verdict has an error ``Reason``, with the file (relative to the
source's folder), the position (line, row or byte offset) and the first bytes of what was
there. The rest of the file is still read wherever the format allows it; a truncated
compressed file keeps every document before the break. A file that holds no record at
all is one ``empty_file`` error record, so it shows in the accounting. Reading streams:
memory does not grow with the size of a file, and a single document is bounded by
``max_doc_bytes`` (for JSONL and lines the raw line is measured before it is parsed; for
JSON arrays, CSV and Parquet the composed text, as an item is parsed whole).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from corpus.compose import Composer, RecordError
from corpus.config import InputFile, ReadConfig, SourceConfig, repeated
from corpus.encoding import (
    SNIFF_BYTES,
    decode_line,
    decode_lines,
    is_ascii_compatible,
    is_legacy,
    looks_chinese,
    normalise_encoding,
    sniff_encoding,
)
from corpus.html import HTML_LINKS, HTML_ZONES
from corpus.html import extract as extract_page
from corpus.reasons import Reason
from corpus.record import Document, MetaValue, Verdict, exception_detail, make_meta
from corpus.streams import TruncatedStream, compression_of, is_remote, open_input, read_sample

READ_STAGE = "read"
SNIPPET_BYTES = 2000
"""How much of an unreadable record an error record keeps, so a person can see it."""


@dataclass
class _Cursor:
    """Where a reader is in its file, and how many records it produced."""

    position: int = 0
    unit: str = "line"
    records: int = 0


def error_record(
    source: str, file: InputFile, position: int, unit: str, reason: Reason, detail: str, raw: bytes = b"", size: int | None = None
) -> Document:
    snippet = raw[:SNIPPET_BYTES].decode("utf-8", "replace")
    meta = {"path": file.rel, unit: position, "in_bytes": len(raw) if size is None else size}
    return Document(
        doc_id=f"{file.rel}:{unit}:{position}",
        source=source,
        text=snippet,
        meta=make_meta(meta),
        verdicts=(Verdict(READ_STAGE, reason, detail=detail),),
    )


def _document(
    source: str, file: InputFile, unit: str, position: int, doc_id: str, text: str, meta: dict[str, MetaValue] | None = None
) -> Document:
    """A read document; text that cannot be written as UTF-8 (lone surrogates, as JSON
    escapes like \\ud800 produce) is an error record instead."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raw = text.encode("utf-8", "replace")
        return error_record(
            source, file, position, unit, Reason.UNDECODABLE_TEXT, f"lone surrogate at character {exc.start}", raw
        )
    return Document(doc_id=doc_id, source=source, text=text, meta=make_meta({**(meta or {}), "in_bytes": size}))


def _oserror(exc: OSError) -> str:
    """An I/O error without the absolute path, so that errors/ is the same on every machine."""
    what = exc.strerror or (str(exc.args[0]) if exc.args else "")
    return f"{type(exc).__name__}: {what}" if what else type(exc).__name__


def read_file(file: InputFile, source: SourceConfig, read: ReadConfig) -> Iterator[Document]:
    """Every document of one file (or of one part of it, ``split_file``), in file order;
    never raises."""
    if file.end is not None and _changed(file):
        # Split, then changed (grown, cut, rewritten, deleted): the parts no longer fit the
        # file. The first part reads it whole, as it is now, the others nothing.
        if file.start:
            return
        file = InputFile(file.path, file.rel)
    cursor = _Cursor(position=file.first_line)

    def counted(docs: Iterator[Document]) -> Iterator[Document]:
        for doc in docs:
            cursor.records += 1
            yield doc

    try:
        match source.format:
            case "jsonl":
                yield from counted(_read_jsonl(file, source, read, cursor))
            case "json":
                yield from counted(_read_json_array(file, source, read, cursor))
            case "csv" | "tsv":
                yield from counted(_read_delimited(file, source, read, cursor))
            case "lines":
                yield from counted(_read_lines(file, source, read, cursor))
            case "parquet":
                yield from counted(_read_parquet(file, source, read, cursor))
            case "text":
                yield from counted(_read_text(file, source, read, cursor))
            case "warc":
                yield from counted(_read_warc(file, source, read, cursor))
            case "html":
                yield from counted(_read_html(file, source, read, cursor))
    except TruncatedStream as exc:
        cursor.records += 1
        yield error_record(source.name, file, cursor.position, cursor.unit, Reason.TRUNCATED_FILE, str(exc))
    except OSError as exc:
        cursor.records += 1
        yield error_record(source.name, file, cursor.position, cursor.unit, Reason.UNREADABLE_FILE, _oserror(exc))
    except Exception as exc:  # noqa: BLE001 - a reader bug or an unforeseen input must not end the run
        cursor.records += 1
        detail = exception_detail(exc)
        yield error_record(source.name, file, cursor.position, cursor.unit, Reason.READER_EXCEPTION, detail)
    if cursor.records == 0 and file.end is None:  # a file is split only when it holds a record
        yield error_record(source.name, file, 0, cursor.unit, Reason.EMPTY_FILE, "the file holds no records")


# --- parts of large files ------------------------------------------------------------

SPLIT_FORMATS = ("jsonl", "lines")


def split_file(file: InputFile, source: SourceConfig, read: ReadConfig) -> list[InputFile]:
    """A large plain JSONL or lines file as parts that can be read apart, on different
    workers: about ``read.split_bytes`` each, cut after a line feed, each knowing how many
    lines come before it (one pass over the file, counting line feeds at memory speed).
    Reading the parts gives the documents of the whole file, with the same ids, line
    numbers and error records. Files that stay whole: compressed or remote ones (no
    seeking), UTF-16/32 ones (a 0x0A byte is not a line end), those smaller than twice
    ``split_bytes``, and those without a single record (so that one ``empty_file`` record
    still stands for them). Never raises: a file that cannot be looked at stays whole, and
    its reader reports the problem."""
    if (
        read.split_bytes == 0
        or source.format not in SPLIT_FORMATS
        or file.end is not None
        or compression_of(file.path)
        or is_remote(file.path)
    ):
        return [file]
    try:
        status = os.stat(file.path)
        if status.st_size < 2 * read.split_bytes:
            return [file]
        with open(file.path, "rb") as handle:
            return _parts(file, handle, status, source, read)
    except (OSError, ValueError, LookupError):
        return [file]


_SCAN_BYTES = 8 * 1024 * 1024


def _parts(file: InputFile, handle: BinaryIO, status: os.stat_result, source: SourceConfig, read: ReadConfig) -> list[InputFile]:
    size, split = status.st_size, read.split_bytes
    sample = handle.read(SNIFF_BYTES)
    encoding = sniff_encoding(sample, source.encoding, len(sample) < SNIFF_BYTES)  # as read_sample judges
    handle.seek(0)
    if not is_ascii_compatible(encoding) or not _holds_record(handle, encoding, read.max_doc_bytes):
        return [file]
    # One pass in blocks: each cut is the first line end at or after a part's nominal end;
    # ``counted`` is the line feeds before ``position + offset``.
    starts, lines = [0], [0]
    handle.seek(0)
    position = counted = 0
    cutting = True
    while cutting:
        block = handle.read(_SCAN_BYTES)
        if not block:
            break
        offset = 0
        while True:
            nominal = starts[-1] + split
            if nominal + split // 2 >= size:  # the last part: half a part or more
                cutting = False
                break
            line_end = block.find(b"\n", max(nominal - 1 - position, offset))
            if line_end < 0 or position + line_end + 1 >= size:
                break
            counted += block.count(b"\n", offset, line_end + 1)
            offset = line_end + 1
            starts.append(position + offset)
            lines.append(counted)
        counted += block.count(b"\n", offset)
        position += len(block)
    if len(starts) == 1:
        return [file]
    ends = [*starts[1:], size]
    return [
        dataclasses.replace(
            file, start=start, end=end, first_line=first, encoding=encoding, size=size, mtime_ns=status.st_mtime_ns
        )
        for start, end, first in zip(starts, ends, lines, strict=True)
    ]


def _changed(file: InputFile) -> bool:
    """Whether a part's file is not the one that was split (or is gone)."""
    try:
        status = os.stat(file.path)
    except OSError:
        return True
    return (status.st_size, status.st_mtime_ns) != (file.size, file.mtime_ns)


def _holds_record(handle: BinaryIO, encoding: str, limit: int) -> bool:
    """Whether a line-based reader makes at least one record of the file: a line that is
    too large, undecodable or not blank (usually the first line)."""
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return False
        if len(line.rstrip(b"\n")) > limit:
            return True
        try:
            if line.decode(encoding).strip():
                return True
        except UnicodeDecodeError:
            return True


class _Window(io.RawIOBase):
    """Bytes ``[start, end)`` of a seekable stream."""

    def __init__(self, stream: BinaryIO, start: int, end: int) -> None:
        stream.seek(start)
        self._stream = stream
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        data = self._stream.read(min(len(buffer), self._left))
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)


# --- JSONL ---------------------------------------------------------------------------


def _lines(stream: BinaryIO, encoding: str, limit: int) -> Iterator[tuple[bytes | str, int]]:
    """(line, size of a line too large to keep, else 0); a line over ``limit`` bytes is
    skipped without ever being held whole."""
    if not is_ascii_compatible(encoding):
        # errors="replace": one bad code unit must cost its line, not the file; a line
        # holding a replacement character becomes an undecodable_text record.
        text_stream = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline=None)
        while True:
            text_line = text_stream.readline(limit + 1)
            if not text_line:
                return
            if len(text_line.encode("utf-8", "replace")) > limit:
                size = len(text_line.encode("utf-8", "replace"))
                while text_line and not text_line.endswith("\n"):
                    text_line = text_stream.readline(1 << 20)
                    size += len(text_line.encode("utf-8", "replace"))
                yield "", size
                continue
            yield text_line, 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            size = len(line)
            while line and not line.endswith(b"\n"):
                line = stream.readline(1 << 20)
                size += len(line)
            yield b"", size
            continue
        yield line, 0


def _field_id(value: Any) -> tuple[str | None, str]:
    """(the id as a string, or None and why it cannot be an id)."""
    if isinstance(value, str):
        return (value, "") if value else (None, "the id is an empty string")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value), ""
    return None, f"the id is a {type(value).__name__}"


def _text_lines(
    file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor
) -> Iterator[Document | tuple[int, bytes, str, str]]:
    """The non-blank lines of a line-based file as (line number, raw bytes, text, encoding),
    or the error record of a line that is too large or undecodable (shared by jsonl and
    lines)."""
    with open_input(file.path) as opened:
        if file.end is not None:  # a part (split_file), read with the whole file's encoding
            stream: BinaryIO = io.BufferedReader(_Window(opened, file.start, file.end), 1 << 16)  # type: ignore[arg-type]
            encoding = file.encoding or sniff_encoding(stream.peek(SNIFF_BYTES)[:SNIFF_BYTES], source.encoding)
        else:
            sample, at_eof, stream = read_sample(opened, SNIFF_BYTES)
            if not sample:
                yield error_record(source.name, file, 0, "line", Reason.EMPTY_FILE, "the file has no bytes")
                return
            encoding = sniff_encoding(sample, source.encoding, at_eof)
        for line, too_large in _lines(stream, encoding, read.max_doc_bytes):
            cursor.position += 1
            lineno = cursor.position
            if too_large:
                detail = f"line of {too_large} bytes > max_doc_bytes={read.max_doc_bytes}"
                yield error_record(source.name, file, lineno, "line", Reason.DOCUMENT_TOO_LARGE, detail, size=too_large)
                continue
            raw = line if isinstance(line, bytes) else line.encode("utf-8", "replace")
            if isinstance(line, str) and "\ufffd" in line:  # UTF-16/32 files are decoded with errors="replace"
                yield error_record(
                    source.name, file, lineno, "line", Reason.UNDECODABLE_TEXT, f"invalid {encoding} in the line", raw
                )
                continue
            try:
                text, used = (line, encoding) if isinstance(line, str) else decode_line(line, encoding)
            except UnicodeDecodeError as exc:
                detail = f"invalid {encoding} at byte {exc.start} of the line"
                yield error_record(source.name, file, lineno, "line", Reason.UNDECODABLE_TEXT, detail, raw)
                continue
            if text.strip():  # a blank line holds no record
                yield lineno, raw, text, used


def _read_jsonl(file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor) -> Iterator[Document]:
    composer = Composer(source)
    for item in _text_lines(file, source, read, cursor):
        if isinstance(item, Document):
            yield item
            continue
        lineno, raw, text, encoding = item
        yield _parse_json_line(text, raw, lineno, file, source, encoding, composer, read)


def _parse_json_line(
    decoded: str,
    raw: bytes,
    lineno: int,
    file: InputFile,
    source: SourceConfig,
    encoding: str,
    composer: Composer,
    read: ReadConfig,
) -> Document:
    try:
        record = json.loads(decoded)
    except json.JSONDecodeError as exc:
        return error_record(source.name, file, lineno, "line", Reason.MALFORMED_JSON, f"{exc.msg} at column {exc.colno}", raw)
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number, nesting 100,000 deep
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        return error_record(source.name, file, lineno, "line", Reason.MALFORMED_JSON, detail, raw)
    meta: dict[str, MetaValue] = {"path": file.rel, "line": lineno}
    if encoding not in ("utf-8", "utf-8-sig"):
        meta["encoding"] = encoding
    return record_document(record, composer, source, read, file, "line", lineno, raw, meta)


def record_document(
    record: Any,
    composer: Composer,
    source: SourceConfig,
    read: ReadConfig,
    file: InputFile,
    unit: str,
    position: int,
    raw: bytes | None,
    meta: dict[str, MetaValue],
) -> Document:
    """A document composed from one record's fields (corpus/compose.py), or the record
    with the reason it could not be one. ``raw`` None: serialised only if needed."""

    def original() -> tuple[bytes, int]:
        data = raw if raw is not None else json.dumps(record, ensure_ascii=False, default=str).encode("utf-8", "replace")
        return data[:SNIPPET_BYTES], len(data)

    try:
        composed = composer.compose(record)
    except RecordError as problem:
        snippet, size = original()
        return error_record(source.name, file, position, unit, problem.reason, problem.detail, snippet, size)
    size = len(composed.text.encode("utf-8", "replace"))
    if size > read.max_doc_bytes:
        detail = f"composed text of {size} bytes > max_doc_bytes={read.max_doc_bytes}"
        return error_record(source.name, file, position, unit, Reason.DOCUMENT_TOO_LARGE, detail, original()[0], size)
    doc_id = composed.doc_id or f"{file.rel}:{position}"
    if composed.doc_id is None and source.id_field is not None and record.get(source.id_field) is not None:
        given, why = _field_id(record[source.id_field])
        if given is None:
            return error_record(
                source.name, file, position, unit, Reason.BAD_ID, f"field '{source.id_field}': {why}", original()[0]
            )
        doc_id = given
    return _document(source.name, file, unit, position, doc_id, composed.text, {**composed.meta, **meta})


# --- JSON arrays -----------------------------------------------------------------------


def _read_json_array(file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor) -> Iterator[Document]:
    """A file holding one top-level array of records, streamed item by item (ijson), so a
    multi-gigabyte dataset dump is never loaded whole."""
    import ijson

    cursor.unit = "item"
    composer = Composer(source)
    with open_input(file.path) as opened:
        sample, at_eof, stream = read_sample(opened, SNIFF_BYTES)
        if not sample.strip():
            yield error_record(source.name, file, 0, "item", Reason.EMPTY_FILE, "the file has no bytes")
            return
        encoding = sniff_encoding(sample, source.encoding, at_eof)
        first = sample.decode(encoding, "replace").lstrip("\ufeff \t\r\n")[:1]
        if first != "[":
            detail = f"a JSON file must hold a top-level array of records (it starts with {first!r}); use format jsonl for one record per line"
            yield error_record(source.name, file, 0, "item", Reason.NOT_AN_OBJECT, detail, sample[:200])
            return
        # ijson reads UTF-8 bytes: every file is transcoded on the way (which also drops a
        # BOM); undecodable bytes become U+FFFD and their item an undecodable_text record,
        # so one bad byte costs one item, not the rest of the array.
        utf8 = _Utf8Stream(io.TextIOWrapper(stream, encoding=encoding, errors="replace"))
        try:
            for record in ijson.items(utf8, "item", use_float=True):
                cursor.position += 1
                meta: dict[str, MetaValue] = {"path": file.rel, "item": cursor.position}
                if _holds_replacement(record):
                    raw = json.dumps(record, ensure_ascii=False)[:SNIPPET_BYTES].encode()
                    detail = f"invalid {encoding} in the item"
                    yield error_record(source.name, file, cursor.position, "item", Reason.UNDECODABLE_TEXT, detail, raw)
                    continue
                yield record_document(record, composer, source, read, file, "item", cursor.position, None, meta)
        except (ijson.JSONError, UnicodeDecodeError, ValueError, OverflowError) as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            detail = f"reading stopped at item {cursor.position + 1}; the items after it were not read: {type(exc).__name__}: {first_line}"
            yield error_record(source.name, file, cursor.position + 1, "item", Reason.MALFORMED_JSON, detail)


def _holds_replacement(value: Any) -> bool:
    if isinstance(value, str):
        return "\ufffd" in value
    if isinstance(value, dict):
        return any(_holds_replacement(key) or _holds_replacement(item) for key, item in value.items())
    if isinstance(value, list):
        return any(map(_holds_replacement, value))
    return False


class _Utf8Stream(io.RawIOBase):
    """A text stream read back as UTF-8 bytes."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._text = text
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = self._text.read(1 << 16)
            if not chunk:
                return 0
            self._pending = chunk.encode("utf-8")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _LegacyLines(io.RawIOBase):
    """A GB18030 or Big5 byte stream as UTF-8 bytes, line by line through ``decode_line``
    (bytes the encoding cannot decode become U+FFFD, so the row is an error record)."""

    def __init__(self, stream: BinaryIO, encoding: str) -> None:
        self._stream = stream
        self._encoding = encoding
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            line = self._stream.readline(1 << 20)
            if not line:
                return 0
            try:
                text = decode_line(line, self._encoding)[0]
            except UnicodeDecodeError:
                text = line.decode(self._encoding, "replace")
            self._pending = text.encode("utf-8")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


# --- CSV / TSV -------------------------------------------------------------------------


def _read_delimited(file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor) -> Iterator[Document]:
    """CSV (quoted fields, embedded newlines) or TSV (tab-separated, no quoting, as most
    Chinese datasets are), with or without a header row, in any detected encoding."""
    import csv

    cursor.unit = "row"
    composer = Composer(source)
    csv.field_size_limit(max(read.max_doc_bytes, 1 << 20))
    with open_input(file.path) as opened:
        sample, at_eof, stream = read_sample(opened, SNIFF_BYTES)
        if not sample.strip():
            yield error_record(source.name, file, 0, "row", Reason.EMPTY_FILE, "the file has no bytes")
            return
        encoding = sniff_encoding(sample, source.encoding, at_eof)
        decoded_as = encoding
        if is_legacy(encoding):  # its UTF-8 lines as UTF-8 (decode_line), the rest re-encoded
            stream = io.BufferedReader(_LegacyLines(stream, encoding))
            decoded_as = "utf-8"
        text_stream = io.TextIOWrapper(stream, encoding=decoded_as, errors="replace", newline="")
        if source.format == "tsv":
            rows = csv.reader(text_stream, delimiter="\t", quoting=csv.QUOTE_NONE)
        else:
            rows = csv.reader(text_stream)
        names: list[str] | None = list(source.columns) if source.columns else None
        skip_header = source.header and names is not None  # named columns replace the header's
        first = True
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                # In quoted CSV the parser's place is lost (an oversized field, a bad quote):
                # reading on would cut later rows into invented documents. Stop, and say so.
                cursor.position += 1
                detail = f"unparsable row, reading stopped (the rows after it were not read): {exc}"
                yield error_record(source.name, file, cursor.position, "row", Reason.MALFORMED_ROW, detail)
                return
            if first and row:
                row[0] = row[0].lstrip("\ufeff")
                first = False
            if not any(field.strip() for field in row):
                continue
            if names is None or skip_header:
                if names is None:
                    names = [name.strip() for name in row]
                    twice = repeated(names)
                    if twice:
                        detail = f"the header names a column twice: {', '.join(twice)}; name the columns in the config"
                        yield error_record(source.name, file, 0, "row", Reason.MALFORMED_ROW, detail, "\t".join(row).encode())
                        return
                skip_header = False
                continue
            cursor.position += 1
            joined = "\t".join(row)
            raw = joined[:SNIPPET_BYTES].encode("utf-8", "replace")
            if "\ufffd" in joined:
                detail = f"invalid {encoding} in the row"
                yield error_record(
                    source.name, file, cursor.position, "row", Reason.UNDECODABLE_TEXT, detail, raw, len(joined.encode())
                )
                continue
            if len(row) != len(names):
                detail = f"{len(row)} fields, the header has {len(names)}"
                yield error_record(
                    source.name, file, cursor.position, "row", Reason.MALFORMED_ROW, detail, raw, len(joined.encode())
                )
                continue
            meta: dict[str, MetaValue] = {"path": file.rel, "row": cursor.position}
            record = {name: value.replace("\r\n", "\n") for name, value in zip(names, row, strict=True)}
            yield record_document(
                record, composer, source, read, file, "row", cursor.position, joined.encode("utf-8", "replace"), meta
            )


# --- one record per line ----------------------------------------------------------------


def _read_lines(file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor) -> Iterator[Document]:
    """Each non-blank line is a document, with an optional label before or after
    ``label_separator`` kept as metadata (``label``), not as text."""
    composer = Composer(source)
    for item in _text_lines(file, source, read, cursor):
        if isinstance(item, Document):
            yield item
            continue
        lineno, raw, line, _ = item
        text = line.rstrip("\r\n")
        meta: dict[str, MetaValue] = {"path": file.rel, "line": lineno}
        if source.label is not None:
            if source.label_separator not in text:
                detail = f"no label separator {source.label_separator!r} in the line"
                yield error_record(source.name, file, lineno, "line", Reason.MALFORMED_ROW, detail, raw)
                continue
            if source.label == "prefix":
                label, text = text.split(source.label_separator, 1)
            else:
                text, label = text.rsplit(source.label_separator, 1)
            meta["label"] = label.strip()
        cleaned = composer.clean(text)
        if not cleaned.strip():
            detail = "the line holds only a label" if source.label else "the line is empty once cleaned"
            yield error_record(source.name, file, lineno, "line", Reason.MISSING_TEXT, detail, raw)
            continue
        yield _document(source.name, file, "line", lineno, f"{file.rel}:{lineno}", cleaned, meta)


# --- Parquet -------------------------------------------------------------------------


def _read_parquet(file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor) -> Iterator[Document]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cursor.unit = "row"
    composer = Composer(source)
    with open_input(file.path) as stream:
        if not stream.peek(1):  # type: ignore[attr-defined]
            yield error_record(source.name, file, 0, "row", Reason.EMPTY_FILE, "the file has no bytes")
            return
        try:
            parquet = pq.ParquetFile(stream)
        except (pa.ArrowException, ValueError, OSError) as exc:
            yield error_record(source.name, file, 0, "row", Reason.BAD_PARQUET, f"not a readable Parquet file: {exc}")
            return
        names = set(parquet.schema_arrow.names)
        templated = bool(source.text_template or source.id_template or source.meta_fields or source.where)
        if templated:
            yield from _parquet_records(parquet, file, source, read, cursor)
            return
        if source.text_field not in names:
            detail = f"no column '{source.text_field}' (columns: {', '.join(sorted(names))})"
            yield error_record(source.name, file, 0, "row", Reason.BAD_PARQUET, detail)
            return
        columns = [source.text_field]
        if source.id_field is not None and source.id_field in names and source.id_field != source.text_field:
            columns.append(source.id_field)
        # Row group by row group: a corrupt page costs its row group (one error record with
        # the group's row count as its detail), not the rest of the file.
        for group in range(parquet.num_row_groups):
            first_row = cursor.position + 1
            group_rows = parquet.metadata.row_group(group).num_rows
            try:
                table = parquet.read_row_group(group, columns=columns)
            except (pa.ArrowException, OSError) as exc:
                detail = f"row group {group} (rows {first_row}-{first_row + group_rows - 1}) unreadable: {exc}"
                yield error_record(source.name, file, first_row, "row", Reason.BAD_PARQUET, detail)
                cursor.position += group_rows
                continue
            for batch in table.to_batches(max_chunksize=256):
                texts = batch.column(source.text_field).to_pylist()
                ids = batch.column(source.id_field).to_pylist() if len(columns) > 1 else [None] * len(texts)
                for text, given_id in zip(texts, ids, strict=True):
                    cursor.position += 1
                    yield _parquet_row(
                        composer.clean(text) if isinstance(text, str) else text, given_id, cursor.position, file, source, read
                    )


def _parquet_records(
    parquet: Any, file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor
) -> Iterator[Document]:
    """Rows as records (every column), composed by the source's templates."""
    import pyarrow as pa

    composer = Composer(source)
    for group in range(parquet.num_row_groups):
        first_row = cursor.position + 1
        group_rows = parquet.metadata.row_group(group).num_rows
        try:
            table = parquet.read_row_group(group)
        except (pa.ArrowException, OSError) as exc:
            detail = f"row group {group} (rows {first_row}-{first_row + group_rows - 1}) unreadable: {exc}"
            yield error_record(source.name, file, first_row, "row", Reason.BAD_PARQUET, detail)
            cursor.position += group_rows
            continue
        for batch in table.to_batches(max_chunksize=256):
            for record in batch.to_pylist():
                cursor.position += 1
                raw = repr(record)[:SNIPPET_BYTES].encode("utf-8", "replace")
                meta: dict[str, MetaValue] = {"path": file.rel, "row": cursor.position}
                yield record_document(record, composer, source, read, file, "row", cursor.position, raw, meta)


def _parquet_row(text: Any, given_id: Any, row: int, file: InputFile, source: SourceConfig, read: ReadConfig) -> Document:
    raw = repr(text).encode("utf-8", "replace")[:SNIPPET_BYTES]
    if text is None:
        return error_record(source.name, file, row, "row", Reason.MISSING_TEXT, f"column '{source.text_field}' is null")
    if not isinstance(text, str):
        detail = f"column '{source.text_field}' holds a {type(text).__name__}"
        return error_record(source.name, file, row, "row", Reason.NON_STRING_TEXT, detail, raw)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > read.max_doc_bytes:
        detail = f"text of {size} bytes > max_doc_bytes={read.max_doc_bytes}"
        return error_record(
            source.name,
            file,
            row,
            "row",
            Reason.DOCUMENT_TOO_LARGE,
            detail,
            text[:SNIPPET_BYTES].encode("utf-8", "replace"),
            size,
        )
    doc_id = f"{file.rel}:{row}"
    if given_id is not None:
        checked, why = _field_id(given_id)
        if checked is None:
            return error_record(source.name, file, row, "row", Reason.BAD_ID, why, raw)
        doc_id = checked
    return _document(source.name, file, "row", row, doc_id, text, {"path": file.rel, "row": row})


# --- plain text files ----------------------------------------------------------------


def _read_text(file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor) -> Iterator[Document]:
    cursor.unit = "byte"
    with open_input(file.path) as stream:
        data = stream.read(read.max_doc_bytes + 1)
        if len(data) > read.max_doc_bytes:
            size = len(data)
            while chunk := stream.read(1 << 20):
                size += len(chunk)
            detail = f"file of {size} bytes > max_doc_bytes={read.max_doc_bytes}"
            yield error_record(source.name, file, 0, "byte", Reason.DOCUMENT_TOO_LARGE, detail, data[:SNIPPET_BYTES], size)
            return
    if not data:
        yield error_record(source.name, file, 0, "byte", Reason.EMPTY_FILE, "the file has no bytes")
        return
    encoding = sniff_encoding(data[:SNIFF_BYTES], source.encoding, at_eof=len(data) <= SNIFF_BYTES)
    if is_ascii_compatible(encoding) and b"\x00" in data:
        at = data.index(b"\x00")
        detail = f"NUL bytes from byte {at}: a binary file, or text cut off by a crashed writer"
        yield error_record(
            source.name, file, at, "byte", Reason.UNDECODABLE_TEXT, detail, data[max(0, at - 100) : at + 100], len(data)
        )
        return
    utf8_lines = 0
    try:
        if is_legacy(encoding):
            text, utf8_lines = decode_lines(data, encoding)
        else:
            text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        detail = f"invalid {encoding} at byte {exc.start}"
        yield error_record(
            source.name,
            file,
            exc.start,
            "byte",
            Reason.UNDECODABLE_TEXT,
            detail,
            data[max(0, exc.start - 100) : exc.start + 100],
            len(data),
        )
        return
    meta: dict[str, MetaValue] = {"path": file.rel}
    if encoding not in ("utf-8", "utf-8-sig"):
        meta["encoding"] = encoding
    if utf8_lines:
        meta["utf8_lines"] = utf8_lines  # lines of the legacy file that were UTF-8 (decode_line)
    yield _document(source.name, file, "byte", 0, file.rel, Composer(source).clean(text), meta)  # one document per file


# --- WARC / WET ----------------------------------------------------------------------

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_SINGLE_BYTE = {"latin-1", "iso8859-1", "ascii", "cp1252", "iso8859-15", "cp1250", "cp1251", "iso8859-2"}
_HEX = re.compile(rb"[0-9A-Fa-f]+")


@dataclass(frozen=True)
class _HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def _parse_http(block: bytes) -> _HttpResponse | str:
    """The HTTP response in a WARC response block, or what is wrong with it."""
    ends = [(index, len(mark)) for mark in (b"\r\n\r\n", b"\n\n") if (index := block.find(mark)) >= 0]
    if not ends:
        return "no end of the HTTP header block"
    end, mark_length = min(ends)
    head, body = block[:end], block[end + mark_length :]
    if not head.startswith(b"HTTP/"):
        return "no HTTP status line"
    lines = head.decode("latin-1").splitlines()
    status_parts = lines[0].split()
    if len(status_parts) < 2 or not (status_parts[1].isascii() and status_parts[1].isdigit()):
        return f"bad HTTP status line {lines[0][:80]!r}"
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            return f"bad HTTP header line {line[:80]!r}"
        headers[name.strip().lower()] = value.strip()
    return _HttpResponse(int(status_parts[1]), headers, body)


def _dechunk(body: bytes) -> bytes:
    """Undo chunked transfer encoding; ValueError on anything malformed."""
    out, position = [], 0
    while True:
        end = body.find(b"\r\n", position)
        size_field = body[position:end].split(b";")[0].strip() if end >= 0 else b""
        if not _HEX.fullmatch(size_field):
            raise ValueError(f"bad chunk size at byte {position}")
        size = int(size_field, 16)
        if size == 0:
            return b"".join(out)
        chunk = body[end + 2 : end + 2 + size]
        if len(chunk) < size:
            raise ValueError(f"chunk cut short at byte {position}")
        out.append(chunk)
        position = end + 2 + size + 2


def _decompress(body: bytes, coding: str, limit: int) -> bytes:
    """Undo Content-Encoding, never producing more than ``limit`` + 1 bytes."""
    if coding in ("", "identity"):
        return body
    if coding in ("gzip", "x-gzip", "deflate"):
        wbits = 47 if coding != "deflate" else (15 if body[:1] == b"\x78" else -15)  # 47: gzip or zlib header
        decompressor = zlib.decompressobj(wbits)
        data = decompressor.decompress(body, limit + 1)
        if len(data) <= limit and not decompressor.eof:
            raise ValueError(f"{coding} body cut short")
        return data
    if coding == "br":
        import brotli

        decompressor = brotli.Decompressor()
        data = decompressor.process(body, output_buffer_limit=limit + 1)
        if len(data) <= limit and not decompressor.is_finished():
            raise ValueError("br body cut short")
        return data
    raise ValueError(f"unsupported Content-Encoding {coding!r}")


def _content_type(headers: dict[str, str], body: bytes) -> tuple[str, str | None]:
    value = headers.get("content-type", "")
    media = value.split(";")[0].strip().lower()
    charset = None
    for param in value.split(";")[1:]:
        key, _, param_value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = param_value.strip().strip("\"'") or None
    if not media:
        media = "text/html" if b"<html" in body[:4096].lower() else "text/plain"
    return media, charset


def decode_web_text(body: bytes, charset: str | None) -> tuple[str, bool]:
    """(text, decoded strictly): the declared charset widened to its superset (a page
    labelled gb2312 often holds GBK characters, like 镕 in 朱镕基), then the file
    detection of corpus/encoding.py; if neither decodes strictly, the detected encoding
    with replacement characters."""
    declared = normalise_encoding(charset) if charset else None
    detected = sniff_encoding(body[:SNIFF_BYTES], at_eof=len(body) <= SNIFF_BYTES)
    if declared in _SINGLE_BYTE and not body.isascii() and detected != declared:
        # A Latin code page decodes any bytes, so a wrong one cannot be caught by a strict
        # decode: a GBK page served as iso-8859-1 is taken as GBK when it reads as Chinese.
        with contextlib.suppress(UnicodeDecodeError):  # detected bytes that do not decode: keep the declared
            if looks_chinese(body.decode(detected)):
                declared = None
    for encoding in dict.fromkeys(e for e in (declared, detected) if e):
        try:
            return body.decode(encoding), True
        except UnicodeDecodeError:
            continue
    return body.decode(detected, "replace"), False


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)


def meta_charset(body: bytes) -> str | None:
    """The charset a page declares in a ``<meta>`` tag of its first 4 KB."""
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii", "replace") if match else None


def html_to_text(body: bytes, charset: str | None, main_content: bool) -> tuple[str, str, dict[str, MetaValue]]:
    """(text, title, line hints) of an HTML page: one line per block (corpus/html.py), with
    each line's zone and link share as meta; with ``main_content``, resiliparse's main
    content only, and no hints."""
    html, _ = decode_web_text(body, charset or meta_charset(body))
    if main_content:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        tree = HTMLTree.parse(html)
        text = extract_plain_text(tree, main_content=True, preserve_formatting=True, links=False, alt_texts=False)
        return text, (tree.title or "").strip(), {}
    page = extract_page(html)
    return page.text, page.title, {HTML_ZONES: page.zones, HTML_LINKS: page.links}


def _next_record_start(stream: BinaryIO, after: int, gzipped: bool) -> int | None:
    """The offset of the next gzip member (or WARC header) after ``after``, scanning the raw
    file in chunks; None at the end of the file."""
    marker = b"\x1f\x8b\x08" if gzipped else b"WARC/1."
    stream.seek(after)
    offset, tail = after, b""
    while chunk := stream.read(1 << 20):
        found = (tail + chunk).find(marker)
        if found >= 0:
            return offset - len(tail) + found
        tail = chunk[-(len(marker) - 1) :]
        offset += len(chunk)
    return None


def _read_warc(file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor) -> Iterator[Document]:
    """Records in file order. Corrupt data (a broken gzip member, a mangled header) costs
    one error record and the bytes up to the next gzip member or WARC header, not the rest
    of the file: Common Crawl compresses each record on its own, so reading can resume."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    cursor.unit = "offset"
    composer = Composer(source)  # built once per file: it compiles the replacements
    wanted = WarcRecordType.response | WarcRecordType.conversion | WarcRecordType.resource
    gzipped = file.path.lower().endswith(".gz")
    # fastwarc reads gzip itself. A member cut short shows as a record holding fewer bytes
    # than its Content-Length (checked in _warc_document); corrupt data raises OSError.
    with open_input(file.path, decompress=False) as stream:
        if not stream.peek(1):  # type: ignore[attr-defined]
            yield error_record(source.name, file, 0, "offset", Reason.EMPTY_FILE, "the file has no bytes")
            return
        start: int | None = 0
        while start is not None:
            stream.seek(start)
            last_good: int | None = None
            try:
                for record in ArchiveIterator(stream, record_types=wanted, parse_http=False, stream_detect=True):
                    cursor.position = last_good = record.stream_pos  # fastwarc reports offsets in the raw file
                    try:
                        yield _warc_document(record, file, source, read, cursor.position, composer)
                    except Exception as exc:  # noqa: BLE001 - one odd record must not end the file
                        detail = exception_detail(exc)
                        yield error_record(source.name, file, cursor.position, "offset", Reason.BAD_WARC_RECORD, detail)
                return
            except OSError as exc:
                # The record after the last good one is the broken one: skip to the next.
                failing = start if last_good is None else _next_record_start(stream, last_good + 1, gzipped)
                failing = start if failing is None else failing
                resume = _next_record_start(stream, failing + 1, gzipped)
                where = f"from offset {failing}" + (f" to {resume}" if resume is not None else " to the end")
                yield error_record(
                    source.name, file, failing, "offset", Reason.BAD_WARC_RECORD, f"{_oserror(exc)}; skipped {where}"
                )
                cursor.position = failing
                start = resume


def _warc_document(
    record: Any, file: InputFile, source: SourceConfig, read: ReadConfig, offset: int, composer: Composer
) -> Document:
    from fastwarc.warc import WarcRecordType

    def error(reason: Reason, detail: str, raw: bytes = b"", size: int | None = None) -> Document:
        return error_record(source.name, file, offset, "offset", reason, detail, raw, size)

    if record.content_length > read.max_doc_bytes:
        size = record.content_length
        return error(Reason.DOCUMENT_TOO_LARGE, f"record of {size} bytes > max_doc_bytes={read.max_doc_bytes}", size=size)
    block = record.reader.read()
    if len(block) < record.content_length:
        return error(Reason.TRUNCATED_FILE, f"record holds {len(block)} of its {record.content_length} bytes", block)
    record_id = (record.headers.get("WARC-Record-ID") or "").strip("<>")
    doc_id = record_id or f"{file.rel}@{offset}"
    url = record.headers.get("WARC-Target-URI") or ""
    meta: dict[str, MetaValue] = {"path": file.rel, "offset": offset, "url": url}

    def document(text: str) -> Document:
        doc = _document(source.name, file, "offset", offset, doc_id, composer.clean(text), meta)
        return doc if doc.removal is None else doc.with_meta(in_bytes=len(block))

    if record.record_type == WarcRecordType.conversion:  # WET: the text is already extracted
        try:
            return document(block.decode("utf-8"))
        except UnicodeDecodeError as exc:
            return error(Reason.UNDECODABLE_TEXT, f"WET text is not UTF-8 at byte {exc.start}", block)
    if record.record_type == WarcRecordType.response:
        response = _parse_http(block)
        if isinstance(response, str):
            return error(Reason.BAD_WARC_RECORD, response, block)
        meta["http_status"] = response.status
        try:
            body = response.body
            if "chunked" in response.headers.get("transfer-encoding", "").lower():
                body = _dechunk(body)
            body = _decompress(body, response.headers.get("content-encoding", "").lower(), read.max_doc_bytes)
        except (ValueError, OSError, zlib.error, EOFError) as exc:
            return error(Reason.BAD_WARC_RECORD, f"cannot decode the HTTP body: {exc}", block)
        if len(body) > read.max_doc_bytes:
            return error(
                Reason.DOCUMENT_TOO_LARGE, f"body over max_doc_bytes={read.max_doc_bytes} once decompressed", size=len(block)
            )
        media, charset = _content_type(response.headers, body)
    else:  # a resource record: the block is the document itself
        body = block
        media, charset = _content_type({"content-type": record.headers.get("Content-Type", "")}, body)
    if media in _HTML_TYPES:
        page = _html_page(body, charset, read)
        if isinstance(page, _PageError):
            return error(page.reason, page.detail, page.raw, page.size)
        meta["title"] = page.title
        meta.update(page.hints)
        return document(page.text)
    if media.startswith("text/"):
        text, strict = decode_web_text(body, charset)
        if not strict:
            return error(Reason.UNDECODABLE_TEXT, f"{media} body decodes in no candidate encoding", body)
        return document(text)
    return error(Reason.UNSUPPORTED_CONTENT, f"content type {media!r} is not text", body[:SNIPPET_BYTES], len(block))


@dataclass(frozen=True)
class _PageText:
    text: str
    title: str
    hints: dict[str, MetaValue]


@dataclass(frozen=True)
class _PageError:
    reason: Reason
    detail: str
    raw: bytes
    size: int


def _html_page(body: bytes, charset: str | None, read: ReadConfig) -> _PageText | _PageError:
    """The text of a page, or what its error record says."""
    if b"\x00" in body:  # HTML never holds a NUL byte
        return _PageError(Reason.HTML_EXTRACTION_FAILED, "binary data labelled HTML", body[:SNIPPET_BYTES], len(body))
    try:
        text, title, hints = html_to_text(body, charset, read.html_main_content)
    except Exception as exc:  # noqa: BLE001 - any parser failure becomes an error record
        return _PageError(Reason.HTML_EXTRACTION_FAILED, exception_detail(exc), body[:SNIPPET_BYTES], len(body))
    if body.strip() and not text.strip() and not title:
        # A page from which the parser recovers nothing at all: an error to see, not a
        # garbage document.
        detail = "no text could be extracted from the HTML"
        return _PageError(Reason.HTML_EXTRACTION_FAILED, detail, body[:SNIPPET_BYTES], len(body))
    return _PageText(text, title, hints)


def _read_html(file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor) -> Iterator[Document]:
    """A saved web page: one document per file, decoded by its ``<meta>`` charset (widened
    to its superset) or the detected encoding, read as the pages of a WARC file are."""
    cursor.unit = "byte"
    with open_input(file.path) as stream:
        body = stream.read(read.max_doc_bytes + 1)
        if len(body) > read.max_doc_bytes:
            size = len(body)
            while chunk := stream.read(1 << 20):
                size += len(chunk)
            detail = f"file of {size} bytes > max_doc_bytes={read.max_doc_bytes}"
            yield error_record(source.name, file, 0, "byte", Reason.DOCUMENT_TOO_LARGE, detail, body[:SNIPPET_BYTES], size)
            return
    if not body.strip():
        yield error_record(source.name, file, 0, "byte", Reason.EMPTY_FILE, "the file has no bytes")
        return
    page = _html_page(body, None, read)
    if isinstance(page, _PageError):
        yield error_record(source.name, file, 0, "byte", page.reason, page.detail, page.raw, page.size)
        return
    meta: dict[str, MetaValue] = {"path": file.rel, "title": page.title, **page.hints}
    yield _document(source.name, file, "byte", 0, file.rel, Composer(source).clean(page.text), meta)


_FORMATS_BY_NAME = (
    ((".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson"), "jsonl"),
    ((".json",), "json"),
    ((".parquet",), "parquet"),
    ((".warc", ".warc.gz"), "warc"),
    ((".html", ".htm", ".html.gz"), "html"),
    ((".tsv",), "tsv"),
    ((".csv",), "csv"),
    ((".txt", ".txt.gz", ".md"), "text"),
)


def format_from_name(path: str) -> str | None:
    """The reader format a file's name tells (None: it does not)."""
    lowered = path.lower()
    for endings, name in _FORMATS_BY_NAME:
        if lowered.endswith(endings):
            return name
    return None


def read_texts(paths: Sequence[str], fmt: str | None = None, text_field: str = "text") -> Iterator[tuple[str, Document | None]]:
    """``(path, document)`` for the documents of files outside a run (training files, dev
    sets), each read with the format its name tells (or ``fmt``); ``None`` for a record
    that is an error or holds no text. The files must exist and their formats be known."""
    for path in paths:
        source = SourceConfig(name="texts", paths=(path,), format=fmt or format_from_name(path), text_field=text_field)  # type: ignore[arg-type]
        for doc in read_file(InputFile(path, os.path.basename(path)), source, ReadConfig()):
            yield path, (None if doc.removal is not None or not doc.text.strip() else doc)
