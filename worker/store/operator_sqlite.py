"""Operator corrections on the embedded store (the `Operator` interface, operator_base.py).

Kept out of sqlite.py (the ingest's store) on purpose: these run only on a person's request.
Their tables are created here, on first use, so the ingest schema is unchanged.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from worker.errors import CorrectionRefused
from worker.pipeline.contribution import contribution, without_terms
from worker.pipeline.storylines import storyline_share
from worker.pipeline.timing import earliest, latest
from worker.pipeline.titles import headline
from worker.store.operator_base import novel_units, split_storyline_id, split_story_id

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

    def _recount_storyline(self, storyline_id: str) -> None:
        """Counts and clocks of a storyline from its stories; one left with none is dropped."""
        db = self.db
        left = db.execute(
            "SELECT COUNT(*) FROM stories WHERE storyline_id=?", (storyline_id,)
        ).fetchone()[0]
        if not left:
            db.execute("DELETE FROM storylines WHERE id=?", (storyline_id,))
            db.execute("DELETE FROM story_keys WHERE story_id=?", (storyline_id,))
            return
        db.execute(
            "UPDATE storylines SET (story_count, article_count, development_count, created_at, "
            "last_seen_at, last_development_at, first_published_at, last_published_at, "
            "last_ingested_at) = (SELECT COUNT(*), SUM(article_count), SUM(development_count), "
            "MIN(created_at), MAX(last_seen_at), MAX(last_development_at), "
            "MIN(first_published_at), MAX(last_published_at), MAX(last_ingested_at) "
            "FROM stories WHERE storyline_id=:l) WHERE id=:l",
            {"l": storyline_id},
        )

    def _move_storyline_share(self, story: Any, source: str, target: str) -> None:
        """A story's centroid share and fact keys go from storyline `source` to `target`."""
        db, terms = self.db, storyline_share(json.loads(story["terms"]))
        for lid, change in ((source, -1), (target, 1)):
            row = db.execute("SELECT terms FROM storylines WHERE id=?", (lid,)).fetchone()
            if row is None:
                continue
            have = json.loads(row["terms"])
            if change < 0:
                new = without_terms(have, terms)
            else:
                new = dict(have)
                for term, n in terms.items():
                    new[term] = new.get(term, 0) + n
            db.execute(
                "UPDATE storylines SET terms=? WHERE id=?", (json.dumps(new, sort_keys=True), lid)
            )
        db.execute(
            "INSERT OR IGNORE INTO story_keys(story_id, key, article_id) "
            "SELECT ?, key, article_id FROM story_keys WHERE story_id=?",
            (target, story["id"]),
        )

    def merge(
        self, source_id: str, target_id: str, *, now: float, by_person: bool = True
    ) -> dict[str, Any]:
        if source_id == target_id:
            raise CorrectionRefused("invalid", "a story cannot be merged into itself")
        db = self.db
        with self.store.transaction():
            src, dst = self._story(source_id), self._story(target_id)
            if src["storyline_id"] != dst["storyline_id"]:
                self._move_storyline_share(src, src["storyline_id"], dst["storyline_id"])
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
                "UPDATE stories SET terms=?, created_at=?, last_seen_at=?, last_development_at=?, "
                "first_published_at=?, last_published_at=?, last_ingested_at=? WHERE id=?",
                (
                    json.dumps(terms, sort_keys=True),
                    min(src["created_at"], dst["created_at"]),
                    max(src["last_seen_at"], dst["last_seen_at"]),
                    max(last_dev) if last_dev else None,
                    earliest(src["first_published_at"], dst["first_published_at"]),
                    latest(src["last_published_at"], dst["last_published_at"]),
                    latest(src["last_ingested_at"], dst["last_ingested_at"]),
                    target_id,
                ),
            )
            db.execute("DELETE FROM stories WHERE id=?", (source_id,))
            self._recount(target_id)
            self._recount_storyline(dst["storyline_id"])
            if src["storyline_id"] != dst["storyline_id"]:
                self._recount_storyline(src["storyline_id"])
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
            old_story = self._story(old)
            old_terms = json.loads(old_story["terms"])
            published = art["event_time"] if art["time_source"] == "published" else None
            db.execute(
                "INSERT INTO stories(id, title, created_at, last_seen_at, article_count, terms, "
                "storyline_id, first_published_at, last_published_at, last_ingested_at) "
                "VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
                (new, art["title"] or self._headline(article_id), art["event_time"],
                 art["event_time"], json.dumps(terms, sort_keys=True), old_story["storyline_id"],
                 published, published, art["ingested_at"]),
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
            self._recount_storyline(old_story["storyline_id"])
            result = {"article": article_id, "from_story": old, "story": new}
            if by_person:
                self.log("split", result, now)
        return result

    def _headline(self, article_id: str) -> str | None:
        row = self.db.execute(
            "SELECT text FROM sentences WHERE article_id=? ORDER BY idx LIMIT 1", (article_id,)
        ).fetchone()
        return headline(row["text"]) if row else None

    def _storyline(self, storyline_id: str) -> Any:
        row = self.db.execute("SELECT * FROM storylines WHERE id=?", (storyline_id,)).fetchone()
        if row is None:
            raise CorrectionRefused("not_found", f"no storyline {storyline_id!r}")
        return row

    def merge_storylines(
        self, source_id: str, target_id: str, *, now: float, by_person: bool = True
    ) -> dict[str, Any]:
        if source_id == target_id:
            raise CorrectionRefused("invalid", "a storyline cannot be merged into itself")
        db = self.db
        with self.store.transaction():
            src, _ = self._storyline(source_id), self._storyline(target_id)
            terms: dict[str, int] = json.loads(
                db.execute("SELECT terms FROM storylines WHERE id=?", (target_id,)).fetchone()[0]
            )
            for term, n in json.loads(src["terms"]).items():
                terms[term] = terms.get(term, 0) + n
            db.execute(
                "UPDATE storylines SET terms=? WHERE id=?",
                (json.dumps(terms, sort_keys=True), target_id),
            )
            db.execute(
                "INSERT OR IGNORE INTO story_keys(story_id, key, article_id) "
                "SELECT ?, key, article_id FROM story_keys WHERE story_id=?",
                (target_id, source_id),
            )
            moved = db.execute(
                "UPDATE stories SET storyline_id=? WHERE storyline_id=?", (target_id, source_id)
            ).rowcount
            self._recount_storyline(source_id)  # none left: dropped with its keys
            self._recount_storyline(target_id)
            result = {"source": source_id, "target": target_id, "stories_moved": moved}
            self.log("merge_storylines" if by_person else "consolidate_storylines", result, now)
        return result

    def split_storyline(self, story_id: str, *, now: float) -> dict[str, Any]:
        db = self.db
        with self.store.transaction():
            story = self._story(story_id)
            old = story["storyline_id"]
            if self._storyline(old)["story_count"] < 2:
                raise CorrectionRefused(
                    "conflict", f"story {story_id!r} is already alone in storyline {old!r}"
                )
            new = split_storyline_id(story_id)
            db.execute(
                "INSERT INTO storylines(id, title, created_at, last_seen_at, last_ingested_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (new, story["title"], story["created_at"], story["last_seen_at"],
                 story["last_ingested_at"] or story["last_seen_at"]),
            )  # fmt: skip
            self._move_storyline_share(story, old, new)
            # the old storyline forgets the facts only this story brought it
            db.execute(
                "DELETE FROM story_keys WHERE story_id=? AND article_id IN "
                "(SELECT id FROM articles WHERE story_id=?)",
                (old, story_id),
            )
            db.execute("UPDATE stories SET storyline_id=? WHERE id=?", (new, story_id))
            self._recount_storyline(old)
            self._recount_storyline(new)
            result = {"story": story_id, "from_storyline": old, "storyline": new}
            self.log("split_storyline", result, now)
            db.executemany(  # a person's call: the pipeline never merges them back
                "INSERT OR REPLACE INTO reviewed_by_person(story_id, at) VALUES (?, ?)",
                [(old, now), (new, now)],
            )
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
