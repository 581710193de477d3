"""A fastText model file's structure, checked before fastText reads it.

fastText trusts the sizes a model file states: a truncated or damaged file makes it read
past the end into garbage sizes and allocate without bound (16.5 GB and a hang, seen on a
truncated model whose MODEL.json had been rewritten to match it). This walks the format
of fastText 0.9 (``FastText::saveModel``: the magic number and version, the arguments,
the dictionary's entries, then the input and output matrices, dense or product-quantised)
using only the bytes that are there, and refuses a file whose stated sizes do not add up
to exactly its length. It reads the dictionary once (about as fast as reading the file)
and never allocates what a size field states.
"""

from __future__ import annotations

import os
import struct

MAGIC = 793712314
VERSION = 12
_ARGS = struct.Struct("<12id")
"""dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn,
lrUpdateRate, then t."""
_DICT_HEAD = struct.Struct("<3i2q")
"""size, nwords, nlabels, ntokens, pruneidx_size."""
_KSUB = 256
"""Centroids per sub-quantiser (fastText's 8-bit codes)."""


class ModelFileError(ValueError):
    """Not a whole fastText model file; the message says where it stops adding up."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, size: int, what: str) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise ModelFileError(f"{what} needs {size:,} bytes at byte {self.at:,}, the file has {len(self.data):,}")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def unpack(self, layout: struct.Struct | str, what: str) -> tuple:
        layout = struct.Struct(layout) if isinstance(layout, str) else layout
        return layout.unpack(self.take(layout.size, what))


def _dense(reader: _Reader, what: str) -> tuple[int, int]:
    rows, cols = reader.unpack("<2q", f"{what} size")
    if rows < 0 or cols < 0:
        raise ModelFileError(f"{what}: negative size {rows} x {cols}")
    reader.take(rows * cols * 4, f"{what} ({rows:,} x {cols:,} floats)")
    return rows, cols


def _product_quantiser(reader: _Reader, what: str) -> None:
    dim, _subquantisers, _dsub, _lastdsub = reader.unpack("<4i", f"{what} quantiser")
    if dim < 0:
        raise ModelFileError(f"{what}: negative dimension {dim}")
    reader.take(dim * _KSUB * 4, f"{what} centroids")


def _quantised(reader: _Reader, what: str) -> tuple[int, int]:
    (qnorm,) = reader.unpack("<?", f"{what} qnorm")
    rows, cols, codesize = reader.unpack("<2qi", f"{what} size")
    if rows < 0 or cols < 0 or codesize < 0:
        raise ModelFileError(f"{what}: negative size {rows} x {cols}, codes {codesize}")
    reader.take(codesize, f"{what} codes")
    _product_quantiser(reader, what)
    if qnorm:
        reader.take(rows, f"{what} norm codes")
        _product_quantiser(reader, f"{what} norms")
    return rows, cols


def check_model_file(path: str) -> dict[str, int]:
    """The model's dimensions (dim, words, labels, input rows) if ``path`` is a whole
    fastText model file; ModelFileError says what does not add up."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        data = handle.read(size + 1)
    reader = _Reader(data)
    magic, version = reader.unpack("<2i", "the header")
    if magic != MAGIC:
        raise ModelFileError("not a fastText model (wrong magic number)")
    if version > VERSION:
        raise ModelFileError(f"fastText file format {version}, newer than this reader's {VERSION}")
    arguments = reader.unpack(_ARGS, "the arguments")
    dim = arguments[0]
    entries, words, labels, _tokens, pruned = reader.unpack(_DICT_HEAD, "the dictionary's size")
    if entries < 0 or words < 0 or labels < 0 or words + labels != entries:
        raise ModelFileError(f"dictionary of {entries} entries with {words} words and {labels} labels")
    for index in range(entries):
        end = data.find(b"\0", reader.at)
        if end < 0:
            raise ModelFileError(f"the file ends inside dictionary entry {index:,} of {entries:,}")
        reader.at = end + 1
        reader.take(9, f"dictionary entry {index:,}")  # count (int64) and type (int8)
    if pruned > 0:
        reader.take(pruned * 8, "the pruned index")
    (quantised_input,) = reader.unpack("<?", "the input matrix's kind")
    rows, cols = _quantised(reader, "input matrix") if quantised_input else _dense(reader, "input matrix")
    if cols != dim:
        raise ModelFileError(f"input matrix has {cols} columns, the arguments say dim {dim}")
    (quantised_output,) = reader.unpack("<?", "the output matrix's kind")
    out_rows, _ = _quantised(reader, "output matrix") if quantised_output else _dense(reader, "output matrix")
    if reader.at != len(data):
        raise ModelFileError(f"{len(data) - reader.at:,} bytes after the model's end")
    return {"dim": dim, "words": words, "labels": labels, "input_rows": rows, "output_rows": out_rows}
