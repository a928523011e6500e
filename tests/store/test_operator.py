"""Operator corrections on both stores: the same merge, split and "not new" give the same
stories, and the story index follows them (copies of a moved article find its new story)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import NOW
from worker import Document, Pipeline
from worker.errors import CorrectionRefused
from worker.store.base import Store


def _copy(doc: Document, n: int) -> Document:
    """A lightly edited copy: a near-duplicate of `doc`, not the same words."""
    return Document(
        f"{doc.origin}.copy{n}", doc.body + "\n\n" + "more " * n + "to follow.", doc.kind
    )


_LONE = Document("lone.txt", "Glaciologists report the Thwaites ice shelf cracked. " * 15, "text")


def _scenario(pipeline: Pipeline, store: Store, seeds: list[Document]) -> dict[str, Any]:
    """Seeds in; split 002 out; copies of 002 and 004; merge back; 004 judged not new."""
    clock = iter(range(100))
    ingest = lambda d: pipeline.ingest(d, store, now=NOW + next(clock))  # noqa: E731
    seen = [ingest(d) for d in seeds]
    story = seen[0].story_id
    op = store.operator()
    out: dict[str, Any] = {"seen": [r.to_dict() for r in seen]}

    split = op.split(seen[2].article_id, now=NOW + 50)
    out["split"] = split
    out["after_split"] = store.list_stories()
    # copies of the split article go to its new story, copies of the others stay
    out["copy_002"] = ingest(_copy(seeds[2], 1))
    out["copy_004"] = ingest(_copy(seeds[4], 1))
    merged = op.merge(split["story"], story, now=NOW + 60)
    out["merge"] = merged
    out["copy_002_after_merge"] = ingest(_copy(seeds[2], 2))
    event = seen[4].event["id"]
    out["not_new"] = op.mark_not_new(event, now=NOW + 70)
    out["not_new_again"] = op.mark_not_new(event, now=NOW + 71)
    out["detail"] = store.story_detail(story)
    out["stories"] = store.list_stories()
    out["actions"] = [(a["action"], a["at"]) for a in op.actions()]
    refusals = []
    for call in (
        lambda: op.merge(story, story, now=NOW),
        lambda: op.merge("s_0000000000000000", story, now=NOW),
        lambda: op.split("a_0000000000000000", now=NOW),
        lambda: op.split(ingest(_LONE).article_id, now=NOW),
        lambda: op.mark_not_new(seen[0].event["id"], now=NOW),
        lambda: op.mark_not_new("evt_" + "0" * 24, now=NOW),
    ):
        with pytest.raises(CorrectionRefused) as refused:
            call()
        refusals.append(refused.value.code)
    out["refusals"] = refusals
    return out


def _check(out: dict[str, Any]) -> None:
    seen = out["seen"]
    story, a2, a4 = seen[0]["story_id"], seen[2]["article_id"], seen[4]["article_id"]
    assert [r["status"] for r in seen] == [
        "new_story", "development", "development", "duplicate", "development"
    ]  # fmt: skip
    new = out["split"]["story"]
    assert out["split"] == {"article": a2, "from_story": story, "story": new}
    counts = {s["id"]: (s["article_count"], s["development_count"]) for s in out["after_split"]}
    assert counts == {story: (4, 2), new: (1, 0)}
    # the index follows: a copy of 002 joins 002's new story; a copy of 004 (whose place in
    # the old story's list moved up by one) still finds 004 in the old story
    assert (out["copy_002"].story_id, out["copy_002"].status) == (new, "duplicate")
    assert out["copy_004"].story_id == story and out["copy_004"].status == "duplicate"
    assert out["merge"] == {"source": new, "target": story, "articles_moved": 2}
    assert out["copy_002_after_merge"].story_id == story
    assert out["not_new"]["already_marked"] is False and out["not_new"]["story"] == story
    assert out["not_new"]["article"] == a4 and out["not_new"]["units"] > 0
    assert out["not_new_again"]["already_marked"] is True
    detail = out["detail"]
    ids = [a["id"] for a in detail["articles"]]
    assert ids[:5] == [r["article_id"] for r in seen] and len(ids) == 8  # ingest order
    statuses = {a["id"]: a["status"] for a in detail["articles"]}
    assert statuses[a4] == "duplicate" and statuses[a2] == "new_story"
    assert detail["article_count"] == 8 and detail["development_count"] == 1
    assert [s["id"] for s in out["stories"]][-1] == story
    assert [a for a, _ in out["actions"]] == ["not_new", "merge", "split"]
    assert out["refusals"] == [
        "invalid", "not_found", "not_found", "conflict", "invalid", "not_found"
    ]  # fmt: skip


def test_operator_corrections_agree_on_both_stores(settings, store, seed_docs, make_redis_store):
    # Given one SQLite and one Redis store for the same settings
    redis_store = make_redis_store(index_signature=Pipeline(settings).index_signature)
    # When the same inputs and corrections go to each
    via_sqlite = _scenario(Pipeline(settings), store, seed_docs)
    via_redis = _scenario(Pipeline(settings), redis_store, seed_docs)
    # Then each did what was asked, and both show the same stories
    _check(via_sqlite)
    _check(via_redis)
    for key in ("split", "merge", "not_new", "detail", "stories", "actions", "refusals"):
        assert via_redis[key] == via_sqlite[key], key


def test_a_merge_leaves_nothing_of_the_source_in_redis(settings, seed_docs, make_redis_store):
    # Given two stories on Redis
    pipeline = Pipeline(settings)
    store = make_redis_store(index_signature=pipeline.index_signature)
    first = pipeline.ingest(seed_docs[0], store, now=NOW)
    other = pipeline.ingest(_LONE, store, now=NOW + 1)
    assert other.story_id != first.story_id
    # When the second is merged into the first
    store.operator().merge(other.story_id, first.story_id, now=NOW + 2)
    # Then no key of the source story remains and the index names only the target
    left = [k for k in store.r.scan_iter(match=f"{store.keys.story(other.story_id)}*")]
    assert left == []
    seqs = {m.decode() for m in store.r.zrange(store.keys.index_seen, 0, -1)}
    assert seqs == {str(store.story_summary(first.story_id)["seq"])}
    again = pipeline.ingest(_copy(_LONE, 1), store, now=NOW + 3)
    assert again.story_id == first.story_id
