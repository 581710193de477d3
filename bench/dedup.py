"""The dedup stage, measured: signature speed, the whole stage in Beam, and its quality on
a near-duplicate benchmark built from the real sample corpus.

1. Signatures (one process, no Beam): normalise + MinHash of every sample document, in MB/s
   per core, next to datasketch's ``MinHash.update_batch`` on the same shingles with its
   default hash (SHA-1) and with ours.
2. The stage in Beam (DirectRunner, in process, one worker): every sample document read from
   JSONL, once through ``Deduplicate`` and once without it; the difference in CPU time is
   the stage's cost. Peak memory of the process.
3. Quality: originals drawn from the sample corpus, each with one copy under a controlled
   edit (characters substituted, inserted or deleted, sentences moved, boilerplate added)
   at an intensity that spreads the copies' true Jaccard similarity (5-gram sets of the
   normalised text) over 0.4-1.0, mixed with unrelated documents (originals and unrelated
   documents are chosen so that no two are alike: see ``unrelated_pool``). Precision: of all pairs
   of documents the stage put in one cluster, the share whose true Jaccard reaches the
   threshold. Recall: of the generated pairs at a true Jaccard of 0.85 or more, the share
   put in one cluster. Targets from the dedup issue at threshold 0.8: recall >= 0.95,
   precision >= 0.99. Run with verification on (the default) and off.

Figures are printed and written to bench/results/dedup.json; no test asserts on them.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import resource
import shutil
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import apache_beam as beam  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402
from common import peak_rss_mb, sample_documents, write_results  # noqa: E402

from corpus.config import DedupConfig, RunConfig, SourceConfig, StagesConfig  # noqa: E402
from corpus.record import Document  # noqa: E402
from filters.dedup import Deduplicate, DedupPlan  # noqa: E402
from filters.minhash import MinHasher, jaccard, normalise, shingle_hash32, shingle_set, shingles  # noqa: E402

SEED = 20261123
ORIGINALS = 1500
UNRELATED = 3000
BUCKETS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0001)
BOILERPLATE = [
    "本文来源：人民网，责任编辑：王小明。",
    "版权所有，未经授权禁止转载，违者必究。",
    "点击关注我们的公众号，获取更多精彩内容！",
    "免责声明：本站部分内容来自网络，如有侵权请联系删除。",
    "上一篇：返回首页 下一篇：更多新闻 分享到：微博 微信",
]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- 1. signatures ---------------------------------------------------------------------


def bench_signatures(docs: list[Document]) -> dict[str, float]:
    from datasketch import MinHash

    hasher = MinHasher(num_perm=128, seed=1, ngram=5)
    size = sum(doc.size_bytes for doc in docs)
    started = _cpu()
    for doc in docs:
        hasher.signature(normalise(doc.text))
    ours = size / 1e6 / (_cpu() - started)
    subset, subset_size = [], 0
    for doc in docs[:: max(1, len(docs) // 2000)]:
        subset.append(doc)
        subset_size += doc.size_bytes
    figures = {"signature_mb_s_per_core": ours}
    for label, hashfunc in (("datasketch_sha1", None), ("datasketch_our_hash", shingle_hash32)):
        started = _cpu()
        for doc in subset:
            minhash = MinHash(num_perm=128, seed=1, hashfunc=hashfunc)
            grams = shingles(normalise(doc.text), 5)
            minhash.update_batch([gram.encode("utf-8") for gram in grams] if hashfunc is None else grams)
        figures[f"{label}_mb_s_per_core"] = subset_size / 1e6 / (_cpu() - started)
    return figures


# --- 2. the stage in Beam ----------------------------------------------------------------


def _write_jsonl(docs: list[Document], folder: Path, parts: int = 8) -> list[str]:
    paths = []
    for part in range(parts):
        path = folder / f"docs-{part}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for doc in docs[part::parts]:
                handle.write(json.dumps({"id": doc.doc_id, "source": doc.source, "text": doc.text}, ensure_ascii=False) + "\n")
        paths.append(str(path))
    return paths


def _lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return handle.readlines()


def _parse(line: str) -> Document:
    record = json.loads(line)
    return Document(record["id"], record["source"], record["text"])


def _save(items: list[Any], path: str) -> None:
    Path(path).write_text(json.dumps(items, ensure_ascii=False))


def run_stage(paths: list[str], config: RunConfig, out: Path | None, clusters: bool = True) -> float:
    """CPU seconds of reading the JSONL files and (with ``out``) deduplicating, writing the
    stage's report and, with ``clusters``, every document's cluster representative (for
    the quality figures; left out when the stage's speed is measured, since it is not the
    stage's work)."""
    options = PipelineOptions(["--direct_num_workers=1", "--direct_running_mode=in_memory"])
    started = _cpu()
    with beam.Pipeline(options=options) as pipeline:
        docs = pipeline | beam.Create(paths) | beam.FlatMap(_lines) | beam.Map(_parse)
        if out is None:
            _ = docs | "Count" >> beam.combiners.Count.Globally()
        else:
            kept, removed, report = docs | Deduplicate(DedupPlan.for_run(config), str(out / "work"))
            finished = (*kept, *removed) | beam.Flatten()
            _ = report | "SaveReport" >> beam.Map(_save, str(out / "report.json"))
            if clusters:
                representatives = finished | beam.Map(_representative) | beam.combiners.ToList()
                _ = representatives | "SaveClusters" >> beam.Map(_save, str(out / "clusters.json"))
            else:
                _ = finished | "Count" >> beam.combiners.Count.Globally()
    if out is not None:
        shutil.rmtree(out / "work", ignore_errors=True)  # the documents that waited for their verdicts
    return _cpu() - started


def _representative(doc: Document) -> tuple[str, str]:
    removal = doc.removal if doc.removal is not None else next((v for v in doc.verdicts if v.stage == "dedup"), None)
    name = f"{doc.source}/{doc.doc_id}"
    if removal is None or "survivor " not in removal.detail:
        return name, name
    return name, removal.detail.split("survivor ", 1)[1]


def _config(sources: list[str], **dedup: Any) -> RunConfig:
    return RunConfig(
        sources=tuple(SourceConfig(name=name, paths=("unused",), format="jsonl", stages=("dedup",)) for name in sources),
        stages=StagesConfig(dedup=DedupConfig(**dedup)),
    )


def bench_stage(docs: list[Document], folder: Path) -> dict[str, float]:
    paths = _write_jsonl(docs, folder)
    sources = sorted({doc.source for doc in docs})
    size = sum(doc.size_bytes for doc in docs)
    baseline = run_stage(paths, _config(sources), None)
    with_dedup = run_stage(paths, _config(sources), folder, clusters=False)
    report = json.loads((folder / "report.json").read_text())
    removed = sum(sum(entry["removed"].values()) for entry in report["sources"].values())
    return {
        "input_mb": size / 1e6,
        "docs": len(docs),
        "removed": removed,
        "read_only_cpu_seconds": baseline,
        "with_dedup_cpu_seconds": with_dedup,
        "dedup_mb_s_per_core": size / 1e6 / max(with_dedup - baseline, 1e-9),
        "dedup_docs_per_s_per_core": len(docs) / max(with_dedup - baseline, 1e-9),
        "peak_rss_mb": peak_rss_mb(),
    }


# --- 3. quality --------------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[。！？!?\n])")


def _edit(text: str, rng: random.Random, alphabet: str) -> tuple[str, str]:
    kind = rng.choice(["substitute", "insert", "delete", "move", "boilerplate", "mixed"])
    chars = list(text)
    rate = rng.uniform(0.0, 0.07)
    if kind in ("substitute", "mixed"):
        for index in rng.sample(range(len(chars)), int(len(chars) * rate / (2 if kind == "mixed" else 1))):
            chars[index] = rng.choice(alphabet)
    if kind in ("insert", "mixed"):
        for _ in range(int(len(chars) * rate / (2 if kind == "mixed" else 1))):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(alphabet))
    if kind == "delete":
        for index in sorted(rng.sample(range(len(chars)), int(len(chars) * rate)), reverse=True):
            del chars[index]
    edited = "".join(chars)
    if kind == "move":
        sentences = [s for s in _SENTENCE.split(edited) if s]
        for _ in range(rng.randint(1, max(1, len(sentences) // 3))):
            if len(sentences) > 2:
                sentences.insert(rng.randrange(len(sentences)), sentences.pop(rng.randrange(len(sentences))))
        edited = "".join(sentences)
    if kind == "boilerplate":
        extra = []
        while sum(len(line) for line in extra) < len(text) * rng.uniform(0.0, 0.5):
            extra.append(rng.choice(BOILERPLATE))
        edited = "\n".join([*extra[: len(extra) // 2], edited, *extra[len(extra) // 2 :]])
    return kind, edited


def unrelated_pool(docs: list[Document], rng: random.Random) -> list[Document]:
    """Sample documents of 200-20,000 normalised characters, none similar to another: the
    sample corpus has natural near-duplicate families (LibreOffice pages, man pages such as
    sha256sum/sha384sum) that would blur what the generated pairs measure. A document is
    skipped when datasketch's MinHashLSH finds an earlier one at an estimated Jaccard of
    0.5 or more."""
    from datasketch import MinHash, MinHashLSH

    candidates = [doc for doc in docs if 200 <= len(normalise(doc.text)) <= 20_000]
    rng.shuffle(candidates)
    hasher = MinHasher(num_perm=128, seed=1, ngram=5)
    index = MinHashLSH(threshold=0.5, num_perm=128)
    pool = []
    for doc in candidates:
        if len(pool) == ORIGINALS + UNRELATED:
            break
        sketch = MinHash(num_perm=128, seed=1, hashvalues=hasher.signature(normalise(doc.text)), scheme="affine32")
        if not index.query(sketch):
            index.insert(str(len(pool)), sketch)
            pool.append(doc)
    return pool


def build_benchmark(docs: list[Document]) -> tuple[list[Document], list[dict[str, Any]]]:
    rng = random.Random(SEED)
    pool = unrelated_pool(docs, rng)
    originals, unrelated = pool[:ORIGINALS], pool[ORIGINALS : ORIGINALS + UNRELATED]
    alphabet = "".join(sorted({char for doc in originals[:200] for char in normalise(doc.text)}))
    bench_docs: list[Document] = []
    pairs = []
    for index, doc in enumerate(originals):
        kind, text = _edit(doc.text, rng, alphabet)
        original = Document(f"orig-{index:05d}", doc.source, doc.text)
        copy = Document(f"copy-{index:05d}", "copies", text)
        similarity = jaccard(shingle_set(normalise(doc.text), 5), shingle_set(normalise(text), 5))
        pairs.append({"a": f"{doc.source}/{original.doc_id}", "b": f"copies/{copy.doc_id}", "kind": kind, "jaccard": similarity})
        bench_docs += [original, copy]
    bench_docs += [Document(f"other-{index:05d}", doc.source, doc.text) for index, doc in enumerate(unrelated)]
    return bench_docs, pairs


def measure_quality(
    bench_docs: list[Document], pairs: list[dict[str, Any]], folder: Path, threshold: float, **dedup: Any
) -> dict[str, Any]:
    paths = _write_jsonl(bench_docs, folder)
    sources = sorted({doc.source for doc in bench_docs})
    run_stage(paths, _config(sources, threshold=threshold, **dedup), folder)
    representative = dict(json.loads((folder / "clusters.json").read_text()))
    members: dict[str, list[str]] = {}
    for name, survivor in representative.items():
        members.setdefault(survivor, []).append(name)
    texts = {f"{doc.source}/{doc.doc_id}": doc.text for doc in bench_docs}
    sets: dict[str, Any] = {}

    def shingle_set_of(name: str) -> Any:
        if name not in sets:
            sets[name] = shingle_set(normalise(texts[name]), 5)
        return sets[name]

    clustered_pairs = true_pairs = 0
    false_examples = []
    for names in members.values():
        for first, second in itertools.combinations(sorted(names), 2):
            clustered_pairs += 1
            similarity = jaccard(shingle_set_of(first), shingle_set_of(second))
            if similarity >= threshold:
                true_pairs += 1
            elif len(false_examples) < 5:
                false_examples.append({"a": first, "b": second, "jaccard": round(similarity, 3)})
    by_bucket = {}
    for low, high in itertools.pairwise(BUCKETS):
        inside = [pair for pair in pairs if low <= pair["jaccard"] < high]
        found = sum(representative[pair["a"]] == representative[pair["b"]] for pair in inside)
        by_bucket[f"{low:.2f}-{min(high, 1.0):.2f}"] = {
            "pairs": len(inside),
            "found": found,
            "recall": found / len(inside) if inside else None,
        }
    high = [pair for pair in pairs if pair["jaccard"] >= 0.85]
    recall = sum(representative[pair["a"]] == representative[pair["b"]] for pair in high) / len(high)
    return {
        "settings": dedup,
        "threshold": threshold,
        "clustered_pairs": clustered_pairs,
        "precision": true_pairs / clustered_pairs if clustered_pairs else 1.0,
        "recall_at_085": recall,
        "pairs_at_085": len(high),
        "recall_by_jaccard": by_bucket,
        "false_pair_examples": false_examples,
    }


def main() -> None:
    _, docs = sample_documents()
    cores = os.cpu_count() or 1
    print(
        f"machine: {cores} cores; datasketch {version('datasketch')}, numpy {version('numpy')}, apache-beam {version('apache-beam')}"
    )
    figures: dict[str, Any] = {"cores": cores}
    figures["signatures"] = bench_signatures(docs)
    signature = figures["signatures"]
    print("\n1. MinHash signatures, 128 permutations, character 5-grams, one process:")
    print(f"  zhcorpus (normalise + vectorised hash + signature): {signature['signature_mb_s_per_core']:.1f} MB/s per core")
    print(f"  datasketch update_batch, SHA-1 (its default):      {signature['datasketch_sha1_mb_s_per_core']:.1f} MB/s per core")
    print(
        f"  datasketch update_batch, our shingle hash:         {signature['datasketch_our_hash_mb_s_per_core']:.1f} MB/s per core"
    )
    with tempfile.TemporaryDirectory() as folder:
        figures["stage"] = stage = bench_stage(docs, Path(folder))
    print(f"\n2. the dedup stage in Beam (DirectRunner in process, 1 worker), all {stage['docs']:,} sample documents:")
    print(
        f"  {stage['input_mb']:.1f} MB, {stage['removed']:,} removed; CPU {stage['with_dedup_cpu_seconds']:.1f} s with dedup,"
        f" {stage['read_only_cpu_seconds']:.1f} s reading alone"
    )
    print(
        f"  dedup: {stage['dedup_mb_s_per_core']:.2f} MB/s per core, {stage['dedup_docs_per_s_per_core']:,.0f} docs/s per core; peak RSS {stage['peak_rss_mb']:.0f} MB"
    )
    bench_docs, pairs = build_benchmark(docs)
    figures["quality"] = []
    print(f"\n3. near-duplicate benchmark: {ORIGINALS} originals with one edited copy each, {UNRELATED} unrelated documents")
    for verify in (True, False):
        with tempfile.TemporaryDirectory() as folder:
            quality = measure_quality(bench_docs, pairs, Path(folder), 0.8, verify=verify)
        figures["quality"].append(quality)
        print(
            f"  verify={verify!s:<5}: precision {quality['precision']:.4f} over {quality['clustered_pairs']:,} clustered pairs;"
            f" recall {quality['recall_at_085']:.4f} over {quality['pairs_at_085']} pairs at Jaccard >= 0.85"
        )
        print(
            "    recall by true Jaccard: "
            + ", ".join(
                f"{bucket} {entry['found']}/{entry['pairs']}"
                for bucket, entry in quality["recall_by_jaccard"].items()
                if entry["pairs"]
            )
        )
    print(f"\nwritten to {write_results('dedup', figures)}")


if __name__ == "__main__":
    main()
