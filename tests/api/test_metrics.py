"""`/metrics` parses as Prometheus text, and its counters and histograms move as articles flow."""

from __future__ import annotations

from pathlib import Path

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
