"""Story review: does a grown story hold two events? If so, which articles are the second one.

A streaming matcher decides with what it has seen. When the first report of an event meets a
single report of another event of the same kind (two Klitschko title fights, two Internet
Explorer zero-days), the four pieces of evidence of worker/pipeline/matching.py often cannot
tell them apart, and the story then attracts both. With a dozen articles the two events are
plain to see: each article is close to the reports of its own event and far from the others.

`second_event` looks for that shape. Every pair of members is weighed with the matcher's own
evidence model (the probability that two articles report the same event); the members are cut
in two along the graph's Fiedler vector (spectral bisection), at the cut with the lowest
normalised cut. When that cut is low enough (`max_cut`) and both sides have `min_group`
articles, the side without the story's first article is the second event. Only the document
frequencies come from the stream, as for matching; docs/design.md tells how `max_cut` was
chosen on ECB+.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from worker.pipeline.matching import (
    Evidence,
    fact_keys,
    join_probability,
    names_vector,
    share_known,
)
from worker.pipeline.salience import Weigher, cosine

__all__ = ["REVIEW_SIZES", "Member", "Verdict", "pair_probabilities", "second_event"]

# story sizes at which a story is reviewed: about geometric, so a story of n articles costs
# O(n) article reviews in all; beyond the last, a story is established and is not reviewed
REVIEW_SIZES = frozenset({4, 6, 8, 11, 16, 23, 32, 45, 64})


@dataclass(frozen=True, slots=True)
class Member:
    """One article of a story: its term counts and its number and date fact keys."""

    article_id: str
    terms: Mapping[str, int]
    keys: frozenset[str]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The best two-way cut of a story: `moved` is empty when the story is one event."""

    cut: float  # normalised cut of the best bisection (0: two disconnected groups)
    moved: tuple[str, ...]  # the second event's articles, in story order


def pair_probabilities(members: Sequence[Member], df: Mapping[str, int], n_docs: int) -> np.ndarray:
    """Symmetric matrix of the probability that two members report the same event (the
    matcher's model, each article in turn playing the story), zero on the diagonal."""
    weigher = Weigher(df, n_docs)
    vecs = [weigher(m.terms) for m in members]
    names = [names_vector(v) for v in vecs]
    split = [fact_keys(m.keys) for m in members]  # (numbers, dates) of each member
    n = len(members)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            sim, name_sim = cosine(vecs[i], vecs[j]), cosine(names[i], names[j])
            p = 0.0
            for a, b in ((i, j), (j, i)):
                e = Evidence(
                    cosine=sim,
                    names=name_sim,
                    numbers=share_known(split[a][0], members[b].keys),
                    dates=share_known(split[a][1], members[b].keys),
                )
                p += join_probability(e) / 2
            out[i, j] = out[j, i] = p
    return out


def _bisect(weights: np.ndarray) -> tuple[float, np.ndarray]:
    """The lowest normalised cut along the Fiedler vector, and the side of member 0."""
    degree = weights.sum(axis=1) + 1e-9
    scale = 1.0 / np.sqrt(degree)
    laplacian = np.eye(len(weights)) - weights * np.outer(scale, scale)
    _, vectors = np.linalg.eigh(laplacian)
    order = np.argsort(vectors[:, 1] * scale, kind="stable")
    best_cut, best_k = math.inf, 1
    for k in range(1, len(order)):
        left, right = order[:k], order[k:]
        across = weights[np.ix_(left, right)].sum()
        cut = across / degree[left].sum() + across / degree[right].sum()
        if cut < best_cut:
            best_cut, best_k = cut, k
    side = np.zeros(len(weights), dtype=bool)
    side[order[:best_k]] = True
    if not side[0]:
        side = ~side
    return float(best_cut), side


def second_event(
    members: Sequence[Member],
    df: Mapping[str, int],
    n_docs: int,
    *,
    max_cut: float,
    min_group: int,
) -> Verdict:
    """Review a story (members in story order): the articles of a second event, if any."""
    if len(members) < 2 * min_group:
        return Verdict(math.inf, ())
    cut, founders = _bisect(pair_probabilities(members, df, n_docs))
    others = [m.article_id for m, first in zip(members, founders, strict=True) if not first]
    if cut > max_cut or min(len(others), len(members) - len(others)) < min_group:
        return Verdict(round(cut, 4), ())
    return Verdict(round(cut, 4), tuple(others))
