"""Settings: one frozen object, built once from the environment at process start."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

__all__ = ["Settings", "default_db_path"]

ENV_PREFIX = "WIREWATCH_"


def default_db_path(environ: Mapping[str, str] | None = None) -> str:
    """`$XDG_DATA_HOME/wirewatch/wirewatch.db`, else `~/.local/share/wirewatch/wirewatch.db`."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "wirewatch" / "wirewatch.db")


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of wirewatch. Defaults are measured; docs/tuning.md says how."""

    db_path: str = dataclasses.field(default_factory=default_db_path)
    # -- distributed mode: set redis_url and the store, the queue and the events stream live
    # in Redis (the Celery broker and result backend too); keys under ww:v1:<namespace>
    redis_url: str | None = None
    redis_namespace: str = ""
    redis_retention_s: int = 30 * 86400  # a story's data expires this long after its last article
    task_max_retries: int = 5  # transient failures (store busy, Redis down, fetch 5xx) retried
    task_visibility_timeout_s: int = 3600  # an unacked task is redelivered after this long
    task_result_ttl_s: int = 86400  # how long `submit --wait` results stay readable

    # -- signatures. num_perm and seed define the index: changing them means a new index.
    num_perm: int = 128
    minhash_seed: int = 1

    # -- near-duplicates: MinHash over word 3-shingles (syndicated or lightly edited copies)
    dup_lsh_threshold: float = 0.5  # LSH candidate threshold (estimated Jaccard)
    dup_min_jaccard: float = 0.6  # verified Jaccard that makes a copy join its original's story

    # -- same story, other outlet: MinHash over salient terms, verified by TF-IDF cosine
    salient_terms: int = 40  # terms per article in the story signature
    story_lsh_threshold: float = 0.1  # used only when story_lsh_rows is 0 (datasketch's b, r)
    # r=1 bands: a band matches when one permutation's minimum salient term is shared, so
    # P(candidate) = 1-(1-J)^b: J=0.05 -> 0.96 at b=64 (64x2 bands gave 0.15: lost recall)
    story_lsh_bands: int = 64
    story_lsh_rows: int = 1
    story_candidates: int = 10  # stories (most band hits first) verified by cosine per article
    # an article joins the candidate story most likely to be its event when that probability
    # (worker/pipeline/matching.py: cosine, names, numbers, dates) reaches this; measured on ECB+
    story_min_probability: float = 0.15
    story_window_s: int = 4 * 86400  # a story inactive for longer no longer takes articles
    # -- storylines (worker/pipeline/storylines.py): the stories of one topic over weeks
    storyline_window_s: int = 21 * 86400  # a storyline inactive for longer takes no stories
    # names-and-places cosine an article needs with a storyline to join it, and that two
    # storylines' centroids need to be merged as one topic; measured on merged Timeline17
    # (bench/storylines.py)
    storyline_min_similarity: float = 0.065
    storyline_merge_similarity: float = 0.3
    # log-odds added to a candidate story in the article's storyline (and its figures and
    # dates are not held against it); measured with ECB+ and Timeline17 (docs/benchmarks.md)
    storyline_story_bonus: float = 2.0
    # -- event time (worker/pipeline/timing.py): a publication time is believed when it is at
    # most this far in the future and not before the floor; else the ingestion time is used
    published_max_skew_s: int = 900
    published_floor: str = "1990-01-01"
    # a story that grows to 4, 6, 8, 11, ... 64 articles is reviewed for a second event
    # (worker/pipeline/review.py): its articles are moved out when the best normalised cut of
    # the story's article graph is at most this (0 turns reviews off); measured on ECB+
    review_max_cut: float = 0.55
    review_min_group: int = 3  # articles each side of the cut needs

    # -- novelty
    min_new_weight: float = 2.0  # new fact units (weighted) an article needs to be a development
    min_novelty: float = 0.03  # share of the article's fact weight that must be new
    max_event_facts: int = 25  # novel sentences listed in one event (keeps payloads small)

    # -- fetching (feeds and article pages)
    fetch_user_agent: str | None = None  # None: "wirewatch/<version> (+<project url>)"
    fetch_connect_timeout_s: float = 5.0
    fetch_read_timeout_s: float = 15.0  # per read: a server silent this long is given up on
    fetch_deadline_s: float = 30.0  # whole fetch, redirects included: a slow drip stops here
    fetch_max_bytes: int = 10_000_000  # after decompression: a gzip bomb stops here
    fetch_max_redirects: int = 5  # each hop is checked like the first
    # CIDRs (comma-separated) a fetch may reach although private, loopback or link-local
    allow_private_networks: str = ""

    # -- webhooks (docs/webhooks.md): Standard Webhooks delivery; due retries live in the store
    webhook_timeout_s: float = 15.0  # an attempt succeeds only on a 2xx within this
    # seconds between attempts, comma-separated: the Standard Webhooks schedule (~3 days)
    webhook_retry_schedule_s: str = "5,300,1800,7200,18000,36000,50400,72000,86400"
    webhook_retry_jitter: float = 0.2  # each delay scaled by a random factor in [1-j, 1+j]
    webhook_disable_after_s: int = 5 * 86400  # an endpoint failing this long is disabled

    # -- feeds and polling
    feed_min_interval_s: int = 300  # adaptive polling: never more often than this (5 min)...
    feed_max_interval_s: int = 86400  # ...nor less often than this (a day), like Miniflux
    feed_max_failures: int = 3  # consecutive failed polls that suspend a feed (`feeds resume`)
    # a seen entry's GUID and URL are remembered this long after the feed last listed it
    feed_seen_ttl_s: int = 180 * 86400
    fetch_host_concurrency: int = 2  # requests in flight to one host, across all workers
    fetch_host_interval_s: float = 1.0  # least time between two requests starting on one host

    # -- HTTP API (issue 6; worker/api/): `wirewatch serve`
    api_token: str = ""  # bearer token for writes (and reads); empty: every write answers 503
    api_open_reads: int = 0  # 1: GET endpoints and the dashboard need no token
    api_max_body_bytes: int = 10_000_000  # a larger request body is refused with 413
    api_ingest_concurrency: int = 2  # ingests the API runs at once, off its event loop
    api_ingest_backlog: int = 32  # requests allowed to wait for one; more get 503 busy

    # -- input limits
    max_input_bytes: int = 10_000_000  # per article: a JSON Lines file is read line by line
    max_json_depth: int = 32  # deeper JSON input is rejected (too_deep), before it is parsed
    max_field_chars: int = 10_000  # a longer url/title/published_at/source: field_too_long
    # a one-line wire brief is news; trafilatura rejects junk pages itself
    min_article_chars: int = 40
    extract_cache_reset_every: int = 200  # trafilatura's caches grow ~1 MB per page (#216)

    def __post_init__(self) -> None:
        for name in ("dup_lsh_threshold", "dup_min_jaccard", "story_lsh_threshold"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {v!r}")
        for name in (
            "story_min_probability", "min_novelty", "storyline_min_similarity",
            "storyline_merge_similarity",
        ):  # fmt: skip
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {v!r}")
        if self.num_perm < 16 or self.num_perm > 1024:
            raise ValueError(f"num_perm must be in [16, 1024], got {self.num_perm!r}")
        for name in (
            "salient_terms", "story_window_s", "max_input_bytes", "max_event_facts",
            "storyline_window_s", "max_json_depth", "max_field_chars", "api_ingest_concurrency",
            "api_ingest_backlog",
            "redis_retention_s", "task_visibility_timeout_s", "task_result_ttl_s",
        ):  # fmt: skip
            v = getattr(self, name)
            if v <= 0:
                raise ValueError(f"{name} must be positive, got {v!r}")
        if self.story_lsh_bands <= 0 or self.story_lsh_rows < 0 or self.story_candidates <= 0:
            raise ValueError(
                "story_lsh_bands and story_candidates must be positive and story_lsh_rows >= 0"
            )
        if self.story_lsh_bands * self.story_lsh_rows > self.num_perm:
            raise ValueError(
                f"story_lsh_bands * story_lsh_rows must be <= num_perm={self.num_perm}, got "
                f"{self.story_lsh_bands} * {self.story_lsh_rows}"
            )
        if self.review_max_cut < 0 or self.review_min_group < 1:
            raise ValueError("review_max_cut must be >= 0 and review_min_group >= 1")
        if self.min_new_weight < 0 or self.min_article_chars < 0:
            raise ValueError("min_new_weight and min_article_chars must be >= 0")
        for name in ("fetch_connect_timeout_s", "fetch_read_timeout_s", "fetch_deadline_s"):
            v = getattr(self, name)
            if not v > 0:
                raise ValueError(f"{name} must be positive, got {v!r}")
        if self.fetch_max_bytes <= 0 or self.fetch_max_redirects < 0:
            raise ValueError(
                f"fetch_max_bytes must be positive and fetch_max_redirects >= 0, got "
                f"{self.fetch_max_bytes!r} and {self.fetch_max_redirects!r}"
            )
        if self.fetch_user_agent is not None and not self.fetch_user_agent.strip():
            raise ValueError("fetch_user_agent must not be blank")
        if not 0 < self.feed_min_interval_s <= self.feed_max_interval_s:
            raise ValueError(
                f"feed_min_interval_s must be positive and <= feed_max_interval_s, got "
                f"{self.feed_min_interval_s!r} and {self.feed_max_interval_s!r}"
            )
        for name in ("feed_max_failures", "feed_seen_ttl_s", "fetch_host_concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if not 0 <= self.fetch_host_interval_s <= 3600:
            raise ValueError(
                f"fetch_host_interval_s must be in [0, 3600], got {self.fetch_host_interval_s!r}"
            )
        if self.published_max_skew_s < 0:
            raise ValueError(f"published_max_skew_s must be >= 0, got {self.published_max_skew_s!r}")
        self.published_floor_ts  # noqa: B018 -- parse now: a bad date fails at boot
        self.allowed_networks  # noqa: B018 -- parse now: a bad CIDR fails at boot
        _check_webhooks(self)  # -- webhooks: a bad schedule fails at boot too

    @property
    def published_floor_ts(self) -> float:
        """`published_floor` (an ISO date or date-time, UTC unless it says) as Unix time."""
        try:
            floor = datetime.fromisoformat(self.published_floor)
        except ValueError:
            raise ValueError(
                f"published_floor must be an ISO date such as 1990-01-01, got "
                f"{self.published_floor!r}"
            ) from None
        return (floor if floor.tzinfo else floor.replace(tzinfo=UTC)).timestamp()

    @property
    def allowed_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """`allow_private_networks` parsed: the networks a fetch may reach although not public."""
        networks = []
        for part in self.allow_private_networks.split(","):
            if not part.strip():
                continue
            try:
                networks.append(ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"allow_private_networks must be comma-separated CIDRs such as "
                    f"127.0.0.0/8,10.1.0.0/16, got {part.strip()!r}"
                ) from None
        return tuple(networks)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build from `WIREWATCH_*` variables (e.g. `WIREWATCH_DB`, `WIREWATCH_STORY_WINDOW_S`).

        Every field maps to `WIREWATCH_<FIELD>`; `db_path` also reads `WIREWATCH_DB`.
        Explicit keyword overrides (from CLI options) win over the environment.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if f.name == "db_path":
                raw = env.get(ENV_PREFIX + "DB", raw)
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, f.type, raw)
        if "db_path" not in values:
            values["db_path"] = default_db_path(env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _coerce(name: str, type_: Any, raw: str) -> Any:
    type_name = type_ if isinstance(type_, str) else getattr(type_, "__name__", str(type_))
    try:
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name.upper()} must be a number, got {raw!r}") from None
    return raw


# -- webhooks -------------------------------------------------------------------------------
def parse_retry_schedule(text: str) -> tuple[float, ...]:
    """`"5,300,1800"` -> (5.0, 300.0, 1800.0): the delays before the 2nd, 3rd... attempts."""
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        delays = ()
    if not delays or any(not d > 0 for d in delays):
        raise ValueError(
            f"webhook_retry_schedule_s must be comma-separated positive seconds such as "
            f"5,300,1800, got {text!r}"
        )
    return delays


def _check_webhooks(s: Settings) -> None:
    parse_retry_schedule(s.webhook_retry_schedule_s)
    if not s.webhook_timeout_s > 0 or not s.webhook_disable_after_s > 0:
        raise ValueError(
            f"webhook_timeout_s and webhook_disable_after_s must be positive, got "
            f"{s.webhook_timeout_s!r} and {s.webhook_disable_after_s!r}"
        )
    if not 0 <= s.webhook_retry_jitter < 1:
        raise ValueError(f"webhook_retry_jitter must be in [0, 1), got {s.webhook_retry_jitter!r}")
