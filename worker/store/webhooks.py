"""Webhook endpoints, the outbox of deliveries and the attempt log: the rows and the protocol
that both backends (`webhooks_sqlite.py`, `webhooks_redis.py`) implement."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

__all__ = [
    "Attempt",
    "Delivery",
    "Endpoint",
    "Outcome",
    "WebhookStore",
    "delivery_id",
    "new_delivery_id",
    "new_endpoint_id",
]

Status = Literal["pending", "delivered", "failed"]
Outcome = Literal["delivered", "retrying", "failed"]  # of one attempt


def new_endpoint_id() -> str:
    return "ep_" + secrets.token_hex(6)


def delivery_id(event_id: str, endpoint_id: str) -> str:
    """The first delivery of an event to an endpoint: one id, so enqueuing twice is a no-op."""
    return "dl_" + hashlib.sha1(f"{event_id}|{endpoint_id}".encode()).hexdigest()[:20]


def new_delivery_id() -> str:
    """A replay or a test: a delivery of its own (the webhook-id is still the event id)."""
    return "dl_" + secrets.token_hex(10)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A subscribed URL, its signing secret(s) and the event types it wants (empty: all)."""

    id: str
    url: str
    secret: str  # whsec_<base64>
    created_at: float
    event_types: tuple[str, ...] = ()
    enabled: bool = True
    # during a rotation deliveries carry a signature with each secret, until this time
    previous_secret: str | None = None
    previous_secret_until: float | None = None
    disabled_reason: str | None = None
    disabled_at: float | None = None
    failing_since: float | None = None  # first failure with no success since

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.event_types or event_type in self.event_types)

    def signing_secrets(self, now: float) -> list[str]:
        """The current secret, then the previous one while the rotation lasts."""
        out = [self.secret]
        if self.previous_secret and (self.previous_secret_until or 0) > now:
            out.append(self.previous_secret)
        return out

    def to_dict(self, *, show_secret: bool = False) -> dict[str, Any]:
        d = asdict(self)
        d["event_types"] = list(self.event_types)
        if not show_secret:  # shown once, at `webhooks add`; a listing names only its start
            d["secret"] = self.secret[:10] + "…"
            d["previous_secret"] = self.previous_secret and self.previous_secret[:10] + "…"
        return d


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event (or test message) for one endpoint, until it is delivered or given up."""

    id: str
    event_id: str
    endpoint_id: str
    created_at: float
    status: Status = "pending"
    attempts: int = 0
    due_at: float | None = None  # pending: the next attempt (while claimed: the lease's end)
    last_status: int | None = None
    last_error: str | None = None
    replay: bool = False
    # the body: read from the stored event when claimed; kept inline only for test messages
    payload: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "payload"}


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST of a delivery: the delivery log's line."""

    delivery_id: str
    event_id: str
    endpoint_id: str
    attempt: int  # 1 for the first
    at: float
    status_code: int | None  # None: no answer (timeout, refused, connection error)
    latency_ms: float
    error: str | None  # None when delivered
    outcome: Outcome

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class WebhookStore(Protocol):
    """Endpoints, due deliveries (each claimed under a lease) and the attempt log of one store.

    The outbox rows of a new event are written by the store's `add_event`, in the ingest's
    own transaction; everything here runs outside that transaction.
    """

    # -- endpoints
    def add_endpoint(self, endpoint: Endpoint) -> None: ...

    def endpoints(self) -> list[Endpoint]:
        """Every endpoint, oldest first."""
        ...

    def endpoint(self, endpoint_id: str) -> Endpoint | None: ...

    def remove_endpoint(self, endpoint_id: str, *, at: float) -> bool:
        """Forget an endpoint; its pending deliveries fail. False when there was none."""
        ...

    def set_enabled(
        self, endpoint_id: str, enabled: bool, *, at: float, reason: str | None = None
    ) -> bool:
        """Disable (its pending deliveries fail with `reason`) or enable (its failure streak
        forgotten). False when there is no such endpoint."""
        ...

    def rotate_secret(self, endpoint_id: str, secret: str, *, previous_until: float) -> bool:
        """New signing secret; the old one keeps signing too until `previous_until`."""
        ...

    def mark_endpoint(self, endpoint_id: str, *, ok: bool, at: float) -> float | None:
        """Record an attempt's result; returns when the endpoint's failure streak began."""
        ...

    # -- deliveries
    def enqueue(self, deliveries: list[Delivery]) -> int:
        """Add pending deliveries (replays, tests); ids already present are skipped."""
        ...

    def claim(
        self,
        now: float,
        *,
        lease_until: float,
        token: str,
        limit: int,
        event_id: str | None = None,
    ) -> list[Delivery]:
        """Atomically take up to `limit` pending deliveries due at `now` (those of `event_id`
        only, when given), oldest due first, until `lease_until`; no other claim gets them
        before then. Each comes with its payload (None if the event is no longer stored)."""
        ...

    def finish(
        self, delivery: Delivery, token: str, attempt: Attempt, *, due_at: float | None
    ) -> bool:
        """Log `attempt` and apply it: `due_at` set means pending again, due then; else the
        delivery is done (`attempt.outcome`). False when the lease was lost meanwhile (the
        attempt is logged, the delivery left to its new holder)."""
        ...

    def release(self, delivery_id: str, token: str, *, due_at: float) -> bool:
        """Give a claimed delivery back unattempted, due at `due_at`."""
        ...

    def deliveries(
        self, *, failed: bool = False, event_id: str | None = None, limit: int = 50
    ) -> list[tuple[Delivery, list[Attempt]]]:
        """The latest deliveries, newest first, each with its attempts (oldest first).
        `failed`: only those whose last attempt failed (retrying or given up)."""
        ...

    # -- the stored events, for replays
    def event_payload(self, event_id: str) -> str | None:
        """The stored event document as JSON, or None."""
        ...

    def events_between(self, since: float, until: float) -> list[tuple[str, str]]:
        """(event id, type) of the events stored in [since, until), oldest first."""
        ...
