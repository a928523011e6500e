"""The HTTP API in distributed mode: POST queues for a real Celery worker (202 + task id),
the reads come from the Redis store, the operator's corrections apply to it, `/metrics`
reports the queue depth."""

from __future__ import annotations

import dataclasses
import time

from prometheus_client.parser import text_string_to_metric_families

from tasks.api import create_distributed_app
from tests.api.conftest import TOKEN, serve  # noqa: F401 -- the server fixture
from tests.conftest import SEEDS


def _samples(api) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(api.client.get("/metrics").text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _queue_depth(api) -> float:
    return _samples(api)[("wirewatch_queue_depth", ())]


def test_api_distributed_queues_then_a_worker_ingests(distributed, start_worker, serve):  # noqa: F811
    # Given the API of a deployment on the test Redis, before any worker runs
    settings = dataclasses.replace(distributed["settings"], api_token=TOKEN)
    api = serve(app=create_distributed_app(settings, celery_app=distributed["app"]))
    assert api.client.get("/healthz").json() == {"status": "ok", "mode": "distributed"}
    # When the seeds are posted: 202 with a task id each, and they wait in the queue
    task_ids = []
    for path in SEEDS:
        r = api.client.post(
            "/v1/articles",
            content=path.read_bytes(),
            headers={**api.auth(), "Content-Type": "text/plain"},
        )
        assert r.status_code == 202, r.text
        task_ids.append(r.json()["task_id"])
    assert len(set(task_ids)) == len(SEEDS)
    assert _queue_depth(api) == len(SEEDS)
    # Then a worker ingests them and the API reads one story from the Redis store
    start_worker(1)
    deadline = time.monotonic() + 60
    while True:
        stories = api.client.get("/v1/stories", headers=api.auth()).json()["stories"]
        if stories and stories[0]["article_count"] == len(SEEDS):
            break
        assert time.monotonic() < deadline, stories
        time.sleep(0.3)
    assert len(stories) == 1
    # the queue drains (the ingests queue one fan_out task per event behind them)
    deadline = time.monotonic() + 30
    while (depth := _queue_depth(api)) != 0:
        assert time.monotonic() < deadline, depth
        time.sleep(0.3)
    # and /metrics shows what the worker processes counted (they share counts in Redis)
    deadline = time.monotonic() + 30

    def ingested(m: dict, status: str) -> float:
        return m[("wirewatch_articles_ingested_total", (("status", status),))]

    statuses = ("new_story", "development", "duplicate", "rejected")
    while True:  # a task's counts are sent once it has returned: wait for all five
        m = _samples(api)
        if sum(ingested(m, s) for s in statuses) >= len(SEEDS):
            break
        assert time.monotonic() < deadline, m
        time.sleep(0.3)
    assert [ingested(m, s) for s in statuses] == [1, 3, 1, 0]
    assert m[("wirewatch_events_total", (("type", "story.new_development"),))] == 3
    assert m[("wirewatch_articles_queued_total", ())] == len(SEEDS)
    for stage in ("extract", "match", "novelty", "store"):
        assert m[("wirewatch_stage_seconds_count", (("stage", stage),))] >= 4, stage
    assert m[("wirewatch_stage_seconds_count", (("stage", "extract"),))] == len(SEEDS)
    # And the operator's corrections work on the Redis store: split, merge back, "not new"
    h = api.auth()
    story_id = stories[0]["id"]
    detail = api.client.get(f"/v1/stories/{story_id}", headers=h).json()["story"]
    article = detail["articles"][2]["id"]
    r = api.client.post(f"/v1/articles/{article}/split", headers=h)
    assert r.status_code == 200, r.text
    new = r.json()["story"]
    counts = {
        s["id"]: s["article_count"]
        for s in api.client.get("/v1/stories", headers=h).json()["stories"]
    }
    assert counts == {story_id: len(SEEDS) - 1, new: 1}
    r = api.client.post("/v1/stories/merge", json={"source": new, "target": story_id}, headers=h)
    assert r.status_code == 200 and r.json()["articles_moved"] == 1
    events = api.client.get("/v1/events", headers=h).json()["events"]
    dev = next(e for e in events if e["type"] == "story.new_development")
    r = api.client.post(f"/v1/events/{dev['id']}/not-new", headers=h)
    assert r.status_code == 200 and r.json()["already_marked"] is False
    story = api.client.get(f"/v1/stories/{story_id}", headers=h).json()["story"]
    assert [a["id"] for a in story["articles"]] == [a["id"] for a in detail["articles"]]
    # the split article came back as the story it had started; the judged one is a duplicate
    split_back = detail["articles"][2]["status"] == "development"
    assert story["development_count"] == detail["development_count"] - 1 - split_back
    actions = api.client.get("/v1/operator/actions", headers=h).json()["actions"]
    assert [a["action"] for a in actions] == ["not_new", "merge", "split"]
