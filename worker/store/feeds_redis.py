"""The feed registry in Redis (keys in worker/keys.py): a hash per feed, a zset schedule.

Whatever reads and then writes runs as one Lua script (adding, taking due feeds, recording a
failure, claiming an entry), so any number of workers may share the registry. Feeds and their
schedule never expire; seen entries expire `feed_seen_ttl_s` after a feed last listed them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any

import redis

from worker.keys import Keys
from worker.store.feeds_base import ENTRY_LEASE_S, Feed
from worker.store.redis_lock import translated

__all__ = ["RedisFeeds"]

_ADD = """
local fresh = redis.call('EXISTS', KEYS[1]) == 0
if fresh then
  redis.call('HSET', KEYS[1], 'url', ARGV[1], 'added_at', ARGV[2], 'entries_seen', '0')
  redis.call('SADD', KEYS[2], ARGV[1])
end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'interval_s', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'title', ARGV[4]) end
redis.call('HSET', KEYS[1], 'suspended', '0', 'consecutive_failures', '0')
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return fresh and 1 or 0
"""
_RESUME = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'suspended', '0', 'consecutive_failures', '0')
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""
_TAKE_DUE = """
local urls
if ARGV[4] == '1' then
  urls = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
else
  urls = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
end
for _, url in ipairs(urls) do redis.call('ZADD', KEYS[1], ARGV[2], url) end
return urls
"""
_SUCCESS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_polled_at', ARGV[2], 'last_success_at', ARGV[2],
           'consecutive_failures', '0')
redis.call('HINCRBY', KEYS[1], 'entries_seen', ARGV[8])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'poll_interval_s', ARGV[4]) end
for i, field in ipairs({'etag', 'last_modified'}) do
  if ARGV[4 + i] == '' then redis.call('HDEL', KEYS[1], field)
  else redis.call('HSET', KEYS[1], field, ARGV[4 + i]) end
end
if ARGV[7] ~= '' then redis.call('HSETNX', KEYS[1], 'title', ARGV[7]) end
if redis.call('HGET', KEYS[1], 'suspended') ~= '1' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 1
"""
_FAILURE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local n = redis.call('HINCRBY', KEYS[1], 'consecutive_failures', 1)
redis.call('HSET', KEYS[1], 'last_error', ARGV[3], 'last_error_at', ARGV[2],
           'last_polled_at', ARGV[2])
if n >= tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[1], 'suspended', '1')
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
end
return n
"""
# KEYS: the entry's seen keys; ARGV: lease ms, ttl ms
_CLAIM = """
local states, any, done = {}, false, false
for i, key in ipairs(KEYS) do
  states[i] = redis.call('GET', key)
  if states[i] then any = true end
  if states[i] == 'done' then done = true end
end
if not any then
  for _, key in ipairs(KEYS) do redis.call('SET', key, 'pending', 'PX', ARGV[1]) end
  return 1
end
if done then
  for i, key in ipairs(KEYS) do
    if states[i] ~= 'pending' then redis.call('SET', key, 'done', 'PX', ARGV[2]) end
  end
end
return 0
"""
_RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == 'pending' then redis.call('DEL', key) end
end
return 0
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_DECODE: dict[str, Callable[[bytes], Any]] = {
    "url": bytes.decode,
    "title": bytes.decode,
    "interval_s": int,
    "poll_interval_s": int,
    "added_at": float,
    "etag": bytes.decode,
    "last_modified": bytes.decode,
    "last_polled_at": float,
    "last_success_at": float,
    "last_error": bytes.decode,
    "last_error_at": float,
    "consecutive_failures": int,
    "entries_seen": int,
    "suspended": lambda b: b == b"1",
}


class RedisFeeds:
    """`FeedRegistry` on a RedisStore's client and keys (`RedisFeeds(store.r, store.keys)`)."""

    def __init__(self, client: redis.Redis[bytes], keys: Keys):
        self.r = client
        self.keys = keys
        self._add = client.register_script(_ADD)
        self._resume = client.register_script(_RESUME)
        self._take_due = client.register_script(_TAKE_DUE)
        self._success = client.register_script(_SUCCESS)
        self._failure = client.register_script(_FAILURE)
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._unlock = client.register_script(_UNLOCK)

    # -- registration ---------------------------------------------------------------------
    @translated
    def add(
        self, url: str, *, now: float, interval_s: int | None = None, title: str | None = None
    ) -> bool:
        k = self.keys
        args = [url, repr(now), _arg(interval_s), _arg(title)]
        return bool(self._add(keys=[k.feed(url), k.feeds, k.feeds_due], args=args))

    @translated
    def remove(self, url: str) -> bool:
        k = self.keys
        with self.r.pipeline(transaction=True) as p:
            p.srem(k.feeds, url)
            p.delete(k.feed(url), k.feed_lock(url))
            p.zrem(k.feeds_due, url)
            removed = p.execute()[0]
        return bool(removed)

    @translated
    def resume(self, url: str, *, now: float) -> bool:
        k = self.keys
        return bool(self._resume(keys=[k.feed(url), k.feeds_due], args=[url, repr(now)]))

    @translated
    def get(self, url: str) -> Feed | None:
        return self._feeds([url])[0]

    @translated
    def list_feeds(self) -> list[Feed]:
        urls = sorted(u.decode() for u in self.r.smembers(self.keys.feeds))
        return [f for f in self._feeds(urls) if f is not None]

    def _feeds(self, urls: Sequence[str]) -> list[Feed | None]:
        with self.r.pipeline(transaction=False) as p:
            for url in urls:
                p.hgetall(self.keys.feed(url))
                p.zscore(self.keys.feeds_due, url)
            replies = p.execute()
        return [_feed(replies[2 * i], replies[2 * i + 1]) for i in range(len(urls))]

    # -- schedule -------------------------------------------------------------------------
    @translated
    def take_due(
        self, now: float, *, hold_s: float, limit: int = 1000, force: bool = False
    ) -> list[Feed]:
        args = [repr(now), repr(now + hold_s), limit, "1" if force else "0"]
        urls = [u.decode() for u in self._take_due(keys=[self.keys.feeds_due], args=args)]
        return [f for f in self._feeds(urls) if f is not None]

    @translated
    def next_due_at(self) -> float | None:
        first = self.r.zrange(self.keys.feeds_due, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    @translated
    def lock(self, url: str, *, now: float, ttl_s: float) -> str | None:
        token = secrets.token_hex(16)
        taken = self.r.set(self.keys.feed_lock(url), token, nx=True, px=max(1, int(ttl_s * 1000)))
        return token if taken else None

    @translated
    def unlock(self, url: str, token: str) -> None:
        self._unlock(keys=[self.keys.feed_lock(url)], args=[token])

    # -- health ---------------------------------------------------------------------------
    @translated
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
        k = self.keys
        args = [
            url,
            repr(at),
            repr(next_poll_at),
            _arg(poll_interval_s),
            _arg(etag),
            _arg(last_modified),
            _arg(title),
            new_entries,
        ]
        self._success(keys=[k.feed(url), k.feeds_due], args=args)

    @translated
    def record_failure(
        self, url: str, *, at: float, error: str, next_poll_at: float, max_failures: int
    ) -> Feed | None:
        k = self.keys
        args = [url, repr(at), error, repr(next_poll_at), max_failures]
        if int(self._failure(keys=[k.feed(url), k.feeds_due], args=args)) < 0:
            return None
        return self.get(url)

    # -- entries --------------------------------------------------------------------------
    @translated
    def claim_entry(
        self, keys: Sequence[str], *, now: float, ttl_s: float, lease_s: float = ENTRY_LEASE_S
    ) -> bool:
        if not keys:
            raise ValueError("an entry needs at least one key")
        names = [self.keys.seen_entry(k) for k in dict.fromkeys(keys)]
        return bool(self._claim(keys=names, args=[_ms(lease_s), _ms(ttl_s)]))

    @translated
    def confirm_entry(self, keys: Sequence[str], *, now: float, ttl_s: float) -> None:
        with self.r.pipeline(transaction=True) as p:
            for k in dict.fromkeys(keys):
                p.set(self.keys.seen_entry(k), "done", px=_ms(ttl_s))
            p.execute()

    @translated
    def release_entry(self, keys: Sequence[str]) -> None:
        if keys:
            self._release(keys=[self.keys.seen_entry(k) for k in dict.fromkeys(keys)])


def _feed(raw: dict[bytes, bytes], due: float | None) -> Feed | None:
    if not raw:
        return None
    values = {k.decode(): v for k, v in raw.items()}
    feed = {name: _DECODE[name](values[name]) for name in _DECODE if name in values}
    return Feed(**feed, next_poll_at=None if feed.get("suspended") else due)


def _arg(value: object) -> str:
    return "" if value is None else str(value)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
