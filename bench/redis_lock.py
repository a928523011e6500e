"""Match-or-create under contention: RedisStore's lock against optimistic WATCH transactions.

Usage: .venv/bin/python bench/redis_lock.py [--transactions 300] [--procs 1,2,4]
           [--work-ms 1,5]

P processes each run N transactions shaped like an ingest: read the document count and 300
document frequencies, compute for --work-ms (the matcher's CPU inside the transaction), then
bump 150 of them and the count, as every ingest does. `lock` is `RedisStore.transaction()`;
`watch` WATCHes the two keys read and retries the whole transaction on WatchError.
Prints transactions per second and retries per transaction, in a throwaway redis-server.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench.redis_index import start_redis  # noqa: E402
from worker.store.redis_store import RedisStore  # noqa: E402

TERMS = [f"t{i}" for i in range(300)]


def _spin(ms: float) -> None:
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


def _worker(url: str, mode: str, n: int, work_ms: float, out: mp.Queue) -> None:
    store = RedisStore.from_url(url, index_signature="bench")
    r, k = store.r, store.keys
    retries = 0
    for _ in range(n):
        if mode == "lock":
            with store.transaction():
                store.doc_count()
                store.doc_freqs(TERMS)
                _spin(work_ms)
                store.add_document_terms(TERMS[:150])
            continue
        while True:
            with r.pipeline() as p:
                try:
                    p.watch(k.meta, k.doc_freqs)
                    p.hget(k.meta, "doc_count")
                    p.hmget(k.doc_freqs, TERMS)
                    _spin(work_ms)
                    p.multi()
                    for t in TERMS[:150]:
                        p.hincrby(k.doc_freqs, t, 1)
                    p.hincrby(k.meta, "doc_count", 1)
                    p.execute()
                    break
                except redis.WatchError:
                    retries += 1
    out.put(retries)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--transactions", type=int, default=300)
    ap.add_argument("--procs", default="1,2,4")
    ap.add_argument("--work-ms", default="1,5")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp()
    proc, url = start_redis(workdir)
    try:
        for work_ms in (float(x) for x in args.work_ms.split(",")):
            for procs in (int(x) for x in args.procs.split(",")):
                for mode in ("lock", "watch"):
                    out: mp.Queue = mp.Queue()
                    workers = [
                        mp.Process(
                            target=_worker, args=(url, mode, args.transactions, work_ms, out)
                        )
                        for _ in range(procs)
                    ]
                    t0 = time.perf_counter()
                    for w in workers:
                        w.start()
                    retries = sum(out.get() for _ in workers)
                    for w in workers:
                        w.join()
                    total = procs * args.transactions
                    print(
                        f"work {work_ms:4.1f} ms  procs {procs}  {mode:5}  "
                        f"{total / (time.perf_counter() - t0):6.0f} tx/s  "
                        f"retries/tx {retries / total:.2f}"
                    )
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
