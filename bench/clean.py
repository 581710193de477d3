"""The clean stage alone on the real sample corpus: MB/s per core and peak memory.

Every document of every source goes through the clean judge in one process (no Beam), as
a web source where the source is WARC, so that navigation removal is measured too. The
target from the cleaning issue: at least 20 MB/s per core for the repairs and rules.
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

from filters.clean import CleanPlan, CleanRules  # noqa: E402


def main() -> None:
    config, docs = sample_documents()
    size = sum(doc.size_bytes for doc in docs)
    plan = CleanPlan.for_sources(config.stages.clean, config.sources)
    started = time.process_time()
    rules = CleanRules(plan)
    setup_seconds = time.process_time() - started

    by_source: dict[str, list[float]] = {}
    by_size: dict[str, list[float]] = {"under 1 KB": [0.0, 0.0], "1 KB and more": [0.0, 0.0]}
    outcomes: Counter[str] = Counter()
    started = time.process_time()
    for doc in docs:
        begin = time.process_time()
        judged = rules.judge(doc)
        by_source.setdefault(doc.source, [0.0, 0.0])
        by_source[doc.source][0] += time.process_time() - begin
        by_source[doc.source][1] += doc.size_bytes
        bucket = by_size["1 KB and more" if doc.size_bytes >= 1024 else "under 1 KB"]
        bucket[0] += time.process_time() - begin
        bucket[1] += doc.size_bytes
        outcomes[judged.removal.reason.value if judged.removal else "kept"] += 1
    seconds = time.process_time() - started

    import opencc

    converter = opencc.OpenCC("t2s")
    text = "\n".join(doc.text for doc in docs)
    begin = time.process_time()
    converter.convert(text)
    t2s_seconds = time.process_time() - begin

    peak = peak_rss_mb()
    print(f"clean stage, 1 process: {len(docs)} documents, {size / 1e6:.1f} MB in {seconds:.1f} s")
    print(
        f"  {size / 1e6 / seconds:.1f} MB/s per core, {len(docs) / seconds:.0f} docs/s, setup {setup_seconds:.2f} s, peak RSS {peak:.0f} MB"
    )
    for source, (spent, source_bytes) in by_source.items():
        print(f"  {source:<13} {source_bytes / 1e6 / spent:6.1f} MB/s per core")
    for bucket, (spent, bucket_bytes) in by_size.items():
        print(f"  documents {bucket:<13} {bucket_bytes / 1e6:6.1f} MB at {bucket_bytes / 1e6 / spent:6.1f} MB/s per core")
    print(f"  OpenCC t2s alone on all of it: {size / 1e6 / t2s_seconds:.1f} MB/s per core")
    print(f"  outcomes: {dict(outcomes.most_common())}")
    figures = {
        "docs": len(docs),
        "input_mb": size / 1e6,
        "seconds": seconds,
        "clean_mb_s_per_core": size / 1e6 / seconds,
        "t2s_mb_s_per_core": size / 1e6 / t2s_seconds,
        "per_source_mb_s": {source: b / 1e6 / s for source, (s, b) in by_source.items()},
        "per_size_mb_s": {bucket: b / 1e6 / s for bucket, (s, b) in by_size.items()},
        "peak_rss_mb": peak,
        "outcomes": dict(outcomes),
    }
    write_results("clean", figures)


if __name__ == "__main__":
    main()
