"""Fetching over HTTP: conditional GETs, capped bodies, and no reaching inside the network."""

from __future__ import annotations

from worker.fetch.client import (
    DEFAULT_USER_AGENT,
    FEED_ACCEPT,
    FetchResult,
    GuardedTransport,
    build_client,
    fetch,
    parse_retry_after,
)
from worker.fetch.guard import GuardedBackend, check_address, refusal

__all__ = [
    "DEFAULT_USER_AGENT",
    "FEED_ACCEPT",
    "FetchResult",
    "GuardedBackend",
    "GuardedTransport",
    "build_client",
    "check_address",
    "fetch",
    "parse_retry_after",
    "refusal",
]
