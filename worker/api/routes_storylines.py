"""Storylines (the stories of one topic over weeks): the list, one storyline, their operator
corrections, and the article export as JSON Lines. Both stores."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from worker.api.auth import require_read, require_write
from worker.api.errors import ApiError, error_responses
from worker.errors import CorrectionRefused

__all__ = ["router"]

router = APIRouter(prefix="/v1")
_read, _write = [Depends(require_read)], [Depends(require_write)]
_STATUS = {"not_found": 404, "conflict": 409, "invalid": 422}  # as routes_operator.py answers
EXPORT_CHUNK = 200  # articles per chunk written to the socket


class StorylineMergeIn(BaseModel):
    source: str = Field(max_length=200, description="The storyline that disappears.")
    target: str = Field(max_length=200, description="The storyline that takes its stories.")


@router.get("/storylines", tags=["reads"], dependencies=_read)
async def list_storylines(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many items at most.")] = 50,
    since: Annotated[
        float | None,
        Query(ge=0, description="Only storylines seen (newest article's event time) at or "
              "after this Unix time."),
    ] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Only storylines whose title holds "
              "this text (case-insensitive)."),
    ] = None,
) -> dict[str, Any]:  # fmt: skip
    """Storylines, the most recently seen first."""
    store = request.app.state.ctx.store
    return {"storylines": store.list_storylines(limit=limit, since=since, query=q)}


@router.get(
    "/storylines/{storyline_id}", tags=["reads"], dependencies=_read,
    responses={404: {"description": "No such storyline"}},
)  # fmt: skip
async def storyline_detail(request: Request, storyline_id: str) -> dict[str, Any]:
    """One storyline and its stories (as `/v1/stories` lists them), oldest first."""
    line = request.app.state.ctx.store.storyline_detail(storyline_id)
    if line is None:
        raise ApiError(404, "not_found", f"no storyline {storyline_id!r}")
    return {"storyline": line}


@router.post(
    "/storylines/merge", tags=["operator"], dependencies=_write,
    responses=error_responses(404, 409),
)  # fmt: skip
async def merge_storylines(request: Request, body: StorylineMergeIn) -> dict[str, Any]:
    """Merge storyline `source` into `target`: its stories move, `source` is gone."""
    op = request.app.state.ctx.store.operator()
    return _run(lambda now: op.merge_storylines(body.source, body.target, now=now))


@router.post(
    "/stories/{story_id}/split", tags=["operator"], dependencies=_write,
    responses=error_responses(404, 409),
)  # fmt: skip
async def split_storyline(request: Request, story_id: str) -> dict[str, Any]:
    """Move a story into a storyline of its own (409 when it is alone in its storyline)."""
    op = request.app.state.ctx.store.operator()
    return _run(lambda now: op.split_storyline(story_id, now=now))


@router.get(
    "/export", tags=["reads"], dependencies=_read, response_class=StreamingResponse,
    responses={200: {"description": "One JSON object per stored article, in ingest order",
                     "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}},
)  # fmt: skip
async def export(request: Request) -> StreamingResponse:
    """Every stored article as JSON Lines (`wirewatch export --json`), streamed as read:
    `id`, `story_id`, `storyline_id`, `url`, `title`, `source`, `published_at`, `status`,
    `event_time`, `time_source`, `ingested_at`."""
    rows = request.app.state.ctx.store.export_articles()
    # the first read happens here, so a store that is away answers 503 before any byte is sent
    first = next(rows, None)
    return StreamingResponse(_chunks(first, rows), media_type="application/x-ndjson")


async def _chunks(
    first: dict[str, Any] | None, rest: Iterator[dict[str, Any]]
) -> AsyncIterator[bytes]:
    # read on the event loop's thread, as every endpoint does: the SQLite store belongs to it
    if first is None:
        return
    batch = [json.dumps(first, ensure_ascii=False)]
    for row in rest:
        batch.append(json.dumps(row, ensure_ascii=False))
        if len(batch) >= EXPORT_CHUNK:
            yield ("\n".join(batch) + "\n").encode()
            batch = []
    if batch:
        yield ("\n".join(batch) + "\n").encode()


def _run(correction: Callable[[float], dict[str, Any]]) -> dict[str, Any]:
    try:
        return correction(time.time())
    except CorrectionRefused as exc:
        raise ApiError(_STATUS[exc.code], exc.code, exc.message) from exc
