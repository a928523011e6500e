"""What only the Redis store has to show: races, lock fencing, round trips, expiry, the stream."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis

from tests.redis_server import _free_port
from tests.store.test_contract import aid, article_row, band_keys, event, sentences, sid
from worker.errors import TransientError
from worker.keys import Keys
from worker.store.redis_store import RedisStore

ROOT = Path(__file__).resolve().parents[2]

# One worker's read-decide-write on an article nobody has seen: create its story unless the
# article is already stored. `locked` puts the read inside the transaction, as ingest does.
RACER = textwrap.dedent(
    """
    import sys, time
    from tests.store.test_contract import article_row, sid
    from worker.keys import Keys
    from worker.store.redis_store import RedisStore

    url, namespace, n, locked = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
    store = RedisStore.from_url(url, namespace=namespace, index_signature="test-signature")
    go = Keys(namespace).prefix + "test:go"
    store.r.incr(go + ":ready")
    while not store.r.exists(go):
        time.sleep(0.001)

    def decide():
        found = store.article_by_hash("h-same-content")
        time.sleep(0.2)  # both workers are now between their read and their write
        return found

    found = None
    if locked:
        with store.transaction():
            found = decide()
            if found is None:
                store.create_story(sid(n), "t", 1.0)
                store.add_article(article_row("a_" + "0" * 15 + str(n), sid(n),
                                              content_hash="h-same-content"), [])
    else:
        found = decide()
        with store.transaction():
            if found is None:
                store.create_story(sid(n), "t", 1.0)
                store.add_article(article_row("a_" + "0" * 15 + str(n), sid(n),
                                              content_hash="h-same-content"), [])
    print("found" if found else "created")
    """
)


def _race(redis_url: str, namespace: str, *, locked: bool) -> list[str]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, redis_url, namespace, str(n), "1" if locked else "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    client = redis.Redis.from_url(redis_url)
    go = Keys(namespace).prefix + "test:go"
    deadline = time.monotonic() + 20
    while int(client.get(go + ":ready") or 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    client.set(go, 1)
    client.close()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        outs.append(out.strip())
    return sorted(outs)


@pytest.mark.timeout(60)
def test_redis_transaction_makes_read_decide_write_atomic_across_processes(
    make_redis_store, redis_url
):
    # Given two worker processes that see the same new content at the same moment
    store = make_redis_store()
    namespace = make_redis_store.namespace
    # When both read, decide and write inside store.transaction()
    outcome = _race(redis_url, namespace, locked=True)
    # Then exactly one creates a story and the other finds its article
    assert outcome == ["created", "found"]
    assert store.r.zcard(store.keys.stories_by_activity) == 1


@pytest.mark.timeout(60)
def test_redis_race_without_the_lock_creates_two_stories(make_redis_store, redis_url):
    # Given the same two workers, reading before taking the lock (what the lock prevents)
    store = make_redis_store()
    # When they race
    outcome = _race(redis_url, make_redis_store.namespace, locked=False)
    # Then both create a story: the race is real, so the test above is not vacuous
    assert outcome == ["created", "created"]
    assert store.r.zcard(store.keys.stories_by_activity) == 2


def test_redis_commit_after_lock_expiry_writes_nothing(make_redis_store):
    # Given a worker whose lock expires mid-transaction and another that takes it meanwhile
    slow, fast = make_redis_store(lock_ttl_ms=50), make_redis_store()
    # When the slow one tries to commit
    with pytest.raises(TransientError, match="nothing was written") as err, slow.transaction():
        slow.create_story(sid(1), "slow", 1.0)
        time.sleep(0.1)
        with fast.transaction():
            fast.create_story(sid(2), "fast", 1.0)
    # Then its writes are dropped, the other's stand, and the error says retry
    assert err.value.reason == "store_busy"
    assert list(fast.stories([sid(1), sid(2)])) == [sid(2)]
    assert fast.r.get(fast.keys.lock) is None


def test_redis_commit_after_own_lock_expired_writes_nothing(make_redis_store):
    # Given a worker whose lock simply expires (nobody else took it)
    slow = make_redis_store(lock_ttl_ms=20)
    # When it commits late
    with pytest.raises(TransientError, match="outlived its lock"), slow.transaction():
        slow.create_story(sid(1), "slow", 1.0)
        time.sleep(0.06)
    # Then nothing is written
    assert slow.stories([sid(1)]) == {}


def test_redis_lock_wait_is_bounded(make_redis_store):
    # Given a transaction holding the lock
    holder, waiter = make_redis_store(), make_redis_store(lock_wait_s=0.1)
    with holder.transaction():
        # When another waits past its bound
        started = time.monotonic()
        with pytest.raises(TransientError) as err, waiter.transaction():
            pass
        # Then it gives up with store_busy, soon
        assert err.value.reason == "store_busy"
        assert time.monotonic() - started < 1.0


def test_redis_unreachable_server_is_a_transient_error():
    # Given a URL where nothing listens
    url = f"redis://127.0.0.1:{_free_port()}/0"
    # When the store opens
    with pytest.raises(TransientError) as err:
        RedisStore.from_url(url, index_signature="x", socket_timeout_s=0.5)
    # Then the error says retry later, chained to the redis error
    assert err.value.reason == "store_unavailable"
    assert isinstance(err.value.__cause__, redis.ConnectionError)


class CountingConnection(redis.Connection):
    """Counts what the client sends: one send is one round trip (a pipeline is one send)."""

    sends = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.sends += 1
        super().send_packed_command(command, check_health)


def test_redis_index_queries_are_one_round_trip(make_redis_store, redis_url):
    # Given an index with a story of two articles, through a client that counts round trips
    pool = redis.ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
    store = make_redis_store(client=redis.Redis(connection_pool=pool))
    with store.transaction():
        store.create_story(sid(1), "T", 1.0)
        for n in (100, 101):
            store.add_article(article_row(aid(n), sid(1)), sentences(aid(n)))
            store.index_add(band_keys(n, 25), aid(n), sid(1), story_keys=band_keys(7, 64))
    store.index_query([1])  # loads the scripts once
    store.index_story_hits([1])
    for query in (
        lambda: store.index_query(band_keys(100, 25)),
        lambda: store.index_query(band_keys(9, 25)),
        lambda: store.index_story_hits(band_keys(7, 64)),
        lambda: store.index_story_hits(band_keys(8, 64)),
    ):
        # When a query runs with 25 or 64 bands, hit or miss
        before = CountingConnection.sends
        result = query()
        # Then it took exactly one round trip
        assert CountingConnection.sends - before == 1, result
    assert store.index_query(band_keys(100, 25)) == [(aid(100), sid(1))]
    assert store.index_story_hits(band_keys(7, 64)) == {sid(1): 64}


def test_redis_prune_and_retention_leave_no_keys_behind(make_redis_store):
    # Given a short retention and an indexed story with an event
    store = make_redis_store(retention_s=0.3)
    with store.transaction():
        store.create_story(sid(1), "T", 100.0)
        store.add_article(article_row(aid(1), sid(1), canonical_url="u"), sentences(aid(1)))
        store.add_keys(sid(1), ["k"], aid(1))
        store.update_story(sid(1), terms={"a": 1}, seen_at=100.0, development_at=None)
        store.index_add(band_keys(1, 25), aid(1), sid(1), story_keys=band_keys(2, 64))
        store.add_event(event(1, sid(1), aid(1)), at=100.0)
    before = set(store.r.scan_iter(match=store.keys.prefix + "*"))
    assert store.keys.index_story(1).encode() in before
    # When the window passes (prune) and then the retention
    with store.transaction():
        assert store.prune_index(500.0) > 0
    time.sleep(0.4)
    with store.transaction():
        store.prune_index(500.0)  # also forgets stories whose data expired
    # Then only the global keys remain: no story, article, fact, event or index entry
    left = {k.decode() for k in store.r.scan_iter(match=store.keys.prefix + "*")}
    k = store.keys
    assert left <= {k.meta, k.doc_freqs, k.story_seq, k.events}, left
    assert store.list_stories() == []
    assert store.story_detail(sid(1)) is None


def test_redis_touch_refreshes_the_story_ttl(make_redis_store):
    # Given a story whose keys have used up over 1/8 of their retention
    store = make_redis_store(retention_s=2.0)
    with store.transaction():
        store.create_story(sid(1), "T", 1.0)
        store.add_article(article_row(aid(1), sid(1)), [])
        store.update_story(sid(1), terms={}, seen_at=1.0, development_at=None)
    time.sleep(0.3)
    old = store.r.pttl(store.keys.article(aid(1)))
    # When a new article touches the story
    with store.transaction():
        store.add_article(article_row(aid(2), sid(1)), [])
        store.update_story(sid(1), terms={}, seen_at=2.0, development_at=None)
    # Then the earlier article's keys are refreshed with the story's
    assert store.r.pttl(store.keys.article(aid(1))) > old + 200
    assert store.r.pttl(store.keys.content_hash("h" + aid(1))) > old + 200


def test_redis_events_stream_carries_each_event_once(make_redis_store):
    # Given two events, one of them added twice
    store = make_redis_store(max_events=1000)
    for n in (1, 1, 2):
        with store.transaction():
            store.add_event(event(n, sid(1), aid(n)), at=1.0)
    # Then the stream holds each once, in order, with id, type, story and JSON payload
    entries = store.r.xrange(store.keys.events)
    assert [e[b"id"].decode() for _, e in entries] == [
        event(1, "", "")["id"],
        event(2, "", "")["id"],
    ]
    fields = entries[0][1]
    assert set(fields) == {b"id", b"type", b"story_id", b"payload"}
    assert fields[b"type"] == b"story.created" and fields[b"story_id"] == sid(1).encode()
    assert json.loads(fields[b"payload"]) == event(1, sid(1), aid(1))
    assert store.keys.events == Keys(make_redis_store.namespace).prefix + "events"


def test_redis_writes_outside_a_transaction_are_refused(make_redis_store):
    store = make_redis_store()
    with pytest.raises(RuntimeError, match=r"inside store.transaction\(\)"):
        store.create_story(sid(1), "T", 1.0)


def test_redis_index_add_needs_story_bands_apart(make_redis_store):
    store = make_redis_store()
    with pytest.raises(TypeError, match="story_keys"), store.transaction():
        store.index_add(band_keys(1, 89), aid(1), sid(1))
