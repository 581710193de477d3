"""Readers: every input file becomes a stream of Documents, good ones and error records.

Formats: JSONL (``.jsonl``, ``.jsonl.gz``, ``.jsonl.zst``), Parquet, plain text files (one
document per file, optionally ``.gz``/``.zst``), and WARC/WET (Common Crawl, gzip or
plain) with HTML turned into text by resiliparse.

Nothing is lost: a line, row or record that cannot be read becomes an error record, a
``Document`` whose single verdict has an error ``Reason``, with the file (relative to the
source's folder), the position (line, row or byte offset) and the first bytes of what was
there. The rest of the file is still read wherever the format allows it; a truncated
compressed file keeps every document before the break. Reading streams: memory does not
grow with the size of a file, and a single document is bounded by ``max_doc_bytes``.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from corpus.config import InputFile, ReadConfig, SourceConfig
from corpus.encoding import SNIFF_BYTES, is_ascii_compatible, sniff_encoding
from corpus.reasons import Reason
from corpus.record import Document, MetaValue, Verdict, make_meta
from corpus.streams import TruncatedStream, open_input

READ_STAGE = "read"
SNIPPET_BYTES = 2000
"""How much of an unreadable record an error record keeps, so a person can see it."""


@dataclass
class _Cursor:
    """Where a reader is in its file, for the error record when the file breaks."""

    position: int = 0
    unit: str = "line"


def error_record(
    source: str, file: InputFile, position: int, unit: str, reason: Reason, detail: str, raw: bytes = b""
) -> Document:
    snippet = raw[:SNIPPET_BYTES].decode("utf-8", "replace")
    meta = {"path": file.rel, unit: position, "in_bytes": len(raw)}
    return Document(
        doc_id=f"{file.rel}:{unit}:{position}",
        source=source,
        text=snippet,
        meta=make_meta(meta),
        verdicts=(Verdict(READ_STAGE, reason, detail=detail),),
    )


def _document(source: str, doc_id: str, text: str, **meta: MetaValue) -> Document:
    meta["in_bytes"] = len(text.encode("utf-8", "surrogatepass"))
    return Document(doc_id=doc_id, source=source, text=text, meta=make_meta(meta))


def read_file(file: InputFile, source: SourceConfig, read: ReadConfig) -> Iterator[Document]:
    """Every document of one file, in file order; never raises for bad content."""
    cursor = _Cursor()
    try:
        match source.format:
            case "jsonl":
                yield from _read_jsonl(file, source, read, cursor)
            case "parquet":
                yield from _read_parquet(file, source, read, cursor)
            case "text":
                yield from _read_text(file, source, read, cursor)
            case "warc":
                yield from _read_warc(file, source, read, cursor)
    except TruncatedStream as exc:
        yield error_record(source.name, file, cursor.position, cursor.unit, Reason.TRUNCATED_FILE, str(exc))
    except OSError as exc:
        yield error_record(
            source.name, file, cursor.position, cursor.unit, Reason.UNREADABLE_FILE, f"{type(exc).__name__}: {exc}"
        )


# --- JSONL ---------------------------------------------------------------------------


def _lines(stream: BinaryIO, encoding: str, limit: int) -> Iterator[tuple[bytes | str, bool]]:
    """(line, too_large) pairs; a line over ``limit`` bytes is skipped without being held."""
    if not is_ascii_compatible(encoding):
        text_stream = io.TextIOWrapper(stream, encoding=encoding, newline=None)
        for text_line in text_stream:
            yield text_line, len(text_line) * 2 > limit
        return
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(1 << 20)
            yield b"", True
            continue
        yield line, False


def _decode_line(line: bytes | str, encoding: str) -> str:
    return line if isinstance(line, str) else line.decode(encoding)


def _field_text(record: dict[str, Any], field_name: str) -> tuple[str | None, Reason | None]:
    value = record.get(field_name)
    if value is None:
        return None, Reason.MISSING_TEXT
    if not isinstance(value, str):
        return None, Reason.NON_STRING_TEXT
    return value, None


def _field_id(value: Any) -> str | None:
    """The id as a string; None when it has a type an id cannot have."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _read_jsonl(file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor) -> Iterator[Document]:
    with open_input(file.path) as stream:
        sample = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
        if not sample:
            yield error_record(source.name, file, 0, "line", Reason.EMPTY_FILE, "the file has no bytes")
            return
        encoding = sniff_encoding(sample, source.encoding)
        for line, too_large in _lines(stream, encoding, read.max_doc_bytes):
            cursor.position += 1
            lineno = cursor.position
            if too_large:
                yield error_record(
                    source.name,
                    file,
                    lineno,
                    "line",
                    Reason.DOCUMENT_TOO_LARGE,
                    f"line longer than max_doc_bytes={read.max_doc_bytes}",
                )
                continue
            raw = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
            try:
                decoded = _decode_line(line, encoding)
            except UnicodeDecodeError as exc:
                yield error_record(
                    source.name,
                    file,
                    lineno,
                    "line",
                    Reason.UNDECODABLE_TEXT,
                    f"invalid {encoding} at byte {exc.start} of the line",
                    raw,
                )
                continue
            if not decoded.strip():
                continue  # a blank line holds no record
            yield _parse_json_line(decoded, raw, lineno, file, source, encoding)


def _parse_json_line(decoded: str, raw: bytes, lineno: int, file: InputFile, source: SourceConfig, encoding: str) -> Document:
    try:
        record = json.loads(decoded)
    except json.JSONDecodeError as exc:
        return error_record(source.name, file, lineno, "line", Reason.MALFORMED_JSON, f"{exc.msg} at column {exc.colno}", raw)
    if not isinstance(record, dict):
        return error_record(
            source.name, file, lineno, "line", Reason.NOT_AN_OBJECT, f"a JSON {type(record).__name__}, not an object", raw
        )
    text, problem = _field_text(record, source.text_field)
    if problem is not None:
        return error_record(source.name, file, lineno, "line", problem, f"field '{source.text_field}'", raw)
    doc_id = f"{file.rel}:{lineno}"
    if source.id_field is not None and record.get(source.id_field) is not None:
        given = _field_id(record[source.id_field])
        if given is None:
            return error_record(
                source.name,
                file,
                lineno,
                "line",
                Reason.BAD_ID,
                f"field '{source.id_field}' is a {type(record[source.id_field]).__name__}",
                raw,
            )
        doc_id = given
    meta: dict[str, MetaValue] = {"path": file.rel, "line": lineno}
    if encoding not in ("utf-8", "utf-8-sig"):
        meta["encoding"] = encoding
    return _document(source.name, doc_id, text or "", **meta)


# --- Parquet -------------------------------------------------------------------------


def _read_parquet(file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor) -> Iterator[Document]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cursor.unit = "row"
    with open_input(file.path) as stream:
        try:
            parquet = pq.ParquetFile(stream)
        except (pa.ArrowException, ValueError) as exc:
            yield error_record(source.name, file, 0, "row", Reason.BAD_PARQUET, f"not a readable Parquet file: {exc}")
            return
        names = set(parquet.schema_arrow.names)
        if source.text_field not in names:
            yield error_record(
                source.name,
                file,
                0,
                "row",
                Reason.BAD_PARQUET,
                f"no column '{source.text_field}' (columns: {', '.join(sorted(names))})",
            )
            return
        columns = [source.text_field]
        if source.id_field is not None and source.id_field in names and source.id_field != source.text_field:
            columns.append(source.id_field)
        try:
            for batch in parquet.iter_batches(batch_size=1024, columns=columns):
                texts = batch.column(source.text_field).to_pylist()
                ids = batch.column(source.id_field).to_pylist() if len(columns) > 1 else [None] * len(texts)
                for text, given_id in zip(texts, ids, strict=True):
                    cursor.position += 1
                    yield _parquet_row(text, given_id, cursor.position, file, source, read)
        except (pa.ArrowException, OSError) as exc:
            yield error_record(source.name, file, cursor.position + 1, "row", Reason.BAD_PARQUET, f"reading stopped: {exc}")


def _parquet_row(text: Any, given_id: Any, row: int, file: InputFile, source: SourceConfig, read: ReadConfig) -> Document:
    raw = repr(text).encode("utf-8", "replace")[:SNIPPET_BYTES]
    if text is None:
        return error_record(source.name, file, row, "row", Reason.MISSING_TEXT, f"column '{source.text_field}' is null")
    if not isinstance(text, str):
        return error_record(
            source.name,
            file,
            row,
            "row",
            Reason.NON_STRING_TEXT,
            f"column '{source.text_field}' holds a {type(text).__name__}",
            raw,
        )
    if len(text) > read.max_doc_bytes or len(text.encode("utf-8", "surrogatepass")) > read.max_doc_bytes:
        return error_record(
            source.name,
            file,
            row,
            "row",
            Reason.DOCUMENT_TOO_LARGE,
            f"text longer than max_doc_bytes={read.max_doc_bytes}",
            text[:SNIPPET_BYTES].encode("utf-8", "replace"),
        )
    doc_id = f"{file.rel}:{row}"
    if given_id is not None:
        checked = _field_id(given_id)
        if checked is None:
            return error_record(source.name, file, row, "row", Reason.BAD_ID, f"id is a {type(given_id).__name__}", raw)
        doc_id = checked
    return _document(source.name, doc_id, text, path=file.rel, row=row)


# --- plain text files ----------------------------------------------------------------


def _read_text(file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor) -> Iterator[Document]:
    cursor.unit = "byte"
    with open_input(file.path) as stream:
        data = stream.read(read.max_doc_bytes + 1)
        if len(data) > read.max_doc_bytes:
            yield error_record(
                source.name,
                file,
                0,
                "byte",
                Reason.DOCUMENT_TOO_LARGE,
                f"file longer than max_doc_bytes={read.max_doc_bytes}",
                data[:SNIPPET_BYTES],
            )
            return
    if not data:
        yield error_record(source.name, file, 0, "byte", Reason.EMPTY_FILE, "the file has no bytes")
        return
    encoding = sniff_encoding(data[:SNIFF_BYTES], source.encoding)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        yield error_record(
            source.name,
            file,
            exc.start,
            "byte",
            Reason.UNDECODABLE_TEXT,
            f"invalid {encoding} at byte {exc.start}",
            data[max(0, exc.start - 100) : exc.start + 100],
        )
        return
    meta: dict[str, MetaValue] = {"path": file.rel}
    if encoding not in ("utf-8", "utf-8-sig"):
        meta["encoding"] = encoding
    yield _document(source.name, file.rel, text, **meta)


# --- WARC / WET ----------------------------------------------------------------------

_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class _HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def _parse_http(block: bytes) -> _HttpResponse | str:
    """The HTTP response in a WARC response block, or what is wrong with it."""
    head, separator, body = block.partition(b"\r\n\r\n")
    if not separator:
        head, separator, body = block.partition(b"\n\n")
    if not separator or not head.startswith(b"HTTP/"):
        return "no HTTP status line and header block"
    lines = head.decode("latin-1").splitlines()
    status_parts = lines[0].split()
    if len(status_parts) < 2 or not status_parts[1].isdigit():
        return f"bad HTTP status line {lines[0][:80]!r}"
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            return f"bad HTTP header line {line[:80]!r}"
        headers[name.strip().lower()] = value.strip()
    return _HttpResponse(int(status_parts[1]), headers, body)


def _dechunk(body: bytes) -> bytes:
    out, position = [], 0
    while True:
        end = body.index(b"\r\n", position)
        size = int(body[position:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(body[end + 2 : end + 2 + size])
        position = end + 2 + size + 2


def _decoded_body(response: _HttpResponse) -> bytes:
    body = response.body
    if "chunked" in response.headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    coding = response.headers.get("content-encoding", "").lower()
    if coding in ("gzip", "x-gzip"):
        body = gzip.decompress(body)
    elif coding == "deflate":
        body = zlib.decompress(body)
    elif coding not in ("", "identity"):
        raise ValueError(f"unsupported Content-Encoding {coding!r}")
    return body


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


def html_to_text(body: bytes, charset: str | None, main_content: bool) -> tuple[str, str]:
    """(text, title) of an HTML page: lines and paragraphs kept, scripts and styles gone."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding
    from resiliparse.parse.html import HTMLTree

    encoding = charset or detect_encoding(body)
    tree = HTMLTree.parse(bytes_to_str(body, encoding))
    text = extract_plain_text(
        tree,
        main_content=main_content,
        preserve_formatting=True,
        alt_texts=False,
        links=False,
        list_bullets=False,
        form_fields=False,
        noscript=False,
    )
    return text, (tree.title or "").strip()


def _read_warc(file: InputFile, source: SourceConfig, read: ReadConfig, cursor: _Cursor) -> Iterator[Document]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    cursor.unit = "offset"
    wanted = WarcRecordType.response | WarcRecordType.conversion | WarcRecordType.resource
    # fastwarc reads gzip itself. A member cut short shows as a record holding fewer bytes
    # than its Content-Length (checked in _warc_document); corrupt data raises OSError.
    with open_input(file.path, decompress=False) as stream:
        if not stream.peek(1):  # type: ignore[attr-defined]
            yield error_record(source.name, file, 0, "offset", Reason.EMPTY_FILE, "the file has no bytes")
            return
        for record in ArchiveIterator(stream, record_types=wanted, parse_http=False, stream_detect=True):
            cursor.position = record.stream_pos
            yield _warc_document(record, file, source, read, cursor.position)


def _warc_document(record: Any, file: InputFile, source: SourceConfig, read: ReadConfig, offset: int) -> Document:
    from fastwarc.warc import WarcRecordType

    def error(reason: Reason, detail: str, raw: bytes = b"") -> Document:
        return error_record(source.name, file, offset, "offset", reason, detail, raw)

    if record.content_length > read.max_doc_bytes:
        return error(Reason.DOCUMENT_TOO_LARGE, f"record of {record.content_length} bytes > max_doc_bytes={read.max_doc_bytes}")
    block = record.reader.read()
    if len(block) < record.content_length:
        return error(Reason.TRUNCATED_FILE, f"record holds {len(block)} of its {record.content_length} bytes", block)
    record_id = (record.headers.get("WARC-Record-ID") or "").strip("<>")
    doc_id = record_id or f"{file.rel}@{offset}"
    url = record.headers.get("WARC-Target-URI") or ""
    meta: dict[str, MetaValue] = {"path": file.rel, "offset": offset, "url": url}
    if record.record_type == WarcRecordType.conversion:  # WET: the text is already extracted
        try:
            return _document(source.name, doc_id, block.decode("utf-8"), **meta)
        except UnicodeDecodeError as exc:
            return error(Reason.UNDECODABLE_TEXT, f"WET text is not UTF-8 at byte {exc.start}", block)
    if record.record_type == WarcRecordType.response:
        response = _parse_http(block)
        if isinstance(response, str):
            return error(Reason.BAD_WARC_RECORD, response, block)
        meta["http_status"] = response.status
        try:
            body = _decoded_body(response)
        except (ValueError, OSError, zlib.error) as exc:
            return error(Reason.BAD_WARC_RECORD, f"cannot decode the HTTP body: {exc}", block)
        media, charset = _content_type(response.headers, body)
    else:  # a resource record: the block is the document itself
        body = block
        media, charset = _content_type({"content-type": record.headers.get("Content-Type", "")}, body)
    if media in _HTML_TYPES:
        try:
            text, title = html_to_text(body, charset, read.html_main_content)
        except Exception as exc:  # noqa: BLE001 - any parser failure becomes an error record
            return error(Reason.HTML_EXTRACTION_FAILED, f"{type(exc).__name__}: {exc}", body)
        meta["title"] = title
        return _document(source.name, doc_id, text, **meta)
    if media.startswith("text/"):
        try:
            return _document(source.name, doc_id, body.decode(charset or sniff_encoding(body[:SNIFF_BYTES])), **meta)
        except (UnicodeDecodeError, LookupError) as exc:
            return error(Reason.UNDECODABLE_TEXT, f"cannot decode {media} body: {exc}", body)
    return error(Reason.UNSUPPORTED_CONTENT, f"content type {media!r} is not text", body[:SNIPPET_BYTES])
