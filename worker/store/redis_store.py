"""Redis store: the `Store` interface for many workers on one Redis (keys in worker/keys.py).

Match-or-create is made atomic with one short lock: `transaction()` takes `SET lock NX PX` with
a random token (waiting up to `lock_wait_s`), every read sees committed state, every write is
buffered, and the commit is `WATCH lock; GET lock == token; MULTI; writes; DEL lock; EXEC`. A
worker whose lock expired cannot commit (the WATCH fails), and a crash before EXEC leaves
nothing behind. Why a lock rather than the alternatives:
- optimistic transactions (WATCH every key read) abort on every concurrent ingest, because
  each one reads and bumps the document count: under a burst N workers redo N-1 of N commits;
- a Lua script would have to hold the whole matcher (TF-IDF, Jaccard, cosine, novelty).
The lock serialises only the ~1 ms read-decide-write step; extraction and signatures (tens of
ms) run outside it, so it is not the bottleneck until far more workers than one Redis serves.
Measured (bench/redis_lock.py, 4 processes, 5 ms of work per transaction): lock 148 tx/s and
no retries; WATCH 127 tx/s with 1.7 retries per transaction (equal at 1 process).

Data keys (stories, articles, facts, event documents) expire `retention_s` after their story
was last touched (a touch refreshes the whole story once its TTL has dropped by 1/8), a
storyline's `retention_s` after any of its stories was (so it outlives them), the index is
emptied of stories past their window by `prune_index`, and the events stream and the
rejection list are capped: memory stays bounded on an endless stream. Targets one Redis
(primary) >= 6.2, not Redis Cluster (scripts reach keys they are not given).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.client import Pipeline

from worker.errors import TransientError
from worker.keys import Keys
from worker.pipeline.timing import EventTime, Span
from worker.store import redis_views
from worker.store.base import StorylineRow, StoryRow
from worker.store.feeds_redis import RedisFeeds
from worker.store.operator_redis import RedisOperator
from worker.store.redis_index import ShardedIndex, bookkeeping
from worker.store.redis_lock import FencedLock, Op, translated
from worker.store.redis_scripts import (
    STAMP_SEQ,
    STORIES_WITH_LINES,
    SWEEP_STORYLINES,
    TOUCH_STORY,
    TOUCH_STORYLINE,
)
from worker.store.redis_views import story_row
from worker.store.webhooks_redis import RedisWebhooks

__all__ = ["RedisStore"]

# 2: storylines, event time sources and article seqs; a version 1 keyspace refuses to open
# (its stories have no storyline): rebuild it, or use another namespace or DB
SCHEMA_VERSION = "2"
_SWEEP_BATCH = 100  # storylines the expiry sweep checks per script call
# what the matcher reads of a story and of a storyline (`stories`, `storylines`)
_STORY_READ = [
    "storyline_id", "title", "last_seen_at", "article_count", "terms", "first_published_at",
    "last_published_at", "last_ingested_at",
]  # fmt: skip
_STORYLINE_READ = [
    "id", "title", "story_count", "article_count", "terms", "first_published_at",
    "last_published_at", "last_ingested_at",
]  # fmt: skip


class RedisStore:
    """The distributed store; `index_signature` pins the LSH parameters the keyspace holds.

    Args:
        client: a `redis.Redis` with `decode_responses=False` (see `from_url`).
        namespace: extra prefix segment (`ww:v1:<namespace>:`) to share one Redis DB.
        retention_s: how long a story's data outlives its last article.
        index_shards: shard strings per band kind (at most 32768). A lookup reads one shard,
            so shards should stay around 1 KB: the default suits up to ~300k articles in the
            window. Part of the layout: a keyspace built with another value refuses to open.
        max_events: approximate cap of the events stream (XADD MAXLEN ~).
        max_rejections: rejections kept.
        lock_ttl_ms: how long a transaction may hold the lock before others may take it.
        lock_wait_s: how long `transaction()` waits for the lock before `store_busy`.
        prune_batch: stories swept per script call of `prune_index` (bounds how long Redis is
            busy at once: 0.9-1.4 ms of Redis time per story at 100k, bench/redis_index.py).
        prune_max: stories swept per `prune_index` call at most (the rest wait for the next).
    """

    def __init__(
        self,
        client: redis.Redis[bytes],
        *,
        index_signature: str,
        namespace: str = "",
        retention_s: float = 30 * 86400,
        index_shards: int = 32768,
        max_events: int = 100_000,
        max_rejections: int = 10_000,
        lock_ttl_ms: int = 5_000,
        lock_wait_s: float = 10.0,
        prune_batch: int = 2,
        prune_max: int = 5000,
    ):
        for name, v in (
            ("retention_s", retention_s),
            ("max_events", max_events),
            ("max_rejections", max_rejections),
            ("lock_ttl_ms", lock_ttl_ms),
            ("lock_wait_s", lock_wait_s),
            ("prune_batch", prune_batch),
            ("prune_max", prune_max),
        ):
            if not v > 0:
                raise ValueError(f"{name} must be positive, got {v!r}")
        self.r = client
        self.keys = Keys(namespace)
        self.index = ShardedIndex(client, self.keys, index_shards)
        self.lock = FencedLock(client, self.keys.lock, ttl_ms=lock_ttl_ms, wait_s=lock_wait_s)
        self.retention_ms = max(1, int(retention_s * 1000))
        self.max_events = max_events
        self.max_rejections = max_rejections
        self.prune_batch = prune_batch
        self.prune_max = prune_max
        self._ops: list[Op] | None = None
        self._pending_events: set[str] = set()
        self._pending_stories = 0
        # storyline rows read along with their stories in this transaction (None: absent);
        # valid while the lock is held, as a transaction's reads never see its own writes
        self._lines_read: dict[str, StorylineRow | None] = {}
        self._sweep_storylines = client.register_script(SWEEP_STORYLINES)
        self._stories_with_lines = client.register_script(STORIES_WITH_LINES)
        self._open(index_signature)

    @classmethod
    def from_url(cls, url: str, *, socket_timeout_s: float = 5.0, **kwargs: Any) -> RedisStore:
        """Connect to `redis://host:port/db` (or `rediss://`, `unix://`) and open the store."""
        client = redis.Redis.from_url(
            url, socket_timeout=socket_timeout_s, socket_connect_timeout=socket_timeout_s
        )
        return cls(client, **kwargs)

    @translated
    def _open(self, index_signature: str) -> None:
        version = str(self.r.info("server").get("redis_version", "0"))
        if tuple(int(x) for x in version.split(".")[:2]) < (6, 2):
            raise ValueError(f"RedisStore needs Redis >= 6.2 (ZADD GT, LPOS), got {version}")
        expected = {
            "schema_version": SCHEMA_VERSION,
            "index": index_signature,
            "layout": f"shards={self.index.shards}",
        }
        with self.r.pipeline(transaction=True) as p:
            for k, v in expected.items():
                p.hsetnx(self.keys.meta, k, v)
            p.hmget(self.keys.meta, list(expected))
            stored = p.execute()[-1]
        for (k, v), got in zip(expected.items(), stored, strict=True):
            if got.decode() != v:
                raise ValueError(
                    f"Redis keyspace {self.keys.prefix}* was built with {k}={got.decode()!r} but "
                    f"the settings give {v!r}; use another namespace or DB, or those settings"
                )

    def close(self) -> None:
        self.r.close()

    # -- transactions -----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock; buffer writes; apply them fenced by the lock at the end, or drop them."""
        if self._ops is not None:
            raise RuntimeError("RedisStore transactions do not nest")
        lock_token = self.lock.acquire()
        self._ops, self._pending_events, self._pending_stories = [], set(), 0
        self._lines_read = {}
        try:
            yield
        except BaseException:
            self._ops, self._lines_read = None, {}
            self.lock.release(lock_token)
            raise
        ops, self._ops, self._lines_read = self._ops, None, {}
        if ops:
            self.lock.commit(lock_token, ops)
        else:  # nothing to fence: a late release loses nothing
            self.lock.release(lock_token)

    def write(self, op: Op) -> None:
        """Buffer one write of the open transaction; it is applied at commit, inside MULTI
        and fenced by the lock (the store package's own modules add theirs this way)."""
        if self._ops is None:
            raise RuntimeError("RedisStore writes happen inside store.transaction()")
        self._ops.append(op)

    # -- document frequencies ---------------------------------------------------------------
    @translated
    def doc_count(self) -> int:
        v = self.r.hget(self.keys.meta, "doc_count")
        return int(v) if v else 0

    @translated
    def doc_freqs(self, terms: Iterable[str]) -> dict[str, int]:
        terms = list(dict.fromkeys(terms))
        if not terms:
            return {}
        values = self.r.hmget(self.keys.doc_freqs, terms)
        return {t: int(v) for t, v in zip(terms, values, strict=True) if v is not None}

    def add_document_terms(self, terms: Iterable[str]) -> None:
        terms = list(terms)

        def op(p: Pipeline[bytes]) -> None:
            for t in terms:
                p.hincrby(self.keys.doc_freqs, t, 1)
            p.hincrby(self.keys.meta, "doc_count", 1)

        self.write(op)

    # -- LSH index (layout and scripts in redis_index.py) -----------------------------------
    @translated
    def index_query(self, keys: list[int]) -> list[tuple[str, str]]:
        """(article_id, story_id) of every entry sharing a band key; one round trip."""
        return self.index.query(keys)

    @translated
    def index_story_hits(self, keys: list[int]) -> dict[str, int]:
        """Story id -> how many of `keys` (distinct) it shares; one round trip."""
        return self.index.story_hits(keys)

    def index_add(
        self,
        keys: list[int],
        article_id: str,
        story_id: str,
        *,
        story_keys: list[int] | None = None,
    ) -> None:
        """Index an article's dup bands (`keys`) and its story's bands (`story_keys`)."""
        if story_keys is None:
            raise TypeError(
                "RedisStore.index_add needs the story bands apart: "
                "index_add(dup_keys, article_id, story_id, story_keys=story_keys)"
            )
        self.write(self.index.add(keys, story_keys, article_id, story_id))

    @translated
    def prune_index(self, older_than: float) -> int:
        """Sweep stories last seen before `older_than`, and stories whose data expired, out of
        the index; returns how many index records went. Storylines (never in the index) whose
        data expired leave the storyline sorted sets here too.

        Unlike the other writes this applies at once, `prune_batch` stories per script call,
        so Redis is never blocked long, and at most `prune_max` stories per call (the rest go
        next time). Each call re-checks that a story is still due, so it needs no lock.
        """
        k, removed, swept = self.keys, 0, 0
        expired = self.r.zrangebyscore(k.story_expiry, "-inf", time.time(), 0, self.prune_max)
        for i in range(0, len(expired), self.prune_batch):
            removed += self.index.prune(expired[i : i + self.prune_batch], older_than)[0]
        while swept < self.prune_max:
            due = self.r.zrangebyscore(
                k.index_seen, "-inf", f"({older_than!r}", 0, self.prune_batch
            )
            if not due:
                break
            r, s = self.index.prune(due, older_than)
            removed, swept = removed + r, swept + max(s, 1)
        self._sweep_expired_storylines()
        return removed

    def _sweep_expired_storylines(self) -> int:
        """Forget storylines whose data expired (at most `prune_max`); how many went."""
        k, now, gone = self.keys, time.time(), 0
        expired = self.r.zrangebyscore(k.storyline_expiry, "-inf", now, 0, self.prune_max)
        for i in range(0, len(expired), _SWEEP_BATCH):
            gone += int(
                self._sweep_storylines(
                    keys=[k.storylines_by_activity, k.storyline_expiry],
                    args=[k.storyline_prefix, repr(now), *expired[i : i + _SWEEP_BATCH]],
                )
            )
        return gone

    # -- articles ---------------------------------------------------------------------------
    @translated
    def article_by_hash(self, content_hash: str) -> dict[str, Any] | None:
        return self._article_at(self.keys.content_hash(content_hash))

    @translated
    def latest_by_url(self, canonical_url: str) -> dict[str, Any] | None:
        return self._article_at(self.keys.url(canonical_url))

    def _article_at(self, pointer_key: str) -> dict[str, Any] | None:
        article_id = self.r.get(pointer_key)
        if article_id is None:
            return None
        row, sig = self.r.hmget(self.keys.article(article_id.decode()), ["row", "sig"])
        if row is None:
            return None
        return {**json.loads(row), "dup_sig": sig}

    @translated
    def dup_signatures(self, article_ids: list[str]) -> dict[str, bytes]:
        with self.r.pipeline(transaction=False) as p:
            for a in article_ids:
                p.hget(self.keys.article(a), "sig")
            sigs = p.execute()
        return {a: s for a, s in zip(article_ids, sigs, strict=True) if s is not None}

    @translated
    def article_rows(self, article_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The stored rows of those `article_ids` that exist (one round trip)."""
        with self.r.pipeline(transaction=False) as p:
            for a in article_ids:
                p.hget(self.keys.article(a), "row")
            rows = p.execute()
        return {a: json.loads(row) for a, row in zip(article_ids, rows, strict=True) if row}

    def article_texts(self, article_ids: list[str]) -> dict[str, str]:
        return {a: row["text"] for a, row in self.article_rows(article_ids).items()}

    def add_article(self, row: dict[str, Any], sentences: list[tuple[Any, ...]]) -> None:
        k, ttl = self.keys, self.retention_ms
        article_id, story_id = row["id"], row["story_id"]
        fields: dict[str | bytes, str | bytes] = {
            "row": json.dumps({c: v for c, v in row.items() if c != "dup_sig"}),
            "sig": row["dup_sig"],
            "sentences": json.dumps([list(s[1:]) for s in sentences]),
        }

        def op(p: Pipeline[bytes]) -> None:
            p.hset(k.article(article_id), mapping=fields)
            p.eval(STAMP_SEQ, 2, k.article_seq, k.article(article_id), "seq")
            p.pexpire(k.article(article_id), ttl)
            p.set(k.content_hash(row["content_hash"]), article_id, px=ttl)
            if row.get("canonical_url"):
                p.set(k.url(row["canonical_url"]), article_id, px=ttl)
            p.rpush(k.story_articles(story_id), article_id)
            p.pexpire(k.story_articles(story_id), ttl)

        self.write(op)

    # -- stories ----------------------------------------------------------------------------
    @translated
    def stories(self, story_ids: Iterable[str]) -> dict[str, StoryRow]:
        """The stories that exist among `story_ids`, in one round trip that also reads their
        storylines: inside a transaction, `storylines` then answers from those."""
        ids = list(dict.fromkeys(story_ids))
        if not ids:
            return {}
        rows, lines = self._stories_with_lines(
            keys=[self.keys.story(s) for s in ids],
            args=[self.keys.storyline_prefix, len(_STORY_READ), *_STORY_READ, *_STORYLINE_READ],
        )
        if self._ops is not None:
            self._lines_read.update((line.decode(), _storyline(line, row)) for line, row in lines)
        return {
            s: StoryRow(
                s,
                _text(title),
                float(seen),
                int(count),
                json.loads(terms),
                line.decode(),
                _span(first, last, ingested),
            )
            for s, (line, title, seen, count, terms, first, last, ingested) in zip(
                ids, rows, strict=True
            )
            if seen is not None
        }

    def create_story(
        self, story_id: str, title: str | None, when: EventTime, *, storyline_id: str
    ) -> None:
        self.new_story(story_id, title, when, storyline_id=storyline_id)

    @translated
    def new_story(
        self, story_id: str, title: str | None, when: EventTime, *, storyline_id: str
    ) -> int:
        """`create_story`, returning the story's seq (its number in the index)."""
        book = bookkeeping(story_id)
        k, ttl = self.keys, self.retention_ms
        # stories get their creation order like SQLite rowids; the lock makes it race-free
        seq = int(self.r.get(k.story_seq) or 0) + self._pending_stories + 1
        self._pending_stories += 1
        row: dict[str | bytes, str | int] = {
            "seq": seq, "id": story_id, "created_at": _num(when.at),
            "last_seen_at": _num(when.at), "article_count": 0, "development_count": 0,
            "terms": "{}", "storyline_id": storyline_id, **_clocks(when),
        }  # fmt: skip
        if title is not None:
            row["title"] = title
        expires_at = time.time() + ttl / 1000

        def op(p: Pipeline[bytes]) -> None:
            p.incr(k.story_seq)
            p.hset(k.story(story_id), mapping=row)
            p.pexpire(k.story(story_id), ttl)
            p.sadd(k.storyline_stories(storyline_id), story_id)
            p.pexpire(k.storyline_stories(storyline_id), ttl)
            p.zadd(k.stories_by_activity, {story_id: when.at})
            p.zadd(k.index_seen, {str(seq): when.at})
            p.zadd(k.story_expiry, {str(seq): expires_at})
            p.set(k.index_story(seq), book)

        self.write(op)
        return seq

    def update_story(
        self, story_id: str, *, terms: dict[str, int], when: EventTime, developed: bool
    ) -> None:
        k = self.keys
        script_keys = [
            k.story(story_id), k.story_articles(story_id), k.story_fact_keys(story_id),
            k.story_events(story_id), k.stories_by_activity, k.index_seen, k.story_expiry,
        ]  # fmt: skip
        args = [
            story_id, *_when_args(when, developed), json.dumps(terms, sort_keys=True),
            self.retention_ms, repr(time.time() + self.retention_ms / 1000),
            k.article_prefix, k.content_hash_prefix, k.url_prefix, k.event_prefix,
        ]  # fmt: skip
        self.write(lambda p: p.eval(TOUCH_STORY, len(script_keys), *script_keys, *args))

    # -- storylines (not in the LSH index: candidates come from their stories' hits) --------
    @translated
    def storylines(self, storyline_ids: Iterable[str]) -> dict[str, StorylineRow]:
        """The storylines that exist among `storyline_ids`: those `stories` read along in this
        transaction at no cost, the others in one round trip."""
        ids = list(dict.fromkeys(storyline_ids))
        missing = [line for line in ids if line not in self._lines_read]
        found = dict(self._lines_read)
        if missing:
            with self.r.pipeline(transaction=False) as p:
                for line in missing:
                    p.hmget(self.keys.storyline(line), _STORYLINE_READ)
                rows = p.execute()
            found.update(
                (line, _storyline(line.encode(), row))
                for line, row in zip(missing, rows, strict=True)
            )
        return {line: row for line in ids if (row := found.get(line)) is not None}

    def create_storyline(self, storyline_id: str, title: str | None, when: EventTime) -> None:
        k, ttl = self.keys, self.retention_ms
        row: dict[str | bytes, str | int] = {
            "id": storyline_id, "created_at": _num(when.at), "last_seen_at": _num(when.at),
            "story_count": 0, "article_count": 0, "development_count": 0, "terms": "{}",
            **_clocks(when),
        }  # fmt: skip
        if title is not None:
            row["title"] = title
        expires_at = time.time() + ttl / 1000

        def op(p: Pipeline[bytes]) -> None:
            p.hset(k.storyline(storyline_id), mapping=row)
            p.eval(STAMP_SEQ, 2, k.storyline_seq, k.storyline(storyline_id), "seq")
            p.pexpire(k.storyline(storyline_id), ttl)
            p.zadd(k.storylines_by_activity, {storyline_id: when.at})
            p.zadd(k.storyline_expiry, {storyline_id: expires_at})

        self.write(op)

    def update_storyline(
        self,
        storyline_id: str,
        *,
        terms: dict[str, int],
        when: EventTime,
        new_story: bool,
        developed: bool,
    ) -> None:
        k = self.keys
        script_keys = [
            k.storyline(storyline_id), k.storyline_stories(storyline_id),
            k.storyline_fact_keys(storyline_id), k.storylines_by_activity, k.storyline_expiry,
        ]  # fmt: skip
        args = [
            storyline_id, *_when_args(when, developed), "1" if new_story else "0",
            json.dumps(terms, sort_keys=True), self.retention_ms,
            repr(time.time() + self.retention_ms / 1000),
        ]  # fmt: skip
        self.write(lambda p: p.eval(TOUCH_STORYLINE, len(script_keys), *script_keys, *args))

    @translated
    def story_summary(self, story_id: str) -> dict[str, Any]:
        raw = self.r.hgetall(self.keys.story(story_id))
        if not raw:
            raise KeyError(story_id)
        return story_row(raw)

    @translated
    def story_article_ids(self, story_id: str, *, exclude: str | None = None) -> list[str]:
        ids = [a.decode() for a in self.r.lrange(self.keys.story_articles(story_id), 0, -1)]
        return [a for a in ids if a != exclude]

    @translated
    def known_keys(self, story_id: str, keys: Iterable[str]) -> set[str]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return set()
        found = self.r.hmget(self.keys.fact_keys(story_id), keys)
        return {key for key, v in zip(keys, found, strict=True) if v is not None}

    @translated
    def known_keys_many(self, story_ids: list[str], keys: Iterable[str]) -> dict[str, set[str]]:
        keys = list(dict.fromkeys(keys))
        if not story_ids or not keys:
            return {s: set() for s in story_ids}
        with self.r.pipeline(transaction=False) as p:
            for s in story_ids:
                p.hmget(self.keys.fact_keys(s), keys)
            rows = p.execute()
        return {
            s: {k for k, v in zip(keys, found, strict=True) if v is not None}
            for s, found in zip(story_ids, rows, strict=True)
        }

    def add_keys(self, story_id: str, keys: Iterable[str], article_id: str) -> None:
        fact_key, keys = self.keys.fact_keys(story_id), list(keys)

        def op(p: Pipeline[bytes]) -> None:
            for key in keys:
                p.hsetnx(fact_key, key, article_id)
            p.pexpire(fact_key, self.retention_ms)

        self.write(op)

    # -- events and rejections --------------------------------------------------------------
    @translated
    def add_event(self, event: dict[str, Any], *, at: float) -> bool:
        """Store an event once and append it to the events stream; False if already stored."""
        event_id, story_id = event["id"], event["story"]["id"]
        k, ttl = self.keys, self.retention_ms
        if event_id in self._pending_events or self.r.exists(k.event(event_id)):
            return False
        payload = json.dumps(event, sort_keys=True)
        entry = {"id": event_id, "type": event["type"], "story_id": story_id, "payload": payload}
        outbox = self.webhooks().outbox(event, at=at)  # webhooks (issue 5): its deliveries

        def op(p: Pipeline[bytes]) -> None:
            p.set(k.event(event_id), payload, px=ttl)
            p.rpush(k.story_events(story_id), event_id)
            p.pexpire(k.story_events(story_id), ttl)
            p.xadd(k.events, entry, maxlen=self.max_events, approximate=True)
            outbox(p)  # in the same MULTI: an event is never stored without its outbox rows

        self.write(op)
        self._pending_events.add(event_id)
        return True

    def webhooks(self) -> RedisWebhooks:
        """Webhook endpoints, due deliveries and the delivery log, in this keyspace."""
        return RedisWebhooks(self.r, self.keys, retention_ms=self.retention_ms)

    def operator(self) -> RedisOperator:
        """Operator corrections (merge, split, "not new") in this keyspace."""
        return RedisOperator(self)

    def feeds(self) -> RedisFeeds:
        """The feed registry (issue 4) in this keyspace."""
        return RedisFeeds(self.r, self.keys)

    def add_rejection(self, origin: str, reason: str, message: str, at: float) -> None:
        doc = json.dumps({"input": origin, "reason": reason, "message": message, "created_at": at})

        def op(p: Pipeline[bytes]) -> None:
            p.lpush(self.keys.rejections, doc)
            p.ltrim(self.keys.rejections, 0, self.max_rejections - 1)

        self.write(op)

    # -- read views (worker/store/redis_views.py) --------------------------------------------
    @translated
    def list_stories(
        self,
        *,
        limit: int = 50,
        since: float | None = None,
        query: str | None = None,
        developed: bool = False,
    ) -> list[dict[str, Any]]:
        """Stories, the most recently developed (or created) first (redis_views.py)."""
        return redis_views.list_stories(
            self, limit=limit, since=since, query=query, developed=developed
        )

    @translated
    def story_count(self) -> int:
        return int(self.r.zcard(self.keys.stories_by_activity))

    @translated
    def list_storylines(
        self, *, limit: int = 50, since: float | None = None, query: str | None = None
    ) -> list[dict[str, Any]]:
        """Storylines, the most recently active first (redis_views.py)."""
        return redis_views.list_storylines(self, limit=limit, since=since, query=query)

    @translated
    def storyline_detail(self, storyline_id: str) -> dict[str, Any] | None:
        return redis_views.storyline_detail(self, storyline_id)

    def export_articles(self) -> Iterator[dict[str, Any]]:
        """Every stored article in ingest order, read in batches (redis_views.py)."""
        try:
            yield from redis_views.export_articles(self)
        except (redis.ConnectionError, redis.TimeoutError) as exc:  # as `translated` does
            raise TransientError(f"redis unavailable: {exc}", reason="store_unavailable") from exc

    @translated
    def story_detail(self, story_id: str) -> dict[str, Any] | None:
        return redis_views.story_detail(self, story_id)

    @translated
    def list_events(self, *, story_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The latest `limit` event documents, oldest first (the order they were emitted)."""
        if story_id is None:
            entries = self.r.xrevrange(self.keys.events, count=limit)
            return [json.loads(fields[b"payload"]) for _, fields in reversed(entries)]
        ids = self.r.lrange(self.keys.story_events(story_id), -limit, -1)
        docs = self.r.mget([self.keys.event(e.decode()) for e in ids]) if ids else []
        return [json.loads(d) for d in docs if d is not None]

    @translated
    def list_rejections(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Rejected inputs, newest first, with their reasons."""
        return [json.loads(d) for d in self.r.lrange(self.keys.rejections, 0, limit - 1)]


def _num(x: float) -> str:
    """A time as the hash keeps it: Python's shortest exact repr."""
    return repr(float(x))


def _text(v: bytes | None) -> str | None:
    return v.decode() if v is not None else None


def _float(v: bytes | None) -> float | None:
    return float(v) if v is not None else None


def _storyline(line: bytes, row: list[bytes | None]) -> StorylineRow | None:
    """A storyline row from its `_STORYLINE_READ` fields; None when it does not exist."""
    found, title, stories, articles, terms, first, last, ingested = row
    if found is None:
        return None
    return StorylineRow(
        line.decode(), _text(title), int(stories or 0), int(articles or 0),
        json.loads(terms or b"{}"), _span(first, last, ingested),
    )  # fmt: skip


def _span(first: bytes | None, last: bytes | None, ingested: bytes | None) -> Span:
    return Span(_float(first), _float(last), float(ingested or 0.0))


def _clocks(when: EventTime) -> dict[str | bytes, str]:
    """The clock fields of a new story or storyline (publication ones only when dated)."""
    out: dict[str | bytes, str] = {"last_ingested_at": _num(when.ingested_at)}
    if when.published is not None:
        out["first_published_at"] = out["last_published_at"] = _num(when.published)
    return out


def _when_args(when: EventTime, developed: bool) -> list[str]:
    """ARGV of the touch scripts: event time, publication time or '', ingestion, developed."""
    published = "" if when.published is None else _num(when.published)
    return [_num(when.at), published, _num(when.ingested_at), "1" if developed else "0"]
