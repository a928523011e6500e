"""Prometheus metrics: counters, gauges and per-stage latency histograms.

What is counted is declared once here (`COUNTERS`, the stage histogram). Where counts live
depends on the mode:
- embedded: in this process (`LocalSink`, prometheus_client objects);
- distributed: in Redis (`worker/metrics_redis.py`), so every Celery worker adds to the same
  counts and one scrape of the API's `/metrics` shows the whole deployment.

Each `Metrics` owns its CollectorRegistry (no global state: two apps in one test process do
not share counts). Stage latencies come from Pipeline's `on_stage` hook (worker/ingest.py
times its stages and knows nothing of Prometheus); `InstrumentedPipeline` counts every
result the pipeline returns, so its callers count nothing themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from worker.config import Settings
from worker.deliver import Report
from worker.errors import IngestError
from worker.ingest import Pipeline
from worker.models import Document, IngestResult
from worker.store.base import Store

__all__ = [
    "BUCKETS",
    "CONTENT_TYPE",
    "COUNTERS",
    "STAGES",
    "InstrumentedPipeline",
    "LocalSink",
    "Metrics",
    "Sink",
    "metrics_for",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STAGES = ("extract", "match", "novelty", "store", "review", "deliver")
# an ingest stage takes milliseconds; a webhook delivery up to its timeout (15 s by default)
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0)
LATENCY = ("wirewatch_stage_seconds", "Time spent per pipeline stage.", "stage")


@dataclass(frozen=True, slots=True)
class Family:
    """One counter: its name (without `_total`), help, label, and the label values shown at
    0 from the start (rates need a baseline)."""

    name: str
    help: str
    label: str | None
    initial: tuple[str, ...] = ()


COUNTERS = {
    f.name: f
    for f in (
        Family("wirewatch_articles_ingested", "Inputs ingested, by outcome.", "status",
               ("new_story", "development", "duplicate", "rejected")),
        Family("wirewatch_articles_rejected", "Inputs rejected, by reason.", "reason"),
        Family("wirewatch_events", "Events emitted, by type.", "type",
               ("story.created", "story.new_development")),
        Family("wirewatch_deliveries", "Webhook delivery attempts, by outcome.", "outcome",
               ("delivered", "retrying", "failed")),
        Family("wirewatch_articles_queued", "Inputs queued for the workers.", None),
    )
}  # fmt: skip


class Sink(Protocol):
    """Where counts go: this process (LocalSink) or Redis (metrics_redis.RedisSink)."""

    def inc(self, name: str, label: str | None = None, n: float = 1) -> None:
        """Add `n` to counter `name` (a key of COUNTERS) at label value `label`."""
        ...

    def observe(self, stage: str, seconds: float) -> None: ...

    def register(self, registry: CollectorRegistry) -> None:
        """Make the counts visible in `registry`."""
        ...

    def flush(self) -> None:
        """Send buffered counts where they are kept (a unit of work ended)."""
        ...


class LocalSink:
    """Counts in this process: prometheus_client counters and one histogram."""

    def __init__(self) -> None:
        self._registry = CollectorRegistry(auto_describe=True)
        r = self._registry
        self.counters = {
            f.name: Counter(f.name, f.help, [f.label] if f.label else [], registry=r)
            for f in COUNTERS.values()
        }
        for f in COUNTERS.values():
            for value in f.initial:
                self.counters[f.name].labels(value)
        name, help_, label = LATENCY
        self.latency = Histogram(name, help_, [label], buckets=BUCKETS, registry=r)
        for stage in STAGES:
            self.latency.labels(stage)

    def inc(self, name: str, label: str | None = None, n: float = 1) -> None:
        counter = self.counters[name]
        (counter.labels(label) if label is not None else counter).inc(n)

    def observe(self, stage: str, seconds: float) -> None:
        self.latency.labels(stage).observe(max(0.0, seconds))

    def flush(self) -> None:
        pass  # counted in place

    def register(self, registry: CollectorRegistry) -> None:
        for c in (*self.counters.values(), self.latency):
            registry.register(c)


class Metrics:
    """What the pipeline, the API and the workers count, and the gauges read at scrape time.

    Args:
        sink: where counts go; None keeps them in this process (embedded mode).
    """

    def __init__(self, sink: Sink | None = None) -> None:
        self.sink: Sink = sink if sink is not None else LocalSink()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.sink.register(r)
        self.stories = Gauge("wirewatch_stories", "Stories in the store.", registry=r)
        self.index_size = Gauge("wirewatch_index_documents", "Articles in the story index.",
                                registry=r)  # fmt: skip
        self.queue_depth = Gauge(
            "wirewatch_queue_depth",
            "Inputs waiting in the ingest queue (distributed mode).",
            registry=r,
        )

    def count_result(self, result: IngestResult) -> None:
        """Count one input's outcome and its event (a rejection's reason is counted by
        `count_rejection`, where it is known)."""
        self.sink.inc("wirewatch_articles_ingested", result.status)
        for event in result.events:
            self.sink.inc("wirewatch_events", event["type"])

    def count_rejection(self, reason: str) -> None:
        self.sink.inc("wirewatch_articles_rejected", reason)

    def count_queued(self) -> None:
        self.sink.inc("wirewatch_articles_queued")

    def count_deliveries(self, report: Report, seconds: float) -> None:
        """Count a `deliver_due` call's attempts by outcome; its time goes to the "deliver"
        stage when it attempted any (the beat's idle calls every few seconds do not)."""
        if report.attempted:
            self.sink.observe("deliver", seconds)
        for outcome in ("delivered", "retrying", "failed"):
            if n := getattr(report, outcome):
                self.sink.inc("wirewatch_deliveries", outcome, n)

    def flush(self) -> None:
        """Send buffered counts on (distributed mode: to Redis); call it when a task ends."""
        self.sink.flush()

    def refresh_gauges(self, store: Store, *, queue_depth: int | None = None) -> None:
        """Gauges read from the store (and the queue) at scrape time."""
        self.stories.set(store.story_count())
        if queue_depth is not None:
            self.queue_depth.set(queue_depth)
        self.index_size.set(store.doc_count())

    def render(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)


def metrics_for(settings: Settings) -> Metrics:
    """Counts in this process (embedded mode), or in Redis when `redis_url` is set."""
    if not settings.redis_url:
        return Metrics()
    from worker.metrics_redis import RedisSink  # it builds on this module

    return Metrics(RedisSink.from_settings(settings))


class InstrumentedPipeline(Pipeline):
    """A Pipeline that counts every result it returns (outcome, event type, rejection reason)
    and feeds its stages (extract, match, novelty, store) to the latency histogram."""

    def __init__(self, settings: Settings, metrics: Metrics):
        super().__init__(settings, on_stage=metrics.sink.observe)
        self.metrics = metrics

    def ingest(self, doc: Document, store: Store, *, now: float) -> IngestResult:
        result = super().ingest(doc, store, now=now)
        if result.status != "rejected":  # a rejection was counted by `reject`
            self.metrics.count_result(result)
        return result

    def reject(self, origin: str, exc: IngestError, store: Store, *, now: float) -> IngestResult:
        result = super().reject(origin, exc, store, now=now)
        self.metrics.count_rejection(exc.reason)
        self.metrics.count_result(result)
        return result
