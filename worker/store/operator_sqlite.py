"""Operator corrections on the embedded store: merge two stories, split an article into a
story of its own, mark an event "not new". Each is one transaction and is logged.

Kept out of sqlite.py (the ingest's store) on purpose: these run only on a person's request.
Their tables are created here, on first use, so the ingest schema is unchanged.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from worker.store.sqlite import SqliteStore

__all__ = ["OperatorError", "list_actions", "mark_not_new", "merge_stories", "split_article"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS operator_actions (
    seq INTEGER PRIMARY KEY,
    action TEXT NOT NULL,                -- merge | split | not_new
    args TEXT NOT NULL,                  -- JSON: what was asked and what it did
    at REAL NOT NULL
);
-- events an operator judged not new: the article counts as a duplicate from then on
CREATE TABLE IF NOT EXISTS not_new (
    event_id TEXT PRIMARY KEY,
    story_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    units TEXT NOT NULL,                 -- JSON [{kind, text}]: the facts judged not new
    at REAL NOT NULL
) WITHOUT ROWID;
"""


class OperatorError(Exception):
    """A correction that cannot be made; `status` is the HTTP status that says why."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _ensure(store: SqliteStore) -> None:
    store.db.executescript(_SCHEMA)


def _log(store: SqliteStore, action: str, args: dict[str, Any], at: float) -> None:
    store.db.execute(
        "INSERT INTO operator_actions(action, args, at) VALUES (?, ?, ?)",
        (action, json.dumps(args, sort_keys=True), at),
    )


def _story(store: SqliteStore, story_id: str) -> Any:
    row = store.db.execute("SELECT * FROM stories WHERE id=?", (story_id,)).fetchone()
    if row is None:
        raise OperatorError(404, "not_found", f"no story {story_id!r}")
    return row


def _recount(store: SqliteStore, story_id: str) -> None:
    store.db.execute(
        "UPDATE stories SET "
        "article_count=(SELECT COUNT(*) FROM articles WHERE story_id=:s), "
        "development_count=(SELECT COUNT(*) FROM articles WHERE story_id=:s "
        "AND status='development') WHERE id=:s",
        {"s": story_id},
    )


def merge_stories(
    store: SqliteStore, source_id: str, target_id: str, *, now: float
) -> dict[str, Any]:
    """Move every article, fact key, index row and event of `source_id` into `target_id`,
    then drop `source_id`. The timeline interleaves both in ingest order."""
    if source_id == target_id:
        raise OperatorError(422, "invalid", "a story cannot be merged into itself")
    _ensure(store)
    with store.transaction():
        src, dst = _story(store, source_id), _story(store, target_id)
        db = store.db
        moved = db.execute(
            "UPDATE articles SET story_id=? WHERE story_id=?", (target_id, source_id)
        ).rowcount
        db.execute(
            "INSERT OR IGNORE INTO story_keys(story_id, key, article_id) "
            "SELECT ?, key, article_id FROM story_keys WHERE story_id=?",
            (target_id, source_id),
        )
        db.execute("DELETE FROM story_keys WHERE story_id=?", (source_id,))
        db.execute("UPDATE lsh SET story_id=? WHERE story_id=?", (target_id, source_id))
        db.execute("UPDATE events SET story_id=? WHERE story_id=?", (target_id, source_id))
        terms: dict[str, int] = json.loads(dst["terms"])
        for term, n in json.loads(src["terms"]).items():
            terms[term] = terms.get(term, 0) + n
        last_dev = [t for t in (src["last_development_at"], dst["last_development_at"]) if t]
        db.execute(
            "UPDATE stories SET terms=?, created_at=?, last_seen_at=?, last_development_at=? "
            "WHERE id=?",
            (
                json.dumps(terms, sort_keys=True),
                min(src["created_at"], dst["created_at"]),
                max(src["last_seen_at"], dst["last_seen_at"]),
                max(last_dev) if last_dev else None,
                target_id,
            ),
        )
        db.execute("DELETE FROM stories WHERE id=?", (source_id,))
        _recount(store, target_id)
        result = {"source": source_id, "target": target_id, "articles_moved": moved}
        _log(store, "merge", result, now)
    return result


def split_article(store: SqliteStore, article_id: str, *, now: float) -> dict[str, Any]:
    """Give an article a story of its own, with the fact keys and index rows it brought.

    The old story keeps its centroid (an article's own term counts are not stored), so it
    may still attract reports like the split article's; the new story's centroid starts empty.
    """
    _ensure(store)
    with store.transaction():
        db = store.db
        art = db.execute("SELECT * FROM articles WHERE id=?", (article_id,)).fetchone()
        if art is None:
            raise OperatorError(404, "not_found", f"no article {article_id!r}")
        old = art["story_id"]
        if db.execute("SELECT COUNT(*) FROM articles WHERE story_id=?", (old,)).fetchone()[0] < 2:
            raise OperatorError(
                409, "conflict", f"article {article_id!r} is already alone in story {old!r}"
            )
        new = "s_" + hashlib.sha1(f"split|{article_id}".encode()).hexdigest()[:16]
        db.execute(
            "INSERT INTO stories(id, title, created_at, last_seen_at, article_count) "
            "VALUES (?, ?, ?, ?, 1)",
            (new, art["title"], art["ingested_at"], art["event_time"]),
        )
        db.execute(
            "UPDATE articles SET story_id=?, status='new_story' WHERE id=?", (new, article_id)
        )
        db.execute(
            "UPDATE story_keys SET story_id=? WHERE story_id=? AND article_id=?",
            (new, old, article_id),
        )
        db.execute("UPDATE lsh SET story_id=? WHERE article_id=?", (new, article_id))
        db.execute("UPDATE events SET story_id=? WHERE article_id=?", (new, article_id))
        _recount(store, old)
        result = {"article": article_id, "from_story": old, "story": new}
        _log(store, "split", result, now)
    return result


def mark_not_new(store: SqliteStore, event_id: str, *, now: float) -> dict[str, Any]:
    """Record that an event's facts were not news: its article counts as a duplicate.

    The facts stay in the story's keys, so the same facts never make a development again.
    """
    _ensure(store)
    with store.transaction():
        db = store.db
        ev = db.execute("SELECT * FROM events WHERE id=?", (event_id,)).fetchone()
        if ev is None:
            raise OperatorError(404, "not_found", f"no event {event_id!r}")
        if ev["type"] != "story.new_development":
            raise OperatorError(
                422, "invalid", "only story.new_development events can be marked not new"
            )
        payload = json.loads(ev["payload"])
        units = [u for f in payload.get("novel_facts", []) for u in f.get("new_units", [])]
        added = db.execute(
            "INSERT OR IGNORE INTO not_new(event_id, story_id, article_id, units, at) "
            "VALUES (?, ?, ?, ?, ?)",
            (event_id, ev["story_id"], ev["article_id"], json.dumps(units), now),
        ).rowcount
        db.execute(
            "UPDATE articles SET status='duplicate' WHERE id=? AND status='development'",
            (ev["article_id"],),
        )
        _recount(store, ev["story_id"])
        result = {
            "event": event_id,
            "story": ev["story_id"],
            "article": ev["article_id"],
            "units": len(units),
            "already_marked": not added,
        }
        if added:
            _log(store, "not_new", result, now)
    return result


def list_actions(store: SqliteStore, *, limit: int = 100) -> list[dict[str, Any]]:
    """The operator log, newest first."""
    _ensure(store)
    rows = store.db.execute(
        "SELECT action, args, at FROM operator_actions ORDER BY seq DESC LIMIT ?", (limit,)
    ).fetchall()
    return [{"action": r["action"], "at": r["at"], **json.loads(r["args"])} for r in rows]
