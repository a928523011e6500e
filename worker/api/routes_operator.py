"""Operator corrections (dashboard buttons): merge stories, split an article, mark an event
"not new". Both stores (the `Operator` interface, worker/store/operator_base.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from worker.api.auth import require_read, require_write
from worker.api.errors import ApiError, error_responses
from worker.errors import CorrectionRefused
from worker.store.operator_base import Operator

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["operator"], responses=error_responses(404, 409))
_STATUS = {"not_found": 404, "conflict": 409, "invalid": 422}


class MergeIn(BaseModel):
    source: str = Field(max_length=200, description="The story that disappears.")
    target: str = Field(max_length=200, description="The story that takes its articles.")


def _operator(request: Request) -> Operator:
    return request.app.state.ctx.store.operator()


def _run(correction: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    try:
        return correction(*args, now=time.time())
    except CorrectionRefused as exc:
        raise ApiError(_STATUS[exc.code], exc.code, exc.message) from exc


@router.post("/stories/merge", dependencies=[Depends(require_write)])
async def merge(request: Request, body: MergeIn) -> dict[str, Any]:
    """Merge `source` into `target`: one story, articles in ingest order."""
    return _run(_operator(request).merge, body.source, body.target)


@router.post("/articles/{article_id}/split", dependencies=[Depends(require_write)])
async def split(request: Request, article_id: str) -> dict[str, Any]:
    """Move an article into a story of its own."""
    return _run(_operator(request).split, article_id)


@router.post("/events/{event_id}/not-new", dependencies=[Depends(require_write)])
async def not_new(request: Request, event_id: str) -> dict[str, Any]:
    """Record that a development was not news: its article becomes a duplicate."""
    return _run(_operator(request).mark_not_new, event_id)


@router.get("/operator/actions", dependencies=[Depends(require_read)])
async def actions(
    request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    """The operator log, newest first."""
    return {"actions": _operator(request).actions(limit=limit)}
