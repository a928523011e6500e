"""Story choice: weigh the evidence that an article reports the same event as a candidate story.

Candidates come from the salient-term LSH. Each is scored on four pieces of evidence, combined
by a logistic model into the probability that the article belongs to that story:

- `cosine`: TF-IDF cosine of the article and the story centroid (all content words);
- `names`: the same cosine over names and numbers only. Two earthquakes, two product launches or
  two title fights share their vocabulary; they differ in who, where and how many;
- `numbers`, `dates`: the share of the article's number and date fact keys the story already
  holds (0.5 when the article has none). The same event repeats its figures and its day.

The weights were fitted on ECB+ (43 topics, each with two real events of the same kind: the hard
negatives) and are stable across halves of its topics; docs/design.md tells how, and
bench/ecbplus.py measures them on held-out topics. Only the document frequencies are learned
from the stream.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from worker.pipeline.salience import Weigher, cosine

__all__ = [
    "BIAS",
    "WEIGHTS",
    "Candidate",
    "Evidence",
    "Match",
    "best_story",
    "evidence",
    "evidence_keys",
    "fact_keys",
    "join_probability",
    "merge_terms",
    "names_vector",
    "share_known",
]

STORY_TERMS_CAP = 400  # terms kept per story centroid: bounds row size on long-running stories
_EVIDENCE_PREFIXES = ("n:", "d:")  # number and date fact keys (worker/pipeline/facts.py)
MIN_COSINE = 0.08  # below this a candidate is not worth weighing

# Logistic weights of the evidence and the bias; `python bench/fit_matching.py` fits them.
WEIGHTS = {"cosine": 2.48, "names": 15.69, "numbers": 3.06, "dates": 1.86}
BIAS = -7.70


@dataclass(frozen=True, slots=True)
class Candidate:
    """A candidate story: its centroid term counts and which of the article's fact keys it holds."""

    story_id: str
    terms: Mapping[str, int]
    known_keys: frozenset[str]
    in_storyline: bool = False  # the story belongs to the storyline the article belongs to


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the article and one candidate story have in common (each in [0, 1])."""

    cosine: float
    names: float
    numbers: float
    dates: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(getattr(self, k), 4) for k in WEIGHTS}


@dataclass(frozen=True, slots=True)
class Match:
    """The best candidate story and the probability that the article belongs to it.

    story_id is None when no candidate reached the threshold; `evidence` is the best candidate's.
    """

    story_id: str | None
    probability: float
    evidence: Evidence | None = None


def names_vector(vec: Mapping[str, float]) -> dict[str, float]:
    """The names-and-numbers part of a TF-IDF vector (terms marked `=`), L2-normalised."""
    part = {t: v for t, v in vec.items() if t.startswith("=")}
    norm = math.sqrt(sum(v * v for v in part.values())) or 1.0
    return {t: v / norm for t, v in part.items()}


def join_probability(
    e: Evidence, model: tuple[Mapping[str, float], float] | None = None, *, bonus: float = 0.0
) -> float:
    """The logistic model: probability that the article reports the candidate story's event.

    `model` is (weights, bias), for fitting; the fitted WEIGHTS and BIAS by default. `bonus`
    is added to the log-odds (a candidate in the article's storyline).
    """
    weights, bias = model or (WEIGHTS, BIAS)
    z = bias + bonus + sum(w * getattr(e, k) for k, w in weights.items())
    return 1.0 / (1.0 + math.exp(-z))


def evidence_keys(vocabulary: Iterable[str]) -> frozenset[str]:
    """The fact keys the evidence compares: numbers and dates (names are in the cosines)."""
    return frozenset(k for k in vocabulary if k.startswith(_EVIDENCE_PREFIXES))


def share_known(keys: frozenset[str], known: frozenset[str]) -> float:
    """The share of `keys` that `known` holds (0.5 when there are none: no evidence)."""
    return len(keys & known) / len(keys) if keys else 0.5


def evidence(
    vec: Mapping[str, float],
    names: Mapping[str, float],
    vocabulary: Iterable[str],
    candidate: Candidate,
    story_vec: Mapping[str, float],
) -> Evidence:
    """The evidence for one candidate; `story_vec` is its centroid weighted like the article."""
    numbers, dates = fact_keys(vocabulary)
    return _evidence(cosine(vec, story_vec), names, numbers, dates, candidate, story_vec)


def fact_keys(vocabulary: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The article's number keys and date keys, which the evidence compares."""
    keys = evidence_keys(vocabulary)
    return (
        frozenset(k for k in keys if k.startswith("n:")),
        frozenset(k for k in keys if k.startswith("d:")),
    )


def _evidence(
    similarity: float,
    names: Mapping[str, float],
    numbers: frozenset[str],
    dates: frozenset[str],
    candidate: Candidate,
    story_vec: Mapping[str, float],
) -> Evidence:
    return Evidence(
        cosine=similarity,
        names=cosine(names, names_vector(story_vec)),
        numbers=share_known(numbers, candidate.known_keys),
        dates=share_known(dates, candidate.known_keys),
    )


def best_story(
    vec: Mapping[str, float],
    vocabulary: Iterable[str],
    candidates: Iterable[Candidate],
    df: Mapping[str, int],
    n_docs: int,
    min_probability: float,
    model: tuple[Mapping[str, float], float] | None = None,
    storyline_bonus: float = 0.0,
) -> Match:
    """The candidate most likely to be the article's story, if likely enough.

    A candidate in the article's storyline (who and where agree over time) does not hold the
    article's new figures and dates against it: a development brings them. Its number and date
    evidence is at least neutral, and its log-odds gain `storyline_bonus`.
    Ties go to the story id that sorts first, so the choice never depends on input order.
    """
    names = names_vector(vec)
    numbers, dates = fact_keys(vocabulary)  # once per article, not per candidate
    weigher = Weigher(df, n_docs)
    best: tuple[float, str, Evidence] | None = None
    for c in sorted(candidates, key=lambda c: c.story_id):
        similarity, names_similarity = weigher.similarities(c.terms, vec, names)
        if similarity < MIN_COSINE:
            continue
        e = Evidence(
            cosine=similarity,
            names=names_similarity,
            numbers=share_known(numbers, c.known_keys),
            dates=share_known(dates, c.known_keys),
        )
        if c.in_storyline:
            e = Evidence(e.cosine, e.names, max(e.numbers, 0.5), max(e.dates, 0.5))
        p = join_probability(e, model, bonus=storyline_bonus if c.in_storyline else 0.0)
        if best is None or p > best[0]:
            best = (p, c.story_id, e)
    if best is None:
        return Match(None, 0.0)
    p, story_id, e = best
    return Match(story_id if p >= min_probability else None, round(p, 4), e)


def merge_terms(
    story_terms: Mapping[str, int], article_terms: Mapping[str, int], cap: int = STORY_TERMS_CAP
) -> dict[str, int]:
    """Add an article's term counts to its story's, keeping the `cap` most frequent terms."""
    merged = Counter(story_terms)
    merged.update(article_terms)
    if len(merged) <= cap:
        return dict(merged)
    top = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:cap]
    return dict(top)
