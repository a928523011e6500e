"""Event time: where an article sits on the stream's clock, and the windows that compare it.

An article's event time is its publication time when that is plausible (not later than the
ingestion time plus a small clock skew, not before a configured floor), else its ingestion
time; `source` says which. A story or storyline keeps two clocks apart: the span of its dated
articles' publication times and the newest ingestion time of any of its articles. A window
compares like with like: a dated article with the dated span (either side: out-of-order and
archived articles join what they belong to), an undated one, or one meeting a story that has
no dated article yet, with ingestion times. So replaying an archive gives the stories live
ingestion gave, and an undated article never splits a dated story.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["EventTime", "Span", "earliest", "event_time", "latest"]

TimeSource = Literal["published", "ingested"]


@dataclass(frozen=True, slots=True)
class EventTime:
    """An article's place in time: `at` is the event time, `source` where it came from."""

    at: float
    source: TimeSource
    ingested_at: float

    @property
    def published(self) -> float | None:
        """The publication time when it is the event time, else None."""
        return self.at if self.source == "published" else None


def event_time(
    published_ts: float | None, now: float, *, max_skew_s: float, floor_ts: float
) -> EventTime:
    """The publication time when plausible, else the ingestion time `now`."""
    if published_ts is not None and floor_ts <= published_ts <= now + max_skew_s:
        return EventTime(published_ts, "published", now)
    return EventTime(now, "ingested", now)


@dataclass(frozen=True, slots=True)
class Span:
    """The clocks of a story or storyline: its dated articles' publication span (None when it
    has none) and the newest ingestion time of any of its articles."""

    first_published: float | None
    last_published: float | None
    last_ingested: float

    @classmethod
    def of(cls, t: EventTime) -> Span:
        return cls(t.published, t.published, t.ingested_at)

    def admits(self, t: EventTime, window_s: float) -> bool:
        """Whether an article at `t` is within `window_s` of this span, like with like."""
        p = t.published
        if p is not None and self.first_published is not None and self.last_published is not None:
            return self.first_published - window_s <= p <= self.last_published + window_s
        return abs(t.ingested_at - self.last_ingested) <= window_s

    def gap(self, t: EventTime) -> float:
        """Seconds between `t` and the span, like with like (0 inside it)."""
        p = t.published
        if p is not None and self.first_published is not None and self.last_published is not None:
            return max(self.first_published - p, p - self.last_published, 0.0)
        return abs(t.ingested_at - self.last_ingested)

    def joined(self, t: EventTime) -> Span:
        """The span once an article at `t` has joined."""
        p = t.published
        return Span(
            earliest(self.first_published, p),
            latest(self.last_published, p),
            max(self.last_ingested, t.ingested_at),
        )

    def merged(self, other: Span) -> Span:
        """The span of two stories (or storylines) made one."""
        return Span(
            earliest(self.first_published, other.first_published),
            latest(self.last_published, other.last_published),
            max(self.last_ingested, other.last_ingested),
        )


def earliest(a: float | None, b: float | None) -> float | None:
    """The earlier of two times, either of which may be unknown (None)."""
    return b if a is None else a if b is None else min(a, b)


def latest(a: float | None, b: float | None) -> float | None:
    """The later of two times, either of which may be unknown (None)."""
    return b if a is None else a if b is None else max(a, b)
