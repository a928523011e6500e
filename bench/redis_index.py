"""RedisStore's LSH index at 100,000 stored articles next to datasketch's own Redis storage, in
one run on one throwaway redis-server: match latency, insert throughput, Redis memory per article,
round trips per query, and eviction (prune after the window, data keys past their TTL).

Usage: .venv/bin/python bench/redis_index.py [--articles 100000] [--datasketch-articles N]
       [--queries 2000] [--shards 32768] [--redis-url URL] [--json]

Corpus (synthetic, seeded). Articles come in stories of geometric size (mean --mean-story),
spaced 3 s apart, so 100,000 articles span 3.5 days: one 4-day story window. Each article has
the two signatures the pipeline makes, from the real `Signer(128, seed=1)`:
- near-duplicate: 150 word-shingles of its own; a tenth of siblings are near copies of the
  previous article (120 of its 150 shingles kept, Jaccard 0.67);
- story: 40 salient terms, 30 from its story's pool of 60 and 10 of its own.
Queries are new articles (not stored): a third open a new story, a third are new siblings of
a stored story, a third near copies of a stored article.

What is compared, with the same signatures and the same LSH parameters:
- ours: `RedisStore` (worker/store/redis_store.py). Dup bands `band_keys(sig, 25, 5)` (the
  pipeline's `lsh_params(0.5, 128)`), story bands 64 x 1. Each article is one transaction as
  ingest makes it (create_story for a story's first article, add_article, update_story,
  index_add): lock, buffered writes, WATCH/MULTI/EXEC. A match = `index_query(dup bands)` +
  `index_story_hits(story bands)`.
- datasketch: two `MinHashLSH(num_perm=128, storage_config={"type": "redis", ...})`: dup with
  `threshold=0.5` (datasketch picks b=25, r=5 itself) and story with `params=(64, 1)`, keyed by
  article id, filled from `LeanMinHash(seed=1, hashvalues=<same uint32 values>, scheme=
  "affine32")` through `insertion_session()` (check_duplication=False: the keys are unique,
  and the default adds one HEXISTS round trip per insert). A match = `dup.query(m)` +
  `story.query(m)`. datasketch then still has to map article ids to stories; that is not timed.

How measured:
- Client latency: wall time of the two index calls of a match in this process, garbage
  collector off, queries alternating which system goes first; also this process's CPU time
  for them (what is left of the wall time is Redis, the socket and waiting for a core, which
  other jobs on the machine take). Redis-side latency: a second
  pass with SLOWLOG recording every command; per match, the sum of the durations of the
  top-level commands (our two EVALSHA; datasketch's SMEMBERS), so other jobs on the machine
  do not count.
- Round trips: writes to a socket by redis-py (each followed by waiting for the replies),
  counted by wrapping `send_packed_command`. Commands: `INFO commandstats` deltas (ours
  includes the commands that its Lua scripts run).
- Memory: `MEMORY USAGE key SAMPLES 0` summed over the index keys (`ww:v1:ix:*`; datasketch:
  its basenames), and `INFO memory` used_memory: for datasketch the delta around its fill, for
  ours the fall when every story is pruned out of the index (what the index held), next to
  the delta around the fill (index plus the bench's small data rows).
- Insert: articles/s over the timed transactions (ours) or the timed `insert` calls plus the
  session's final flush (datasketch). Redis-side time of our index_add (its EVAL) from SLOWLOG
  on a sample of transactions.
- Eviction: the window passes for the stories last seen before the midpoint; `prune_index` is
  called (in a transaction, as ingest does) until nothing is due; then the records of those
  stories left in the shards, their bookkeeping and `ix:seen` entries, index bytes and
  used_memory; then the window passes for all. Each PRUNE script call is timed here and in
  Redis (`INFO commandstats` evalsha usec around it): how long Redis is busy with one call.
- TTL: a small variant, run first while the keyspace is small (--ttl-articles, another
  namespace, retention_s=--ttl-s): the PTTL of every key of the namespace by kind, then past
  the TTL what is left, then after one `prune_index` whose window has not passed (its expiry
  sweep of stories whose data expired).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from datasketch import LeanMinHash, MinHashLSH  # noqa: E402
from redis.connection import AbstractConnection  # noqa: E402

from bench.machine import machine_info  # noqa: E402
from worker.pipeline.fingerprint import Signer, band_keys, lsh_params  # noqa: E402
from worker.pipeline.timing import EventTime  # noqa: E402
from worker.store.redis_store import RedisStore  # noqa: E402


def ingested(at: float) -> EventTime:
    """An undated article ingested at `at` (the index does not look at time sources)."""
    return EventTime(at, "ingested", at)


def line_of(story_id: str) -> str:
    """A storyline id per story: the index benchmark does not group stories."""
    return "l_" + story_id[2:]

NUM_PERM, SEED, SCHEME = 128, 1, "affine32"
DUP_PARAMS = lsh_params(0.5, NUM_PERM)  # (25, 5), as the pipeline's dup index
STORY_PARAMS = (64, 1)  # Settings.story_lsh_bands x story_lsh_rows
SPACING_S = 3.0  # seconds between articles: 100k articles = 3.5 days, within a 4-day window
WINDOW_S = 4 * 86400  # Settings.story_window_s
# commands of the bench itself (measurements), left out of per-article counts
SIDE = ("info", "config|set", "slowlog|get", "slowlog|reset", "memory|usage")
DS_DUP, DS_STORY = b"wwbench_dsdup", b"wwbench_dsstory"  # datasketch basenames (no glob chars)


# -- round trips: every socket write of redis-py is one request and a wait for its replies -----
class RoundTrips:
    n = 0


_send = AbstractConnection.send_packed_command


def _counted_send(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
    RoundTrips.n += 1
    _send(self, command, check_health)


AbstractConnection.send_packed_command = _counted_send  # type: ignore[method-assign]


def start_redis(workdir: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not on PATH: run scripts/setup.sh")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(500):
        try:
            client.ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.02)
    proc.terminate()
    sys.exit("redis-server did not start")


def _id(kind: str, n: int) -> str:
    return f"{kind}_" + hashlib.sha1(f"{kind}{n}".encode()).hexdigest()[:16]


# -- corpus ---------------------------------------------------------------------------------
@dataclass
class Corpus:
    ids: list[str]
    story_ids: list[str]
    first: list[bool]  # opens its story
    at: list[float]
    dup_sig: np.ndarray  # (n, 128) uint32
    story_sig: np.ndarray
    stories: int
    queries: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)


def make_corpus(
    signer: Signer, n: int, mean_story: float, queries: int, query_targets: int, t0: float,
    rng: random.Random,
) -> Corpus:  # fmt: skip
    """`n` articles; queries aim at the first `query_targets` (those both systems hold)."""
    targets = set(rng.sample(range(query_targets), min(queries, query_targets)))
    kept: dict[int, tuple[int, list[str]]] = {}  # target article -> (story, dup shingles)
    c = Corpus([], [], [], [], np.zeros((n, NUM_PERM), np.uint32),
               np.zeros((n, NUM_PERM), np.uint32), 0)  # fmt: skip
    story = 0
    while len(c.ids) < n:
        story += 1
        pool = [f"t{story}_{i}" for i in range(60)]
        size = 1
        while rng.random() > 1 / mean_story:
            size += 1
        dup: list[str] | None = None
        for j in range(min(size, n - len(c.ids))):
            i = len(c.ids)
            if dup is not None and rng.random() < 0.1:
                dup = rng.sample(dup, 120) + [f"d{i}_{k}" for k in range(30)]
            else:
                dup = [f"d{i}_{k}" for k in range(150)]
            c.ids.append(_id("a", i))
            c.story_ids.append(_id("s", story))
            c.first.append(j == 0)
            c.at.append(t0 + i * SPACING_S)
            c.dup_sig[i] = signer.sign(dup)
            c.story_sig[i] = signer.sign(rng.sample(pool, 30) + [f"u{i}_{k}" for k in range(10)])
            if i in targets:
                kept[i] = (story, dup)
    c.stories = story
    for q, (_i, (story, dup)) in enumerate(sorted(kept.items())):
        kind = ("new", "sibling", "copy")[q % 3]
        own = [f"q{q}_{k}" for k in range(150)]
        pool = [f"t{story}_{k}" for k in range(60)] if kind != "new" else own[:60]
        qdup = rng.sample(dup, 120) + own[:30] if kind == "copy" else own
        qstory = rng.sample(pool, 30) + [f"qu{q}_{k}" for k in range(10)]
        c.queries.append((kind, signer.sign(qdup), signer.sign(qstory)))
    rng.shuffle(c.queries)
    return c


def lean(sig: np.ndarray) -> LeanMinHash:
    return LeanMinHash(seed=SEED, hashvalues=sig, scheme=SCHEME)


# -- Redis measurements -----------------------------------------------------------------------
def memory_usage(client: redis.Redis[bytes], pattern: bytes | str) -> tuple[int, int]:
    """(keys, bytes): MEMORY USAGE SAMPLES 0 summed over the keys matching `pattern`."""
    keys = total = 0
    batch: list[bytes] = []

    def flush() -> None:
        nonlocal total
        with client.pipeline(transaction=False) as p:
            for k in batch:
                p.memory_usage(k, samples=0)
            total += sum(v or 0 for v in p.execute())
        batch.clear()

    for key in client.scan_iter(match=pattern, count=5000):
        keys += 1
        batch.append(key)
        if len(batch) >= 5000:
            flush()
    if batch:
        flush()
    return keys, total


def used_memory(client: redis.Redis[bytes]) -> int:
    return int(client.info("memory")["used_memory"])


def memory_detail(client: redis.Redis[bytes]) -> dict[str, int]:
    info = client.info("memory")
    return {f: int(info[f]) for f in ("used_memory", "used_memory_dataset", "used_memory_scripts")}


def commandstats(client: redis.Redis[bytes]) -> dict[str, int]:
    return {k[len("cmdstat_") :]: v["calls"] for k, v in client.info("commandstats").items()}


def stat_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * q))]


def index_state(store: RedisStore, client: redis.Redis[bytes], seqs: set[int]) -> dict[str, Any]:
    """Index keys and bytes, and what of stories `seqs` is left in it: shard records, non-empty
    bookkeeping (more than the 12 bytes of count + id), ix:seen entries."""
    k = store.keys
    keys, nbytes = memory_usage(client, k.prefix + "ix:*")
    records = mine = 0
    wanted = np.fromiter(seqs, np.uint32, len(seqs))
    for prefix, size in ((k.dup_shard_prefix, 10), (k.story_shard_prefix, 8)):
        names = list(client.scan_iter(match=prefix + "*", count=5000))
        for i in range(0, len(names), 2000):
            for blob in client.mget(names[i : i + 2000]):
                if not blob:
                    continue
                recs = np.frombuffer(blob, np.uint8).reshape(-1, size)
                owners = recs[:, 4:8].copy().view(">u4").ravel()
                records += len(owners)
                if seqs:
                    mine += int(np.isin(owners, wanted).sum())
    seq_list = sorted(seqs)
    books = [
        v
        for i in range(0, len(seq_list), 5000)
        for v in client.mget([k.index_story(s) for s in seq_list[i : i + 5000]])
    ]
    with client.pipeline(transaction=False) as p:
        for s in seq_list:
            p.zscore(k.index_seen, str(s))
        seen = p.execute() if seq_list else []
    return {
        "index_keys": keys,
        "index_bytes": nbytes,
        "records": records,
        "records_of_evicted": mine,
        "bookkeeping_nonempty_of_evicted": sum(1 for b in books if b and len(b) > 12),
        "bookkeeping_keys_of_evicted": sum(1 for b in books if b is not None),
        "seen_entries_of_evicted": sum(1 for s in seen if s is not None),
        "used_memory": used_memory(client),
    }


def slowlog_durations(client: redis.Redis[bytes], want: Callable[[bytes], bool]) -> int:
    """Sum of the durations (us) of the logged commands `want` accepts; resets the log."""
    us = sum(e["duration"] for e in client.slowlog_get(10_000) if want(e["command"]))
    client.slowlog_reset()
    return us


# -- the two systems ------------------------------------------------------------------------
def fill_ours(store: RedisStore, client: redis.Redis[bytes], c: Corpus, n: int) -> dict[str, Any]:
    """One transaction per article, as ingest writes it; a 1-in-50 sample reads index_add's
    EVAL time from SLOWLOG (outside the timings)."""
    insert_s = 0.0
    add_us: list[int] = []
    trips = 0
    stats0, mem0 = commandstats(client), used_memory(client)
    for i in range(n):
        dup = band_keys(c.dup_sig[i], *DUP_PARAMS, tag=b"d")
        story = band_keys(c.story_sig[i], *STORY_PARAMS, tag=b"s")
        row = {"id": c.ids[i], "story_id": c.story_ids[i], "content_hash": "h" + c.ids[i],
               "canonical_url": None, "dup_sig": c.dup_sig[i].tobytes(), "text": ""}  # fmt: skip
        sampled = i % 50 == 25
        if sampled:
            client.config_set("slowlog-log-slower-than", 0)
            client.slowlog_reset()
        rt0, t0 = RoundTrips.n, time.perf_counter()
        with store.transaction():
            if c.first[i]:
                store.create_story(
                    c.story_ids[i], None, ingested(c.at[i]), storyline_id=line_of(c.story_ids[i])
                )
            store.add_article(row, [])
            store.update_story(c.story_ids[i], terms={}, when=ingested(c.at[i]), developed=False)
            store.index_add(dup, c.ids[i], c.story_ids[i], story_keys=story)
        insert_s += time.perf_counter() - t0
        trips += RoundTrips.n - rt0
        if sampled:
            client.config_set("slowlog-log-slower-than", -1)
            add_us.append(slowlog_durations(client, lambda cmd: b"find_aligned" in cmd[:64]))
    stats = stat_delta(stats0, commandstats(client))
    return {
        "articles": n,
        "articles_per_s": n / insert_s,
        "ms_per_article": insert_s * 1000 / n,
        "round_trips_per_article": trips / n,
        "commands_per_article": sum(v for k, v in stats.items() if k not in SIDE) / n,
        "index_add_us_p50": pct(add_us, 0.5),
        "index_add_us_p99": pct(add_us, 0.99),
        "used_memory_delta": used_memory(client) - mem0,
    }  # fmt: skip


def open_datasketch(url: str, prefix: bytes) -> tuple[MinHashLSH, MinHashLSH]:
    u = urlparse(url)
    conn = {"host": u.hostname or "127.0.0.1", "port": u.port or 6379,
            "db": int((u.path or "/0").lstrip("/") or 0)}  # fmt: skip
    if u.password:
        conn["password"] = u.password
    dup = MinHashLSH(
        threshold=0.5,
        num_perm=NUM_PERM,
        storage_config={"type": "redis", "basename": prefix + DS_DUP, "redis": conn},
    )
    story = MinHashLSH(
        num_perm=NUM_PERM,
        params=STORY_PARAMS,
        storage_config={"type": "redis", "basename": prefix + DS_STORY, "redis": conn},
    )
    if (dup.b, dup.r) != DUP_PARAMS:
        raise SystemExit(f"datasketch picked {(dup.b, dup.r)} for 0.5, not {DUP_PARAMS}")
    return dup, story


def fill_datasketch(
    dup: MinHashLSH, story: MinHashLSH, client: redis.Redis[bytes], c: Corpus, n: int
) -> dict[str, Any]:
    stats0, mem0, rt0 = commandstats(client), used_memory(client), RoundTrips.n
    insert_s = 0.0
    with dup.insertion_session() as sd, story.insertion_session() as ss:
        for lo in range(0, n, 5000):
            chunk = [(c.ids[i], lean(c.dup_sig[i]), lean(c.story_sig[i]))
                     for i in range(lo, min(n, lo + 5000))]  # fmt: skip
            t0 = time.perf_counter()
            for key, md, ms in chunk:
                sd.insert(key, md, check_duplication=False)
                ss.insert(key, ms, check_duplication=False)
            insert_s += time.perf_counter() - t0
        t0 = time.perf_counter()
    insert_s += time.perf_counter() - t0  # the sessions' final flush
    stats = stat_delta(stats0, commandstats(client))
    return {
        "articles": n,
        "articles_per_s": n / insert_s,
        "ms_per_article": insert_s * 1000 / n,
        "round_trips_per_article": (RoundTrips.n - rt0) / n,
        "commands_per_article": sum(v for k, v in stats.items() if k not in SIDE) / n,
        "used_memory_delta": used_memory(client) - mem0,
    }


def measure_matches(
    store: RedisStore, dup: MinHashLSH, story: MinHashLSH, client: redis.Redis[bytes], c: Corpus
) -> dict[str, Any]:
    qs = [(k, band_keys(d, *DUP_PARAMS, tag=b"d"), band_keys(s, *STORY_PARAMS, tag=b"s"),
           lean(d), lean(s)) for k, d, s in c.queries]  # fmt: skip
    found: dict[str, dict[str, list[int]]] = {"ours": {}, "datasketch": {}}

    def ours(q: tuple[Any, ...]) -> int:
        hits = store.index_query(q[1])
        stories = store.index_story_hits(q[2])
        return len(hits) + len(stories)

    def theirs(q: tuple[Any, ...]) -> int:
        return len(dup.query(q[3])) + len(story.query(q[4]))

    systems = {"ours": ours, "datasketch": theirs}
    for q in qs[:50]:  # warm-up: connections, script cache
        for fn in systems.values():
            fn(q)
    out: dict[str, dict[str, Any]] = {
        name: {"ms": [], "cpu_ms": [], "trips": 0, "found": []} for name in systems
    }
    load0 = os.getloadavg()[0]
    stats0 = commandstats(client)
    gc.collect()
    gc.disable()
    try:
        for j, q in enumerate(qs):
            for name in list(systems)[:: 1 if j % 2 else -1]:
                rt0, c0, t0 = RoundTrips.n, time.process_time(), time.perf_counter()
                n = systems[name](q)
                out[name]["ms"].append((time.perf_counter() - t0) * 1000)
                out[name]["cpu_ms"].append((time.process_time() - c0) * 1000)
                out[name]["trips"] += RoundTrips.n - rt0
                out[name]["found"].append(n)
                found[name].setdefault(q[0], []).append(n)
    finally:
        gc.enable()
    stats = stat_delta(stats0, commandstats(client))
    load1 = os.getloadavg()[0]
    # second pass: Redis-side time per match from SLOWLOG (every command logged)
    client.config_set("slowlog-max-len", 10_000)
    client.config_set("slowlog-log-slower-than", 0)
    client.slowlog_reset()
    server: dict[str, list[int]] = {"ours": [], "datasketch": []}
    top = {"ours": b"EVALSHA", "datasketch": b"SMEMBERS"}
    for q in qs:
        for name, fn in systems.items():
            fn(q)
            server[name].append(
                slowlog_durations(client, lambda cmd, t=top[name]: cmd.startswith(t))
            )
    client.config_set("slowlog-log-slower-than", 10_000)
    nq = len(qs)
    res = {}
    for name in systems:
        ms = out[name]["ms"]
        res[name] = {
            "queries": nq,
            "client_ms_p50": pct(ms, 0.5),
            "client_ms_p99": pct(ms, 0.99),
            "client_ms_mean": sum(ms) / nq,
            "client_cpu_ms_p50": pct(out[name]["cpu_ms"], 0.5),
            "client_cpu_ms_p99": pct(out[name]["cpu_ms"], 0.99),
            "load_1m_before_after": (load0, load1),
            "redis_us_p50": pct(server[name], 0.5),
            "redis_us_p99": pct(server[name], 0.99),
            "round_trips_per_query": out[name]["trips"] / nq,
            "results_mean": {kind: round(sum(v) / len(v), 1) for kind, v in found[name].items()},
        }
    res["ours"]["commands_per_query"] = {
        k: round(v / nq, 1) for k, v in stats.items() if k not in ("smembers", *SIDE)
    }
    res["datasketch"]["commands_per_query"] = {"smembers": round(stats.get("smembers", 0) / nq, 1)}
    # datasketch's buffered query (add_to_query_buffer + collect_query_buffer): round trips
    rt0 = RoundTrips.n
    for q in qs[:100]:
        dup.add_to_query_buffer(q[3])
        dup.collect_query_buffer()
        story.add_to_query_buffer(q[4])
        story.collect_query_buffer()
    res["datasketch"]["query_buffer_round_trips_per_query"] = (RoundTrips.n - rt0) / min(100, nq)
    return res


def prune_until_done(store: RedisStore, client: redis.Redis[bytes], cut: float) -> dict[str, Any]:
    """`prune_index(cut)` in a transaction until it removes nothing. Each PRUNE script call
    is timed in this process and, from `INFO commandstats` (evalsha usec) read around it, in
    Redis: how long Redis is busy with one call (nothing else runs meanwhile)."""
    calls = removed = 0
    per_call: list[tuple[float, int, int]] = []  # (client s, Redis us, stories swept)
    script = store.index.prune

    def evalsha_us() -> int:
        return int(client.info("commandstats").get("cmdstat_evalsha", {}).get("usec", 0))

    def timed(seqs: list[bytes], at: float) -> tuple[int, int]:
        us0 = evalsha_us()
        t0 = time.perf_counter()
        r = script(seqs, at)
        dt = time.perf_counter() - t0
        per_call.append((dt, evalsha_us() - us0, r[1]))
        return r

    store.index.prune = timed  # type: ignore[method-assign]
    t0 = time.perf_counter()
    try:
        while True:
            calls += 1
            with store.transaction():
                r = store.prune_index(cut)
            removed += r
            if r == 0:
                break
    finally:
        del store.index.prune
    wall = time.perf_counter() - t0
    swept = sum(x[2] for x in per_call)
    redis_us = [x[1] for x in per_call]
    return {
        "calls": calls,
        "script_calls": len(per_call),
        "stories_swept": swept,
        "records_removed": removed,
        "s": wall,
        "script_client_ms_per_story": sum(x[0] for x in per_call) * 1000 / max(1, swept),
        "script_redis_ms_per_story": sum(redis_us) / 1000 / max(1, swept),
        "script_redis_ms_p50": pct(redis_us, 0.5) / 1000 if redis_us else 0,
        "script_redis_ms_p99": pct(redis_us, 0.99) / 1000 if redis_us else 0,
        "script_redis_ms_max": max(redis_us) / 1000 if redis_us else 0,
    }


def evict(store: RedisStore, client: redis.Redis[bytes], c: Corpus, n: int) -> dict[str, Any]:
    k = store.keys
    half = c.at[n // 2]
    evicted = {int(s) for s in client.zrangebyscore(k.index_seen, "-inf", f"({half!r}")}
    everyone = {int(s) for s in client.zrange(k.index_seen, 0, -1)}
    before = index_state(store, client, evicted)
    pruned = prune_until_done(store, client, half)
    after_half = index_state(store, client, evicted)
    pruned_all = prune_until_done(store, client, c.at[n - 1] + 1)
    after_all = index_state(store, client, everyone)
    return {
        "stories_evicted": len(evicted),
        "stories": len(everyone),
        "cut_article": n // 2,
        "before": before,
        "prune_half": pruned,
        "after_half": after_half,
        "prune_rest": pruned_all,
        "after_all": after_all,
        "used_memory_index": before["used_memory"] - after_all["used_memory"],
    }


def ttl_variant(
    client: redis.Redis[bytes], url_client: Callable[[], redis.Redis[bytes]], c: Corpus,
    n: int, ttl_s: float, shards: int, namespace: str,
) -> dict[str, Any]:  # fmt: skip
    """A store with retention_s=ttl_s: TTLs set on its data keys, what is left past them, and
    after prune_index's expiry sweep."""
    mem0 = memory_detail(client)
    store = RedisStore(url_client(), index_signature="bench", namespace=namespace,
                       index_shards=shards, retention_s=ttl_s)  # fmt: skip
    k, now = store.keys, time.time()
    t0 = time.perf_counter()
    for i in range(n):
        row = {"id": c.ids[i], "story_id": c.story_ids[i], "content_hash": "h" + c.ids[i],
               "canonical_url": None, "dup_sig": c.dup_sig[i].tobytes(), "text": ""}  # fmt: skip
        at = now - (n - i) * 0.001
        with store.transaction():
            if c.first[i]:
                store.create_story(
                    c.story_ids[i], None, ingested(at), storyline_id=line_of(c.story_ids[i])
                )
            store.add_article(row, [])
            store.update_story(c.story_ids[i], terms={}, when=ingested(at), developed=False)
            store.index_add(band_keys(c.dup_sig[i], *DUP_PARAMS, tag=b"d"), c.ids[i],
                            c.story_ids[i], story_keys=band_keys(c.story_sig[i], *STORY_PARAMS,
                                                                 tag=b"s"))  # fmt: skip

    filled_s = time.perf_counter() - t0
    filled_at = time.monotonic()

    def census() -> dict[str, Any]:
        """Keys of the namespace by kind, with their PTTL (-1: none), read in pipelines."""
        names = list(client.scan_iter(match=k.prefix + "*", count=5000))
        kinds: dict[str, list[int]] = {}
        for i in range(0, len(names), 5000):
            with client.pipeline(transaction=False) as p:
                for key in names[i : i + 5000]:
                    p.pttl(key)
                ttls = p.execute()
            for key, ttl in zip(names[i : i + 5000], ttls, strict=True):
                name = key.decode()[len(k.prefix) :]
                parts = name.split(":")
                kind = ":".join(parts[:2]) if parts[0] == "ix" else parts[0]
                if parts[0] == "st" and len(parts) == 3:
                    kind = "st:" + parts[2]
                kinds.setdefault(kind, []).append(ttl)
        return {
            kind: {"keys": len(v), "pttl_ms_min": min(v), "pttl_ms_max": max(v)}
            for kind, v in sorted(kinds.items())
        }

    filled = census()
    mem1 = memory_detail(client)
    time.sleep(max(0.0, filled_at + ttl_s + 1.0 - time.monotonic()))
    past = census()
    mem2 = memory_detail(client)
    with store.transaction():  # the window has not passed: only the expiry sweep applies
        removed = store.prune_index(now - WINDOW_S)
    swept = census()
    mem3 = memory_detail(client)
    store.close()
    return {
        "articles": n,
        "retention_s": ttl_s,
        "fill_s": filled_s,
        "filled": filled,
        "past_ttl": past,
        "after_prune": swept,
        "prune_records_removed": removed,
        "used_memory": {"before": mem0, "filled": mem1, "past_ttl": mem2, "after_prune": mem3},
    }


# -- report -----------------------------------------------------------------------------------
def report(out: dict[str, Any]) -> None:
    m, o, d, q, e, t = (
        out[x] for x in ("machine", "ours", "datasketch", "match", "eviction", "ttl")
    )
    print(f"machine: {m['platform']}, {m['cpu']} x{m['cpus']}, load {m['load_avg_1m']}, "
          f"Python {m['python']}, redis-server {out['redis_version']}, datasketch "
          f"{out['datasketch_version']}, redis-py {out['redis_py_version']}")  # fmt: skip
    print(f"date {m['date']}  commit {m['commit']}  wall {out['wall_s']:.0f} s")
    print(f"corpus: {out['articles']} articles in {out['stories']} stories (ours); datasketch "
          f"holds the first {d['articles']}; {q['ours']['queries']} queries "
          f"(new story / sibling / near copy); dup bands {DUP_PARAMS[0]}x{DUP_PARAMS[1]}, "
          f"story bands {STORY_PARAMS[0]}x{STORY_PARAMS[1]}, shards {out['shards']}")  # fmt: skip
    print()
    w = "{:<34}{:>16}{:>16}"
    print(w.format("", "ours", "datasketch"))
    qo, qd = q["ours"], q["datasketch"]
    no, nd = o["articles"], d["articles"]
    rows = [
        ("articles stored", no, nd),
        ("match client ms p50", f"{qo['client_ms_p50']:.3f}", f"{qd['client_ms_p50']:.3f}"),
        ("match client ms p99", f"{qo['client_ms_p99']:.3f}", f"{qd['client_ms_p99']:.3f}"),
        ("match client CPU ms p50", f"{qo['client_cpu_ms_p50']:.3f}",
         f"{qd['client_cpu_ms_p50']:.3f}"),
        ("match client CPU ms p99", f"{qo['client_cpu_ms_p99']:.3f}",
         f"{qd['client_cpu_ms_p99']:.3f}"),
        ("match Redis-side us p50", qo["redis_us_p50"], qd["redis_us_p50"]),
        ("match Redis-side us p99", qo["redis_us_p99"], qd["redis_us_p99"]),
        ("round trips per match", qo["round_trips_per_query"], qd["round_trips_per_query"]),
        ("insert articles/s", f"{o['articles_per_s']:.0f}", f"{d['articles_per_s']:.0f}"),
        ("insert round trips per article", f"{o['round_trips_per_article']:.2f}",
         f"{d['round_trips_per_article']:.3f}"),
        ("insert commands per article", f"{o['commands_per_article']:.1f}",
         f"{d['commands_per_article']:.1f}"),
        ("index keys", out["ours_index_keys"], d["index_keys"]),
        ("index MEMORY USAGE B/article", f"{out['ours_index_bytes'] / no:.0f}",
         f"{d['index_bytes'] / nd:.0f}"),
        ("index used_memory B/article", f"{e['used_memory_index'] / no:.0f}",
         f"{d['used_memory_delta'] / nd:.0f}"),
        ("fill used_memory B/article", f"{o['used_memory_delta'] / no:.0f}",
         f"{d['used_memory_delta'] / nd:.0f}"),
    ]  # fmt: skip
    for r in rows:
        print(w.format(*r))
    print(f"ours: index_add EVAL in Redis us p50 {o['index_add_us_p50']} p99 "
          f"{o['index_add_us_p99']}; records/article {out['ours_records'] / o['articles']:.1f}; "
          f"commands per match {q['ours']['commands_per_query']}")  # fmt: skip
    print(f"datasketch: buffered query (add_to_query_buffer + collect) round trips per match "
          f"{q['datasketch']['query_buffer_round_trips_per_query']:.1f}")  # fmt: skip
    print(f"load (1 min) before/after the timed matches: {qo['load_1m_before_after']}")
    print(f"results per match (mean, by query kind): ours {q['ours']['results_mean']}, "
          f"datasketch {q['datasketch']['results_mean']}")  # fmt: skip
    print()
    print(f"eviction: window passes for {e['stories_evicted']} of {e['stories']} stories "
          f"(last seen before article {e['cut_article']})")  # fmt: skip
    w = "{:<40}{:>14}{:>14}{:>14}"
    print(w.format("", "before", "after half", "after all"))
    b, h, a = e["before"], e["after_half"], e["after_all"]
    for label, key in (
        ("index keys", "index_keys"),
        ("index bytes (MEMORY USAGE)", "index_bytes"),
        ("shard records", "records"),
        ("shard records of evicted stories", "records_of_evicted"),
        ("non-empty bookkeeping of evicted", "bookkeeping_nonempty_of_evicted"),
        ("ix:seen entries of evicted", "seen_entries_of_evicted"),
        ("used_memory", "used_memory"),
    ):
        print(w.format(label, b[key], h[key], a[key]))
    print("(in 'after all' the 'evicted' rows are about every story)")
    for label, pr in (("half", e["prune_half"]), ("rest", e["prune_rest"])):
        print(f"prune {label}: {pr['calls']} prune_index calls, {pr['script_calls']} script "
              f"calls, {pr['stories_swept']} stories, {pr['records_removed']} records, "
              f"{pr['s']:.1f} s; per story: client {pr['script_client_ms_per_story']:.2f} ms, "
              f"Redis {pr['script_redis_ms_per_story']:.2f} ms; Redis busy per script call "
              f"p50 {pr['script_redis_ms_p50']:.2f} p99 {pr['script_redis_ms_p99']:.2f} max "
              f"{pr['script_redis_ms_max']:.2f} ms")  # fmt: skip
    print()
    print(f"TTL variant: {t['articles']} articles, retention_s={t['retention_s']}, filled in "
          f"{t['fill_s']:.1f} s; keys by kind (PTTL ms min..max, -1 none)")  # fmt: skip
    for stage in ("filled", "past_ttl", "after_prune"):
        print(f"  {stage:<12} " + ", ".join(
            f"{kind} {v['keys']} (pttl {v['pttl_ms_min']}..{v['pttl_ms_max']})"
            for kind, v in t[stage].items()))  # fmt: skip
    for f in ("used_memory", "used_memory_dataset", "used_memory_scripts"):
        print(f"  {f}: " + ", ".join(f"{stage} {v[f]}" for stage, v in t["used_memory"].items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--datasketch-articles", type=int, default=None,
                    help="articles datasketch stores (default: --articles)")  # fmt: skip
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--shards", type=int, default=32768)
    ap.add_argument("--mean-story", type=float, default=3.0)
    ap.add_argument("--ttl-articles", type=int, default=1000)
    ap.add_argument("--ttl-s", type=float, default=10.0)
    ap.add_argument("--redis-url", default=None, help="use this Redis instead of a throwaway one")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # still stop redis-server
    n = args.articles
    n_ds = min(n, args.datasketch_articles or n)
    started = time.perf_counter()
    machine = machine_info()
    workdir = tempfile.mkdtemp()
    proc = None
    if args.redis_url:
        url = args.redis_url
        tag = secrets.token_hex(3)
    else:
        proc, url = start_redis(workdir)
        tag = ""
    namespace, ds_prefix = f"bench{tag}", f"{tag}".encode()
    client = redis.Redis.from_url(url)
    try:
        signer = Signer(NUM_PERM, SEED)
        t_end = time.time()
        corpus = make_corpus(signer, n, args.mean_story, args.queries, n_ds,
                             t_end - n * SPACING_S, random.Random(7))  # fmt: skip
        # first, while the keyspace is small: its SCANs must finish well within the TTL
        ttl = ttl_variant(client, lambda: redis.Redis.from_url(url), corpus,
                          min(args.ttl_articles, n), args.ttl_s, args.shards,
                          namespace + "ttl")  # fmt: skip
        store = RedisStore(redis.Redis.from_url(url), index_signature="bench",
                           namespace=namespace, index_shards=args.shards)  # fmt: skip
        ours = fill_ours(store, client, corpus, n)
        ours_keys, ours_bytes = memory_usage(client, store.keys.prefix + "ix:*")
        records = index_state(store, client, set())["records"]
        dup, story = open_datasketch(url, ds_prefix)
        ds = fill_datasketch(dup, story, client, corpus, n_ds)
        ds["index_keys"], ds["index_bytes"] = 0, 0
        for base in (DS_DUP, DS_STORY):
            keys, nbytes = memory_usage(client, ds_prefix + base + b"*")
            ds["index_keys"] += keys
            ds["index_bytes"] += nbytes
        match = measure_matches(store, dup, story, client, corpus)
        eviction = evict(store, client, corpus, n)
        out = {
            "machine": machine,
            "redis_version": client.info("server")["redis_version"],
            "datasketch_version": __import__("datasketch").__version__,
            "redis_py_version": redis.__version__,
            "articles": n,
            "stories": corpus.stories,
            "shards": args.shards,
            "dup_params": DUP_PARAMS,
            "story_params": STORY_PARAMS,
            "ours": ours,
            "ours_index_keys": ours_keys,
            "ours_index_bytes": ours_bytes,
            "ours_records": records,
            "datasketch": ds,
            "match": match,
            "eviction": eviction,
            "ttl": ttl,
            "wall_s": time.perf_counter() - started,
        }
        if args.json:
            print(json.dumps(out, default=float))
        else:
            report(out)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
        else:
            for pattern in (f"ww:v1:{namespace}*".encode(), ds_prefix + b"wwbench_*"):
                for key in client.scan_iter(match=pattern, count=5000):
                    client.unlink(key)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
