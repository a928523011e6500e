"""`POST /v1/articles`: push one article (plain text, HTML, or a JSON article object)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from worker.api.app import Context
from worker.api.auth import require_write
from worker.api.errors import ApiError, error_body
from worker.errors import BadInput
from worker.inputs import decode, from_object
from worker.models import Document

__all__ = ["router"]

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


def _document(origin: str, content_type: str, data: bytes) -> Document:
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
        try:
            obj = json.loads(decode(data, charset=charset))
        except json.JSONDecodeError as exc:
            raise BadInput(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                           reason="bad_json") from exc  # fmt: skip
        _, doc = from_object(origin, obj)
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
    """Ingest one article (embedded mode) or queue it for the workers (distributed mode)."""
    ctx: Context = request.app.state.ctx
    origin = f"api:{secrets.token_hex(6)}"
    data = await request.body()
    now = time.time()
    try:
        doc = _document(origin, request.headers.get("content-type", ""), data)
    except BadInput as exc:
        result = ctx.pipeline.reject(origin, exc, ctx.store, now=now)  # counted there
        return JSONResponse(error_body(exc.reason, exc.message, result=result.to_dict()), 422)
    if ctx.enqueue is not None:
        task_id = ctx.enqueue(doc.to_dict())
        ctx.metrics.count_queued()
        ctx.metrics.flush()
        return JSONResponse({"input": origin, "task_id": task_id}, 202)
    result = ctx.pipeline.ingest(doc, ctx.store, now=now)  # counted by the pipeline
    if result.event is not None:  # like `wirewatch ingest`: send the event's webhooks now
        started = time.perf_counter()
        report = ctx.deliverer.deliver_due(time.time())
        ctx.metrics.count_deliveries(report, time.perf_counter() - started)
    body: dict[str, Any] = result.to_dict()
    if result.status == "rejected":
        code = result.error.split(":", 1)[0] if result.error else "rejected"
        return JSONResponse(error_body(code, result.error or "rejected", result=body), 422)
    return JSONResponse(body, 201 if result.status in ("new_story", "development") else 200)
