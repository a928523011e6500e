"""The `Store` interface that `worker/ingest.py`, the views and the CLI use; two backends have it.

`SqliteStore` (embedded, one file) and `RedisStore` (distributed, many workers). Inside one
`transaction()` every read comes before every write, and reads may not see the transaction's
own writes: RedisStore buffers the writes and applies them at commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from worker.pipeline.timing import EventTime, Span
from worker.store.feeds_base import FeedRegistry
from worker.store.operator_base import Operator
from worker.store.webhooks import WebhookStore

__all__ = ["Store", "StoryRow", "StorylineRow"]


@dataclass(frozen=True, slots=True)
class StoryRow:
    """A story as the matcher needs it; `last_seen_at` is its newest article's event time."""

    id: str
    title: str | None
    last_seen_at: float
    article_count: int
    terms: dict[str, int]
    storyline_id: str
    span: Span


@dataclass(frozen=True, slots=True)
class StorylineRow:
    """A storyline as the matcher needs it."""

    id: str
    title: str | None
    story_count: int
    article_count: int
    terms: dict[str, int]
    span: Span


class Store(Protocol):
    """Articles, stories, facts, events, rejections, document frequencies and the LSH index.

    Article rows (`article_by_hash`, `latest_by_url`) are plain dicts with the keys given to
    `add_article`. Ids are `a_`/`s_`/`l_` (article, story, storyline) + 16 hex digits, as
    `Pipeline` makes them. A storyline's fact keys live beside its stories' (`known_keys` and
    `add_keys` take either id).
    """

    def transaction(self) -> AbstractContextManager[None]:
        """One atomic unit of work: all of it is applied or none (an exception rolls back).

        Raises:
            TransientError: the store is busy (reason `store_busy`) or unreachable.
        """
        ...

    def close(self) -> None: ...

    # -- document frequencies
    def doc_count(self) -> int: ...

    def doc_freqs(self, terms: Iterable[str]) -> dict[str, int]:
        """Term -> number of stored documents holding it; unknown terms are left out."""
        ...

    def add_document_terms(self, terms: Iterable[str]) -> None:
        """Count one more document holding each of `terms` (distinct)."""
        ...

    # -- LSH index
    def index_query(self, keys: list[int]) -> list[tuple[str, str]]:
        """Distinct (article_id, story_id) of every entry sharing a near-duplicate band key."""
        ...

    def index_story_hits(self, keys: list[int]) -> dict[str, int]:
        """Story id -> how many of the story band `keys` (distinct) it shares."""
        ...

    def index_add(
        self,
        keys: list[int],
        article_id: str,
        story_id: str,
        *,
        story_keys: list[int] | None = None,
    ) -> None:
        """Index an article: `keys` are its near-duplicate bands, `story_keys` its story bands.

        RedisStore keeps the two apart (story bands are stored once per story) and needs
        `story_keys`; SqliteStore also accepts both kinds mixed in `keys`.
        """
        ...

    def prune_index(self, older_than: float) -> int:
        """Drop the index entries of stories last seen before `older_than`.

        Returns how many entries went, counted in the backend's own layout (for the log).
        """
        ...

    # -- articles
    def article_by_hash(self, content_hash: str) -> dict[str, Any] | None: ...

    def latest_by_url(self, canonical_url: str) -> dict[str, Any] | None:
        """The article added last at this canonical URL."""
        ...

    def dup_signatures(self, article_ids: list[str]) -> dict[str, bytes]: ...

    def article_texts(self, article_ids: list[str]) -> dict[str, str]:
        """The stored article text of those `article_ids` that exist."""
        ...

    def add_article(self, row: dict[str, Any], sentences: list[tuple[Any, ...]]) -> None:
        """Store an article row and its sentences `(article_id, idx, text, units, new_units)`,
        the units as JSON text; the article joins `row["story_id"]`."""
        ...

    # -- stories
    def stories(self, story_ids: Iterable[str]) -> dict[str, StoryRow]:
        """The stories that exist among `story_ids`."""
        ...

    def create_story(
        self, story_id: str, title: str | None, when: EventTime, *, storyline_id: str
    ) -> None:
        """A new story in `storyline_id` (which exists or is created in this transaction)."""
        ...

    def update_story(
        self, story_id: str, *, terms: dict[str, int], when: EventTime, developed: bool
    ) -> None:
        """One more article joined: new centroid, its clocks (`Span.joined`), counts."""
        ...

    # -- storylines
    def storylines(self, storyline_ids: Iterable[str]) -> dict[str, StorylineRow]:
        """The storylines that exist among `storyline_ids`."""
        ...

    def create_storyline(self, storyline_id: str, title: str | None, when: EventTime) -> None: ...

    def update_storyline(
        self,
        storyline_id: str,
        *,
        terms: dict[str, int],
        when: EventTime,
        new_story: bool,
        developed: bool,
    ) -> None:
        """One more article joined (and, if `new_story`, one more story)."""
        ...

    def story_summary(self, story_id: str) -> dict[str, Any]:
        """The whole story row, `terms` as JSON text."""
        ...

    def story_article_ids(self, story_id: str, *, exclude: str | None = None) -> list[str]: ...

    def known_keys(self, story_id: str, keys: Iterable[str]) -> set[str]:
        """Those of the fact `keys` the story already holds."""
        ...

    def known_keys_many(self, story_ids: list[str], keys: Iterable[str]) -> dict[str, set[str]]:
        """`known_keys` for several stories at once (one statement or round trip)."""
        ...

    def add_keys(self, story_id: str, keys: Iterable[str], article_id: str) -> None:
        """Record fact keys; a key the story holds keeps the article that brought it first."""
        ...

    # -- events and rejections
    def add_event(self, event: dict[str, Any], *, at: float) -> bool:
        """Store an event once; False when its id is already stored (idempotent)."""
        ...

    def webhooks(self) -> WebhookStore:
        """Webhook endpoints, due deliveries and the delivery log (worker/store/webhooks.py);
        `add_event` writes a new event's outbox rows in its own transaction."""
        ...

    def feeds(self) -> FeedRegistry:
        """The feed registry kept in this store (worker/store/feeds_base.py)."""
        ...

    def operator(self) -> Operator:
        """Operator corrections (merge, split, "not new") on this store; call it outside a
        transaction (each correction is a transaction of its own)."""
        ...

    def add_rejection(self, origin: str, reason: str, message: str, at: float) -> None: ...

    # -- read views (the CLI)
    def list_stories(
        self,
        *,
        limit: int = 50,
        since: float | None = None,
        query: str | None = None,
        developed: bool = False,
    ) -> list[dict[str, Any]]:
        """Stories, the most recently developed (or created) first.

        Args:
            since: only stories developed (or created) at or after this Unix time.
            query: only stories whose title holds this text (case-insensitive).
            developed: only stories with at least one development.
        """
        ...

    def story_count(self) -> int:
        """How many stories the store holds (the `wirewatch_stories` gauge)."""
        ...

    def list_storylines(
        self, *, limit: int = 50, since: float | None = None, query: str | None = None
    ) -> list[dict[str, Any]]:
        """Storylines, the most recently active first (`since`: seen at or after; `query`:
        title holds it, case-insensitive)."""
        ...

    def storyline_detail(self, storyline_id: str) -> dict[str, Any] | None:
        """A storyline with its stories (as `list_stories` rows), oldest first."""
        ...

    def export_articles(self) -> Iterator[dict[str, Any]]:
        """Every stored article, in ingest order: `id`, `story_id`, `storyline_id`, `url`,
        `title`, `source`, `published_at`, `status`, `event_time`, `time_source`,
        `ingested_at`."""
        ...

    def story_detail(self, story_id: str) -> dict[str, Any] | None:
        """A story with its articles in order and, for each, the facts it added."""
        ...

    def list_events(self, *, story_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The latest `limit` event documents, oldest first (the order they were emitted)."""
        ...

    def list_rejections(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Rejected inputs, newest first, with their reasons."""
        ...
