"""The storyline part of the Store contract, on both backends: rows, clocks, lists, detail,
the article export; and the SQLite file of schema version 1 opened by version 2."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.store.test_contract import (
    SIG,
    aid,
    article_row,
    ingested,
    lid,
    published,
    sentences,
    sid,
)
from worker.pipeline.timing import EventTime, Span
from worker.store.base import Store, StorylineRow
from worker.store.sqlite import SqliteStore


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    return make_store()


def _join(
    store: Store, story: int, line: int, when: EventTime, terms: dict[str, int], **flags: bool
) -> None:
    """One more article (no row: the clocks only) joins story `story` of storyline `line`."""
    developed, new = flags.get("developed", False), flags.get("new_story", False)
    store.update_story(sid(story), terms=terms, when=when, developed=developed)
    store.update_storyline(lid(line), terms=terms, when=when, new_story=new, developed=developed)


def test_store_storyline_keeps_counts_clocks_and_centroid(store):
    # Given a storyline opened by an undated article
    first = ingested(100.0)
    with store.transaction():
        store.create_storyline(lid(1), "Quake", first)
        store.create_story(sid(1), "Quake", first, storyline_id=lid(1))
        _join(store, 1, 1, first, {"a": 1}, new_story=True)
    assert store.storylines([lid(1), lid(9)]) == {
        lid(1): StorylineRow(lid(1), "Quake", 1, 1, {"a": 1}, Span(None, None, 100.0))
    }
    # When an archived report (published before, ingested after) opens a second story, a
    # dated development joins the first, and a late undated article ingested before it
    # joins the second
    archived, dated, late = published(50.0, 200.0), published(80.0, 300.0), ingested(250.0)
    with store.transaction():
        store.create_story(sid(2), "Aftershock", archived, storyline_id=lid(1))
        _join(store, 2, 1, archived, {"a": 1, "b": 2}, new_story=True)
    with store.transaction():
        _join(store, 1, 1, dated, {"a": 1, "b": 2, "c": 1}, developed=True)
    with store.transaction():
        _join(store, 2, 1, late, {"a": 2, "b": 2, "c": 1})
    # Then each keeps its dated span and its newest ingestion apart (like with like)
    rows = store.stories([sid(1), sid(2)])
    assert rows[sid(1)].span == Span.of(first).joined(dated) == Span(80.0, 80.0, 300.0)
    assert rows[sid(2)].span == Span.of(archived).joined(late) == Span(50.0, 50.0, 250.0)
    assert (rows[sid(1)].last_seen_at, rows[sid(2)].last_seen_at) == (100.0, 250.0)
    assert {r.storyline_id for r in rows.values()} == {lid(1)}
    span = Span.of(first).joined(archived).joined(dated).joined(late)
    assert store.storylines([lid(1)])[lid(1)] == StorylineRow(
        lid(1), "Quake", 2, 4, {"a": 2, "b": 2, "c": 1}, span
    )
    assert span == Span(50.0, 80.0, 300.0)
    # And the list row: newest event time, the development's time and count
    assert store.list_storylines() == [
        {
            "id": lid(1), "title": "Quake", "story_count": 2, "article_count": 4,
            "development_count": 1, "created_at": 100.0, "last_seen_at": 250.0,
            "last_development_at": 80.0, "first_published_at": 50.0,
            "last_published_at": 80.0, "last_ingested_at": 300.0,
        }
    ]  # fmt: skip


def test_store_storyline_facts_live_beside_story_facts(store):
    # Given facts recorded for a story and for its storyline
    with store.transaction():
        store.create_storyline(lid(1), "T", ingested(1.0))
        store.create_story(sid(1), "T", ingested(1.0), storyline_id=lid(1))
        store.add_keys(sid(1), ["umerov"], aid(1))
        store.add_keys(lid(1), ["umerov", "galuzi"], aid(1))
    # Then each id answers for its own
    assert store.known_keys(lid(1), ["umerov", "galuzi", "fidan"]) == {"umerov", "galuzi"}
    assert store.known_keys(sid(1), ["umerov", "galuzi"]) == {"umerov"}
    assert store.known_keys_many([sid(1), lid(1), lid(2)], ["galuzi"]) == {
        sid(1): set(), lid(1): {"galuzi"}, lid(2): set()
    }  # fmt: skip


def test_store_lists_storylines_newest_first_filtered(store):
    # Given five storylines created a second apart; two later joined by newer articles, one
    # of them to a tie with another
    titles = ["Talks in Istanbul", "ÉLECTIONS en France", "Ice shelf cracks", "Talks stall",
              "Istanbul talks resume"]  # fmt: skip
    for n, title in enumerate(titles):
        with store.transaction():
            store.create_storyline(lid(n), title, ingested(100.0 + n))
    for n, at in ((1, 200.0), (0, 104.0)):  # storyline 0 ties with storyline 4
        with store.transaction():
            store.update_storyline(
                lid(n), terms={}, when=ingested(at), new_story=False, developed=False
            )
    ids = lambda **f: [r["id"] for r in store.list_storylines(**f)]  # noqa: E731
    # Then the most recently active come first, the newer storyline first on a tie
    assert ids() == [lid(1), lid(4), lid(0), lid(3), lid(2)]
    assert ids(limit=2) == [lid(1), lid(4)]
    assert ids(since=104.0) == [lid(1), lid(4), lid(0)]
    assert ids(query="TALKS") == [lid(4), lid(0), lid(3)]
    assert ids(query="élections") == [lid(1)]  # Unicode case folding, both stores
    assert ids(query="istanbul", since=104.5) == []
    assert ids(query="istanbul", limit=1) == [lid(4)]


def test_store_storyline_detail_lists_its_stories_oldest_first(store):
    # Given a storyline whose stories were created out of order, and another storyline
    with store.transaction():
        store.create_storyline(lid(1), "Quake", ingested(300.0))
        store.create_storyline(lid(2), "Other", ingested(150.0))
    for n, at, line in ((1, 300.0, 1), (2, 100.0, 1), (3, 150.0, 2), (4, 200.0, 1)):
        with store.transaction():
            store.create_story(sid(n), f"story {n}", ingested(at), storyline_id=lid(line))
            _join(store, n, line, ingested(at), {}, new_story=True)
    # When its detail is read
    detail = store.storyline_detail(lid(1))
    # Then it is the list row plus its stories, oldest first, as list_stories shows them
    assert detail is not None
    listed = {r["id"]: r for r in store.list_stories()}
    assert detail == {
        **store.list_storylines(query="quake")[0],
        "stories": [listed[sid(2)], listed[sid(4)], listed[sid(1)]],
    }
    assert detail["story_count"] == 3 and listed[sid(2)]["storyline_id"] == lid(1)
    assert store.storyline_detail(lid(9)) is None


def test_store_exports_articles_in_ingest_order(store):
    # Given three articles of two stories in two storylines, the last two ingested at the
    # same second, one dated
    for n in (1, 2):
        with store.transaction():
            store.create_storyline(lid(n), f"line {n}", ingested(100.0))
            store.create_story(sid(n), f"story {n}", ingested(100.0), storyline_id=lid(n))
    dated = {"event_time": 50.0, "time_source": "published", "published_at": "1970-01-01T00:00:50Z"}
    for a, story, at, over in ((1, 1, 100.0, {}), (2, 2, 200.0, dated), (3, 1, 200.0, {})):
        with store.transaction():
            row = article_row(aid(a), sid(story), ingested_at=at, **over)
            store.add_article(row, sentences(aid(a)))
    # When they are exported
    exported = list(store.export_articles())
    # Then in the order they were stored, with their story, storyline and event time
    assert [e["id"] for e in exported] == [aid(1), aid(2), aid(3)]
    assert exported[1] == {
        "id": aid(2), "story_id": sid(2), "storyline_id": lid(2), "url": None, "title": "T",
        "source": None, "published_at": "1970-01-01T00:00:50Z", "status": "new_story",
        "event_time": 50.0, "time_source": "published", "ingested_at": 200.0,
    }  # fmt: skip
    assert [(e["storyline_id"], e["time_source"]) for e in exported] == [
        (lid(1), "ingested"), (lid(2), "published"), (lid(1), "ingested"),
    ]  # fmt: skip


# -- SQLite schema version 1 -> 2 ----------------------------------------------------------

# the version 1 schema, as it was (git show 76151a2:worker/store/schema.sql)
V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stories (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT,
    created_at REAL NOT NULL,
    last_seen_at REAL NOT NULL,
    last_development_at REAL,
    article_count INTEGER NOT NULL DEFAULT 0,
    development_count INTEGER NOT NULL DEFAULT 0,
    terms TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS articles (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    story_id TEXT NOT NULL REFERENCES stories(id),
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    match TEXT NOT NULL,
    similarity REAL,
    novelty REAL,
    content_hash TEXT NOT NULL UNIQUE,
    canonical_url TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    revision_of TEXT,
    url TEXT, title TEXT, source TEXT, author TEXT, published_at TEXT, language TEXT,
    site_name TEXT,
    text TEXT NOT NULL,
    event_time REAL NOT NULL,
    ingested_at REAL NOT NULL,
    dup_sig BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id, seq);
CREATE INDEX IF NOT EXISTS articles_url ON articles(canonical_url, seq);
CREATE TABLE IF NOT EXISTS sentences (
    article_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    text TEXT NOT NULL,
    units TEXT NOT NULL,
    new_units TEXT NOT NULL,
    PRIMARY KEY (article_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS story_keys (
    story_id TEXT NOT NULL,
    key TEXT NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (story_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lsh (
    key INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    story_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lsh_key ON lsh(key);
CREATE INDEX IF NOT EXISTS lsh_story ON lsh(story_id);
CREATE TABLE IF NOT EXISTS term_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    story_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_story ON events(story_id, seq);
CREATE TABLE IF NOT EXISTS rejections (
    seq INTEGER PRIMARY KEY,
    input TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


def _v1_file(path: Path) -> None:
    """A version 1 file: a developed story of two articles with facts, and an empty story."""
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    db.executemany(
        "INSERT INTO meta(key, value) VALUES (?, ?)",
        [("schema_version", "1"), ("index", SIG), ("doc_count", "2")],
    )
    db.executemany(
        "INSERT INTO stories(id, title, created_at, last_seen_at, last_development_at, "
        "article_count, development_count, terms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (sid(1), "Talks", 100.0, 250.0, 250.0, 2, 1, json.dumps({"talks": 2})),
            (sid(2), "Empty", 300.0, 300.0, None, 0, 0, "{}"),
        ],
    )
    for n, status, ingested_at in ((1, "new_story", 110.0), (2, "development", 260.0)):
        row = article_row(aid(n), sid(1), status=status, ingested_at=ingested_at)
        del row["time_source"]  # not a version 1 column
        db.execute(
            f"INSERT INTO articles({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    db.executemany(
        "INSERT INTO story_keys(story_id, key, article_id) VALUES (?, ?, ?)",
        [(sid(1), "umerov", aid(1)), (sid(1), "galuzi", aid(2))],
    )
    db.commit()
    db.close()


def test_sqlite_version_1_file_gets_a_storyline_per_story(tmp_path):
    # Given a file of schema version 1
    path = tmp_path / "v1.db"
    _v1_file(path)
    # When version 2 opens it
    store = SqliteStore(str(path), index_signature=SIG)
    # Then every story is a storyline of its own, with its counts, clocks, centroid and facts
    line = "l_" + sid(1)[2:]
    rows = store.stories([sid(1), sid(2)])
    assert rows[sid(1)].storyline_id == line and rows[sid(2)].storyline_id == "l_" + sid(2)[2:]
    assert rows[sid(1)].span == Span(None, None, 260.0)  # its newest article's ingestion
    assert rows[sid(2)].span == Span(None, None, 300.0)  # no article: its last_seen_at
    assert store.storylines([line])[line] == StorylineRow(
        line, "Talks", 1, 2, {"talks": 2}, Span(None, None, 260.0)
    )
    assert store.known_keys(line, ["umerov", "galuzi", "fidan"]) == {"umerov", "galuzi"}
    assert store.known_keys(sid(1), ["umerov"]) == {"umerov"}  # the story keeps its own
    listed = {r["id"]: r for r in store.list_storylines()}
    assert set(listed) == {line, "l_" + sid(2)[2:]}
    assert listed[line]["development_count"] == 1
    assert (listed[line]["created_at"], listed[line]["last_development_at"]) == (100.0, 250.0)
    detail = store.storyline_detail(line)
    assert detail is not None and [s["id"] for s in detail["stories"]] == [sid(1)]
    # and the articles say their time came from ingestion
    assert store.article_by_hash("h" + aid(1))["time_source"] == "ingested"
    assert [e["storyline_id"] for e in store.export_articles()] == [line, line]
    store.close()
    # And the file is version 2 now: it opens again unchanged
    again = SqliteStore(str(path), index_signature=SIG)
    version = again.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    assert version[0] == "2"
    assert len(again.list_storylines()) == 2 and again.story_count() == 2
    again.close()
