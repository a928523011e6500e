"""Webhook subscriptions: new endpoints (checked URL, `whsec_` secret) and replays of stored
events; sending them is worker/deliver.py's job."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from datetime import UTC, datetime
from ipaddress import ip_address

import httpx

from worker.config import Settings
from worker.errors import FetchRefused
from worker.fetch import check_address
from worker.store.webhooks import Delivery, Endpoint, WebhookStore, new_delivery_id, new_endpoint_id

__all__ = [
    "EVENT_TYPES",
    "check_secret",
    "generate_secret",
    "new_endpoint",
    "parse_duration",
    "parse_time",
    "replay",
]

EVENT_TYPES = ("story.created", "story.new_development")
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def generate_secret() -> str:
    """`whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_secret(secret: str) -> str:
    """The secret, if it is `whsec_` + base64 of 24 to 64 bytes; else ValueError naming it."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not secret.startswith(SECRET_PREFIX) or not 24 <= len(key) <= 64:
        raise ValueError(
            f"a secret is whsec_ + base64 of 24 to 64 random bytes, got {secret[:12]!r}…; "
            "leave --secret out to have one generated"
        )
    return secret


def new_endpoint(
    url: str,
    *,
    settings: Settings,
    now: float,
    event_types: tuple[str, ...] = (),
    secret: str | None = None,
) -> Endpoint:
    """A checked endpoint: http(s) URL with a host; an address literal must pass the same
    private-network guard as fetching (names are checked at each connect)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"invalid URL {url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"a webhook URL is http:// or https:// with a host, got {url!r}")
    try:
        literal = ip_address(parsed.host)
    except ValueError:
        literal = None
    if literal is not None:
        try:
            check_address(literal, allowed=settings.allowed_networks, host=parsed.host, url=url)
        except FetchRefused as exc:
            raise ValueError(exc.message) from None
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}")
    return Endpoint(
        id=new_endpoint_id(),
        url=url,
        secret=check_secret(secret) if secret else generate_secret(),
        created_at=now,
        event_types=tuple(dict.fromkeys(event_types)),
    )


def parse_duration(text: str) -> float:
    """`90s`, `30m`, `2h`, `3d` -> seconds."""
    m = _AGO.match(text.strip())
    if m is None:
        raise ValueError(f"a duration is a number and s, m, h or d (30m, 2h), got {text!r}")
    return float(m.group(1)) * _UNIT_S[m.group(2)]


def parse_time(text: str, *, now: float) -> float:
    """`2025-05-15T10:00:00Z` (ISO 8601, UTC unless it says), unix seconds, or `90m`/`2h`/`3d`
    meaning that long before `now`."""
    text = text.strip()
    if _AGO.match(text):
        return now - parse_duration(text)
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"a time is ISO 8601 (2025-05-15T10:00:00Z), unix seconds or an age such as 2h, "
            f"got {text!r}"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def replay(
    store: WebhookStore,
    *,
    now: float,
    event_id: str | None = None,
    since: float | None = None,
    until: float | None = None,
    endpoint_id: str | None = None,
) -> list[Delivery]:
    """Queue stored events again, due now: one event, or those stored in [since, until), for
    every enabled endpoint wanting them (or only `endpoint_id`). Each keeps its event id as
    `webhook-id`. Returns the new deliveries.

    Raises:
        ValueError: no such event or endpoint, or the endpoint is disabled.
    """
    if event_id is not None:
        payload = store.event_payload(event_id)
        if payload is None:
            raise ValueError(f"no stored event {event_id!r}; `wirewatch events` lists them")
        events = [(event_id, str(json.loads(payload)["type"]))]
    else:
        events = store.events_between(since if since is not None else 0.0, until or now + 1)
    if endpoint_id is not None:
        ep = store.endpoint(endpoint_id)
        if ep is None:
            raise ValueError(f"no endpoint {endpoint_id!r}; `wirewatch webhooks list` lists them")
        if not ep.enabled:
            raise ValueError(
                f"endpoint {endpoint_id} is disabled ({ep.disabled_reason}); "
                f"`wirewatch webhooks enable {endpoint_id}` first"
            )
        endpoints = [ep]
    else:
        endpoints = store.endpoints()
    deliveries = [
        Delivery(new_delivery_id(), eid, ep.id, now, due_at=now, replay=True)
        for eid, event_type in events
        for ep in endpoints
        if ep.wants(event_type)
    ]
    store.enqueue(deliveries)
    return deliveries
