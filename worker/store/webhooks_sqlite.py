"""Webhooks in the embedded store: endpoints, the outbox of due deliveries and the attempt log,
in tables of their own on the `SqliteStore`'s connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from worker.store.webhooks import Attempt, Delivery, Endpoint, delivery_id

__all__ = ["SqliteWebhooks"]

# Statement by statement rather than executescript, which would COMMIT an open transaction:
# the first event's outbox rows may create these inside its ingest transaction.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS webhook_endpoints (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        event_types TEXT NOT NULL DEFAULT '',   -- comma-separated; empty: every type
        enabled INTEGER NOT NULL DEFAULT 1,
        previous_secret TEXT,                   -- still signs during a rotation, until:
        previous_secret_until REAL,
        disabled_reason TEXT,
        disabled_at REAL,
        failing_since REAL,                     -- first failure with no success since
        created_at REAL NOT NULL
    )""",
    # the outbox: one row per (event, endpoint), plus one per replay or test message
    """CREATE TABLE IF NOT EXISTS webhook_deliveries (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        event_id TEXT NOT NULL,
        endpoint_id TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending', -- pending | delivered | failed
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at REAL,                            -- pending: next attempt, or the lease's end
        lease TEXT,                             -- token of the claim holding it
        last_status INTEGER,
        last_error TEXT,
        replay INTEGER NOT NULL DEFAULT 0,
        payload TEXT,                           -- test messages only: events are in `events`
        created_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(due_at) "
    "WHERE status = 'pending'",
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_event ON webhook_deliveries(event_id)",
    """CREATE TABLE IF NOT EXISTS webhook_attempts (
        seq INTEGER PRIMARY KEY,
        delivery_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        endpoint_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        at REAL NOT NULL,
        status_code INTEGER,
        latency_ms REAL NOT NULL,
        error TEXT,
        outcome TEXT NOT NULL                   -- delivered | retrying | failed
    )""",
    "CREATE INDEX IF NOT EXISTS webhook_attempts_delivery ON webhook_attempts(delivery_id, seq)",
)

_ENDPOINT_COLS = (
    "id, url, secret, event_types, enabled, previous_secret, previous_secret_until, "
    "disabled_reason, disabled_at, failing_since, created_at"
)
_DELIVERY_COLS = (
    "id, event_id, endpoint_id, status, attempts, due_at, last_status, last_error, replay, "
    "payload, created_at"
)


class SqliteWebhooks:
    """The `WebhookStore` of a `SqliteStore`: same connection, same file, same transactions."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        for statement in SCHEMA:
            db.execute(statement)

    # -- the outbox, from SqliteStore.add_event inside the ingest transaction ---------------
    def outbox(self, event: dict[str, Any], *, at: float) -> int:
        """Queue the event for every enabled endpoint that wants its type; how many."""
        wanted = [e for e in self.endpoints() if e.wants(event["type"])]
        return self.enqueue(
            [Delivery(delivery_id(event["id"], e.id), event["id"], e.id, at, due_at=at)
             for e in wanted]
        )  # fmt: skip

    # -- endpoints ---------------------------------------------------------------------------
    def add_endpoint(self, endpoint: Endpoint) -> None:
        self.db.execute(
            f"INSERT INTO webhook_endpoints({_ENDPOINT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                endpoint.id, endpoint.url, endpoint.secret, ",".join(endpoint.event_types),
                int(endpoint.enabled), endpoint.previous_secret, endpoint.previous_secret_until,
                endpoint.disabled_reason, endpoint.disabled_at, endpoint.failing_since,
                endpoint.created_at,
            ),
        )  # fmt: skip

    def endpoints(self) -> list[Endpoint]:
        rows = self.db.execute(f"SELECT {_ENDPOINT_COLS} FROM webhook_endpoints ORDER BY seq")
        return [_endpoint(r) for r in rows]

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        row = self.db.execute(
            f"SELECT {_ENDPOINT_COLS} FROM webhook_endpoints WHERE id=?", (endpoint_id,)
        ).fetchone()
        return None if row is None else _endpoint(row)

    def remove_endpoint(self, endpoint_id: str, *, at: float) -> bool:
        with _immediate(self.db):
            self._fail_pending(endpoint_id, "endpoint removed")
            cur = self.db.execute("DELETE FROM webhook_endpoints WHERE id=?", (endpoint_id,))
        return cur.rowcount == 1

    def set_enabled(
        self, endpoint_id: str, enabled: bool, *, at: float, reason: str | None = None
    ) -> bool:
        with _immediate(self.db):
            if enabled:
                cur = self.db.execute(
                    "UPDATE webhook_endpoints SET enabled=1, disabled_reason=NULL, "
                    "disabled_at=NULL, failing_since=NULL WHERE id=?",
                    (endpoint_id,),
                )
            else:
                cur = self.db.execute(
                    "UPDATE webhook_endpoints SET enabled=0, disabled_reason=?, disabled_at=? "
                    "WHERE id=?",
                    (reason, at, endpoint_id),
                )
                self._fail_pending(endpoint_id, f"endpoint disabled: {reason}")
        return cur.rowcount == 1

    def rotate_secret(self, endpoint_id: str, secret: str, *, previous_until: float) -> bool:
        cur = self.db.execute(
            "UPDATE webhook_endpoints SET previous_secret=secret, previous_secret_until=?, "
            "secret=? WHERE id=?",
            (previous_until, secret, endpoint_id),
        )
        return cur.rowcount == 1

    def mark_endpoint(self, endpoint_id: str, *, ok: bool, at: float) -> float | None:
        if ok:
            self.db.execute(
                "UPDATE webhook_endpoints SET failing_since=NULL WHERE id=?", (endpoint_id,)
            )
            return None
        row = self.db.execute(
            "UPDATE webhook_endpoints SET failing_since=COALESCE(failing_since, ?) WHERE id=? "
            "RETURNING failing_since",
            (at, endpoint_id),
        ).fetchone()
        return None if row is None else float(row[0])

    def _fail_pending(self, endpoint_id: str, why: str) -> None:
        self.db.execute(
            "UPDATE webhook_deliveries SET status='failed', due_at=NULL, lease=NULL, "
            "last_error=? WHERE endpoint_id=? AND status='pending'",
            (why, endpoint_id),
        )

    # -- deliveries --------------------------------------------------------------------------
    def enqueue(self, deliveries: list[Delivery]) -> int:
        cur = self.db.executemany(
            f"INSERT OR IGNORE INTO webhook_deliveries({_DELIVERY_COLS}) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (d.id, d.event_id, d.endpoint_id, d.status, d.attempts, d.due_at, d.last_status,
                 d.last_error, int(d.replay), d.payload, d.created_at)
                for d in deliveries
            ],
        )  # fmt: skip
        return max(cur.rowcount, 0)

    def claim(
        self,
        now: float,
        *,
        lease_until: float,
        token: str,
        limit: int,
        event_id: str | None = None,
    ) -> list[Delivery]:
        """One UPDATE ... RETURNING: atomic against other processes on the same file."""
        only_event, args = ("AND event_id=?", [event_id]) if event_id else ("", [])
        rows = self.db.execute(
            "UPDATE webhook_deliveries SET due_at=?, lease=? WHERE id IN ("
            "SELECT id FROM webhook_deliveries WHERE status='pending' AND due_at<=? "
            f"{only_event} ORDER BY due_at, seq LIMIT ?) RETURNING seq, {_DELIVERY_COLS}",
            [lease_until, token, now, *args, limit],
        ).fetchall()
        # RETURNING gives rows in no set order, and the payload of events lives in `events`
        claimed = [_delivery(r[1:]) for r in sorted(rows, key=lambda r: r[0])]
        payloads = self._payloads([d.event_id for d in claimed if d.payload is None])
        return [
            d if d.payload is not None else replace(d, payload=payloads.get(d.event_id))
            for d in claimed
        ]

    def finish(
        self, delivery: Delivery, token: str, attempt: Attempt, *, due_at: float | None
    ) -> bool:
        with _immediate(self.db):
            self._log(attempt)
            status = "pending" if due_at is not None else attempt.outcome
            cur = self.db.execute(
                "UPDATE webhook_deliveries SET status=?, attempts=attempts+1, due_at=?, "
                "lease=NULL, last_status=?, last_error=? WHERE id=? AND lease=?",
                (status, due_at, attempt.status_code, attempt.error, delivery.id, token),
            )
        return cur.rowcount == 1

    def release(self, delivery_id: str, token: str, *, due_at: float) -> bool:
        cur = self.db.execute(
            "UPDATE webhook_deliveries SET due_at=?, lease=NULL WHERE id=? AND lease=? "
            "AND status='pending'",
            (due_at, delivery_id, token),
        )
        return cur.rowcount == 1

    def deliveries(
        self, *, failed: bool = False, event_id: str | None = None, limit: int = 50
    ) -> list[tuple[Delivery, list[Attempt]]]:
        where, args = ["1"], []
        if failed:  # the last attempt failed: retrying, or given up
            where.append("last_error IS NOT NULL")
        if event_id:
            where.append("event_id=?")
            args.append(event_id)
        rows = self.db.execute(
            f"SELECT {_DELIVERY_COLS} FROM webhook_deliveries WHERE {' AND '.join(where)} "
            "ORDER BY seq DESC LIMIT ?",
            [*args, limit],
        ).fetchall()
        found = [_delivery(r) for r in rows]
        attempts: dict[str, list[Attempt]] = {d.id: [] for d in found}
        for chunk in _chunks(list(attempts)):
            for r in self.db.execute(
                "SELECT delivery_id, event_id, endpoint_id, attempt, at, status_code, "
                f"latency_ms, error, outcome FROM webhook_attempts WHERE delivery_id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY seq",
                chunk,
            ):
                attempts[r[0]].append(Attempt(*r))
        return [(d, attempts[d.id]) for d in found]

    def _log(self, a: Attempt) -> None:
        self.db.execute(
            "INSERT INTO webhook_attempts(delivery_id, event_id, endpoint_id, attempt, at, "
            "status_code, latency_ms, error, outcome) VALUES (?,?,?,?,?,?,?,?,?)",
            (a.delivery_id, a.event_id, a.endpoint_id, a.attempt, a.at, a.status_code,
             a.latency_ms, a.error, a.outcome),
        )  # fmt: skip

    # -- the stored events -------------------------------------------------------------------
    def event_payload(self, event_id: str) -> str | None:
        return self._payloads([event_id]).get(event_id)

    def events_between(self, since: float, until: float) -> list[tuple[str, str]]:
        rows = self.db.execute(
            "SELECT id, type FROM events WHERE created_at>=? AND created_at<? ORDER BY seq",
            (since, until),
        )
        return [(r[0], r[1]) for r in rows]

    def _payloads(self, event_ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(event_ids))):
            q = f"SELECT id, payload FROM events WHERE id IN ({','.join('?' * len(chunk))})"
            out.update({r[0]: r[1] for r in self.db.execute(q, chunk)})
        return out


class _immediate:
    """`BEGIN IMMEDIATE ... COMMIT` unless a transaction is already open (then: join it)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.own = False

    def __enter__(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self.own = True

    def __exit__(self, exc_type: object, *_: object) -> None:
        if self.own:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _endpoint(r: Iterable[Any]) -> Endpoint:
    (id_, url, secret, types, enabled, prev, prev_until, reason, disabled_at, failing,
     created) = r  # fmt: skip
    return Endpoint(
        id=id_, url=url, secret=secret, created_at=created,
        event_types=tuple(t for t in types.split(",") if t), enabled=bool(enabled),
        previous_secret=prev, previous_secret_until=prev_until, disabled_reason=reason,
        disabled_at=disabled_at, failing_since=failing,
    )  # fmt: skip


def _delivery(r: Iterable[Any]) -> Delivery:
    (id_, event_id, endpoint_id, status, attempts, due_at, last_status, last_error, replay,
     payload, created) = r  # fmt: skip
    return Delivery(
        id=id_, event_id=event_id, endpoint_id=endpoint_id, created_at=created, status=status,
        attempts=attempts, due_at=due_at, last_status=last_status, last_error=last_error,
        replay=bool(replay), payload=payload,
    )  # fmt: skip


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
