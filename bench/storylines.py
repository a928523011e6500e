"""Storylines and stories of one merged news stream: all Timeline17 streams, scored against topics.

Usage: .venv/bin/python bench/storylines.py [--datasets PATH] [--limit N] [--streams A,B,C]
                                            [--now-is-published] [--baseline-terms N]
                                            [--skip-merged] [--skip-dense] [--json]

Merged: the 16 Timeline17 streams (8 topics: the stream name before "_"), each topic's dates
shifted so that every topic starts on 2020-01-01 (all outlets of a topic by the same offset, so
they stay aligned), merged in (date, stream, index) order and ingested into one fresh SQLite
store with `now` = the wall clock (an archive replay: the publication date carries the time;
--now-is-published: `now` = the publication date, a live-like replay). The final assignments,
read back from the store (a story review may move articles after their ingest), are scored with
item-level BCubed against the topics: storylines (developing topics) should match them; stories
(one event and its developments) should be pure but fragmented. Baseline, same articles, same
run: a single-pass TF-IDF centroid clustering (online IDF, 30-day window) swept over its
threshold; its best threshold is chosen on the scores themselves (an oracle: its best case).
Dense: each of --streams replayed alone into a fresh store: articles, stories, storylines.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import heapq
import json
import logging
import math
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: make `bench` and `worker` importable

from bench.ecbplus import bcubed  # noqa: E402
from bench.machine import machine_info  # noqa: E402
from bench.novelty import (  # noqa: E402
    DEFAULT_DATASETS,
    T17,
    Day,
    iso,
    load_stream,
    settings_from,
    to_day,
)
from worker.config import Settings  # noqa: E402
from worker.ingest import Pipeline  # noqa: E402
from worker.models import Document, IngestResult  # noqa: E402
from worker.pipeline.text import content_terms, words  # noqa: E402
from worker.store.sqlite import SqliteStore  # noqa: E402

START = to_day("2020-01-01")
WINDOW_DAYS = 30  # the baseline's cluster window, in days of stream time
# finer where the baseline peaks (0.05-0.15 on Timeline17)
THRESHOLDS = (0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6)
# an article's heaviest terms in the baseline (TDT-style; the pipeline signs 40): the sweep
# takes ~15 s, not ~60 s with all terms, for about the same best F1 (0.81 at 0.075 against
# 0.82 at 0.15 with all terms, `--baseline-terms 0`)
MAX_TERMS = 100
DENSE = ("haiti_bbc", "EgyptianProtest_cnn", "bpoil_bbc")
NO_STORYLINES = "the pipeline has no storylines yet: storylines below are its stories"


@dataclass(frozen=True, slots=True)
class Item:
    """One article of a (merged) stream, on its shifted day."""

    stream: str
    uid: str
    day: Day
    text: str

    @property
    def topic(self) -> str:
        return topic_of(self.stream)

    @property
    def origin(self) -> str:
        return f"{self.stream}/{self.uid}"  # Timeline17 uids repeat across streams


def topic_of(stream: str) -> str:
    """`bpoil_bbc` -> `bpoil`."""
    return stream.split("_", 1)[0]


# --------------------------------------------------------------------------- the merged stream


def align(streams: Mapping[str, Sequence[tuple[str, Day, str]]], start: Day = START) -> list[Item]:
    """The streams' (uid, day, text) articles, every topic shifted to begin on `start` (one
    offset per topic, so its outlets stay aligned), merged by (day, stream, index)."""
    first: dict[str, Day] = {}
    for name, articles in streams.items():
        for _, day, _ in articles:
            topic = topic_of(name)
            first[topic] = min(first.get(topic, day), day)
    keyed = []
    for name, articles in streams.items():
        for i, (uid, day, text) in enumerate(articles):
            shifted = day + start - first[topic_of(name)]
            keyed.append(((shifted, name, i), Item(name, uid, shifted, text)))
    keyed.sort(key=lambda k: k[0])
    return [item for _, item in keyed]


def topic_gaps(items: Iterable[Item], window_days: int = WINDOW_DAYS) -> dict[str, dict[str, Any]]:
    """Per topic: streams, articles, span, the largest gap between its article days (and the
    day after its start it opens on), and how many gaps are longer than `window_days`."""
    by_topic: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        by_topic[it.topic].append(it)
    out = {}
    for topic, its in sorted(by_topic.items()):
        d = sorted({it.day for it in its})
        gaps = [(b - a, a) for a, b in zip(d, d[1:], strict=False)]
        gap, at = max(gaps, key=lambda g: (g[0], -g[1]), default=(0, d[0]))  # ties: the first
        out[topic] = {
            "streams": len({it.stream for it in its}),
            "articles": len(its),
            "last": iso(d[-1]),
            "span_days": d[-1] - d[0],
            "max_gap_days": gap,
            "max_gap_after_day": at - d[0],
            "gaps_over_window": sum(g > window_days for g, _ in gaps),
        }
    return out


# --------------------------------------------------------------------------- the baseline


def tfidf_vectors(texts: Iterable[str], max_terms: int = MAX_TERMS) -> list[dict[str, float]]:
    """Unit TF-IDF vectors with online IDF: each article is weighed with the document
    frequencies of the articles before it, idf = ln((1 + n) / (1 + df)) + 1 (sklearn's smooth
    IDF), and keeps its `max_terms` heaviest terms (0: all). Terms are the pipeline's words
    minus stopwords and one-letter words."""
    df: Counter[str] = Counter()
    out = []
    for n, text in enumerate(texts):
        tf = Counter(content_terms(words(text)))
        v = {t: c * (math.log((1 + n) / (1 + df[t])) + 1.0) for t, c in tf.items()}
        if max_terms:
            v = dict(sorted(v.items(), key=lambda tx: (-tx[1], tx[0]))[:max_terms])
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        out.append({t: x / norm for t, x in v.items()})
        df.update(tf.keys())
    return out


def single_pass(
    vectors: Sequence[Mapping[str, float]], days: Sequence[Day], threshold: float,
    window_days: int = WINDOW_DAYS,
) -> list[int]:  # fmt: skip
    """A cluster number per vector, in stream order: each joins the open cluster whose centroid
    has the highest cosine when that is at least `threshold`, else it opens a new cluster.

    A centroid is the sum of its members' vectors, each as weighed when it arrived (so no
    weight is recomputed). A cluster whose newest member is more than `window_days` older than
    the article is closed: it takes no more articles.
    """
    postings: dict[str, dict[int, float]] = defaultdict(dict)  # term -> open cluster -> weight
    centroids: list[dict[str, float]] = []
    sq_norms: list[float] = []
    last: list[Day] = []
    expiry: list[tuple[Day, int]] = []  # (newest day, cluster); stale entries are skipped
    out = []
    for v, day in zip(vectors, days, strict=True):
        while expiry and expiry[0][0] < day - window_days:
            newest, c = heapq.heappop(expiry)
            if last[c] == newest:  # not updated since: close it
                for t in centroids[c]:
                    del postings[t][c]
                last[c] = -1  # closed: its other heap entries are stale
        dots: dict[int, float] = defaultdict(float)
        for t, x in v.items():
            for c, w in postings.get(t, {}).items():
                dots[c] += x * w
        best, best_cos = -1, threshold
        for c, dot in dots.items():
            cos = dot / math.sqrt(sq_norms[c])
            if cos > best_cos or (cos == best_cos and best < 0):
                best, best_cos = c, cos
        if best < 0:
            best = len(centroids)
            centroids.append({})
            sq_norms.append(0.0)
            last.append(day)
        sq_norms[best] += 2 * dots.get(best, 0.0) + sum(x * x for x in v.values())
        centroid = centroids[best]
        for t, x in v.items():
            centroid[t] = centroid.get(t, 0.0) + x
            postings[t][best] = centroid[t]
        last[best] = day
        heapq.heappush(expiry, (day, best))
        out.append(best)
    return out


# --------------------------------------------------------------------------- the pipeline


@dataclass
class Replay:
    story: list[str]  # final story per item ("rejected:<i>" for a rejected input)
    storyline: list[str]  # final storyline per item (its story when there are none)
    storyline_source: str
    missing: int  # accepted articles with no storyline (their story stands in)
    moved: int  # articles a story review moved after their ingest
    statuses: Counter[str]
    seconds: float


def final_assignments(db: sqlite3.Connection) -> tuple[dict[str, str], dict[str, str], str]:
    """Article id -> story, article id -> storyline (when the schema has them), and from where."""
    story = dict(db.execute("SELECT id, story_id FROM articles").fetchall())
    join = "articles a JOIN stories s ON s.id = a.story_id"
    for table, query in (
        ("stories", f"SELECT a.id, s.storyline_id FROM {join}"),
        ("articles", "SELECT id, storyline_id FROM articles"),
    ):
        if "storyline_id" in {r[1] for r in db.execute(f"PRAGMA table_info({table})")}:
            lines = {a: line for a, line in db.execute(query) if line is not None}
            return story, lines, f"{table}.storyline_id"
    return story, {}, "none"


def replay(
    items: Sequence[Item], *, now_is_published: bool = False, overrides: Sequence[str] = ()
) -> Replay:
    """Ingest the items in order into a fresh SQLite store; the final assignments."""
    with tempfile.TemporaryDirectory(prefix="ww-storylines-") as tmp:
        settings = dataclasses.replace(settings_from(list(overrides)), db_path=f"{tmp}/ww.db")
        pipeline = Pipeline(settings)
        store = pipeline.open_store()
        results: list[IngestResult] = []
        t0 = time.perf_counter()
        for it in items:
            published = iso(it.day)
            now = time.time()
            if now_is_published:
                now = dt.datetime.fromisoformat(published).replace(tzinfo=dt.UTC).timestamp()
            doc = Document(it.origin, it.text, "text", published_at=published, source=it.stream)
            results.append(pipeline.ingest(doc, store, now=now))
        seconds = time.perf_counter() - t0
        assert isinstance(store, SqliteStore)  # no redis_url: the SQLite file
        story_of, line_of, source = final_assignments(store.db)
        store.close()
    story, storyline, moved, missing = [], [], 0, 0
    for i, r in enumerate(results):
        if r.article_id is None:
            story.append(f"rejected:{i}")
            storyline.append(f"rejected:{i}")
            continue
        final = story_of.get(r.article_id, r.story_id or f"lost:{i}")
        moved += final != r.story_id
        story.append(final)
        line = line_of.get(r.article_id) or getattr(r, "storyline_id", None)
        missing += line is None
        storyline.append(line or final)  # no storyline: its story stands in
    accepted = sum(r.article_id is not None for r in results)
    if missing == accepted:
        source = "none"
    elif not line_of:
        source = "IngestResult.storyline_id (as ingested: the store holds none)"
    statuses = Counter(r.status for r in results)
    return Replay(story, storyline, source, missing, moved, statuses, seconds)


# --------------------------------------------------------------------------- figures


def figures(pred: Sequence[Any], gold: Sequence[str]) -> dict[str, Any]:
    """BCubed P/R/F1 of a clustering against the topics, and its clusters."""
    p, r, f = bcubed({i: str(c) for i, c in enumerate(pred)}, dict(enumerate(gold)))
    sizes = Counter(pred)
    topics_of: dict[Any, set[str]] = defaultdict(set)
    clusters_of: dict[str, set[Any]] = defaultdict(set)
    for c, t in zip(pred, gold, strict=True):
        topics_of[c].add(t)
        clusters_of[t].add(c)
    return {
        "P": round(p, 4),
        "R": round(r, 4),
        "F1": round(f, 4),
        "clusters": len(sizes),
        "singletons": sum(n == 1 for n in sizes.values()),
        "largest": max(sizes.values()),
        "mixed_clusters": sum(len(t) > 1 for t in topics_of.values()),
        "clusters_per_topic": {t: len(c) for t, c in sorted(clusters_of.items())},
    }


def merged(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    items = align({n: load_stream(args.datasets, n, args.limit).articles for n in names})
    gold = [it.topic for it in items]
    run = replay(items, now_is_published=args.now_is_published, overrides=args.set)
    t0 = time.perf_counter()
    vectors = tfidf_vectors((it.text for it in items), args.baseline_terms)
    days = [it.day for it in items]
    sweep = {th: figures(single_pass(vectors, days, th), gold) for th in THRESHOLDS}
    best = max(sweep, key=lambda th: sweep[th]["F1"])
    return {
        "articles": len(items),
        "streams": len(names),
        "start": iso(START),
        "topics": topic_gaps(items),
        "storyline_source": run.storyline_source,
        "note": NO_STORYLINES if run.storyline_source == "none" else None,
        "articles_without_storyline": run.missing,
        "assignments": "final: re-read from the store after the run",
        "moved_by_review": run.moved,
        "statuses": dict(run.statuses),
        "pipeline_seconds": round(run.seconds, 1),
        "storylines": figures(run.storyline, gold),
        "stories": figures(run.story, gold),
        "baseline": {
            "window_days": WINDOW_DAYS,
            "terms_per_article": args.baseline_terms or "all",
            "best_threshold": best,
            "best_is_oracle": True,  # chosen on the scores it is reported with
            "best": sweep[best],
            "sweep": {str(th): f for th, f in sweep.items()},
            "seconds": round(time.perf_counter() - t0, 1),
        },
    }


def dense(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        arts = load_stream(args.datasets, name, args.limit).articles
        run = replay(
            [Item(name, *a) for a in arts], now_is_published=args.now_is_published, overrides=args.set
        )
        sizes = Counter(s for s in run.story if not s.startswith("rejected:"))
        lines = {line for line, s in zip(run.storyline, run.story, strict=True) if s in sizes}
        out[name] = {
            "articles": len(arts),
            "rejected": run.statuses.get("rejected", 0),
            "stories": len(sizes),
            "storylines": None if run.storyline_source == "none" else len(lines),
            "one_article_stories": sum(n == 1 for n in sizes.values()),
            "largest_story": max(sizes.values(), default=0),
            "moved_by_review": run.moved,
            "seconds": round(run.seconds, 1),
        }
    return out


def _row(label: str, f: Mapping[str, Any]) -> str:
    return (
        f"  {label:<32} {f['P']:>6.3f} {f['R']:>6.3f} {f['F1']:>6.3f} {f['clusters']:>8}"
        f" {f['singletons']:>10} {f['largest']:>7} {f['mixed_clusters']:>6}"
    )


def _print(report: dict[str, Any]) -> None:
    if m := report.get("merged"):
        print(f"Timeline17 merged: {m['articles']} articles, {m['streams']} streams, "
              f"{len(m['topics'])} topics, each topic shifted to start {m['start']}; "
              f"now = {report['now']}")  # fmt: skip
        if m["note"]:
            print(f"  NOTE: {m['note']}")
        print(f"  storylines from {m['storyline_source']} "
              f"({m['articles_without_storyline']} articles without one)")  # fmt: skip
        print(f"  assignments {m['assignments']}")
        print(f"  a story review moved {m['moved_by_review']} articles; statuses {m['statuses']}; "
              f"pipeline {m['pipeline_seconds']} s\n")  # fmt: skip
        print(f"  {'topic':<16} streams articles  last (shifted)  span_d max_gap_d  after_d >30d")
        for t, g in m["topics"].items():
            print(f"  {t:<16} {g['streams']:>7} {g['articles']:>8}  {g['last']:>14} "
                  f"{g['span_days']:>7} {g['max_gap_days']:>9} {g['max_gap_after_day']:>8} "
                  f"{g['gaps_over_window']:>4}")  # fmt: skip
        b = m["baseline"]
        print(f"\n  {'BCubed vs the 8 topics':<32} {'P':>6} {'R':>6} {'F1':>6} {'clusters':>8}"
              f" {'singletons':>10} {'largest':>7} {'mixed':>6}")  # fmt: skip
        print(_row("wirewatch storylines", m["storylines"]))
        print(_row("wirewatch stories", m["stories"]))
        print(_row(f"baseline @{b['best_threshold']} (oracle best)", b["best"]))
        print(f"\n  baseline sweep: TF-IDF centroid, online IDF, {b['window_days']}-day window, "
              f"{b['terms_per_article']} terms an article ({b['seconds']} s)")  # fmt: skip
        for th, f in b["sweep"].items():
            print(_row(f"  threshold {th}", f))
        print("\n  clusters per topic: " + ", ".join(m["stories"]["clusters_per_topic"]))
        for label, f in (("storylines", m["storylines"]), ("stories", m["stories"]),
                         ("baseline", b["best"])):  # fmt: skip
            print(f"    {label:<11}" + "".join(f"{n:>7}" for n in f["clusters_per_topic"].values()))
    if d := report.get("dense"):
        print(f"\nDense streams, each alone in a fresh store (now = {report['now']}):")
        print(f"  {'stream':<22} articles rejected stories storylines one-article largest"
              "  moved seconds")  # fmt: skip
        for name, s in d.items():
            lines = "n/a" if s["storylines"] is None else s["storylines"]
            print(f"  {name:<22} {s['articles']:>8} {s['rejected']:>8} {s['stories']:>7} "
                  f"{lines:>10} {s['one_article_stories']:>11} {s['largest_story']:>7} "
                  f"{s['moved_by_review']:>6} {s['seconds']:>7}")  # fmt: skip
        if any(s["storylines"] is None for s in d.values()):
            print(f"  NOTE: {NO_STORYLINES} (n/a)")
    machine = report["machine"]
    print(f"\nwall {report['wall_seconds']} s; {machine['cpu']}, commit {machine['commit']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--limit", type=int, help="articles per stream (quick runs)")
    parser.add_argument("--streams", default=",".join(DENSE), help="dense streams, comma-separated")
    parser.add_argument("--now-is-published", action="store_true", help="now = publication date")
    parser.add_argument("--baseline-terms", type=int, default=MAX_TERMS, help="0: all terms")
    parser.add_argument("--skip-merged", action="store_true")
    parser.add_argument("--skip-dense", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the pipeline (repeatable)")
    args = parser.parse_args(argv)
    folder = args.datasets / T17
    names = sorted(p.parent.name for p in folder.glob("*/articles.json.gz"))
    if not names:
        raise SystemExit(f"Timeline17 not found at {folder}: pass --datasets PATH")
    dense_names = [s for s in args.streams.split(",") if s]
    if unknown := sorted(set(dense_names) - set(names)):
        raise SystemExit(f"--streams: no stream {', '.join(unknown)}; streams: {', '.join(names)}")
    logging.disable(logging.ERROR)  # rejections are counted, not logged
    wall0 = time.perf_counter()
    report: dict[str, Any] = {
        "machine": machine_info(),
        "command": "bench/storylines.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "limit": args.limit,
        "now": "publication date" if args.now_is_published else "wall clock",
    }
    if not args.skip_merged:
        report["merged"] = merged(args, names)
    if not args.skip_dense:
        report["dense"] = dense(args, dense_names)
    report["wall_seconds"] = round(time.perf_counter() - wall0, 1)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
