"""The HTTP API in distributed mode: `POST /v1/articles` queues `wirewatch.ingest.document`,
and `/metrics` reports the queue's depth."""

from __future__ import annotations

from typing import Any

from celery import Celery
from fastapi import FastAPI

from tasks.app import queue_name
from worker.api import create_app
from worker.config import Settings

__all__ = ["create_distributed_app"]

INGEST_DOCUMENT = "wirewatch.ingest.document"


def create_distributed_app(settings: Settings, *, celery_app: Celery | None = None) -> FastAPI:
    """`worker.api.create_app` with Celery's sender as its `enqueue` (default: `tasks.app`)."""
    if celery_app is None:
        from tasks.app import app as celery_app
    sender: Celery = celery_app
    queue = queue_name(settings)

    def enqueue(doc: dict[str, Any]) -> str:
        return str(sender.send_task(INGEST_DOCUMENT, args=[doc], queue=queue).id)

    def queue_depth() -> int:
        with sender.connection_for_write() as conn:
            # declaring is idempotent (workers declare the same queue); a passive declare
            # fails until the first message or worker has declared it
            return int(conn.default_channel.queue_declare(queue=queue).message_count)

    return create_app(settings, enqueue=enqueue, queue_depth=queue_depth)
