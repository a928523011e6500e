"""The Celery app: broker, result backend and delivery guarantees, all from `Settings`.

`Settings.from_env()` is read once, here, when a worker or a producer process starts.
At-least-once delivery: a task is acknowledged after it ran (`acks_late`), a task whose worker
process died is requeued (`task_reject_on_worker_lost`), and a worker holds one message at a
time (prefetch 1), so a crash loses nothing and redelivers at most what was running. Every
task is idempotent (the content hash, the canonical URL and the event id make a second run
change nothing), so redelivery is safe.

Periodic work (feed polling every `FEED_POLL_EVERY_S`, due webhook retries every
`DELIVER_DUE_EVERY_S`) is sent by `celery -A tasks beat`: run exactly one beat per deployment
(docker-compose.yml's `scheduler` service), or each tick is sent twice. A second tick does no
harm (`feeds.poll_due` takes each due feed once, a delivery is claimed under a lease), but it
is wasted work.
"""

from __future__ import annotations

from celery import Celery

from worker.config import Settings
from worker.keys import Keys

__all__ = ["app", "configure", "queue_name"]

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
FEED_POLL_EVERY_S = 60.0  # how often the beat looks for due feeds
DELIVER_DUE_EVERY_S = 5.0  # how often the beat sends due webhook retries (the first is 5 s)


def queue_name(settings: Settings) -> str:
    """`wirewatch`, or `wirewatch.<namespace>`: deployments sharing a Redis keep apart."""
    return "wirewatch" + (f".{settings.redis_namespace}" if settings.redis_namespace else "")


def configure(app: Celery, settings: Settings) -> None:
    """Point `app` at the settings' Redis and set the delivery guarantees."""
    url = settings.redis_url or DEFAULT_REDIS_URL
    transport = {
        "visibility_timeout": settings.task_visibility_timeout_s,
        # a dead worker's unacked tasks come back once past the visibility timeout; kombu
        # looks for them every 10 s x throttle (100 s by default) and a crashed restorer holds
        # the restore mutex for 300 s: look every 10 s, hold at most 30 s
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": 30,
        # queues, the unacked set and results under the deployment's own prefix
        "global_keyprefix": Keys(settings.redis_namespace).prefix + "celery:",
    }
    app.conf.update(
        broker_url=url,
        result_backend=url,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        result_expires=settings.task_result_ttl_s,
        worker_hijack_root_logger=False,
        task_default_queue=queue_name(settings),
        beat_schedule={
            "poll-due-feeds": {"task": "wirewatch.feeds.poll_due", "schedule": FEED_POLL_EVERY_S},
            # webhooks (issue 5): release due retries; a tick older than the next is dropped
            "deliver-due-webhooks": {
                "task": "wirewatch.webhooks.deliver_due",
                "schedule": DELIVER_DUE_EVERY_S,
                "options": {"expires": DELIVER_DUE_EVERY_S},
            },
        },
    )


app = Celery("wirewatch", include=["tasks.ingest", "tasks.events", "tasks.feeds"])
configure(app, Settings.from_env())
