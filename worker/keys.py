"""Every Redis key wirewatch uses, under one versioned prefix (`ww:v1:`), with why-comments.

Nothing else builds a key string: `RedisStore` and its Lua scripts get names from `Keys`.
"""

from __future__ import annotations

import hashlib

__all__ = ["LAYOUT_VERSION", "PREFIX", "Keys"]

# Bump when the layout below changes incompatibly: a new version starts an empty keyspace
# beside the old one instead of misreading it.
LAYOUT_VERSION = "v1"
PREFIX = f"ww:{LAYOUT_VERSION}:"


class Keys:
    """Key names of one store: `ww:v1:` plus an optional namespace (tests isolate with it)."""

    def __init__(self, namespace: str = ""):
        if ":" in namespace or any(c.isspace() for c in namespace):
            raise ValueError(f"namespace must not contain ':' or spaces, got {namespace!r}")
        self.prefix = PREFIX + (f"{namespace}:" if namespace else "")
        p = self.prefix

        # -- global, never expire ---------------------------------------------------------
        # hash: schema_version, index signature, index layout, doc_count. A store opened with
        # another signature or layout refuses, like the SQLite `meta` table.
        self.meta = p + "meta"
        # hash term -> document frequency: the IDF learned from the stream. It grows with the
        # vocabulary (sublinearly), not with the number of articles.
        self.doc_freqs = p + "df"
        # the one lock of the match-or-create transaction (SET NX PX, random token); a
        # commit WATCHes it, so a worker whose lock expired cannot commit
        self.lock = p + "lock"
        # counter giving stories their creation order (`seq`), as SQLite's rowid does
        self.story_seq = p + "seq:story"
        # counters giving storylines and articles theirs (ties in list_storylines, the order
        # of export_articles); scripts INCR them at commit, so they cost no round trip
        self.storyline_seq = p + "seq:storyline"
        self.article_seq = p + "seq:article"
        # zset story -> COALESCE(last_development_at, created_at): `wirewatch stories` order
        self.stories_by_activity = p + "stories"
        # zset storyline -> last_seen_at (its newest article's event time): the storylines
        # list's order and its `since` filter
        self.storylines_by_activity = p + "storylines"
        # zset storyline -> unix time its data keys expire; prune_index drops expired ones
        # from both storyline sorted sets (storylines are not in the LSH index)
        self.storyline_expiry = p + "expiry:storylines"
        # zset story seq -> unix time its data keys expire; the sweep in prune_index drops
        # expired stories from the index and the global sorted sets, so none grows unbounded
        self.story_expiry = p + "expiry"
        # stream of emitted events (fields id, type, story_id, payload), capped with
        # MAXLEN ~: consumers read it with consumer groups (docs/events.md)
        self.events = p + "events"
        # list of rejected inputs as JSON, newest first, capped with LTRIM
        self.rejections = p + "rejections"

        # -- LSH index: no TTL; prune_index is the only thing that removes entries --------
        # zset story seq -> last_seen_at of every indexed story, so the sweep finds the
        # stories past their window without scanning the index
        self.index_seen = p + "ix:seen"
        # fragments for the shard strings and per-story bookkeeping (redis_index.py); Lua
        # scripts append a shard number or story seq to them
        self.dup_shard_prefix = p + "ix:d:"
        self.story_shard_prefix = p + "ix:s:"
        self.index_story_prefix = p + "ix:st:"

        # -- data: expire retention_s after their story was last touched ------------------
        self.story_prefix = p + "st:"
        self.article_prefix = p + "a:"
        self.content_hash_prefix = p + "ch:"
        self.url_prefix = p + "url:"
        self.event_prefix = p + "ev:"
        # suffixes of a story's own keys (Lua scripts append them to story(id))
        self.articles_suffix = ":articles"
        self.fact_keys_suffix = ":facts"
        self.events_suffix = ":events"
        # a storyline's keys expire retention_s after it was last touched: every touch of one
        # of its stories touches it too and refreshes its three keys, so it outlives them
        self.storyline_prefix = p + "sl:"
        self.stories_suffix = ":stories"

        # -- webhooks (issue 5; worker/store/webhooks_redis.py) ---------------------------
        # set of endpoint ids; each endpoint is a hash under webhook_endpoint(id), no TTL
        self.webhook_endpoints = p + "wh:endpoints"
        self.webhook_endpoint_prefix = p + "wh:ep:"
        # zset delivery id -> when it is next due; a claim moves the score to its lease's end,
        # so a worker that dies holding a delivery gives it back by simply not finishing it
        self.webhook_due = p + "wh:due"
        # zsets delivery id -> created_at: every delivery, and those whose last attempt
        # failed (`webhooks deliveries [--failed]`); trimmed to the retention period
        self.webhook_deliveries = p + "wh:deliveries"
        self.webhook_failing = p + "wh:failing"
        # hash per delivery, and a list of its attempts (JSON); both expire retention_s
        # after the delivery is done (pending ones never expire)
        self.webhook_delivery_prefix = p + "wh:d:"
        self.webhook_attempts_suffix = ":attempts"

        # -- metrics shared by every process (worker/metrics_redis.py) --------------------
        # hash "<counter>|<label value>" -> count; hash "<stage>|<bucket index>" and
        # "<stage>|sum" -> the stage latency histogram. Small and bounded: one field per label
        # value (rejection reasons are a fixed vocabulary) and per stage bucket
        self.metrics_counters = p + "metrics:counters"
        self.metrics_latency = p + "metrics:latency"

        # -- operator corrections (worker/store/operator_redis.py) ------------------------
        # list of the corrections made, as JSON, newest first, capped with LTRIM
        self.operator_log = p + "op:log"
        # string per event judged "not new" (JSON); expires with the story's data
        self.not_new_prefix = p + "op:not-new:"
        # string per story a person merged (no review splits it again); expires with its data
        self.reviewed_prefix = p + "op:reviewed:"
        # string per story under review (SET NX PX): one review of a story at a time
        self.review_claim_prefix = p + "op:reviewing:"

        # -- feeds (issue 4; worker/store/feeds_redis.py, host_slots.py) ------------------
        # set of registered feed URLs; each feed is a hash under feed(url), no TTL
        self.feeds = p + "feeds"
        # zset feed URL -> next poll time of every feed not suspended: what is due
        self.feeds_due = p + "feeds:due"
        self.feed_prefix = p + "feed:"
        # the per-feed poll lock (SET NX PX, random token): one poller per feed at a time
        self.feed_lock_prefix = p + "feed-lock:"
        # entry keys (GUID, canonical URL) across feeds: "pending" while being ingested (PX
        # lease), "done" after; they expire feed_seen_ttl_s after a feed last listed them
        self.seen_entry_prefix = p + "seen:"
        # per host: zset lease token -> expiry (ms) of requests in flight, and the earliest
        # time (ms) the next request may start; shared by every worker (Celery's
        # rate_limit is per worker)
        self.host_prefix = p + "host:"
        # -- end feeds

    def dup_shard(self, n: int) -> str:
        """String of fixed-size records: near-duplicate bands -> (story, article ordinal)."""
        return f"{self.dup_shard_prefix}{n}"

    def story_shard(self, n: int) -> str:
        """String of fixed-size records: story bands -> story."""
        return f"{self.story_shard_prefix}{n}"

    def index_story(self, seq: int) -> str:
        """Story `seq`'s record count, id and the shards it wrote to (redis_index.py): how
        queries name a story and what prune must undo. Lives as long as the story's data."""
        return f"{self.index_story_prefix}{seq}"

    def story(self, story_id: str) -> str:
        """Hash: the story row (title, times, counts, seq, centroid terms as JSON)."""
        return self.story_prefix + story_id

    def story_articles(self, story_id: str) -> str:
        """List of the story's article ids in the order they joined."""
        return self.story(story_id) + self.articles_suffix

    def story_fact_keys(self, story_id: str) -> str:
        """Hash fact key -> article that first brought it: what novelty compares against."""
        return self.story(story_id) + self.fact_keys_suffix

    def story_events(self, story_id: str) -> str:
        """List of the story's event ids, oldest first (`wirewatch events --story`)."""
        return self.story(story_id) + self.events_suffix

    def storyline(self, storyline_id: str) -> str:
        """Hash: the storyline row (title, times, counts, seq, centroid terms as JSON)."""
        return self.storyline_prefix + storyline_id

    def storyline_stories(self, storyline_id: str) -> str:
        """Set of the storyline's story ids (they may have expired before it)."""
        return self.storyline(storyline_id) + self.stories_suffix

    def storyline_fact_keys(self, storyline_id: str) -> str:
        """Hash fact key -> article that first brought it to the storyline: what novelty
        compares against (a storyline holds every fact of its stories)."""
        return self.storyline(storyline_id) + self.fact_keys_suffix

    def fact_keys(self, owner_id: str) -> str:
        """The fact keys hash of a story (`s_` id) or a storyline (`l_` id)."""
        if owner_id.startswith("l_"):
            return self.storyline_fact_keys(owner_id)
        return self.story_fact_keys(owner_id)

    def article(self, article_id: str) -> str:
        """Hash: the article row as JSON, its near-duplicate signature, its sentences and its
        `seq` (ingest order)."""
        return self.article_prefix + article_id

    def content_hash(self, content_hash: str) -> str:
        """String: the article id holding these exact words (idempotent ingest)."""
        return self.content_hash_prefix + content_hash

    def url(self, canonical_url: str) -> str:
        """String: the newest article id at this canonical URL (revisions). URLs can be
        long, so the key holds their sha1, as the refresh script computes it too."""
        return self.url_prefix + hashlib.sha1(canonical_url.encode("utf-8")).hexdigest()

    def event(self, event_id: str) -> str:
        """String: the event document; its existence makes add_event idempotent."""
        return self.event_prefix + event_id

    def reviewed_by_person(self, story_id: str) -> str:
        """String: the time a person merged into the story; story reviews leave it alone."""
        return self.reviewed_prefix + story_id

    def review_claim(self, story_id: str) -> str:
        """String: held while a worker reviews the story; expires if the worker dies."""
        return self.review_claim_prefix + story_id

    def not_new(self, event_id: str) -> str:
        """String: an operator's "not new" judgement of a development event (JSON)."""
        return self.not_new_prefix + event_id

    # -- webhooks (issue 5) -------------------------------------------------------------------
    def webhook_endpoint(self, endpoint_id: str) -> str:
        """Hash: one webhook endpoint (url, secrets, event types, state)."""
        return self.webhook_endpoint_prefix + endpoint_id

    def webhook_delivery(self, delivery_id: str) -> str:
        """Hash: one delivery of one event to one endpoint (state, attempts, lease)."""
        return self.webhook_delivery_prefix + delivery_id

    def webhook_attempts(self, delivery_id: str) -> str:
        """List of a delivery's attempts as JSON, oldest first: the delivery log."""
        return self.webhook_delivery(delivery_id) + self.webhook_attempts_suffix

    # -- feeds (issue 4) --------------------------------------------------------------------
    def feed(self, url: str) -> str:
        """Hash: one feed's registry row (the URL's sha1 in the key: URLs can be long)."""
        return self.feed_prefix + _sha1(url)

    def feed_lock(self, url: str) -> str:
        """String: the token of whoever is polling this feed."""
        return self.feed_lock_prefix + _sha1(url)

    def seen_entry(self, entry_key: str) -> str:
        """String "pending" or "done": an entry key (GUID or URL) claimed by a poll."""
        return self.seen_entry_prefix + _sha1(entry_key)

    def host_leases(self, host: str) -> str:
        """Zset lease token -> expiry (ms): requests in flight to `host`."""
        return f"{self.host_prefix}{host}:leases"

    def host_next(self, host: str) -> str:
        """String: the earliest time (ms, Redis clock) the next request to `host` may start."""
        return f"{self.host_prefix}{host}:next"


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
