"""The address policy and the allow-list setting."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from worker.config import Settings
from worker.errors import FetchRefused
from worker.fetch import check_address, refusal


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback address"),
        ("127.8.9.10", "loopback address"),
        ("10.1.2.3", "private address"),
        ("172.16.0.1", "private address"),
        ("192.168.1.1", "private address"),
        ("169.254.169.254", "link-local address (the cloud metadata service)"),
        ("169.254.1.1", "link-local address"),
        ("100.64.0.1", "shared (carrier-grade NAT) address"),
        ("100.100.100.200", "shared (carrier-grade NAT) address"),  # Alibaba's metadata service
        ("0.0.0.0", "unspecified address"),
        ("224.0.0.1", "multicast address"),
        ("240.0.0.1", "private address"),  # reserved, listed as private by ipaddress
        ("255.255.255.255", "private address"),
        ("192.0.2.1", "private address"),  # documentation (TEST-NET-1)
        ("198.18.0.1", "private address"),  # benchmarking
        ("::1", "loopback address"),
        ("::", "unspecified address"),
        ("fe80::1", "link-local address"),
        ("fc00::1", "private address"),
        ("ff02::1", "multicast address"),
        ("::ffff:127.0.0.1", "loopback address"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "link-local address (the cloud metadata service)"),
        ("2002:7f00:1::", "loopback address"),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local address (the cloud metadata service)"),  # NAT64
    ],
)
def test_refusal_names_the_kind_of_address(address, why):
    assert refusal(ip_address(address)) == why


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "1.1.1.1"]
)
def test_refusal_lets_public_addresses_through(address):
    assert refusal(ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", "127.0.0.0/8"),
        ("::ffff:127.0.0.1", "127.0.0.0/8"),
        ("10.20.30.40", "10.20.0.0/16"),
        ("fd00::5", "fd00::/8"),
    ],
)
def test_refusal_respects_the_allow_list(address, allowed):
    assert refusal(ip_address(address), [ip_network(allowed)]) is None


def test_refusal_allow_list_is_exact():
    assert refusal(ip_address("10.21.0.1"), [ip_network("10.20.0.0/16")]) == "private address"
    assert refusal(ip_address("::1"), [ip_network("127.0.0.0/8")]) == "loopback address"


def test_check_address_message_says_how_to_allow():
    with pytest.raises(FetchRefused) as info:
        check_address(
            ip_address("192.168.4.2"), allowed=(), host="nas.local", url="http://nas.local/"
        )
    assert info.value.reason == "private_address"
    assert info.value.url == "http://nas.local/"
    assert info.value.message == (
        "refused nas.local (192.168.4.2): private address; "
        "set WIREWATCH_ALLOW_PRIVATE_NETWORKS=192.168.0.0/16 to allow"
    )


def test_settings_allow_private_networks_from_env():
    settings = Settings.from_env(
        {"WIREWATCH_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8, 10.1.0.0/16,,::1"}, db_path="x.db"
    )
    assert settings.allowed_networks == (
        ip_network("127.0.0.0/8"),
        ip_network("10.1.0.0/16"),
        ip_network("::1/128"),
    )
    assert Settings(db_path="x.db").allowed_networks == ()


@pytest.mark.parametrize("bad", ["localhost", "10.0.0.0/33", "127.0.0.0/8;10.0.0.0/8"])
def test_settings_bad_cidr_fails_at_boot_naming_it(bad):
    with pytest.raises(ValueError, match="allow_private_networks must be comma-separated CIDRs"):
        Settings(db_path="x.db", allow_private_networks=bad)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fetch_connect_timeout_s", 0),
        ("fetch_read_timeout_s", -1.0),
        ("fetch_deadline_s", 0.0),
        ("fetch_max_bytes", 0),
        ("fetch_max_redirects", -1),
        ("fetch_user_agent", " "),
    ],
)
def test_settings_fetch_limits_are_validated(field, value):
    with pytest.raises(ValueError, match=field):
        Settings(db_path="x.db", **{field: value})


def test_settings_fetch_values_from_env():
    settings = Settings.from_env(
        {
            "WIREWATCH_FETCH_MAX_BYTES": "2000000",
            "WIREWATCH_FETCH_DEADLINE_S": "12.5",
            "WIREWATCH_FETCH_USER_AGENT": "newsroom-bot/2 (+mailto:ops@example.com)",
        },
        db_path="x.db",
    )
    assert settings.fetch_max_bytes == 2_000_000
    assert settings.fetch_deadline_s == 12.5
    assert settings.fetch_user_agent == "newsroom-bot/2 (+mailto:ops@example.com)"
