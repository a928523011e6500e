"""The app factory: settings in, a FastAPI app out, with the store opened on its event loop.

Every endpoint is `async def` and runs on the loop's one thread, so the (embedded, SQLite)
store is only ever touched from the thread that opened it. Ingests are the exception: they
run in the ingest pool's threads (worker/api/ingest_pool.py), each with a store of its own,
at most `api_ingest_concurrency` at once, so `/healthz` and reads answer while they run.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker.api.errors import error_body, error_responses, install_handlers
from worker.api.ingest_pool import IngestPool
from worker.config import Settings
from worker.deliver import Deliverer
from worker.metrics import InstrumentedPipeline, metrics_for
from worker.store.base import Store

__all__ = ["Context", "Enqueue", "QueueDepth", "create_app"]

_DESCRIPTION = (
    "Stories, new developments, feeds and webhooks of a wirewatch deployment. "
    "Writes need `Authorization: Bearer <WIREWATCH_API_TOKEN>`."
)
Enqueue = Callable[[dict[str, Any]], str]  # Document.to_dict() -> task id (distributed mode)
QueueDepth = Callable[[], int]  # tasks waiting in the ingest queue (distributed mode)


class Context:
    """What the endpoints share: settings, pipeline, metrics, and the store once opened."""

    def __init__(
        self, settings: Settings, enqueue: Enqueue | None, queue_depth: QueueDepth | None = None
    ):
        self.settings = settings
        self.enqueue = enqueue
        self.queue_depth = queue_depth
        self.metrics = metrics_for(settings)  # distributed: the whole deployment's counts
        self.pipeline = InstrumentedPipeline(settings, self.metrics)
        self.ingests = IngestPool.from_settings(settings, self.metrics)  # POST /v1/articles
        self._store: Store | None = None
        self._deliverer: Deliverer | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = self.pipeline.open_store()
        return self._store

    @property
    def deliverer(self) -> Deliverer:
        if self._deliverer is None:
            self._deliverer = Deliverer(self.settings, self.store.webhooks())
        return self._deliverer

    def close(self) -> None:
        self.ingests.close()
        if self._deliverer is not None:
            self._deliverer.close()
        if self._store is not None:
            self._store.close()
        self._store = self._deliverer = None


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen, started = 0, False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(send, self.max_bytes)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, max_bytes: int) -> None:
    body = json.dumps(error_body(
        "too_large", f"request body is larger than api_max_body_bytes={max_bytes}"
    )).encode()  # fmt: skip
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def create_app(
    settings: Settings, *, enqueue: Enqueue | None = None, queue_depth: QueueDepth | None = None
) -> FastAPI:
    """The HTTP API, dashboard and metrics over the store `settings` name.

    Args:
        enqueue: distributed mode's sender (tasks/api.py): `POST /v1/articles` queues the
            document and answers 202 with the task id. None: ingest in this process.
        queue_depth: distributed mode's queue length, for the `wirewatch_queue_depth` gauge.
    """
    if settings.api_max_body_bytes <= 0:
        raise ValueError(
            f"api_max_body_bytes must be positive, got {settings.api_max_body_bytes!r}"
        )
    from worker.api import (
        dashboard,
        routes_admin,
        routes_articles,
        routes_operator,
        routes_ops,
        routes_reads,
        routes_storylines,
    )

    ctx = Context(settings, enqueue, queue_depth)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ctx.store  # noqa: B018 -- open now, on the loop's thread: a bad store fails at start
        try:
            yield
        finally:
            ctx.close()

    app = FastAPI(title="wirewatch", version="1", lifespan=lifespan, description=_DESCRIPTION)
    app.state.ctx = ctx
    install_handlers(app)
    # every /v1 operation may answer these (auth, body cap, validation); documented once here
    common = error_responses(400, 401, 403, 413, 422, 503)
    for module in (routes_articles, routes_reads, routes_admin, routes_operator):
        app.include_router(module.router, responses=common)
    app.include_router(routes_storylines.router, responses=common)
    app.include_router(routes_ops.router)
    app.include_router(dashboard.router)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    return app
