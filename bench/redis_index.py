"""RedisStore's LSH index at N synthetic articles: memory per article, match latency, insert and
prune cost, in a throwaway redis-server (nothing else in it).

Usage: .venv/bin/python bench/redis_index.py [--articles 100000] [--shards 32768] [--json]

Articles come in stories of geometric size (mean --mean-story). Each article's story signature
is the real Signer over 40 salient terms, 30 of them from its story's pool of 60 (siblings
share story bands as real same-story articles do); dup bands are 25 random keys per article,
a tenth of siblings being near copies (20 of 25 shared). Each article is one transaction as
ingest makes it: create_story (first), add_article, update_story, index_add.

Figures: index memory (`MEMORY USAGE` summed over `ww:v1:ix:*`) per article; records per
article; a match = index_query (25 bands) + index_story_hits (64 bands), timed in this process
and, per script call, by Redis itself (SLOWLOG, so other load on the machine does not count);
insert transactions per second; prune of the older half (`prune_index`, at most its
`prune_max` stories), per story.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench.machine import cpu_model  # noqa: E402
from worker.pipeline.fingerprint import Signer, band_keys  # noqa: E402
from worker.store.redis_store import RedisStore  # noqa: E402


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
    sys.exit("redis-server did not start")


def _id(kind: str, n: int) -> str:
    return f"{kind}_" + hashlib.sha1(f"{kind}{n}".encode()).hexdigest()[:16]


def fill(store: RedisStore, articles: int, mean_story: float, rng: random.Random) -> dict:
    """Insert the articles; returns timings and match samples."""
    signer = Signer(128, 1)
    n = stories = 0
    insert_s: list[float] = []
    samples = []
    while n < articles:
        stories += 1
        story_id, pool = _id("s", stories), [f"t{stories}_{i}" for i in range(60)]
        size = 1
        while rng.random() > 1 / mean_story:
            size += 1
        dup: list[int] | None = None
        for j in range(min(size, articles - n)):
            n += 1
            article_id = _id("a", n)
            story_keys = band_keys(
                signer.sign(rng.sample(pool, 30) + [f"u{n}_{i}" for i in range(10)]), 64, 1, b"s"
            )
            if dup is not None and rng.random() < 0.1:
                dup = dup[:20] + [rng.getrandbits(64) - (1 << 63) for _ in range(5)]
            else:
                dup = [rng.getrandbits(64) - (1 << 63) for _ in range(25)]
            row = {"id": article_id, "story_id": story_id, "content_hash": "h" + article_id,
                   "canonical_url": None, "dup_sig": b"", "text": ""}  # fmt: skip
            t0 = time.perf_counter()
            with store.transaction():
                if j == 0:
                    store.create_story(story_id, None, float(n))
                store.add_article(row, [])
                store.update_story(story_id, terms={}, seen_at=float(n), development_at=None)
                store.index_add(dup, article_id, story_id, story_keys=story_keys)
            insert_s.append(time.perf_counter() - t0)
            if rng.random() < 2000 / articles:
                samples.append((dup, story_keys))
    return {"articles": n, "stories": stories, "insert_s": insert_s, "samples": samples}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--shards", type=int, default=32768)
    ap.add_argument("--mean-story", type=float, default=3.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp()
    proc, url = start_redis(workdir)
    try:
        client = redis.Redis.from_url(url)
        store = RedisStore(redis.Redis.from_url(url), index_signature="bench",
                           index_shards=args.shards)  # fmt: skip
        run = fill(store, args.articles, args.mean_story, random.Random(7))
        n = run["articles"]
        index_bytes = records = 0
        for key in client.scan_iter(match=store.keys.prefix + "ix:*", count=1000):
            index_bytes += client.memory_usage(key, samples=0) or 0
            k = key.decode()
            if k.startswith(store.keys.dup_shard_prefix):
                records += client.strlen(key) // 10
            elif k.startswith(store.keys.story_shard_prefix):
                records += client.strlen(key) // 8
        gc.collect()
        gc.disable()
        client.config_set("slowlog-log-slower-than", 0)
        client.config_set("slowlog-max-len", 100_000)
        client.slowlog_reset()
        match_ms = []
        for dup, story_keys in run["samples"]:
            t0 = time.perf_counter()
            store.index_query(dup)
            store.index_story_hits(story_keys)
            match_ms.append((time.perf_counter() - t0) * 1000)
        gc.enable()
        server_us = sorted(
            e["duration"]
            for e in client.slowlog_get(100_000)
            if e["command"].startswith(b"EVALSHA")
        )
        client.config_set("slowlog-log-slower-than", 10_000)
        match_ms.sort()
        t0 = time.perf_counter()
        with store.transaction():
            store.prune_index(n / 2)
        prune_s = time.perf_counter() - t0
        swept = run["stories"] - client.zcard(store.keys.index_seen)
        out = {
            "cpu": cpu_model(),
            "articles": n,
            "stories": run["stories"],
            "shards": args.shards,
            "index_bytes_per_article": round(index_bytes / n),
            "records_per_article": round(records / n, 1),
            "match_ms_p50": round(match_ms[len(match_ms) // 2], 3),
            "match_ms_p99": round(match_ms[int(len(match_ms) * 0.99)], 3),
            "script_us_p50": server_us[len(server_us) // 2],
            "script_us_p99": server_us[int(len(server_us) * 0.99)],
            "insert_tx_per_s": round(n / sum(run["insert_s"])),
            "prune_ms_per_story": round(prune_s * 1000 / max(swept, 1), 2),
        }
        if args.json:
            print(json.dumps(out))
        else:
            for k, v in out.items():
                print(f"{k:>24}  {v}")
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
