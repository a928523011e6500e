"""Webhook delivery, Standard Webhooks style: sign, POST, log the attempt, schedule the retry.

Due deliveries live in the store (the outbox `add_event` fills); `Deliverer.deliver_due` claims
them under a lease, so any number of processes can work through them without sending one
attempt twice. Nothing waits in memory: a restarted process carries on from the store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from worker.config import Settings, parse_retry_schedule
from worker.errors import FetchRefused
from worker.fetch import DEFAULT_USER_AGENT, build_client, parse_retry_after
from worker.store.webhooks import (
    Attempt,
    Delivery,
    Endpoint,
    Outcome,
    WebhookStore,
    delivery_id,
)

__all__ = [
    "TEST_EVENT_TYPE",
    "Deliverer",
    "Report",
    "Response",
    "post",
    "retry_delay",
    "sign",
    "signature_header",
]

logger = logging.getLogger(__name__)

TEST_EVENT_TYPE = "webhook.test"
BATCH = 10  # deliveries claimed at once; the lease covers all of them being sent in turn
_ERROR_BODY_CHARS = 200  # of a failed answer's body, kept in the log
_RETRY_AFTER = frozenset({429, 503})


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the decoded `whsec_` secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature per secret, space-separated (a consumer accepts any one that verifies)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def retry_delay(
    attempts: int, schedule: tuple[float, ...], *, jitter: float, rng: random.Random
) -> float | None:
    """Seconds until the next try after `attempts` failed ones; None once the schedule is done.

    `jitter` spreads each delay over [1-j, 1+j] so retries of a burst do not march together.
    """
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    return base * (1 + rng.uniform(-jitter, jitter)) if jitter else base


@dataclass(frozen=True, slots=True)
class Response:
    """What one POST came to: a status code, or an error without one."""

    status_code: int | None
    latency_ms: float
    error: str | None  # None when delivered
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def post(
    client: httpx.Client, url: str, *, headers: dict[str, str], body: bytes, timeout_s: float
) -> Response:
    """POST once; a 2xx answered within `timeout_s` is success, anything else an error.

    The only place delivery meets httpx: its exceptions (and the private-network guard's
    refusal) become a `Response` with an error, never an exception.
    """
    started = time.monotonic()

    def took() -> float:
        return round((time.monotonic() - started) * 1000, 1)

    try:
        request = client.build_request("POST", url, headers=headers, content=body,
                                       timeout=httpx.Timeout(timeout_s))  # fmt: skip
        response = client.send(request, stream=True)
    except FetchRefused as exc:
        return Response(None, took(), f"refused: {exc.message}")
    except httpx.TimeoutException:
        return Response(None, took(), f"timeout: no answer within {timeout_s:g} s")
    except (httpx.TransportError, httpx.InvalidURL) as exc:
        return Response(None, took(), f"{type(exc).__name__}: {exc}")
    try:
        status = response.status_code
        if 200 <= status < 300:
            if took() > timeout_s * 1000:
                return Response(status, took(), f"timeout: answered after {timeout_s:g} s")
            return Response(status, took(), None)
        said = _start_of_body(response)
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=time.time())
        error = f"HTTP {status} {response.reason_phrase}".rstrip() + (f": {said}" if said else "")
        return Response(status, took(), error, retry_after if status in _RETRY_AFTER else None)
    finally:
        response.close()


def _start_of_body(response: httpx.Response) -> str:
    try:
        for chunk in response.iter_bytes():  # the first chunk is enough; one line of it
            return " ".join(chunk[:_ERROR_BODY_CHARS].decode("utf-8", "replace").split())
    except httpx.HTTPError:
        pass  # the status says enough
    return ""


@dataclass(slots=True)
class Report:
    """What one `deliver_due` call did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0  # given up, or the endpoint is gone or disabled
    deferred: int = 0  # left for later, unattempted: their endpoint just failed
    disabled: dict[str, str] = field(default_factory=dict)  # endpoint id -> why

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


class Deliverer:
    """Sends due deliveries of one store.

    Args:
        client: an httpx client; default (built on first use): `build_client(settings)`,
            whose every connect passes the private-network guard.
        clock: the wall clock for `webhook-timestamp`, which consumers check against theirs;
            scheduling follows the `now` given to each call.
    """

    def __init__(
        self,
        settings: Settings,
        store: WebhookStore,
        client: httpx.Client | None = None,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ):
        self.settings = settings
        self.store = store
        self.schedule = parse_retry_schedule(settings.webhook_retry_schedule_s)
        self.clock = clock
        self.rng = rng or random.Random()
        # a claim holds its batch while each one may take the whole timeout
        self.lease_s = BATCH * (settings.webhook_timeout_s + 5) + 30
        self._client = client
        self._own_client = client is None

    def close(self) -> None:
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = build_client(self.settings)
        return self._client

    def deliver_due(
        self, now: float, *, event_id: str | None = None, max_batches: int = 100
    ) -> Report:
        """Attempt every delivery due at `now` (only `event_id`'s, when given), oldest first.

        An endpoint that does not answer (timeout, connection refused) is not tried again in
        the same call: its other due deliveries wait one first-retry delay, unattempted, so a
        dead endpoint costs one timeout a call. An endpoint that answers with an error status
        gets the rest: one failing message must not hold back the others.
        """
        report, failed_endpoints = Report(), set[str]()
        started = self.clock()
        for _ in range(max_batches):
            at = now + max(0.0, self.clock() - started)  # later batches: later leases
            token = secrets.token_hex(8)
            batch = self.store.claim(
                at, lease_until=at + self.lease_s, token=token, limit=BATCH, event_id=event_id
            )
            endpoints = {e.id: e for e in self.store.endpoints()} if batch else {}
            for d in batch:
                ep = endpoints.get(d.endpoint_id)
                if d.endpoint_id in report.disabled:  # just now: the store failed the rest
                    continue
                if ep is not None and ep.enabled and d.endpoint_id in failed_endpoints:
                    self.store.release(d.id, token, due_at=at + self.schedule[0])
                    report.deferred += 1
                    continue
                attempt = self._attempt(d, ep, token, at, report)
                if attempt.error is not None and attempt.status_code is None:  # no answer
                    failed_endpoints.add(d.endpoint_id)
            if len(batch) < BATCH:
                break
        return report

    def send_test(self, endpoint_id: str, now: float) -> Attempt:
        """POST a signed `webhook.test` message once (no retries), logged like the others.

        Raises:
            KeyError: no such endpoint.
        """
        ep = self.store.endpoint(endpoint_id)
        if ep is None:
            raise KeyError(endpoint_id)
        event_id = "evt_" + secrets.token_hex(12)
        doc = {
            "version": 1, "id": event_id, "type": TEST_EVENT_TYPE,
            "occurred_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
            "endpoint": {"id": ep.id, "url": ep.url},
        }  # fmt: skip
        d = Delivery(delivery_id(event_id, ep.id), event_id, ep.id, now, due_at=now,
                     payload=json.dumps(doc, sort_keys=True))  # fmt: skip
        self.store.enqueue([d])
        token = secrets.token_hex(8)
        claimed = self.store.claim(now, lease_until=now + self.lease_s, token=token, limit=1,
                                   event_id=event_id)  # fmt: skip
        return self._attempt(claimed[0], ep, token, now, Report(), test=True)

    def _attempt(
        self,
        d: Delivery,
        ep: Endpoint | None,
        token: str,
        now: float,
        report: Report,
        *,
        test: bool = False,
    ) -> Attempt:
        """One attempt of `d` (a test message: never retried), logged and applied."""
        n = d.attempts + 1
        gone = _undeliverable(d, ep, test=test)
        if gone is not None or ep is None:
            attempt = Attempt(d.id, d.event_id, d.endpoint_id, n, now, None, 0.0,
                              gone or "endpoint removed", "failed")  # fmt: skip
            self.store.finish(d, token, attempt, due_at=None)
            report.failed += 1
            return attempt
        assert d.payload is not None  # _undeliverable said so
        body = d.payload.encode()
        ts = int(self.clock())
        headers = {
            "webhook-id": d.event_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": signature_header(ep.signing_secrets(now), d.event_id, ts, body),
            "content-type": "application/json",
            "user-agent": self.settings.fetch_user_agent or DEFAULT_USER_AGENT,
        }
        r = post(self.client, ep.url, headers=headers, body=body,
                 timeout_s=self.settings.webhook_timeout_s)  # fmt: skip
        due_at = None
        if not r.ok and r.status_code != 410 and not test:
            delay = retry_delay(n, self.schedule, jitter=self.settings.webhook_retry_jitter,
                                rng=self.rng)  # fmt: skip
            if delay is not None and r.retry_after_s is not None:  # 429/503 said when
                delay = max(delay, min(r.retry_after_s, max(self.schedule)))
            due_at = None if delay is None else now + delay
        outcome: Outcome = "delivered" if r.ok else "failed"
        if due_at is not None:
            outcome = "retrying"
        attempt = Attempt(d.id, d.event_id, ep.id, n, now, r.status_code, r.latency_ms, r.error,
                          outcome)  # fmt: skip
        self.store.finish(d, token, attempt, due_at=due_at)
        setattr(report, outcome, getattr(report, outcome) + 1)
        logger.info("delivery %s of %s to %s (%s), attempt %d: %s%s", d.id, d.event_id, ep.id,
                    ep.url, n, outcome, f" ({r.error})" if r.error else "")  # fmt: skip
        if r.ok:
            self.store.mark_endpoint(ep.id, ok=True, at=now)
            return attempt
        since = self.store.mark_endpoint(ep.id, ok=False, at=now)
        why = None
        if r.status_code == 410:
            why = "410 Gone: the receiver asked to stop"
        elif since is not None and now - since >= self.settings.webhook_disable_after_s:
            why = (f"failing since {_iso(since)} with no success for over "
                   f"{self.settings.webhook_disable_after_s / 86400:g} days")  # fmt: skip
        if why:
            self.store.set_enabled(ep.id, False, at=now, reason=why)
            report.disabled[ep.id] = why
            logger.warning("webhook endpoint %s (%s) disabled: %s", ep.id, ep.url, why)
        return attempt


def _undeliverable(d: Delivery, ep: Endpoint | None, *, test: bool) -> str | None:
    """Why `d` fails without a request, if it does (a test may go to a disabled endpoint)."""
    if ep is None:
        return "endpoint removed"
    if not ep.enabled and not test:
        return f"endpoint disabled: {ep.disabled_reason}"
    if d.payload is None:
        return "event no longer stored"
    return None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
