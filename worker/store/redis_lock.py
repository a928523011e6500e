"""The one lock of RedisStore transactions: `SET NX PX` with a random token, a bounded wait, and
a commit fenced by `WATCH` on the lock, so a holder whose lock expired cannot write."""

from __future__ import annotations

import functools
import random
import secrets
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import redis
from redis.client import Pipeline

from worker.errors import TransientError

__all__ = ["FencedLock", "Op", "translated"]

Op = Callable[["Pipeline[bytes]"], object]  # one buffered write, replayed inside MULTI
_P = ParamSpec("_P")
_R = TypeVar("_R")
_MAX_POLL_S = 0.005  # a hold is ~1-5 ms: longer polls leave the lock idle between holders


def translated(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Redis connection trouble becomes TransientError (retry later), chained."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return fn(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise TransientError(f"redis unavailable: {exc}", reason="store_unavailable") from exc

    return wrapper


class FencedLock:
    """A lock on `key` that commits buffered writes only while still held."""

    def __init__(self, client: redis.Redis[bytes], key: str, *, ttl_ms: int, wait_s: float):
        self.r = client
        self.key = key
        self.ttl_ms = ttl_ms
        self.wait_s = wait_s

    @translated
    def acquire(self) -> str:
        """Take the lock, waiting up to `wait_s`; returns the token that proves holding it.

        Raises:
            TransientError: reason `store_busy` when another holder keeps it past the wait.
        """
        token = secrets.token_hex(16)
        deadline = time.monotonic() + self.wait_s
        delay_s = 0.001
        while not self.r.set(self.key, token, nx=True, px=self.ttl_ms):
            if time.monotonic() >= deadline:
                raise TransientError(
                    f"store busy: lock {self.key} held for over {self.wait_s}s",
                    reason="store_busy",
                )
            time.sleep(delay_s * (0.5 + random.random()))  # jitter: waiters do not march
            delay_s = min(delay_s * 2, _MAX_POLL_S)
        return token

    @translated
    def release(self, token: str) -> None:
        """Give the lock back if it is still ours (after a rollback)."""
        with self.r.pipeline(transaction=True) as p:
            try:
                p.watch(self.key)
                held: object = p.get(self.key)  # immediate: the pipeline is watching
                if held == token.encode():
                    p.multi()
                    p.delete(self.key)
                    p.execute()
            except redis.WatchError:
                pass  # it expired and moved on: nothing of ours to release

    @translated
    def commit(self, token: str, ops: list[Op]) -> None:
        """`WATCH lock; GET lock == token; MULTI; ops; DEL lock; EXEC`: all or nothing.

        Raises:
            TransientError: reason `store_busy` when the lock expired first; nothing written.
        """
        with self.r.pipeline(transaction=True) as p:
            try:
                p.watch(self.key)
                held: object = p.get(self.key)
                if held != token.encode():
                    raise TransientError(
                        "store busy: the transaction outlived its lock; nothing was written",
                        reason="store_busy",
                    )
                p.multi()
                for op in ops:
                    op(p)
                p.delete(self.key)
                p.execute()
            except redis.WatchError as exc:
                raise TransientError(
                    "store busy: the lock was lost before commit; nothing was written",
                    reason="store_busy",
                ) from exc
