"""The event fan-out hook: every stored event passes here once its ingest has committed.

Events are already on the Redis stream (appended in the ingest's own transaction, so a crash
cannot lose one). This task is where webhook delivery plugs in; until then it only logs.
"""

from __future__ import annotations

import logging

from tasks.app import app

__all__ = ["fan_out"]

logger = logging.getLogger(__name__)


@app.task(name="wirewatch.events.fan_out", ignore_result=True)
def fan_out(event_id: str) -> None:
    """Hand one stored event to its consumers (webhooks: issue 5)."""
    logger.info("event %s stored and on the stream", event_id)
