"""The feed registry: which feeds to poll, when, how they fared, and which entries were seen.

Two backends keep it beside the articles: `SqliteFeeds` (feeds_sqlite.py) and `RedisFeeds`
(feeds_redis.py); `store.feeds()` gives the one of the active store. Polling holds the logic
(worker/polling.py); a registry only records, and makes the races atomic: taking due feeds,
the per-feed lock and claiming an entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

__all__ = ["ENTRY_LEASE_S", "Feed", "FeedRegistry"]

# how long a claimed entry stays "being ingested" before another poll may take it again
# (a worker that died mid-entry); a page fetch and an ingest take seconds
ENTRY_LEASE_S = 600.0


@dataclass(frozen=True, slots=True)
class Feed:
    """One registered feed and its health."""

    url: str  # as added: the feed's identity
    title: str | None = None
    interval_s: int | None = None  # set by `feeds add --interval`: overrides the adaptive one
    poll_interval_s: int | None = None  # the interval the last successful poll chose
    added_at: float = 0.0
    next_poll_at: float | None = None  # None while suspended
    etag: str | None = None
    last_modified: str | None = None
    last_polled_at: float | None = None
    last_success_at: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    consecutive_failures: int = 0
    entries_seen: int = 0  # new entries found over the feed's life
    suspended: bool = False

    @property
    def status(self) -> str:
        """`suspended`, `failing` (failed last time), `ok`, or `new` (never polled)."""
        if self.suspended:
            return "suspended"
        if self.consecutive_failures:
            return "failing"
        return "ok" if self.last_success_at is not None else "new"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


class FeedRegistry(Protocol):
    """Feeds, their schedule and health, and the entries already seen (across all feeds)."""

    def add(
        self, url: str, *, now: float, interval_s: int | None = None, title: str | None = None
    ) -> bool:
        """Register a feed, due at once. Adding a known feed lifts its suspension, resets its
        failures and sets `interval_s`/`title` when given. True when the feed is new."""
        ...

    def remove(self, url: str) -> bool:
        """Forget a feed (its seen entries stay seen). False when it was not registered."""
        ...

    def resume(self, url: str, *, now: float) -> bool:
        """Lift a suspension and reset the failure count; the feed is due at once."""
        ...

    def get(self, url: str) -> Feed | None: ...

    def list_feeds(self) -> list[Feed]:
        """Every feed, by URL."""
        ...

    def take_due(
        self, now: float, *, hold_s: float, limit: int = 1000, force: bool = False
    ) -> list[Feed]:
        """Atomically take the feeds due at `now` (with `force`: every feed not suspended),
        soonest first, and push their next poll to `now + hold_s` so that no other poller
        takes them meanwhile; the poll's own record then sets the real next time."""
        ...

    def next_due_at(self) -> float | None:
        """When the soonest feed not suspended is due; None when there is none."""
        ...

    def lock(self, url: str, *, now: float, ttl_s: float) -> str | None:
        """Take the feed's poll lock for `ttl_s`; its token, or None when another holds it."""
        ...

    def unlock(self, url: str, token: str) -> None:
        """Give the lock back if `token` still holds it."""
        ...

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
        """A poll went through (200 or 304): validators kept, failures reset, next poll set.
        `poll_interval_s` None keeps the previous one; `title` fills an empty title only."""
        ...

    def record_failure(
        self, url: str, *, at: float, error: str, next_poll_at: float, max_failures: int
    ) -> Feed | None:
        """A poll failed: one more consecutive failure; at `max_failures` the feed is
        suspended (no next poll). The updated feed; None when it was removed meanwhile."""
        ...

    def claim_entry(
        self, keys: Sequence[str], *, now: float, ttl_s: float, lease_s: float = ENTRY_LEASE_S
    ) -> bool:
        """Claim an entry by all its keys (GUID, canonical URLs) at once, atomically.

        True: none of the keys was seen; they are now held for `lease_s`, to be confirmed
        (`confirm_entry`) or given back (`release_entry`). False: one of them is seen or
        held. When one is seen (confirmed), all of the entry's keys are remembered for
        another `ttl_s`: an entry still listed by a feed is never forgotten.
        """
        ...

    def confirm_entry(self, keys: Sequence[str], *, now: float, ttl_s: float) -> None:
        """The entry is done (ingested or rejected for good): remember its keys for `ttl_s`."""
        ...

    def release_entry(self, keys: Sequence[str]) -> None:
        """Give back keys held by `claim_entry` (a transient failure: the next poll retries)."""
        ...
