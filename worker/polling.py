"""Polling one feed: conditional GET, new entries claimed across feeds, pages fetched, ingested.

The use case behind `wirewatch poll`/`watch` (worker/poller.py) and the Celery feed tasks; the
store, the registry, the HTTP client and the host limiter are passed in.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import httpx

from worker.errors import FetchFailed, IngestError, PermanentError, TransientError
from worker.fetch import FEED_ACCEPT, FetchResult, fetch
from worker.fetch.hosts import HostLimiter
from worker.ingest import Pipeline
from worker.models import IngestResult
from worker.pages import page_document
from worker.pipeline.analysis import parse_time
from worker.pipeline.feeds import FeedEntry, ParsedFeed, entry_document, entry_link, parse_feed
from worker.pipeline.schedule import (
    DEFAULT_INTERVAL_S,
    adaptive_interval_s,
    failure_delay_s,
    next_poll_at,
)
from worker.pipeline.urls import canonical_url
from worker.store.base import Store
from worker.store.feeds_base import Feed, FeedRegistry

__all__ = ["POLL_HOLD_S", "entry_keys", "poll_feed", "poll_url"]

logger = logging.getLogger(__name__)

# a feed taken for polling is not handed out again, nor polled by another worker (its lock),
# for this long: a poll fetches one page per new entry, a second or more apart per host
POLL_HOLD_S = 900.0


@dataclass(frozen=True, slots=True)
class _Poll:
    feed: Feed
    pipeline: Pipeline
    store: Store
    registry: FeedRegistry
    client: httpx.Client
    limiter: HostLimiter
    now: float
    source: str | None = None  # the feed's title, once parsed
    # pages that several of the feed's entries point into (`page#comment-1`, `#comment-2`):
    # each of those entries is its own part of the page, which its feed content carries
    shared_pages: Counter[str] = field(default_factory=Counter)


def poll_url(
    url: str,
    *,
    pipeline: Pipeline,
    store: Store,
    registry: FeedRegistry,
    client: httpx.Client,
    limiter: HostLimiter,
    now: float,
) -> list[IngestResult] | None:
    """`poll_feed` under the feed's lock; None when another poller holds it. A feed removed
    or suspended meanwhile gives no results."""
    token = registry.lock(url, now=now, ttl_s=POLL_HOLD_S)
    if token is None:
        logger.info("feed %s is being polled elsewhere; skipped", url)
        return None
    try:
        feed = registry.get(url)
        if feed is None or feed.suspended:
            return []
        return poll_feed(
            feed,
            pipeline=pipeline,
            store=store,
            registry=registry,
            client=client,
            limiter=limiter,
            now=now,
        )
    finally:
        registry.unlock(url, token)


def poll_feed(
    feed: Feed,
    *,
    pipeline: Pipeline,
    store: Store,
    registry: FeedRegistry,
    client: httpx.Client,
    limiter: HostLimiter,
    now: float,
) -> list[IngestResult]:
    """Poll one feed; one IngestResult per new entry, in publication order.

    A feed that cannot be fetched or parsed gives one rejected result named after the feed
    (recorded, counted towards suspension). A 304 gives none. A new entry's page is fetched
    and ingested; when that fails or holds no article, the feed's own content or summary is
    ingested instead and the result's `input` says so.

    Raises:
        TransientError: the store or a host's slots were busy; nothing of this poll was
            recorded, its claimed entries are given back, and the feed is polled again once
            its hold (`POLL_HOLD_S`) passes.
    """
    s = pipeline.settings
    ctx = _Poll(feed, pipeline, store, registry, client, limiter, now)
    try:
        with limiter.slot(feed.url):
            got = fetch(
                feed.url,
                settings=s,
                etag=feed.etag,
                last_modified=feed.last_modified,
                client=client,
                accept=FEED_ACCEPT,
            )
        parsed = None
        if not got.not_modified:
            content_type = got.headers.get("content-type")
            parsed = parse_feed(got.body, url=got.url, content_type=content_type)
    except (FetchFailed, PermanentError) as exc:
        return [_failed(ctx, exc)]
    except TransientError:
        raise
    except Exception as exc:  # a failure of ours on this feed: recorded, the others go on
        logger.exception("feed %s: polling failed", feed.url)
        return [_failed(ctx, _internal(exc))]
    results = []
    if parsed is not None:
        pages = Counter(canonical_url(e.raw_link) for e in parsed.entries if e.fragment)
        shared = Counter({page: n for page, n in pages.items() if page and n > 1})
        ctx = replace(ctx, source=parsed.title, shared_pages=shared)
        for entry in _chronological(parsed.entries):
            result = _entry(ctx, entry)
            if result is not None:
                results.append(result)
    _succeeded(ctx, got, parsed, len(results))
    return results


def entry_keys(feed_url: str, entry: FeedEntry) -> list[str]:
    """The keys an entry is known by across feeds: its GUID and its URL key (the canonical
    URL, with the link's fragment when that names a part of the page: `entry_link`).

    A GUID that names itself globally (a URL, `urn:`, `tag:`) is the same entry in any feed;
    a bare one ("1234") is unique only within its feed, so it is scoped to the feed's URL.
    An entry with neither is known by its feed and a hash of its title and text.
    """
    keys = []
    if entry.guid:
        keys.append("guid:" + (entry.guid if ":" in entry.guid else f"{feed_url}#{entry.guid}"))
    if entry.link:
        keys.append("url:" + entry.link)
    if not keys:
        text = "\n".join(x or "" for x in (entry.title, entry.summary, entry.content))
        keys.append(f"entry:{feed_url}#{hashlib.sha1(text.encode()).hexdigest()}")
    return keys


def _entry(ctx: _Poll, entry: FeedEntry) -> IngestResult | None:
    """Claim a new entry and ingest it; None when it is not new."""
    s = ctx.pipeline.settings
    keys = entry_keys(ctx.feed.url, entry)
    if not ctx.registry.claim_entry(keys, now=ctx.now, ttl_s=s.feed_seen_ttl_s):
        return None
    done = False
    try:
        try:
            result = _ingest_entry(ctx, entry, keys)
        except (TransientError, KeyboardInterrupt):
            raise
        except Exception as exc:  # a failure of ours on this entry: recorded, never retried
            logger.exception("%s: ingesting the entry failed", entry.raw_link or entry.guid)
            origin = f"{ctx.feed.url}#{entry.guid or entry.raw_link or entry.title}"
            result = ctx.pipeline.reject(origin, _internal(exc), ctx.store, now=ctx.now)
        done = True
    finally:  # anything unfinished (a busy store, Ctrl-C) is given back for the next poll
        if done:
            ctx.registry.confirm_entry(keys, now=ctx.now, ttl_s=s.feed_seen_ttl_s)
        else:
            ctx.registry.release_entry(keys)
    return result


def _ingest_entry(ctx: _Poll, entry: FeedEntry, keys: list[str]) -> IngestResult | None:
    """The entry's page, else its feed content. Adds the final URL's key to `keys`."""
    s = ctx.pipeline.settings
    if not entry.raw_link:
        return _from_feed(ctx, entry, "the entry has no link")
    page_url = canonical_url(entry.raw_link) if entry.fragment else None
    if page_url and page_url in ctx.shared_pages and (entry.content or entry.summary):
        n = ctx.shared_pages[page_url]
        return _from_feed(ctx, entry, f"#{entry.fragment} is one of {n} parts of one page")
    try:
        with ctx.limiter.slot(entry.raw_link):
            page = fetch(entry.raw_link, settings=s, client=ctx.client)
    except (FetchFailed, PermanentError) as exc:
        return _from_feed(ctx, entry, _page_failure(exc))
    final = entry_link(page.url, entry.fragment)  # a redirect keeps the link's fragment
    if final and final != entry.link:  # a redirect: the article may have come another way
        final_key = "url:" + final
        if not ctx.registry.claim_entry([final_key], now=ctx.now, ttl_s=s.feed_seen_ttl_s):
            logger.info("%s: already ingested as %s", entry.raw_link, page.url)
            return None
        keys.append(final_key)
    try:
        doc = page_document(page, origin=entry.raw_link)
    except PermanentError as exc:
        return _from_feed(ctx, entry, _page_failure(exc))
    doc = replace(
        doc,
        title=entry.title or doc.title,
        published_at=entry.published_at,
        source=entry.source or ctx.source,
        author=entry.author,
    )
    result = ctx.pipeline.ingest(doc, ctx.store, now=ctx.now)
    if result.status == "rejected":  # recorded as such; the feed's text may still do
        reason = (result.error or "").split(":", 1)[0]
        return _from_feed(ctx, entry, f"page holds no article: {reason}")
    return result


def _from_feed(ctx: _Poll, entry: FeedEntry, why: str) -> IngestResult:
    """Ingest the entry's own content or summary; its `input` names the feed, entry and why."""
    what = "feed content" if entry.content else "feed summary"
    origin = f"{ctx.feed.url}#{entry.guid or entry.raw_link or entry.title} ({what}: {why})"
    logger.warning("%s: %s; ingesting the %s instead", entry.raw_link or origin, why, what)
    try:
        doc = entry_document(entry, origin=origin)
    except PermanentError as exc:
        return ctx.pipeline.reject(origin, exc, ctx.store, now=ctx.now)
    doc = replace(doc, source=entry.source or ctx.source)
    return ctx.pipeline.ingest(doc, ctx.store, now=ctx.now)


def _internal(exc: Exception) -> PermanentError:
    """A failure of ours (not the input's), as a rejection that says so."""
    message = f"internal error: {type(exc).__name__}: {str(exc)[:200]}"
    return PermanentError(message, reason="internal_error")


def _page_failure(exc: IngestError) -> str:
    status = getattr(exc, "status_code", None)
    return f"page returned {status}" if status else f"page not usable: {exc.reason}"


def _succeeded(ctx: _Poll, got: FetchResult, parsed: ParsedFeed | None, new: int) -> None:
    s, feed = ctx.pipeline.settings, ctx.feed
    pace = feed.poll_interval_s
    if parsed is not None:  # the feed's own pace: its entry frequency, and its <ttl>
        published = [t for e in parsed.entries if (t := parse_time(e.published_at)) is not None]
        adaptive = adaptive_interval_s(
            published, now=ctx.now, min_s=s.feed_min_interval_s, max_s=s.feed_max_interval_s
        )
        pace = max(adaptive, min(parsed.ttl_s or 0, s.feed_max_interval_s))
    interval = feed.interval_s or pace or DEFAULT_INTERVAL_S
    at = next_poll_at(
        ctx.now,
        interval,
        retry_after_s=got.retry_after_s,
        max_age_s=got.max_age_s,
        max_s=s.feed_max_interval_s,
    )
    ctx.registry.record_success(
        feed.url,
        at=ctx.now,
        next_poll_at=at,
        poll_interval_s=pace,
        etag=got.etag,
        last_modified=got.last_modified,
        title=parsed.title if parsed else None,
        new_entries=new,
    )
    logger.info(
        "feed %s: %s, %d new entries, next poll in %.0fs",
        feed.url,
        "not modified" if parsed is None else "fetched",
        new,
        at - ctx.now,
    )


def _failed(ctx: _Poll, exc: IngestError) -> IngestResult:
    s, feed = ctx.pipeline.settings, ctx.feed
    delay = failure_delay_s(
        feed.consecutive_failures + 1, min_s=s.feed_min_interval_s, max_s=s.feed_max_interval_s
    )
    retry_after = exc.retry_after_s if isinstance(exc, FetchFailed) else None
    at = next_poll_at(ctx.now, delay, retry_after_s=retry_after, max_s=s.feed_max_interval_s)
    updated = ctx.registry.record_failure(
        feed.url, at=ctx.now, error=str(exc), next_poll_at=at, max_failures=s.feed_max_failures
    )
    result = ctx.pipeline.reject(feed.url, exc, ctx.store, now=ctx.now)
    if updated is not None and updated.suspended:
        note = f"feed suspended after {updated.consecutive_failures} consecutive failures"
        logger.warning("feed %s: %s; `wirewatch feeds resume` lifts it", feed.url, note)
        return replace(result, error=f"{result.error} ({note})")
    return result


def _chronological(entries: Iterable[FeedEntry]) -> list[FeedEntry]:
    """Oldest first, so each is judged against what came before; feeds list newest first,
    so undated entries keep their reversed feed order, after the dated ones."""
    return sorted(reversed(list(entries)), key=lambda e: e.published_at or "~")
