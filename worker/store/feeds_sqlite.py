"""The feed registry in the SQLite store's file: two tables beside the articles, same connection.

Every statement runs in autocommit, or in a `BEGIN IMMEDIATE` of its own where a read decides a
write (taking due feeds, claiming an entry), so two processes on one file never both win.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from worker.errors import TransientError
from worker.store.feeds_base import ENTRY_LEASE_S, Feed

__all__ = ["SqliteFeeds"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    title TEXT,
    interval_s INTEGER,                  -- `feeds add --interval`; NULL: adaptive
    poll_interval_s INTEGER,             -- what the last successful poll chose
    added_at REAL NOT NULL,
    next_poll_at REAL NOT NULL,          -- ignored while suspended
    etag TEXT,
    last_modified TEXT,
    last_polled_at REAL,
    last_success_at REAL,
    last_error TEXT,
    last_error_at REAL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    entries_seen INTEGER NOT NULL DEFAULT 0,
    suspended INTEGER NOT NULL DEFAULT 0,
    lock_token TEXT,                     -- the poll lock: who holds it, until when
    locked_until REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS feeds_due ON feeds(suspended, next_poll_at);

-- entry keys (GUID, canonical URL) across all feeds: 'pending' while an entry is being
-- ingested (a lease), 'done' after; rows past expires_at are forgotten
CREATE TABLE IF NOT EXISTS feed_entries (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS feed_entries_expiry ON feed_entries(expires_at);
"""

_FIELDS = (
    "url",
    "title",
    "interval_s",
    "poll_interval_s",
    "added_at",
    "next_poll_at",
    "etag",
    "last_modified",
    "last_polled_at",
    "last_success_at",
    "last_error",
    "last_error_at",
    "consecutive_failures",
    "entries_seen",
    "suspended",
)
_SELECT = f"SELECT {', '.join(_FIELDS)} FROM feeds"


class SqliteFeeds:
    """`FeedRegistry` on a SqliteStore's connection (`SqliteFeeds(store.db)`)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.db.executescript(SCHEMA)

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransientError(f"store busy: {exc}", reason="store_busy") from exc
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- registration ---------------------------------------------------------------------
    def add(
        self, url: str, *, now: float, interval_s: int | None = None, title: str | None = None
    ) -> bool:
        with self._immediate():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO feeds(url, title, interval_s, added_at, next_poll_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (url, title, interval_s, now, now),
            )
            if cur.rowcount == 1:
                return True
            self.db.execute(
                "UPDATE feeds SET interval_s=COALESCE(?, interval_s), title=COALESCE(?, title), "
                "suspended=0, consecutive_failures=0, next_poll_at=? WHERE url=?",
                (interval_s, title, now, url),
            )
            return False

    def remove(self, url: str) -> bool:
        return self.db.execute("DELETE FROM feeds WHERE url=?", (url,)).rowcount == 1

    def resume(self, url: str, *, now: float) -> bool:
        cur = self.db.execute(
            "UPDATE feeds SET suspended=0, consecutive_failures=0, next_poll_at=? WHERE url=?",
            (now, url),
        )
        return cur.rowcount == 1

    def get(self, url: str) -> Feed | None:
        row = self.db.execute(f"{_SELECT} WHERE url=?", (url,)).fetchone()
        return None if row is None else _feed(row)

    def list_feeds(self) -> list[Feed]:
        return [_feed(r) for r in self.db.execute(f"{_SELECT} ORDER BY url")]

    # -- schedule -------------------------------------------------------------------------
    def take_due(
        self, now: float, *, hold_s: float, limit: int = 1000, force: bool = False
    ) -> list[Feed]:
        with self._immediate():
            rows = self.db.execute(
                f"{_SELECT} WHERE suspended=0 AND (? OR next_poll_at <= ?) "
                "ORDER BY next_poll_at, url LIMIT ?",
                (force, now, limit),
            ).fetchall()
            self.db.executemany(
                "UPDATE feeds SET next_poll_at=? WHERE url=?",
                [(now + hold_s, r["url"]) for r in rows],
            )
            # forgotten entries go here: once per round of polls is often enough
            self.db.execute("DELETE FROM feed_entries WHERE expires_at < ?", (now,))
        return [_feed(r) for r in rows]

    def next_due_at(self) -> float | None:
        row = self.db.execute("SELECT MIN(next_poll_at) FROM feeds WHERE suspended=0").fetchone()
        return None if row[0] is None else float(row[0])

    def lock(self, url: str, *, now: float, ttl_s: float) -> str | None:
        token = secrets.token_hex(16)
        cur = self.db.execute(
            "UPDATE feeds SET lock_token=?, locked_until=? "
            "WHERE url=? AND (locked_until IS NULL OR locked_until <= ?)",
            (token, now + ttl_s, url, now),
        )
        return token if cur.rowcount == 1 else None

    def unlock(self, url: str, token: str) -> None:
        self.db.execute(
            "UPDATE feeds SET lock_token=NULL, locked_until=NULL WHERE url=? AND lock_token=?",
            (url, token),
        )

    # -- health ---------------------------------------------------------------------------
    def record_success(
        self,
        url: str,
        *,
        at: float,
        next_poll_at: float,
        poll_interval_s: int | None,
        etag: str | None,
        last_modified: str | None,
        title: str | None,
        new_entries: int,
    ) -> None:
        self.db.execute(
            "UPDATE feeds SET next_poll_at=?, poll_interval_s=COALESCE(?, poll_interval_s), "
            "etag=?, last_modified=?, title=COALESCE(title, ?), last_polled_at=?, "
            "last_success_at=?, consecutive_failures=0, entries_seen=entries_seen+? WHERE url=?",
            (next_poll_at, poll_interval_s, etag, last_modified, title, at, at, new_entries, url),
        )

    def record_failure(
        self, url: str, *, at: float, error: str, next_poll_at: float, max_failures: int
    ) -> Feed | None:
        with self._immediate():
            self.db.execute(
                "UPDATE feeds SET consecutive_failures=consecutive_failures+1, last_error=?, "
                "last_error_at=?, last_polled_at=?, next_poll_at=?, "
                "suspended=(consecutive_failures+1 >= ?) WHERE url=?",
                (error, at, at, next_poll_at, max_failures, url),
            )
            return self.get(url)

    # -- entries --------------------------------------------------------------------------
    def claim_entry(
        self, keys: Sequence[str], *, now: float, ttl_s: float, lease_s: float = ENTRY_LEASE_S
    ) -> bool:
        keys = list(dict.fromkeys(keys))
        if not keys:
            raise ValueError("an entry needs at least one key")
        marks = ",".join("?" * len(keys))
        with self._immediate():
            states = dict(
                self.db.execute(
                    f"SELECT key, state FROM feed_entries WHERE key IN ({marks}) "
                    "AND expires_at >= ?",
                    [*keys, now],
                ).fetchall()
            )
            if not states:
                self._put(keys, "pending", now + lease_s)
                return True
            if "done" in states.values():  # seen: remember all of its keys afresh
                self._put([k for k in keys if states.get(k) != "pending"], "done", now + ttl_s)
            return False

    def _put(self, keys: Sequence[str], state: str, expires_at: float) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO feed_entries(key, state, expires_at) VALUES (?, ?, ?)",
            [(k, state, expires_at) for k in keys],
        )

    def confirm_entry(self, keys: Sequence[str], *, now: float, ttl_s: float) -> None:
        self._put(list(dict.fromkeys(keys)), "done", now + ttl_s)

    def release_entry(self, keys: Sequence[str]) -> None:
        self.db.executemany(
            "DELETE FROM feed_entries WHERE key=? AND state='pending'", [(k,) for k in keys]
        )


def _feed(row: sqlite3.Row) -> Feed:
    values = dict(zip(_FIELDS, row, strict=True))
    values["suspended"] = bool(values["suspended"])
    if values["suspended"]:
        values["next_poll_at"] = None
    return Feed(**values)
