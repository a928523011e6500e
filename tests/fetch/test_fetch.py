"""fetch() against a real local HTTP server: conditional GETs, caps, redirects, statuses."""

from __future__ import annotations

import socket
import time
import tracemalloc

import httpx
import pytest

from tests.fetch.conftest import PAGE, PAGE_ETAG, PAGE_MODIFIED
from worker.errors import BadInput, FetchFailed, FetchRefused, FetchRejected, PermanentError
from worker.fetch import DEFAULT_USER_AGENT, build_client, fetch, parse_retry_after


def test_fetch_page_carries_validators_and_cache_headers(server, make_settings):
    # When
    result = fetch(server.url("/page"), settings=make_settings())
    # Then
    assert result.status_code == 200 and not result.not_modified
    assert result.body == PAGE
    assert result.url == server.url("/page")
    assert (result.content_type, result.charset) == ("text/html", "utf-8")
    assert (result.etag, result.last_modified) == (PAGE_ETAG, PAGE_MODIFIED)
    assert result.max_age_s == 300
    assert result.redirects == ()
    seen = server.requests[0].headers
    assert seen["user-agent"] == DEFAULT_USER_AGENT
    assert DEFAULT_USER_AGENT.startswith("wirewatch/")
    assert seen["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in seen and "if-modified-since" not in seen


def test_fetch_user_agent_is_configurable(server, make_settings):
    fetch(server.url("/page"), settings=make_settings(fetch_user_agent="newsroom-bot/2"))
    assert server.requests[0].headers["user-agent"] == "newsroom-bot/2"


@pytest.mark.parametrize(
    ("etag", "modified"), [(PAGE_ETAG, None), (None, PAGE_MODIFIED), (PAGE_ETAG, PAGE_MODIFIED)]
)
def test_fetch_conditional_get_gives_not_modified(server, make_settings, etag, modified):
    # Given the validators of an earlier fetch
    settings = make_settings()
    # When
    result = fetch(server.url("/page"), settings=settings, etag=etag, last_modified=modified)
    # Then the server saw them and answered 304, and the result keeps the validators
    seen = server.requests[-1].headers
    assert seen.get("if-none-match") == etag
    assert seen.get("if-modified-since") == modified
    assert result.not_modified and result.status_code == 304 and result.body == b""
    assert result.etag == PAGE_ETAG
    assert result.last_modified == modified


def test_fetch_stale_validators_get_the_page(server, make_settings):
    result = fetch(server.url("/page"), settings=make_settings(), etag='"page-v0"')
    assert result.status_code == 200 and result.body == PAGE


def test_fetch_follows_redirects_checking_each_hop(server, make_settings):
    # When
    result = fetch(server.url("/redirect/3"), settings=make_settings(fetch_max_redirects=3))
    # Then
    assert result.body == PAGE
    assert result.url == server.url("/page")
    assert result.redirects == tuple(server.url(f"/redirect/{n}") for n in (3, 2, 1))
    assert server.paths() == ["/redirect/3", "/redirect/2", "/redirect/1", "/page"]


def test_fetch_too_many_redirects_is_refused(server, make_settings):
    with pytest.raises(FetchRefused) as info:
        fetch(server.url("/redirect/10"), settings=make_settings(fetch_max_redirects=5))
    assert info.value.reason == "too_many_redirects"
    assert "more than fetch_max_redirects=5 redirects" in str(info.value)
    assert len(server.requests) == 6  # the first request and 5 redirects followed


@pytest.mark.parametrize(
    ("to", "reason", "words"),
    [
        ("http://169.254.169.254/latest/meta-data/", "private_address", "the cloud metadata"),
        ("http://10.0.0.1/admin", "private_address", "refused 10.0.0.1: private address"),
        ("http://[::1]/", "private_address", "loopback"),
        ("file:///etc/passwd", "bad_scheme", "only http and https"),
        ("gopher://wire.example/", "bad_scheme", "not 'gopher'"),
    ],
)
def test_fetch_redirect_to_a_refused_destination(server, make_settings, to, reason, words):
    # Given a server allowed by the settings that redirects elsewhere
    url = server.url(f"/redirect-to?to={to}")
    # When / Then the hop is refused before any connection is made
    with pytest.raises(FetchRefused) as info:
        fetch(url, settings=make_settings(allow_private_networks="127.0.0.0/8"))
    assert info.value.reason == reason
    assert words in str(info.value)
    assert info.value.url == str(httpx.URL(url).join(to))
    assert len(server.requests) == 1


def test_fetch_loopback_without_the_allow_setting_is_refused(server, make_settings):
    # When
    with pytest.raises(FetchRefused) as info:
        fetch(server.url("/page"), settings=make_settings(allow_private_networks=""))
    # Then the message says what was refused and how to allow it; nothing reached the server
    assert str(info.value) == (
        "private_address: refused 127.0.0.1: loopback address; "
        "set WIREWATCH_ALLOW_PRIVATE_NETWORKS=127.0.0.0/8 to allow"
    )
    assert server.requests == []


def test_fetch_loopback_name_is_refused_after_resolution(server, make_settings):
    # Given a host name (not an address literal): only the guarded connect can catch it
    settings = make_settings(allow_private_networks="")
    with build_client(settings, resolver=lambda host, port: _ips("127.0.0.1")) as client:
        # When / Then
        with pytest.raises(FetchRefused) as info:
            fetch(server.url("/page", host="feeds.internal"), settings=settings, client=client)
    assert "refused feeds.internal (127.0.0.1): loopback address" in str(info.value)
    assert info.value.url == server.url("/page", host="feeds.internal")
    assert server.requests == []


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0x7f.0.0.1", "localhost"])
def test_fetch_odd_loopback_spellings_are_refused_at_connect(server, make_settings, host):
    # Given spellings the system resolver turns into 127.0.0.1 (no custom resolver here)
    url = server.url("/page", host=host)
    with pytest.raises(FetchRefused) as info:
        fetch(url, settings=make_settings(allow_private_networks=""))
    assert info.value.reason == "private_address"
    assert "loopback address" in str(info.value)
    assert server.requests == []


def test_fetch_metadata_address_is_refused_without_connecting(make_settings):
    # Given a client whose transport records every request it would send
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    # When / Then
    with pytest.raises(FetchRefused) as info:
        fetch("http://169.254.169.254/latest/meta-data/", settings=make_settings(), client=client)
    assert str(info.value) == (
        "private_address: refused 169.254.169.254: link-local address (the cloud metadata "
        "service); set WIREWATCH_ALLOW_PRIVATE_NETWORKS=169.254.169.254/32 to allow"
    )
    assert sent == []


def test_fetch_guard_connects_to_the_address_it_checked(server, make_settings):
    # Given a name that resolves first to an allowed address, then (rebinding) to another
    settings = make_settings(allow_private_networks="127.0.0.1/32")
    answers = iter(["127.0.0.1", "127.0.0.2"])
    lookups: list[str] = []

    def rebinding(host: str, port: int):
        lookups.append(host)
        return _ips(next(answers))

    url = server.url("/page", host="rebind.example")  # unresolvable by the system resolver
    with build_client(settings, resolver=rebinding) as client:
        # When
        first = fetch(url, settings=settings, client=client)
        # Then the one lookup's checked answer is where the request went, Host preserved
        assert first.body == PAGE and lookups == ["rebind.example"]
        assert server.requests[0].headers["host"] == f"rebind.example:{server.port}"
        # When the next connection's lookup answers a refused address
        with pytest.raises(FetchRefused) as info:
            fetch(url, settings=settings, client=client)
    # Then it is refused and never reached
    assert "refused rebind.example (127.0.0.2): loopback address" in str(info.value)
    assert len(server.requests) == 1 and lookups == ["rebind.example"] * 2


def test_fetch_https_keeps_sni_and_certificate_checks_on_the_checked_address(
    tls_server, make_settings
):
    # Given a TLS server for wire.test, which only our resolver knows (at 127.0.0.1)
    settings = make_settings()
    resolver = lambda host, port: _ips("127.0.0.1")  # noqa: E731
    url = f"https://{tls_server.hostname}:{tls_server.port}/page"
    tls_server.sni.clear()
    with build_client(settings, resolver=resolver, ssl_context=tls_server.client_context) as c:
        # When
        result = fetch(url, settings=settings, client=c)
    # Then the handshake named the host, the certificate was verified for it
    assert result.body == PAGE
    assert tls_server.sni == ["wire.test"]
    assert tls_server.requests[-1].headers["host"] == f"wire.test:{tls_server.port}"


def test_fetch_https_certificate_for_another_name_fails(tls_server, make_settings):
    # Given the same server reached under a name its certificate does not carry
    settings = make_settings()
    resolver = lambda host, port: _ips("127.0.0.1")  # noqa: E731
    url = f"https://impostor.test:{tls_server.port}/page"
    with build_client(settings, resolver=resolver, ssl_context=tls_server.client_context) as c:
        with pytest.raises(FetchFailed) as info:
            fetch(url, settings=settings, client=c)
    assert info.value.reason == "connect_error"
    assert "certificate verify failed" in str(info.value)


def test_fetch_redirect_to_a_name_inside_is_refused_at_connect(server, make_settings):
    # Given an allowed server redirecting to a name that resolves to a private address
    settings = make_settings()

    def resolver(host: str, port: int):
        return _ips("10.0.0.5") if host == "intranet.example" else _ips(host)

    hop = f"http://intranet.example:{server.port}/page"
    with build_client(settings, resolver=resolver) as client:
        # When / Then
        with pytest.raises(FetchRefused) as info:
            fetch(server.url(f"/redirect-to?to={hop}"), settings=settings, client=client)
    assert "refused intranet.example (10.0.0.5): private address" in str(info.value)
    assert info.value.url == hop
    assert len(server.requests) == 1


def test_fetch_name_with_any_refused_address_is_refused(server, make_settings):
    # Given a name resolving to an allowed and a private address
    settings = make_settings()
    resolver = lambda host, port: _ips("127.0.0.1", "10.0.0.7")  # noqa: E731
    with build_client(settings, resolver=resolver) as client:
        with pytest.raises(FetchRefused) as info:
            fetch(server.url("/page", host="mixed.example"), settings=settings, client=client)
    assert "refused mixed.example (10.0.0.7): private address" in str(info.value)
    assert server.requests == []


@pytest.mark.parametrize(
    ("path", "status", "retry_after"),
    [
        ("/status/503?retry_after=120", 503, 120.0),
        ("/status/500", 500, None),
        ("/status/429?retry_after=7", 429, 7.0),
        ("/status/408", 408, None),
    ],
)
def test_fetch_retryable_statuses_are_transient(server, make_settings, path, status, retry_after):
    with pytest.raises(FetchFailed) as info:
        fetch(server.url(path), settings=make_settings())
    err = info.value
    assert (err.status_code, err.retry_after_s) == (status, retry_after)
    assert err.reason == f"http_{status}"
    assert err.url == server.url(path)
    assert str(err).startswith(f"http_{status}: GET {server.url(path)}: {status} ")


def test_fetch_retry_after_as_http_date(server, make_settings):
    when = "Wed, 21 Oct 2099 07:28:00 GMT"
    with pytest.raises(FetchFailed) as info:
        fetch(server.url(f"/status/503?retry_after={when}"), settings=make_settings())
    assert info.value.retry_after_s is not None and info.value.retry_after_s > 86400 * 365


@pytest.mark.parametrize("status", [404, 410, 403, 401])
def test_fetch_client_errors_are_permanent(server, make_settings, status):
    with pytest.raises(FetchRejected) as info:
        fetch(server.url(f"/status/{status}"), settings=make_settings())
    assert (info.value.status_code, info.value.reason) == (status, f"http_{status}")
    assert isinstance(info.value, PermanentError)


def test_fetch_redirect_without_location_is_rejected(server, make_settings):
    with pytest.raises(FetchRejected) as info:
        fetch(server.url("/status/302"), settings=make_settings())
    assert "302 redirect without a Location header" in str(info.value)


def test_fetch_slow_response_times_out(server, make_settings):
    # Given a server that sends headers then sits on the body
    settings = make_settings(fetch_read_timeout_s=0.3)
    started = time.monotonic()
    # When / Then
    with pytest.raises(FetchFailed) as info:
        fetch(server.url("/slow?s=3"), settings=settings)
    assert info.value.reason == "timeout"
    assert "read timed out" in str(info.value)
    assert time.monotonic() - started < 2


def test_fetch_slow_drip_stops_at_the_deadline(server, make_settings):
    # Given a server that never pauses long enough for a read timeout
    settings = make_settings(fetch_read_timeout_s=1.0, fetch_deadline_s=0.5)
    started = time.monotonic()
    with pytest.raises(FetchFailed) as info:
        fetch(server.url("/drip"), settings=settings)
    assert info.value.reason == "deadline"
    assert "not done within fetch_deadline_s=0.5" in str(info.value)
    assert time.monotonic() - started < 2


def test_fetch_connection_refused_is_transient(make_settings):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchFailed) as info:
        fetch(f"http://127.0.0.1:{port}/", settings=make_settings())
    assert info.value.reason == "connect_error" and info.value.status_code is None


@pytest.mark.parametrize("declare", [False, True])
def test_fetch_huge_body_is_cut_at_the_cap(server, make_settings, declare):
    # Given a 100 MB body, streamed (with or without a Content-Length saying so)
    path = "/huge?declare=1" if declare else "/huge"
    tracemalloc.start()
    started = time.monotonic()
    # When / Then reading stops at the 1 MB cap, without holding much more than that
    try:
        with pytest.raises(BadInput) as info:
            fetch(server.url(path), settings=make_settings(fetch_max_bytes=1_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.reason == "too_large"
    assert "over fetch_max_bytes=1000000" in str(info.value)
    assert peak < 5_000_000
    assert time.monotonic() - started < 3


def test_fetch_gzip_bomb_is_cut_after_decompression(server, make_settings):
    # Given ~100 KB of gzip that inflates to 100 MB
    tracemalloc.start()
    try:
        with pytest.raises(BadInput) as info:
            fetch(server.url("/gzip-bomb"), settings=make_settings(fetch_max_bytes=1_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Then inflating stopped at the cap: memory never held the 100 MB
    assert info.value.reason == "too_large"
    assert "(after decompression)" in str(info.value)
    assert peak < 5_000_000


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_fetch_inflates_compressed_bodies(server, make_settings, encoding):
    assert fetch(server.url(f"/encoded/{encoding}"), settings=make_settings()).body == PAGE


@pytest.mark.parametrize(("encoding", "words"), [("broken", "does not inflate"),
                                                 ("br", "'br' was not asked for")])  # fmt: skip
def test_fetch_undecodable_bodies_are_bad_input(server, make_settings, encoding, words):
    with pytest.raises(BadInput) as info:
        fetch(server.url(f"/encoded/{encoding}"), settings=make_settings())
    assert info.value.reason == "bad_compression" and words in str(info.value)


def test_fetch_binary_body_is_returned_as_is(server, make_settings):
    # fetch judges transport, not content: parse_feed refuses it (tests/fetch/test_feeds.py)
    result = fetch(server.url("/binary"), settings=make_settings())
    assert len(result.body) == 256 * 64 and result.content_type == "application/rss+xml"


@pytest.mark.parametrize("url", ["ftp://wire.example/feed", "file:///etc/passwd", "wire.example"])
def test_fetch_non_http_schemes_are_refused(make_settings, url):
    with pytest.raises(FetchRefused) as info:
        fetch(url, settings=make_settings())
    assert info.value.reason == "bad_scheme"


def test_fetch_with_a_mock_transport_maps_statuses(make_settings):
    # Given a canned response (STYLE: inject the transport, never patch the network)
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "30"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    with pytest.raises(FetchFailed) as info:
        fetch("https://wire.example/feed", settings=make_settings(), client=client)
    assert (info.value.status_code, info.value.retry_after_s) == (503, 30.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), ("0", 0.0), ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0), ("soon", None),
     ("", None), (None, None), ("Thu, 01 Jan 1970 00:01:40 GMT", 60.0)],
)  # fmt: skip
def test_parse_retry_after_seconds_or_http_date(value, expected):
    assert parse_retry_after(value, now=40.0) == expected


def _ips(*addresses: str):
    from ipaddress import ip_address

    return [ip_address(a) for a in addresses]
