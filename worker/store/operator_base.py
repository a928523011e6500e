"""The `Operator` interface: a person's corrections to the pipeline's calls, on either store.

A correction runs in one store transaction (all of it or nothing), is logged, and raises
`CorrectionRefused` (worker/errors.py) without changing anything when it cannot be made.
`SqliteStore.operator()` and `RedisStore.operator()` return one.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

__all__ = ["Operator", "novel_units", "split_story_id"]


def split_story_id(article_id: str) -> str:
    """The id of the story an article is split into (the same on both stores)."""
    return "s_" + hashlib.sha1(f"split|{article_id}".encode()).hexdigest()[:16]


def novel_units(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The new units a development event called out."""
    return [u for f in payload.get("novel_facts", []) for u in f.get("new_units", [])]


class Operator(Protocol):
    def merge(self, source_id: str, target_id: str, *, now: float) -> dict[str, Any]:
        """Move every article, fact key, index entry and event of `source_id` into
        `target_id` and drop `source_id`; the timeline shows both in ingest order.

        Returns `{"source", "target", "articles_moved"}`.
        """
        ...

    def split(self, article_id: str, *, now: float) -> dict[str, Any]:
        """Give an article a story of its own, with its index entries and events. The new
        story's centroid and known facts are the article's own (recomputed from its stored
        text, worker/pipeline/contribution.py); the old story's centroid loses the article's
        term counts and its facts lose those the article brought first.

        Returns `{"article", "from_story", "story"}`.
        """
        ...

    def mark_not_new(self, event_id: str, *, now: float) -> dict[str, Any]:
        """Record that a development was not news: its article counts as a duplicate. Its
        facts stay among the story's known facts, so they never make a development again.

        Returns `{"event", "story", "article", "units", "already_marked"}`.
        """
        ...

    def actions(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The operator log, newest first: `{"action", "at", ...what it did}`."""
        ...
