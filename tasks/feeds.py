"""Feed polling tasks: the beat sends `poll_due` every minute; it hands each due feed to `poll`.

Thin: the work is worker/polling.py. `poll_due` takes the due feeds atomically (their next poll
is pushed past POLL_HOLD_S), so two schedulers' ticks never hand out one feed twice; `poll`
holds the feed's lock while it polls, so two workers never poll one feed at once.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Task

from tasks import resources
from tasks.app import app
from worker.errors import TransientError
from worker.poller import host_limiter
from worker.polling import POLL_HOLD_S, poll_url

__all__ = ["poll", "poll_due"]

logger = logging.getLogger(__name__)

POLL = "wirewatch.feeds.poll"
RETRY_DELAY_S = 30.0


@app.task(name="wirewatch.feeds.poll_due")
def poll_due() -> int:
    """Queue one `poll` task per due feed; returns how many."""
    feeds = resources.store().feeds().take_due(time.time(), hold_s=POLL_HOLD_S)
    for feed in feeds:
        app.send_task(POLL, args=[feed.url])
    if feeds:
        logger.info("queued %d due feeds", len(feeds))
    return len(feeds)


# no result kept: a poll's events are on the stream already, and results would pile up
@app.task(name=POLL, bind=True, max_retries=None, ignore_result=True)
def poll(self: Task, url: str) -> list[dict[str, Any]]:
    """Poll one feed under its lock; returns its new entries' `ingest --json` lines."""
    pipeline, store = resources.pipeline(), resources.store()
    try:
        results = poll_url(
            url,
            pipeline=pipeline,
            store=store,
            registry=store.feeds(),
            client=resources.http_client(),
            limiter=host_limiter(store, pipeline),
            now=time.time(),
        )
    except TransientError as exc:  # store or host busy: nothing recorded, claims given back
        if self.request.retries >= pipeline.settings.task_max_retries:
            logger.warning("feed %s: %s; left for its next turn", url, exc)
            return []
        raise self.retry(exc=exc, countdown=RETRY_DELAY_S) from exc
    for result in results or ():
        for event in result.events:  # a review's story.created too
            app.send_task("wirewatch.events.fan_out", args=[event["id"]])
    return [r.to_dict() for r in results or ()]
