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
from tests.store.test_contract import (
    aid,
    article_row,
    band_keys,
    event,
    ingested,
    lid,
    new_story,
    published,
    sentences,
    sid,
)
from worker.errors import TransientError
from worker.keys import Keys
from worker.store.redis_store import RedisStore

ROOT = Path(__file__).resolve().parents[2]

# One worker's read-decide-write on an article nobody has seen: create its story unless the
# article is already stored. `locked` puts the read inside the transaction, as ingest does.
RACER = textwrap.dedent(
    """
    import sys, time
    from tests.store.test_contract import article_row, ingested, new_story, sid
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
                new_story(store, n, "t", ingested(1.0))
                store.add_article(article_row("a_" + "0" * 15 + str(n), sid(n),
                                              content_hash="h-same-content"), [])
    else:
        found = decide()
        with store.transaction():
            if found is None:
                new_story(store, n, "t", ingested(1.0))
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
        new_story(slow, 1, "slow", ingested(1.0))
        time.sleep(0.1)
        with fast.transaction():
            new_story(fast, 2, "fast", ingested(1.0))
    # Then its writes are dropped, the other's stand, and the error says retry
    assert err.value.reason == "store_busy"
    assert list(fast.stories([sid(1), sid(2)])) == [sid(2)]
    assert list(fast.storylines([lid(1), lid(2)])) == [lid(2)]
    assert fast.r.get(fast.keys.lock) is None


def test_redis_commit_after_own_lock_expired_writes_nothing(make_redis_store):
    # Given a worker whose lock simply expires (nobody else took it)
    slow = make_redis_store(lock_ttl_ms=20)
    # When it commits late
    with pytest.raises(TransientError, match="outlived its lock"), slow.transaction():
        new_story(slow, 1, "slow", ingested(1.0))
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
        new_story(store, 1, "T", ingested(1.0))
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
        new_story(store, 1, "T", ingested(100.0))
        store.add_article(article_row(aid(1), sid(1), canonical_url="u"), sentences(aid(1)))
        store.add_keys(sid(1), ["k"], aid(1))
        store.add_keys(lid(1), ["k"], aid(1))
        store.update_story(sid(1), terms={"a": 1}, when=ingested(100.0), developed=False)
        store.update_storyline(
            lid(1), terms={"a": 1}, when=ingested(100.0), new_story=True, developed=False
        )
        store.index_add(band_keys(1, 25), aid(1), sid(1), story_keys=band_keys(2, 64))
        store.add_event(event(1, sid(1), aid(1)), at=100.0)
    before = set(store.r.scan_iter(match=store.keys.prefix + "*"))
    assert store.keys.index_story(1).encode() in before
    assert store.keys.storyline_fact_keys(lid(1)).encode() in before
    # When the window passes (prune) and then the retention
    with store.transaction():
        assert store.prune_index(500.0) > 0
    time.sleep(0.4)
    with store.transaction():
        store.prune_index(500.0)  # also forgets stories whose data expired
    # Then only the global keys remain: no story, storyline, article, fact, event or index
    # entry, and neither sorted set of storylines names it any more
    left = {k.decode() for k in store.r.scan_iter(match=store.keys.prefix + "*")}
    k = store.keys
    assert left <= {k.meta, k.doc_freqs, k.story_seq, k.storyline_seq, k.article_seq, k.events}
    assert store.list_stories() == [] and store.list_storylines() == []
    assert store.story_detail(sid(1)) is None and store.storyline_detail(lid(1)) is None
    assert list(store.export_articles()) == []


def test_redis_touch_refreshes_the_story_ttl(make_redis_store):
    # Given a story whose keys have used up over 1/8 of their retention
    store = make_redis_store(retention_s=2.0)
    with store.transaction():
        new_story(store, 1, "T", ingested(1.0))
        store.add_article(article_row(aid(1), sid(1)), [])
        store.update_story(sid(1), terms={}, when=ingested(1.0), developed=False)
    time.sleep(0.3)
    old = store.r.pttl(store.keys.article(aid(1)))
    # When a new article touches the story
    with store.transaction():
        store.add_article(article_row(aid(2), sid(1)), [])
        store.update_story(sid(1), terms={}, when=ingested(2.0), developed=False)
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
        store.create_story(sid(1), "T", ingested(1.0), storyline_id=lid(1))
    with pytest.raises(RuntimeError, match=r"inside store.transaction\(\)"):
        store.create_storyline(lid(1), "T", ingested(1.0))


def test_redis_index_add_needs_story_bands_apart(make_redis_store):
    store = make_redis_store()
    with pytest.raises(TypeError, match="story_keys"), store.transaction():
        store.index_add(band_keys(1, 89), aid(1), sid(1))


def test_redis_storyline_outlives_its_stories(make_redis_store):
    # Given a storyline of two stories, the first touched at once, the second later
    store = make_redis_store(retention_s=2.0)
    with store.transaction():
        new_story(store, 1, "T", ingested(1.0))
        store.create_story(sid(2), "U", ingested(1.0), storyline_id=lid(1))
        store.update_story(sid(1), terms={}, when=ingested(1.0), developed=False)
        store.add_keys(lid(1), ["k"], aid(1))
        store.update_storyline(
            lid(1), terms={}, when=ingested(1.0), new_story=True, developed=False
        )
    time.sleep(0.15)  # less than 1/8 of the retention: the story keeps its TTL
    story_ttl = store.r.pttl(store.keys.story(sid(1)))
    # When another article touches the story and its storyline
    with store.transaction():
        store.update_story(sid(1), terms={}, when=ingested(2.0), developed=False)
        store.update_storyline(
            lid(1), terms={}, when=ingested(2.0), new_story=False, developed=False
        )
    # Then the storyline's keys are refreshed on every touch: they outlive the story's
    k = store.keys
    for key in (k.storyline(lid(1)), k.storyline_stories(lid(1)), k.storyline_fact_keys(lid(1))):
        assert store.r.pttl(key) > story_ttl + 100, key
    assert store.r.pttl(k.story(sid(1))) <= story_ttl
    assert store.r.smembers(k.storyline_stories(lid(1))) == {sid(1).encode(), sid(2).encode()}


def test_redis_stories_read_their_storylines_in_the_same_round_trip(make_redis_store, redis_url):
    # Given two stories of two storylines, through a client that counts round trips
    pool = redis.ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
    store = make_redis_store(client=redis.Redis(connection_pool=pool))
    for n in (1, 2):
        with store.transaction():
            new_story(store, n, f"T{n}", published(10.0 * n, 100.0))
            store.update_storyline(
                lid(n), terms={"a": n}, when=published(10.0 * n, 100.0), new_story=True,
                developed=False,
            )  # fmt: skip
    store.stories([sid(1)])  # loads the script once
    with store.transaction():
        # When a transaction reads the stories, then their storylines
        before = CountingConnection.sends
        rows = store.stories([sid(1), sid(2), sid(9)])
        after_stories = CountingConnection.sends
        lines = store.storylines({r.storyline_id for r in rows.values()})
        after_lines = CountingConnection.sends
        # and a storyline no story read named
        store.storylines([lid(1), lid(9)])
        after_other = CountingConnection.sends
    # Then the stories take one round trip and bring their storylines with them
    assert (after_stories - before, after_lines - after_stories) == (1, 0)
    assert after_other - after_lines == 1  # lid(9) is read, in one round trip
    assert set(lines) == {lid(1), lid(2)} and lines[lid(2)].terms == {"a": 2}
    assert lines[lid(2)].story_count == 1 and lines[lid(2)].span.first_published == 20.0
    # And outside a transaction nothing is remembered: storylines reads again
    before = CountingConnection.sends
    assert list(store.storylines([lid(1)])) == [lid(1)]
    assert CountingConnection.sends - before == 1


def test_redis_storyline_read_in_a_transaction_is_not_stale_in_the_next(make_redis_store):
    # Given a storyline read along with its story in one transaction and changed in it
    store = make_redis_store()
    with store.transaction():
        new_story(store, 1, "T", ingested(1.0))
    with store.transaction():
        store.stories([sid(1)])
        store.update_storyline(
            lid(1), terms={"b": 1}, when=ingested(2.0), new_story=True, developed=False
        )
        # Then, as every read of a transaction, it does not see the transaction's writes
        assert store.storylines([lid(1)])[lid(1)].terms == {}
    # And the next transaction sees them
    with store.transaction():
        store.stories([sid(1)])
        assert store.storylines([lid(1)])[lid(1)].terms == {"b": 1}


def test_redis_version_1_keyspace_refuses_to_open(make_redis_store):
    # Given a keyspace a version 1 store built (no storylines)
    store = make_redis_store()
    store.r.hset(store.keys.meta, "schema_version", "1")
    # When version 2 opens it
    # Then it refuses, naming both versions
    with pytest.raises(ValueError, match=r"built with schema_version='1'.*'2'"):
        make_redis_store()
