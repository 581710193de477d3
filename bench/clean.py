"""The repair and clean stages on the real sample corpus: MB/s per core and peak memory.

Every document of every source goes through the repair judge and then the clean judge in
one process (no Beam), as a web source where the source is WARC, so that navigation
removal is measured too. The target from the cleaning issues: at least 20 MB/s per core
for the repairs and rules together; each stage's own figure is printed too.
Figures are printed and written to bench/results/clean.json; no test asserts on them.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import peak_rss_mb, sample_documents, write_results  # noqa: E402

from corpus.record import Document  # noqa: E402
from filters.clean import CleanPlan, CleanRules  # noqa: E402
from filters.repair import RepairPlan, Repairs  # noqa: E402


def main() -> None:
    config, docs = sample_documents()
    size = sum(doc.size_bytes for doc in docs)
    plan = CleanPlan.for_sources(config.stages.clean, config.sources)
    started = time.process_time()
    repairs = Repairs(RepairPlan.for_sources(config.stages.repair, config.sources))
    rules = CleanRules(plan)
    setup_seconds = time.process_time() - started

    def judge(doc: Document) -> Document:
        repaired = repairs.judge(doc)
        return repaired if repaired.removal is not None else rules.judge(repaired)

    # Whole groups are timed, not each document: reading the process clock costs a system
    # call here, and three per document added a tenth to the figure.
    by_source: dict[str, list[Document]] = {}
    by_size: dict[str, list[Document]] = {"under 1 KB": [], "1 KB and more": []}
    for doc in docs:
        by_source.setdefault(doc.source, []).append(doc)
        by_size["1 KB and more" if doc.size_bytes >= 1024 else "under 1 KB"].append(doc)
    outcomes: Counter[str] = Counter()
    source_seconds: dict[str, float] = {}
    for source, group in by_source.items():
        started = time.process_time()
        judged = [judge(doc) for doc in group]
        source_seconds[source] = time.process_time() - started
        outcomes.update(doc.removal.reason.value if doc.removal else "kept" for doc in judged)
    seconds = sum(source_seconds.values())
    # Each stage alone: the repairs on every document, the rules on what the repairs pass.
    started = time.process_time()
    repaired = [repairs.judge(doc) for doc in docs]
    repair_seconds = time.process_time() - started
    passed = [doc for doc in repaired if doc.removal is None]
    started = time.process_time()
    for doc in passed:
        rules.judge(doc)
    rules_seconds = time.process_time() - started
    size_seconds: dict[str, float] = {}
    for bucket, group in by_size.items():
        started = time.process_time()
        for doc in group:
            judge(doc)
        size_seconds[bucket] = time.process_time() - started

    import opencc

    converter = opencc.OpenCC("t2s")
    text = "\n".join(doc.text for doc in docs)
    begin = time.process_time()
    converter.convert(text)
    t2s_seconds = time.process_time() - begin

    peak = peak_rss_mb()
    passed_mb = sum(doc.size_bytes for doc in passed) / 1e6
    print(f"repair and clean stages, 1 process: {len(docs)} documents, {size / 1e6:.1f} MB in {seconds:.1f} s")
    print(
        f"  {size / 1e6 / seconds:.1f} MB/s per core, {len(docs) / seconds:.0f} docs/s, setup {setup_seconds:.2f} s, peak RSS {peak:.0f} MB"
    )
    print(
        f"  repair alone {size / 1e6 / repair_seconds:.1f} MB/s per core; clean alone {passed_mb / rules_seconds:.1f} MB/s per core"
    )
    source_mb = {source: sum(doc.size_bytes for doc in group) / 1e6 for source, group in by_source.items()}
    size_mb = {bucket: sum(doc.size_bytes for doc in group) / 1e6 for bucket, group in by_size.items()}
    for source, spent in source_seconds.items():
        print(f"  {source:<13} {source_mb[source]:6.1f} MB at {source_mb[source] / spent:6.1f} MB/s per core")
    for bucket, spent in size_seconds.items():
        print(f"  documents {bucket:<13} {size_mb[bucket]:6.1f} MB at {size_mb[bucket] / spent:6.1f} MB/s per core")
    print(f"  OpenCC t2s alone on all of it: {size / 1e6 / t2s_seconds:.1f} MB/s per core")
    print(f"  outcomes: {dict(outcomes.most_common())}")
    figures = {
        "docs": len(docs),
        "input_mb": size / 1e6,
        "seconds": seconds,
        "clean_mb_s_per_core": size / 1e6 / seconds,
        "repair_alone_mb_s_per_core": size / 1e6 / repair_seconds,
        "clean_alone_mb_s_per_core": passed_mb / rules_seconds,
        "t2s_mb_s_per_core": size / 1e6 / t2s_seconds,
        "per_source_mb_s": {source: source_mb[source] / spent for source, spent in source_seconds.items()},
        "per_size_mb_s": {bucket: size_mb[bucket] / spent for bucket, spent in size_seconds.items()},
        "peak_rss_mb": peak,
        "outcomes": dict(outcomes),
    }
    write_results("clean", figures)


if __name__ == "__main__":
    main()
