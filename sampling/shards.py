"""The shard stage: kept documents -> tokens -> the weighted mix -> packed, shuffled shards.

    Shards/Tokenize        each kept document -> (source, id, token ids), once per worker
                           a tokenizer built in setup(); a failure is counted and reported
    Shards/Available       documents and tokens per source         \\
    Shards/Histogram       tokens per sampling bucket per source    > Shards/Plan (one small
    Shards/Lengths         document length histogram                /  object, side input)
    Shards/Copies          each document 0..n times (sampling/mix.py), with a shuffle key
                           and the block of the key space it falls in
    Shards/BlockSizes      tokens per block -> each block's global start offset
    Shards/Blocks          GroupByKey(block): sort by key, concatenate, cut into pieces of
                           sequences (sampling/pack.py)
    Shards/Assemble        GroupByKey(shard): join pieces, pad the last sequence, write
                           Parquet and/or Megatron files atomically -> one stat per shard
    Shards/Report          stats/shards.json

Every grouping is keyed by data (block, shard), so no worker ever holds more than one
block and one shard; the bytes depend on the config, the seed and the kept documents only.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam import pvalue
from apache_beam.metrics import Metrics

from corpus import writers
from corpus.config import RunConfig, SourceConfig
from corpus.record import Document, exception_detail
from corpus.work import WorkCounters
from sampling.mix import BUCKETS, SourceTarget, mix_bucket, plan_mix
from sampling.pack import Piece, assemble, block_of, cut_block, megatron_bytes, parquet_bytes, shuffle_key
from sampling.tokenizer import Tokenizer, load_model, token_dtype

SHARDS_DIR = "shards"
SHARD_STATS = "stats/shards.json"
FAILED = "failed"
BLOCK_TOKENS = 16_000_000
"""Upper bound of a block's tokens on average (one worker sorts and cuts one block at a
time: about 3 bytes per token), whatever the shard size."""
_FAILED_EXAMPLES = 20
_DETAIL_CHARS = 300


@dataclass(frozen=True)
class ShardPlan:
    """What the shard stage needs from the config."""

    sources: tuple[SourceConfig, ...]
    tokenizer: str
    segment: str
    tokens: int | None
    seq_length: int
    shard_tokens: int
    formats: tuple[str, ...]
    seed: int
    max_epochs: float = 4.0

    @classmethod
    def for_run(cls, config: RunConfig) -> ShardPlan:
        shards = config.shards
        if shards is None:
            raise ValueError("the config has no shards section")
        return cls(
            sources=config.sources,
            tokenizer=shards.tokenizer,
            segment=shards.segment,
            tokens=shards.tokens,
            seq_length=shards.seq_length,
            shard_tokens=shards.shard_tokens,
            formats=shards.formats,
            seed=config.seed,
            max_epochs=shards.max_epochs,
        )

    @property
    def sequence_tokens(self) -> int:
        return self.seq_length + 1

    @property
    def sequences_per_shard(self) -> int:
        return max(1, self.shard_tokens // self.sequence_tokens)


@dataclass(frozen=True)
class Layout:
    """The mix and the shape of the output, decided from the per-source sums."""

    targets: dict[str, SourceTarget]
    warnings: list[str]
    tokens: int
    """Tokens in the shards before padding (exact)."""
    sequences: int
    shards: int
    blocks: int
    vocab_size: int
    eod_id: int
    pad_id: int

    @property
    def dtype(self) -> np.dtype:
        return token_dtype(self.vocab_size)


def make_layout(_: Any, plan: ShardPlan, available: dict, histograms: dict) -> Layout:
    targets, warnings = plan_mix(plan.sources, available, histograms, plan.tokens, plan.max_epochs)
    tokens = sum(target.tokens_taken for target in targets.values())
    sequences = math.ceil(tokens / plan.sequence_tokens)
    processor = load_model(plan.tokenizer)
    return Layout(
        targets=targets,
        warnings=warnings,
        tokens=tokens,
        sequences=sequences,
        shards=math.ceil(sequences / plan.sequences_per_shard),
        blocks=max(1, math.ceil(tokens / min(plan.shard_tokens, BLOCK_TOKENS))),
        vocab_size=processor.get_piece_size(),
        eod_id=processor.piece_to_id("<eod>"),
        pad_id=processor.piece_to_id("<pad>"),
    )


class TokenizeDoFn(beam.DoFn):
    """Kept document -> (source, id, token ids). A document the tokenizer raises on goes to
    the ``failed`` output with the reason (it stays kept; it is not in the shards)."""

    def __init__(self, plan: ShardPlan) -> None:
        self._plan = plan

    def setup(self) -> None:
        self._tokenizer = Tokenizer(self._plan.tokenizer, self._plan.segment).load()  # type: ignore[arg-type]
        self._tokenizer.encode("预热 warm-up")  # loads the dictionaries: a broken install fails here, not per document
        self._dtype = self._tokenizer.dtype
        self._docs = Metrics.counter("shards", "docs_tokenized")
        self._tokens = Metrics.counter("shards", "tokens")
        self._work = WorkCounters("tokenize")

    def process(self, doc: Document) -> Iterator[Any]:
        started = time.perf_counter()
        try:
            ids = np.asarray(self._tokenizer.encode(doc.text), dtype=self._dtype)
        except MemoryError:
            raise  # the worker, not the document, is in trouble
        except Exception as exc:  # noqa: BLE001 - one document must not stop the run
            self._work.add(doc.size_bytes, started)
            yield pvalue.TaggedOutput(FAILED, (doc.source, doc.doc_id, exception_detail(exc)[:_DETAIL_CHARS]))
            return
        self._work.add(doc.size_bytes, started)
        self._docs.inc()
        self._tokens.inc(len(ids))
        yield doc.source, doc.doc_id, ids


class _HistogramFn(beam.CombineFn):
    """Tokens per sampling bucket of one source, as a numpy array."""

    def create_accumulator(self) -> np.ndarray:
        return np.zeros(BUCKETS, dtype=np.int64)

    def add_input(self, acc: np.ndarray, item: tuple[int, int]) -> np.ndarray:
        bucket, tokens = item
        acc[bucket] += tokens
        return acc

    def merge_accumulators(self, accumulators: Any) -> np.ndarray:
        merged = self.create_accumulator()
        for acc in accumulators:
            merged += acc
        return merged

    def extract_output(self, acc: np.ndarray) -> np.ndarray:
        return acc


def _sum_pairs(pairs: Any) -> tuple[int, int]:
    docs = tokens = 0
    for count, size in pairs:
        docs += count
        tokens += size
    return docs, tokens


def _copies(
    item: tuple[str, str, np.ndarray], plan: ShardPlan, layout: Layout
) -> Iterator[tuple[int, tuple[int, str, str, int, np.ndarray]]]:
    source, doc_id, ids = item
    target = layout.targets[source]
    for copy in range(target.copies(mix_bucket(source, doc_id, plan.seed))):
        key = shuffle_key(source, doc_id, copy, plan.seed)
        yield block_of(key, layout.blocks), (key, source, doc_id, copy, ids)


def _block_starts(block_tokens: dict[int, int]) -> dict[int, int]:
    """Each block's global token offset: the tokens of all blocks before it."""
    starts: dict[int, int] = {}
    offset = 0
    for block in sorted(block_tokens):
        starts[block] = offset
        offset += block_tokens[block]
    return starts


def _cut(item: tuple[int, Any], plan: ShardPlan, layout: Layout, starts: dict[int, int]) -> Iterator[tuple[int, Piece]]:
    block, members = item
    ordered = sorted(members, key=lambda member: member[:4])
    start = starts[block]
    docs = [(source, ids) for _, source, _, _, ids in ordered]
    for piece in cut_block(start, docs, layout.eod_id, plan.sequence_tokens, layout.dtype):
        yield piece.sequence // plan.sequences_per_shard, piece


def shard_name(index: int, count: int) -> str:
    return f"part-{index:05d}-of-{count:05d}"


def _write_shard(item: tuple[int, Any], plan: ShardPlan, layout: Layout, out_dir: str) -> dict[str, Any]:
    index, pieces = item
    shard = assemble(pieces, plan.sequence_tokens, layout.pad_id, layout.dtype, last_sequence=layout.sequences - 1)
    name = f"{SHARDS_DIR}/{shard_name(index, layout.shards)}"
    outputs: dict[str, bytes | memoryview] = {}
    if "parquet" in plan.formats:
        outputs[f"{name}.parquet"] = parquet_bytes(shard)
    if "megatron" in plan.formats:
        data, index_bytes = megatron_bytes(shard.matrix)
        outputs[f"{name}.bin"] = data
        outputs[f"{name}.idx"] = index_bytes
    files = []
    for relative, data in sorted(outputs.items()):
        writers.write_atomic(os.path.join(out_dir, relative), data)
        files.append({"path": relative, "bytes": memoryview(data).nbytes, "sha256": hashlib.sha256(data).hexdigest()})
    rows = shard.matrix.shape[0]
    return {
        "index": index,
        "first_sequence": shard.first_sequence,
        "sequences": rows,
        "tokens": rows * plan.sequence_tokens,
        "padding": shard.padding,
        "eod": int(np.count_nonzero(shard.matrix == layout.eod_id)),
        "source_tokens": dict(sorted(shard.source_tokens.items())),
        "files": files,
    }


def length_bucket(tokens: int) -> int:
    """Power-of-two bucket of a document's token count: 0, 1, 2-3, 4-7, ..."""
    return tokens.bit_length()


def bucket_label(bucket: int) -> str:
    if bucket <= 1:
        return str(bucket)
    return f"{1 << (bucket - 1)}-{(1 << bucket) - 1}"


def shards_report(
    _: Any,
    plan: ShardPlan,
    layout: Layout,
    shards: list[dict[str, Any]],
    lengths: list[tuple[tuple[str, int], int]],
    failed_counts: dict[str, int],
    failed_examples: list[tuple[str, str, str]],
) -> dict[str, Any]:
    """stats/shards.json: per shard, per source (PanGu's Table 4 layout), histograms."""
    shards = sorted(shards, key=lambda shard: shard["index"])
    realised: dict[str, int] = {}
    for shard in shards:
        for source, tokens in shard["source_tokens"].items():
            realised[source] = realised.get(source, 0) + tokens
    total_realised = sum(realised.values())
    sources = {}
    for name, target in layout.targets.items():
        taken = realised.get(name, 0)
        sources[name] = {
            **target.to_dict(),
            "docs_failed": failed_counts.get(name, 0),
            "tokens_realised": taken,
            "weight_realised": round(taken / total_realised, 6) if total_realised else 0.0,
            "epochs_realised": round(taken / target.tokens, 6) if target.tokens else 0.0,
        }
    histogram: dict[str, dict[str, int]] = {}
    for (source, bucket), count in sorted(lengths):
        histogram.setdefault(source, {})[bucket_label(bucket)] = count
    model_sha = writers.file_sha256(plan.tokenizer)
    return {
        "tokenizer": {
            "model": plan.tokenizer,
            "sha256": model_sha,
            "vocab_size": layout.vocab_size,
            "dtype": layout.dtype.name,
            "segment": plan.segment,
            "eod_id": layout.eod_id,
            "pad_id": layout.pad_id,
        },
        "seq_length": plan.seq_length,
        "sequence_tokens": plan.sequence_tokens,
        "shard_tokens": plan.shard_tokens,
        "formats": list(plan.formats),
        "seed": plan.seed,
        "tokens_asked": plan.tokens,
        "warnings": layout.warnings,
        "totals": {
            "shards": len(shards),
            "sequences": sum(shard["sequences"] for shard in shards),
            "tokens": sum(shard["tokens"] for shard in shards),
            "tokens_realised": total_realised,
            "padding": sum(shard["padding"] for shard in shards),
            "eod": sum(shard["eod"] for shard in shards),
            "docs_failed": sum(failed_counts.values()),
        },
        "sources": sources,
        "shards": shards,
        "doc_tokens_histogram": histogram,
        "failed_examples": [
            {"source": source, "id": doc_id, "detail": detail} for source, doc_id, detail in sorted(failed_examples)
        ],
    }


class BuildShards(beam.PTransform):
    """Kept documents -> shard files under ``out_dir/shards``; returns the report (one dict)."""

    def __init__(self, plan: ShardPlan, out_dir: str) -> None:
        super().__init__()
        self._plan = plan
        self._out_dir = out_dir

    def expand(self, docs: beam.PCollection) -> beam.PCollection:
        plan, out_dir = self._plan, self._out_dir
        tokenised = docs | "Tokenize" >> beam.ParDo(TokenizeDoFn(plan)).with_outputs(FAILED, main="docs")
        tokens = tokenised.docs
        available = (
            tokens
            | "AvailablePairs" >> beam.Map(lambda item: (item[0], (1, len(item[2]) + 1)))
            | "Available" >> beam.CombinePerKey(_sum_pairs)
        )
        histograms = (
            tokens
            | "BucketTokens" >> beam.Map(lambda item: (item[0], (mix_bucket(item[0], item[1], plan.seed), len(item[2]) + 1)))
            | "Histogram" >> beam.CombinePerKey(_HistogramFn())
        )
        lengths = (
            tokens
            | "LengthKeys" >> beam.Map(lambda item: ((item[0], length_bucket(len(item[2]))), 1))
            | "Lengths" >> beam.CombinePerKey(sum)
        )
        failed = tokenised[FAILED]
        failed_counts = (
            failed | "FailedSources" >> beam.Map(lambda item: (item[0], 1)) | "FailedCounts" >> beam.CombinePerKey(sum)
        )
        failed_examples = failed | "FailedExamples" >> beam.combiners.Top.Smallest(_FAILED_EXAMPLES)
        root = docs.pipeline | "Start" >> beam.Create([None])
        layout = beam.pvalue.AsSingleton(
            root
            | "Plan"
            >> beam.Map(
                make_layout, plan=plan, available=beam.pvalue.AsDict(available), histograms=beam.pvalue.AsDict(histograms)
            )
        )
        copies = tokens | "Copies" >> beam.FlatMap(_copies, plan=plan, layout=layout)
        starts = (
            copies
            | "CopyTokens" >> beam.Map(lambda item: (item[0], len(item[1][4]) + 1))
            | "BlockSizes" >> beam.CombinePerKey(sum)
            | "AllBlockSizes" >> beam.combiners.ToDict()
            | "BlockStarts" >> beam.Map(_block_starts)
        )
        written = (
            copies
            | "GroupBlocks" >> beam.GroupByKey()
            | "Blocks" >> beam.FlatMap(_cut, plan=plan, layout=layout, starts=beam.pvalue.AsSingleton(starts))
            | "GroupShards" >> beam.GroupByKey()
            | "Assemble" >> beam.Map(_write_shard, plan=plan, layout=layout, out_dir=out_dir)
        )
        return root | "Report" >> beam.Map(
            shards_report,
            plan=plan,
            layout=layout,
            shards=beam.pvalue.AsList(written),
            lengths=beam.pvalue.AsList(lengths),
            failed_counts=beam.pvalue.AsDict(failed_counts),
            failed_examples=beam.pvalue.AsSingleton(failed_examples),
        )
