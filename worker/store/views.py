"""Read-side queries for people and tools: story lists, one story in full, events, rejections.

Thin dispatchers to the store's own view methods, so the CLI works on either backend.
"""

from __future__ import annotations

from typing import Any

from worker.store.base import Store

__all__ = ["list_events", "list_rejections", "list_stories", "story_detail"]


def list_stories(store: Store, *, limit: int = 50, **filters: Any) -> list[dict[str, Any]]:
    """Stories, the most recently developed (or created) first; `filters` as
    `Store.list_stories` takes them (since, query, developed)."""
    return store.list_stories(limit=limit, **filters)


def story_detail(store: Store, story_id: str) -> dict[str, Any] | None:
    """A story with its articles in order and, for each, the facts it added."""
    return store.story_detail(story_id)


def list_events(
    store: Store, *, story_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Event documents, oldest first (the order they were emitted)."""
    return store.list_events(story_id=story_id, limit=limit)


def list_rejections(store: Store, *, limit: int = 100) -> list[dict[str, Any]]:
    """Rejected inputs, newest first, with their reasons."""
    return store.list_rejections(limit=limit)
