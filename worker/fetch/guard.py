"""Which addresses a fetch may reach, checked on the very address each socket connects to.

An httpcore network backend resolves the host itself, checks every address, then connects
to a checked address literal: no second DNS lookup, so DNS rebinding has no window.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

import httpcore

from worker.errors import FetchRefused

__all__ = ["GuardedBackend", "check_address", "refusal", "resolve"]

logger = logging.getLogger(__name__)

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
Resolver = Callable[[str, int], Sequence[Address]]

_CGNAT = ip_network("100.64.0.0/10")  # shared address space: Alibaba's metadata is 100.100.100.200
_NAT64 = ip_network("64:ff9b::/96")  # IPv6 that a NAT64 gateway turns into the IPv4 in its tail
# the smallest well-known network to suggest allowing (anything else: the one address)
_SUGGEST = [
    ip_network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
              "::1/128", "fc00::/7")
]  # fmt: skip


def refusal(ip: Address, allowed: Iterable[Network] = ()) -> str | None:
    """Why `ip` may not be fetched ("loopback address"...), or None when it may.

    IPv6 forms that carry an IPv4 address are judged by it: a mapped ::ffff:a.b.c.d as that
    address (::ffff:127.0.0.1 is loopback), 6to4 and NAT64 addresses as both.
    """
    allowed = tuple(allowed)
    for candidate in _with_embedded(ip):
        if any(candidate in net for net in allowed):
            continue
        if why := _category(candidate):
            return why
    return None


def check_address(ip: Address, *, allowed: Iterable[Network], host: str, url: str) -> None:
    """Raise FetchRefused (reason ``private_address``) when `ip` may not be fetched."""
    why = refusal(ip, allowed)
    if why is None:
        return
    named = str(ip) if host.strip("[]") == str(ip) else f"{host} ({ip})"
    raise FetchRefused(
        f"refused {named}: {why}; set WIREWATCH_ALLOW_PRIVATE_NETWORKS={_suggest(ip)} to allow",
        url=url,
        reason="private_address",
    )


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to, in the resolver's order, without duplicates."""
    try:
        return [ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = ip_address(sockaddr[0])
        if ip not in found:
            found.append(ip)
    return found


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, except that each TCP connect goes to a checked address.

    The host is resolved once here; if any address it resolves to is refused, the connect is
    refused (a name that points inside, even partly, is not a public feed). Otherwise the
    socket connects to those same address literals, so a second, different answer from DNS
    can never be used. TLS is untouched: httpcore still sends the host name as SNI and
    verifies the certificate against it, because only the TCP endpoint is substituted.
    """

    def __init__(
        self,
        allowed: Iterable[Network] = (),
        *,
        resolver: Resolver = resolve,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.allowed = tuple(allowed)
        self._resolve = resolver
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        url = f"{host}:{port}"
        try:
            addresses = self._resolve(host, port)
        except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        for ip in addresses:
            check_address(ip, allowed=self.allowed, host=host, url=url)
        last: Exception | None = None
        for ip in addresses:
            try:
                logger.debug("connecting to %s (%s) port %d", host, ip, port)
                return self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )  # fmt: skip
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise FetchRefused(f"refused unix socket {path}", url=path, reason="bad_scheme")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _with_embedded(ip: Address) -> list[Address]:
    """The IPv4 address an IPv6 one carries first (it names the real destination), then itself."""
    if isinstance(ip, IPv4Address):
        return [ip]
    if ip.ipv4_mapped is not None:  # a dual-stack socket connects to that IPv4 address itself
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour, ip]
    if ip in _NAT64:
        return [IPv4Address(int(ip) & 0xFFFFFFFF), ip]
    return [ip]


def _category(ip: Address) -> str | None:
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        if ip == IPv4Address("169.254.169.254"):
            return "link-local address (the cloud metadata service)"
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if ip in _CGNAT:
        return "shared (carrier-grade NAT) address"
    if ip.is_private:
        return "private address"
    if ip.is_reserved:
        return "reserved address"
    if not ip.is_global:
        return "non-public address"
    return None


def _suggest(ip: Address) -> str:
    plain: Address = ip
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        plain = ip.ipv4_mapped
    for net in _SUGGEST:
        if plain in net:
            return str(net)
    return f"{plain}/{plain.max_prefixlen}"
