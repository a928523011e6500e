"""Per-process singletons of a worker: the pipeline and its store, opened on first use.

A prefork worker forks its children after importing the app; each child opens its own
connections the first time a task needs them (nothing is shared across a fork).
"""

from __future__ import annotations

import os

import httpx

from worker.config import Settings
from worker.fetch import build_client
from worker.ingest import Pipeline
from worker.store.base import Store

__all__ = ["http_client", "pipeline", "store"]

_state: dict[str, object] = {}


def _ensure() -> tuple[Pipeline, Store]:
    if _state.get("pid") != os.getpid():  # first use in this process, or after a fork
        pipeline = Pipeline(Settings.from_env())
        store = pipeline.open_store()
        client = build_client(pipeline.settings)
        _state.update(pid=os.getpid(), pipeline=pipeline, store=store, http=client)
    return _state["pipeline"], _state["store"]  # type: ignore[return-value]


def pipeline() -> Pipeline:
    return _ensure()[0]


def store() -> Store:
    return _ensure()[1]


def http_client() -> httpx.Client:
    """One pooled client per process, with the private-network guard on every connect."""
    _ensure()
    return _state["http"]  # type: ignore[return-value]
