"""The pure parts of bench/storylines.py do what they claim (hand-computed examples)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.novelty import iso, load_stream, to_day
from bench.storylines import (
    START,
    align,
    bcubed,
    figures,
    single_pass,
    tfidf_vectors,
    topic_gaps,
)

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
GOLD = {"a": "X", "b": "X", "c": "X", "d": "Y", "e": "Y"}


def test_bcubed_hand_computed_mixed_clustering() -> None:
    # Given clusters {a, b}, {c, d}, {e} over topics X = {a, b, c}, Y = {d, e}
    pred = {"a": "1", "b": "1", "c": "2", "d": "2", "e": "3"}
    # When scored
    p, r, f = bcubed(pred, GOLD)
    # Then precision (1 + 1 + 1/2 + 1/2 + 1) / 5, recall (2/3 + 2/3 + 1/3 + 1/2 + 1/2) / 5
    assert p == pytest.approx(0.8)
    assert r == pytest.approx(8 / 15)
    assert f == pytest.approx(2 * 0.8 * (8 / 15) / (0.8 + 8 / 15))


def test_bcubed_all_in_one_and_all_singletons() -> None:
    # all in one cluster: recall 1, precision the share of each item's topic in the whole
    p, r, f = bcubed(dict.fromkeys(GOLD, "one"), GOLD)
    assert (p, r) == pytest.approx((3 / 5 * 3 / 5 + 2 / 5 * 2 / 5, 1.0))
    assert f == pytest.approx(2 * p / (p + 1))
    # all singletons: precision 1, recall 1 / (size of the item's topic)
    p, r, _ = bcubed({d: d for d in GOLD}, GOLD)
    assert (p, r) == pytest.approx((1.0, (3 * 1 / 3 + 2 * 1 / 2) / 5))
    # the gold clustering itself
    assert bcubed(GOLD, GOLD) == pytest.approx((1.0, 1.0, 1.0))


def test_figures_count_clusters_singletons_and_mixed_ones() -> None:
    gold = [GOLD[k] for k in "abcde"]
    f = figures([1, 1, 2, 2, 3], gold)
    assert (f["P"], f["R"]) == (0.8, 0.5333)
    assert (f["clusters"], f["singletons"], f["largest"], f["mixed_clusters"]) == (3, 1, 2, 1)
    assert f["clusters_per_topic"] == {"X": 2, "Y": 2}


def test_align_starts_every_topic_on_one_day_and_keeps_outlets_offsets() -> None:
    # Given two outlets of topic A (the second starting 3 days later) and one of topic B
    streams = {
        "A_y": [("1", 103, "a y one")],
        "A_x": [("1", 100, "a x one"), ("2", 105, "a x two")],
        "B_z": [("9", 500, "b one"), ("8", 520, "b two")],
    }
    # When aligned on day 10
    items = align(streams, start=10)
    # Then both topics start on day 10, A_y keeps its 3 days on A_x, B keeps its 20-day gap
    assert [(it.stream, it.uid, it.day) for it in items] == [
        ("A_x", "1", 10),
        ("B_z", "9", 10),  # same day: ordered by stream name
        ("A_y", "1", 13),
        ("A_x", "2", 15),
        ("B_z", "8", 30),
    ]
    assert [it.topic for it in items] == ["A", "B", "A", "A", "B"]
    assert items[0].origin != items[2].origin  # uid "1" in both outlets
    gaps = topic_gaps(items, window_days=10)
    assert gaps["A"] | {"last": None} == {
        "streams": 2,
        "articles": 3,
        "last": None,
        "span_days": 5,
        "max_gap_days": 3,
        "max_gap_after_day": 0,
        "gaps_over_window": 0,
    }
    assert (gaps["B"]["max_gap_days"], gaps["B"]["gaps_over_window"]) == (20, 1)
    assert iso(START) == "2020-01-01"


VOLCANO = [
    "volcano eruption lava ash plume iceland flights grounded",
    "iceland volcano ash cloud flights cancelled eruption continues",
    "eruption volcano lava iceland ash airspace closed flights",
]
ELECTION = [
    "election ballot votes parliament candidate turnout counted",
    "parliament election candidate votes coalition ballot recount",
    "votes counted election turnout candidate parliament coalition",
]


def test_single_pass_keeps_two_clear_topics_apart() -> None:
    # Given two topics interleaved day by day
    texts = [t for pair in zip(VOLCANO, ELECTION, strict=True) for t in pair]
    vectors = tfidf_vectors(texts)
    # When clustered
    labels = single_pass(vectors, list(range(len(texts))), threshold=0.2)
    # Then each topic is one cluster of its own
    assert labels[0::2] == [labels[0]] * 3
    assert labels[1::2] == [labels[1]] * 3
    assert labels[0] != labels[1]
    # and a threshold no cosine reaches leaves every article alone
    assert len(set(single_pass(vectors, list(range(6)), threshold=1.01))) == 6


def test_single_pass_window_closes_a_cluster() -> None:
    vectors = tfidf_vectors(VOLCANO)
    # 30 days after the newest member an article still joins, 31 days after it does not
    assert single_pass(vectors, [0, 10, 40], threshold=0.2, window_days=30) == [0, 0, 0]
    assert single_pass(vectors, [0, 10, 41], threshold=0.2, window_days=30) == [0, 0, 1]


def test_tfidf_vectors_are_unit_online_and_capped() -> None:
    vectors = tfidf_vectors(["lava lava ash", "lava flights", ""], max_terms=1)
    assert vectors[0] == {"lava": pytest.approx(1.0)}  # the heaviest term only
    # online IDF: "flights" is new in the second article, "lava" is not: flights weighs more
    assert list(vectors[1]) == ["flights"]
    assert vectors[2] == {}
    full = tfidf_vectors(["lava lava ash", "lava flights"], max_terms=0)[1]
    assert full["flights"] > full["lava"]
    assert sum(x * x for x in full.values()) == pytest.approx(1.0)


@pytest.mark.skipif(
    not (DATASETS / "timeline17").is_dir(),
    reason=f"Timeline17 not found at {DATASETS / 'timeline17'} (../shared/datasets)",
)
def test_timeline17_topics_start_together_and_outlets_stay_aligned() -> None:
    names = ["bpoil_bbc", "bpoil_foxnews", "haiti_bbc"]
    streams = {n: load_stream(DATASETS, n, 3).articles for n in names}
    items = align(streams)
    first = {n: min(it.day for it in items if it.stream == n) for n in names}
    assert first["haiti_bbc"] == first["bpoil_foxnews"] == START  # Fox's first: 2010-04-01
    assert first["bpoil_bbc"] - START == to_day("2010-04-06") - to_day("2010-04-01")
