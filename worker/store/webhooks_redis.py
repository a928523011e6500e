"""Webhooks in the distributed store: endpoints, deliveries and attempts as hashes and lists,
due deliveries in one sorted set scored by due time (key names in worker/keys.py).

A claim is one script: it takes the due members and moves their score to the lease's end, so
a worker that dies holding a delivery hands it back by not finishing it; `finish` and
`release` apply only with the claim's token.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import redis
from redis.client import Pipeline

from worker.keys import Keys
from worker.store.redis_lock import Op, translated
from worker.store.webhooks import Attempt, Delivery, Endpoint, delivery_id

__all__ = ["RedisWebhooks"]

# KEYS: due zset. ARGV: now, lease_until, token, limit, delivery key prefix. Returns the ids.
_CLAIM_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  redis.call('HSET', ARGV[5] .. id, 'lease', ARGV[3])
end
return ids
"""
# KEYS: due zset. ARGV: now, lease_until, token, delivery key prefix, then candidate ids.
_CLAIM_IDS = """
local out = {}
for i = 5, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
    redis.call('HSET', ARGV[4] .. ARGV[i], 'lease', ARGV[3])
    out[#out + 1] = ARGV[i]
  end
end
return out
"""
# KEYS: delivery hash, its attempts list, due zset, failing zset.
# ARGV: token, delivery id, attempt JSON, status, due_at ('' when done), last_status (''),
#       last_error ('' when delivered), retention ms, created_at. Returns 1 if applied.
_FINISH = """
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'lease', 'last_status', 'last_error')
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', ARGV[4])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'last_status', ARGV[6]) end
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'last_error', ARGV[7])
  redis.call('ZADD', KEYS[4], ARGV[9], ARGV[2])
else
  redis.call('ZREM', KEYS[4], ARGV[2])
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'due_at', ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[2])
else
  redis.call('HDEL', KEYS[1], 'due_at')
  redis.call('ZREM', KEYS[3], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
end
return 1
"""
# KEYS: delivery hash, due zset. ARGV: token, delivery id, due_at. Returns 1 if released.
_RELEASE = """
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
redis.call('HDEL', KEYS[1], 'lease')
redis.call('HSET', KEYS[1], 'due_at', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
return 1
"""
# KEYS: delivery hash, due zset, failing zset. ARGV: delivery id, endpoint id, error,
#       retention ms. Fails the delivery if it is pending and the endpoint's.
_FAIL_PENDING = """
if redis.call('HGET', KEYS[1], 'endpoint_id') ~= ARGV[2] then return 0 end
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
redis.call('HDEL', KEYS[1], 'lease', 'due_at')
redis.call('HSET', KEYS[1], 'status', 'failed', 'last_error', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], 'created_at'), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""
# KEYS: endpoint hash. ARGV: at. Starts the failure streak unless one runs; returns its start.
_MARK_FAILING = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSETNX', KEYS[1], 'failing_since', ARGV[1])
return redis.call('HGET', KEYS[1], 'failing_since')
"""

_SCAN_LIMIT = 5000  # deliveries looked through for `deliveries(event_id=...)`


class RedisWebhooks:
    """The `WebhookStore` of a `RedisStore`, in its keyspace; every write applies at once."""

    def __init__(self, client: redis.Redis[bytes], keys: Keys, *, retention_ms: int):
        self.r = client
        self.keys = keys
        self.retention_ms = retention_ms
        self._claim_due = client.register_script(_CLAIM_DUE)
        self._claim_ids = client.register_script(_CLAIM_IDS)
        self._finish = client.register_script(_FINISH)
        self._release = client.register_script(_RELEASE)
        self._fail_pending = client.register_script(_FAIL_PENDING)
        self._mark_failing = client.register_script(_MARK_FAILING)

    # -- the outbox, from RedisStore.add_event: read now, written in the ingest's MULTI ------
    @translated
    def outbox(self, event: dict[str, Any], *, at: float) -> Op:
        """The buffered write that queues `event` for every endpoint wanting its type."""
        wanted = [e for e in self.endpoints() if e.wants(event["type"])]
        rows = [Delivery(delivery_id(event["id"], e.id), event["id"], e.id, at, due_at=at)
                for e in wanted]  # fmt: skip

        def op(p: Pipeline[bytes]) -> None:
            for d in rows:
                self._write_delivery(p, d)

        return op

    def _write_delivery(self, p: Pipeline[bytes], d: Delivery) -> None:
        k = self.keys
        p.hset(k.webhook_delivery(d.id), mapping=_delivery_fields(d))
        if d.status == "pending" and d.due_at is not None:
            p.zadd(k.webhook_due, {d.id: d.due_at})
        p.zadd(k.webhook_deliveries, {d.id: d.created_at})

    # -- endpoints ---------------------------------------------------------------------------
    @translated
    def add_endpoint(self, endpoint: Endpoint) -> None:
        with self.r.pipeline(transaction=True) as p:
            p.hset(self.keys.webhook_endpoint(endpoint.id), mapping=_endpoint_fields(endpoint))
            p.sadd(self.keys.webhook_endpoints, endpoint.id)
            p.execute()

    @translated
    def endpoints(self) -> list[Endpoint]:
        ids = sorted(i.decode() for i in self.r.smembers(self.keys.webhook_endpoints))
        with self.r.pipeline(transaction=False) as p:
            for i in ids:
                p.hgetall(self.keys.webhook_endpoint(i))
            found = [_endpoint(raw) for raw in p.execute() if raw]
        return sorted(found, key=lambda e: (e.created_at, e.id))

    @translated
    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        raw = self.r.hgetall(self.keys.webhook_endpoint(endpoint_id))
        return _endpoint(raw) if raw else None

    @translated
    def remove_endpoint(self, endpoint_id: str, *, at: float) -> bool:
        if not self.r.exists(self.keys.webhook_endpoint(endpoint_id)):
            return False
        self._fail_all_pending(endpoint_id, "endpoint removed")
        with self.r.pipeline(transaction=True) as p:
            p.delete(self.keys.webhook_endpoint(endpoint_id))
            p.srem(self.keys.webhook_endpoints, endpoint_id)
            p.execute()
        return True

    @translated
    def set_enabled(
        self, endpoint_id: str, enabled: bool, *, at: float, reason: str | None = None
    ) -> bool:
        key = self.keys.webhook_endpoint(endpoint_id)
        if not self.r.exists(key):
            return False
        if enabled:
            with self.r.pipeline(transaction=True) as p:
                p.hset(key, "enabled", "1")
                p.hdel(key, "disabled_reason", "disabled_at", "failing_since")
                p.execute()
            return True
        fields = {"enabled": "0", "disabled_at": repr(at)}
        if reason:
            fields["disabled_reason"] = reason
        self.r.hset(key, mapping=fields)  # type: ignore[arg-type]
        self._fail_all_pending(endpoint_id, f"endpoint disabled: {reason}")
        return True

    @translated
    def rotate_secret(self, endpoint_id: str, secret: str, *, previous_until: float) -> bool:
        key = self.keys.webhook_endpoint(endpoint_id)
        old = self.r.hget(key, "secret")
        if old is None:
            return False
        self.r.hset(key, mapping={"previous_secret": old, "secret": secret,
                                  "previous_secret_until": repr(previous_until)})  # fmt: skip
        return True

    @translated
    def mark_endpoint(self, endpoint_id: str, *, ok: bool, at: float) -> float | None:
        key = self.keys.webhook_endpoint(endpoint_id)
        if ok:
            self.r.hdel(key, "failing_since")
            return None
        since = self._mark_failing(keys=[key], args=[repr(at)])
        return None if since is None else float(since)

    def _fail_all_pending(self, endpoint_id: str, why: str) -> None:
        k = self.keys
        for batch in _chunks([i.decode() for i in self.r.zrange(k.webhook_due, 0, -1)], 500):
            with self.r.pipeline(transaction=False) as p:
                for d in batch:
                    self._fail_pending(
                        keys=[k.webhook_delivery(d), k.webhook_due, k.webhook_failing],
                        args=[d, endpoint_id, why, self.retention_ms],
                        client=p,
                    )
                p.execute()

    # -- deliveries --------------------------------------------------------------------------
    @translated
    def enqueue(self, deliveries: list[Delivery]) -> int:
        if not deliveries:
            return 0
        with self.r.pipeline(transaction=False) as p:
            for d in deliveries:
                p.exists(self.keys.webhook_delivery(d.id))
            present = p.execute()
        new = [d for d, there in zip(deliveries, present, strict=True) if not there]
        with self.r.pipeline(transaction=True) as p:
            for d in new:
                self._write_delivery(p, d)
            p.execute()
        return len(new)

    @translated
    def claim(
        self,
        now: float,
        *,
        lease_until: float,
        token: str,
        limit: int,
        event_id: str | None = None,
    ) -> list[Delivery]:
        k = self.keys
        if event_id is None:
            args: list[Any] = [repr(now), repr(lease_until), token, limit, k.webhook_delivery("")]
            ids = self._claim_due(keys=[k.webhook_due], args=args)
        else:  # its first deliveries have known ids; replays of it wait for deliver_due
            candidates = [delivery_id(event_id, e) for e in self._endpoint_ids()][:limit]
            if not candidates:
                return []
            args = [repr(now), repr(lease_until), token, k.webhook_delivery(""), *candidates]
            ids = self._claim_ids(keys=[k.webhook_due], args=args)
        if not ids:
            return []
        with self.r.pipeline(transaction=False) as p:
            for i in ids:
                p.hgetall(k.webhook_delivery(i.decode()))
            claimed = [_delivery(raw) for raw in p.execute() if raw]
        claimed.sort(key=lambda d: d.created_at)  # stable: ties keep the zset's order
        need = list(dict.fromkeys(d.event_id for d in claimed if d.payload is None))
        found = self.r.mget([k.event(e) for e in need]) if need else []
        payloads = {e: v.decode() for e, v in zip(need, found, strict=True) if v is not None}
        return [
            d if d.payload is not None else replace(d, payload=payloads.get(d.event_id))
            for d in claimed
        ]

    def _endpoint_ids(self) -> list[str]:
        return sorted(i.decode() for i in self.r.smembers(self.keys.webhook_endpoints))

    @translated
    def finish(
        self, delivery: Delivery, token: str, attempt: Attempt, *, due_at: float | None
    ) -> bool:
        k = self.keys
        status = "pending" if due_at is not None else attempt.outcome
        applied = self._finish(
            keys=[k.webhook_delivery(delivery.id), k.webhook_attempts(delivery.id),
                  k.webhook_due, k.webhook_failing],
            args=[token, delivery.id, json.dumps(attempt.to_dict()), status,
                  "" if due_at is None else repr(due_at),
                  "" if attempt.status_code is None else attempt.status_code,
                  attempt.error or "", self.retention_ms, repr(delivery.created_at)],
        )  # fmt: skip
        # the listing indexes hold ids, not data: trim them to the retention period
        oldest = attempt.at - self.retention_ms / 1000  # the callers' clock, as created_at
        with self.r.pipeline(transaction=False) as p:
            p.zremrangebyscore(k.webhook_deliveries, "-inf", f"({oldest!r}")
            p.zremrangebyscore(k.webhook_failing, "-inf", f"({oldest!r}")
            p.execute()
        return bool(applied)

    @translated
    def release(self, delivery_id: str, token: str, *, due_at: float) -> bool:
        k = self.keys
        return bool(
            self._release(
                keys=[k.webhook_delivery(delivery_id), k.webhook_due],
                args=[token, delivery_id, repr(due_at)],
            )
        )

    @translated
    def deliveries(
        self, *, failed: bool = False, event_id: str | None = None, limit: int = 50
    ) -> list[tuple[Delivery, list[Attempt]]]:
        k = self.keys
        index = k.webhook_failing if failed else k.webhook_deliveries
        scan = _SCAN_LIMIT if event_id else limit
        ids = [i.decode() for i in self.r.zrevrange(index, 0, scan - 1)]
        with self.r.pipeline(transaction=False) as p:
            for i in ids:
                p.hgetall(k.webhook_delivery(i))
            rows = [_delivery(raw) for raw in p.execute() if raw]
        if event_id:
            rows = [d for d in rows if d.event_id == event_id]
        if failed:  # an entry may lag its delivery's success by a moment
            rows = [d for d in rows if d.last_error is not None]
        rows = rows[:limit]
        with self.r.pipeline(transaction=False) as p:
            for d in rows:
                p.lrange(k.webhook_attempts(d.id), 0, -1)
            logs = p.execute()
        return [
            (d, [Attempt(**json.loads(a)) for a in log]) for d, log in zip(rows, logs, strict=True)
        ]

    # -- the stored events -------------------------------------------------------------------
    @translated
    def event_payload(self, event_id: str) -> str | None:
        v = self.r.get(self.keys.event(event_id))
        return None if v is None else v.decode()

    @translated
    def events_between(self, since: float, until: float) -> list[tuple[str, str]]:
        """From the events stream, whose entry ids are the times the events were stored."""
        out: list[tuple[str, str]] = []
        start, end = str(max(0, int(since * 1000))), f"({max(0, int(until * 1000))}"
        while True:
            entries = self.r.xrange(self.keys.events, start, end, count=500)
            out.extend((f[b"id"].decode(), f[b"type"].decode()) for _, f in entries)
            if len(entries) < 500:
                return out
            start = "(" + entries[-1][0].decode()


def _delivery_fields(d: Delivery) -> dict[str | bytes, str | int]:
    fields: dict[str | bytes, str | int] = {
        "id": d.id, "event_id": d.event_id, "endpoint_id": d.endpoint_id,
        "created_at": repr(d.created_at), "status": d.status, "attempts": d.attempts,
        "replay": int(d.replay),
    }  # fmt: skip
    if d.due_at is not None:
        fields["due_at"] = repr(d.due_at)
    if d.payload is not None:
        fields["payload"] = d.payload
    return fields


def _delivery(raw: dict[bytes, bytes]) -> Delivery:
    s = {k.decode(): v.decode() for k, v in raw.items()}
    return Delivery(
        id=s["id"], event_id=s["event_id"], endpoint_id=s["endpoint_id"],
        created_at=float(s["created_at"]), status=s["status"],  # type: ignore[arg-type]
        attempts=int(s.get("attempts", 0)),
        due_at=float(s["due_at"]) if "due_at" in s else None,
        last_status=int(s["last_status"]) if "last_status" in s else None,
        last_error=s.get("last_error"), replay=s.get("replay") == "1", payload=s.get("payload"),
    )  # fmt: skip


def _endpoint_fields(e: Endpoint) -> dict[str | bytes, str]:
    fields: dict[str | bytes, str] = {
        "id": e.id, "url": e.url, "secret": e.secret, "created_at": repr(e.created_at),
        "event_types": ",".join(e.event_types), "enabled": "1" if e.enabled else "0",
    }  # fmt: skip
    for name in ("previous_secret", "disabled_reason"):
        if getattr(e, name) is not None:
            fields[name] = getattr(e, name)
    for name in ("previous_secret_until", "disabled_at", "failing_since"):
        if getattr(e, name) is not None:
            fields[name] = repr(getattr(e, name))
    return fields


def _endpoint(raw: dict[bytes, bytes]) -> Endpoint:
    s = {k.decode(): v.decode() for k, v in raw.items()}

    def num(name: str) -> float | None:
        return float(s[name]) if name in s else None

    return Endpoint(
        id=s["id"], url=s["url"], secret=s["secret"], created_at=float(s["created_at"]),
        event_types=tuple(t for t in s.get("event_types", "").split(",") if t),
        enabled=s.get("enabled") == "1", previous_secret=s.get("previous_secret"),
        previous_secret_until=num("previous_secret_until"),
        disabled_reason=s.get("disabled_reason"), disabled_at=num("disabled_at"),
        failing_since=num("failing_since"),
    )  # fmt: skip


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
