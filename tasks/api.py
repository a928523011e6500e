"""The HTTP API in distributed mode: `POST /v1/articles` queues `wirewatch.ingest.document`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from worker.api import create_app
from worker.config import Settings

__all__ = ["create_distributed_app"]

INGEST_DOCUMENT = "wirewatch.ingest.document"


def create_distributed_app(settings: Settings) -> FastAPI:
    """`worker.api.create_app` with the Celery sender as its `enqueue`."""
    from tasks.app import app as celery_app

    def enqueue(doc: dict[str, Any]) -> str:
        return str(celery_app.send_task(INGEST_DOCUMENT, args=[doc]).id)

    return create_app(settings, enqueue=enqueue)
