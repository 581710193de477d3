"""The spam stage's scoring on the real sample corpus: documents/s and MB/s per core.

A spam model is trained here on weak labels of the sample (documentation, literature and
news against the informal reviews, 10,000 a side, as `make demo` does), then every sample
document is scored as the stage scores it: the one preprocessing function (jieba words
through the fast segmenter), fastText predict, and windows of 2,000 characters for longer
documents. The issue's target: at least 3,000 documents/s per core. fastText's predict
alone, on preprocessed lines, is timed too. Figures are printed and written to
bench/results/spam.json.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import peak_rss_mb, sample_documents, write_results  # noqa: E402

from corpus.ids import stable_hash  # noqa: E402
from filters.classifier import Example, Scorer, TrainSettings, train  # noqa: E402

HIGH = ("encyclopedia", "ebooks", "public", "news")
LOW = ("reviews",)


def main() -> None:
    _, docs = sample_documents()
    texts = [doc.text for doc in docs]
    megabytes = sum(len(text.encode("utf-8", "surrogatepass")) for text in texts) / 1e6
    ranked = sorted(docs, key=lambda doc: stable_hash("bench", doc.source, doc.doc_id))
    positives = [Example(doc.doc_id, False, doc.text) for doc in ranked if doc.source in HIGH][:10_000]
    negatives = [Example(doc.doc_id, True, doc.text) for doc in ranked if doc.source in LOW][:10_000]
    with tempfile.TemporaryDirectory() as folder:
        model = f"{folder}/spam.bin"
        started = time.process_time()
        train(positives + negatives, model, TrainSettings(kind="spam"))
        print(f"trained on {len(positives) + len(negatives):,} documents in {time.process_time() - started:.1f} s CPU")
        scorer = Scorer(model)
        scorer.score("预热")
        started = time.process_time()
        scores = [scorer.score(text) for text in texts]
        seconds = time.process_time() - started
        lines = [scorer._preprocessor(text) for text in texts]
        started = time.process_time()
        scorer.probabilities(lines)
        predict_seconds = time.process_time() - started
    results = {
        "documents": len(texts),
        "input_mb": megabytes,
        "docs_per_s_per_core": len(texts) / seconds,
        "mb_s_per_core": megabytes / seconds,
        "predict_only_docs_per_s": len(texts) / predict_seconds,
        "rejected_at_0_5": sum(score >= 0.5 for score in scores),
        "peak_rss_mb": peak_rss_mb(),
    }
    print(f"sample corpus: {len(texts):,} documents, {megabytes:.1f} MB")
    print(
        f"spam stage scoring (preprocess + windows + predict): {results['docs_per_s_per_core']:,.0f} documents/s per core, "
        f"{results['mb_s_per_core']:.2f} MB/s per core (target 3,000 documents/s)"
    )
    print(f"fastText predict alone on preprocessed lines: {results['predict_only_docs_per_s']:,.0f} documents/s")
    print(f"peak RSS {results['peak_rss_mb']:.0f} MB")
    print(f"written to {write_results('spam', results)}")


if __name__ == "__main__":
    main()
