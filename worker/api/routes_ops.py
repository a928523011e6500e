"""`/healthz` (the store answers) and `/metrics` (Prometheus text)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from worker.api.errors import error_body
from worker.metrics import CONTENT_TYPE

__all__ = ["router"]

logger = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


@router.get("/healthz", responses={503: {"description": "The store does not answer"}})
async def healthz(request: Request) -> JSONResponse:
    """200 when the store answers a query, else 503."""
    ctx = request.app.state.ctx
    try:
        ctx.store.doc_count()
    except Exception as exc:  # the boundary: any store failure is "unhealthy", with its text
        logger.warning("healthz: store unreachable: %s", exc)
        return JSONResponse(error_body("store_unreachable", str(exc)), 503)
    mode = "distributed" if ctx.settings.redis_url else "embedded"
    return JSONResponse({"status": "ok", "mode": mode})


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Counters, gauges and stage latency histograms, in the Prometheus text format."""
    ctx = request.app.state.ctx
    depth = ctx.queue_depth() if ctx.queue_depth is not None else None
    ctx.metrics.refresh_gauges(ctx.store, queue_depth=depth)
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE)
