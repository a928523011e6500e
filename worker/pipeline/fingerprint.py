"""MinHash signatures (datasketch, xxhash, shared permutations) and their LSH band keys."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import xxhash
from datasketch import LeanMinHash, MinHash, MinHashLSH

__all__ = ["Signer", "band_keys", "estimate_jaccard", "lsh_params", "shingles"]

_SCHEME = "affine32"  # datasketch 2.0's default; pinned so stored signatures stay comparable


# ~4x faster than datasketch's default sha1 and ~75% of signature cost (BRIEF); passed as is,
# since a Python wrapper would add a call per shingle
_xxh32 = xxhash.xxh32_intdigest
# update_batch builds a (shingles x num_perm) matrix, and a few temporaries of that size:
# 1.6 M shingles (a 10 MB text) took 2 GB at once. Batches of this many keep it to ~10 MB.
_BATCH = 4096


class Signer:
    """Builds MinHash signatures; permutations are generated once and shared (~0.2 ms each)."""

    def __init__(self, num_perm: int, seed: int):
        proto = MinHash(num_perm=num_perm, seed=seed, hashfunc=_xxh32, scheme=_SCHEME)
        self.num_perm = num_perm
        self.seed = seed
        self._permutations = proto.permutations

    def sign(self, items: Iterable[str]) -> np.ndarray:
        """Signature of a set of strings as a uint32 array of `num_perm` values."""
        m = MinHash(
            num_perm=self.num_perm,
            seed=self.seed,
            hashfunc=_xxh32,
            permutations=self._permutations,
            scheme=_SCHEME,
        )
        encoded = [s.encode("utf-8") for s in set(items)]
        for i in range(0, len(encoded), _BATCH):  # the minimum over batches is the same
            m.update_batch(encoded[i : i + _BATCH])
        return np.asarray(LeanMinHash(m).hashvalues, dtype=np.uint32)


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) that datasketch's MinHashLSH picks for this threshold and size."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def band_keys(signature: np.ndarray, bands: int, rows: int, tag: bytes) -> list[int]:
    """One signed 64-bit key per band; `tag` keeps different signatures' bands apart."""
    keys = []
    for i in range(bands):
        chunk = signature[i * rows : (i + 1) * rows].tobytes()
        v = xxhash.xxh64_intdigest(tag + i.to_bytes(2, "big") + chunk)
        keys.append(v - (1 << 64) if v >= 1 << 63 else v)  # SQLite integers are signed
    return keys


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Share of equal MinHash values: an unbiased estimate of the sets' Jaccard similarity."""
    return float(np.count_nonzero(a == b)) / len(a)


def shingles(words: list[str], k: int = 3) -> set[str]:
    """Word k-shingles; texts shorter than k words give their single joined text."""
    if len(words) < k:
        return {" ".join(words)} if words else set()
    grams = zip(*(words[i:] for i in range(k)), strict=False)  # k shifted views, to the shortest
    return {" ".join(gram) for gram in grams}
