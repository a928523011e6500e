"""When to poll a feed next: an interval from its entry frequency, floored by what the server asked.

Pure policy math (like dramatiq's `compute_backoff`): the caller passes the clock and the facts.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable

__all__ = [
    "DEFAULT_INTERVAL_S",
    "RECENT_ENTRIES",
    "adaptive_interval_s",
    "failure_delay_s",
    "next_poll_at",
]

DEFAULT_INTERVAL_S = 3600  # a feed whose entries carry no dates: hourly, within the bounds
RECENT_ENTRIES = 10  # the newest entries whose gaps set the pace
QUIET_SHARE = 1 / 8  # a feed silent for 8 h is polled hourly at most
RETRY_AFTER_CAP_S = 7 * 86400  # a Retry-After beyond this is a server bug, not a request


def adaptive_interval_s(published: Iterable[float], *, now: float, min_s: int, max_s: int) -> int:
    """The median gap between the newest entries, or a `QUIET_SHARE` of the time since the
    newest one when that is longer; clamped to [min_s, max_s].

    A feed posting every 10 minutes is polled every 10 minutes; one that went quiet drifts
    towards `max_s` (a week's silence: a day), and its next entry brings the pace back.
    Fewer than two dated entries: `DEFAULT_INTERVAL_S`, clamped.
    """
    times = sorted((t for t in published if t <= now), reverse=True)[:RECENT_ENTRIES]
    if len(times) < 2:
        return _clamp(DEFAULT_INTERVAL_S, min_s, max_s)
    gap = statistics.median(a - b for a, b in itertools.pairwise(times))
    return _clamp(int(max(gap, (now - times[0]) * QUIET_SHARE)), min_s, max_s)


def next_poll_at(
    now: float,
    interval_s: float,
    *,
    retry_after_s: float | None = None,
    max_age_s: float | None = None,
    ttl_s: float | None = None,
    max_s: int,
) -> float:
    """`now + interval_s`, but never earlier than Retry-After, Cache-Control max-age or `<ttl>`.

    max-age and `<ttl>` count up to `max_s` (a year-long max-age must not silence a feed for
    a year); Retry-After up to a week.
    """
    floor = max(min(max_age_s or 0, max_s), min(ttl_s or 0, max_s))
    floor = max(floor, min(retry_after_s or 0, RETRY_AFTER_CAP_S))
    return now + max(interval_s, floor)


def failure_delay_s(failures: int, *, min_s: int, max_s: int) -> int:
    """Backoff after `failures` consecutive failed polls: min_s, 2*min_s, 4*min_s... <= max_s."""
    return _clamp(min_s * 2 ** max(0, min(failures - 1, 20)), min_s, max_s)


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, v))
