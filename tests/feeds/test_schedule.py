"""Polling policy math: adaptive interval, server-given floors, failure backoff (pure)."""

from __future__ import annotations

import pytest

from worker.config import Settings
from worker.pipeline.schedule import (
    DEFAULT_INTERVAL_S,
    adaptive_interval_s,
    failure_delay_s,
    next_poll_at,
)

NOW = 1_000_000.0
BOUNDS = {"min_s": 300, "max_s": 86400}


def test_adaptive_interval_follows_the_median_gap_of_recent_entries():
    # Given entries every 20 minutes up to now
    busy = [NOW - 1200 * i for i in range(1, 12)]
    # Then the feed is polled every 20 minutes
    assert adaptive_interval_s(busy, now=NOW, **BOUNDS) == 1200
    # And one odd gap does not move the median
    assert adaptive_interval_s([*busy[:5], NOW - 30_000], now=NOW, **BOUNDS) == 1200


def test_adaptive_interval_is_clamped_and_has_a_default():
    every_minute = [NOW - 60 * i for i in range(10)]
    weekly = [NOW - 7 * 86400 * i for i in range(1, 5)]
    assert adaptive_interval_s(every_minute, now=NOW, **BOUNDS) == 300
    assert adaptive_interval_s(weekly, now=NOW, **BOUNDS) == 86400
    assert adaptive_interval_s([], now=NOW, **BOUNDS) == DEFAULT_INTERVAL_S
    assert adaptive_interval_s([NOW - 5], now=NOW, **BOUNDS) == DEFAULT_INTERVAL_S
    # entries dated in the future are ignored (a wrong clock at the publisher)
    assert adaptive_interval_s([NOW + 10, NOW + 20], now=NOW, **BOUNDS) == DEFAULT_INTERVAL_S


def test_adaptive_interval_grows_when_a_feed_goes_quiet():
    # Given hourly entries that stopped long ago
    old = [NOW - 10 * 86400 - 3600 * i for i in range(3)]
    # Then the silence sets the pace (an eighth of 10 days, clamped to a day), not the hourly gaps
    assert adaptive_interval_s(old, now=NOW, **BOUNDS) == 86400
    recent = [NOW - 1800 - 3600 * i for i in range(3)]
    assert adaptive_interval_s(recent, now=NOW, **BOUNDS) == 3600


def test_next_poll_is_never_earlier_than_what_the_server_asked():
    assert next_poll_at(NOW, 600, max_s=86400) == NOW + 600
    assert next_poll_at(NOW, 600, max_age_s=1800, max_s=86400) == NOW + 1800
    assert next_poll_at(NOW, 600, ttl_s=3600, max_s=86400) == NOW + 3600
    assert next_poll_at(NOW, 600, retry_after_s=7200, max_s=86400) == NOW + 7200
    assert next_poll_at(NOW, 9000, max_age_s=60, ttl_s=60, retry_after_s=60, max_s=86400) == (
        NOW + 9000
    )
    # a year-long max-age or ttl counts only up to the max interval
    assert next_poll_at(NOW, 600, max_age_s=365 * 86400, max_s=86400) == NOW + 86400


def test_failure_backoff_doubles_within_bounds():
    delays = [failure_delay_s(n, **BOUNDS) for n in range(1, 12)]
    assert delays[:4] == [300, 600, 1200, 2400]
    assert max(delays) == 86400 and delays == sorted(delays)


def test_feed_settings_are_validated_at_boot():
    s = Settings.from_env(
        {"WIREWATCH_FEED_MIN_INTERVAL_S": "600", "WIREWATCH_FETCH_HOST_INTERVAL_S": "0.5"}
    )
    assert (s.feed_min_interval_s, s.fetch_host_interval_s, s.fetch_host_concurrency) == (
        600,
        0.5,
        2,
    )
    bad = [
        {"feed_min_interval_s": 0},
        {"feed_min_interval_s": 7200, "feed_max_interval_s": 3600},
        {"feed_max_failures": 0},
        {"fetch_host_concurrency": 0},
        {"fetch_host_interval_s": -1.0},
    ]
    for values in bad:
        with pytest.raises(ValueError, match=next(iter(values))):
            Settings(db_path="x.db", **values)
