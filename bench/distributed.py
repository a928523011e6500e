"""Distributed mode end to end: Celery worker processes on Redis against the embedded pipeline.

Usage: .venv/bin/python bench/distributed.py [--datasets PATH] [--repeat N] [--limit N]
           [--concurrency 1,2] [--tiny N] [--latency N] [--redis-url URL] [--json]

Every document set goes through four modes in the same run, with the same documents in the
same order:

1. embedded, SQLite: `Pipeline.ingest` in this process into a fresh SQLite file (the baseline);
2. embedded, RedisStore: the same, into a fresh Redis namespace (the store's own cost);
3. Celery with 1, then 2 worker processes: `celery -A tasks worker --concurrency N`, a real
   worker started for the run in a fresh namespace; this process sends every document as a
   `wirewatch.ingest.document` task, as `wirewatch submit` does, and collects the results.

Articles/s is counted from the first submit to the last result stored (`date_done` of the last
task), so the result polling here does not stretch it. Each run starts from an empty store
after a warm-up of a few synthetic documents per worker process (the embedded modes ingest the
same warm-up first), so lazy loading stays out of the timings. Document sets: the 181 Zyte HTML
pages, the 982 ECB+ texts (one seeded shuffle) and --tiny synthetic two-sentence texts, whose
pipeline work is small, for the per-task overhead; with --latency, one more worker (1 process)
answers tiny documents sent one at a time: the round trip a single `submit --wait` sees.

CPU seconds are read from /proc for the worker's processes, from `INFO cpu` for redis-server and
from this process, and the whole box's busy time is read from /proc/stat, so what other jobs on
a shared machine took during a run is printed with it. Redis is a throwaway `redis-server` on a
free port without persistence, unless --redis-url names one; every run's keys are deleted after
it. The median over --repeat runs is reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: make `bench` and `worker` importable

import redis  # noqa: E402
from celery import Celery  # noqa: E402
from redis.connection import AbstractConnection  # noqa: E402

from bench.ecbplus import load as load_ecbplus  # noqa: E402
from bench.machine import machine_info  # noqa: E402
from bench.redis_index import start_redis  # noqa: E402
from bench.throughput import ZYTE, html_docs, load_pages  # noqa: E402
from tasks.app import configure  # noqa: E402
from worker.config import Settings  # noqa: E402
from worker.ingest import Pipeline  # noqa: E402
from worker.models import Document  # noqa: E402

DEFAULT_DATASETS = REPO.parent / "shared" / "datasets"
INGEST_DOCUMENT = "wirewatch.ingest.document"
READY_TIMEOUT_S = 120.0
RESULT_TIMEOUT_S = 1800.0
POLL_INTERVAL_S = 0.05  # result polling; the end time comes from date_done, not from the poll
WARM_UP_PER_PROCESS = 4  # synthetic documents per worker process before the timed batch
CLK_TCK = os.sysconf("SC_CLK_TCK")
MODES = ["embedded, SQLite", "embedded, RedisStore"]


# -- documents ---------------------------------------------------------------------------------
def _invented(rng: random.Random) -> tuple[str, str, list[str]]:
    """A made-up place, person and six nouns: no two synthetic stories share vocabulary."""
    syllables = "ka lo mi ra tu ve so pe ni da gu ze fo li ba".split()

    def word(k: int) -> str:
        return "".join(rng.choice(syllables) for _ in range(k))

    return (
        word(3).title(),
        f"{word(2).title()} {word(3).title()}",
        [word(2) + "s" for _ in range(6)],
    )


def tiny_docs(n: int, seed: int) -> list[Document]:
    """Two-sentence wire briefs, each its own story: the pipeline has little to do."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        place, person, things = _invented(rng)
        body = (
            f"{person} opened the {things[0]} exchange in {place} on Tuesday with "
            f"{100 + i} {things[1]}. Officials said {i + 3} {things[2]} were sold by noon."
        )
        docs.append(Document(f"tiny-{seed}-{i:04d}", body, "text"))
    return docs


def warm_up_docs(n: int, seed: int) -> list[Document]:
    """Synthetic text and HTML articles (every other one HTML, so trafilatura warms up too)."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        place, person, things = _invented(rng)
        paragraphs = [
            f"{person} opened the {things[0]} exchange in {place} on Tuesday, 14 May, with "
            f"{1200 + i} {things[1]} and {i + 40} {things[2]} on the floor.",
            f'"We expected {things[3]}, not {things[4]}," {person} told reporters at 0930 GMT.',
            f"Officials in {place} said {2 * i + 5} {things[5]} were sold before noon, more "
            f"than the {i + 17} sold on the same day last year.",
        ]
        if i % 2:
            body = "\n\n".join(paragraphs)
            docs.append(Document(f"warm-up-{seed}-{i}", body, "text"))
        else:
            article = "".join(f"<p>{p}</p>" for p in paragraphs)
            body = (
                f"<html><head><title>{things[0]} exchange opens in {place}</title></head><body>"
                f"<nav><a href='/'>Home</a></nav><article><h1>{things[0]} exchange opens in "
                f"{place}</h1>{article}</article><footer>(c) Wire</footer></body></html>"
            )
            docs.append(Document(f"warm-up-{seed}-{i}.html", body, "html"))
    return docs


def document_sets(
    datasets: Path, names: list[str], limit: int | None, tiny: int
) -> dict[str, list[Document]]:
    sets = {}
    for name in names:
        if name == "zyte":
            sets[name] = html_docs(load_pages(datasets / ZYTE))[:limit]
        elif name == "ecbplus":
            by_name, _ = load_ecbplus(datasets)
            order = sorted(by_name)
            random.Random(0).shuffle(order)  # bench/ecbplus.py's order 0
            sets[name] = [by_name[n] for n in order][:limit]
        elif name == "tiny" and tiny > 0:
            sets[name] = tiny_docs(tiny, seed=1)
    return sets


# -- CPU accounting ----------------------------------------------------------------------------
def _group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of the live processes of one process group (a worker's)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited meanwhile
        if int(fields[2]) == pgid:  # fields[0] is the state: pgrp is field 5 of the line
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def _box_busy_s() -> float:
    """CPU seconds the whole machine spent busy (every core, every process) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


def _redis_cpu_s(client: redis.Redis[bytes]) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class CpuMeter:
    """CPU seconds over a window: this process, a worker's process group, redis-server, the box."""

    def __init__(self, client: redis.Redis[bytes], worker_pgid: int | None = None):
        self.client, self.pgid = client, worker_pgid
        self.start = self._read()

    def _read(self) -> dict[str, float]:
        return {
            "this_process": time.process_time(),
            "workers": _group_cpu_s(self.pgid) if self.pgid else 0.0,
            "redis": _redis_cpu_s(self.client),
            "box_busy": _box_busy_s(),
        }

    def stop(self) -> dict[str, float]:
        end = self._read()
        used = {k: end[k] - self.start[k] for k in end}
        ours = used["this_process"] + used["workers"] + used["redis"]
        used["other_jobs"] = max(0.0, used["box_busy"] - ours)
        return used


# -- Redis -------------------------------------------------------------------------------------
def drop_namespace(client: redis.Redis[bytes], namespace: str) -> int:
    """Delete every key of a run: the store's and Celery's (both under `ww:v1:<namespace>:`)."""
    keys = list(client.scan_iter(match=f"*{namespace}*", count=1000))
    for i in range(0, len(keys), 1000):
        client.unlink(*keys[i : i + 1000])
    return len(keys)


def result_keys_mb(client: redis.Redis[bytes], namespace: str) -> float:
    """Redis memory of the run's task results (`celery-task-meta-*`), MB."""
    total = 0
    for key in client.scan_iter(match=f"*{namespace}*celery-task-meta-*", count=1000):
        total += client.memory_usage(key) or 0
    return total / 1e6


# -- workers -----------------------------------------------------------------------------------
class WorkerProcess:
    """`celery -A tasks worker --concurrency N` in its own process group, its log in a file."""

    def __init__(self, env: dict[str, str], concurrency: int, log: Path, name: str):
        self.log = log
        started = time.perf_counter()
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "tasks", "worker",
                 f"--concurrency={concurrency}", "--loglevel=INFO", f"--hostname={name}@%h"],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "ready." not in log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"celery worker did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)
        self.ready_s = time.perf_counter() - started

    @property
    def pgid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """SIGTERM to the group (a warm shutdown), SIGKILL if it is still there after 30 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@contextmanager
def deployment(
    url: str, concurrency: int | None, logdir: Path, label: str
) -> Iterator[tuple[str, Celery | None, WorkerProcess | None]]:
    """A fresh namespace (and, with `concurrency`, a worker and a producer app on it)."""
    namespace = f"bench{uuid.uuid4().hex[:10]}"
    client: redis.Redis[bytes] = redis.Redis.from_url(url)
    app = proc = None
    try:
        if concurrency:
            env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
            env.update(WIREWATCH_REDIS_URL=url, WIREWATCH_REDIS_NAMESPACE=namespace,
                       PYTHONPATH=str(REPO))  # fmt: skip
            app = Celery("wirewatch-bench")
            configure(app, Settings.from_env(env))
            proc = WorkerProcess(env, concurrency, logdir / f"{label}-{namespace}.log", namespace)
        yield namespace, app, proc
    finally:
        if proc is not None:
            proc.stop()
        if app is not None:
            app.close()
        drop_namespace(client, namespace)
        client.close()


# -- runs --------------------------------------------------------------------------------------
def _summary(
    results: list[dict[str, Any]], elapsed_s: float, cpu: dict[str, float]
) -> dict[str, Any]:
    n = len(results)
    return {
        "articles": n,
        "elapsed_s": elapsed_s,
        "articles_per_s": n / elapsed_s,
        "ms_per_article": 1000 * elapsed_s / n,
        "cpu_s": cpu,
        "cpu_ms_per_article": {k: 1000 * v / n for k, v in cpu.items()},
        "statuses": dict(Counter(r["status"] for r in results)),
        "stories": len({r["story_id"] for r in results if r.get("story_id")}),
        "status_list": [r["status"] for r in results],
    }


def run_embedded(
    docs: list[Document], warm: list[Document], url: str, store_kind: str, tmp: Path
) -> dict[str, Any]:
    """`Pipeline.ingest` in this process, one transaction per document, as the CLI runs it."""
    client: redis.Redis[bytes] = redis.Redis.from_url(url)
    with deployment(url, None, tmp, "embedded") as (namespace, _, _):
        if store_kind == "sqlite":
            settings = Settings(db_path=str(tmp / f"{namespace}.db"))
        else:
            settings = Settings(db_path=str(tmp / "unused.db"), redis_url=url,
                                redis_namespace=namespace)  # fmt: skip
        pipeline = Pipeline(settings)
        store = pipeline.open_store()
        lock = LockMeter()
        if store_kind == "redis":
            store.transaction = lock.wrap(store.transaction)  # type: ignore[method-assign]
        try:
            for doc in warm:
                pipeline.ingest(doc, store, now=time.time())
            meter = CpuMeter(client)
            with lock.counting():
                start = time.perf_counter()
                results = [pipeline.ingest(d, store, now=time.time()).to_dict() for d in docs]
                elapsed = time.perf_counter() - start
            cpu = meter.stop()
        finally:
            store.close()
    client.close()
    summary = _summary(results, elapsed, cpu)
    if store_kind == "redis":
        n = len(docs)
        summary.update(
            locked_ms_per_article=1000 * lock.wall_s / n,
            locked_cpu_ms_per_article=1000 * lock.cpu_s / n,
            locked_share=lock.wall_s / elapsed,
            round_trips_per_article=lock.round_trips / n,
            locked_round_trips_per_article=lock.locked_round_trips / n,
        )
    return summary


class LockMeter:
    """Time inside `RedisStore.transaction` (lock taken to commit) and Redis round trips."""

    def __init__(self) -> None:
        self.wall_s = self.cpu_s = 0.0
        self.round_trips = self.locked_round_trips = 0
        self._locked = self._on = False

    def wrap(
        self, transaction: Callable[[], AbstractContextManager[None]]
    ) -> Callable[[], AbstractContextManager[None]]:
        @contextmanager
        def timed() -> Iterator[None]:
            start, cpu = time.perf_counter(), time.process_time()
            self._locked = True
            try:
                with transaction():
                    yield
            finally:
                self._locked = False
                if self._on:
                    self.wall_s += time.perf_counter() - start
                    self.cpu_s += time.process_time() - cpu

        return timed

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Count from here: every command or pipeline sent is one round trip."""
        send = AbstractConnection.send_packed_command

        def counted(conn: AbstractConnection, *args: Any, **kwargs: Any) -> None:
            self.round_trips += 1
            self.locked_round_trips += self._locked
            send(conn, *args, **kwargs)

        AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
        self._on = True
        try:
            yield
        finally:
            self._on = False
            AbstractConnection.send_packed_command = send  # type: ignore[method-assign]


def _collect(app: Celery, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    metas = dict(app.backend.get_many(task_ids, timeout=RESULT_TIMEOUT_S, interval=POLL_INTERVAL_S))
    for task_id, meta in metas.items():
        if meta["status"] != "SUCCESS":
            raise SystemExit(f"task {task_id} ended {meta['status']}: {meta.get('result')!r}")
    return metas


def _date_done(meta: dict[str, Any]) -> float:
    done = meta["date_done"]
    if isinstance(done, str):
        done = dt.datetime.fromisoformat(done)
    if done.tzinfo is None:  # celery stores UTC
        done = done.replace(tzinfo=dt.UTC)
    return float(done.timestamp())


def run_celery(
    docs: list[Document], warm: list[Document], url: str, concurrency: int, tmp: Path
) -> dict[str, Any]:
    """Submit every document at once to a fresh worker; first submit to last result stored."""
    client: redis.Redis[bytes] = redis.Redis.from_url(url)
    with deployment(url, concurrency, tmp, f"c{concurrency}") as (namespace, app, worker):
        assert app is not None and worker is not None
        _collect(app, [app.send_task(INGEST_DOCUMENT, args=[d.to_dict()]).id for d in warm])
        memory_before = int(client.info("memory")["used_memory"])
        meter = CpuMeter(client, worker.pgid)
        first_submit = time.time()
        ids = [app.send_task(INGEST_DOCUMENT, args=[d.to_dict()]).id for d in docs]
        submitted = time.time()
        metas = _collect(app, ids)
        seen = time.time()
        cpu = meter.stop()
        last_done = max(_date_done(m) for m in metas.values())
        summary = _summary([metas[i]["result"] for i in ids], last_done - first_submit, cpu)
        summary.update(
            submit_s=submitted - first_submit,
            all_results_seen_s=seen - first_submit,
            worker_ready_s=worker.ready_s,
            redis_memory_growth_mb=(int(client.info("memory")["used_memory"]) - memory_before)
            / 1e6,
            result_keys_mb=result_keys_mb(client, namespace),
        )
    client.close()
    return summary


def run_latency(url: str, n: int, tmp: Path) -> dict[str, Any]:
    """Tiny documents sent one at a time to a 1-process worker: submit to result, each."""
    docs = tiny_docs(n, seed=2)
    with deployment(url, 1, tmp, "latency") as (_, app, _):
        assert app is not None
        _collect(app, [app.send_task(INGEST_DOCUMENT, args=[d.to_dict()]).id for d in
                       warm_up_docs(WARM_UP_PER_PROCESS, seed=9)])  # fmt: skip
        latencies = []
        for doc in docs:
            start = time.perf_counter()
            app.send_task(INGEST_DOCUMENT, args=[doc.to_dict()]).get(timeout=60)
            latencies.append(1000 * (time.perf_counter() - start))
    embedded = run_embedded(docs, [], url, "redis", tmp)
    q = statistics.quantiles(latencies, n=10)
    return {
        "documents": n,
        "p50_ms": statistics.median(latencies),
        "p90_ms": q[8],
        "max_ms": max(latencies),
        "embedded_redis_ms": embedded["ms_per_article"],
    }


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median articles/s, with the spread of all runs."""
    ordered = sorted(runs, key=lambda r: r["articles_per_s"])
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["runs_articles_per_s"] = [r["articles_per_s"] for r in runs]
    return median


def bench(
    sets: dict[str, list[Document]], url: str, concurrencies: list[int], repeat: int, tmp: Path
) -> dict[str, Any]:
    modes = MODES + [f"celery, {c} worker process{'es' if c > 1 else ''}" for c in concurrencies]
    # the same warm-up before every run, so every mode sees the same documents in the same order
    warm = warm_up_docs(WARM_UP_PER_PROCESS * max(concurrencies), seed=7)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {s: {m: [] for m in modes} for s in sets}
    for r in range(repeat):
        for name, docs in sets.items():
            # alternate the order on each repeat: a shared box drifts within a run
            for mode in modes if r % 2 == 0 else modes[::-1]:
                if mode in MODES:
                    store_kind = "sqlite" if "SQLite" in mode else "redis"
                    result = run_embedded(docs, warm, url, store_kind, tmp)
                else:
                    concurrency = concurrencies[modes.index(mode) - len(MODES)]
                    result = run_celery(docs, warm, url, concurrency, tmp)
                runs[name][mode].append(result)
                print(
                    f"  [{r + 1}/{repeat}] {name:<8} {mode:<28} "
                    f"{result['articles_per_s']:7.1f} articles/s",
                    file=sys.stderr,
                )
    out: dict[str, Any] = {}
    for name in sets:
        base = _median_run(runs[name][MODES[0]])
        rows = []
        for mode in modes:
            row = _median_run(runs[name][mode])
            row["mode"] = mode
            row["x_embedded"] = row["articles_per_s"] / base["articles_per_s"]
            row["same_statuses_as_embedded"] = sum(
                a == b for a, b in zip(row.pop("status_list"), base["status_list"], strict=True)
            )
            rows.append(row)
        base.pop("status_list", None)
        out[name] = rows
    return out


# -- report ------------------------------------------------------------------------------------
LABELS = {
    "zyte": "Zyte HTML pages",
    "ecbplus": "ECB+ texts",
    "tiny": "tiny synthetic texts (per-task overhead)",
}


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"machine: {m['platform']} | {m['cpu']} x{m['cpus']} | load {m['load_avg_1m']}")
    print(
        f"python {m['python']} | trafilatura {m['trafilatura']} | celery {report['celery']}"
        f" | redis-server {report['redis_version']} | commit {m['commit']} | {m['date']}"
    )
    print(
        f"redis: {report['redis']} | repeat {report['repeat']} (median run shown) | "
        f"load at the end {report['load_avg_1m_end']}"
    )
    for name, rows in report["sets"].items():
        print(f"\n{LABELS.get(name, name)}: {rows[0]['articles']} documents")
        print(
            f"  {'mode':<28}{'art/s':>8}{'ms/art':>8}{'x emb':>7}   CPU ms/art:"
            f"{'ingest':>7}{'redis':>7}{'submit':>7}{'others':>7}  statuses"
        )
        for r in rows:
            c = r["cpu_ms_per_article"]
            ingest, submit = (c["workers"], c["this_process"]) if c["workers"] else (
                c["this_process"], 0.0)  # fmt: skip
            same = r["same_statuses_as_embedded"]
            print(
                f"  {r['mode']:<28}{r['articles_per_s']:>8.1f}{r['ms_per_article']:>8.1f}"
                f"{r['x_embedded']:>7.2f}{'':>14}{ingest:>7.1f}{c['redis']:>7.1f}{submit:>7.1f}"
                f"{c['other_jobs']:>7.1f}  {r['statuses']}, {r['stories']} stories"
                + ("" if same == r["articles"] else f", {same}/{r['articles']} as embedded")
            )
        spread = "; ".join(
            f"{r['mode']}: " + " ".join(f"{x:.1f}" for x in r["runs_articles_per_s"]) for r in rows
        )
        print(f"  runs (articles/s): {spread}")
        emb = next(r for r in rows if r["mode"] == MODES[1])
        share, locked = emb["locked_share"], emb["locked_ms_per_article"]
        print(
            f"  store lock held {locked:.1f} ms/article ({emb['locked_cpu_ms_per_article']:.1f} "
            f"CPU ms here, {emb['locked_round_trips_per_article']:.1f} of "
            f"{emb['round_trips_per_article']:.1f} Redis round trips), {100 * share:.0f}% of an "
            f"embedded RedisStore ingest: at most {1000 / locked:.0f} articles/s through the "
            f"lock; N processes at most 1 / ({share:.2f} + {1 - share:.2f}/N) x one (Amdahl), "
            f"{1 / (share + (1 - share) / 2):.2f}x for N = 2"
        )
        for r in rows:
            c = r["cpu_ms_per_article"]
            if c["workers"]:
                ours = c["workers"] + c["redis"] + c["this_process"]
                print(
                    f"  {r['mode']}: {ours:.1f} CPU ms/article in all (worker, Redis, submit): "
                    f"an idle {report['machine']['cpus']}-core box allows at most "
                    f"{1000 * report['machine']['cpus'] / ours:.0f} articles/s"
                )
        for r in rows:
            if "result_keys_mb" in r:
                print(
                    f"  {r['mode']}: worker ready in {r['worker_ready_s']:.1f} s, submit took "
                    f"{r['submit_s']:.2f} s, results seen {r['all_results_seen_s']:.1f} s after "
                    f"the first submit; task results in Redis {r['result_keys_mb']:.1f} MB "
                    f"({1000 * r['result_keys_mb'] / r['articles']:.1f} KB/article), "
                    f"Redis memory +{r['redis_memory_growth_mb']:.1f} MB"
                )
    tiny = {r["mode"]: r for r in report["sets"].get("tiny", [])}
    celery_1 = next((r for m, r in tiny.items() if m.startswith("celery, 1 ")), None)
    if celery_1:
        emb, ours = tiny[MODES[1]], celery_1
        wall = ours["ms_per_article"] - emb["ms_per_article"]
        work = ours["cpu_ms_per_article"]["workers"] - emb["cpu_ms_per_article"]["this_process"]
        red = ours["cpu_ms_per_article"]["redis"] - emb["cpu_ms_per_article"]["redis"]
        print(
            f"\nper-task overhead (tiny texts, 1 worker process minus embedded RedisStore): "
            f"{wall:.2f} ms wall, {work:.2f} worker CPU ms, {red:.2f} Redis CPU ms"
        )
    lat = report.get("latency")
    if lat:
        print(
            f"round trip, one tiny text at a time ({lat['documents']}, 1 worker process): "
            f"p50 {lat['p50_ms']:.1f} ms, p90 {lat['p90_ms']:.1f} ms, max {lat['max_ms']:.1f} ms"
            f" (embedded RedisStore ingest alone: {lat['embedded_redis_ms']:.1f} ms)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        type=Path,
        default=DEFAULT_DATASETS,
        help=f"labelled data folder (default: {DEFAULT_DATASETS})",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each mode (median)")
    parser.add_argument("--limit", type=int, default=None, help="first N documents of each set")
    parser.add_argument("--concurrency", default="1,2", help="worker processes to try")
    parser.add_argument(
        "--sets", default="zyte,ecbplus,tiny", help="document sets (zyte, ecbplus, tiny)"
    )
    parser.add_argument("--tiny", type=int, default=300, help="tiny texts for the overhead")
    parser.add_argument(
        "--latency", type=int, default=100, help="tiny texts sent one at a time (0: skip)"
    )
    parser.add_argument(
        "--redis-url", help="an existing Redis (a fresh namespace per run, deleted after it)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    for path in (args.datasets / ZYTE / "ground-truth.json",
                 args.datasets / "ecbplus" / "docs.jsonl"):  # fmt: skip
        if not path.is_file():
            raise SystemExit(
                f"{path} not found: pass --datasets PATH "
                "(the shared datasets folder, read-only; never copy it into the project)"
            )
    logging.disable(logging.ERROR)  # trafilatura and the pipeline log every page
    sets = document_sets(args.datasets, args.sets.split(","), args.limit, args.tiny)
    if not sets:
        parser.error("no document set to run")
    machine = machine_info()

    tmp = Path(tempfile.mkdtemp(prefix="wirewatch-distributed-"))
    server = None
    try:
        url = args.redis_url
        if not url:
            server, url = start_redis(str(tmp))
        client: redis.Redis[bytes] = redis.Redis.from_url(url)
        redis_version = client.info("server")["redis_version"]
        client.close()
        report: dict[str, Any] = {
            "machine": machine,
            "celery": __import__("celery").__version__,
            "redis_version": redis_version,
            "redis": args.redis_url or "throwaway redis-server, no persistence",
            "repeat": args.repeat,
            "sets": bench(sets, url, concurrencies, args.repeat, tmp),
        }
        if args.latency > 0:
            report["latency"] = run_latency(url, args.latency, tmp)
        report["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
