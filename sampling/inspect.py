"""Reading shards back: the summary table of stats/shards.json, and ``zhcorpus shards inspect``.

``inspect_shards`` works from the files alone (a run folder, its ``shards/`` folder, or one
``.parquet`` / ``.idx`` / ``.bin`` file): per file the sequences, tokens, dtype, ``<eod>`` and
``<pad>`` counts, size and SHA-256, then a few sequences decoded back to text, split at
``<eod>``. The tokenizer is the one named in the run's stats/shards.json unless given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import numpy as np

from corpus.writers import file_sha256
from sampling.pack import read_megatron_index
from sampling.tokenizer import Tokenizer, TokenizerError

_SHARD_ROWS = 20  # the summary lists shards one by one up to this many (all are in stats/shards.json)


class InspectError(Exception):
    """The path holds no shards that can be read."""


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]


def _weight(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def shards_summary(stats_path: str) -> str:
    """PanGu's Table 4 from stats/shards.json: per source tokens, weights and epochs."""
    with open(stats_path, encoding="utf-8") as handle:
        report = json.load(handle)
    rows = [("source", "docs", "tokens avail.", "weight asked", "target", "realised", "epochs", "tokens in shards")]
    for name, entry in report["sources"].items():
        rows.append(
            (
                name,
                f"{entry['docs']:,}",
                f"{entry['tokens_available']:,}",
                _weight(entry["weight_asked"]),
                _weight(entry["weight_target"]),
                _weight(entry["weight_realised"]),
                f"{entry['epochs_realised']:.2f}",
                f"{entry['tokens_realised']:,}",
            )
        )
    totals = report["totals"]
    lines = ["training mix:", *_table(rows)]
    lines.append(
        f"shards: {totals['shards']} x up to {report['shard_tokens']:,} tokens, {totals['sequences']:,} sequences of "
        f"{report['sequence_tokens']} tokens ({report['tokenizer']['dtype']}), {totals['eod']:,} <eod>, "
        f"{totals['padding']:,} <pad>, formats {', '.join(report['formats'])}"
    )
    shards = report["shards"]
    if 0 < len(shards) <= _SHARD_ROWS:
        rows = [("shard", "sequences", "tokens", "<eod>", "<pad>", "MB", "source mix")]
        for shard in shards:
            mix = sum(shard["source_tokens"].values()) or 1
            rows.append(
                (
                    str(shard["index"]),
                    f"{shard['sequences']:,}",
                    f"{shard['tokens']:,}",
                    f"{shard['eod']:,}",
                    f"{shard['padding']:,}",
                    f"{sum(file['bytes'] for file in shard['files']) / 1e6:.1f}",
                    " ".join(f"{name} {100 * tokens / mix:.0f}%" for name, tokens in shard["source_tokens"].items()),
                )
            )
        lines.extend(_table(rows))
    lines.extend(f"warning: {warning}" for warning in report["warnings"])
    if totals["docs_failed"]:
        lines.append(f"warning: {totals['docs_failed']} kept documents could not be tokenised (see stats/shards.json)")
    return "\n".join(lines)


def _shard_files(path: str) -> tuple[list[str], str | None]:
    """The shard files at ``path`` and the stats/shards.json that goes with them, if any."""
    if os.path.isfile(path):
        if not path.endswith((".parquet", ".idx", ".bin")):
            raise InspectError(f"{path}: not a shard file (.parquet, .idx or .bin)")
        folder = os.path.dirname(os.path.abspath(path))
        files = [path[: -len(".bin")] + ".idx" if path.endswith(".bin") else path]
    elif os.path.isdir(path):
        folder = os.path.join(path, "shards") if os.path.isdir(os.path.join(path, "shards")) else path
        files = sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith((".parquet", ".idx")))
    else:
        raise InspectError(f"{path}: no such file or folder")
    if not files:
        raise InspectError(f"{path}: no shard files (.parquet or .idx/.bin)")
    stats = os.path.join(os.path.dirname(folder), "stats", "shards.json")
    return files, stats if os.path.exists(stats) else None


def read_sequences(path: str) -> np.ndarray:
    """All sequences of one shard file as a (sequences, length) array (or 1-D per row
    for ragged Megatron files, as an object array)."""
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        column = pq.read_table(path, columns=["input_ids"]).column("input_ids").combine_chunks()
        values = column.values.to_numpy(zero_copy_only=False)
        lengths = np.diff(column.offsets.to_numpy())
        if not len(lengths):
            return np.empty((0, 0), dtype=values.dtype)
        if (lengths == lengths[0]).all():
            return values.reshape(len(lengths), int(lengths[0]))
        return np.array(np.split(values, np.cumsum(lengths)[:-1]), dtype=object)
    with open(path, "rb") as handle:
        index = read_megatron_index(handle.read())
    data = np.fromfile(path[: -len(".idx")] + ".bin", dtype=index.dtype)
    needed = int((index.pointers // index.dtype.itemsize + index.sizes).max()) if len(index.sizes) else 0
    if len(data) < needed:
        raise ValueError(f"the .bin holds {len(data)} tokens, the index points up to {needed}")
    starts = index.pointers // index.dtype.itemsize
    rows = [data[start : start + size] for start, size in zip(starts, index.sizes, strict=True)]
    if rows and all(len(row) == len(rows[0]) for row in rows):
        return np.stack(rows)
    return np.array(rows, dtype=object)


def _documents(row: np.ndarray, eod_id: int) -> Iterator[np.ndarray]:
    start = 0
    for end in np.flatnonzero(row == eod_id):
        yield row[start:end]
        start = int(end) + 1
    if start < len(row):
        yield row[start:]


def inspect_shards(path: str, tokenizer_path: str | None, decode: int, chars: int) -> str:
    files, stats = _shard_files(path)
    recorded: dict = {}
    if stats is not None:
        try:
            with open(stats, encoding="utf-8") as handle:
                recorded = dict(json.load(handle)["tokenizer"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InspectError(f"{stats}: unreadable ({type(exc).__name__}: {exc}); pass --tokenizer to decode") from None
    notes: list[str] = []
    tokenizer = None
    if tokenizer_path:
        tokenizer = Tokenizer(tokenizer_path).load()  # a bad model named on the command line: TokenizerError
    elif recorded.get("model"):
        try:
            tokenizer = Tokenizer(recorded["model"]).load()
        except TokenizerError as exc:
            notes.append(f"(not decoding: the run's tokenizer is unusable now: {exc}; pass --tokenizer MODEL)")
    eod = tokenizer.eod_id if tokenizer else recorded.get("eod_id")
    pad = tokenizer.pad_id if tokenizer else recorded.get("pad_id")
    rows = [("file", "sequences", "tokens", "dtype", "<eod>", "<pad>", "MB", "sha256 (data)")]
    first: np.ndarray | None = None
    for file in files:
        try:
            sequences = read_sequences(file)
        except (OSError, ValueError, ArithmeticError) as exc:
            raise InspectError(f"{file}: cannot read ({exc})") from None
        flat = np.concatenate(list(sequences)) if sequences.dtype == object else sequences.reshape(-1)
        size = os.path.getsize(file) + (os.path.getsize(file[:-4] + ".bin") if file.endswith(".idx") else 0)
        rows.append(
            (
                os.path.basename(file) + ("+.bin" if file.endswith(".idx") else ""),
                f"{len(sequences):,}",
                f"{len(flat):,}",
                flat.dtype.name,
                "?" if eod is None else f"{int(np.count_nonzero(flat == eod)):,}",
                "?" if pad is None else f"{int(np.count_nonzero(flat == pad)):,}",
                f"{size / 1e6:.2f}",
                file_sha256(file[:-4] + ".bin" if file.endswith(".idx") else file)[:16],
            )
        )
        if first is None and len(sequences):
            first = sequences
    lines = _table(rows) + notes
    if tokenizer is None:
        if not notes:
            lines.append("(no tokenizer: pass --tokenizer MODEL to decode sequences)")
    elif first is not None:
        for number, row in enumerate(first[:decode]):
            lines.append(f"--- sequence {number} of {os.path.basename(files[0])}")
            for doc in _documents(np.asarray(row), tokenizer.eod_id):
                ids = [int(i) for i in doc if int(i) != tokenizer.pad_id]
                text = tokenizer.decode(ids)
                shown = text if len(text) <= chars else text[:chars] + f"… ({len(text)} characters)"
                lines.append(f"[{len(ids)} tokens] {shown}")
    return "\n".join(lines)
