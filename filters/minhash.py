"""The arithmetic of deduplication: normalised text, exact keys, shingles, MinHash, LSH bands.

Pure functions on strings and numpy arrays, no Beam; ``filters/dedup.py`` puts them in a
graph.

- ``normalise``: every character that is not a letter or a digit (white space,
  punctuation, symbols, controls, ``_``) removed, then NFKC (full-width forms to ASCII; the
  check is skipped for text already in NFKC, which is most Chinese text once punctuation is
  gone: 4x faster than NFKC first), then lower case. Two documents that differ only in
  spacing, punctuation, full-width forms or case have the same normalised text, so the same
  exact key and the same shingles.
- Shingles: character n-grams of the normalised text (default 5, the usual choice for
  Chinese, where a character is roughly a morpheme). A normalised text shorter than n is
  one shingle, itself.
- ``shingle_hash64``: each shingle is hashed by Horner's rule over its code points
  (multiplier ``_MULTIPLIER``, arithmetic modulo 2**64) followed by the MurmurHash3 64-bit
  finaliser. It is written twice: as plain Python for one string (the definition, and the
  ``hashfunc`` handed to datasketch in tests) and vectorised over every window of a text
  with numpy (the fast path). Tests prove the two agree and that the signatures equal
  datasketch's.
- MinHash: datasketch 2.x's default scheme, ``affine32``: the 32-bit input hash (here the
  low 32 bits of ``shingle_hash64``) is mixed by the MurmurHash3 32-bit finaliser, then each
  permutation k maps it to ``a_k * h + b_k mod 2**32``; the signature is the minimum per
  permutation. The permutations are datasketch's own, drawn from ``numpy.random.RandomState
  (seed)`` by datasketch itself, so "the same seed" means the same thing in both.
- Bands and rows: ``lsh_params`` minimises the weighted sum of the false positive and false
  negative probabilities (the integrals of the LSH S-curve below and above the threshold),
  the construction of Leskovec, Rajaraman and Ullman's *Mining of Massive Datasets* ch. 3.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from functools import cache

import numpy as np

_NOT_WORD = re.compile(r"[\W_]+")
_MASK64 = (1 << 64) - 1
_MULTIPLIER = 0x9E3779B97F4A7C15  # 2**64 / golden ratio, odd: a standard multiplicative constant
_FMIX64 = (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33)
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)
_CHUNK_ROWS = 2048  # shingles per block of the permutation step: 2048 x 128 x 4 B = 1 MiB, cache-sized


def normalise(text: str) -> str:
    """The text that exact and near duplicates are judged on (see the module docstring)."""
    words = _NOT_WORD.sub("", text)
    if not unicodedata.is_normalized("NFKC", words):
        words = _NOT_WORD.sub("", unicodedata.normalize("NFKC", words))  # NFKC can make symbols: ½ -> 1⁄2
    return words.lower()


def exact_key(normalised: str) -> bytes:
    """16-byte BLAKE2b of the normalised text: equal keys mean equal normalised texts."""
    return hashlib.blake2b(normalised.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def shingles(normalised: str, ngram: int) -> list[str]:
    """The character n-grams, in order, repeats included (the reference, for tests)."""
    if len(normalised) <= ngram:
        return [normalised] if normalised else []
    return [normalised[i : i + ngram] for i in range(len(normalised) - ngram + 1)]


def _fmix64_int(value: int) -> int:
    s1, m1, s2, m2, s3 = _FMIX64
    value ^= value >> s1
    value = (value * m1) & _MASK64
    value ^= value >> s2
    value = (value * m2) & _MASK64
    return value ^ (value >> s3)


def shingle_hash64(shingle: str) -> int:
    """The 64-bit hash of one shingle: the definition the vectorised path must equal."""
    value = 0
    for char in shingle:
        value = (value * _MULTIPLIER + ord(char) + 1) & _MASK64
    return _fmix64_int(value)


def shingle_hash32(shingle: str) -> int:
    """The 32-bit input hash of MinHash: a ``hashfunc`` for ``datasketch.MinHash``."""
    return shingle_hash64(shingle) & 0xFFFFFFFF


def _fmix(values: np.ndarray, constants: tuple[int, int, int, int, int]) -> np.ndarray:
    s1, m1, s2, m2, s3 = (values.dtype.type(c) for c in constants)
    values = values ^ (values >> s1)
    values *= m1
    values ^= values >> s2
    values *= m2
    values ^= values >> s3
    return values


def shingle_hashes64(normalised: str, ngram: int) -> np.ndarray:
    """``shingle_hash64`` of every shingle of the text, in order (uint64), vectorised."""
    if not normalised:
        return np.empty(0, dtype=np.uint64)
    points = np.frombuffer(normalised.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    width = min(ngram, len(points))
    count = len(points) - width + 1
    values = np.zeros(count, dtype=np.uint64)
    multiplier = np.uint64(_MULTIPLIER)
    one = np.uint64(1)
    for offset in range(width):
        values *= multiplier
        values += points[offset : offset + count]
        values += one
    return _fmix(values, _FMIX64)


def shingle_set(normalised: str, ngram: int) -> np.ndarray:
    """The sorted distinct 64-bit shingle hashes: the set that exact Jaccard is taken on."""
    return np.unique(shingle_hashes64(normalised, ngram))


def minhash_set(normalised: str, ngram: int) -> np.ndarray:
    """The sorted distinct 32-bit shingle hashes (uint32): the set whose Jaccard the
    MinHash signature estimates (``shingle_hash32``), and which verification measures
    exactly. Half the bytes of ``shingle_set``; two texts' sets differ from their 64-bit
    ones only where 32-bit hashes collide (for two sets of 5,000 shingles, about 0.006
    spurious common hashes on average)."""
    return np.unique(shingle_hashes64(normalised, ngram).astype(np.uint32))


def jaccard(first: np.ndarray, second: np.ndarray) -> float:
    """Jaccard similarity of two sorted distinct hash arrays (``shingle_set`` or
    ``minhash_set``)."""
    if len(first) == 0 and len(second) == 0:
        return 1.0
    common = len(np.intersect1d(first, second, assume_unique=True))
    return common / (len(first) + len(second) - common)


@cache
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return np.ascontiguousarray(a, dtype=np.uint32), np.ascontiguousarray(b, dtype=np.uint32)


class MinHasher:
    """MinHash signatures of texts, equal to datasketch's ``affine32`` MinHash with
    ``hashfunc=shingle_hash32`` and the same ``num_perm`` and ``seed``."""

    def __init__(self, num_perm: int = 128, seed: int = 1, ngram: int = 5) -> None:
        self.num_perm = num_perm
        self.seed = seed
        self.ngram = ngram
        self._a, self._b = _permutations(num_perm, seed)
        self._block = np.empty((_CHUNK_ROWS, num_perm), dtype=np.uint32)

    def signature_of_hashes(self, hashes64: np.ndarray) -> np.ndarray:
        """The signature (uint32, ``num_perm`` values) of a set given by its 64-bit shingle
        hashes; an empty set gives datasketch's empty signature (all 2**32 - 1)."""
        signature = np.full(self.num_perm, 0xFFFFFFFF, dtype=np.uint32)
        if len(hashes64) == 0:
            return signature
        mixed = _fmix((hashes64 & np.uint64(0xFFFFFFFF)).astype(np.uint32), _FMIX32)
        for start in range(0, len(mixed), _CHUNK_ROWS):
            part = mixed[start : start + _CHUNK_ROWS, None]
            block = self._block[: len(part)]
            np.multiply(part, self._a, out=block)  # uint32: wraps modulo 2**32, as in datasketch
            block += self._b
            np.minimum(signature, block.min(axis=0), out=signature)
        return signature

    def signature(self, normalised: str) -> np.ndarray:
        return self.signature_of_hashes(shingle_hashes64(normalised, self.ngram))


def band_keys(signature: np.ndarray, bands: int, rows: int) -> Iterator[tuple[int, bytes]]:
    """``(band index, the band's values as bytes)``: equal keys make two documents
    candidates. Values past ``bands * rows`` are not used."""
    for band in range(bands):
        yield band, signature[band * rows : (band + 1) * rows].tobytes()


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """P(two sets of this Jaccard similarity share at least one band): the S-curve."""
    return 1.0 - (1.0 - similarity**rows) ** bands


def _integral(function: np.ndarray, grid: np.ndarray) -> float:
    return float(np.trapezoid(function, grid))


def lsh_params(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """``(bands, rows)`` with ``bands * rows <= num_perm`` minimising
    ``fp_weight * ∫_0^t P(s) ds + fn_weight * ∫_t^1 (1 - P(s)) ds``.

    The integrals are taken numerically on a fine grid (4,001 points each side), which
    agrees with adaptive quadrature to far better than the gaps between choices.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    below = np.linspace(0.0, threshold, 4001)
    above = np.linspace(threshold, 1.0, 4001)
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            false_positive = _integral(1.0 - (1.0 - below**rows) ** bands, below)
            false_negative = _integral((1.0 - above**rows) ** bands, above)
            error = false_positive_weight * false_positive + false_negative_weight * false_negative
            if best is None or error < best[0]:
                best = (error, bands, rows)
    assert best is not None
    return best[1], best[2]
