"""The in-process driver of feed polling: `wirewatch poll` (one round) and `wirewatch watch` (loop).

One round takes the due feeds from the registry and polls them with `concurrency` threads;
each thread has its own pipeline and store connection, all share the HTTP client and the
host limiter (in-process, or Redis's when the store is Redis: shared with every worker).

Memory stays that of one feed per thread: the extractor's caches (about 1 MB per page) are
released after each feed, `watch` keeps no results (each goes to `on_result`), and a feed
that fails in a way of ours is logged and left for its next turn, not the end of the round.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import httpx

from worker.errors import TransientError
from worker.fetch import build_client
from worker.fetch.hosts import HostLimiter, LocalHostLimiter
from worker.ingest import Pipeline
from worker.models import IngestResult
from worker.pipeline import extract
from worker.polling import POLL_HOLD_S, poll_url
from worker.store.base import Store
from worker.store.host_slots import RedisHostLimiter
from worker.store.redis_store import RedisStore

__all__ = ["Poller", "host_limiter"]

logger = logging.getLogger(__name__)

MAX_SLEEP_S = 60.0  # `watch` looks at the registry at least this often (feeds added meanwhile)
MIN_SLEEP_S = 1.0
BUSY_RETRY_S = 10.0  # after a round failed on a busy or unreachable store
HOST_LEASE_MARGIN_S = 10.0  # a host slot outlives the fetch deadline by this much

OnResult = Callable[[IngestResult], None]


def host_limiter(store: Store, pipeline: Pipeline) -> HostLimiter:
    """Redis's per-host slots for a RedisStore (shared by all workers), else this process's."""
    s = pipeline.settings
    if isinstance(store, RedisStore):
        return RedisHostLimiter(
            store.r,
            store.keys,
            concurrency=s.fetch_host_concurrency,
            interval_s=s.fetch_host_interval_s,
            lease_s=s.fetch_deadline_s + HOST_LEASE_MARGIN_S,
        )
    return LocalHostLimiter(s.fetch_host_concurrency, s.fetch_host_interval_s)


class Poller:
    """Polls due feeds: `run_once()` for one round, `watch(stop)` until `stop` is set.

    Args:
        pipeline, store: used by the calling thread (taking due feeds, and polling when
            `concurrency` is 1); other threads open their own from `pipeline.settings`.
        client: shared HTTP client (default: `build_client(settings)`, closed by `close`).
        limiter: shared host limiter (default: `host_limiter(store, pipeline)`).
        clock: the time source, for tests.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        store: Store,
        *,
        concurrency: int = 1,
        client: httpx.Client | None = None,
        limiter: HostLimiter | None = None,
        clock: Callable[[], float] = time.time,
    ):
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency!r}")
        self.pipeline = pipeline
        self.store = store
        self.registry = store.feeds()
        self.concurrency = concurrency
        self._own_client = client is None
        self.client = client or build_client(pipeline.settings)
        self.limiter = limiter or host_limiter(store, pipeline)
        self.clock = clock

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def run_once(
        self, *, force: bool = False, on_result: OnResult | None = None, keep: bool = True
    ) -> list[IngestResult]:
        """Poll every due feed (every feed not suspended with `force`) once.

        Returns every result (none with `keep=False`: a round of hundreds of feeds holds
        thousands of events); `on_result` also gets each as it comes (from any thread).
        """
        feeds = self.registry.take_due(self.clock(), hold_s=POLL_HOLD_S, force=force)
        if not feeds:
            return []
        logger.info("polling %d feeds with %d threads", len(feeds), self.concurrency)
        todo: queue.Queue[str] = queue.Queue()
        for feed in feeds:
            todo.put(feed.url)
        results: list[IngestResult] = []
        lock = threading.Lock()

        def collect(result: IngestResult) -> None:
            with lock:
                if keep:
                    results.append(result)
                if on_result is not None:
                    on_result(result)

        if self.concurrency == 1:
            self._drain(todo, self.pipeline, self.store, collect)
            return results
        threads = [
            threading.Thread(
                target=self._thread, args=(todo, collect), daemon=True, name=f"poll-{i}"
            )
            for i in range(min(self.concurrency, len(feeds)))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def watch(
        self,
        stop: threading.Event,
        *,
        on_result: OnResult | None = None,
        on_round: Callable[[], object] | None = None,
        max_sleep_s: float = MAX_SLEEP_S,
    ) -> None:
        """Poll rounds until `stop` is set, sleeping until the next feed is due in between;
        `on_round` runs in this thread after each round (webhook delivery, say)."""
        while not stop.is_set():
            try:
                self.run_once(on_result=on_result, keep=False)
                if on_round is not None:
                    on_round()
                due = self.registry.next_due_at()
            except TransientError as exc:  # the store is busy or away: try again shortly
                logger.warning("poll round failed, retrying in %.0fs: %s", BUSY_RETRY_S, exc)
                stop.wait(BUSY_RETRY_S)
                continue
            delay = max_sleep_s if due is None else due - self.clock()
            stop.wait(min(max_sleep_s, max(MIN_SLEEP_S, delay)))

    def _thread(self, todo: queue.Queue[str], collect: OnResult) -> None:
        pipeline = Pipeline(self.pipeline.settings)
        store = pipeline.open_store()
        try:
            self._drain(todo, pipeline, store, collect)
        finally:
            store.close()

    def _drain(
        self, todo: queue.Queue[str], pipeline: Pipeline, store: Store, collect: OnResult
    ) -> None:
        registry = store.feeds() if store is not self.store else self.registry
        while True:
            try:
                url = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results = poll_url(
                    url,
                    pipeline=pipeline,
                    store=store,
                    registry=registry,
                    client=self.client,
                    limiter=self.limiter,
                    now=self.clock(),
                )
            except TransientError as exc:  # the feed's hold runs out, then it is polled again
                logger.warning("feed %s not polled this round: %s", url, exc)
                continue
            except Exception:  # a failure of ours: the feed's hold runs out, the round goes on
                logger.exception("feed %s not polled this round", url)
                continue
            finally:
                extract.reset_caches()  # what one feed's pages left in trafilatura's caches
            for result in results or ():
                collect(result)
