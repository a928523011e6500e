"""Operator corrections (dashboard buttons): merge stories, split an article, mark an event
"not new". Embedded store only for now; the Redis store answers 501."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from worker.api.auth import require_read, require_write
from worker.api.errors import ApiError, error_responses
from worker.store import operator_sqlite as ops
from worker.store.sqlite import SqliteStore

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["operator"], responses=error_responses(404, 409, 501))


class MergeIn(BaseModel):
    source: str = Field(max_length=200, description="The story that disappears.")
    target: str = Field(max_length=200, description="The story that takes its articles.")


def _store(request: Request) -> SqliteStore:
    store = request.app.state.ctx.store
    if not isinstance(store, SqliteStore):
        raise ApiError(501, "not_implemented", "operator actions need the embedded store")
    return store


def _run(fn: Any, *args: Any) -> dict[str, Any]:
    try:
        return dict(fn(*args, now=time.time()))
    except ops.OperatorError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc


@router.post("/stories/merge", dependencies=[Depends(require_write)])
async def merge(request: Request, body: MergeIn) -> dict[str, Any]:
    """Merge `source` into `target`: one story, articles in ingest order."""
    return _run(ops.merge_stories, _store(request), body.source, body.target)


@router.post("/articles/{article_id}/split", dependencies=[Depends(require_write)])
async def split(request: Request, article_id: str) -> dict[str, Any]:
    """Move an article into a story of its own."""
    return _run(ops.split_article, _store(request), article_id)


@router.post("/events/{event_id}/not-new", dependencies=[Depends(require_write)])
async def not_new(request: Request, event_id: str) -> dict[str, Any]:
    """Record that a development was not news: its article becomes a duplicate."""
    return _run(ops.mark_not_new, _store(request), event_id)


@router.get("/operator/actions", dependencies=[Depends(require_read)])
async def actions(
    request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    """The operator log, newest first."""
    return {"actions": ops.list_actions(_store(request), limit=limit)}
