"""The Store contract, run against both backends: SQLite (a tmp file) and Redis (a real server)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from worker.pipeline.timing import EventTime, Span
from worker.store.base import Store, StoryRow
from worker.store.redis_store import RedisStore
from worker.store.sqlite import SqliteStore

SIG = "test-signature"


def aid(n: int) -> str:
    return f"a_{n:016x}"


def sid(n: int) -> str:
    return f"s_{n:016x}"


def lid(n: int) -> str:
    return f"l_{n:016x}"


def ingested(at: float) -> EventTime:
    """An undated article's event time: its ingestion time."""
    return EventTime(at, "ingested", at)


def published(at: float, ingested_at: float) -> EventTime:
    """A dated article's event time: its publication time."""
    return EventTime(at, "published", ingested_at)


def new_story(
    store: Store, n: int, title: str | None, when: EventTime, *, line: int | None = None
) -> None:
    """Story `n` in storyline `line` (a storyline of its own, number `n`, by default), with the
    storyline created when the story is its first; inside a transaction."""
    if line is None or not store.storylines([lid(line)]):
        store.create_storyline(lid(n if line is None else line), title, when)
    store.create_story(sid(n), title, when, storyline_id=lid(n if line is None else line))


def band_keys(seed: int, n: int) -> list[int]:
    """Random signed 64-bit band keys, as fingerprint.band_keys makes them."""
    rng = random.Random(seed)
    return [rng.getrandbits(64) - (1 << 63) for _ in range(n)]


def article_row(article_id: str, story_id: str, **over: Any) -> dict[str, Any]:
    row = {
        "id": article_id, "story_id": story_id, "input": f"{article_id}.txt",
        "status": "new_story", "match": "new", "similarity": None, "novelty": None,
        "content_hash": "h" + article_id, "canonical_url": None, "version": 1,
        "revision_of": None, "url": None, "title": "T", "source": None, "author": None,
        "published_at": None, "language": "en", "site_name": None,
        "text": "Some text.", "event_time": 100.0, "time_source": "ingested",
        "ingested_at": 100.0, "dup_sig": bytes(range(16)),
    }  # fmt: skip
    return {**row, **over}


def sentences(article_id: str, *new: str) -> list[tuple[Any, ...]]:
    """Three sentences; the ones listed in `new` carry a new unit."""
    out = []
    for i, text in enumerate(["First one.", "Second one.", "Third one."]):
        units = json.dumps([{"kind": "entity", "text": text.split()[0]}])
        out.append((article_id, i, text, units, units if text in new else "[]"))
    return out


def event(n: int, story_id: str, article_id: str) -> dict[str, Any]:
    return {
        "version": 1, "id": f"evt_{n:024x}", "type": "story.created",
        "story": {"id": story_id, "title": "T", "article_count": 1},
        "article": {"id": article_id}, "novel_facts": [],
    }  # fmt: skip


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    return make_store()


def _story_with_articles(store: Store, n: int, *, at: float, articles: int = 1) -> list[str]:
    ids = [aid(n * 100 + i) for i in range(articles)]
    with store.transaction():
        new_story(store, n, f"story {n}", ingested(at))
    for i, a in enumerate(ids):
        when = ingested(at + i)
        with store.transaction():
            row = article_row(a, sid(n), event_time=at + i, ingested_at=at + i)
            store.add_article(row, sentences(a))
            store.update_story(sid(n), terms={"w": i + 1}, when=when, developed=False)
            store.update_storyline(
                lid(n), terms={"w": i + 1}, when=when, new_story=i == 0, developed=False
            )
    return ids


def test_store_counts_documents_per_term(store):
    # Given two documents
    for terms in (["war", "talks"], ["talks", "peace"]):
        with store.transaction():
            store.add_document_terms(terms)
    # Then the count and document frequencies follow, unknown terms left out
    assert store.doc_count() == 2
    assert store.doc_freqs(["talks", "war", "unknown"]) == {"talks": 2, "war": 1}
    assert store.doc_freqs([]) == {}


def test_store_story_keeps_newest_time_counts_and_centroid(store):
    # Given a new story
    with store.transaction():
        new_story(store, 1, "Talks", ingested(100.0))
    assert store.stories([sid(1), sid(9)]) == {
        sid(1): StoryRow(sid(1), "Talks", 100.0, 0, {}, lid(1), Span(None, None, 100.0))
    }
    # When a development arrives, then an older article
    with store.transaction():
        store.update_story(sid(1), terms={"a": 2}, when=ingested(200.0), developed=True)
    with store.transaction():
        store.update_story(sid(1), terms={"a": 3}, when=ingested(150.0), developed=False)
    # Then last_seen_at is the newest, counts add up, the centroid is the last one given
    summary = store.story_summary(sid(1))
    assert summary == {
        "seq": 1, "id": sid(1), "title": "Talks", "created_at": 100.0, "last_seen_at": 200.0,
        "last_development_at": 200.0, "article_count": 2, "development_count": 1,
        "terms": '{"a": 3}', "storyline_id": lid(1), "first_published_at": None,
        "last_published_at": None, "last_ingested_at": 200.0,
    }  # fmt: skip
    assert store.stories([sid(1)])[sid(1)] == StoryRow(
        sid(1), "Talks", 200.0, 2, {"a": 3}, lid(1), Span(None, None, 200.0)
    )


def test_store_finds_articles_by_hash_and_latest_by_url(store):
    # Given a story with two versions of one URL
    url = "https://wire.example/a"
    with store.transaction():
        new_story(store, 1, None, ingested(100.0))
        first = article_row(aid(1), sid(1), canonical_url=url, dup_sig=b"\x01" * 8)
        store.add_article(first, sentences(aid(1)))
    with store.transaction():
        second = article_row(aid(2), sid(1), canonical_url=url, version=2, revision_of=aid(1))
        store.add_article(second, sentences(aid(2), "Second one."))
    # Then rows come back as plain dicts, exactly as given
    assert store.article_by_hash(first["content_hash"]) == first
    assert store.article_by_hash("nope") is None
    assert store.latest_by_url(url) == second
    assert store.latest_by_url("https://other.example/") is None
    # And signatures, the article list and exclusions follow
    assert store.dup_signatures([aid(1), aid(2), aid(3)]) == {
        aid(1): b"\x01" * 8,
        aid(2): bytes(range(16)),
    }
    assert store.story_article_ids(sid(1)) == [aid(1), aid(2)]
    assert store.story_article_ids(sid(1), exclude=aid(2)) == [aid(1)]
    assert store.stories([sid(1)])[sid(1)].title is None


def test_store_fact_keys_keep_the_first_article(store):
    # Given facts from two articles
    with store.transaction():
        new_story(store, 1, "T", ingested(1.0))
        store.add_keys(sid(1), ["umerov", "istanb"], aid(1))
    with store.transaction():
        store.add_keys(sid(1), ["istanb", "galuzi"], aid(2))
    # Then the story knows all of them, and nothing of other stories
    assert store.known_keys(sid(1), ["umerov", "galuzi", "fidan"]) == {"umerov", "galuzi"}
    assert store.known_keys(sid(2), ["umerov"]) == set()
    assert store.known_keys(sid(1), []) == set()
    # and asked for several stories at once, each gets its own answer
    many = store.known_keys_many([sid(1), sid(2)], ["umerov", "fidan", "galuzi"])
    assert many == {sid(1): {"umerov", "galuzi"}, sid(2): set()}
    assert store.known_keys_many([sid(1)], []) == {sid(1): set()}
    assert store.known_keys_many([], ["umerov"]) == {}


def test_store_index_finds_shared_bands(store):
    # Given two articles of one story and one of another, with some shared bands
    dup1, dup2, dup3 = band_keys(1, 25), band_keys(2, 25), band_keys(3, 25)
    dup2[:3] = dup1[:3]  # a near copy of article 1
    st1, st3 = band_keys(4, 64), band_keys(5, 64)
    st3[:10] = st1[:10]
    _story_with_articles(store, 1, at=100.0, articles=2)
    _story_with_articles(store, 3, at=100.0)
    with store.transaction():
        store.index_add(dup1, aid(100), sid(1), story_keys=st1)
        store.index_add(dup2, aid(101), sid(1), story_keys=st1[:40])
        store.index_add(dup3, aid(300), sid(3), story_keys=st3)
    # When queried with article 1's bands
    hits = store.index_query(dup1)
    story_hits = store.index_story_hits(st1)
    # Then every (article, story) sharing a dup band comes back once
    assert sorted(hits) == [(aid(100), sid(1)), (aid(101), sid(1))]
    assert store.index_query(dup3[:1]) == [(aid(300), sid(3))]
    assert store.index_query(band_keys(9, 25)) == []
    assert store.index_query([]) == []
    # And each story's count of distinct shared story bands
    assert story_hits == {sid(1): 64, sid(3): 10}
    assert store.index_story_hits(st1[:5] + st1[:5]) == {sid(1): 5, sid(3): 5}
    assert store.index_story_hits([]) == {}


def test_store_add_event_is_idempotent(store):
    # Given a stored event
    with store.transaction():
        new_story(store, 1, "T", ingested(1.0))
        assert store.add_event(event(1, sid(1), aid(1)), at=1.0) is True
        assert store.add_event(event(1, sid(1), aid(1)), at=1.0) is False
    # When the same event is added again by a later transaction
    with store.transaction():
        again = store.add_event(event(1, sid(1), aid(1)), at=2.0)
        store.add_event(event(2, sid(1), aid(2)), at=2.0)
    # Then it is refused and stored once
    assert again is False
    assert [e["id"] for e in store.list_events()] == [
        event(1, "", "")["id"],
        event(2, "", "")["id"],
    ]
    assert store.list_events() == [event(1, sid(1), aid(1)), event(2, sid(1), aid(2))]
    assert store.list_events(limit=1) == [event(2, sid(1), aid(2))]
    assert store.list_events(story_id=sid(1), limit=1) == [event(2, sid(1), aid(2))]
    assert store.list_events(story_id=sid(2)) == []


def test_store_transaction_rollback_leaves_nothing(store):
    # Given a transaction that writes everything, then fails
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        new_story(store, 1, "T", ingested(1.0))
        store.add_article(article_row(aid(1), sid(1), canonical_url="u"), sentences(aid(1)))
        store.add_keys(sid(1), ["k"], aid(1))
        store.add_keys(lid(1), ["k"], aid(1))
        store.update_story(sid(1), terms={"a": 1}, when=ingested(2.0), developed=True)
        store.update_storyline(
            lid(1), terms={"a": 1}, when=ingested(2.0), new_story=True, developed=True
        )
        store.add_document_terms(["a"])
        store.index_add(band_keys(1, 25), aid(1), sid(1), story_keys=band_keys(2, 64))
        store.add_event(event(1, sid(1), aid(1)), at=1.0)
        store.add_rejection("bad.txt", "binary", "binary input", 1.0)
        raise RuntimeError("boom")
    # Then nothing of it is visible
    assert store.stories([sid(1)]) == {}
    assert store.storylines([lid(1)]) == {}
    assert store.known_keys(lid(1), ["k"]) == set()
    assert store.list_storylines() == []
    assert list(store.export_articles()) == []
    assert store.article_by_hash("h" + aid(1)) is None
    assert store.latest_by_url("u") is None
    assert store.known_keys(sid(1), ["k"]) == set()
    assert store.doc_count() == 0
    assert store.index_query(band_keys(1, 25)) == []
    assert store.index_story_hits(band_keys(2, 64)) == {}
    assert store.list_events() == []
    assert store.list_rejections() == []
    assert store.list_stories() == []
    # And the store still works afterwards
    with store.transaction():
        new_story(store, 1, "T", ingested(1.0))
    assert list(store.stories([sid(1)])) == [sid(1)]
    assert list(store.storylines([lid(1)])) == [lid(1)]


def test_store_prune_drops_index_entries_of_old_stories_only(store):
    # Given an old story and a recent one, both indexed
    _story_with_articles(store, 1, at=100.0)
    _story_with_articles(store, 2, at=1000.0)
    with store.transaction():
        store.index_add(band_keys(1, 25), aid(100), sid(1), story_keys=band_keys(2, 64))
        store.index_add(band_keys(3, 25), aid(200), sid(2), story_keys=band_keys(4, 64))
    # When the index is pruned at a cut between them
    with store.transaction():
        pruned = store.prune_index(500.0)
    # Then the old story's entries are gone and the recent one's remain
    assert pruned > 0
    assert store.index_query(band_keys(1, 25)) == []
    assert store.index_story_hits(band_keys(2, 64)) == {}
    assert store.index_query(band_keys(3, 25)) == [(aid(200), sid(2))]
    assert store.index_story_hits(band_keys(4, 64)) == {sid(2): 64}
    # And the story itself is still there; a second sweep finds nothing more
    assert list(store.stories([sid(1)])) == [sid(1)]
    with store.transaction():
        assert store.prune_index(500.0) == 0


def test_store_story_pruned_then_revived_is_indexed_again(store):
    # Given a story pruned out of the index
    _story_with_articles(store, 1, at=100.0)
    with store.transaction():
        store.index_add(band_keys(1, 25), aid(100), sid(1), story_keys=band_keys(2, 64))
    with store.transaction():
        store.prune_index(500.0)
    # When a revision joins it later and is indexed
    with store.transaction():
        store.add_article(article_row(aid(101), sid(1), event_time=900.0), sentences(aid(101)))
        store.update_story(sid(1), terms={}, when=ingested(900.0), developed=False)
        store.index_add(band_keys(3, 25), aid(101), sid(1), story_keys=band_keys(2, 64)[:8])
    # Then the new entries are found, the pruned ones stay gone, and a later sweep keeps them
    assert store.index_query(band_keys(3, 25)) == [(aid(101), sid(1))]
    assert store.index_query(band_keys(1, 25)) == []
    assert store.index_story_hits(band_keys(2, 64)) == {sid(1): 8}
    with store.transaction():
        store.prune_index(500.0)
    assert store.index_story_hits(band_keys(2, 64)) == {sid(1): 8}


def test_store_refuses_another_index_signature(make_store):
    # Given a store built with one index signature
    make_store("v1:p128").close()
    # When it is opened with another
    # Then it refuses, naming both
    with pytest.raises(ValueError, match=r"built with index='v1:p128'.*'v1:p64'"):
        make_store("v1:p64")
    make_store("v1:p128").close()


def test_store_views_show_stories_articles_facts_and_rejections(store):
    # Given two stories, the older one developed later, and two rejections
    _story_with_articles(store, 1, at=100.0, articles=2)
    _story_with_articles(store, 2, at=200.0)
    with store.transaction():
        store.add_article(
            article_row(aid(102), sid(1), status="development"),
            sentences(aid(102), "Second one.", "Third one."),
        )
        store.update_story(sid(1), terms={}, when=ingested(300.0), developed=True)
    for i, origin in enumerate(["x.bin", "y.bin"]):
        with store.transaction():
            store.add_rejection(origin, "binary", "binary input", float(i))
    # Then stories list the most recently developed first
    listed = store.list_stories()
    assert [s["id"] for s in listed] == [sid(1), sid(2)]
    assert listed[0] == {
        "id": sid(1), "title": "story 1", "storyline_id": lid(1), "article_count": 3,
        "development_count": 1, "created_at": 100.0, "last_seen_at": 300.0,
        "last_development_at": 300.0,
    }  # fmt: skip
    assert [s["id"] for s in store.list_stories(limit=1)] == [sid(1)]
    # And a story's detail lists its articles in order with the facts each added
    detail = store.story_detail(sid(1))
    assert detail is not None
    assert [a["id"] for a in detail["articles"]] == [aid(100), aid(101), aid(102)]
    assert detail["articles"][2]["added_facts"] == [
        {"text": "Second one.", "new_units": [{"kind": "entity", "text": "Second"}]},
        {"text": "Third one.", "new_units": [{"kind": "entity", "text": "Third"}]},
    ]
    assert detail["articles"][0]["added_facts"] == []
    assert set(detail) == {
        "seq", "id", "title", "created_at", "last_seen_at", "last_development_at",
        "article_count", "development_count", "articles", "storyline_id",
        "first_published_at", "last_published_at", "last_ingested_at",
    }  # fmt: skip
    assert set(detail["articles"][0]) == {
        "id", "input", "status", "match", "similarity", "novelty", "version", "revision_of",
        "url", "title", "source", "published_at", "ingested_at", "added_facts",
    }  # fmt: skip
    assert store.story_detail(sid(9)) is None
    # And rejections come newest first
    assert store.list_rejections() == [
        {"input": "y.bin", "reason": "binary", "message": "binary input", "created_at": 1.0},
        {"input": "x.bin", "reason": "binary", "message": "binary input", "created_at": 0.0},
    ]
    assert len(store.list_rejections(limit=1)) == 1


def test_store_backends_have_every_protocol_method():
    # the Protocol lists what ingest and the views call; both backends must have all of it
    members = {n for n in vars(Store) if not n.startswith("_")}
    for backend in (SqliteStore, RedisStore):
        assert members <= set(vars(backend)), members - set(vars(backend))


def test_store_lists_stories_filtered_by_time_title_and_developments(store):
    # Given five stories, created one second apart; the third and fifth developed later
    titles = ["Talks in Istanbul", "ÉLECTIONS en France", "Ice shelf cracks", "Talks stall",
              "Istanbul talks resume"]  # fmt: skip
    for n, title in enumerate(titles):
        with store.transaction():
            new_story(store, n, title, ingested(100.0 + n))
    for n, at in ((2, 200.0), (4, 150.0)):
        with store.transaction():
            store.update_story(sid(n), terms={"w": 1}, when=ingested(at), developed=True)
    ids = lambda **f: [s["id"] for s in store.list_stories(**f)]  # noqa: E731
    # Then each filter keeps the matching stories, newest activity first, before the limit
    assert ids() == [sid(2), sid(4), sid(3), sid(1), sid(0)]
    assert ids(developed=True) == [sid(2), sid(4)]
    assert ids(query="TALKS") == [sid(4), sid(3), sid(0)]
    assert ids(query="élections") == [sid(1)]  # Unicode case folding, both stores
    assert ids(query="istanbul", limit=1) == [sid(4)]
    assert ids(since=103.0) == [sid(2), sid(4), sid(3)]
    assert ids(since=103.0, query="talks", developed=True) == [sid(4)]
    assert ids(query="nothing like it") == []
    assert store.story_count() == 5
