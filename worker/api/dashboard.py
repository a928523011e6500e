"""The wire desk's dashboard: server-rendered pages whose small script reads the `/v1` API.

`/` lists stories by last development (polled every few seconds, no reload), rejections,
feed health and webhook delivery health; `/stories/{id}` is one story's timeline.
"""

from __future__ import annotations

import html
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_STATIC = files("worker.api") / "static"
POLL_MS = 3000  # how often the story list refreshes


def _page(title: str, body: str, request: Request) -> HTMLResponse:
    open_reads = "true" if request.app.state.ctx.settings.api_open_reads else "false"
    return HTMLResponse(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · wirewatch</title>
<link rel="stylesheet" href="/static/dashboard.css"></head>
<body data-open-reads="{open_reads}" data-poll-ms="{POLL_MS}">
<header><a href="/" class="brand">wirewatch</a>
<span id="token-box"><input id="token" type="password" placeholder="API token" size="18">
<button id="save-token">use</button></span><span id="status"></span></header>
<main>{body}</main>
<script src="/static/dashboard.js"></script></body></html>""")


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    return _page(
        "stories",
        """
<section class="wide"><h1>Stories <small>by last development</small></h1>
<form id="filter" class="op"><input name="q" type="search" placeholder="title contains…">
<label><input name="developed" type="checkbox"> with developments only</label></form>
<table id="stories"><thead><tr><th>story</th><th>articles</th><th>developments</th>
<th>last development</th></tr></thead><tbody></tbody></table>
<form id="merge" class="op"><b>Merge</b> story <input name="source" placeholder="s_…" required>
into <input name="target" placeholder="s_…" required> <button>merge</button></form></section>
<section><h2>Rejected inputs</h2><table id="rejections"><thead><tr><th>input</th>
<th>reason</th><th>message</th><th>at</th></tr></thead><tbody></tbody></table></section>
<section><h2>Feeds</h2><table id="feeds"><thead><tr><th>feed</th><th>status</th>
<th>last success</th><th>last error</th></tr></thead><tbody></tbody></table></section>
<section><h2>Webhook deliveries</h2><table id="deliveries"><thead><tr><th>event</th>
<th>endpoint</th><th>status</th><th>attempts</th><th>last</th></tr></thead><tbody></tbody>
</table></section>""",
        request,
    )


@router.get("/stories/{story_id}", response_class=HTMLResponse)
async def story_page(request: Request, story_id: str) -> HTMLResponse:
    sid = html.escape(story_id, quote=True)
    return _page(
        f"story {story_id}",
        f"""
<section class="wide" id="story" data-story-id="{sid}"><h1 id="story-title">{sid}</h1>
<p id="story-meta"></p><ol id="timeline"></ol></section>""",
        request,
    )


@router.get("/static/{name}")
async def static(name: str) -> Response:
    types = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
    if name not in types:
        return Response("not found", 404)
    return Response((_STATIC / name).read_bytes(), media_type=types[name])
