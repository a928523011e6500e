"""Story matching: centroid verification, term merging, and an ECB+ subset through the pipeline."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from worker.config import Settings
from worker.ingest import Pipeline
from worker.pipeline.matching import (
    STORY_TERMS_CAP,
    WEIGHTS,
    Candidate,
    Evidence,
    best_story,
    evidence,
    join_probability,
    merge_terms,
    names_vector,
)
from worker.pipeline.salience import Weigher, cosine, weigh

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _df(*docs: dict[str, int]) -> tuple[dict[str, int], int]:
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
    return dict(df), len(docs)


def _cands(stories: dict[str, dict[str, int]], known: dict[str, set[str]] | None = None):
    known = known or {}
    return [Candidate(sid, t, frozenset(known.get(sid, ()))) for sid, t in stories.items()]


def test_best_story_picks_the_story_sharing_names() -> None:
    lohan = {"=lohan": 3, "rehab": 2, "=betty": 1, "probation": 1}
    reid = {"=reid": 3, "rehab": 2, "=promises": 1, "actress": 1}
    article = {"=lohan": 2, "rehab": 1, "probation": 1}
    df, n = _df(lohan, reid, {"weather": 1}, {"election": 1})
    vec = weigh(article, df, n)
    m = best_story(vec, [], _cands({"s_l": lohan, "s_r": reid}), df, n, 0.15)
    assert m.story_id == "s_l"
    assert m.evidence is not None and m.evidence.names > 0.5
    assert 0.15 <= m.probability <= 1.0


def test_shared_numbers_and_dates_raise_the_probability() -> None:
    """Same words, different figures: two events of one kind. The figures decide."""
    story = {"=klitschko": 2, "heavyweight": 2, "round": 1, "=ibf": 1}
    article = {"=klitschko": 1, "heavyweight": 1, "round": 1}
    df, n = _df(story, {"weather": 1}, {"election": 1})
    vocab = ["n:7:round", "n:52:", "d:saturday"]
    vec = weigh(article, df, n)
    held = best_story(vec, vocab, _cands({"s": story}, {"s": set(vocab)}), df, n, 0.0)
    lacks = best_story(vec, vocab, _cands({"s": story}), df, n, 0.0)
    assert held.evidence is not None and held.evidence.numbers == 1.0
    assert lacks.evidence is not None and lacks.evidence.numbers == 0.0
    assert held.probability > lacks.probability
    no_figures = evidence(vec, names_vector(vec), [], _cands({"s": story})[0], weigh(story, df, n))
    assert no_figures.numbers == no_figures.dates == 0.5  # nothing to compare: no evidence


def test_join_probability_is_monotone_in_every_piece_of_evidence() -> None:
    base = Evidence(cosine=0.3, names=0.3, numbers=0.5, dates=0.5)
    p = join_probability(base)
    for field in WEIGHTS:
        more = Evidence(**{**base.to_dict(), field: getattr(base, field) + 0.2})
        assert join_probability(more) > p, field


def test_best_story_below_threshold_is_no_match() -> None:
    story = {"earthquake": 2, "=chile": 2}
    article = {"=lohan": 2, "rehab": 1}
    df, n = _df(story, article)
    m = best_story(weigh(article, df, n), [], _cands({"s": story}), df, n, 0.15)
    assert m.story_id is None
    assert m.probability < 0.15


def test_best_story_no_candidates_and_ties_are_deterministic() -> None:
    assert best_story({"a": 1.0}, [], [], {}, 0, 0.1).story_id is None
    same = {"quake": 1, "=chile": 1}
    df, n = _df(same)
    m = best_story(weigh(same, df, n), [], _cands({"s_b": same, "s_a": same}), df, n, 0.1)
    assert m.story_id == "s_a"  # equal probability: the id that sorts first


def test_weigh_is_unit_length_and_rare_terms_weigh_more() -> None:
    df = {"common": 9, "rare": 1}
    v = weigh({"common": 1, "rare": 1}, df, 10)
    assert abs(cosine(v, v) - 1.0) < 1e-9
    assert v["rare"] > v["common"]


def test_weigher_similarities_equal_the_cosines_of_the_weighted_vectors() -> None:
    # Given an article and story centroids under one IDF
    df = {"quake": 3, "=chile": 1, "=santiago": 2, "aftershock": 5, "rescue": 4}
    article = {"quake": 2, "=chile": 1, "rescue": 1}
    weigher = Weigher(df, 10)
    vec = weigher(article)
    names = names_vector(vec)
    for story in ({"quake": 4, "=chile": 2, "=santiago": 1}, {"aftershock": 1}, {"=peru": 3}):
        # When both cosines are computed in one pass
        got = weigher.similarities(story, vec, names)
        # Then they are the cosines of the built vectors
        want = (cosine(vec, weigher(story)), cosine(names, names_vector(weigher(story))))
        assert got == pytest.approx(want, abs=1e-12)


def test_merge_terms_adds_counts_and_caps_size() -> None:
    assert merge_terms({"a": 2}, {"a": 1, "b": 1}) == {"a": 3, "b": 1}
    big = {f"t{i:04d}": 1 for i in range(STORY_TERMS_CAP + 50)}
    merged = merge_terms(big, {"keep": 5})
    assert len(merged) == STORY_TERMS_CAP
    assert merged["keep"] == 5


def test_settings_reject_bad_story_lsh() -> None:
    with pytest.raises(ValueError, match="story_lsh_bands"):
        Settings(db_path=":memory:", story_lsh_bands=100, story_lsh_rows=2)
    with pytest.raises(ValueError, match="story_candidates"):
        Settings(db_path=":memory:", story_candidates=0)


@pytest.mark.dataset
def test_ecbplus_subset_clusters_into_stories() -> None:
    """Six ECB+ topics (12 gold stories, each with a same-type hard negative), streamed."""
    path = DATASETS / "ecbplus" / "docs.jsonl"
    if not path.exists():
        pytest.skip(f"../shared/datasets absent: {path} not found")
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.ecbplus import bcubed, to_document

    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    topics = sorted({d["topic"] for d in docs})[:6]
    subset = [d for d in docs if d["topic"] in topics]
    gold = {d["doc_name"]: d["subtopic"] for d in subset}
    pipeline = Pipeline(Settings(db_path=":memory:"))
    f1s = []
    for seed in range(2):
        order = sorted(subset, key=lambda d: d["doc_name"])
        random.Random(seed).shuffle(order)
        store = pipeline.open_store()
        pred: dict[str, str] = {}
        for d in order:
            r = pipeline.ingest(to_document(d["doc_name"], d["sentences"]), store, now=1.7e9)
            pred[d["doc_name"]] = r.story_id or "rejected:" + d["doc_name"]
        store.close()
        f1s.append(bcubed(pred, gold)[2])
    assert len(subset) >= 100
    assert min(f1s) >= FLOOR, f1s


FLOOR = 0.80  # measured 0.858 and 0.845 (seeds 0, 1) on 2026-11-22; margin for small changes
