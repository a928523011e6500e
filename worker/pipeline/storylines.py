"""Storyline choice: which developing topic an article belongs to, over weeks.

A storyline gathers the stories of one topic ("the 2010 Haiti earthquake"). Its centroid is
the capped term counts of every article it holds; an article is weighed against the
storylines of the stories its salient-term LSH bands hit (so the cost does not grow with the
number of storylines stored), on two pieces of evidence:

- `cosine`: TF-IDF cosine of the article and the storyline centroid;
- `names`: the same over names and numbers only: who and where.

Figures and dates are not evidence here: a development brings new ones. A storyline only takes
articles within its window (worker/pipeline/timing.py), which is weeks where a story's is days.
The weights are the story matcher's for the same two signals, with the bias lowered by the
neutral share of the figure and date evidence the story model gives an article that has none;
the threshold `storyline_min_probability` is measured on the merged Timeline17 stream
(bench/storylines.py), where Libya, Syria, Egypt and Iraq run side by side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from worker.pipeline.matching import BIAS, WEIGHTS, names_vector
from worker.pipeline.salience import Weigher

__all__ = [
    "STORYLINE_BIAS",
    "STORYLINE_WEIGHTS",
    "StorylineMatch",
    "best_storyline",
    "storyline_probability",
]

STORYLINE_WEIGHTS = {"cosine": WEIGHTS["cosine"], "names": WEIGHTS["names"]}
STORYLINE_BIAS = BIAS + 0.5 * (WEIGHTS["numbers"] + WEIGHTS["dates"])
MIN_COSINE = 0.05


@dataclass(frozen=True, slots=True)
class StorylineMatch:
    """The best candidate storyline (None: none reached the threshold) and its evidence."""

    storyline_id: str | None
    probability: float
    cosine: float = 0.0
    names: float = 0.0


def storyline_probability(similarity: float, names: float) -> float:
    """The logistic model of the two signals."""
    z = STORYLINE_BIAS + STORYLINE_WEIGHTS["cosine"] * similarity
    z += STORYLINE_WEIGHTS["names"] * names
    return 1.0 / (1.0 + math.exp(-z))


def best_storyline(
    vec: Mapping[str, float],
    candidates: Iterable[tuple[str, Mapping[str, int]]],
    df: Mapping[str, int],
    n_docs: int,
    min_probability: float,
) -> StorylineMatch:
    """The candidate `(storyline_id, centroid terms)` most likely to be the article's topic.

    Ties go to the id that sorts first, so the choice never depends on input order.
    """
    names = names_vector(vec)
    weigher = Weigher(df, n_docs)
    best: StorylineMatch | None = None
    for storyline_id, terms in sorted(candidates, key=lambda c: c[0]):
        similarity, names_similarity = weigher.similarities(terms, vec, names)
        if similarity < MIN_COSINE:
            continue
        p = storyline_probability(similarity, names_similarity)
        if best is None or p > best.probability:
            best = StorylineMatch(storyline_id, p, similarity, names_similarity)
    if best is None:
        return StorylineMatch(None, 0.0)
    chosen = best.storyline_id if best.probability >= min_probability else None
    return StorylineMatch(chosen, round(best.probability, 4), best.cosine, best.names)
