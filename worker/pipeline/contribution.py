"""What a stored article gave its story, recomputed from its stored text: its term counts
(its share of the story's centroid) and its fact keys. Operator corrections use it to move
an article's share from one story to another (worker/store/operator_*.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from worker.models import Article
from worker.pipeline.facts import article_sentences, vocabulary
from worker.pipeline.salience import term_counts

__all__ = ["contribution", "without_terms"]


def contribution(text: str) -> tuple[dict[str, int], frozenset[str]]:
    """Term counts and fact keys of an article's stored text, as `analyse` computed them."""
    sentences = article_sentences(Article(text).paragraphs)
    return dict(term_counts(sentences)), frozenset(vocabulary(sentences))


def without_terms(
    story_terms: Mapping[str, int], article_terms: Mapping[str, int]
) -> dict[str, int]:
    """A story's centroid with an article's counts taken out (terms that fall to 0 go)."""
    left = Counter(story_terms)
    left.subtract(article_terms)
    return {t: n for t, n in left.items() if n > 0}
