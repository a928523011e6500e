"""A real HTTP server on 127.0.0.1 with one route per way a fetch can go wrong."""

from __future__ import annotations

import gzip
import http.server
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from worker.config import Settings

HUGE_BYTES = 100_000_000  # streamed lazily, never held in memory
BOMB_BYTES = 100_000_000  # what the gzip bomb inflates to
PAGE = b"<html><head><title>Talks</title></head><body><p>Talks in Istanbul.</p></body></html>"
PAGE_ETAG = '"page-v1"'
PAGE_MODIFIED = "Thu, 15 May 2025 07:45:00 GMT"
RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title><link>http://wire.example/</link><ttl>15</ttl>
<item><title>Talks open</title><link>http://wire.example/a?utm_source=rss</link>
<guid>wire-a</guid><pubDate>Thu, 15 May 2025 07:45:00 GMT</pubDate>
<description>Delegations met.</description></item></channel></rss>"""


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]


@dataclass
class LocalServer:
    """The running server: where it listens and what it was asked."""

    port: int
    requests: list[Seen] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "wirewatch-test/1"
    record: Callable[[Seen], None]

    def do_GET(self) -> None:
        self.record(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
        parts = urlsplit(self.path)
        route = ROUTES.get(parts.path) or ROUTES.get("/" + parts.path.split("/")[1])
        try:
            if route is None:
                self._send(404, b"no such route")
            else:
                route(self, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what the caps are for

    def _send(self, status: int, body: bytes = b"", **headers: Any) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), str(value))
        if "Content_Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _page(h: _Handler, path: str, q: dict[str, str]) -> None:
    if (
        h.headers.get("If-None-Match") == PAGE_ETAG
        or h.headers.get("If-Modified-Since") == PAGE_MODIFIED
    ):
        h._send(304, ETag=PAGE_ETAG)
        return
    h._send(200, PAGE, Content_Type="text/html; charset=UTF-8", ETag=PAGE_ETAG,
            Last_Modified=PAGE_MODIFIED, Cache_Control="public, max-age=300")  # fmt: skip


def _feed(h: _Handler, path: str, q: dict[str, str]) -> None:
    h._send(200, RSS, Content_Type="application/rss+xml; charset=utf-8")


def _redirect(h: _Handler, path: str, q: dict[str, str]) -> None:
    hops = int(path.rsplit("/", 1)[1])  # /redirect/3 -> /redirect/2 -> /redirect/1 -> /page
    h._send(302, Location="/page" if hops <= 1 else f"/redirect/{hops - 1}")


def _redirect_to(h: _Handler, path: str, q: dict[str, str]) -> None:
    h._send(int(q.get("status", "302")), Location=q["to"])


def _status(h: _Handler, path: str, q: dict[str, str]) -> None:
    status = int(path.rsplit("/", 1)[1])
    headers = {"Retry_After": q["retry_after"]} if "retry_after" in q else {}
    h._send(status, b"status page", **headers)


def _slow(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "2")
    h.end_headers()
    h.wfile.flush()
    time.sleep(float(q.get("s", "3")))
    h.wfile.write(b"ok")


def _drip(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.send_response(200)
    h.end_headers()
    for _ in range(100):  # one byte every 0.1 s: no read ever times out
        h.wfile.write(b"x")
        h.wfile.flush()
        time.sleep(0.1)


def _huge(h: _Handler, path: str, q: dict[str, str]) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    if q.get("declare"):
        h.send_header("Content-Length", str(HUGE_BYTES))
    h.end_headers()
    chunk = b"<item>" + b"x" * 65_530
    for _ in range(HUGE_BYTES // len(chunk)):
        h.wfile.write(chunk)


def _gzip_bomb(h: _Handler, path: str, q: dict[str, str]) -> None:
    body = _bomb()
    h._send(200, body, Content_Encoding="gzip", Content_Type="application/rss+xml")


def _encoded(h: _Handler, path: str, q: dict[str, str]) -> None:
    encoding = path.rsplit("/", 1)[1]
    if encoding == "gzip":
        h._send(200, gzip.compress(PAGE), Content_Encoding="gzip")
    elif encoding == "deflate":
        h._send(200, zlib.compress(PAGE), Content_Encoding="deflate")
    elif encoding == "raw-deflate":
        z = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        h._send(200, z.compress(PAGE) + z.flush(), Content_Encoding="deflate")
    elif encoding == "broken":
        h._send(200, b"\x1f\x8b\x08\x00 not gzip at all", Content_Encoding="gzip")
    else:
        h._send(200, b"\x0b\x12\x80pretend brotli", Content_Encoding=encoding)


def _binary(h: _Handler, path: str, q: dict[str, str]) -> None:
    body = bytes(range(256)) * 64
    h._send(200, body, Content_Type="application/rss+xml")


def _wrong_charset(h: _Handler, path: str, q: dict[str, str]) -> None:
    # the header says us-ascii; the body is UTF-8 with non-ASCII characters
    body = RSS.replace(b"Talks open", "Talks open in Dolmabah\u00e7e".encode())
    h._send(200, body, Content_Type="text/xml; charset=us-ascii")


def _headers(h: _Handler, path: str, q: dict[str, str]) -> None:
    h._send(200, b"{}", Content_Type="application/json", Retry_After=formatdate(usegmt=True))


ROUTES: dict[str, Callable[[_Handler, str, dict[str, str]], None]] = {
    "/page": _page,
    "/feed.xml": _feed,
    "/redirect": _redirect,
    "/redirect-to": _redirect_to,
    "/status": _status,
    "/slow": _slow,
    "/drip": _drip,
    "/huge": _huge,
    "/gzip-bomb": _gzip_bomb,
    "/encoded": _encoded,
    "/binary": _binary,
    "/wrong-charset": _wrong_charset,
    "/headers": _headers,
}

_BOMB: list[bytes] = []


def _bomb() -> bytes:
    """BOMB_BYTES of zeros, gzipped a megabyte at a time (about 100 KB compressed)."""
    if not _BOMB:
        z = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        zeros = bytes(1_000_000)
        parts = [z.compress(zeros) for _ in range(BOMB_BYTES // len(zeros))]
        _BOMB.append(b"".join(parts) + z.flush())
    return _BOMB[0]


@pytest.fixture(scope="session")
def _httpd() -> Iterator[tuple[int, list[Seen]]]:
    seen: list[Seen] = []
    handler = type("Handler", (_Handler,), {"record": staticmethod(seen.append)})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False  # a /slow or /drip handler may still be sleeping
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server(_httpd: tuple[int, list[Seen]]) -> LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 (one per session); `requests` starts empty."""
    port, seen = _httpd
    seen.clear()
    return LocalServer(port=port, requests=seen)


@dataclass
class TlsServer:
    """An HTTPS server on 127.0.0.1 whose certificate names `hostname`, from a test CA."""

    port: int
    hostname: str
    client_context: ssl.SSLContext  # trusts the test CA
    sni: list[str | None]  # the server name each TLS handshake asked for
    requests: list[Seen]


@pytest.fixture(scope="session")
def tls_server() -> Iterator[TlsServer]:
    trustme = pytest.importorskip("trustme", reason="TLS tests need trustme (test extra)")
    ca = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("wire.test").configure_cert(server_context)
    sni: list[str | None] = []

    def remember_sni(sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        sni.append(name)

    server_context.sni_callback = remember_sni  # type: ignore[assignment]
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    seen: list[Seen] = []
    handler = type("Handler", (_Handler,), {"record": staticmethod(seen.append)})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield TlsServer(httpd.server_address[1], "wire.test", client_context, sni, seen)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings that may reach the local server (127.0.0.0/8), with short limits."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "db_path": str(tmp_path / "ww.db"),
            "allow_private_networks": "127.0.0.0/8",
            "fetch_connect_timeout_s": 2.0,
            "fetch_read_timeout_s": 2.0,
            "fetch_deadline_s": 5.0,
            "fetch_max_bytes": 1_000_000,
        }
        values.update(overrides)
        return Settings(**values)

    return make
