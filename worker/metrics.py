"""Prometheus metrics of one process: counters, gauges and per-stage latency histograms.

Each `Metrics` owns its CollectorRegistry (no global state: two apps in one test process do
not share counts). Stage latencies come from Pipeline's `on_stage` hook (worker/ingest.py
times its stages and knows nothing of Prometheus).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from worker.deliver import Report
from worker.errors import IngestError
from worker.ingest import Pipeline
from worker.models import IngestResult
from worker.store.base import Store

__all__ = ["CONTENT_TYPE", "STAGES", "InstrumentedPipeline", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STAGES = ("extract", "match", "novelty", "store", "deliver")
# an ingest stage takes milliseconds; a webhook delivery up to its timeout (15 s by default)
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0)


class Metrics:
    """The counters, gauges and histograms `/metrics` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.articles = Counter("wirewatch_articles_ingested", "Inputs ingested, by outcome.",
                                ["status"], registry=r)  # fmt: skip
        self.rejected = Counter("wirewatch_articles_rejected", "Inputs rejected, by reason.",
                                ["reason"], registry=r)  # fmt: skip
        self.events = Counter("wirewatch_events", "Events emitted, by type.", ["type"], registry=r)
        self.deliveries = Counter("wirewatch_deliveries", "Webhook delivery attempts, by outcome.",
                                  ["outcome"], registry=r)  # fmt: skip
        self.queued = Counter("wirewatch_articles_queued", "Inputs queued for the workers.",
                              registry=r)  # fmt: skip
        self.stories = Gauge("wirewatch_stories", "Stories in the store.", registry=r)
        self.index_size = Gauge("wirewatch_index_documents", "Articles in the story index.",
                                registry=r)  # fmt: skip
        self.queue_depth = Gauge(
            "wirewatch_queue_depth",
            "Inputs waiting in the ingest queue (distributed mode).",
            registry=r,
        )
        self.latency = Histogram("wirewatch_stage_seconds", "Time spent per pipeline stage.",
                                 ["stage"], buckets=_BUCKETS, registry=r)  # fmt: skip
        for status in ("new_story", "development", "duplicate", "rejected"):
            self.articles.labels(status)  # present at 0 from the start: rates need a baseline
        for stage in STAGES:
            self.latency.labels(stage)
        for outcome in ("delivered", "retrying", "failed"):
            self.deliveries.labels(outcome)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Observe the block's duration in the stage's histogram."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.latency.labels(stage).observe(time.perf_counter() - started)

    def count_result(self, result: IngestResult) -> None:
        """Count one input's outcome and its event (the reason of a rejection is counted by
        `InstrumentedPipeline.reject`, where it is known)."""
        self.articles.labels(result.status).inc()
        if result.event is not None:
            self.events.labels(result.event["type"]).inc()

    def count_deliveries(self, report: Report) -> None:
        self.deliveries.labels("delivered").inc(report.delivered)
        self.deliveries.labels("retrying").inc(report.retrying)
        self.deliveries.labels("failed").inc(report.failed)

    def refresh_gauges(self, store: Store, *, stories: int, queue_depth: int | None = None) -> None:
        """Gauges read from the store (and the queue) at scrape time."""
        self.stories.set(stories)
        if queue_depth is not None:
            self.queue_depth.set(queue_depth)
        self.index_size.set(store.doc_count())

    def render(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)


class InstrumentedPipeline(Pipeline):
    """A Pipeline whose stages (extract, match, novelty, store) feed the latency histograms
    through its `on_stage` hook, and whose rejections are counted by reason."""

    def __init__(self, settings: Any, metrics: Metrics):
        super().__init__(settings, on_stage=self._observe)
        self.metrics = metrics

    def _observe(self, stage: str, seconds: float) -> None:
        self.metrics.latency.labels(stage).observe(max(0.0, seconds))

    def reject(self, origin: str, exc: IngestError, store: Store, *, now: float) -> IngestResult:
        self.metrics.rejected.labels(exc.reason).inc()
        return super().reject(origin, exc, store, now=now)
