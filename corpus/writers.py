"""Writing documents: sharded, ordered, atomic, byte-identical on every runner.

A folder (``kept/<source>``, ``rejected/<stage>``, ``errors``) is split into
``ceil(total bytes / shard_bytes)`` shards. A document's place is the stable 64-bit hash
of its source and id: shard ``i`` of ``n`` holds the hashes in ``[i/n, (i+1)/n)`` of the
hash range, and a shard's documents are ordered by (hash, JSON line). So the files depend
on the data and the config only, never on bundle order, worker count or runner, and a
shard's documents come in a seeded pseudo-random order, not grouped by id.

A run writes in two steps, so that documents never travel through the runner to be
written. Where a document finishes (in the stage that rejects it, or at the end), it is
encoded and added to a *piece*: a run of encoded documents of one folder, ordered by
(hash, line), with an index of the hashes and line ends, under ``.pieces`` in the
output folder. Only the pieces' descriptions (``Piece``) are shuffled. A shard is then
merged from the hash range it covers in each of its folder's pieces. Each file is
written under a temporary name and renamed when complete: a crashed run never leaves a
half-written file under a final name. gzip headers carry no timestamp.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import math
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from corpus.ids import stable_hash
from corpus.record import Document

KEPT = "kept"
REJECTED = "rejected"
ERRORS = "errors"
PIECES = ".pieces"
"""Folder of the pieces inside a run's output folder while it is written; removed at the end."""
PIECE_BYTES = 32 * 1024 * 1024
"""A piece is closed when its encoded documents reach this size (or its bundle ends)."""

Record = tuple[int, bytes]
"""An encoded document in a piece: (its hash, its bytes). The writers' pieces hold the
JSON line in UTF-8 and the hash of (source, id); dedup's hold a pickle of (node key,
document) and the hash of the node key; ``corpus.spill``'s a pickle of (key, value) and
the hash of the key (the read step spills its batches so, all under the key 0)."""


@dataclass(frozen=True, order=True)
class WrittenFile:
    path: str
    """Relative to the run's output folder."""
    docs: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "docs": self.docs, "bytes": self.bytes, "sha256": self.sha256}


def folder_of(doc: Document) -> str:
    """Where a finished document is written: kept, rejected by a stage, or errors."""
    removal = doc.removal
    if removal is None:
        return f"{KEPT}/{doc.source}"
    if doc.is_error:
        return ERRORS
    return f"{REJECTED}/{removal.stage}"


def shard_count(total_bytes: int, shard_bytes: int) -> int:
    return max(1, math.ceil(total_bytes / shard_bytes))


def doc_hash(doc: Document) -> int:
    return stable_hash(doc.source, doc.doc_id)


def shard_of(doc: Document, shards: int) -> int:
    """The shard whose part of the hash range holds the document's hash."""
    return (doc_hash(doc) * shards) >> 64


def shard_hashes(index: int, count: int) -> tuple[int, int]:
    """The hashes of shard ``index`` of ``count``: ``[low, high)``, as ``shard_of`` places them."""
    return -(-(index << 64) // count), -(-((index + 1) << 64) // count)


def extension(output_format: str) -> str:
    return {"jsonl": "jsonl", "jsonl.gz": "jsonl.gz", "parquet": "parquet"}[output_format]


def shard_name(index: int, count: int, output_format: str) -> str:
    return f"part-{index:05d}-of-{count:05d}.{extension(output_format)}"


def json_line(doc: Document) -> str:
    return json.dumps(doc.to_dict(), ensure_ascii=False, sort_keys=True) + "\n"


def record_of(doc: Document) -> Record:
    return doc_hash(doc), json_line(doc).encode("utf-8")


def _encode_jsonl_gz(lines: list[bytes]) -> bytes:
    data = b"".join(lines)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as member:
        member.write(data)
    return buffer.getvalue()


def _encode_parquet(docs: list[Document]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": [doc.doc_id for doc in docs],
            "source": [doc.source for doc in docs],
            "text": [doc.text for doc in docs],
            "meta": [json.dumps(dict(doc.meta), ensure_ascii=False, sort_keys=True) for doc in docs],
            "verdicts": [json.dumps([v.to_dict() for v in doc.verdicts], ensure_ascii=False) for doc in docs],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def file_sha256(path: str) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (models and shards can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: str, data: bytes | memoryview) -> None:
    """Write ``path`` whole or not at all: under a temporary name, renamed when complete;
    the temporary file is removed when writing fails (a full disk must not keep it)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_shard(out_dir: str, folder: str, index: int, count: int, docs: Iterable[Document], output_format: str) -> WrittenFile:
    """Write one shard file of ``docs`` (put in the shard's order) and return what was written."""
    return _write_records(out_dir, folder, index, count, sorted(record_of(doc) for doc in docs), output_format)


def _write_records(out_dir: str, folder: str, index: int, count: int, records: list[Record], output_format: str) -> WrittenFile:
    relative = f"{folder}/{shard_name(index, count, output_format)}"
    path = os.path.join(out_dir, relative)
    if output_format == "jsonl":
        # Line by line: a shard's lines are in memory once, not twice (joined).
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.tmp-{os.getpid()}"
        digest, size = hashlib.sha256(), 0
        try:
            with open(temporary, "wb") as handle:
                for _, line in records:
                    handle.write(line)
                    digest.update(line)
                    size += len(line)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return WrittenFile(relative, len(records), size, digest.hexdigest())
    if output_format == "parquet":
        data = _encode_parquet([Document.from_dict(json.loads(line)) for _, line in records])
    else:
        data = _encode_jsonl_gz([line for _, line in records])
    write_atomic(path, data)
    return WrittenFile(relative, len(records), len(data), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True, order=True)
class Piece:
    """A run of encoded documents of one folder, on disk, ordered by (hash, bytes)."""

    folder: str
    path: str
    """The lines; the index (hashes, then line ends, little-endian uint64) is beside it."""
    docs: int
    doc_bytes: int
    """The documents' ``size_bytes``: what the folder's shard count is computed from."""


class PieceBuffer:
    """Records gathered for one piece, until they reach ``limit`` bytes (default
    ``PIECE_BYTES``, read when the buffer is made)."""

    def __init__(self, limit: int | None = None) -> None:
        self.records: list[Record] = []
        self.bytes = 0
        self.doc_bytes = 0
        self._limit = PIECE_BYTES if limit is None else limit

    def add(self, record: Record, doc_bytes: int) -> bool:
        """Adds a record; True when the piece is full and should be written."""
        self.records.append(record)
        self.bytes += len(record[1])
        self.doc_bytes += doc_bytes
        return self.bytes >= self._limit

    def write(self, pieces_dir: str, folder: str) -> Piece:
        """Writes what was gathered as a piece of ``folder`` and starts afresh."""
        piece = write_piece(pieces_dir, folder, self.records, self.doc_bytes)
        self.records, self.bytes, self.doc_bytes = [], 0, 0
        return piece


def write_piece(pieces_dir: str, folder: str, records: list[Record], doc_bytes: int) -> Piece:
    """Sort ``records`` and write them as a piece of ``folder``."""
    records.sort()
    path = os.path.join(pieces_dir, f"{folder.replace('/', '-')}-{uuid.uuid4().hex}")
    hashes = np.fromiter((h for h, _ in records), dtype="<u8", count=len(records))
    ends = np.cumsum(np.fromiter((len(line) for _, line in records), dtype="<u8", count=len(records)), dtype="<u8")
    write_atomic(path, b"".join(line for _, line in records))
    write_atomic(path + ".index", hashes.tobytes() + ends.tobytes())
    return Piece(folder, path, len(records), doc_bytes)


def read_piece(piece: Piece, low: int = 0, high: int = 1 << 64) -> list[Record]:
    """The records of ``piece`` whose hash is in ``[low, high)``, in order; reads only those."""
    index = np.fromfile(piece.path + ".index", dtype="<u8")
    if len(index) != 2 * piece.docs:
        raise OSError(f"piece {piece.path}: index holds {len(index)} numbers, expected {2 * piece.docs}")
    hashes, ends = index[: piece.docs], index[piece.docs :]
    first = int(np.searchsorted(hashes, np.uint64(low), side="left")) if low < 1 << 64 else piece.docs
    last = int(np.searchsorted(hashes, np.uint64(high), side="left")) if high < 1 << 64 else piece.docs
    if first == last:
        return []
    start = int(ends[first - 1]) if first else 0
    with open(piece.path, "rb") as handle:
        handle.seek(start)
        data = handle.read(int(ends[last - 1]) - start)
    offsets = (ends[first:last] - np.uint64(start)).tolist()
    lines = [data[begin:end] for begin, end in zip([0, *offsets[:-1]], offsets, strict=True)]
    return list(zip(hashes[first:last].tolist(), lines, strict=True))


def merge_shard(out_dir: str, folder: str, index: int, count: int, pieces: Iterable[Piece], output_format: str) -> WrittenFile:
    """Write shard ``index`` of ``count`` of ``folder`` from its hash range in every piece."""
    low, high = shard_hashes(index, count)
    records = sorted(record for piece in pieces for record in read_piece(piece, low, high))
    return _write_records(out_dir, folder, index, count, records, output_format)


def remove_pieces(out_dir: str) -> None:
    shutil.rmtree(os.path.join(out_dir, PIECES), ignore_errors=True)


def read_written_file(path: str) -> Iterator[Document]:
    """The documents of one file a run wrote (jsonl, jsonl.gz or parquet)."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        for row in pq.read_table(path).to_pylist():
            yield Document.from_dict({**row, "meta": json.loads(row["meta"]), "verdicts": json.loads(row["verdicts"])})
    elif path.endswith((".jsonl", ".jsonl.gz")):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                yield Document.from_dict(json.loads(line))


def written_files(out_dir: str, folder: str) -> list[str]:
    """The document files under ``out_dir/folder``, sorted."""
    directory = os.path.join(out_dir, folder)
    if not os.path.isdir(directory):
        return []
    names = sorted(name for name in os.listdir(directory) if name.endswith((".parquet", ".jsonl", ".jsonl.gz")))
    return [os.path.join(directory, name) for name in names]


def read_written(out_dir: str, folder: str) -> list[Document]:
    """Every document written under ``out_dir/folder``, in file order (for tools and tests)."""
    return [doc for path in written_files(out_dir, folder) for doc in read_written_file(path)]
