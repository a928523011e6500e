"""Ingests off the event loop: a few threads, each with its own pipeline, store and deliverer.

An ingest is CPU work (extraction, analysis) plus store writes and webhook sends; on the loop
it stalls every other request (a 10 MB article held `/healthz` for 20 s). `IngestPool` runs
them in `concurrency` threads, so at most that many run at once and the loop keeps answering
reads and health checks. Each thread opens its own store (SQLite connections belong to the
thread that opened them; a Redis store buffers a transaction per instance) and closes it when
the pool closes. At most `backlog` requests wait for a thread; more are refused with 503 and
Retry-After (each waiting request holds its body, up to `api_max_body_bytes`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from worker.config import Settings
from worker.deliver import Deliverer
from worker.errors import TransientError
from worker.metrics import InstrumentedPipeline, Metrics
from worker.store.base import Store

__all__ = ["DEFAULT_BACKLOG", "DEFAULT_CONCURRENCY", "IngestPool", "Worker"]

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 2  # one SQLite writer at a time anyway; two overlap extraction and I/O
DEFAULT_BACKLOG = 32  # requests waiting for a thread; more get 503
T = TypeVar("T")


@dataclass
class Worker:
    """What one pool thread owns: use it from that thread only."""

    pipeline: InstrumentedPipeline
    store: Store
    deliverer: Deliverer | None = None

    def delivering(self) -> Deliverer:
        if self.deliverer is None:
            self.deliverer = Deliverer(self.pipeline.settings, self.store.webhooks())
        return self.deliverer

    def close(self) -> None:
        if self.deliverer is not None:
            self.deliverer.close()
        self.store.close()


_STOP = object()


class IngestPool:
    """`await pool.run(fn)` runs `fn(worker)` in one of the pool's threads."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        backlog: int = DEFAULT_BACKLOG,
    ):
        if concurrency < 1 or backlog < 0:
            raise ValueError(
                f"api_ingest_concurrency must be >= 1 and api_ingest_backlog >= 0, got "
                f"{concurrency!r} and {backlog!r}"
            )
        self.settings, self.metrics = settings, metrics
        self.concurrency, self.backlog = concurrency, backlog
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._pending = 0  # submitted and not finished: running plus waiting
        self.running = 0  # jobs inside a thread right now (tests and metrics read it)

    @classmethod
    def from_settings(cls, settings: Settings, metrics: Metrics) -> IngestPool:
        """Sized by `api_ingest_concurrency` and `api_ingest_backlog` when the settings have
        them, else the defaults."""
        return cls(
            settings,
            metrics,
            concurrency=settings.api_ingest_concurrency,
            backlog=settings.api_ingest_backlog,
        )

    async def run(self, fn: Callable[[Worker], T]) -> T:
        """Run `fn(worker)` in a pool thread and return what it returns (or raise what it
        raised). Raises TransientError (503) when `backlog` requests are already waiting."""
        with self._lock:
            if self._pending >= self.concurrency + self.backlog:
                raise TransientError(
                    f"{self._pending} ingests running or waiting; try again shortly",
                    reason="busy",
                )
            self._pending += 1
            if len(self._threads) < min(self.concurrency, self._pending):
                self._start_thread()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, future, loop))
        return await future

    def close(self) -> None:
        """Let running and queued jobs finish, then stop the threads (each closes its store)."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._jobs.put(_STOP)
        for t in threads:
            t.join()

    def _start_thread(self) -> None:
        t = threading.Thread(target=self._loop, name=f"ingest-{len(self._threads)}", daemon=True)
        self._threads.append(t)
        t.start()

    def _loop(self) -> None:
        worker: Worker | None = None
        try:
            while (job := self._jobs.get()) is not _STOP:
                fn, future, loop = job
                with self._lock:
                    self.running += 1
                try:
                    if worker is None:
                        pipeline = InstrumentedPipeline(self.settings, self.metrics)
                        worker = Worker(pipeline, pipeline.open_store())
                    outcome, failed = fn(worker), False
                except BaseException as exc:  # handed to the awaiting request, raised there
                    outcome, failed = exc, True
                finally:
                    with self._lock:
                        self.running -= 1
                        self._pending -= 1
                try:
                    loop.call_soon_threadsafe(_settle, future, outcome, failed)
                except RuntimeError:  # the loop closed meanwhile (shutdown): nobody waits
                    logger.info("ingest finished after the server stopped")
        finally:
            if worker is not None:
                try:
                    worker.close()
                except Exception as exc:  # closing at shutdown: log, never hang the exit
                    logger.warning("ingest thread: closing its store failed: %s", exc)


def _settle(future: asyncio.Future[Any], outcome: Any, failed: bool) -> None:
    if future.cancelled():  # the client went away; the ingest itself is done and recorded
        return
    if failed:
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
