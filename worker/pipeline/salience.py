"""Salient terms: TF-IDF with document frequencies learned online from the stream."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping

from worker.models import Sentence
from worker.pipeline.text import STOPWORDS, words

__all__ = [
    "Weigher",
    "cosine",
    "inverse_document_frequency",
    "salient_terms",
    "term_counts",
    "weigh",
]

NAME_BOOST = 1.5  # names, places and numbers tell two same-type events apart (ECB+ hard negatives)


def term_counts(
    sentences: Iterable[Sentence], sentence_words: Iterable[list[str]] | None = None
) -> Counter[str]:
    """Content-word counts of an article; names and numbers are marked with a leading `=`.

    `sentence_words`: `words(s.text)` of each sentence, when the caller has them already.
    """
    sentences = list(sentences)
    if sentence_words is None:
        sentence_words = [words(s.text) for s in sentences]
    counts: Counter[str] = Counter()
    unit_words: dict[str, list[str]] = {}  # an article repeats its names: tokenise each once
    for s, tokens in zip(sentences, sentence_words, strict=True):
        names = set()
        for u in s.units:
            if u.kind in ("entity", "number"):
                ws = unit_words.get(u.text)
                if ws is None:
                    ws = unit_words[u.text] = words(u.text)
                names.update(ws)
        for w in tokens:
            if w in STOPWORDS or (len(w) < 3 and not w.isdigit()):
                continue
            counts["=" + w if w in names else w] += 1
    return counts


def weigh(tf: Mapping[str, int], df: Mapping[str, int], n_docs: int) -> dict[str, float]:
    """L2-normalised TF-IDF vector; terms never seen before get the rarest weight."""
    return Weigher(df, n_docs)(tf)


def inverse_document_frequency(df: int, n_docs: int) -> float:
    """Smoothed IDF of a term held by `df` of `n_docs` documents (what `Weigher` uses)."""
    return math.log((1 + n_docs) / (1 + df)) + 1.0


class Weigher:
    """`weigh` for many vectors under one IDF: each term's IDF is computed once (the candidate
    stories of one article share most of their terms)."""

    def __init__(self, df: Mapping[str, int], n_docs: int):
        self.df, self.n_docs = df, n_docs
        self._term_weight: dict[str, float] = {}

    def __call__(self, tf: Mapping[str, int]) -> dict[str, float]:
        known, log, vec = self._term_weight, math.log, {}
        for term, count in tf.items():
            w = known.get(term)
            if w is None:
                idf = log((1 + self.n_docs) / (1 + self.df.get(term, 0))) + 1.0
                w = known[term] = idf * (NAME_BOOST if term.startswith("=") else 1.0)
            vec[term] = (1.0 + log(count)) * w if count != 1 else w
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}

    def similarities(
        self, tf: Mapping[str, int], vec: Mapping[str, float], names: Mapping[str, float]
    ) -> tuple[float, float]:
        """`cosine(vec, self(tf))` and the same over names and numbers only (`names` is the
        article's `=` part, L2-normalised), in one pass and without building either vector."""
        known, log = self._term_weight, math.log
        n_docs, df = self.n_docs, self.df
        squares = name_squares = dot = name_dot = 0.0
        for term, count in tf.items():
            w = known.get(term)
            if w is None:
                idf = log((1 + n_docs) / (1 + df.get(term, 0))) + 1.0
                w = known[term] = idf * (NAME_BOOST if term.startswith("=") else 1.0)
            v = (1.0 + log(count)) * w if count != 1 else w
            squares += v * v
            a = vec.get(term)
            if a is not None:
                dot += a * v
            if term.startswith("="):
                name_squares += v * v
                b = names.get(term)
                if b is not None:
                    name_dot += b * v
        return dot / (math.sqrt(squares) or 1.0), name_dot / (math.sqrt(name_squares) or 1.0)


def salient_terms(vec: Mapping[str, float], k: int) -> list[str]:
    """The k heaviest terms (ties broken alphabetically, so the choice is deterministic)."""
    return [t for t, _ in sorted(vec.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Dot product of two L2-normalised sparse vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())
