"""`RedisHostLimiter`: per-host request slots shared by every worker, a semaphore with leases.

Per host, a zset of lease tokens scored by their expiry and a "next start" time, both on the
Redis clock (one clock for all machines). Acquire is one script: drop expired leases, refuse
while the host has `concurrency` leases or its spacing has not passed, else add a lease. A
worker that dies holding a slot loses it when the lease expires (fetch deadline + margin).
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from worker.errors import TransientError
from worker.fetch.hosts import DEFAULT_WAIT_S, host_of
from worker.keys import Keys
from worker.store.redis_lock import translated

__all__ = ["RedisHostLimiter"]

# KEYS: leases zset, next-start string; ARGV: token, concurrency, lease ms, interval ms.
# Returns 0 when the slot is taken, else how many ms to wait (-1: full, ask again soon).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
local next_start = tonumber(redis.call('GET', KEYS[2]) or '0')
if next_start > now then return next_start - now end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if tonumber(ARGV[4]) > 0 then
  redis.call('SET', KEYS[2], now + tonumber(ARGV[4]), 'PX', ARGV[4])
end
return 0
"""
_FULL_POLL_S = 0.02  # a full host is asked again after about this long
_MAX_SLEEP_S = 1.0


class RedisHostLimiter:
    """`HostLimiter` through Redis: `concurrency` requests per host across all workers."""

    def __init__(
        self,
        client: redis.Redis[bytes],
        keys: Keys,
        *,
        concurrency: int,
        interval_s: float,
        lease_s: float,
        wait_s: float = DEFAULT_WAIT_S,
    ):
        if concurrency < 1 or interval_s < 0 or lease_s <= 0:
            raise ValueError(
                f"concurrency must be >= 1, interval_s >= 0 and lease_s > 0, got "
                f"{concurrency!r}, {interval_s!r}, {lease_s!r}"
            )
        self.r = client
        self.keys = keys
        self.concurrency = concurrency
        self.interval_ms = int(interval_s * 1000)
        self.lease_ms = max(1, int(lease_s * 1000))
        self.wait_s = wait_s
        self._acquire_script = client.register_script(_ACQUIRE)

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        host = host_of(url)
        token = self._acquire(host)
        try:
            yield
        finally:
            self._release(host, token)

    @translated
    def _acquire(self, host: str) -> str:
        token = secrets.token_hex(8)
        keys = [self.keys.host_leases(host), self.keys.host_next(host)]
        args = [token, self.concurrency, self.lease_ms, self.interval_ms]
        deadline = time.monotonic() + self.wait_s
        while True:
            wait_ms = int(self._acquire_script(keys=keys, args=args))
            if wait_ms == 0:
                return token
            if time.monotonic() >= deadline:
                raise TransientError(
                    f"host {host} busy: no request slot within {self.wait_s:g}s",
                    reason="host_busy",
                )
            wait_s = _FULL_POLL_S if wait_ms < 0 else wait_ms / 1000
            # jitter: waiters on one host do not ask in lockstep
            time.sleep(min(wait_s, _MAX_SLEEP_S) * (0.5 + random.random()))

    @translated
    def _release(self, host: str, token: str) -> None:
        self.r.zrem(self.keys.host_leases(host), token)
