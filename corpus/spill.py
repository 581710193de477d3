"""A CoGroupByKey whose values wait on disk, not in the runner.

Beam's DirectRunner keeps every shuffle's input in its own process until the next stage
reads it, so a join of something as large as the input (the normalised texts dedup
verifies with, the n-gram sets sent to each end of an edge) makes that process grow
with the input. ``DiskCoGroupByKey`` does the grouping itself:

    each input  (key, value) -> pickled, into sorted runs on disk ("pieces", the writers'
                format: ordered by a 64-bit hash of the key), fused with the step that
                made the values; only the pieces' descriptions go on
    stretches   ceil(bytes of all pieces / ``range_bytes``) stretches of the hash range,
                and at least ``SPREAD_STRETCHES`` (one per ``SPREAD_BYTES``), so that a
                grouping smaller than ``range_bytes`` is still spread over the workers
    group       each stretch, on some worker: its records read from every piece (the
                piece index finds them), grouped by key in memory -> (key, {tag: values})

so the runner holds descriptions and numbers, and a worker one stretch (``range_bytes``
of pickles) at a time, whatever the size of the input. Like ``beam.CoGroupByKey`` it
promises no order of keys or of a key's values; every tag is in each result, possibly
with no values. The pieces stay under ``work_dir`` until the run removes its
``.pieces`` folder.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterator, Mapping
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from corpus import writers

RANGE_BYTES = 64 * 1024 * 1024
"""Pickled values grouped at a time by one worker (a few times that in memory)."""
SPREAD_STRETCHES = 8
"""At least this many stretches once there is ``SPREAD_BYTES`` each, so that every worker
has a share of a grouping smaller than ``range_bytes``."""
SPREAD_BYTES = 1024 * 1024


def key_hash(key: Any) -> int:
    """A 64-bit hash of a key, the same on every worker and runner: of the bytes
    themselves, or of the pickle of anything else (ints, strings and tuples of them pickle
    the same everywhere)."""
    data = key if isinstance(key, bytes) else pickle.dumps(key, protocol=4)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class SpillFn(beam.DoFn):
    """(key, value) -> pieces of ``tag`` under ``work_dir``; the output is the pieces'
    descriptions (``writers.Piece``, whose folder is the tag)."""

    def __init__(self, work_dir: str, tag: str, piece_bytes: int | None = None) -> None:
        self._work_dir = work_dir
        self._tag = tag
        self._piece_bytes = piece_bytes

    def start_bundle(self) -> None:
        self._piece = writers.PieceBuffer(self._piece_bytes)

    def process(self, item: tuple[Any, Any]) -> Iterator[writers.Piece]:
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        if self._piece.add((key_hash(item[0]), data), len(data)):
            yield self._piece.write(self._work_dir, self._tag)

    def finish_bundle(self) -> Iterator[Any]:
        if self._piece.records:
            yield GlobalWindows.windowed_value(self._piece.write(self._work_dir, self._tag))


def stretch_count(pieces: list[writers.Piece], range_bytes: int) -> int:
    """How many stretches the key-hash range is cut into: ``range_bytes`` of pickles each,
    and at least ``SPREAD_STRETCHES`` of ``SPREAD_BYTES`` or more."""
    return spread_count(sum(piece.doc_bytes for piece in pieces), range_bytes)


def spread_count(total_bytes: int, range_bytes: int) -> int:
    """Parts of ``total_bytes``: at most ``range_bytes`` each, and at least
    ``SPREAD_STRETCHES`` parts when each still has ``SPREAD_BYTES``."""
    return max(
        writers.shard_count(total_bytes, range_bytes),
        min(SPREAD_STRETCHES, total_bytes // SPREAD_BYTES),
    )


def group_range(
    index: int, tags: tuple[str, ...], range_bytes: int, pieces: list[writers.Piece]
) -> Iterator[tuple[Any, dict[str, list[Any]]]]:
    """Stretch ``index`` of the key-hash range, read from every piece and grouped by key."""
    low, high = writers.shard_hashes(index, stretch_count(pieces, range_bytes))
    groups: dict[Any, dict[str, list[Any]]] = {}
    for piece in sorted(pieces):
        for _, data in writers.read_piece(piece, low, high):
            key, value = pickle.loads(data)  # noqa: S301 - written by this run's SpillFn
            group = groups.get(key)
            if group is None:
                group = groups[key] = {tag: [] for tag in tags}
            group[piece.folder].append(value)
    yield from groups.items()


class DiskCoGroupByKey(beam.PTransform):
    """``{tag: (key, value) collection} | DiskCoGroupByKey(work_dir)`` -> ``(key, {tag:
    [values]})``, as ``beam.CoGroupByKey`` gives, with the values waiting on disk."""

    def __init__(self, work_dir: str, range_bytes: int = RANGE_BYTES) -> None:
        super().__init__()
        self._work_dir = work_dir
        self._range_bytes = range_bytes

    def expand(self, inputs: Mapping[str, beam.PCollection]) -> beam.PCollection:
        tags = tuple(sorted(inputs))
        if not tags:
            raise ValueError("DiskCoGroupByKey needs at least one input")
        range_bytes = self._range_bytes
        # Each input is spilled where it is made (no Flatten of the values in front, which
        # the FnApiRunner would materialise); only the descriptions are brought together.
        pieces = [inputs[tag] | f"Spill/{tag}" >> beam.ParDo(SpillFn(self._work_dir, tag)) for tag in tags]
        every_piece = beam.pvalue.AsList(pieces | "Pieces" >> beam.Flatten())
        # The stretch count is taken from the pieces' descriptions where they are read (a
        # CombineGlobally would add several stages, each a pass of the runner).
        return (
            inputs[tags[0]].pipeline
            | "Start" >> beam.Impulse()
            | "Stretches" >> beam.FlatMap(lambda _, every: list(range(stretch_count(every, range_bytes))), every_piece)
            | "Spread" >> beam.Reshuffle()
            | "Group" >> beam.FlatMap(group_range, tags, range_bytes, every_piece)
        )
