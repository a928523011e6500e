"""fetch(url) -> FetchResult over httpx: conditional, capped, every redirect hop checked.

httpx errors and HTTP statuses become our errors here, and nowhere above this module.
"""

from __future__ import annotations

import email.utils
import logging
import re
import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from http.cookiejar import CookieJar, DefaultCookiePolicy
from importlib.metadata import PackageNotFoundError, version
from ipaddress import ip_address

import httpcore
import httpx

from worker.config import Settings
from worker.errors import FetchFailed, FetchRefused, FetchRejected
from worker.fetch.body import ACCEPT_ENCODING, deadline_passed, read_body
from worker.fetch.guard import GuardedBackend, Network, Resolver, check_address, resolve

__all__ = [
    "DEFAULT_USER_AGENT",
    "FEED_ACCEPT",
    "FetchResult",
    "GuardedTransport",
    "build_client",
    "fetch",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("wirewatch")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0"


DEFAULT_USER_AGENT = f"wirewatch/{_version()} (+https://github.com/wirewatch/wirewatch)"
# for `fetch(..., accept=FEED_ACCEPT)`: some servers pick the format by it
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.I)
_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.I)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One fetched URL: the final response after redirects, its body capped and inflated."""

    url: str  # final URL, after redirects
    status_code: int
    headers: dict[str, str]  # lower-case names; repeated headers joined by ", "
    body: bytes  # inflated; empty for 304
    content_type: str | None = None  # media type only, lower-case: "application/rss+xml"
    charset: str | None = None  # as declared in Content-Type, lower-case
    etag: str | None = None  # a 304 without one keeps the ETag that was sent
    last_modified: str | None = None  # likewise
    retry_after_s: float | None = None
    max_age_s: int | None = None  # Cache-Control max-age
    redirects: tuple[str, ...] = ()  # URLs that redirected, the requested one first

    @property
    def not_modified(self) -> bool:
        """True for 304: what we have from the last fetch is still current."""
        return self.status_code == 304


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with every TCP connect going through `GuardedBackend`."""

    def __init__(
        self,
        allowed: Iterable[Network] = (),
        *,
        resolver: Resolver = resolve,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(trust_env=False)
        # httpx has no network_backend option, so swap its pool for one that has ours;
        # tests/fetch/test_fetch.py pins that the guard runs on names.
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx.HTTPTransport no longer keeps an httpcore pool in _pool")
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allowed, resolver=resolver),
        )


def build_client(
    settings: Settings, *, resolver: Resolver = resolve, ssl_context: ssl.SSLContext | None = None
) -> httpx.Client:
    """An httpx.Client for `fetch`: guarded connects, no proxy from the environment, no cookies.

    Share one per process: it pools connections per host. Its guard uses
    `settings.allowed_networks`; `resolver` and `ssl_context` (default: certifi's CAs) exist
    for tests and private CAs.
    """
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(
        transport=GuardedTransport(
            settings.allowed_networks, resolver=resolver, ssl_context=ssl_context
        ),
        trust_env=False,  # a proxy from the environment would make the guard check the proxy
        follow_redirects=False,  # fetch follows them itself, checking each hop
        cookies=no_cookies,  # stateless: any worker gets the same answer
    )


def fetch(
    url: str,
    *,
    settings: Settings,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.Client | None = None,
    accept: str | None = None,
) -> FetchResult:
    """GET `url`, following up to `settings.fetch_max_redirects` redirects, each one checked.

    Sends If-None-Match / If-Modified-Since when given the validators of the last fetch.
    Pass a client from `build_client` to pool connections; without one, a client is built
    and closed. A foreign client (a test's MockTransport) still gets the scheme and
    address-literal checks, but host names are checked only by `build_client`'s transport.

    Raises:
        FetchFailed: timeout, connection error, deadline, 5xx, 408 or 429 (retry later).
        FetchRefused: bad scheme or URL, non-public address, too many or broken redirects.
        FetchRejected: 4xx other than 408 and 429, or a 3xx that cannot be followed.
        BadInput: the body is over `settings.fetch_max_bytes` or does not inflate.
    """
    deadline = time.monotonic() + settings.fetch_deadline_s
    headers = {
        "user-agent": settings.fetch_user_agent or DEFAULT_USER_AGENT,
        "accept": accept or "*/*",
        "accept-encoding": ACCEPT_ENCODING,  # what body.read_body can inflate, within the cap
    }
    if etag:
        headers["if-none-match"] = etag
    if last_modified:
        headers["if-modified-since"] = last_modified
    if client is None:
        with build_client(settings) as own:
            return _follow(own, url, headers, settings, deadline, (etag, last_modified))
    return _follow(client, url, headers, settings, deadline, (etag, last_modified))


def _follow(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    settings: Settings,
    deadline: float,
    validators: tuple[str | None, str | None],
) -> FetchResult:
    redirects: list[str] = []
    current = url
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise deadline_passed(current, settings)
        timeout = httpx.Timeout(
            min(settings.fetch_read_timeout_s, remaining),
            connect=min(settings.fetch_connect_timeout_s, remaining),
        )
        request = client.build_request("GET", _checked(current, settings), headers=headers,
                                       timeout=timeout)  # fmt: skip
        with _mapped(current):
            response = client.send(request, stream=True)
        try:
            status = response.status_code
            if status in _REDIRECTS:
                current = _next_hop(response, url, current, redirects, settings)
                continue
            _raise_for_status(response, current)
            body = b""
            if status != 304:
                with _mapped(current):
                    body = read_body(response, current, settings, deadline)
        finally:
            response.close()
        return _result(response, current, body, redirects, validators)


def _checked(url: str, settings: Settings) -> httpx.URL:
    """The URL, refused unless http(s) with a host; an address literal is checked right here."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchRefused(f"invalid URL {url!r}: {exc}", url=url, reason="bad_url") from None
    if parsed.scheme not in ("http", "https"):
        raise FetchRefused(
            f"refused {url}: only http and https URLs are fetched, not {parsed.scheme or 'none'!r}",
            url=url,
            reason="bad_scheme",
        )
    if not parsed.host:
        raise FetchRefused(f"refused {url}: no host", url=url, reason="bad_url")
    try:
        literal = ip_address(parsed.host)
    except ValueError:
        return parsed  # a name: GuardedTransport checks what it resolves to, at connect time
    # no DNS needed: refuse before any connection, whatever client we were given
    check_address(literal, allowed=settings.allowed_networks, host=parsed.host, url=url)
    return parsed


def _next_hop(
    response: httpx.Response, url: str, current: str, redirects: list[str], settings: Settings
) -> str:
    status = response.status_code
    location = response.headers.get("location", "").strip()
    if not location:
        raise FetchRejected(
            f"GET {current}: {status} redirect without a Location header",
            url=current,
            status_code=status,
        )
    if len(redirects) >= settings.fetch_max_redirects:
        raise FetchRefused(
            f"GET {url}: more than fetch_max_redirects={settings.fetch_max_redirects} redirects"
            f" (the last one: {current} -> {location})",
            url=url,
            reason="too_many_redirects",
        )
    try:
        following = str(response.url.join(location))
    except httpx.InvalidURL as exc:
        raise FetchRefused(
            f"GET {current}: {status} redirect to an invalid URL {location!r}: {exc}",
            url=current,
            reason="bad_redirect",
        ) from None
    redirects.append(current)
    logger.debug("redirect %d %s -> %s", status, current, following)
    return following


def _raise_for_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if status < 300 or status == 304:
        return
    said = f"GET {url}: {status} {response.reason_phrase}".rstrip()
    if status >= 500 or status in (408, 429):
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=time.time())
        if retry_after is not None:
            said += f" (Retry-After {retry_after:g} s)"
        raise FetchFailed(
            said, url=url, reason=f"http_{status}", status_code=status, retry_after_s=retry_after
        )
    raise FetchRejected(said, url=url, status_code=status)


@contextmanager
def _mapped(url: str) -> Iterator[None]:
    """Turn httpx's exceptions into FetchFailed/FetchRefused that name the URL."""
    try:
        yield
    except FetchRefused as exc:  # the guard refused an address at connect time
        if exc.url == url:
            raise
        raise FetchRefused(exc.message, url=url, reason=exc.reason) from exc
    except httpx.TimeoutException as exc:
        kind = type(exc).__name__.removesuffix("Timeout").lower() or "request"
        raise FetchFailed(f"GET {url}: {kind} timed out", url=url, reason="timeout") from exc
    except httpx.ConnectError as exc:
        raise FetchFailed(
            f"GET {url}: cannot connect: {exc}", url=url, reason="connect_error"
        ) from exc
    except httpx.UnsupportedProtocol as exc:
        raise FetchRefused(f"refused {url}: {exc}", url=url, reason="bad_scheme") from exc
    except httpx.TransportError as exc:  # protocol errors, a connection cut short
        raise FetchFailed(
            f"GET {url}: {type(exc).__name__}: {exc}", url=url, reason="network_error"
        ) from exc


def _result(
    response: httpx.Response,
    url: str,
    body: bytes,
    redirects: list[str],
    validators: tuple[str | None, str | None],
) -> FetchResult:
    h = response.headers
    content_type = h.get("content-type", "")
    charset = _CHARSET.search(content_type)
    max_age = _MAX_AGE.search(h.get("cache-control", ""))
    etag, last_modified = h.get("etag"), h.get("last-modified")
    if response.status_code == 304:
        etag, last_modified = etag or validators[0], last_modified or validators[1]
    return FetchResult(
        url=url,
        status_code=response.status_code,
        headers=dict(h.items()),
        body=body,
        content_type=content_type.split(";")[0].strip().lower() or None,
        charset=charset.group(1).lower() if charset else None,
        etag=etag,
        last_modified=last_modified,
        retry_after_s=parse_retry_after(h.get("retry-after"), now=time.time()),
        max_age_s=int(max_age.group(1)) if max_age else None,
        redirects=tuple(redirects),
    )


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date (past: 0)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, round(when.timestamp() - now, 3))
