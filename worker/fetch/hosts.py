"""Per-host politeness: at most N requests in flight to one host, and a least spacing between them.

`LocalHostLimiter` holds the state in this process (embedded mode, its polling threads);
`RedisHostLimiter` (worker/store/host_slots.py) shares it between all workers through Redis.
Polling wraps every fetch, feed or page, in `limiter.slot(url)`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol
from urllib.parse import urlsplit

from worker.errors import TransientError

__all__ = ["DEFAULT_WAIT_S", "HostLimiter", "LocalHostLimiter", "host_of"]

DEFAULT_WAIT_S = 120.0  # waiting longer than this for a host's slot: give up, retry later


class HostLimiter(Protocol):
    """Something that hands out request slots per host."""

    def slot(self, url: str) -> AbstractContextManager[None]:
        """Hold one of the URL's host slots while the block runs (waits for one).

        Raises:
            TransientError: reason `host_busy` when no slot came free in time.
        """
        ...


def host_of(url: str) -> str:
    """The host a URL's politeness counts against: its lower-case name, port ignored."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    return (host or "").rstrip(".") or "-"


class LocalHostLimiter:
    """`HostLimiter` for the threads of one process."""

    def __init__(self, concurrency: int, interval_s: float, *, wait_s: float = DEFAULT_WAIT_S):
        if concurrency < 1 or interval_s < 0:
            raise ValueError(
                f"concurrency must be >= 1 and interval_s >= 0, got {concurrency!r}, {interval_s!r}"
            )
        self.concurrency = concurrency
        self.interval_s = interval_s
        self.wait_s = wait_s
        self._cond = threading.Condition()
        self._active: dict[str, int] = {}
        self._next_start: dict[str, float] = {}

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        host = host_of(url)
        self._acquire(host)
        try:
            yield
        finally:
            with self._cond:
                self._active[host] -= 1
                if not self._active[host]:
                    del self._active[host]
                self._cond.notify_all()

    def _acquire(self, host: str) -> None:
        deadline = time.monotonic() + self.wait_s
        with self._cond:
            while True:
                now = time.monotonic()
                free = self._active.get(host, 0) < self.concurrency
                wait = self._next_start.get(host, 0.0) - now if free else self.wait_s
                if free and wait <= 0:
                    break
                if now >= deadline:
                    raise TransientError(
                        f"host {host} busy: no request slot within {self.wait_s:g}s",
                        reason="host_busy",
                    )
                self._cond.wait(min(wait, deadline - now))
            self._active[host] = self._active.get(host, 0) + 1
            self._next_start[host] = now + self.interval_s
