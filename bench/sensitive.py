"""The sensitive stage with 10,000 real terms on the real sample corpus: MB/s per core.

The terms are real Chinese words taken from jieba's dictionary (every word of two to four
characters whose line number is a multiple of a stride, so the choice is fixed), split
into four categories of 2,500. The target from the sensitive-word issue: at least 10 MB/s
per core. Figures are printed and written to bench/results/sensitive.json.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import peak_rss_mb, sample_documents, write_results  # noqa: E402

from corpus.config import SensitiveCategory, SensitiveConfig  # noqa: E402
from filters.sensitive import SensitiveRules  # noqa: E402

TERMS = 10_000


def jieba_terms(count: int) -> list[str]:
    import jieba

    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as handle:
        words = [line.split()[0] for line in handle]
    candidates = [word for word in words if 2 <= len(word) <= 4]
    stride = len(candidates) // count
    return candidates[::stride][:count]


def main() -> None:
    _, docs = sample_documents()
    size = sum(doc.size_bytes for doc in docs)
    terms = jieba_terms(TERMS)
    with tempfile.TemporaryDirectory() as folder:
        categories = []
        for index in range(4):
            path = Path(folder) / f"category{index}.txt"
            path.write_text("\n".join(terms[index::4]) + "\n", encoding="utf-8")
            categories.append(SensitiveCategory(name=f"category{index}", rules=str(path)))
        started = time.process_time()
        rules = SensitiveRules(SensitiveConfig(categories=tuple(categories)))
        setup = time.process_time() - started
    started = time.process_time()
    rejected = sum(rules.judge(doc).removal is not None for doc in docs)
    seconds = time.process_time() - started
    peak = peak_rss_mb()
    figures = {
        "terms": len(terms),
        "docs": len(docs),
        "input_mb": size / 1e6,
        "seconds": seconds,
        "sensitive_mb_s_per_core": size / 1e6 / seconds,
        "setup_seconds": setup,
        "rejected": rejected,
        "peak_rss_mb": peak,
    }
    print(f"sensitive stage, 1 process, {len(terms):,} terms from jieba's dictionary in 4 categories:")
    print(f"  {len(docs)} documents, {size / 1e6:.1f} MB in {seconds:.1f} s = {size / 1e6 / seconds:.1f} MB/s per core")
    print(
        f"  automaton built in {setup:.2f} s; {rejected} documents over max_hits=3 (common words: expected); peak RSS {peak:.0f} MB"
    )
    write_results("sensitive", figures)


if __name__ == "__main__":
    main()
