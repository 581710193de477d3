"""Opening input files as byte streams: local or remote, plain, gzip or zstd.

Every reader goes through ``open_input`` so that compression, remote file systems (through
Beam's ``FileSystems``, e.g. ``gs://``) and truncation are handled once. A truncated or
corrupt compressed stream raises ``TruncatedStream`` at the point where it breaks, so the
documents before it are kept and the break becomes one error record with its position.
Python's ``gzip`` raises on truncation by itself; ``zstandard``'s stream reader silently
returns the partial data, so zstd goes through a small reader that checks frame ends.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import zstandard

_CHUNK = 1 << 16


class TruncatedStream(Exception):
    """The compressed stream ends early or is corrupt."""


def is_remote(path: str) -> bool:
    return "://" in path


def compression_of(path: str) -> str | None:
    lowered = path.lower()
    if lowered.endswith(".gz"):
        return "gzip"
    if lowered.endswith((".zst", ".zstd")):
        return "zstd"
    return None


def _open_raw(path: str) -> BinaryIO:
    if is_remote(path):
        from apache_beam.io.filesystem import CompressionTypes
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    return open(path, "rb", buffering=_CHUNK)


class _ZstdReader(io.RawIOBase):
    """Decompresses one or more concatenated zstd frames; raises at a frame cut short."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._decompressor = zstandard.ZstdDecompressor()
        self._frame = self._decompressor.decompressobj()
        self._in_frame = False
        self._pending = b""
        self._failure: TruncatedStream | None = None  # raised once the good output is delivered

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            if self._failure is not None:
                raise self._failure
            compressed = self._raw.read(_CHUNK)
            if not compressed:
                if self._in_frame:
                    raise TruncatedStream("zstd stream ends inside a frame")
                return 0
            self._pending = self._feed(compressed)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _feed(self, compressed: bytes) -> bytes:
        out = []
        while compressed:
            try:
                out.append(self._frame.decompress(compressed))
            except zstandard.ZstdError as exc:
                self._failure = TruncatedStream(f"corrupt zstd data: {exc}")
                break
            self._in_frame = not self._frame.eof
            if not self._frame.eof:
                break
            compressed = self._frame.unused_data
            self._frame = self._decompressor.decompressobj()
            self._in_frame = bool(compressed)
        return b"".join(out)


class _CheckedStream(io.RawIOBase):
    """Turns the many ways a gzip stream breaks into one ``TruncatedStream``."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            # read1, not read: GzipFile.read loops and drops what it already decompressed
            # when the stream then breaks; read1 hands over every byte before the break.
            data = self._inner.read1(len(buffer))  # type: ignore[attr-defined]
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise TruncatedStream(f"corrupt or truncated gzip data: {exc}") from exc
        size = len(data)
        buffer[:size] = data
        return size


@contextmanager
def open_input(path: str, decompress: bool = True) -> Iterator[BinaryIO]:
    """A buffered byte stream of ``path`` (``readline`` works), decompressed unless told
    not to (fastwarc decompresses by itself and needs the seekable raw file)."""
    raw = _open_raw(path)
    try:
        compression = compression_of(path) if decompress else None
        if compression == "gzip":
            stream: BinaryIO = io.BufferedReader(_CheckedStream(gzip.GzipFile(fileobj=raw)), _CHUNK)  # type: ignore[arg-type]
        elif compression == "zstd":
            stream = io.BufferedReader(_ZstdReader(raw), _CHUNK)  # type: ignore[arg-type]
        else:
            stream = raw  # opened with a buffer of _CHUNK bytes
        yield stream
    finally:
        raw.close()


class _Prefixed(io.RawIOBase):
    """A sample already read, then the rest of the stream: sniffing without seeking."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self._prefix = prefix
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._prefix:
            size = min(len(buffer), len(self._prefix))
            buffer[:size] = self._prefix[:size]
            self._prefix = self._prefix[size:]
            return size
        read1 = getattr(self._rest, "read1", self._rest.read)
        data = read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_sample(stream: BinaryIO, size: int) -> tuple[bytes, bool, BinaryIO]:
    """(the first ``size`` bytes, whether that is the whole stream, the stream from its
    start again)."""
    sample = stream.read(size)
    at_eof = len(sample) < size
    return sample, at_eof, io.BufferedReader(_Prefixed(sample, stream), _CHUNK)  # type: ignore[arg-type]
