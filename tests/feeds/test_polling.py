"""Polling end to end on a local site: seeds through RSS and Atom, 304s, dedup, fallback, health."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace

import pytest
from click.testing import CliRunner

import worker.poller
from tests.feeds.conftest import (
    FEED_ETAG,
    FEED_MODIFIED,
    SEED_TIMES,
    Site,
    atom,
    rss,
    seed_articles,
)
from tests.redis_server import drop_namespace
from worker.cli import main
from worker.config import Settings
from worker.errors import TransientError
from worker.fetch import build_client
from worker.fetch.hosts import LocalHostLimiter
from worker.ingest import Pipeline
from worker.poller import Poller
from worker.polling import entry_keys, poll_feed
from worker.store.feeds_base import Feed

NOW = 1_747_310_000.0  # 2025-05-15 11:53 UTC, after the seed feeds' last entry


def serve_seed_feeds(site: Site) -> tuple[str, str]:
    """Pages 000-004; an RSS feed lists 000-002, an Atom feed 002-004 (002 in both)."""
    arts = seed_articles()
    for a in arts:
        site.route(f"/news/{a.n:03d}.html", a.page)
    items = [
        {
            "title": a.title,
            "link": site.url(f"/news/{a.n:03d}.html"),
            "guid": f"wire-{a.n:03d}",
            "date": SEED_TIMES[a.n],
            "summary": a.summary,
            "author": "desk@wire.test (Wire Desk)",
        }
        for a in reversed(arts[:3])  # feeds list newest first
    ]
    entries = [
        {
            "title": a.title,
            "link": site.url(f"/news/{a.n:03d}.html?utm_source=atom"),
            "id": f"urn:wire:{a.n:03d}",
            "updated": f"2025-05-15T0{5 + a.n}:00:00Z",
            "summary": a.summary,
        }
        for a in reversed(arts[2:])
    ]
    feed_kw = {"etag": FEED_ETAG, "last_modified": FEED_MODIFIED}
    rss_url = site.route(
        "/world.rss", rss("Wire World", items), content_type="application/rss+xml", **feed_kw
    )
    atom_url = site.route(
        "/world.atom", atom("Atom Wire", entries), content_type="application/atom+xml", **feed_kw
    )
    return rss_url, atom_url


def _runner(env: dict[str, str]) -> Callable[..., tuple[int, list[dict], str]]:
    def run(*args: str) -> tuple[int, list[dict], str]:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        lines = [
            json.loads(x)
            for x in result.stdout.splitlines()
            if x.startswith("{") and x.endswith("}")
        ]
        return result.exit_code, lines, result.stdout

    return run


def _env(tmp_path) -> dict[str, str]:
    return {
        "WIREWATCH_DB": str(tmp_path / "cli.db"),
        "WIREWATCH_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
        "WIREWATCH_FETCH_HOST_INTERVAL_S": "0",
    }


@pytest.fixture
def cli(tmp_path) -> Callable[..., tuple[int, list[dict], str]]:
    """`wirewatch ...` on one SQLite file, allowed to reach 127.0.0.1, no host spacing."""
    run = _runner(_env(tmp_path))
    run.db = str(tmp_path / "cli.db")  # type: ignore[attr-defined]
    return run


@pytest.fixture(params=["sqlite", "redis"])
def store_cli(request, tmp_path) -> Callable[..., tuple[int, list[dict], str]]:
    """`cli` on either store: the SQLite file, or the test Redis (WIREWATCH_REDIS_URL)."""
    env = _env(tmp_path)
    if request.param == "redis":
        namespace = "c" + uuid.uuid4().hex[:12]
        client = request.getfixturevalue("redis_client")
        env.update(
            WIREWATCH_REDIS_URL=request.getfixturevalue("redis_url"),
            WIREWATCH_REDIS_NAMESPACE=namespace,
        )
        request.addfinalizer(lambda: drop_namespace(client, namespace))
    run = _runner(env)
    run.db = env["WIREWATCH_DB"] if request.param == "sqlite" else None  # type: ignore[attr-defined]
    return run


def _facts(line: dict) -> str:
    return " ".join(u["text"] for f in line["event"]["novel_facts"] for u in f["new_units"])


def test_poll_ingests_rss_and_atom_into_one_story_then_gets_304(site, store_cli, validate_event):
    cli = store_cli
    # Given an RSS and an Atom feed of the seed story, 002 listed in both
    rss_url, atom_url = serve_seed_feeds(site)
    cli("feeds", "add", rss_url)
    cli("feeds", "add", atom_url)
    # When one poll runs
    code, lines, _ = cli("poll", "--once", "--json", "--concurrency", "1")
    # Then the five articles are ingested once each, in order, into one story
    assert code == 0
    assert [line["input"] for line in lines] == [
        *(site.url(f"/news/{n:03d}.html") for n in range(3)),
        *(site.url(f"/news/{n:03d}.html?utm_source=atom") for n in (3, 4)),
    ]
    assert [line["status"] for line in lines] == [
        "new_story",
        "development",
        "development",
        "duplicate",
        "development",
    ]
    assert len({line["story_id"] for line in lines}) == 1
    # And 002 and 004 are developments naming what they add
    assert any(x in _facts(lines[2]) for x in ("Dolmabahce", "Umerov", "Michael Anton"))
    assert any(x in _facts(lines[4]) for x in ("Galuzin", "theater prop"))
    for line in lines:
        if line["event"]:
            validate_event(line["event"])
    # And the page in both feeds was fetched once
    assert len(site.asked("/news/002.html")) == 1
    # And the feed's metadata is kept with the article
    _, _, out = cli("story", lines[0]["story_id"], "--json")
    stored = json.loads(out)["articles"]
    first = (stored[0]["title"], stored[0]["source"], stored[0]["published_at"])
    assert first == (seed_articles()[0].title, "Wire World", "2025-05-15T05:00:00Z")
    assert (stored[4]["source"], stored[4]["published_at"]) == ("Atom Wire", "2025-05-15T09:00:00Z")
    if cli.db:
        authors = sqlite3.connect(cli.db).execute("SELECT author FROM articles ORDER BY seq")
        assert [a for (a,) in authors][:3] == ["Wire Desk"] * 3

    # When a second poll runs (forced: the feeds are not due yet)
    before = len(site.requests)
    code, again, _ = cli("poll", "--once", "--force", "--json")
    # Then it sends the validators, gets 304 for both feeds and ingests nothing
    assert code == 0 and again == []
    second = site.requests[before:]
    assert sorted(r.path for r in second) == ["/world.atom", "/world.rss"]
    for r in second:
        assert r.headers["if-none-match"] == FEED_ETAG
        assert r.headers["if-modified-since"] == FEED_MODIFIED
    # And the feeds are healthy, with what they brought
    _, _, out = cli("feeds", "list", "--json")
    health = {f["url"]: f for f in json.loads(out)}
    assert health[rss_url]["entries_seen"] == 3 and health[atom_url]["entries_seen"] == 2
    assert all(f["status"] == "ok" and f["consecutive_failures"] == 0 for f in health.values())
    assert all(f["next_poll_at"] > f["last_success_at"] for f in health.values())


def test_poll_sends_the_webhooks_of_its_events(site, cli):
    # Given a webhook endpoint and the seed feeds
    rss_url, atom_url = serve_seed_feeds(site)
    cli("feeds", "add", rss_url)
    cli("feeds", "add", atom_url)
    assert cli("webhooks", "add", site.url("/hook"))[0] == 0
    # When a poll ingests the entries
    _, lines, _ = cli("poll", "--once", "--json", "--concurrency", "1")
    # Then each event was delivered, signed, once
    events = [line["event"]["id"] for line in lines if line["event"]]
    assert len(events) == 4
    assert sorted(h["webhook-id"] for _, h, _ in site.posts) == sorted(events)
    assert all(h["webhook-signature"].startswith("v1,") for _, h, _ in site.posts)


def test_page_that_fails_falls_back_to_the_feed_summary_and_says_so(site, cli):
    # Given a feed whose entry's page answers 500
    art = seed_articles()[0]
    site.route("/news/broken.html", "server error", status=500, content_type="text/plain")
    items = [
        {
            "title": art.title,
            "link": site.url("/news/broken.html"),
            "guid": "wire-broken",
            "date": SEED_TIMES[0],
            "summary": art.summary,
        }
    ]
    feed_url = site.route("/broken.rss", rss("Wire World", items))
    cli("feeds", "add", feed_url)
    # When it is polled
    code, lines, _ = cli("poll", "--once", "--json")
    # Then the feed's summary is ingested and the result says why
    assert code == 0
    assert len(lines) == 1 and lines[0]["status"] == "new_story"
    assert lines[0]["input"] == f"{feed_url}#wire-broken (feed summary: page returned 500)"
    row = (
        sqlite3.connect(cli.db)
        .execute("SELECT input, title, source, text FROM articles")
        .fetchone()
    )
    assert row[0] == lines[0]["input"] and row[1:3] == (art.title, "Wire World")
    assert row[3].startswith(art.summary[:40])


def test_page_without_an_article_falls_back_to_the_feed_content(site, cli):
    # Given an entry whose page is only navigation
    art = seed_articles()[1]
    site.route("/news/nav.html", "<html><body><nav><a href='/'>Home</a></nav></body></html>")
    items = [
        {
            "title": art.title,
            "link": site.url("/news/nav.html"),
            "guid": "urn:wire:nav",
            "date": SEED_TIMES[1],
            "summary": art.summary,
        }
    ]
    feed_url = site.route("/nav.rss", rss("Wire World", items))
    cli("feeds", "add", feed_url)
    # When it is polled
    code, lines, _ = cli("poll", "--once", "--json")
    # Then the summary is ingested, and the page's rejection is on record
    assert code == 0 and lines[0]["status"] == "new_story"
    assert lines[0]["input"].endswith("(feed summary: page holds no article: no_article_text)")
    _, _, out = cli("rejected", "--json")
    assert [r["input"] for r in json.loads(out)] == [site.url("/news/nav.html")]


def test_feed_failures_suspend_it_and_feeds_list_shows_it(site, cli):
    # Given a feed that answers 500
    feed_url = site.route("/down.rss", "down", status=500, content_type="text/plain")
    cli("feeds", "add", feed_url)
    # When it is polled three times
    runs = [cli("poll", "--once", "--force", "--json") for _ in range(3)]
    # Then each poll reports the feed rejected, the third saying it is now suspended
    assert [code for code, _, _ in runs] == [1, 1, 1]
    assert [lines[0]["input"] for _, lines, _ in runs] == [feed_url] * 3
    assert "http_500" in runs[0][1][0]["error"]
    assert "suspended after 3 consecutive failures" in runs[2][1][0]["error"]
    # And `feeds list` shows it suspended, with its last error
    _, _, out = cli("feeds", "list", "--json")
    (feed,) = json.loads(out)
    assert (feed["status"], feed["suspended"], feed["consecutive_failures"]) == (
        "suspended",
        True,
        3,
    )
    assert "500" in feed["last_error"] and feed["next_poll_at"] is None
    assert "suspended" in cli("feeds", "list")[2]
    # And a suspended feed is not polled, even when forced
    asked = len(site.requests)
    assert cli("poll", "--once", "--force", "--json")[:2] == (0, [])
    assert len(site.requests) == asked
    # When it is added again, it is resumed and polled
    assert "resumed" in cli("feeds", "add", feed_url)[2]
    _, _, out = cli("feeds", "list", "--json")
    assert json.loads(out)[0]["suspended"] is False
    assert cli("poll", "--once", "--json")[0] == 1
    assert len(site.requests) == asked + 1


def test_feed_that_does_not_parse_is_recorded_with_its_reason(site, cli):
    feed_url = site.route("/page.rss", "<html><body><p>Not a feed</p></body></html>")
    cli("feeds", "add", feed_url)
    code, lines, _ = cli("poll", "--once", "--json")
    assert code == 1 and lines[0]["error"].startswith("not_a_feed")
    _, _, out = cli("rejected", "--json")
    assert [(r["input"], r["reason"]) for r in json.loads(out)] == [(feed_url, "not_a_feed")]


def test_entry_reached_through_a_redirect_is_ingested_once(site, cli):
    # Given feed A linking /go/x (302 -> /news/x.html) and feed B linking /news/x.html directly
    art = seed_articles()[0]
    site.route("/news/x.html", art.page)
    site.route("/go/x", status=302, headers={"Location": "/news/x.html"})
    a = site.route(
        "/a.rss",
        rss(
            "A",
            [
                {
                    "title": "X",
                    "link": site.url("/go/x"),
                    "guid": "a-1",
                    "date": SEED_TIMES[0],
                    "summary": art.summary,
                }
            ],
        ),
    )
    b = site.route(
        "/b.rss",
        rss(
            "B",
            [
                {
                    "title": "X",
                    "link": site.url("/news/x.html?utm_medium=b"),
                    "guid": "b-1",
                    "date": SEED_TIMES[0],
                    "summary": art.summary,
                }
            ],
        ),
    )
    cli("feeds", "add", a)
    cli("feeds", "add", b)
    # When both are polled
    code, lines, _ = cli("poll", "--once", "--json", "--concurrency", "1")
    # Then the article is ingested once, from the first feed
    assert code == 0 and [line["input"] for line in lines] == [site.url("/go/x")]
    assert len(site.asked("/news/x.html")) == 1


def test_bare_guids_are_scoped_to_their_feed(site, cli):
    # Given two feeds whose entries are both called "1" but are different articles
    arts = seed_articles()
    for name, art in (("one", arts[0]), ("two", arts[3])):
        site.route(f"/{name}.html", art.page)
        items = [
            {
                "title": art.title,
                "link": site.url(f"/{name}.html"),
                "guid": "1",
                "date": SEED_TIMES[art.n],
                "summary": art.summary,
            }
        ]
        cli("feeds", "add", site.route(f"/{name}.rss", rss(name, items)))
    # When both are polled, then both are ingested
    code, lines, _ = cli("poll", "--once", "--json")
    assert code == 0 and len(lines) == 2


def test_entry_keys_name_guid_url_or_content():
    from worker.pipeline.feeds import FeedEntry

    e = FeedEntry(
        guid="42", link="https://wire.example/a", raw_link="x", title="T", published_at=None
    )
    assert entry_keys("https://f.example/rss", e) == [
        "guid:https://f.example/rss#42",
        "url:https://wire.example/a",
    ]
    assert entry_keys("F", replace(e, guid="tag:wire,2025:42"))[0] == "guid:tag:wire,2025:42"
    bare = entry_keys("F", replace(e, guid=None, link=None, summary="S"))
    assert len(bare) == 1 and bare[0].startswith("entry:F#")


# -- scheduling, on poll_feed directly --------------------------------------------------------
@pytest.fixture
def poll_one(make_settings) -> Callable[..., tuple[list, Feed]]:
    """Register `url` (optionally with an interval), poll it once at NOW, return results and
    the feed as recorded."""
    opened = []

    def run(
        url: str,
        *,
        interval_s: int | None = None,
        pipeline: Pipeline | None = None,
        settings: Settings | None = None,
    ):
        pipeline = pipeline or Pipeline(settings or make_settings())
        store = pipeline.open_store()
        opened.append(store)
        registry = store.feeds()
        if registry.get(url) is None:
            registry.add(url, now=NOW - 1, interval_s=interval_s)
        client = build_client(pipeline.settings)
        try:
            results = poll_feed(
                registry.get(url),
                pipeline=pipeline,
                store=store,
                registry=registry,
                client=client,
                limiter=LocalHostLimiter(2, 0.0),
                now=NOW,
            )
        finally:
            client.close()
        return results, registry.get(url)

    yield run
    for store in opened:
        store.close()


def _timed_items(site: Site, minutes_apart: int, n: int = 6) -> list[dict[str, str]]:
    from email.utils import formatdate

    art = seed_articles()[0]
    site.route("/p.html", art.page)
    return [
        {
            "title": f"t{i}",
            "link": site.url(f"/p.html?i={i}"),
            "guid": f"g{i}",
            "date": formatdate(NOW - 60 * minutes_apart * (i + 1), usegmt=True),
            "summary": "s",
        }
        for i in range(n)
    ]


def test_next_poll_follows_entry_frequency_and_the_server(site, poll_one):
    items = _timed_items(site, 30)
    plain = site.route("/plain.rss", rss("P", items))
    cached = site.route("/cached.rss", rss("C", items), headers={"Cache-Control": "max-age=7200"})
    ttl = site.route("/ttl.rss", rss("T", items, ttl=180))
    # entries every 30 minutes: polled every 30 minutes
    assert poll_one(plain)[1].next_poll_at == NOW + 1800
    # ... unless Cache-Control max-age or <ttl> ask for longer
    assert poll_one(cached)[1].next_poll_at == NOW + 7200
    assert poll_one(ttl)[1].next_poll_at == NOW + 180 * 60
    # ... and a feed's own --interval overrides the adaptive one
    fixed = site.route("/fixed.rss", rss("F", items))
    assert poll_one(fixed, interval_s=600)[1].next_poll_at == NOW + 600


def test_failed_poll_backs_off_and_honours_retry_after(site, poll_one):
    busy = site.route(
        "/busy.rss",
        "slow down",
        status=503,
        headers={"Retry-After": "5000"},
        content_type="text/plain",
    )
    results, feed = poll_one(busy)
    assert results[0].status == "rejected" and feed.consecutive_failures == 1
    assert feed.next_poll_at == NOW + 5000
    gone = site.route("/gone.rss", "no", status=404, content_type="text/plain")
    _, first = poll_one(gone)
    _, second = poll_one(gone)
    assert (first.next_poll_at, second.next_poll_at) == (NOW + 300, NOW + 600)


def test_transient_failure_mid_poll_gives_the_entries_back(site, poll_one, make_settings):
    # Given a feed of two entries and a store that is busy on the second ingest
    items = _timed_items(site, 30, n=2)
    url = site.route("/f.rss", rss("F", items), etag='"v1"')

    class Busy(Pipeline):
        calls = 0

        def ingest(self, doc, store, *, now):
            Busy.calls += 1
            if Busy.calls == 2:
                raise TransientError("store busy", reason="store_busy")
            return super().ingest(doc, store, now=now)

    # When it is polled, the poll stops with the transient error
    with pytest.raises(TransientError):
        poll_one(url, pipeline=Busy(make_settings()))
    # Then nothing of the poll was recorded (no ETag kept) and the second entry is free
    _, feed = poll_one(url)  # a healthy pipeline now
    assert feed.entries_seen == 1 and feed.etag == '"v1"'


def test_watch_survives_a_busy_store_and_stops_when_told(make_settings, monkeypatch):
    # Given a poller whose store is busy on the first round
    monkeypatch.setattr(worker.poller, "BUSY_RETRY_S", 0.01)
    pipeline = Pipeline(make_settings())
    store = pipeline.open_store()
    poller = Poller(pipeline, store)
    rounds = []
    stop = threading.Event()

    def take_due(now, **kwargs):
        rounds.append(now)
        if len(rounds) == 1:
            raise TransientError("store busy", reason="store_busy")
        stop.set()
        return []

    monkeypatch.setattr(poller.registry, "take_due", take_due)
    # When it watches, then it retries after the failure and returns once stopped
    poller.watch(stop, max_sleep_s=0.01)
    assert len(rounds) == 2
    poller.close()
    store.close()
