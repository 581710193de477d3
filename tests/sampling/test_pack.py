"""Packing: the block cutter and the shard assembler rebuild the exact token stream, and
the two formats hold it."""

from __future__ import annotations

import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sampling.pack import (
    PackedShard,
    Piece,
    assemble,
    block_of,
    cut_block,
    megatron_bytes,
    parquet_bytes,
    read_megatron_index,
)

EOD, PAD, L = 2, 1, 8


def docs_of(lengths: list[int], source: str, first: int = 10) -> list[tuple[str, np.ndarray]]:
    out, value = [], first
    for n in lengths:
        out.append((source, np.arange(value, value + n, dtype=np.uint16)))
        value += n
    return out


def stream(docs: list[tuple[str, np.ndarray]]) -> np.ndarray:
    return np.concatenate([np.append(ids, np.uint16(EOD)) for _, ids in docs])


def test_blocks_cut_at_global_offsets_and_assemble_into_the_stream() -> None:
    block_a = docs_of([3, 12, 0], "a")  # a document longer than a sequence, and an empty one
    block_b = docs_of([5, 2], "b", first=500)
    start_b = len(stream(block_a))
    pieces = [*cut_block(0, block_a, EOD, L, np.dtype(np.uint16)), *cut_block(start_b, block_b, EOD, L, np.dtype(np.uint16))]
    total = start_b + len(stream(block_b))
    last = (total - 1) // L
    shard = assemble(reversed(pieces), L, PAD, np.dtype(np.uint16), last_sequence=last)
    expected = np.concatenate([stream(block_a), stream(block_b)])
    flat = shard.matrix.reshape(-1)
    assert np.array_equal(flat[:total], expected)
    assert (flat[total:] == PAD).all() and shard.padding == len(flat) - total
    assert shard.source_tokens == {"a": len(stream(block_a)), "b": len(stream(block_b))}
    straddling = next(i for i in range(shard.matrix.shape[0]) if i * L < start_b < (i + 1) * L)
    assert shard.sources[straddling] == ["a", "b"]
    assert shard.sources[0] == ["a"]


def test_a_short_sequence_that_is_not_the_last_is_an_error() -> None:
    piece = Piece(sequence=0, offset=0, tokens=np.zeros(3, dtype=np.uint16), source_tokens=(("a", 3),))
    with pytest.raises(ValueError, match="not the last"):
        assemble([piece], L, PAD, np.dtype(np.uint16), last_sequence=5)


def test_block_of_splits_the_key_space_evenly() -> None:
    assert block_of(0, 4) == 0 and block_of((1 << 64) - 1, 4) == 3 and block_of(1 << 63, 4) == 2


def shard(dtype: type) -> PackedShard:
    matrix = np.arange(4 * L, dtype=dtype).reshape(4, L)
    if dtype == np.int32:
        matrix[0, 0] = 70_000
    return PackedShard(first_sequence=8, matrix=matrix, sources=[["a"], ["a", "b"], ["b"], ["b"]], source_tokens={}, padding=0)


@pytest.mark.parametrize("dtype,code", [(np.uint16, 8), (np.int32, 4)])
def test_megatron_layout(dtype: type, code: int) -> None:
    packed = shard(dtype)
    data, index = megatron_bytes(packed.matrix)
    assert index[:9] == b"MMIDIDX\x00\x00"
    assert struct.unpack_from("<QBQQ", index, 9) == (1, code, 4, 5)
    parsed = read_megatron_index(index)
    assert parsed.dtype == np.dtype(dtype)
    assert parsed.sizes.tolist() == [L] * 4
    assert parsed.pointers.tolist() == [i * L * np.dtype(dtype).itemsize for i in range(4)]
    assert parsed.document_index.tolist() == [0, 1, 2, 3, 4]
    assert np.array_equal(np.frombuffer(data, dtype=dtype).reshape(4, L), packed.matrix)
    with pytest.raises(ValueError, match="bad magic"):
        read_megatron_index(b"NOTMAGIC" + index[8:])


@pytest.mark.parametrize("dtype,arrow", [(np.uint16, pa.uint16()), (np.int32, pa.int32())])
def test_parquet_layout(dtype: type, arrow: pa.DataType, tmp_path) -> None:
    packed = shard(dtype)
    path = tmp_path / "s.parquet"
    path.write_bytes(parquet_bytes(packed))
    table = pq.read_table(path)
    assert table.schema.field("input_ids").type == pa.list_(arrow)
    assert table.column("sequence").to_pylist() == [8, 9, 10, 11]
    assert table.column("sources").to_pylist() == packed.sources
    assert np.array_equal(np.array(table.column("input_ids").to_pylist(), dtype=dtype), packed.matrix)


def test_truncated_or_inconsistent_megatron_files_are_value_errors(tmp_path) -> None:
    from sampling.inspect import read_sequences

    data, index = megatron_bytes(shard(np.uint16).matrix)
    for broken in (index[:10], index[:-8], index + b"\0" * 8):
        with pytest.raises(ValueError, match="truncated"):
            read_megatron_index(broken)
    (tmp_path / "s.idx").write_bytes(index)
    (tmp_path / "s.bin").write_bytes(bytes(data)[:-4])
    with pytest.raises(ValueError, match=r"the \.bin holds"):
        read_sequences(str(tmp_path / "s.idx"))
