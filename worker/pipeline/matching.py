"""Story choice: verify LSH candidates against each story's TF-IDF centroid."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from worker.pipeline.salience import cosine, weigh

__all__ = ["Match", "best_story", "merge_terms"]

STORY_TERMS_CAP = 400  # terms kept per story centroid: bounds row size on long-running stories


@dataclass(frozen=True, slots=True)
class Match:
    """The best candidate story and how similar it is (story_id None: no candidate passed)."""

    story_id: str | None
    similarity: float


def best_story(
    vec: Mapping[str, float],
    stories: Mapping[str, Mapping[str, int]],
    df: Mapping[str, int],
    n_docs: int,
    min_similarity: float,
) -> Match:
    """The candidate story whose centroid is most similar to the article, if similar enough.

    Ties go to the story id that sorts first, so the choice never depends on dict order.
    """
    scored = sorted((-cosine(vec, weigh(terms, df, n_docs)), sid) for sid, terms in stories.items())
    if not scored:
        return Match(None, 0.0)
    sim, story_id = -scored[0][0], scored[0][1]
    return Match(story_id if sim >= min_similarity else None, round(sim, 4))


def merge_terms(story_terms: Mapping[str, int], article_terms: Mapping[str, int]) -> dict[str, int]:
    """Add an article's term counts to its story's, keeping the most frequent terms."""
    merged = Counter(story_terms)
    merged.update(article_terms)
    if len(merged) <= STORY_TERMS_CAP:
        return dict(merged)
    top = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:STORY_TERMS_CAP]
    return dict(top)
