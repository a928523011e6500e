"""SQLite store (standard library): articles, stories, facts, events and the LSH index.

One ingest is one `BEGIN IMMEDIATE` transaction, so a crash leaves either all of an article
or none of it, and two processes on one file serialise instead of racing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from worker.errors import TransientError
from worker.pipeline.timing import EventTime, Span
from worker.store.base import StorylineRow, StoryRow
from worker.store.df_cache import DocFreqCache
from worker.store.feeds_sqlite import SqliteFeeds
from worker.store.operator_sqlite import SqliteOperator
from worker.store.webhooks_sqlite import SqliteWebhooks

__all__ = ["SqliteStore", "StoryRow"]

SCHEMA_VERSION = "2"
_CHUNK = 500  # stay under SQLite's bound-parameter limit


class SqliteStore:
    """The embedded store; `index_signature` pins the LSH parameters the file was built with."""

    def __init__(self, path: str, *, index_signature: str, busy_timeout_s: float = 30.0):
        if path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        # Unicode-aware case folding for title search (SQLite's LIKE and lower() are ASCII-only)
        self.db.create_function("casefold", 1, _casefold, deterministic=True)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        migrated = _migrate(self.db)
        self.db.executescript(resources.files(__package__).joinpath("schema.sql").read_text())
        if migrated:
            _storylines_of_v1(self.db)
        self._check_meta("schema_version", SCHEMA_VERSION)
        self._check_meta("index", index_signature)
        self._df = DocFreqCache(self.db)

    def close(self) -> None:
        self.db.close()

    def _check_meta(self, key: str, value: str) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (key, value))
        elif row["value"] != value:
            raise ValueError(
                f"{self.path} was built with {key}={row['value']!r} but the settings give "
                f"{value!r}; use another --db or the settings it was built with"
            )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit of work; waits for other writers rather than failing."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # database is locked past the busy timeout
            raise TransientError(f"store busy: {exc}", reason="store_busy") from exc
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            self._df.rolled_back()
            raise
        try:
            self.db.execute("COMMIT")
        except BaseException:
            self._df.rolled_back()
            raise
        self._df.committed()

    def _tuples(self, query: str, args: Iterable[Any]) -> sqlite3.Cursor:
        """Rows as plain tuples: the hot lookups build dicts and sets from them in C, where
        `sqlite3.Row` access by name costs a Python call per field."""
        cur = self.db.cursor()
        cur.row_factory = None
        return cur.execute(query, list(args))

    # -- document frequencies (cached in this process while no other writes: df_cache.py) --
    def doc_count(self) -> int:
        return self._df.doc_count()

    def doc_freqs(self, terms: Iterable[str]) -> dict[str, int]:
        return self._df.doc_freqs(terms)

    def add_document_terms(self, terms: Iterable[str]) -> None:
        terms = list(terms)
        self._df.added(terms)
        self.db.executemany(
            "INSERT INTO term_df(term, df) VALUES (?, 1) ON CONFLICT(term) DO UPDATE SET df=df+1",
            [(t,) for t in terms],
        )
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES ('doc_count', '1') "
            "ON CONFLICT(key) DO UPDATE SET value=CAST(value AS INTEGER)+1"
        )

    # -- LSH index --------------------------------------------------------------------------
    def index_query(self, keys: list[int]) -> list[tuple[str, str]]:
        """(article_id, story_id) of every entry sharing a band key; one statement per query."""
        if not keys:
            return []
        q = f"SELECT DISTINCT article_id, story_id FROM lsh WHERE key IN ({_marks(keys)})"
        return self._tuples(q, keys).fetchall()

    def index_story_hits(self, keys: list[int]) -> dict[str, int]:
        """Story id -> how many of `keys` (distinct band keys) it shares; one statement."""
        if not keys:
            return {}
        q = (
            "SELECT story_id, COUNT(DISTINCT key) FROM lsh "
            f"WHERE key IN ({_marks(keys)}) GROUP BY story_id"
        )
        return dict(self._tuples(q, keys))

    def index_add(
        self,
        keys: list[int],
        article_id: str,
        story_id: str,
        *,
        story_keys: list[int] | None = None,
    ) -> None:
        """One row per band key; both kinds share the table (their keys never collide)."""
        self.db.executemany(
            "INSERT INTO lsh(key, article_id, story_id) VALUES (?, ?, ?)",
            [(k, article_id, story_id) for k in [*keys, *(story_keys or ())]],
        )

    def prune_index(self, older_than: float) -> int:
        """Drop the bands of stories whose newest article is older than `older_than`."""
        cur = self.db.execute(
            "DELETE FROM lsh WHERE story_id IN (SELECT id FROM stories WHERE last_seen_at < ?)",
            (older_than,),
        )
        return cur.rowcount

    # -- articles ---------------------------------------------------------------------------
    def article_by_hash(self, content_hash: str) -> dict[str, Any] | None:
        return _article(
            self.db.execute("SELECT * FROM articles WHERE content_hash=?", (content_hash,))
        )

    def latest_by_url(self, canonical_url: str) -> dict[str, Any] | None:
        return _article(
            self.db.execute(
                "SELECT * FROM articles WHERE canonical_url=? ORDER BY seq DESC LIMIT 1",
                (canonical_url,),
            )
        )

    def dup_signatures(self, article_ids: list[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for chunk in _chunks(article_ids):
            q = f"SELECT id, dup_sig FROM articles WHERE id IN ({_marks(chunk)})"
            out.update(self._tuples(q, chunk))
        return out

    def article_texts(self, article_ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(article_ids):
            q = f"SELECT id, text FROM articles WHERE id IN ({_marks(chunk)})"
            out.update(self._tuples(q, chunk))
        return out

    def add_article(self, row: dict[str, Any], sentences: list[tuple[Any, ...]]) -> None:
        cols = ", ".join(row)
        self.db.execute(f"INSERT INTO articles({cols}) VALUES ({_marks(row)})", list(row.values()))
        self.db.executemany(
            "INSERT INTO sentences(article_id, idx, text, units, new_units) VALUES (?,?,?,?,?)",
            sentences,
        )

    # -- stories ----------------------------------------------------------------------------
    def stories(self, story_ids: Iterable[str]) -> dict[str, StoryRow]:
        out: dict[str, StoryRow] = {}
        for chunk in _chunks(list(story_ids)):
            q = (
                "SELECT id, title, last_seen_at, article_count, terms, storyline_id, "
                "first_published_at, last_published_at, last_ingested_at FROM stories "
                f"WHERE id IN ({_marks(chunk)})"
            )
            for r in self.db.execute(q, chunk):
                out[r["id"]] = StoryRow(
                    r["id"],
                    r["title"],
                    r["last_seen_at"],
                    r["article_count"],
                    json.loads(r["terms"]),
                    r["storyline_id"],
                    _span(r),
                )
        return out

    def create_story(
        self, story_id: str, title: str | None, when: EventTime, *, storyline_id: str
    ) -> None:
        self.db.execute(
            "INSERT INTO stories(id, title, created_at, last_seen_at, storyline_id, "
            "first_published_at, last_published_at, last_ingested_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (story_id, title, when.at, when.at, storyline_id, when.published, when.published,
             when.ingested_at),
        )  # fmt: skip

    def update_story(
        self, story_id: str, *, terms: dict[str, int], when: EventTime, developed: bool
    ) -> None:
        self.db.execute(
            f"UPDATE stories SET terms=:terms, article_count=article_count+1, {_JOINED} "
            "WHERE id=:id",
            _joined_args(story_id, terms, when, developed),
        )

    # -- storylines -------------------------------------------------------------------------
    def storylines(self, storyline_ids: Iterable[str]) -> dict[str, StorylineRow]:
        out: dict[str, StorylineRow] = {}
        for chunk in _chunks(list(storyline_ids)):
            q = (
                "SELECT id, title, story_count, article_count, terms, first_published_at, "
                f"last_published_at, last_ingested_at FROM storylines WHERE id IN ({_marks(chunk)})"
            )
            for r in self.db.execute(q, chunk):
                out[r["id"]] = StorylineRow(
                    r["id"],
                    r["title"],
                    r["story_count"],
                    r["article_count"],
                    json.loads(r["terms"]),
                    _span(r),
                )
        return out

    def create_storyline(self, storyline_id: str, title: str | None, when: EventTime) -> None:
        self.db.execute(
            "INSERT INTO storylines(id, title, created_at, last_seen_at, first_published_at, "
            "last_published_at, last_ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (storyline_id, title, when.at, when.at, when.published, when.published,
             when.ingested_at),
        )  # fmt: skip

    def update_storyline(
        self,
        storyline_id: str,
        *,
        terms: dict[str, int],
        when: EventTime,
        new_story: bool,
        developed: bool,
    ) -> None:
        self.db.execute(
            "UPDATE storylines SET terms=:terms, article_count=article_count+1, "
            f"story_count=story_count+:new_story, {_JOINED} WHERE id=:id",
            {**_joined_args(storyline_id, terms, when, developed), "new_story": int(new_story)},
        )

    def story_summary(self, story_id: str) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM stories WHERE id=?", (story_id,)).fetchone()
        return dict(row)

    def story_article_ids(self, story_id: str, *, exclude: str | None = None) -> list[str]:
        rows = self.db.execute(
            "SELECT id FROM articles WHERE story_id=? ORDER BY seq", (story_id,)
        ).fetchall()
        return [r[0] for r in rows if r[0] != exclude]

    def known_keys(self, story_id: str, keys: Iterable[str]) -> set[str]:
        known: set[str] = set()
        for chunk in _chunks(list(keys)):
            q = f"SELECT key FROM story_keys WHERE story_id=? AND key IN ({_marks(chunk)})"
            known.update(k for (k,) in self._tuples(q, [story_id, *chunk]))
        return known

    def known_keys_many(self, story_ids: list[str], keys: Iterable[str]) -> dict[str, set[str]]:
        known: dict[str, set[str]] = {s: set() for s in story_ids}
        keys = list(keys)
        if not story_ids or not keys:
            return known
        for chunk in _chunks(keys):
            q = (
                f"SELECT story_id, key FROM story_keys WHERE story_id IN ({_marks(story_ids)}) "
                f"AND key IN ({_marks(chunk)})"
            )
            for story_id, key in self._tuples(q, [*story_ids, *chunk]):
                known[story_id].add(key)
        return known

    def add_keys(self, story_id: str, keys: Iterable[str], article_id: str) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO story_keys(story_id, key, article_id) VALUES (?, ?, ?)",
            [(story_id, k, article_id) for k in keys],
        )

    # -- events and rejections --------------------------------------------------------------
    def add_event(self, event: dict[str, Any], *, at: float) -> bool:
        """Store an event once; False when its id is already stored (idempotent)."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO events(id, type, story_id, article_id, created_at, payload) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                event["id"],
                event["type"],
                event["story"]["id"],
                event["article"]["id"],
                at,
                json.dumps(event, sort_keys=True),
            ),
        )
        stored = cur.rowcount == 1
        if stored:  # webhooks (issue 5): its outbox rows, in this same transaction
            self.webhooks().outbox(event, at=at)
        return stored

    def webhooks(self) -> SqliteWebhooks:
        """Webhook endpoints, the outbox and the delivery log, in tables of their own."""
        return SqliteWebhooks(self.db)

    def operator(self) -> SqliteOperator:
        """Operator corrections (merge, split, "not new"); call it outside a transaction
        (it creates its tables on first use)."""
        return SqliteOperator(self)

    def feeds(self) -> SqliteFeeds:
        """The feed registry (issue 4), in tables of its own in this file; call it outside a
        transaction (it creates the tables on first use)."""
        return SqliteFeeds(self.db)

    def add_rejection(self, origin: str, reason: str, message: str, at: float) -> None:
        self.db.execute(
            "INSERT INTO rejections(input, reason, message, created_at) VALUES (?, ?, ?, ?)",
            (origin, reason, message, at),
        )

    # -- read views -------------------------------------------------------------------------
    def list_stories(
        self,
        *,
        limit: int = 50,
        since: float | None = None,
        query: str | None = None,
        developed: bool = False,
    ) -> list[dict[str, Any]]:
        """Stories, the most recently developed (or created) first, filtered."""
        where, args = ["1"], []
        if since is not None:
            where.append("COALESCE(last_development_at, created_at) >= ?")
            args.append(since)
        if query:
            where.append("instr(casefold(title), ?) > 0")
            args.append(query.casefold())
        if developed:
            where.append("development_count > 0")
        rows = self.db.execute(
            f"SELECT {_STORY_COLUMNS} FROM stories WHERE {' AND '.join(where)} "
            "ORDER BY COALESCE(last_development_at, created_at) DESC, seq DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [dict(r) for r in rows]

    def story_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM stories").fetchone()[0])

    def list_storylines(
        self, *, limit: int = 50, since: float | None = None, query: str | None = None
    ) -> list[dict[str, Any]]:
        where, args = ["1"], []
        if since is not None:
            where.append("last_seen_at >= ?")
            args.append(since)
        if query:
            where.append("instr(casefold(title), ?) > 0")
            args.append(query.casefold())
        rows = self.db.execute(
            f"SELECT {_STORYLINE_COLUMNS} FROM storylines WHERE {' AND '.join(where)} "
            "ORDER BY last_seen_at DESC, seq DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [dict(r) for r in rows]

    def storyline_detail(self, storyline_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            f"SELECT {_STORYLINE_COLUMNS} FROM storylines WHERE id=?", (storyline_id,)
        ).fetchone()
        if row is None:
            return None
        stories = self.db.execute(
            f"SELECT {_STORY_COLUMNS} FROM stories WHERE storyline_id=? ORDER BY created_at, seq",
            (storyline_id,),
        ).fetchall()
        return {**dict(row), "stories": [dict(r) for r in stories]}

    def export_articles(self) -> Iterator[dict[str, Any]]:
        cur = self.db.execute(
            "SELECT a.id, a.story_id, s.storyline_id, a.url, a.title, a.source, a.published_at, "
            "a.status, a.event_time, a.time_source, a.ingested_at FROM articles a "
            "JOIN stories s ON s.id = a.story_id ORDER BY a.seq"
        )
        for r in cur:
            yield dict(r)

    def story_detail(self, story_id: str) -> dict[str, Any] | None:
        """A story with its articles in order and, for each, the facts it added."""
        story = self.db.execute("SELECT * FROM stories WHERE id=?", (story_id,)).fetchone()
        if story is None:
            return None
        out = {k: story[k] for k in story.keys() if k != "terms"}
        articles = []
        for a in self.db.execute(
            "SELECT id, input, status, match, similarity, novelty, version, revision_of, url, "
            "title, source, published_at, ingested_at FROM articles WHERE story_id=? ORDER BY seq",
            (story_id,),
        ):
            added = [
                {"text": s["text"], "new_units": json.loads(s["new_units"])}
                for s in self.db.execute(
                    "SELECT text, new_units FROM sentences WHERE article_id=? "
                    "AND new_units != '[]' ORDER BY idx",
                    (a["id"],),
                )
            ]
            articles.append({**dict(a), "added_facts": added})
        out["articles"] = articles
        return out

    def list_events(self, *, story_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The latest `limit` event documents, oldest first (the order they were emitted)."""
        where, args = ("WHERE story_id=?", [story_id]) if story_id else ("", [])
        rows = self.db.execute(
            f"SELECT payload FROM (SELECT seq, payload FROM events {where} "
            "ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            [*args, limit],
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def list_rejections(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Rejected inputs, newest first, with their reasons."""
        rows = self.db.execute(
            "SELECT input, reason, message, created_at FROM rejections ORDER BY seq DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [dict(r) for r in rows]


_STORY_COLUMNS = (
    "id, title, storyline_id, article_count, development_count, created_at, last_seen_at, "
    "last_development_at"
)
_STORYLINE_COLUMNS = (
    "id, title, story_count, article_count, development_count, created_at, last_seen_at, "
    "last_development_at, first_published_at, last_published_at, last_ingested_at"
)
# one more article joined a story or storyline: its clocks (worker/pipeline/timing.py Span)
_JOINED = (
    "last_seen_at=MAX(last_seen_at, :at), "
    "first_published_at=CASE WHEN :published IS NULL THEN first_published_at "
    "ELSE MIN(COALESCE(first_published_at, :published), :published) END, "
    "last_published_at=CASE WHEN :published IS NULL THEN last_published_at "
    "ELSE MAX(COALESCE(last_published_at, :published), :published) END, "
    "last_ingested_at=MAX(COALESCE(last_ingested_at, :ingested), :ingested), "
    "last_development_at=CASE WHEN :developed THEN :at ELSE last_development_at END, "
    "development_count=development_count+:developed"
)


def _joined_args(
    id_: str, terms: dict[str, int], when: EventTime, developed: bool
) -> dict[str, Any]:
    return {
        "id": id_,
        "terms": json.dumps(terms, sort_keys=True),
        "at": when.at,
        "published": when.published,
        "ingested": when.ingested_at,
        "developed": int(developed),
    }


def _span(row: sqlite3.Row) -> Span:
    return Span(row["first_published_at"], row["last_published_at"], row["last_ingested_at"])


def _migrate(db: sqlite3.Connection) -> bool:
    """Bring a schema version 1 file to version 2 (storylines, time sources); True if done."""
    has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone()
    if not has_meta:
        return False
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if row is None or row[0] != "1":
        return False
    db.executescript(
        "BEGIN;"
        "ALTER TABLE stories ADD COLUMN storyline_id TEXT;"
        "ALTER TABLE stories ADD COLUMN first_published_at REAL;"
        "ALTER TABLE stories ADD COLUMN last_published_at REAL;"
        "ALTER TABLE stories ADD COLUMN last_ingested_at REAL;"
        "ALTER TABLE articles ADD COLUMN time_source TEXT NOT NULL DEFAULT 'ingested';"
        "UPDATE stories SET last_ingested_at=(SELECT MAX(ingested_at) FROM articles "
        "WHERE story_id=stories.id);"
        "UPDATE stories SET last_ingested_at=last_seen_at WHERE last_ingested_at IS NULL;"
        "UPDATE meta SET value='2' WHERE key='schema_version';"
        "COMMIT;"
    )
    return True


def _storylines_of_v1(db: sqlite3.Connection) -> None:
    """Every story of a version 1 file becomes a storyline of its own (its facts with it)."""
    db.executescript(
        "BEGIN;"
        "UPDATE stories SET storyline_id='l_' || substr(id, 3) WHERE storyline_id IS NULL;"
        "INSERT OR IGNORE INTO storylines(id, title, created_at, last_seen_at, "
        "last_development_at, last_ingested_at, story_count, article_count, development_count, "
        "terms) SELECT storyline_id, title, created_at, last_seen_at, last_development_at, "
        "last_ingested_at, 1, article_count, development_count, terms FROM stories;"
        "INSERT OR IGNORE INTO story_keys(story_id, key, article_id) "
        "SELECT 'l_' || substr(story_id, 3), key, article_id FROM story_keys "
        "WHERE story_id LIKE 's_%';"
        "COMMIT;"
    )


def _article(cursor: sqlite3.Cursor) -> dict[str, Any] | None:
    """An article row as given to add_article (without the internal `seq`)."""
    row = cursor.fetchone()
    return None if row is None else {k: row[k] for k in row.keys() if k != "seq"}


def _marks(items: Iterable[Any]) -> str:
    return ",".join("?" for _ in items)


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _casefold(value: str | None) -> str | None:
    return value.casefold() if value is not None else None
