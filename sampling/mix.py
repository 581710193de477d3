"""Weighted source sampling: how many times each kept document goes into the shards.

PanGu's Table 4 gives each source a weight in the training mix; a source with more weight
than data is repeated (epochs > 1), the rest subsampled (epochs < 1). Here the config gives
each source either a ``weight`` (with ``shards.tokens``, the total) or ``epochs``; with
neither, every source goes in once. Weights that do not add up to 1 are renormalised with a
warning (PanGu's own 2.6B/13B weights add up to 100.99%), and so is the weight of a source
that kept no tokens, which is spread over the others.

A source's target is ``epochs x available tokens`` (a document counts its tokens plus its
``<eod>``). Every document goes in ``floor(epochs)`` times; the fractional part is taken
by a threshold on a seeded stable hash of the document id: documents whose hash bucket
(the top 16 bits, 65,536 buckets) is below the threshold get one more copy. The threshold
comes from a histogram of tokens per bucket, summed across workers, and is the bucket
boundary whose cumulative token count is nearest the fractional target. So the realised
count misses the target by at most half a bucket's tokens (half a document on small
sources), a rerun takes exactly the same documents, and nothing needs one worker to see a
whole source.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from corpus.config import MAX_EPOCHS, SourceConfig
from corpus.ids import stable_hash

BUCKET_BITS = 16
BUCKETS = 1 << BUCKET_BITS


def mix_bucket(source: str, doc_id: str, seed: int) -> int:
    """The document's sampling bucket, in [0, BUCKETS): a seeded stable hash of its id."""
    return stable_hash("mix", source, doc_id, seed=seed) >> (64 - BUCKET_BITS)


@dataclass(frozen=True)
class SourceTarget:
    """One source's part of the mix, decided before any document is copied."""

    source: str
    docs: int
    tokens: int
    """Tokens available: the kept documents tokenised, one ``<eod>`` each."""
    weight_asked: float | None
    """As written in the config (None when the mix is given by epochs)."""
    weight_target: float
    """The share of the mix aimed at, after renormalising."""
    epochs_target: float
    target_tokens: float
    whole_copies: int
    """Every document goes in this many times ..."""
    extra_below: int
    """... and once more when its bucket is below this."""
    tokens_taken: int
    """What these copies add up to (exact: the histogram counts every token)."""

    def copies(self, bucket: int) -> int:
        return self.whole_copies + (1 if bucket < self.extra_below else 0)

    def to_dict(self) -> dict[str, object]:
        return {
            "docs": self.docs,
            "tokens_available": self.tokens,
            "weight_asked": self.weight_asked,
            "weight_target": round(self.weight_target, 6),
            "epochs_target": round(self.epochs_target, 6),
            "tokens_target": round(self.target_tokens),
            "tokens_planned": self.tokens_taken,
        }


def _threshold(histogram: np.ndarray, wanted: float) -> tuple[int, int]:
    """The bucket boundary b whose tokens in buckets below b are nearest ``wanted``, and
    those tokens."""
    below = np.concatenate(([0], np.cumsum(histogram, dtype=np.int64)))  # below[b] = tokens in buckets < b
    b = min(int(np.searchsorted(below, wanted)), len(below) - 1)
    if b > 0 and (wanted - below[b - 1]) <= (below[b] - wanted):
        b -= 1
    return b, int(below[b])


def plan_mix(
    sources: Sequence[SourceConfig],
    available: Mapping[str, tuple[int, int]],
    histograms: Mapping[str, np.ndarray],
    total_tokens: int | None,
    max_epochs: float = 4.0,
) -> tuple[dict[str, SourceTarget], list[str]]:
    """Each source's target and copy rule, and the warnings a person should read.

    ``available``: source -> (documents, tokens); ``histograms``: source -> tokens per
    sampling bucket. Sources missing from both kept nothing. A source repeated more than
    ``max_epochs`` times gets a warning: its documents would be seen that often in training
    (PanGu's most repeated source, its public datasets, went in 3.65 times).
    """
    warnings: list[str] = []
    by_weight = any(source.weight is not None for source in sources)
    epochs: dict[str, float] = {}
    weights: dict[str, float] = {}
    if by_weight:
        if total_tokens is None:
            raise ValueError("a mix given by weights needs a total number of tokens")
        # Divided by the largest first: weights of 1e308 must not add up to inf.
        largest = max((float(source.weight or 0.0) for source in sources), default=0.0) or 1.0
        asked = {source.name: float(source.weight or 0.0) / largest for source in sources}
        total_asked = sum(asked.values())
        empty = [name for name, weight in asked.items() if weight > 0 and available.get(name, (0, 0))[1] == 0]
        for name in empty:
            warnings.append(
                f"source {name} has weight {asked[name] * largest:g} but kept no tokens: its share goes to the others"
            )
        usable = {name: weight for name, weight in asked.items() if name not in empty}
        usable_sum = sum(usable.values())
        if usable_sum <= 0:
            warnings.append("no source with a weight above 0 kept any tokens: the training mix is empty")
        elif not math.isclose(total_asked * largest, 1.0, abs_tol=1e-6):
            warnings.append(f"the sources' weights add up to {total_asked * largest:.6g}, not 1: renormalised")
        for name, weight in usable.items():
            weights[name] = weight / usable_sum if usable_sum > 0 else 0.0
            tokens = available.get(name, (0, 0))[1]
            epochs[name] = (weights[name] * total_tokens / tokens) if tokens else 0.0
        for name in empty:
            weights[name] = epochs[name] = 0.0
    else:
        for source in sources:
            epochs[source.name] = 1.0 if source.epochs is None else float(source.epochs)
        totals = {name: epochs[name] * available.get(name, (0, 0))[1] for name in epochs}
        grand = sum(totals.values())
        weights = {name: (total / grand if grand else 0.0) for name, total in totals.items()}
        for source in sources:
            if available.get(source.name, (0, 0))[1] == 0:
                warnings.append(f"source {source.name} kept no tokens: it is not in the shards")

    targets: dict[str, SourceTarget] = {}
    for source in sources:
        docs, tokens = available.get(source.name, (0, 0))
        source_epochs = epochs[source.name]
        if source_epochs > MAX_EPOCHS:
            raise ValueError(
                f"source {source.name} would go into the shards {source_epochs:,.0f} times ({tokens:,} tokens kept, "
                f"shards.tokens {total_tokens:,}): at most {MAX_EPOCHS:g}; lower shards.tokens or its weight"
            )
        target = source_epochs * tokens
        whole = math.floor(source_epochs)
        fraction_tokens = target - whole * tokens
        histogram = histograms.get(source.name)
        if histogram is None or fraction_tokens <= 0:
            extra_below, extra_tokens = 0, 0
        else:
            extra_below, extra_tokens = _threshold(histogram, fraction_tokens)
        targets[source.name] = SourceTarget(
            source=source.name,
            docs=docs,
            tokens=tokens,
            weight_asked=source.weight if by_weight else None,
            weight_target=weights[source.name],
            epochs_target=source_epochs,
            target_tokens=target,
            whole_copies=whole,
            extra_below=extra_below,
            tokens_taken=whole * tokens + extra_tokens,
        )
    for name, target in targets.items():
        if target.epochs_target > max_epochs and target.tokens:
            warnings.append(
                f"source {name} goes into the shards {target.epochs_target:.2f} times, over shards.max_epochs "
                f"{max_epochs:g}: its {target.docs:,} documents ({target.tokens:,} tokens) would be seen that often"
            )
    return targets, warnings
