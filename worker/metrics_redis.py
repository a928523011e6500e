"""Counts shared by every process of a deployment, in two Redis hashes (distributed mode).

Each Celery worker buffers its counts and adds them with one pipelined round trip when a
task ends (`flush`); the API's `/metrics` reads the hashes at scrape time through a custom
collector, so one scrape shows the whole deployment: no per-worker endpoints to discover,
and a restarted worker loses at most the counts of the task it was running. Counters only
grow (HINCRBY), so Prometheus' `rate()` sees them as counters; a Redis restart without
persistence resets them, which `rate()` also handles.

Layout (keys in worker/keys.py): `metrics:counters` field `<name>|<label value>`;
`metrics:latency` fields `<stage>|<bucket index>` (per bucket, not cumulative; the last is
+Inf) and `<stage>|sum`.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Iterator

import redis
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from worker.config import Settings
from worker.keys import Keys
from worker.metrics import BUCKETS, COUNTERS, LATENCY, STAGES

__all__ = ["RedisSink"]


class RedisSink:
    """A metrics sink whose counts live in Redis; `flush()` sends what was buffered."""

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisSink:
        """A sink on the deployment's Redis and namespace."""
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=5.0, socket_connect_timeout=5.0
        )
        return cls(client, Keys(settings.redis_namespace))

    def __init__(self, client: redis.Redis[bytes], keys: Keys):
        self.r = client
        self.keys = keys
        self._lock = threading.Lock()  # the API's threads may count at once
        self._counts: Counter[str] = Counter()
        self._latency: Counter[str] = Counter()
        self._sums: Counter[str] = Counter()

    def inc(self, name: str, label: str | None = None, n: float = 1) -> None:
        if name not in COUNTERS:
            raise KeyError(f"unknown counter {name!r}")
        with self._lock:
            self._counts[f"{name}|{label or ''}"] += int(n)

    def observe(self, stage: str, seconds: float) -> None:
        seconds = max(0.0, seconds)
        bucket = bisect.bisect_left(BUCKETS, seconds)  # len(BUCKETS): the +Inf bucket
        with self._lock:
            self._latency[f"{stage}|{bucket}"] += 1
            self._sums[f"{stage}|sum"] += seconds

    def flush(self) -> None:
        """Add the buffered counts to the shared hashes (one round trip); on a Redis error
        they stay buffered for the next flush."""
        with self._lock:
            counts, latency, sums = self._counts, self._latency, self._sums
            self._counts, self._latency, self._sums = Counter(), Counter(), Counter()
        if not (counts or latency or sums):
            return
        try:
            with self.r.pipeline(transaction=False) as p:
                for field, n in counts.items():
                    p.hincrby(self.keys.metrics_counters, field, n)
                for field, n in latency.items():
                    p.hincrby(self.keys.metrics_latency, field, n)
                for field, s in sums.items():
                    p.hincrbyfloat(self.keys.metrics_latency, field, s)
                p.execute()
        except redis.RedisError:
            with self._lock:  # not lost: retried with the next flush
                self._counts.update(counts)
                self._latency.update(latency)
                self._sums.update(sums)
            raise

    def register(self, registry: CollectorRegistry) -> None:
        registry.register(_SharedCollector(self))


class _SharedCollector(Collector):
    """Reads the shared hashes at scrape time (after sending this process's own counts)."""

    def __init__(self, sink: RedisSink):
        self.sink = sink

    def describe(self) -> list[Metric]:
        return []  # the families are known only once read; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        s = self.sink
        s.flush()
        with s.r.pipeline(transaction=False) as p:
            p.hgetall(s.keys.metrics_counters)
            p.hgetall(s.keys.metrics_latency)
            raw_counts, raw_latency = p.execute()
        counts = {k.decode(): float(v) for k, v in raw_counts.items()}
        latency = {k.decode(): float(v) for k, v in raw_latency.items()}
        for f in COUNTERS.values():
            family = CounterMetricFamily(f.name, f.help, labels=[f.label] if f.label else [])
            prefix = f.name + "|"
            values = {k[len(prefix) :]: v for k, v in counts.items() if k.startswith(prefix)}
            for label in f.initial:
                values.setdefault(label, 0.0)
            if f.label is None:
                family.add_metric([], values.get("", 0.0))
            else:
                for label, v in sorted(values.items()):
                    family.add_metric([label], v)
            yield family
        name, help_, label = LATENCY
        hist = HistogramMetricFamily(name, help_, labels=[label])
        stages = dict.fromkeys(STAGES) | dict.fromkeys(k.split("|", 1)[0] for k in latency)
        for stage in stages:
            running, buckets = 0.0, []
            for i, bound in enumerate((*BUCKETS, float("inf"))):
                running += latency.get(f"{stage}|{i}", 0.0)
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
            hist.add_metric([stage], buckets, sum_value=latency.get(f"{stage}|sum", 0.0))
        yield hist
