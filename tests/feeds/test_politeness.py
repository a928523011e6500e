"""Per-host politeness, measured at the server: concurrency never above the limit, spacing kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from tests.feeds.conftest import Site, rss
from worker.config import Settings
from worker.fetch.hosts import HostLimiter, LocalHostLimiter, host_of
from worker.ingest import Pipeline
from worker.keys import Keys
from worker.poller import Poller
from worker.store.host_slots import RedisHostLimiter

FEEDS = 20
DELAY_S = 0.05  # each request stays in flight this long at the server


def serve_many_feeds(site: Site) -> list[str]:
    """20 feeds on one host, one new entry each, every response held DELAY_S."""
    urls = []
    for i in range(FEEDS):
        text = (
            f"Report {i}: the harbour authority of port number {i} said on Thursday that "
            f"{i + 3} ships were delayed by the storm, and that crews expect to resume work soon."
        )
        page = f"<html><body><article><h1>Port {i}</h1><p>{text}</p></article></body></html>"
        site.route(f"/p/{i}.html", page, delay_s=DELAY_S)
        item = {
            "title": f"Port {i}",
            "link": site.url(f"/p/{i}.html"),
            "guid": f"p-{i}",
            "summary": text,
        }
        urls.append(site.route(f"/f/{i}.rss", rss(f"Feed {i}", [item]), delay_s=DELAY_S))
    return urls


def _register(settings: Settings, urls: list[str]) -> None:
    pipeline = Pipeline(settings)
    store = pipeline.open_store()
    for url in urls:
        store.feeds().add(url, now=time.time())
    store.close()


def _poll_round(settings: Settings, concurrency: int) -> list:
    pipeline = Pipeline(settings)
    store = pipeline.open_store()
    poller = Poller(pipeline, store, concurrency=concurrency)
    try:
        return poller.run_once()
    finally:
        poller.close()
        store.close()


def test_twenty_feeds_on_one_host_never_exceed_two_requests_at_once(site, make_settings):
    # Given 20 feeds on one host and a per-host limit of 2
    settings = make_settings(fetch_host_concurrency=2)
    _register(settings, serve_many_feeds(site))
    # When they are polled by 8 threads
    results = _poll_round(settings, concurrency=8)
    # Then every feed and page was fetched, never more than 2 at once at the server
    assert len(results) == FEEDS and all(r.status != "rejected" for r in results)
    assert len(site.requests) == 2 * FEEDS
    assert site.max_in_flight == 2


def test_without_the_limit_the_server_sees_more(site, make_settings):
    # the control: the measure does see more than 2 when the limit allows it
    settings = make_settings(fetch_host_concurrency=8)
    _register(settings, serve_many_feeds(site))
    _poll_round(settings, concurrency=8)
    assert site.max_in_flight > 2


def test_workers_sharing_redis_share_the_host_limit(site, redis_settings):
    # Given 20 feeds on one host in the Redis registry, a per-host limit of 2
    settings = redis_settings(fetch_host_concurrency=2)
    _register(settings, serve_many_feeds(site))
    # When three workers (each its own store, connection and limiter) poll at once
    results: list = []
    workers = [
        threading.Thread(target=lambda: results.extend(_poll_round(settings, concurrency=4)))
        for _ in range(3)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    # Then each feed was polled once, and the server never saw more than 2 at once
    assert sorted(r.input for r in results) == sorted(
        site.url(f"/p/{i}.html") for i in range(FEEDS)
    )
    assert site.max_in_flight == 2


@pytest.fixture(params=["local", "redis"])
def make_limiter(request, redis_client) -> Callable[..., HostLimiter]:
    namespace = f"h{id(request)}"

    def make(concurrency: int, interval_s: float) -> HostLimiter:
        if request.param == "local":
            return LocalHostLimiter(concurrency, interval_s)
        return RedisHostLimiter(
            redis_client,
            Keys(namespace),
            concurrency=concurrency,
            interval_s=interval_s,
            lease_s=10.0,
        )

    yield make
    for key in redis_client.scan_iter(match=Keys(namespace).prefix + "*"):
        redis_client.delete(key)


def test_limiter_spaces_requests_to_one_host(make_limiter):
    # Given a limiter with 0.2 s between requests to a host
    limiter = make_limiter(4, 0.2)
    starts: list[float] = []

    def request(url: str) -> None:
        with limiter.slot(url):
            starts.append(time.monotonic())

    # When 5 threads ask for one host at once (and one for another host)
    threads = [
        threading.Thread(target=request, args=(f"http://a.test:{80 + i}/x",)) for i in range(5)
    ]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    with limiter.slot("http://b.test/x"):
        other = time.monotonic() - t0
    for t in threads:
        t.join()
    # Then they start at least 0.2 s apart (ports do not make another host); b is not held up
    gaps = [b - a for a, b in zip(sorted(starts), sorted(starts)[1:], strict=False)]
    assert len(gaps) == 4 and min(gaps) >= 0.19
    assert other < 0.15


def test_limiter_gives_up_on_a_busy_host_with_a_transient_error(make_limiter):
    from worker.errors import TransientError

    limiter = make_limiter(1, 0.0)
    limiter.wait_s = 0.2  # type: ignore[attr-defined]
    with limiter.slot("http://a.test/1"), pytest.raises(TransientError) as exc:
        with limiter.slot("http://a.test/2"):
            pass
    assert exc.value.reason == "host_busy"
    with limiter.slot("http://a.test/3"):  # released: free again
        pass


def test_host_of_ignores_port_and_case():
    assert (
        host_of("http://WIRE.example:8080/a")
        == host_of("https://wire.example/b")
        == ("wire.example")
    )
    assert host_of("not a url") == "-"
