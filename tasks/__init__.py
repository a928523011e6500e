"""Celery tasks over the `worker` library: `celery -A tasks worker` or `wirewatch worker`."""

from __future__ import annotations

from tasks.app import app

__all__ = ["app"]
