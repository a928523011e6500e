"""Fit the storyline matcher's evidence weights, and measure them on held-out topics.

Usage: python bench/fit_storylines.py [--datasets PATH] [--window-days 21] [--json]

1. Every Timeline17 article (16 streams, 8 topics) is analysed once by the real pipeline; the
   topics' dates are shifted to a common start and the streams merged (Libya, Syria, Egypt
   and Iraq then run side by side; bpoil comes from five outlets, H1N1 from three).
2. "Oracle storylines": the merged stream arrives in date order, document frequencies are
   learned online, and each article is weighed against every gold topic seen so far whose
   last article is within the window: one row of evidence (`cosine`, `names` of
   worker/pipeline/storylines.py) per live topic, labelled same topic or not. ECB+ adds its
   hard negatives: each document against its topic's two events (a different event of the
   same kind is a different storyline).
3. A logistic regression is fitted to the rows (bench/fit_matching.py `fit`).
4. Held out: fit on half of the Timeline17 topics (and half of ECB+'s), then cluster the other
   half's merged stream single-pass with the fitted model and score BCubed F1 against its
   topics at several thresholds; and the other way round.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ecbplus import DEFAULT_DATASETS, bcubed, load  # noqa: E402
from bench.fit_matching import fit  # noqa: E402
from bench.novelty import iso, load_stream  # noqa: E402
from worker.models import Document  # noqa: E402
from worker.pipeline import extract  # noqa: E402
from worker.pipeline.analysis import analyse, to_article  # noqa: E402
from worker.pipeline.fingerprint import Signer  # noqa: E402
from worker.pipeline.matching import merge_terms, names_vector  # noqa: E402
from worker.pipeline.salience import Weigher, weigh  # noqa: E402

FEATURES = ["cosine", "names"]
STREAMS = (
    "bpoil_bbc", "bpoil_foxnews", "bpoil_guardian", "bpoil_reuters", "bpoil_washingtonpost",
    "EgyptianProtest_cnn", "H1N1_bbc", "H1N1_guardian", "H1N1_reuters", "haiti_bbc",
    "IraqWar_guardian", "LibyaWar_cnn", "LibyaWar_reuters", "MJ_bbc", "SyrianCrisis_bbc",
    "SyrianCrisis_reuters",
)  # fmt: skip
START = dt.date(2020, 1, 1).toordinal()
Item = tuple[str, str, int, dict[str, int]]  # (id, topic, day, term counts)


def merged_stream(datasets: Path, limit: int | None = None) -> list[Item]:
    """Every Timeline17 article, analysed, each topic's days shifted to start on START."""
    config, signer = extract.make_config(), Signer(128, 1)
    per_topic: dict[str, list[tuple[str, str, int, str]]] = {}
    for name in STREAMS:
        topic = name.split("_", 1)[0]
        for i, (uid, day, prose) in enumerate(load_stream(datasets, name, limit).articles):
            per_topic.setdefault(topic, []).append((f"{name}:{i}:{uid}", name, day, prose))
    items: list[tuple[int, str, int, str, str, dict[str, int]]] = []
    for topic, arts in per_topic.items():
        shift = START - min(day for _, _, day, _ in arts)
        for n, (uid, name, day, prose) in enumerate(arts):
            doc = Document(uid, prose, "text", published_at=iso(day), source=name)
            article = to_article(doc, min_chars=40, extract_config=config)
            terms = dict(analyse(article, signer).terms)
            items.append((day + shift, name, n, uid, topic, terms))
    items.sort(key=lambda x: (x[0], x[1], x[2]))
    return [(uid, topic, day, terms) for day, _, _, uid, topic, terms in items]


def ecb_items(datasets: Path) -> list[Item]:
    """ECB+ documents as undated items (day 0), labelled by event (subtopic)."""
    text, gold = load(datasets)
    config, signer = extract.make_config(), Signer(128, 1)
    out = []
    for name in sorted(text):
        a = analyse(to_article(text[name], min_chars=40, extract_config=config), signer)
        out.append((name, gold[name], 0, dict(a.terms)))
    return out


def oracle_rows(items: Iterable[Item], window: int) -> list[tuple[list[float], int]]:
    """(features, label) of each item against every live gold cluster so far."""
    df: Counter[str] = Counter()
    centroid: dict[str, dict[str, int]] = {}
    last: dict[str, int] = {}
    rows = []
    for n, (_, label, day, terms) in enumerate(items):
        vec = weigh(terms, df, n)
        names, weigher = names_vector(vec), Weigher(df, n)
        for c, t in centroid.items():
            if day - last[c] > window:
                continue
            similarity, name_similarity = weigher.similarities(t, vec, names)
            rows.append(([similarity, name_similarity], int(c == label)))
        centroid[label] = merge_terms(centroid.get(label, {}), terms)
        last[label] = day
        df.update(terms.keys())
    return rows


def cluster(
    items: list[Item], model: tuple[dict[str, float], float], threshold: float, window: int
) -> dict[str, str]:
    """Single-pass storylines: each item joins the likeliest live cluster if likely enough."""
    weights, bias = model
    df: Counter[str] = Counter()
    centroid: dict[str, dict[str, int]] = {}
    last: dict[str, int] = {}
    pred = {}
    for n, (uid, _, day, terms) in enumerate(items):
        vec = weigh(terms, df, n)
        names, weigher = names_vector(vec), Weigher(df, n)
        best, best_p = None, 0.0
        for c, t in centroid.items():
            if day - last[c] > window:
                continue
            s, ns = weigher.similarities(t, vec, names)
            p = 1 / (1 + math.exp(-(bias + weights["cosine"] * s + weights["names"] * ns)))
            if p > best_p:
                best, best_p = c, p
        c = best if best is not None and best_p >= threshold else uid
        centroid[c] = merge_terms(centroid.get(c, {}), terms)
        last[c] = day
        pred[uid] = c
        df.update(terms.keys())
    return pred


def halves(items: list[Item]) -> tuple[list[Item], list[Item]]:
    labels = sorted({x[1] for x in items})
    even = set(labels[0::2])
    return [x for x in items if x[1] in even], [x for x in items if x[1] not in even]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    ap.add_argument("--window-days", type=int, default=21)
    ap.add_argument("--limit", type=int, default=None, help="articles per stream (quick runs)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    t17 = merged_stream(args.datasets, args.limit)
    ecb = ecb_items(args.datasets)
    w = args.window_days
    # ECB+ topics pair two events: the halves split by topic (number before "_")
    ecb_topics = sorted({x[1].split("_")[0] for x in ecb}, key=int)
    ecb_a = set(ecb_topics[0::2])
    report: dict[str, object] = {"window_days": w, "articles": len(t17), "ecb_docs": len(ecb)}
    folds = []
    a, b = halves(t17)
    for name, train, test, ecb_train in (
        ("fit A, score B", a, b, [x for x in ecb if x[1].split("_")[0] in ecb_a]),
        ("fit B, score A", b, a, [x for x in ecb if x[1].split("_")[0] not in ecb_a]),
    ):
        model = fit(oracle_rows(train, w) + oracle_rows(ecb_train, w), features=FEATURES)
        gold = {uid: topic for uid, topic, _, _ in test}
        scores = {}
        for threshold in (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5):
            p, r, f = bcubed(cluster(test, model, threshold, w), gold)
            scores[threshold] = {"p": round(p, 3), "r": round(r, 3), "f1": round(f, 3)}
        folds.append({"fold": name, "model": model, "bcubed": scores})
    report["held_out"] = folds
    report["fitted_all"] = fit(oracle_rows(t17, w) + oracle_rows(ecb, w), features=FEATURES)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"merged Timeline17: {len(t17)} articles; ECB+ {len(ecb)} docs; window {w} days")
    for f in folds:
        print(f"{f['fold']}: weights {f['model'][0]} bias {f['model'][1]}")
        for t, s in f["bcubed"].items():
            print(f"  threshold {t:<5} BCubed P {s['p']:.3f} R {s['r']:.3f} F1 {s['f1']:.3f}")
    print(f"fitted on everything: {report['fitted_all']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
