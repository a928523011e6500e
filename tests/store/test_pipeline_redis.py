"""The whole pipeline on Redis gives what it gives on SQLite: statuses, stories, facts, events."""

from __future__ import annotations

from tests.conftest import NOW
from worker import Document, Pipeline


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
