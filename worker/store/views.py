"""Read-side queries for people and tools: story lists, one story in full, events, rejections."""

from __future__ import annotations

import json
from typing import Any

from worker.store.sqlite import SqliteStore

__all__ = ["list_events", "list_rejections", "list_stories", "story_detail"]


def list_stories(store: SqliteStore, *, limit: int = 50) -> list[dict[str, Any]]:
    """Stories, the most recently developed (or created) first."""
    rows = store.db.execute(
        "SELECT id, title, article_count, development_count, created_at, last_seen_at, "
        "last_development_at FROM stories "
        "ORDER BY COALESCE(last_development_at, created_at) DESC, seq DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [dict(r) for r in rows]


def story_detail(store: SqliteStore, story_id: str) -> dict[str, Any] | None:
    """A story with its articles in order and, for each, the facts it added."""
    story = store.db.execute("SELECT * FROM stories WHERE id=?", (story_id,)).fetchone()
    if story is None:
        return None
    out = {k: story[k] for k in story.keys() if k != "terms"}
    articles = []
    for a in store.db.execute(
        "SELECT id, input, status, match, similarity, novelty, version, revision_of, url, title, "
        "source, published_at, ingested_at FROM articles WHERE story_id=? ORDER BY seq",
        (story_id,),
    ):
        added = [
            {"text": s["text"], "new_units": json.loads(s["new_units"])}
            for s in store.db.execute(
                "SELECT text, new_units FROM sentences WHERE article_id=? AND new_units != '[]' "
                "ORDER BY idx",
                (a["id"],),
            )
        ]
        articles.append({**dict(a), "added_facts": added})
    out["articles"] = articles
    return out


def list_events(
    store: SqliteStore, *, story_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Event documents, oldest first (the order they were emitted)."""
    where, args = ("WHERE story_id=?", [story_id]) if story_id else ("", [])
    rows = store.db.execute(
        f"SELECT payload FROM (SELECT seq, payload FROM events {where} ORDER BY seq DESC LIMIT ?) "
        "ORDER BY seq",
        [*args, limit],
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


def list_rejections(store: SqliteStore, *, limit: int = 100) -> list[dict[str, Any]]:
    """Rejected inputs, newest first, with their reasons."""
    rows = store.db.execute(
        "SELECT input, reason, message, created_at FROM rejections ORDER BY seq DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [dict(r) for r in rows]
