"""Segmentation, tokenisation and shard writing on the real sample corpus.

- Segmentation, one process, MB/s per core of input text: jieba itself (PanGu's
  ``jieba.cut(text, cut_all=False)``), zhcorpus's ``fast`` segmenter (the issue's target:
  at least 5 MB/s per core, identical to jieba) and ``jieba-nohmm`` (rjieba alone). The
  ``fast`` output is compared with jieba's on every document and the differences counted.
- Tokenisation (segmentation + PanGu's marks + SentencePiece encode) with a 40,000-piece
  BPE model trained here on the corpus, MB/s per core, plus the round-trip check.
- Packing and writing shards in one process (cut into 1025-token sequences, Parquet and
  Megatron bytes): tokens/s.

Figures are printed and written to bench/results/tokenize.json.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import numpy as np  # noqa: E402
from common import peak_rss_mb, sample_documents, write_results  # noqa: E402

from sampling.pack import assemble, cut_block, megatron_bytes, parquet_bytes  # noqa: E402
from sampling.segment import Segmenter  # noqa: E402
from sampling.tokenizer import Tokenizer, train  # noqa: E402

SEQUENCE_TOKENS = 1025
SHARD_SEQUENCES = 975  # about 1M tokens per shard


def digest(words: list[str]) -> bytes:
    return hashlib.blake2b("\x00".join(words).encode("utf-8", "surrogatepass"), digest_size=16).digest()


def timed(function, *args):
    started = time.process_time()
    result = function(*args)
    return result, time.process_time() - started


def main() -> None:
    _, docs = sample_documents()
    texts = [doc.text for doc in docs]
    megabytes = sum(len(text.encode("utf-8", "surrogatepass")) for text in texts) / 1e6
    print(f"sample corpus: {len(texts):,} documents, {megabytes:.1f} MB")
    results: dict[str, object] = {"documents": len(texts), "input_mb": megabytes}

    # Only a digest of each document's words is kept: holding millions of word strings
    # would make Python's garbage collector, not the segmenter, the thing measured.
    words: dict[str, list[bytes]] = {}
    for method in ("jieba", "fast", "jieba-nohmm"):
        segmenter = Segmenter(method)  # type: ignore[arg-type]
        segmenter.cut("预热")  # load the dictionary outside the timing
        words[method], seconds = timed(lambda s=segmenter: [digest(s.cut(text)) for text in texts])
        results[f"segment_{method}_mb_s_per_core"] = megabytes / seconds
        print(f"segment {method:<12} {megabytes / seconds:6.2f} MB/s per core ({seconds:.1f} s CPU)")
    differ = sum(a != b for a, b in zip(words["fast"], words["jieba"], strict=True))
    differ_nohmm = sum(a != b for a, b in zip(words["jieba-nohmm"], words["jieba"], strict=True))
    results["fast_documents_differing_from_jieba"] = differ
    results["nohmm_documents_differing_from_jieba"] = differ_nohmm
    print(f"fast vs jieba: {differ} of {len(texts):,} documents differ; jieba-nohmm vs jieba (HMM on): {differ_nohmm} differ")
    del words

    with tempfile.TemporaryDirectory() as folder:
        model = f"{folder}/bench.model"
        info, seconds = timed(train, texts, model, 40_000)
        print(f"tokenizer: {info['vocab_size']} pieces trained in {seconds:.1f} s CPU")
        tokenizer = Tokenizer(model).load()
        tokenizer.encode("预热")
        ids, seconds = timed(lambda: [np.asarray(tokenizer.encode(text), dtype=np.uint16) for text in texts])
        results["tokenize_mb_s_per_core"] = megabytes / seconds
        tokens = sum(len(i) for i in ids)
        results["tokens"] = tokens
        print(f"tokenize (fast segmenter + SentencePiece) {megabytes / seconds:6.2f} MB/s per core, {tokens:,} tokens")
        segmented, seconds = timed(lambda: [tokenizer.segmented(text) for text in texts])
        print(f"  of which segmentation in PanGu's form {megabytes / seconds:6.2f} MB/s per core")
        del segmented
        broken = sum(tokenizer.decode(i.tolist()) != text for i, text in zip(ids, texts, strict=True))
        results["round_trip_failures"] = broken
        print(f"round trip decode(encode(text)) == text: {len(texts) - broken:,} of {len(texts):,}")

        arrays = [("all", i) for i in ids]

        def pack() -> int:
            pieces = list(cut_block(0, arrays, tokenizer.eod_id, SEQUENCE_TOKENS, np.dtype(np.uint16)))
            last = pieces[-1].sequence
            written = 0
            for first in range(0, last + 1, SHARD_SEQUENCES):
                shard = assemble(
                    [p for p in pieces[first : first + SHARD_SEQUENCES]],
                    SEQUENCE_TOKENS,
                    tokenizer.pad_id,
                    np.dtype(np.uint16),
                    last,
                )
                data, index = megatron_bytes(shard.matrix)
                written += len(parquet_bytes(shard)) + len(data) + len(index)
            return written

        written, seconds = timed(pack)
        results["shard_tokens_per_s"] = (tokens + len(ids)) / seconds
        print(
            f"pack + write Parquet and Megatron bytes: {(tokens + len(ids)) / seconds / 1e6:.1f} M tokens/s ({written / 1e6:.0f} MB)"
        )
    results["peak_rss_mb"] = peak_rss_mb()
    print(f"peak RSS {results['peak_rss_mb']:.0f} MB")
    print(f"written to {write_results('tokenize', results)}")


if __name__ == "__main__":
    main()
