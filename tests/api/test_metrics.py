"""`/metrics` parses as Prometheus text, and its counters and histograms move as articles flow."""

from __future__ import annotations

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
    assert set(STAGES) == {"extract", "match", "novelty", "store", "deliver"}
    assert ("wirewatch_deliveries_total", (("outcome", "delivered"),)) in after


def test_metrics_instrumented_steps_still_exist_on_pipeline():
    # InstrumentedPipeline wraps these Pipeline methods; a rename must fail here, not go quiet
    from worker.ingest import Pipeline

    for name in ("_analyse", "_match", "_event", "_record", "reject"):
        assert callable(getattr(Pipeline, name)), name
