"""`/metrics` parses as Prometheus text, and its counters and histograms move as articles flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SEEDS
from worker.metrics import STAGES


def _samples(api) -> dict[tuple[str, tuple], float]:
    r = api.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_counters_move_as_articles_are_posted(api):
    # Given a fresh server: the counters exist at zero
    before = _samples(api)
    assert before[("wirewatch_articles_ingested_total", (("status", "new_story"),))] == 0
    # When the seeds and one bad body are posted
    for path in SEEDS:
        api.client.post(
            "/v1/articles",
            content=path.read_bytes(),
            headers={**api.auth(), "Content-Type": "text/plain"},
        )
    api.client.post(
        "/v1/articles", content=b"{bad", headers={**api.auth(), "Content-Type": "application/json"}
    )
    # Then the counters, gauges and stage histograms moved
    after = _samples(api)
    status = lambda s: after[("wirewatch_articles_ingested_total", (("status", s),))]  # noqa: E731
    assert status("new_story") == 1 and status("development") == 3
    assert status("duplicate") == 1 and status("rejected") == 1
    assert after[("wirewatch_articles_rejected_total", (("reason", "bad_json"),))] == 1
    assert after[("wirewatch_events_total", (("type", "story.created"),))] == 1
    assert after[("wirewatch_events_total", (("type", "story.new_development"),))] == 3
    assert after[("wirewatch_stories", ())] == 1
    assert after[("wirewatch_index_documents", ())] == 5
    for stage in ("extract", "match", "novelty", "store"):
        assert after[("wirewatch_stage_seconds_count", (("stage", stage),))] > 0, stage
    assert set(STAGES) == {"extract", "match", "novelty", "store", "review", "deliver"}
    assert ("wirewatch_deliveries_total", (("outcome", "delivered"),)) in after


def test_pipeline_reports_each_stage_to_its_observer(tmp_path):
    from worker import Document, Pipeline, Settings

    heard: list[tuple[str, float]] = []
    pipeline = Pipeline(
        Settings(db_path=str(tmp_path / "s.db")), on_stage=lambda n, s: heard.append((n, s))
    )
    store = pipeline.open_store()
    seeds = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.txt"))[:2]
    for p in seeds:
        pipeline.ingest(Document(p.name, p.read_text(encoding="utf-8"), "text"), store, now=1e9)
    store.close()
    names = [n for n, _ in heard]
    assert names.count("extract") == names.count("store") == 2
    assert names.count("match") == 2 and names.count("novelty") == 1  # the 2nd joins the 1st
    assert all(s >= 0 for _, s in heard)


def test_shared_metrics_add_up_across_processes_and_survive_a_failed_send(redis_client):
    import uuid

    import redis

    from worker.keys import Keys
    from worker.metrics import Metrics
    from worker.metrics_redis import RedisSink

    keys = Keys("t" + uuid.uuid4().hex[:12])
    # Given two workers' metrics on one Redis, and an API that only reads
    workers = [Metrics(RedisSink(redis_client, keys)) for _ in range(2)]
    api = Metrics(RedisSink(redis_client, keys))
    # When each counts and flushes, and one also counts while Redis is unreachable
    for m in workers:
        m.sink.inc("wirewatch_articles_ingested", "new_story")
        m.sink.inc("wirewatch_articles_rejected", "binary", 2)
        m.sink.observe("extract", 0.003)
        m.flush()
    away = workers[1].sink
    away.r = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    away.inc("wirewatch_events", "story.created")
    with pytest.raises(redis.ConnectionError):
        away.flush()
    before = _parse(api.render())
    away.r = redis_client  # Redis is back: the kept counts go with the next flush
    away.flush()
    after = _parse(api.render())
    # Then the reader sees the sum of both, and nothing counted while away was lost
    assert before[("wirewatch_articles_ingested_total", (("status", "new_story"),))] == 2
    assert before[("wirewatch_articles_rejected_total", (("reason", "binary"),))] == 4
    assert before[("wirewatch_events_total", (("type", "story.created"),))] == 0
    assert after[("wirewatch_events_total", (("type", "story.created"),))] == 1
    hist = {k[1]: v for k, v in after.items() if k[0] == "wirewatch_stage_seconds_bucket"}
    assert hist[(("le", "0.0025"), ("stage", "extract"))] == 0
    assert hist[(("le", "0.005"), ("stage", "extract"))] == 2
    assert hist[(("le", "+Inf"), ("stage", "extract"))] == 2
    assert after[("wirewatch_stage_seconds_sum", (("stage", "extract"),))] == pytest.approx(0.006)
    for key in (keys.metrics_counters, keys.metrics_latency):
        redis_client.delete(key)


def _parse(text: bytes) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }
