"""Event delivery tasks: every stored event passes `fan_out` once its ingest has committed, and
the beat's `deliver_due` sends the retries and replays that come due later.

Events are already on the Redis stream and in the webhook outbox (both written in the
ingest's own transaction, so a crash cannot lose one). Long waits between retries live in the
store, never in Celery countdowns: a countdown past the broker's visibility timeout would
re-run the task in a loop. Each delivery is claimed under a lease, so two workers never send
the same attempt.
"""

from __future__ import annotations

import logging
import time

from tasks import resources
from tasks.app import app
from worker.deliver import Deliverer
from worker.errors import TransientError

__all__ = ["deliver_due", "fan_out"]

logger = logging.getLogger(__name__)


def _deliverer() -> Deliverer:
    """Per call, over the process's store and its guarded, pooled HTTP client."""
    return Deliverer(
        resources.pipeline().settings, resources.store().webhooks(), resources.http_client()
    )


@app.task(name="wirewatch.events.fan_out", ignore_result=True, throws=(TransientError,))
def fan_out(event_id: str) -> None:
    """Send one stored event's webhook deliveries now (a failure waits for `deliver_due`)."""
    started = time.perf_counter()
    report = _deliverer().deliver_due(time.time(), event_id=event_id)
    resources.metrics().count_deliveries(report, time.perf_counter() - started)
    logger.info("event %s: %d delivered, %d to retry, %d failed", event_id, report.delivered,
                report.retrying, report.failed)  # fmt: skip


@app.task(name="wirewatch.webhooks.deliver_due", ignore_result=True, throws=(TransientError,))
def deliver_due() -> None:
    """Send the deliveries that are due (beat: every DELIVER_DUE_EVERY_S)."""
    started = time.perf_counter()
    report = _deliverer().deliver_due(time.time())
    resources.metrics().count_deliveries(report, time.perf_counter() - started)
    if report.attempted or report.deferred:
        logger.info("due deliveries: %d delivered, %d to retry, %d failed, %d deferred",
                    report.delivered, report.retrying, report.failed, report.deferred)  # fmt: skip
