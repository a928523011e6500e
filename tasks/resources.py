"""Per-process singletons of a worker: the pipeline, its store and metrics, opened on first use.

A prefork worker forks its children after importing the app; each child opens its own
connections the first time a task needs them (nothing is shared across a fork). The pipeline
counts what it does into the deployment's shared metrics (worker/metrics_redis.py); what a
task counted is sent when the task ends.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx
import redis
from celery.signals import task_postrun

from worker.config import Settings
from worker.fetch import build_client
from worker.ingest import Pipeline
from worker.metrics import InstrumentedPipeline, Metrics, metrics_for
from worker.store.base import Store

__all__ = ["http_client", "metrics", "pipeline", "store"]

logger = logging.getLogger(__name__)

_state: dict[str, object] = {}


def _ensure() -> tuple[Pipeline, Store]:
    if _state.get("pid") != os.getpid():  # first use in this process, or after a fork
        settings = Settings.from_env()
        counts = metrics_for(settings)
        pipeline = InstrumentedPipeline(settings, counts)
        store = pipeline.open_store()
        client = build_client(settings)
        _state.update(pid=os.getpid(), pipeline=pipeline, store=store, http=client, metrics=counts)
    return _state["pipeline"], _state["store"]  # type: ignore[return-value]


def pipeline() -> Pipeline:
    return _ensure()[0]


def store() -> Store:
    return _ensure()[1]


def http_client() -> httpx.Client:
    """One pooled client per process, with the private-network guard on every connect."""
    _ensure()
    return _state["http"]  # type: ignore[return-value]


def metrics() -> Metrics:
    """The process's counts (kept in Redis when the deployment is distributed)."""
    _ensure()
    return _state["metrics"]  # type: ignore[return-value]


@task_postrun.connect
def _send_counts(**_: Any) -> None:
    """A task ended: send what it counted (kept for the next task if Redis is away)."""
    if _state.get("pid") != os.getpid():
        return  # nothing opened in this process: nothing counted
    try:
        metrics().flush()
    except redis.RedisError as exc:
        logger.warning("metrics not sent yet (kept for the next task): %s", exc)
