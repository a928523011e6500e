"""The `Operator` interface: a person's corrections to the pipeline's calls, on either store.

A correction runs in one store transaction (all of it or nothing), is logged, and raises
`CorrectionRefused` (worker/errors.py) without changing anything when it cannot be made.
`SqliteStore.operator()` and `RedisStore.operator()` return one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from worker.store.base import Store

__all__ = ["Operator", "novel_units", "split_group", "split_story_id", "split_storyline_id"]


def split_story_id(article_id: str) -> str:
    """The id of the story an article is split into (the same on both stores)."""
    return "s_" + hashlib.sha1(f"split|{article_id}".encode()).hexdigest()[:16]


def split_storyline_id(story_id: str) -> str:
    """The id of the storyline a story is split into (the same on both stores)."""
    return "l_" + hashlib.sha1(f"split|{story_id}".encode()).hexdigest()[:16]


def novel_units(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The new units a development event called out."""
    return [u for f in payload.get("novel_facts", []) for u in f.get("new_units", [])]


class Operator(Protocol):
    def merge(
        self, source_id: str, target_id: str, *, now: float, by_person: bool = True
    ) -> dict[str, Any]:
        """Move every article, fact key, index entry and event of `source_id` into
        `target_id` and drop `source_id`; the timeline shows both in ingest order.

        `by_person`: a person's merge is logged, and the target is never split by a story
        review (worker/reviewer.py); a review's own steps pass False.
        Returns `{"source", "target", "articles_moved"}`.
        """
        ...

    def split(
        self,
        article_id: str,
        *,
        now: float,
        from_story: str | None = None,
        by_person: bool = True,
    ) -> dict[str, Any]:
        """Give an article a story of its own, in the same storyline, dated by the article's
        event time and titled by its title (else its first sentence), with its index entries
        and events. The new
        story's centroid and known facts are the article's own (recomputed from its stored
        text, worker/pipeline/contribution.py); the old story's centroid loses the article's
        term counts and its facts lose those the article brought first.

        Refused ("conflict") when `from_story` is given and the article is no longer in it.
        Returns `{"article", "from_story", "story"}`.
        """
        ...

    def merge_storylines(
        self, source_id: str, target_id: str, *, now: float, by_person: bool = True
    ) -> dict[str, Any]:
        """Move every story of storyline `source_id` into `target_id` (centroid and known
        facts with them) and drop `source_id`; logged (as `consolidate_storylines` when the
        pipeline merges two storylines it finds are one topic, `by_person=False`).
        Returns `{"source", "target", "stories_moved"}`."""
        ...

    def split_storyline(self, story_id: str, *, now: float) -> dict[str, Any]:
        """Give a story a storyline of its own: its centroid share and the facts its articles
        brought go with it. Refused ("conflict") when it is alone in its storyline already.
        Returns `{"story", "from_storyline", "storyline"}`."""
        ...

    def mark_not_new(self, event_id: str, *, now: float) -> dict[str, Any]:
        """Record that a development was not news: its article counts as a duplicate. Its
        facts stay among the story's known facts, so they never make a development again.

        Returns `{"event", "story", "article", "units", "already_marked"}`.
        """
        ...

    def claim_review(self, story_id: str, *, now: float, ttl_s: float) -> bool:
        """Claim the story for one review; False when another review holds an unexpired
        claim. The claim lapses after `ttl_s` if its holder dies before `release_review`."""
        ...

    def release_review(self, story_id: str) -> None: ...

    def reviewed_by_person(self, story_id: str) -> bool:
        """Whether a person merged into this story: a story review leaves it as it is."""
        ...

    def log(self, action: str, result: dict[str, Any], at: float) -> None:
        """Add an entry to the operator log (inside a store transaction)."""
        ...

    def actions(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The operator log, newest first: `{"action", "at", ...what it did}`."""
        ...


def split_group(
    store: Store,
    story_id: str,
    article_ids: Sequence[str],
    *,
    now: float,
    action: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Move several articles of one story into one new story, logged as one `action`.

    The first article is split off and each other one is split and merged into it, so every
    step is one of the corrections above, in its own transaction: a crash between two steps
    leaves two consistent stories, not a broken one. The caller holds the story's review claim
    (`claim_review`), so no other review moves its articles meanwhile; a person's correction
    that moved one of them first makes the step refuse ("conflict").
    """
    op = store.operator()
    first = op.split(article_ids[0], now=now, from_story=story_id, by_person=False)
    moved = [article_ids[0]]
    try:
        for article_id in article_ids[1:]:
            alone = op.split(article_id, now=now, from_story=story_id, by_person=False)
            op.merge(alone["story"], first["story"], now=now, by_person=False)
            moved.append(article_id)
    finally:  # what was moved is logged, all of it or the part done before a refusal
        result = {"from_story": story_id, "story": first["story"], "articles": moved}
        with store.transaction():
            op.log(action, {**result, **(extra or {})}, now)
    return result
