"""Fit the story matcher's evidence weights on ECB+, and measure them on held-out topics.

Usage: python bench/fit_matching.py [--datasets PATH] [--orders 2] [--json]

1. Every ECB+ document is analysed once by the real pipeline (text cleaning, fact units, terms).
2. "Oracle streams": the documents arrive in a seeded shuffle; document frequencies are learned
   online as in production; each document is compared with the gold stories seen so far (its
   ten most similar by cosine, like the LSH candidates), giving one row of evidence
   (worker/pipeline/matching.py `evidence`) per candidate, labelled same event or not.
3. A logistic regression (Newton's method, numpy, light L2) is fitted to the rows.
4. Cross-validation by topic: fit on the even topics and cluster the odd topics' stream with
   `best_story` (in memory, same code as the pipeline), then the other way round. This is the
   honest figure: the clustered topics were never seen by the fit.
5. The weights fitted on all topics are printed for worker/pipeline/matching.py.
6. `--pipeline`: the same cross-validation through the real pipeline, story review included
   (bench/ecbplus.py's run): weights fitted and `review_max_cut` chosen on one half of the
   topics, the other half's stream clustered and scored; nothing of the scored topics is seen.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ecbplus import DEFAULT_DATASETS, bcubed, load  # noqa: E402
from worker.pipeline import extract  # noqa: E402
from worker.pipeline.analysis import analyse, to_article  # noqa: E402
from worker.pipeline.fingerprint import Signer  # noqa: E402
from worker.pipeline.matching import (  # noqa: E402
    BIAS,
    MIN_COSINE,
    WEIGHTS,
    Candidate,
    best_story,
    evidence,
    merge_terms,
    names_vector,
)
from worker.pipeline.salience import cosine, weigh  # noqa: E402

FEATURES = list(WEIGHTS)
CANDIDATES = 10
Doc = tuple[dict[str, int], frozenset[str]]  # term counts, fact-key vocabulary


def analysed(datasets: Path) -> tuple[dict[str, Doc], dict[str, str]]:
    text, gold = load(datasets)
    signer, config = Signer(128, 1), extract.make_config()
    docs = {}
    for name, doc in text.items():
        a = analyse(to_article(doc, min_chars=40, extract_config=config), signer)
        docs[name] = (dict(a.terms), frozenset(a.vocabulary))
    return docs, gold


def oracle_rows(order: list[str], docs: dict[str, Doc], gold: dict[str, str]) -> list[tuple]:
    """(features, label) for each document against its most similar gold stories so far."""
    df: Counter[str] = Counter()
    stories: dict[str, dict[str, int]] = {}
    keys: dict[str, set[str]] = defaultdict(set)
    rows = []
    for n, name in enumerate(order):
        terms, vocab = docs[name]
        vec = weigh(terms, df, n)
        names = names_vector(vec)
        weighted = {sid: weigh(t, df, n) for sid, t in stories.items()}
        ranked = sorted(((cosine(vec, v), sid) for sid, v in weighted.items()), reverse=True)
        for sim, sid in ranked[:CANDIDATES]:
            if sim < MIN_COSINE:
                break
            c = Candidate(sid, stories[sid], frozenset(keys[sid] & vocab))
            e = evidence(vec, names, vocab, c, weighted[sid])
            rows.append(([getattr(e, f) for f in FEATURES], int(sid == gold[name])))
        g = gold[name]
        stories[g] = merge_terms(stories.get(g, {}), terms)
        keys[g] |= vocab
        df.update(terms.keys())
    return rows


def fit(
    rows: list[tuple], l2: float = 1e-3, features: list[str] = FEATURES
) -> tuple[dict[str, float], float]:
    """Logistic regression by Newton's method; returns (weights by feature, bias)."""
    x = np.array([[1.0, *r[0]] for r in rows])
    y = np.array([r[1] for r in rows], dtype=float)
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        grad = x.T @ (p - y) + l2 * np.r_[0.0, w[1:]]
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return {f: round(float(v), 3) for f, v in zip(features, w[1:], strict=True)}, round(
        float(w[0]), 3
    )


def cluster(order: list[str], docs: dict[str, Doc], model: tuple, threshold: float) -> dict:
    """Single-pass clustering with the pipeline's best_story, all stories as candidates."""
    df: Counter[str] = Counter()
    stories: dict[str, dict[str, int]] = {}
    keys: dict[str, set[str]] = defaultdict(set)
    pred = {}
    for n, name in enumerate(order):
        terms, vocab = docs[name]
        vec = weigh(terms, df, n)
        ranked = sorted(
            ((cosine(vec, weigh(t, df, n)), sid) for sid, t in stories.items()), reverse=True
        )[:CANDIDATES]
        cands = [Candidate(sid, stories[sid], frozenset(keys[sid] & vocab)) for _, sid in ranked]
        m = best_story(vec, vocab, cands, dict(df), n, threshold, model)
        sid = m.story_id or name
        stories[sid] = merge_terms(stories.get(sid, {}), terms)
        keys[sid] |= vocab
        pred[name] = sid
        df.update(terms.keys())
    return pred


def pipeline_held_out(
    datasets: Path, docs: dict[str, Doc], gold: dict[str, str], cuts: list[float], orders: int
) -> list[dict[str, object]]:
    """Per fold: weights fitted and the review cut chosen on one half of the topics, then the
    other half's stream run through the real pipeline with them (with and without review)."""
    from bench.ecbplus import run_wirewatch  # the pipeline run, stories read at the end
    from worker.config import Settings
    from worker.pipeline import matching

    text, _ = load(datasets)
    halves = [[d for d in docs if int(gold[d].split("_")[0]) % 2 == r] for r in (0, 1)]
    seeds = range(orders)

    def f1(names: list[str], cut: float) -> list[tuple[float, float, float]]:
        settings = Settings(db_path=":memory:", review_max_cut=cut)
        part = {d: gold[d] for d in names}
        return [bcubed(run_wirewatch(shuffled(names, s), text, settings)[0], part) for s in seeds]

    folds = []
    in_use = (matching.WEIGHTS, matching.BIAS)
    try:
        for i, test in enumerate(halves):
            train = halves[1 - i]
            weights, bias = fit(
                [r for s in seeds for r in oracle_rows(shuffled(train, s), docs, gold)]
            )
            matching.WEIGHTS, matching.BIAS = weights, bias  # the model join_probability reads
            on_train = {c: statistics.mean(x[2] for x in f1(train, c)) for c in cuts}
            cut = max(cuts, key=lambda c: on_train[c])
            for label, c in (("no review", 0.0), ("review", cut)):
                scores = f1(test, c)
                folds.append({
                    "scored_on": "even topics" if i == 0 else "odd topics",
                    "system": label, "review_max_cut": c, "weights": weights, "bias": bias,
                    "f1": statistics.mean(x[2] for x in scores),
                    "precision": statistics.mean(x[0] for x in scores),
                    "recall": statistics.mean(x[1] for x in scores),
                })  # fmt: skip
    finally:
        matching.WEIGHTS, matching.BIAS = in_use
    return folds


def shuffled(names: list[str], seed: int) -> list[str]:
    order = sorted(names)
    random.Random(seed).shuffle(order)
    return order


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    ap.add_argument("--orders", type=int, default=2, help="seeded shuffles per fit and per test")
    ap.add_argument("--thresholds", default="0.15,0.2,0.25")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--pipeline",
        action="store_true",
        help="only the held-out figure through the real pipeline, story review included",
    )
    ap.add_argument("--cuts", default="0.4,0.5,0.55,0.6,0.7", help="review_max_cut values")
    args = ap.parse_args()
    docs, gold = analysed(args.datasets)
    if args.pipeline:
        cuts = [float(c) for c in args.cuts.split(",")]
        folds = pipeline_held_out(args.datasets, docs, gold, cuts, args.orders)
        if args.json:
            print(json.dumps(folds, indent=2))
            return
        print(f"held out through the pipeline ({args.orders} orders per fold):")
        for f in folds:
            print(
                f"  {f['scored_on']:<12} {f['system']:<9} cut={f['review_max_cut']:<5} "
                f"F1 {f['f1']:.4f}  P {f['precision']:.4f}  R {f['recall']:.4f}"
            )
        for system in ("no review", "review"):
            mean = statistics.mean(float(f["f1"]) for f in folds if f["system"] == system)
            print(f"  mean of the two halves, {system}: F1 {mean:.4f}")
        return
    thresholds = [float(t) for t in args.thresholds.split(",")]
    halves = [[d for d in docs if int(gold[d].split("_")[0]) % 2 == r] for r in (0, 1)]
    seeds = range(args.orders)
    scores: dict[str, dict[float, list]] = defaultdict(lambda: defaultdict(list))
    folds = []
    for i, test in enumerate(halves):
        rows = [r for s in seeds for r in oracle_rows(shuffled(halves[1 - i], s), docs, gold)]
        model = fit(rows)
        folds.append({"fit_on": "odd topics" if i == 0 else "even topics", "weights": model})
        tgold = {d: gold[d] for d in test}
        for th in thresholds:
            for s in seeds:
                scores["held-out"][th].append(
                    bcubed(cluster(shuffled(test, s), docs, model, th), tgold)
                )
                cosine_only = ({"cosine": 1.0}, -th)  # p >= 0.5 <=> cosine >= th
                scores["cosine only"][th].append(
                    bcubed(cluster(shuffled(test, s), docs, cosine_only, 0.5), tgold)
                )
    rows = [r for s in seeds for r in oracle_rows(shuffled(list(docs), s), docs, gold)]
    final = fit(rows)
    out = {
        "docs": len(docs),
        "rows": len(rows),
        "folds": folds,
        "fitted_on_all_topics": {"weights": final[0], "bias": final[1]},
        "in_use": {"weights": WEIGHTS, "bias": BIAS},
        "results": [
            {
                "system": system,
                "threshold": th,
                "f1": round(statistics.mean(x[2] for x in v), 4),
                "precision": round(statistics.mean(x[0] for x in v), 4),
                "recall": round(statistics.mean(x[1] for x in v), 4),
            }
            for system, by_th in scores.items()
            for th, v in by_th.items()
        ],
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"ECB+ matcher fit: {out['docs']} docs, {out['rows']} candidate rows, {args.orders} orders"
    )
    for f in folds:
        print(f"  fit on {f['fit_on']}: {f['weights']}")
    print(f"  fit on all topics: {final}\n  in use: {WEIGHTS}, bias {BIAS}")
    print("held-out BCubed (cluster the topics the fit did not see; cosine-only threshold = th):")
    for r in out["results"]:
        print(
            f"  {r['system']:<12} th={r['threshold']:<5} F1 {r['f1']:.4f}  "
            f"P {r['precision']:.4f}  R {r['recall']:.4f}"
        )


if __name__ == "__main__":
    main()
