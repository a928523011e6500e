"""Feed and webhook management over the store's registries (the `feeds` and `webhooks`
commands, as JSON)."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from worker.api.auth import require_read, require_write
from worker.api.errors import ApiError
from worker.subscriptions import EVENT_TYPES, new_endpoint

__all__ = ["router"]

router = APIRouter(prefix="/v1")
_read, _write = [Depends(require_read)], [Depends(require_write)]


class FeedIn(BaseModel):
    url: str = Field(max_length=2000, description="The feed's http(s) URL.")
    interval_s: int | None = Field(
        None, ge=60, le=7 * 86400, description="Poll this often instead of adaptively."
    )


class WebhookIn(BaseModel):
    url: str = Field(max_length=2000, description="The http(s) URL to POST events to.")
    events: list[str] = Field(default_factory=list, description=f"Any of {list(EVENT_TYPES)}; "
                              "empty: all.")  # fmt: skip
    secret: str | None = Field(None, max_length=200, description="whsec_...; default: new.")


@router.get("/feeds", tags=["feeds"], dependencies=_read)
async def list_feeds(request: Request) -> dict[str, Any]:
    """Feeds and their health: status, last success and error, failures, next poll."""
    return {"feeds": [f.to_dict() for f in request.app.state.ctx.store.feeds().list_feeds()]}


@router.post("/feeds", tags=["feeds"], dependencies=_write, status_code=201)
async def add_feed(request: Request, feed: FeedIn) -> dict[str, Any]:
    """Register a feed (due at once); adding it again resumes it if suspended."""
    parts = urlsplit(feed.url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(422, "invalid", f"{feed.url!r} is not an http(s) URL")
    registry = request.app.state.ctx.store.feeds()
    created = registry.add(feed.url.strip(), now=time.time(), interval_s=feed.interval_s)
    found = registry.get(feed.url.strip())
    return {"created": created, "feed": found.to_dict() if found else None}


@router.delete("/feeds", tags=["feeds"], dependencies=_write,
               responses={404: {"description": "No such feed"}})  # fmt: skip
async def remove_feed(
    request: Request, url: Annotated[str, Query(max_length=2000)]
) -> dict[str, Any]:
    """Forget a feed (its seen entries stay seen)."""
    if not request.app.state.ctx.store.feeds().remove(url):
        raise ApiError(404, "not_found", f"no feed {url!r}")
    return {"removed": url}


@router.get("/webhooks", tags=["webhooks"], dependencies=_read)
async def list_webhooks(request: Request) -> dict[str, Any]:
    """Subscribed endpoints (secrets shortened)."""
    hooks = request.app.state.ctx.store.webhooks()
    return {"webhooks": [e.to_dict() for e in hooks.endpoints()]}


@router.post("/webhooks", tags=["webhooks"], dependencies=_write, status_code=201)
async def add_webhook(request: Request, hook: WebhookIn) -> dict[str, Any]:
    """Subscribe a URL; the answer holds its signing secret, shown only this once."""
    ctx = request.app.state.ctx
    unknown = sorted(set(hook.events) - set(EVENT_TYPES))
    if unknown:
        raise ApiError(422, "invalid", f"unknown event types {unknown}; known: {list(EVENT_TYPES)}")
    try:
        ep = new_endpoint(hook.url, settings=ctx.settings, now=time.time(), secret=hook.secret,
                          event_types=tuple(hook.events))  # fmt: skip
    except ValueError as exc:
        raise ApiError(422, "invalid", str(exc)) from exc
    ctx.store.webhooks().add_endpoint(ep)
    return {"webhook": ep.to_dict(show_secret=True)}


@router.delete("/webhooks/{endpoint_id}", tags=["webhooks"], dependencies=_write,
               responses={404: {"description": "No such endpoint"}})  # fmt: skip
async def remove_webhook(request: Request, endpoint_id: str) -> dict[str, Any]:
    """Forget an endpoint; its pending deliveries fail."""
    if not request.app.state.ctx.store.webhooks().remove_endpoint(endpoint_id, at=time.time()):
        raise ApiError(404, "not_found", f"no webhook endpoint {endpoint_id!r}")
    return {"removed": endpoint_id}


@router.get("/webhooks/deliveries", tags=["webhooks"], dependencies=_read)
async def list_deliveries(
    request: Request, failed: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:  # fmt: skip
    """The delivery log, newest first: each delivery with its attempts."""
    rows = request.app.state.ctx.store.webhooks().deliveries(failed=failed, limit=limit)
    return {"deliveries": [{**d.to_dict(), "attempts": [a.to_dict() for a in attempts]}
                           for d, attempts in rows]}  # fmt: skip
