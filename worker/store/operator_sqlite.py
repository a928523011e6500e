"""Operator corrections on the embedded store (the `Operator` interface, operator_base.py).

Kept out of sqlite.py (the ingest's store) on purpose: these run only on a person's request.
Their tables are created here, on first use, so the ingest schema is unchanged.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from worker.errors import CorrectionRefused
from worker.pipeline.contribution import contribution, without_terms
from worker.store.operator_base import novel_units, split_story_id

if TYPE_CHECKING:
    from worker.store.sqlite import SqliteStore

__all__ = ["SqliteOperator"]

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
-- stories a person merged: their grouping is a person's call, no review splits them again
CREATE TABLE IF NOT EXISTS reviewed_by_person (
    story_id TEXT PRIMARY KEY,
    at REAL NOT NULL
) WITHOUT ROWID;
-- stories under review: one review of a story at a time (worker/reviewer.py)
CREATE TABLE IF NOT EXISTS review_claims (
    story_id TEXT PRIMARY KEY,
    until REAL NOT NULL
) WITHOUT ROWID;
"""


class SqliteOperator:
    """Corrections on one SqliteStore, each one transaction, logged in `operator_actions`."""

    def __init__(self, store: SqliteStore):
        self.store = store
        self.db = store.db
        self.db.executescript(_SCHEMA)

    def log(self, action: str, args: dict[str, Any], at: float) -> None:
        self.db.execute(
            "INSERT INTO operator_actions(action, args, at) VALUES (?, ?, ?)",
            (action, json.dumps(args, sort_keys=True), at),
        )

    def _story(self, story_id: str) -> Any:
        row = self.db.execute("SELECT * FROM stories WHERE id=?", (story_id,)).fetchone()
        if row is None:
            raise CorrectionRefused("not_found", f"no story {story_id!r}")
        return row

    def _recount(self, story_id: str) -> None:
        self.db.execute(
            "UPDATE stories SET "
            "article_count=(SELECT COUNT(*) FROM articles WHERE story_id=:s), "
            "development_count=(SELECT COUNT(*) FROM articles WHERE story_id=:s "
            "AND status='development') WHERE id=:s",
            {"s": story_id},
        )

    def merge(
        self, source_id: str, target_id: str, *, now: float, by_person: bool = True
    ) -> dict[str, Any]:
        if source_id == target_id:
            raise CorrectionRefused("invalid", "a story cannot be merged into itself")
        db = self.db
        with self.store.transaction():
            src, dst = self._story(source_id), self._story(target_id)
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
            self._recount(target_id)
            result = {"source": source_id, "target": target_id, "articles_moved": moved}
            if by_person:
                self.log("merge", result, now)
                db.execute(
                    "INSERT OR REPLACE INTO reviewed_by_person(story_id, at) VALUES (?, ?)",
                    (target_id, now),
                )
        return result

    def split(
        self,
        article_id: str,
        *,
        now: float,
        from_story: str | None = None,
        by_person: bool = True,
    ) -> dict[str, Any]:
        db = self.db
        with self.store.transaction():
            art = db.execute("SELECT * FROM articles WHERE id=?", (article_id,)).fetchone()
            if art is None:
                raise CorrectionRefused("not_found", f"no article {article_id!r}")
            old = art["story_id"]
            if from_story is not None and old != from_story:
                raise CorrectionRefused(
                    "conflict", f"article {article_id!r} is in story {old!r}, not {from_story!r}"
                )
            alone = (
                db.execute("SELECT COUNT(*) FROM articles WHERE story_id=?", (old,)).fetchone()[0]
                < 2
            )
            if alone:
                raise CorrectionRefused(
                    "conflict", f"article {article_id!r} is already alone in story {old!r}"
                )
            new = split_story_id(article_id)
            terms, keys = contribution(art["text"])
            old_terms = json.loads(self._story(old)["terms"])
            db.execute(
                "INSERT INTO stories(id, title, created_at, last_seen_at, article_count, terms) "
                "VALUES (?, ?, ?, ?, 1, ?)",
                (new, art["title"], art["ingested_at"], art["event_time"],
                 json.dumps(terms, sort_keys=True)),
            )  # fmt: skip
            db.execute(
                "UPDATE stories SET terms=? WHERE id=?",
                (json.dumps(without_terms(old_terms, terms), sort_keys=True), old),
            )
            db.execute(
                "UPDATE articles SET story_id=?, status='new_story' WHERE id=?", (new, article_id)
            )
            # the new story knows every fact of its one article; the old one forgets those
            # the article brought first
            db.execute(
                "DELETE FROM story_keys WHERE story_id=? AND article_id=?", (old, article_id)
            )
            db.executemany(
                "INSERT INTO story_keys(story_id, key, article_id) VALUES (?, ?, ?)",
                [(new, key, article_id) for key in sorted(keys)],
            )
            db.execute("UPDATE lsh SET story_id=? WHERE article_id=?", (new, article_id))
            db.execute("UPDATE events SET story_id=? WHERE article_id=?", (new, article_id))
            self._recount(old)
            result = {"article": article_id, "from_story": old, "story": new}
            if by_person:
                self.log("split", result, now)
        return result

    def mark_not_new(self, event_id: str, *, now: float) -> dict[str, Any]:
        db = self.db
        with self.store.transaction():
            ev = db.execute("SELECT * FROM events WHERE id=?", (event_id,)).fetchone()
            if ev is None:
                raise CorrectionRefused("not_found", f"no event {event_id!r}")
            if ev["type"] != "story.new_development":
                raise CorrectionRefused(
                    "invalid", "only story.new_development events can be marked not new"
                )
            units = novel_units(json.loads(ev["payload"]))
            added = db.execute(
                "INSERT OR IGNORE INTO not_new(event_id, story_id, article_id, units, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (event_id, ev["story_id"], ev["article_id"], json.dumps(units), now),
            ).rowcount
            db.execute(
                "UPDATE articles SET status='duplicate' WHERE id=? AND status='development'",
                (ev["article_id"],),
            )
            self._recount(ev["story_id"])
            result = {
                "event": event_id,
                "story": ev["story_id"],
                "article": ev["article_id"],
                "units": len(units),
                "already_marked": not added,
            }
            if added:
                self.log("not_new", result, now)
        return result

    def claim_review(self, story_id: str, *, now: float, ttl_s: float) -> bool:
        with self.store.transaction():
            self.db.execute(
                "DELETE FROM review_claims WHERE story_id=? AND until < ?", (story_id, now)
            )
            return (
                self.db.execute(
                    "INSERT OR IGNORE INTO review_claims(story_id, until) VALUES (?, ?)",
                    (story_id, now + ttl_s),
                ).rowcount
                == 1
            )

    def release_review(self, story_id: str) -> None:
        with self.store.transaction():
            self.db.execute("DELETE FROM review_claims WHERE story_id=?", (story_id,))

    def reviewed_by_person(self, story_id: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM reviewed_by_person WHERE story_id=?", (story_id,)
        ).fetchone()
        return row is not None

    def actions(self, *, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT action, args, at FROM operator_actions ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
        return [{"action": r["action"], "at": r["at"], **json.loads(r["args"])} for r in rows]
