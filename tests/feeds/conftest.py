"""A local news site on 127.0.0.1: feeds and article pages made from the seeds, routes set per test.

The server answers conditional GETs for routes that have validators, records every request
with its headers, and counts requests in flight (the politeness tests read `max_in_flight`).
"""

from __future__ import annotations

import html
import http.server
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import SEEDS
from worker.config import Settings
from worker.pipeline.clean import clean_text

FEED_ETAG = '"feed-v1"'
FEED_MODIFIED = "Thu, 15 May 2025 10:00:00 GMT"
SEED_TIMES = [f"Thu, 15 May 2025 0{5 + i}:00:00 GMT" for i in range(len(SEEDS))]


@dataclass
class Route:
    """What one path answers."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay_s: float = 0.0  # held "in flight" this long before answering


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    at: float  # time.monotonic() when it arrived


class Site:
    """The running server: its routes, what it was asked, and its peak concurrency."""

    def __init__(self, port: int = 0):
        self.port = port
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.posts: list[tuple[str, dict[str, str], bytes]] = []  # webhook deliveries
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, body: bytes | str = b"", **kwargs: Any) -> str:
        """Serve `body` at `path`; returns the path's URL."""
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **kwargs)
        return self.url(path)

    def asked(self, path: str) -> list[Request]:
        return [r for r in self.requests if urlsplit(r.path).path == path]


class _Handler(http.server.BaseHTTPRequestHandler):
    site: Site

    def do_GET(self) -> None:
        site = self.site
        headers = {k.lower(): v for k, v in self.headers.items()}
        with site.lock:
            site.requests.append(Request(self.path, headers, time.monotonic()))
            site.in_flight += 1
            site.max_in_flight = max(site.max_in_flight, site.in_flight)
        route = site.routes.get(urlsplit(self.path).path)
        try:
            if route is not None and route.delay_s:
                time.sleep(route.delay_s)
        finally:
            # counted out before the answer goes: a client that has read it may send its
            # next request at once, and must not be counted twice
            with site.lock:
                site.in_flight -= 1
        if route is None:
            self._send(404, b"no such page", {"Content-Type": "text/plain"})
            return
        extra = dict(route.headers)
        if route.etag:
            extra["ETag"] = route.etag
        if route.last_modified:
            extra["Last-Modified"] = route.last_modified
        fresh = (route.etag and headers.get("if-none-match") == route.etag) or (
            route.last_modified and headers.get("if-modified-since") == route.last_modified
        )
        if fresh and route.status == 200:
            self._send(304, b"", extra)
            return
        self._send(route.status, route.body, {"Content-Type": route.content_type, **extra})

    def do_POST(self) -> None:
        """A webhook receiver: every POST is recorded with its body and answered 204."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with self.site.lock:
            headers = {k.lower(): v for k, v in self.headers.items()}
            self.site.posts.append((self.path, headers, body))
        self._send(204, b"", {})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[Site]:
    """A fresh site on a free port of 127.0.0.1 for each test."""
    s = Site()
    handler = type("Handler", (_Handler,), {"site": s})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    s.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield s
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings that may reach 127.0.0.0/8, with short timeouts and no host spacing."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "db_path": str(tmp_path / "ww.db"),
            "allow_private_networks": "127.0.0.0/8",
            "fetch_connect_timeout_s": 2.0,
            "fetch_read_timeout_s": 5.0,
            "fetch_deadline_s": 8.0,
            "fetch_host_interval_s": 0.0,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def redis_settings(
    make_settings: Callable[..., Settings], redis_url: str, redis_client: Any
) -> Iterator[Callable[..., Settings]]:
    """`make_settings` on the test Redis, in a namespace of this test's own."""
    from tests.redis_server import drop_namespace

    namespace = "f" + uuid.uuid4().hex[:12]

    def make(**overrides: Any) -> Settings:
        return make_settings(redis_url=redis_url, redis_namespace=namespace, **overrides)

    yield make
    drop_namespace(redis_client, namespace)


# -- the seeds as a news site ---------------------------------------------------------------
@dataclass(frozen=True)
class SeedArticle:
    n: int
    title: str
    page: str  # HTML: the article in <article>, the boilerplate the cleaner found in <footer>
    summary: str  # its first paragraph


def seed_articles() -> list[SeedArticle]:
    out = []
    for n, path in enumerate(SEEDS):
        cleaned = clean_text(path.read_text(encoding="utf-8"))
        title = cleaned.title or cleaned.paragraphs[0][:80]
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in cleaned.paragraphs)
        junk = "".join(f"<li>{html.escape(line)}</li>" for line, _ in cleaned.removed)
        page = (
            f"<html><head><title>{html.escape(title)}</title></head><body>"
            f"<article><h1>{html.escape(title)}</h1>{paragraphs}</article>"
            f"<footer><ul>{junk}</ul></footer></body></html>"
        )
        out.append(SeedArticle(n, title, page, cleaned.paragraphs[0]))
    return out


def rss(title: str, items: list[dict[str, str]], *, ttl: int | None = None) -> str:
    """An RSS 2.0 document; item keys: title, link, guid, date, summary, author."""
    body = "".join(
        "<item>"
        + f"<title>{html.escape(i['title'])}</title>"
        + (f"<link>{html.escape(i['link'])}</link>" if i.get("link") else "")
        + (f'<guid isPermaLink="false">{html.escape(i["guid"])}</guid>' if i.get("guid") else "")
        + (f"<pubDate>{i['date']}</pubDate>" if i.get("date") else "")
        + (f"<author>{html.escape(i['author'])}</author>" if i.get("author") else "")
        + f"<description>{html.escape(i.get('summary', ''))}</description>"
        + "</item>"
        for i in items
    )
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>http://wire.test/</link>{ttl_tag}"
        f"{body}</channel></rss>"
    )


def atom(title: str, entries: list[dict[str, str]]) -> str:
    """An Atom 1.0 document; entry keys: title, link, id, updated (ISO), summary, author."""
    body = "".join(
        "<entry>"
        f"<title>{html.escape(e['title'])}</title>"
        f'<link rel="alternate" href="{html.escape(e["link"])}"/>'
        f"<id>{html.escape(e['id'])}</id><updated>{e['updated']}</updated>"
        f"<author><name>{html.escape(e.get('author', 'Desk'))}</name></author>"
        f"<summary>{html.escape(e.get('summary', ''))}</summary>"
        "</entry>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{html.escape(title)}</title><id>urn:test:{html.escape(title)}</id>"
        f"<updated>2025-05-15T10:00:00Z</updated>{body}</feed>"
    )
