"""Zyte article-extraction benchmark: data loading and the scoring of its `evaluate.py`.

Reimplements scrapinghub/article-extraction-benchmark `evaluate.py` without the bootstrap.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "PageCounts",
    "Scores",
    "load_baseline_output",
    "load_ground_truth",
    "load_html",
    "page_counts",
    "score",
    "tokenize",
]

# same flags as evaluate.py; only re.UNICODE changes what `\w+` matches (and it is the default)
_TOKEN_RE = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)
NGRAM_N = 4


@dataclass(frozen=True, slots=True)
class PageCounts:
    """Shingle TP/FP/FN of one page, normalised by their sum, plus exact token match."""

    tp: float
    fp: float
    fn: float
    exact: bool


@dataclass(frozen=True, slots=True)
class Scores:
    """Benchmark figures over a set of pages: P and R averaged over pages, F1 from the averages."""

    f1: float
    precision: float
    recall: float
    accuracy: float
    pages: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "f1": self.f1,
            "precision": self.precision,
            "recall": self.recall,
            "accuracy": self.accuracy,
            "pages": self.pages,
        }


def tokenize(text: str | None) -> list[str]:
    return _TOKEN_RE.findall(text or "")


def _shingles(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    # a text shorter than n tokens is one short shingle; an empty text has none
    return Counter(
        shingle for i in range(max(1, len(tokens) - n + 1)) if (shingle := tuple(tokens[i : i + n]))
    )


def page_counts(true: str | None, pred: str | None, n: int = NGRAM_N) -> PageCounts:
    """Compare one prediction with its gold text (`string_shingle_matching` + `get_accuracy`)."""
    true_tokens, pred_tokens = tokenize(true), tokenize(pred)
    true_sh, pred_sh = _shingles(true_tokens, n), _shingles(pred_tokens, n)
    tp = float(sum((true_sh & pred_sh).values()))
    fp = float(sum((pred_sh - true_sh).values()))
    fn = float(sum((true_sh - pred_sh).values()))
    total = tp + fp + fn
    if total > 0:
        tp, fp, fn = tp / total, fp / total, fn / total
    return PageCounts(tp, fp, fn, true_tokens == pred_tokens)


def _precision(c: PageCounts) -> float:
    if c.fp == c.fn == 0:
        return 1.0
    if c.tp == c.fp == 0:
        return 0.0
    return c.tp / (c.tp + c.fp)


def _recall(c: PageCounts) -> float:
    if c.fp == c.fn == 0:
        return 1.0
    if c.tp == c.fn == 0:
        return 0.0
    return c.tp / (c.tp + c.fn)


def score(pairs: Iterable[tuple[str | None, str | None]]) -> Scores:
    """Score (gold, predicted) text pairs; a None or empty prediction counts as empty output."""
    counts = [page_counts(true, pred) for true, pred in pairs]
    if not counts:
        raise ValueError("score() needs at least one (gold, predicted) pair")
    # like evaluate.py: pages with nothing predicted have no precision, pages with no gold no recall
    precision = statistics.mean([_precision(c) for c in counts if c.tp + c.fp > 0] or [0.0])
    recall = statistics.mean([_recall(c) for c in counts if c.tp + c.fn > 0] or [0.0])
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = statistics.mean(float(c.exact) for c in counts)
    return Scores(f1, precision, recall, accuracy, len(counts))


def load_ground_truth(zyte_dir: Path) -> dict[str, str]:
    """Page id -> gold article body, in the file's order."""
    with (zyte_dir / "ground-truth.json").open(encoding="utf-8") as f:
        items: Mapping[str, Mapping[str, Any]] = json.load(f)
    return {page_id: item.get("articleBody") or "" for page_id, item in items.items()}


def load_html(zyte_dir: Path, page_id: str) -> str:
    with gzip.open(zyte_dir / "html" / f"{page_id}.html.gz", "rt", encoding="utf-8") as f:
        return f.read()


def load_baseline_output(path: Path) -> dict[str, str | None]:
    """Page id -> a reference extractor's output; accepts both layouts of `output/<name>.json`."""
    with path.open(encoding="utf-8") as f:
        data: Mapping[str, Any] = json.load(f)
    items: Mapping[str, Mapping[str, Any]] = data.get("output", data)
    return {page_id: item.get("articleBody") for page_id, item in items.items()}
