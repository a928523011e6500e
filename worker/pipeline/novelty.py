"""Which fact units of an article its story does not hold yet, and is that material."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from worker.models import FactUnit, Sentence

__all__ = ["NovelSentence", "Novelty", "assess", "is_new"]

QUOTE_NEW_SHARE = 0.5  # a quote is new when at least half its content words are


@dataclass(frozen=True, slots=True)
class NovelSentence:
    """A sentence of the article that carries at least one new fact unit."""

    sentence: Sentence
    new_units: tuple[FactUnit, ...]


@dataclass(frozen=True, slots=True)
class Novelty:
    """The novelty verdict for one article against its story."""

    score: float  # share of the article's fact weight that is new, 0..1
    new_weight: float
    total_weight: float
    sentences: tuple[NovelSentence, ...]

    def is_development(self, *, min_new_weight: float, min_novelty: float) -> bool:
        return self.new_weight >= min_new_weight and self.score >= min_novelty


def is_new(unit: FactUnit, known: set[str]) -> bool:
    """A unit is new when the story lacks it in every wording (keys are folded variants)."""
    missing = sum(1 for k in unit.keys if k not in known)
    if unit.kind == "quote":
        return missing >= QUOTE_NEW_SHARE * len(unit.keys)
    return missing > 0


def assess(sentences: Iterable[Sentence], known: set[str]) -> Novelty:
    """Compare an article's sentences with the keys its story already holds.

    Each distinct unit counts once however often the article repeats it.
    """
    seen: dict[tuple[str, tuple[str, ...]], bool] = {}
    new_weight = total_weight = 0.0
    novel: list[NovelSentence] = []
    for s in sentences:
        fresh = []
        for u in s.units:
            ident = (u.kind, u.keys)
            if ident not in seen:
                seen[ident] = is_new(u, known)
                total_weight += u.weight
                if seen[ident]:
                    new_weight += u.weight
                    fresh.append(u)
        if fresh:
            novel.append(NovelSentence(s, tuple(fresh)))
    score = new_weight / total_weight if total_weight else 0.0
    return Novelty(round(score, 4), new_weight, total_weight, tuple(novel))
