"""Read views: stories, one story, events, rejections (the CLI's views, as JSON)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from worker.api.auth import require_read
from worker.api.errors import ApiError

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["reads"], dependencies=[Depends(require_read)])

Limit = Annotated[int, Query(ge=1, le=1000, description="How many items at most.")]


@router.get("/stories")
async def list_stories(
    request: Request,
    limit: Limit = 50,
    since: Annotated[
        float | None,
        Query(ge=0, description="Only stories developed (or created) at or after this Unix time."),
    ] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Only stories whose title holds this "
              "text (case-insensitive)."),
    ] = None,
    developed: Annotated[
        bool, Query(description="Only stories with at least one development.")
    ] = False,
) -> dict[str, Any]:  # fmt: skip
    """Stories, the most recently developed (or created) first."""
    store = request.app.state.ctx.store
    return {"stories": store.list_stories(limit=limit, since=since, query=q, developed=developed)}


@router.get("/stories/{story_id}", responses={404: {"description": "No such story"}})
async def story_detail(request: Request, story_id: str) -> dict[str, Any]:
    """One story: its articles in order, each with the facts (sentences, new units) it added."""
    story = request.app.state.ctx.store.story_detail(story_id)
    if story is None:
        raise ApiError(404, "not_found", f"no story {story_id!r}")
    return {"story": story}


@router.get("/events")
async def list_events(
    request: Request, story_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 100,
) -> dict[str, Any]:  # fmt: skip
    """Event documents (docs/events.md), oldest first; one story's with `story_id`."""
    return {"events": request.app.state.ctx.store.list_events(story_id=story_id, limit=limit)}


@router.get("/rejections")
async def list_rejections(request: Request, limit: Limit = 100) -> dict[str, Any]:
    """Rejected inputs, newest first, with their reasons."""
    return {"rejections": request.app.state.ctx.store.list_rejections(limit=limit)}
