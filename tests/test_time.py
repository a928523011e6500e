"""Event time: publication time when plausible, windows that compare like with like, archives
replayed today grouping as they did live, and storylines over time."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from tests.conftest import NOW, SEEDS
from worker import Document, Pipeline, Settings
from worker.pipeline.timing import EventTime, Span, event_time

DAY = 86400.0


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _seed(i: int, published: float | None = None) -> Document:
    return Document(
        SEEDS[i].name,
        SEEDS[i].read_text(encoding="utf-8"),
        "text",
        published_at=_iso(published) if published is not None else None,
    )


def _time_sources(store) -> dict[str, tuple[str, float]]:
    return {a["id"]: (a["time_source"], a["event_time"]) for a in store.export_articles()}


# -- the pure rules -------------------------------------------------------------------------
def test_event_time_believes_a_plausible_publication_time_only():
    floor = datetime(1990, 1, 1, tzinfo=UTC).timestamp()
    ok = event_time(NOW - DAY, NOW, max_skew_s=900, floor_ts=floor)
    assert (ok.at, ok.source, ok.published) == (NOW - DAY, "published", NOW - DAY)
    # a few minutes ahead of our clock is skew; hours ahead is a wrong time zone or a lie
    assert event_time(NOW + 600, NOW, max_skew_s=900, floor_ts=floor).source == "published"
    future = event_time(NOW + 3 * 3600, NOW, max_skew_s=900, floor_ts=floor)
    assert (future.at, future.source, future.published) == (NOW, "ingested", None)
    # before the floor: a parser's epoch or a copyright year, not the event
    assert event_time(0.0, NOW, max_skew_s=900, floor_ts=floor).source == "ingested"
    assert event_time(None, NOW, max_skew_s=900, floor_ts=floor).source == "ingested"


def test_span_compares_dated_with_dated_and_undated_with_ingestion():
    week = 7 * DAY
    dated = Span.of(EventTime(NOW, "published", NOW))
    # an article published inside the window on either side joins (out of order, archives)
    assert dated.admits(EventTime(NOW - 3 * DAY, "published", NOW + 300 * DAY), week)
    assert not dated.admits(EventTime(NOW + 8 * DAY, "published", NOW + 8 * DAY), week)
    # an undated article is compared by ingestion time, even with a dated story
    assert dated.admits(EventTime(NOW + DAY, "ingested", NOW + DAY), week)
    # a story with no dated article compares ingestion times, whatever the article carries
    undated = Span.of(EventTime(NOW, "ingested", NOW))
    assert undated.admits(EventTime(NOW - 400 * DAY, "published", NOW + DAY), week)
    assert not undated.admits(EventTime(NOW, "published", NOW + 10 * DAY), week)
    grown = dated.joined(EventTime(NOW - 2 * DAY, "published", NOW + DAY))
    assert (grown.first_published, grown.last_published, grown.last_ingested) == (
        NOW - 2 * DAY, NOW, NOW + DAY,
    )  # fmt: skip


def test_settings_refuse_a_floor_that_is_not_a_date():
    with pytest.raises(ValueError, match="published_floor"):
        Settings(published_floor="last year")


# -- through the pipeline -------------------------------------------------------------------
def test_a_dated_follow_up_after_undated_articles_joins_their_story(pipeline, store):
    # Given three undated reports of the seed story, ingested today
    first = [pipeline.ingest(_seed(i), store, now=NOW + i) for i in range(3)]
    # When a dated follow-up arrives the next day (its publication time says so)
    later = pipeline.ingest(_seed(3, published=NOW + DAY), store, now=NOW + DAY + 60)
    # Then it joins their story: the window compared ingestion times, not its publication
    # time with their ingestion times
    assert {r.story_id for r in first} == {later.story_id}
    sources = _time_sources(store)
    assert sources[later.article_id] == ("published", NOW + DAY)
    assert {sources[r.article_id][0] for r in first} == {"ingested"}


def test_an_undated_article_never_splits_a_dated_story(pipeline, store):
    # Given a story of dated articles from an archive (published a year before today)
    then = NOW - 365 * DAY
    dated = [pipeline.ingest(_seed(i, published=then + i * 3600), store, now=NOW) for i in range(3)]
    # When an undated report of it arrives the same day it was loaded
    undated = pipeline.ingest(_seed(3), store, now=NOW + 3600)
    # Then it joins: its ingestion time is compared with the story's ingestion times
    assert {r.story_id for r in dated} == {undated.story_id}
    assert _time_sources(store)[undated.article_id] == ("ingested", NOW + 3600)


def test_out_of_order_input_joins_the_story_it_belongs_to(pipeline, store):
    # Given the seed story, published over four days, arriving newest first
    results = [
        pipeline.ingest(_seed(i, published=NOW + i * DAY), store, now=NOW + 10 * DAY + i)
        for i in reversed(range(5))
    ]
    # Then it is one story, dated by its earliest and latest publication
    assert len({r.story_id for r in results}) == 1
    story = store.story_summary(results[0].story_id)
    assert (story["first_published_at"], story["last_published_at"]) == (NOW, NOW + 4 * DAY)
    assert story["created_at"] == NOW + 4 * DAY  # the first article ingested made it


def test_a_publication_time_in_the_future_is_not_believed(pipeline, store):
    result = pipeline.ingest(_seed(0, published=NOW + 30 * DAY), store, now=NOW)
    assert _time_sources(store)[result.article_id] == ("ingested", NOW)


def _replay(settings: Settings, docs: list[Document], nows: list[float]) -> list[set[str]]:
    pipeline = Pipeline(settings)
    store = pipeline.open_store()
    try:
        results = [pipeline.ingest(d, store, now=n) for d, n in zip(docs, nows, strict=True)]
        stories: dict[str, set[str]] = {}
        for d, r in zip(docs, results, strict=True):
            final = next(a["story_id"] for a in store.export_articles() if a["id"] == r.article_id)
            stories.setdefault(final, set()).add(d.origin)
        return sorted(stories.values(), key=sorted)
    finally:
        store.close()


def test_an_archive_replayed_today_gives_the_stories_of_live_ingestion(tmp_path):
    # Given two stories a month apart: the seed story, then the same story's follow-ups a
    # month later (past the story window, so a new story), all dated
    then = datetime(2021, 3, 1, tzinfo=UTC).timestamp()
    published = [then + i * 3600 for i in range(3)] + [then + 30 * DAY + i * 3600 for i in range(2)]
    docs = [
        dataclasses.replace(_seed(i, published=p), origin=f"seed-{i}")
        for i, p in enumerate(published)
    ]
    base = Settings(db_path=str(tmp_path / "live.db"))
    # When they are ingested live (now = publication time) and replayed years later at once
    live = _replay(base, docs, published)
    replayed = _replay(
        dataclasses.replace(base, db_path=str(tmp_path / "replay.db")), docs, [NOW] * len(docs)
    )
    # Then the stories are the same, and the month between them splits them both times
    assert live == replayed
    assert len(live) == 2


def test_index_pruning_runs_on_the_stream_clock_not_the_wall_clock(pipeline, store):
    # Given an archive from a year ago being replayed today
    then = NOW - 365 * DAY
    pipeline.ingest(_seed(0, published=then), store, now=NOW)
    # Then the index keeps what that archive's own time says is live
    s = pipeline.settings
    window = max(s.story_window_s, s.storyline_window_s)
    assert pipeline.prune_before(NOW) == then - window
    # and a live stream (publication about now) prunes by now
    pipeline.ingest(_seed(1, published=NOW), store, now=NOW)
    assert pipeline.prune_before(NOW) == NOW - window


def test_a_follow_up_weeks_later_is_a_new_story_in_the_same_storyline(pipeline, store):
    # Given the seed story, dated
    first = [pipeline.ingest(_seed(i, published=NOW + i), store, now=NOW + i) for i in range(3)]
    # When a report of it arrives ten days later (past the story window, inside the storyline's)
    later = pipeline.ingest(_seed(3, published=NOW + 10 * DAY), store, now=NOW + 10 * DAY)
    # Then it opens a story of its own in the same storyline, announcing what it adds to the
    # storyline (not its lede)
    assert later.status == "new_story" and later.story_id != first[0].story_id
    assert later.storyline_id == first[0].storyline_id
    assert later.event is not None and later.event["storyline"]["story_count"] == 2
    assert later.event["novelty"] is not None
    # And past the storyline's window it is a new storyline
    s = pipeline.settings
    far = NOW + 10 * DAY + s.storyline_window_s + 2 * DAY
    gone = pipeline.ingest(_seed(4, published=far), store, now=far)
    assert gone.storyline_id != first[0].storyline_id
