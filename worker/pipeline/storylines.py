"""Storyline choice: which developing topic an article belongs to, over weeks.

A storyline gathers the stories of one topic ("the 2010 Haiti earthquake"). Its centroid is
the counts of the names and places (the `=` terms) of every article it holds, the 1,000 most
frequent kept: a topic of a thousand articles keeps the names that recur, not only the
commonest few. Continuity of a topic is continuity of who
and where: an article is weighed against the storylines of the stories its salient-term LSH
bands hit (so the cost does not grow with the number of storylines stored) by the TF-IDF
cosine of its names and places with the storyline's (`names`; figures are not names here). Figures, dates and the
vocabulary of the event's kind are not evidence here: a development brings new figures, and
two wars or two earthquakes share their words. A storyline only takes articles within its
window (worker/pipeline/timing.py), weeks where a story's is days.

Single-pass clustering splits a topic whose first articles disagree; `consolidate` merges a
young storyline into another whose centroid names agree with it when it reaches 2, 4, 8, ...
articles. Both thresholds are measured on the merged Timeline17 stream (bench/storylines.py),
where Libya, Syria, Egypt and Iraq run side by side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from worker.pipeline.matching import merge_terms
from worker.pipeline.salience import cosine, inverse_document_frequency

__all__ = [
    "STORYLINE_TERMS_CAP",
    "StorylineMatch",
    "best_storyline",
    "closest_storyline",
    "consolidation_due",
    "is_name",
    "merge_names",
    "storyline_share",
]

STORYLINE_TERMS_CAP = 1000
# a storyline is checked at 2, 4, 8 and 16 articles: a fragment of a topic is young; two grown
# storylines share the commonest names of the news ("US", "Obama") and are not merged
CONSOLIDATE_MAX = 16


def is_name(term: str) -> bool:
    """A name or place term (`=` marked, with a letter): figures are not names."""
    return term.startswith("=") and any(c.isalpha() for c in term[1:])


def storyline_share(story_terms: Mapping[str, int]) -> dict[str, int]:
    """What a story's centroid gives its storyline's: its names and places."""
    return {t: n for t, n in story_terms.items() if is_name(t)}


def merge_names(centroid: Mapping[str, int], article_terms: Mapping[str, int]) -> dict[str, int]:
    """A storyline centroid with an article's names and places added."""
    return merge_terms(centroid, storyline_share(article_terms), STORYLINE_TERMS_CAP)


@dataclass(frozen=True, slots=True)
class StorylineMatch:
    """The best candidate storyline (None: none reached the threshold) and its evidence."""

    storyline_id: str | None
    names: float = 0.0


def best_storyline(
    vec: Mapping[str, float],
    candidates: Iterable[tuple[str, Mapping[str, int]]],
    df: Mapping[str, int],
    n_docs: int,
    min_similarity: float,
) -> StorylineMatch:
    """The candidate `(storyline_id, centroid terms)` whose names agree most with the
    article's, if they agree at least `min_similarity`.

    Ties go to the id that sorts first, so the choice never depends on input order.
    """
    names = _normalised({t: v for t, v in vec.items() if is_name(t)})
    idf = _Idf(df, n_docs)
    best: StorylineMatch | None = None
    for storyline_id, terms in sorted(candidates, key=lambda c: c[0]):
        names_similarity = cosine(names, idf.linear(terms))
        if best is None or names_similarity > best.names:
            best = StorylineMatch(storyline_id, names_similarity)
    if best is None:
        return StorylineMatch(None)
    chosen = best.storyline_id if best.names >= min_similarity else None
    return StorylineMatch(chosen, round(best.names, 4))


def _normalised(vec: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {t: v / norm for t, v in vec.items()}


class _Idf:
    """A storyline centroid weighted linearly by its counts: a name in most of its articles
    outweighs one named once (the log-damped weights of an article would flatten them)."""

    def __init__(self, df: Mapping[str, int], n_docs: int):
        self.df, self.n_docs, self._idf = df, n_docs, {}

    def linear(self, terms: Mapping[str, int]) -> dict[str, float]:
        known, vec = self._idf, {}
        for term, count in terms.items():
            if not is_name(term):
                continue
            w = known.get(term)
            if w is None:
                w = known[term] = inverse_document_frequency(self.df.get(term, 0), self.n_docs)
            vec[term] = count * w
        return _normalised(vec)


def consolidation_due(article_count: int) -> bool:
    """Whether a storyline that now holds `article_count` articles is checked for a merge."""
    return 2 <= article_count <= CONSOLIDATE_MAX and article_count & (article_count - 1) == 0


def closest_storyline(
    terms: Mapping[str, int],
    candidates: Iterable[tuple[str, Mapping[str, int]]],
    df: Mapping[str, int],
    n_docs: int,
    min_similarity: float,
) -> tuple[str, float] | None:
    """The candidate storyline whose centroid names agree most with `terms` (a storyline's
    centroid), if at least `min_similarity`: the two are one topic."""
    match = best_storyline(_Idf(df, n_docs).linear(terms), candidates, df, n_docs, min_similarity)
    return None if match.storyline_id is None else (match.storyline_id, match.names)
