"""The FeedRegistry contract on both backends: SQLite (a tmp file) and Redis (a real server)."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from worker.store.feeds_base import FeedRegistry
from worker.store.feeds_redis import RedisFeeds
from worker.store.feeds_sqlite import SqliteFeeds
from worker.store.redis_store import RedisStore
from worker.store.sqlite import SqliteStore

A, B, C = "https://a.example/rss", "https://b.example/atom.xml", "https://c.example/feed"
TTL = 86400.0


@pytest.fixture(params=["sqlite", "redis"])
def make_registry(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], FeedRegistry]]:
    """Registries on one store: a second one is a second worker (its own connection)."""
    closers: list[Callable[[], None]] = []
    if request.param == "redis":
        make_redis = request.getfixturevalue("make_redis_store")

        def make() -> FeedRegistry:
            return make_redis().feeds()

    else:

        def make() -> FeedRegistry:
            store = SqliteStore(str(tmp_path / "feeds.db"), index_signature="test")
            closers.append(store.close)
            return store.feeds()

    yield make
    for close in closers:
        close()


@pytest.fixture
def registry(make_registry: Callable[[], FeedRegistry]) -> FeedRegistry:
    return make_registry()


def test_registry_adds_lists_gets_and_removes_feeds(registry):
    # Given two feeds added, one with an interval and a title
    assert registry.add(B, now=100.0) is True
    assert registry.add(A, now=101.0, interval_s=900, title="Wire A") is True
    # When they are listed and read
    feeds = registry.list_feeds()
    a = registry.get(A)
    # Then they come by URL, new, due at once, with what was given
    assert [f.url for f in feeds] == [A, B]
    assert (a.title, a.interval_s, a.added_at, a.next_poll_at) == ("Wire A", 900, 101.0, 101.0)
    assert a.status == "new" and not a.suspended and a.entries_seen == 0
    assert registry.get(C) is None
    # And adding again is no new feed; removing forgets it
    assert registry.add(A, now=102.0) is False
    assert registry.get(A).interval_s == 900  # kept when not given
    assert registry.remove(A) is True and registry.remove(A) is False
    assert [f.url for f in registry.list_feeds()] == [B]


def test_registry_take_due_hands_each_feed_out_once(make_registry):
    # Given three feeds, two of them due, and two pollers on one store
    first, second = make_registry(), make_registry()
    first.add(A, now=100.0)
    first.add(B, now=150.0)
    first.add(C, now=500.0)
    # When both take what is due at 200, one after the other
    taken = first.take_due(200.0, hold_s=60.0)
    again = second.take_due(200.0, hold_s=60.0)
    # Then the first gets the due ones, soonest first, and the second nothing
    assert [f.url for f in taken] == [A, B]
    assert again == []
    # And they come due again once the hold passes; force takes every feed
    assert [f.url for f in second.take_due(261.0, hold_s=60.0)] == [A, B]
    assert {f.url for f in first.take_due(262.0, hold_s=60.0, force=True)} == {A, B, C}
    assert first.next_due_at() == pytest.approx(322.0)


def test_registry_take_due_under_contention_gives_each_feed_to_one_taker(
    make_registry, request, tmp_path
):
    # Given 30 due feeds and 6 pollers, each in its own thread with its own connection
    setup = make_registry()
    urls = [f"https://site{i}.example/rss" for i in range(30)]
    for url in urls:
        setup.add(url, now=1.0)
    sqlite = request.node.callspec.params["make_registry"] == "sqlite"
    taken: list[str] = []
    barrier = threading.Barrier(6)

    def take() -> None:
        store = SqliteStore(str(tmp_path / "feeds.db"), index_signature="test") if sqlite else None
        reg = store.feeds() if store else make_registry()
        barrier.wait()
        for _ in range(10):
            taken.extend(f.url for f in reg.take_due(10.0, hold_s=100.0, limit=3))
        if store:
            store.close()

    # When they all take at once
    threads = [threading.Thread(target=take) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every feed was taken exactly once
    assert sorted(taken) == sorted(urls)


def test_registry_records_success_and_failures_until_suspended(registry):
    # Given a feed
    registry.add(A, now=100.0)
    # When a poll succeeds
    registry.record_success(
        A,
        at=110.0,
        next_poll_at=1000.0,
        poll_interval_s=890,
        etag='"e1"',
        last_modified="Thu, 15 May 2025 10:00:00 GMT",
        title="Wire A",
        new_entries=4,
    )
    ok = registry.get(A)
    # Then its validators, pace, health and schedule are kept
    assert (ok.etag, ok.last_modified) == ('"e1"', "Thu, 15 May 2025 10:00:00 GMT")
    assert (ok.poll_interval_s, ok.next_poll_at, ok.last_success_at) == (890, 1000.0, 110.0)
    assert (ok.title, ok.entries_seen, ok.status) == ("Wire A", 4, "ok")
    # When three polls fail in a row
    states = [
        registry.record_failure(
            A, at=200.0 + i, error=f"http_500: boom {i}", next_poll_at=500.0 + i, max_failures=3
        )
        for i in range(3)
    ]
    # Then it is failing, then suspended, with no next poll and not due even when forced
    assert [(s.consecutive_failures, s.status) for s in states] == [
        (1, "failing"),
        (2, "failing"),
        (3, "suspended"),
    ]
    assert states[1].next_poll_at == 501.0 and states[2].next_poll_at is None
    assert states[2].last_error == "http_500: boom 2" and states[2].etag == '"e1"'
    assert registry.take_due(10_000.0, hold_s=1.0, force=True) == []
    assert registry.next_due_at() is None
    # And resuming it (or adding it again) makes it due at once with a clean count
    assert registry.resume(A, now=300.0) is True
    resumed = registry.get(A)
    assert (resumed.suspended, resumed.consecutive_failures, resumed.next_poll_at) == (
        False,
        0,
        300.0,
    )
    registry.record_failure(A, at=301.0, error="x", next_poll_at=302.0, max_failures=1)
    assert registry.get(A).suspended
    registry.add(A, now=303.0)
    assert registry.get(A).status == "ok" and registry.get(A).next_poll_at == 303.0
    # And a record for a removed feed changes nothing
    registry.remove(A)
    assert registry.record_failure(A, at=1.0, error="x", next_poll_at=2.0, max_failures=1) is None
    registry.record_success(
        A,
        at=1.0,
        next_poll_at=2.0,
        poll_interval_s=None,
        etag=None,
        last_modified=None,
        title=None,
        new_entries=1,
    )
    assert registry.get(A) is None and registry.list_feeds() == []


def test_registry_lock_admits_one_poller_per_feed(make_registry):
    first, second = make_registry(), make_registry()
    first.add(A, now=1.0)
    token = first.lock(A, now=10.0, ttl_s=30.0)
    assert token and second.lock(A, now=11.0, ttl_s=30.0) is None
    second.unlock(A, "not-the-token")
    assert second.lock(A, now=12.0, ttl_s=30.0) is None
    first.unlock(A, token)
    assert second.lock(A, now=13.0, ttl_s=30.0) is not None


def test_registry_claims_an_entry_once_across_feeds(make_registry):
    first, second = make_registry(), make_registry()
    guid, url, other = "guid:urn:x:1", "url:https://wire.example/a", "url:https://wire.example/b"
    # Given an entry claimed by one poller
    assert first.claim_entry([guid, url], now=100.0, ttl_s=TTL) is True
    # Then no poller can claim it, by either key, while it is pending
    assert second.claim_entry([url], now=101.0, ttl_s=TTL) is False
    assert second.claim_entry([guid, other], now=101.0, ttl_s=TTL) is False
    # And a pending key does not make the new one seen: `other` is still free
    assert second.claim_entry([other], now=102.0, ttl_s=TTL) is True
    second.release_entry([other])
    # When it is confirmed, a claim through a new key of it marks that key seen too
    first.confirm_entry([guid, url], now=103.0, ttl_s=TTL)
    assert second.claim_entry([url, other], now=104.0, ttl_s=TTL) is False
    assert second.claim_entry([other], now=105.0, ttl_s=TTL) is False


def test_registry_released_and_expired_claims_can_be_taken_again(make_registry, request):
    first, second = make_registry(), make_registry()
    key = "url:https://wire.example/a"
    # A released claim is free at once
    assert first.claim_entry([key], now=100.0, ttl_s=TTL) is True
    first.release_entry([key])
    assert second.claim_entry([key], now=101.0, ttl_s=TTL, lease_s=0.2) is True
    # A lease that ran out (its holder died) is free again
    if isinstance(second, RedisFeeds):
        import time

        time.sleep(0.3)
    assert first.claim_entry([key], now=101.5, ttl_s=TTL) is True
    # release never undoes a confirmed entry
    first.confirm_entry([key], now=102.0, ttl_s=TTL)
    second.release_entry([key])
    assert second.claim_entry([key], now=103.0, ttl_s=TTL) is False


def test_registry_backends_have_every_protocol_method():
    wanted = {n for n in vars(FeedRegistry) if not n.startswith("_")}
    for backend in (SqliteFeeds, RedisFeeds):
        assert wanted <= set(dir(backend)), backend
        for name in wanted:
            ours = inspect.signature(getattr(backend, name))
            theirs = inspect.signature(getattr(FeedRegistry, name))
            assert list(ours.parameters) == list(theirs.parameters), (backend, name)
    assert SqliteStore.feeds.__annotations__["return"] == "SqliteFeeds"
    assert RedisStore.feeds.__annotations__["return"] == "RedisFeeds"
