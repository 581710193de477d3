"""Packing tokenised documents into fixed-length sequences, and the two shard formats.

Pure functions on numpy arrays, no Beam; ``sampling/shards.py`` puts them in a graph.

Order: every copy of a document has a shuffle key, a seeded stable hash of (source, id,
copy number). The key space is cut into blocks of about a shard's tokens; a block is sorted
by key and its documents concatenated, each followed by ``<eod>``. Block b starts at global
token offset = tokens of all blocks before it, so the whole stream (all blocks in order) is
one fixed sequence of tokens whatever the runner, worker count or bundle order, and it is
cut into sequences of ``seq_length + 1`` tokens at multiples of that length. A sequence
that straddles two blocks arrives as two pieces and is joined when its shard is assembled.
Only the very last sequence can be short: it is filled with ``<pad>``.

Formats:
- Parquet (pyarrow): one row per sequence, ``sequence`` (global index, int64),
  ``input_ids`` (list of uint16 when the vocabulary fits, else int32) and ``sources``
  (the sorted names of the sources whose tokens it holds).
- Megatron-LM's indexed dataset (``.bin`` + ``.idx``, the format PanGu-alpha trained from): the ``.bin`` holds
  the sequences back to back; the ``.idx`` is the magic ``MMIDIDX\\x00\\x00``, version 1
  (``<Q``), the dtype code (``<B``: 8 uint16, 4 int32), the sequence count and the length of
  the document index (``<Q`` each), then int32 sizes, int64 byte pointers and the int64
  document index. Each packed sequence is one document, so the document index is
  0, 1, ..., n (megatron-core's ``IndexedDataset`` reads it; ``tests/sampling`` proves it).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpus.ids import stable_hash

MEGATRON_MAGIC = b"MMIDIDX\x00\x00"
MEGATRON_VERSION = 1
MEGATRON_DTYPE_CODES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}
MEGATRON_CODE_DTYPES = {
    1: np.uint8,
    2: np.int8,
    3: np.int16,
    4: np.int32,
    5: np.int64,
    6: np.float64,
    7: np.float32,
    8: np.uint16,
}


def shuffle_key(source: str, doc_id: str, copy: int, seed: int) -> int:
    return stable_hash("shuffle", source, doc_id, copy, seed=seed)


def block_of(key: int, blocks: int) -> int:
    """Which block a 64-bit key falls in: blocks cut the key space into equal ranges."""
    return (key * blocks) >> 64


@dataclass(frozen=True)
class Piece:
    """Part (or all) of one sequence, cut from one block."""

    sequence: int
    offset: int
    """Where it starts inside the sequence."""
    tokens: np.ndarray
    source_tokens: tuple[tuple[str, int], ...]


def cut_block(
    start: int,
    docs: Sequence[tuple[str, np.ndarray]],
    eod_id: int,
    sequence_tokens: int,
    dtype: np.dtype,
) -> Iterator[Piece]:
    """The pieces of the sequences that a block's documents (in order) cover, given the
    block's global start offset. Each document is followed by ``<eod>``."""
    if not docs:
        return
    lengths = np.fromiter((len(ids) + 1 for _, ids in docs), dtype=np.int64, count=len(docs))
    total = int(lengths.sum())
    tokens = np.empty(total, dtype=dtype)
    ends = np.cumsum(lengths)
    position = 0
    for (_, ids), end in zip(docs, ends, strict=True):
        tokens[position : end - 1] = ids
        tokens[end - 1] = eod_id
        position = int(end)
    starts = ends - lengths
    first = start // sequence_tokens
    last = (start + total - 1) // sequence_tokens
    for sequence in range(first, last + 1):
        begin = max(start, sequence * sequence_tokens) - start
        end = min(start + total, (sequence + 1) * sequence_tokens) - start
        counts: dict[str, int] = {}
        doc = int(np.searchsorted(ends, begin, side="right"))  # the first document ending after begin
        while doc < len(docs) and starts[doc] < end:
            source = docs[doc][0]
            counts[source] = counts.get(source, 0) + int(min(ends[doc], end) - max(starts[doc], begin))
            doc += 1
        yield Piece(
            sequence=sequence,
            offset=begin + start - sequence * sequence_tokens,
            tokens=tokens[begin:end].copy(),
            source_tokens=tuple(sorted(counts.items())),
        )


@dataclass(frozen=True)
class PackedShard:
    first_sequence: int
    matrix: np.ndarray
    """(sequences, sequence_tokens) token ids."""
    sources: list[list[str]]
    source_tokens: dict[str, int]
    padding: int


def assemble(pieces: Iterable[Piece], sequence_tokens: int, pad_id: int, dtype: np.dtype, last_sequence: int) -> PackedShard:
    """Join pieces into whole sequences (consecutive indices); pad the run's last one."""
    by_sequence: dict[int, list[Piece]] = {}
    for piece in pieces:
        by_sequence.setdefault(piece.sequence, []).append(piece)
    indices = sorted(by_sequence)
    if indices != list(range(indices[0], indices[0] + len(indices))):
        raise ValueError(f"a shard's sequences are not consecutive: {indices[:3]}...")
    matrix = np.empty((len(indices), sequence_tokens), dtype=dtype)
    sources: list[list[str]] = []
    totals: dict[str, int] = {}
    padding = 0
    for row, sequence in enumerate(indices):
        parts = sorted(by_sequence[sequence], key=lambda piece: piece.offset)
        filled = 0
        names: set[str] = set()
        for piece in parts:
            if piece.offset != filled:
                raise ValueError(f"sequence {sequence}: a piece starts at {piece.offset}, expected {filled}")
            matrix[row, filled : filled + len(piece.tokens)] = piece.tokens
            filled += len(piece.tokens)
            for name, count in piece.source_tokens:
                names.add(name)
                totals[name] = totals.get(name, 0) + count
        if filled < sequence_tokens:
            if sequence != last_sequence:
                raise ValueError(f"sequence {sequence} holds {filled} of {sequence_tokens} tokens but is not the last")
            matrix[row, filled:] = pad_id
            padding += sequence_tokens - filled
        sources.append(sorted(names))
    return PackedShard(indices[0], matrix, sources, totals, padding)


def parquet_bytes(shard: PackedShard) -> bytes:
    rows, width = shard.matrix.shape
    values = pa.array(shard.matrix.reshape(-1), type=pa.from_numpy_dtype(shard.matrix.dtype))
    offsets = pa.array(np.arange(0, (rows + 1) * width, width, dtype=np.int32))
    table = pa.table(
        {
            "sequence": pa.array(np.arange(shard.first_sequence, shard.first_sequence + rows, dtype=np.int64)),
            "input_ids": pa.ListArray.from_arrays(offsets, values),
            "sources": pa.array(shard.sources, type=pa.list_(pa.string())),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", row_group_size=4096)
    return sink.getvalue()


def megatron_bytes(matrix: np.ndarray) -> tuple[memoryview, bytes]:
    """(.bin, .idx) of packed sequences, one document per sequence; the .bin is a view of
    the matrix's own memory, not a copy."""
    rows, width = matrix.shape
    code = MEGATRON_DTYPE_CODES[matrix.dtype]
    sizes = np.full(rows, width, dtype=np.int32)
    pointers = np.arange(rows, dtype=np.int64) * (width * matrix.dtype.itemsize)
    document_index = np.arange(rows + 1, dtype=np.int64)
    header = MEGATRON_MAGIC + struct.pack("<Q", MEGATRON_VERSION) + struct.pack("<B", code)
    header += struct.pack("<Q", rows) + struct.pack("<Q", len(document_index))
    idx = header + sizes.tobytes() + pointers.tobytes() + document_index.tobytes()
    return memoryview(np.ascontiguousarray(matrix).reshape(-1).view(np.uint8)), idx


@dataclass(frozen=True)
class MegatronIndex:
    dtype: np.dtype
    sizes: np.ndarray
    pointers: np.ndarray
    document_index: np.ndarray


def read_megatron_index(data: bytes) -> MegatronIndex:
    """Parse an ``.idx`` (for ``zhcorpus shards inspect``); raises ValueError if malformed."""
    if data[: len(MEGATRON_MAGIC)] != MEGATRON_MAGIC:
        raise ValueError("not a Megatron indexed dataset index (bad magic)")
    at = len(MEGATRON_MAGIC)
    if len(data) < at + 25:
        raise ValueError(f"truncated Megatron index ({len(data)} bytes)")
    (version,) = struct.unpack_from("<Q", data, at)
    (code,) = struct.unpack_from("<B", data, at + 8)
    sequences, documents = struct.unpack_from("<QQ", data, at + 9)
    if version != MEGATRON_VERSION or code not in MEGATRON_CODE_DTYPES:
        raise ValueError(f"unsupported Megatron index (version {version}, dtype code {code})")
    at += 25
    if len(data) != at + 12 * sequences + 8 * documents:
        raise ValueError(f"truncated or padded Megatron index: {len(data)} bytes for {sequences} sequences, {documents} entries")
    sizes = np.frombuffer(data, dtype=np.int32, count=sequences, offset=at)
    at += 4 * sequences
    pointers = np.frombuffer(data, dtype=np.int64, count=sequences, offset=at)
    at += 8 * sequences
    document_index = np.frombuffer(data, dtype=np.int64, count=documents, offset=at)
    return MegatronIndex(np.dtype(MEGATRON_CODE_DTYPES[code]), sizes, pointers, document_index)
