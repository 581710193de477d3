"""Stable hashing for ids, sharding, sampling and tie-breaks.

Python's ``hash()`` is salted per process and ``random`` depends on call order, so neither
may decide anything that ends up in an output. Everything goes through ``stable_hash``:
BLAKE2b of the seed and the parts, the same on every machine, runner and worker.
"""

from __future__ import annotations

import hashlib

_SEPARATOR = b"\x1f"  # the ASCII unit separator: cannot be confused with text in ids


def stable_hash(*parts: str | int, seed: int = 0) -> int:
    """A 64-bit unsigned hash of ``parts`` under ``seed``, identical on every runner."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(str(seed).encode())
    for part in parts:
        digest.update(_SEPARATOR)
        digest.update(str(part).encode("utf-8", "surrogatepass"))
    return int.from_bytes(digest.digest(), "big")


def stable_fraction(*parts: str | int, seed: int = 0) -> float:
    """A number in [0, 1) derived from ``parts`` and ``seed``: a seeded coin for sampling."""
    return stable_hash(*parts, seed=seed) / 2.0**64
