"""Feed polling in distributed mode: the beat task on real Celery workers, politeness measured."""

from __future__ import annotations

import time

from tests.feeds.conftest import site  # noqa: F401 -- the local news site fixture
from tests.feeds.test_politeness import FEEDS, serve_many_feeds
from worker import Pipeline
from worker.store.redis_store import RedisStore


def test_beat_runs_poll_due_every_minute():
    from tasks.app import FEED_POLL_EVERY_S, app

    entry = app.conf.beat_schedule["poll-due-feeds"]
    assert entry["task"] == "wirewatch.feeds.poll_due" and entry["schedule"] == FEED_POLL_EVERY_S
    assert "tasks.feeds" in app.conf.include


def test_poll_due_on_workers_polls_every_feed_once_within_the_host_limit(
    distributed,
    start_worker,
    site,  # noqa: F811
):
    # Given 20 feeds on one host in the deployment's registry, a per-host limit of 2
    env = distributed["env"]
    env.update(
        WIREWATCH_ALLOW_PRIVATE_NETWORKS="127.0.0.0/8",
        WIREWATCH_FETCH_HOST_CONCURRENCY="2",
        WIREWATCH_FETCH_HOST_INTERVAL_S="0",
    )
    store = Pipeline(distributed["settings"]).open_store()
    assert isinstance(store, RedisStore)
    registry = store.feeds()
    for url in serve_many_feeds(site):
        registry.add(url, now=time.time())
    # When two workers of 3 processes each run the beat's task
    start_worker(3)
    start_worker(3)
    assert distributed["app"].send_task("wirewatch.feeds.poll_due").get(timeout=30) == FEEDS
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        feeds = registry.list_feeds()
        if all(f.last_success_at for f in feeds):
            break
        time.sleep(0.2)
    # Then every feed was polled once and its entry ingested once
    assert all(f.entries_seen == 1 and f.status == "ok" for f in feeds), feeds
    assert sorted(r.path for r in site.requests) == sorted(
        [f"/f/{i}.rss" for i in range(FEEDS)] + [f"/p/{i}.html" for i in range(FEEDS)]
    )
    assert store.doc_count() == FEEDS
    # And the server never saw more than 2 requests at once
    assert site.max_in_flight == 2
    # And a second tick finds nothing due
    assert distributed["app"].send_task("wirewatch.feeds.poll_due").get(timeout=30) == 0
    store.close()
