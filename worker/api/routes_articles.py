"""`POST /v1/articles`: push one article (plain text, HTML, or a JSON article object)."""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from worker.api.app import Context
from worker.api.auth import require_write
from worker.api.errors import ApiError, error_body
from worker.api.ingest_pool import Worker
from worker.errors import BadInput, PermanentError, TransientError
from worker.inputs import decode
from worker.json_articles import JsonLimits, from_object, parse_json
from worker.models import Document

__all__ = ["router"]

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["articles"])

_ARTICLE_SCHEMA = {
    "type": "object",
    "properties": {
        k: {"type": "string"} for k in ("url", "title", "text", "html", "published_at", "source")
    },
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _ARTICLE_SCHEMA},
            "text/plain": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        },
    },
    "responses": {
        "200": {"description": "Embedded mode: a duplicate (the IngestResult)"},
        "201": {"description": "Embedded mode: a new story or a development (the IngestResult)"},
        "415": {"description": "Content-Type not text/plain, text/html or application/json"},
        "202": {"description": "Distributed mode: queued; the body has the task id"},
        "422": {"description": "Rejected: not an article, bad JSON, bad encoding"},
    },
}


def _document(origin: str, content_type: str, data: bytes, limits: JsonLimits) -> Document:
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    charset = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"')
    if not data.strip():
        raise BadInput("the request body is empty", reason="empty")
    if media == "application/json":
        _, doc = from_object(origin, parse_json(decode(data, charset=charset), limits), limits)
        if isinstance(doc, Exception):
            raise doc
        return doc
    if media in ("text/html", "application/xhtml+xml"):
        return Document(origin, decode(data, html=True, charset=charset), "html")
    if media == "text/plain":
        return Document(origin, decode(data, charset=charset), "text")
    raise ApiError(415, "unsupported_media_type",
                   f"Content-Type must be text/plain, text/html or application/json, "
                   f"got {media or 'none'!r}")  # fmt: skip


@router.post("/articles", dependencies=[Depends(require_write)], openapi_extra=_BODY,
             status_code=201)  # fmt: skip
async def post_article(request: Request) -> JSONResponse:
    """Ingest one article (embedded mode) or queue it for the workers (distributed mode).

    The work runs in the ingest pool (worker/api/ingest_pool.py), off the event loop.
    """
    ctx: Context = request.app.state.ctx
    origin = f"api:{secrets.token_hex(6)}"
    data = await request.body()
    content_type = request.headers.get("content-type", "")
    return await ctx.ingests.run(lambda w: _ingest(ctx, w, origin, content_type, data))


def _ingest(ctx: Context, w: Worker, origin: str, content_type: str, data: bytes) -> JSONResponse:
    """One pushed article, in a pool thread: parsed, then ingested or queued.

    A bad input is rejected with its reason (422); a failure of ours on it is recorded as
    rejected with reason ``internal_error`` (500): never lost, and the next request goes on.
    A busy store (TransientError) answers 503 with Retry-After and records nothing.
    """
    now = time.time()
    try:
        doc = _document(origin, content_type, data, JsonLimits.from_settings(ctx.settings))
        if ctx.enqueue is not None:
            task_id = ctx.enqueue(doc.to_dict())
            ctx.metrics.count_queued()
            ctx.metrics.flush()
            return JSONResponse({"input": origin, "task_id": task_id}, 202)
        result = w.pipeline.ingest(doc, w.store, now=now)  # counted by the pipeline
    except (ApiError, TransientError):
        raise
    except PermanentError as exc:
        result = w.pipeline.reject(origin, exc, w.store, now=now)  # counted there
    except Exception as exc:
        logger.exception("POST /v1/articles %s failed", origin)
        failure = PermanentError(
            f"internal error: {type(exc).__name__}: {str(exc)[:200]}", reason="internal_error"
        )
        result = w.pipeline.reject(origin, failure, w.store, now=now)
        body = error_body(failure.reason, failure.message, result=result.to_dict())
        return JSONResponse(body, 500)
    if result.event is not None:  # like `wirewatch ingest`: send the event's webhooks now
        started = time.perf_counter()
        report = w.delivering().deliver_due(time.time())
        ctx.metrics.count_deliveries(report, time.perf_counter() - started)
    out: dict[str, Any] = result.to_dict()
    if result.status == "rejected":
        code = result.error.split(":", 1)[0] if result.error else "rejected"
        return JSONResponse(error_body(code, result.error or "rejected", result=out), 422)
    return JSONResponse(out, 201 if result.status in ("new_story", "development") else 200)
