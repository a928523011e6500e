"""The whole pipeline on Redis gives what it gives on SQLite: statuses, stories, facts, events."""

from __future__ import annotations

from dataclasses import replace

from tests.conftest import NOW
from worker import Document, Pipeline
from worker.store.base import Store


def _inputs(seed_docs: list[Document]) -> list[Document]:
    """The seeds, the seeds again (duplicates), and a wire revising an article in place."""
    base = seed_docs[2].body.split("\n\n\n")[0]
    url = "https://wire.example/2025/05/talks?utm_source=x"
    update = base + "\n\nUPDATE 2: Talks ended after 90 minutes, Foreign Minister Hakan Fidan said."
    return [
        *seed_docs,
        *seed_docs,
        Document("v1", base + "\n\nLive updates follow.", "text", url=url),
        Document("v2", update, "text", url=url + "&fbclid=y"),
    ]


def test_redis_pipeline_gives_the_sqlite_results_on_the_seeds(
    settings, store, seed_docs, make_redis_store
):
    # Given one SQLite store and one Redis store for the same settings
    redis_store = make_redis_store(index_signature=Pipeline(settings).index_signature)
    docs = _inputs(seed_docs)
    # When the same inputs go through a fresh pipeline into each
    runs = []
    for target in (store, redis_store):
        pipeline = Pipeline(settings)
        runs.append([pipeline.ingest(d, target, now=NOW + i) for i, d in enumerate(docs)])
    via_sqlite, via_redis = runs
    # Then statuses, stories, articles and events are identical
    assert [r.to_dict() for r in via_redis] == [r.to_dict() for r in via_sqlite]
    assert [r.status for r in via_redis[:5]] == [
        "new_story", "development", "development", "duplicate", "development"
    ]  # fmt: skip
    assert [r.status for r in via_redis[5:10]] == ["duplicate"] * 5
    assert via_redis[-1].status == "development"
    # And so are the views the CLI shows
    assert redis_store.list_stories() == store.list_stories()
    story_id = via_redis[0].story_id
    assert redis_store.story_detail(story_id) == store.story_detail(story_id)
    assert redis_store.list_events() == store.list_events()
    assert redis_store.list_events(story_id=story_id) == store.list_events(story_id=story_id)
    _same_storylines(store, redis_store)


def _same_storylines(store: Store, redis_store: Store) -> None:
    assert redis_store.list_storylines() == store.list_storylines()
    for line in store.list_storylines():
        assert redis_store.storyline_detail(line["id"]) == store.storyline_detail(line["id"])
    assert list(redis_store.export_articles()) == list(store.export_articles())


LATER = NOW + 40 * 86400  # ingested weeks after: an archive replayed


def _dated(docs: list[Document]) -> list[Document]:
    """The seeds with publication times: in order, out of order, one in the future (not
    plausible: its ingestion time stands), one undated; then a report two weeks later."""
    times = ["2025-05-15T07:00:00Z", "2025-05-15T09:30:00Z", "2025-05-15T08:15:00Z",
             "2030-01-01T00:00:00Z", None]  # fmt: skip
    out = [replace(d, published_at=t) for d, t in zip(docs, times, strict=True)]
    later = replace(docs[1], origin="later", published_at="2025-05-29T10:00:00Z")
    return [*out, replace(later, body=later.body + "\n\nTalks resume in Geneva on June 2.")]


def test_redis_pipeline_keeps_the_sqlite_event_times_and_storylines(
    settings, store, seed_docs, make_redis_store
):
    # Given one SQLite store and one Redis store, and dated inputs
    redis_store = make_redis_store(index_signature=Pipeline(settings).index_signature)
    docs = _dated(seed_docs)
    # When the same inputs go through a fresh pipeline into each
    runs = []
    for target in (store, redis_store):
        pipeline = Pipeline(settings)
        runs.append([pipeline.ingest(d, target, now=LATER + i) for i, d in enumerate(docs)])
    # Then results, stories, storylines and the article export agree
    assert [r.to_dict() for r in runs[1]] == [r.to_dict() for r in runs[0]]
    assert redis_store.list_stories() == store.list_stories()
    _same_storylines(store, redis_store)
    sources = [a["time_source"] for a in store.export_articles()]
    assert sources[:5] == ["published", "published", "published", "ingested", "ingested"]
    # the report two weeks on is a new story of the same storyline, on both stores
    first, later = runs[1][0], runs[1][-1]
    assert later.status == "new_story" and later.story_id != first.story_id
    assert later.storyline_id == first.storyline_id
    line = redis_store.storyline_detail(first.storyline_id)
    assert line is not None and [s["id"] for s in line["stories"]] == [
        first.story_id, later.story_id
    ]  # fmt: skip
    assert (line["first_published_at"], line["last_ingested_at"]) == (
        min(a["event_time"] for a in store.export_articles() if a["time_source"] == "published"),
        LATER + 5,
    )
