"""Operator corrections on the Redis store (the `Operator` interface, operator_base.py).

Each correction is one RedisStore transaction: reads under the store's lock, then every write
in one fenced MULTI, so ingests never see half a merge. The index records move with a Lua
script (MOVE in redis_scripts.py) that renumbers the article ordinals of near-duplicate
records as the story lists change; the log is a capped list and "not new" judgements expire
with their story's data.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from worker.errors import CorrectionRefused
from worker.pipeline.contribution import contribution, without_terms
from worker.store.operator_base import novel_units, split_story_id
from worker.store.redis_lock import translated

if TYPE_CHECKING:
    from redis.client import Pipeline

    from worker.store.redis_store import RedisStore

__all__ = ["RedisOperator"]

MAX_LOG = 10_000  # corrections kept in the log


class RedisOperator:
    """Corrections on one RedisStore, each one transaction, logged in `op:log`."""

    def __init__(self, store: RedisStore):
        self.store = store
        self.r = store.r
        self.keys = store.keys
        self.ttl = store.retention_ms

    # -- reads (inside the transaction, before any write) -------------------------------------
    def _story(self, story_id: str) -> dict[str, Any]:
        try:
            return self.store.story_summary(story_id)
        except KeyError:
            raise CorrectionRefused("not_found", f"no story {story_id!r}") from None

    # -- writes (buffered) ----------------------------------------------------------------------
    def log(self, action: str, result: dict[str, Any], at: float) -> None:
        doc = json.dumps({"action": action, "at": at, **result}, sort_keys=True)

        def op(p: Pipeline[bytes]) -> None:
            p.lpush(self.keys.operator_log, doc)
            p.ltrim(self.keys.operator_log, 0, MAX_LOG - 1)

        self.store.write(op)

    def _put_rows(self, p: Pipeline[bytes], rows: dict[str, dict[str, Any]]) -> None:
        for a, row in rows.items():
            p.hset(self.keys.article(a), "row", json.dumps(row))
            p.pexpire(self.keys.article(a), self.ttl)

    def _keep_story(self, p: Pipeline[bytes], story_id: str, seq: int, at: float) -> None:
        """Every key of the story lives `retention_s` from now, like a touched story's."""
        k = self.keys
        for key in (k.story(story_id), k.story_articles(story_id), k.story_fact_keys(story_id),
                    k.story_events(story_id)):  # fmt: skip
            p.pexpire(key, self.ttl)
        p.zadd(k.story_expiry, {str(seq): at + self.ttl / 1000})

    # -- the corrections ------------------------------------------------------------------------
    @translated
    def merge(
        self, source_id: str, target_id: str, *, now: float, by_person: bool = True
    ) -> dict[str, Any]:
        if source_id == target_id:
            raise CorrectionRefused("invalid", "a story cannot be merged into itself")
        k, store = self.keys, self.store
        with store.transaction():
            src, dst = self._story(source_id), self._story(target_id)
            src_ids = store.story_article_ids(source_id)
            dst_ids = store.story_article_ids(target_id)
            moved = {
                a: {**row, "story_id": target_id} for a, row in store.article_rows(src_ids).items()
            }
            facts = self.r.hgetall(k.story_fact_keys(source_id))
            events = self.r.lrange(k.story_events(source_id), 0, -1)
            terms: dict[str, int] = json.loads(dst["terms"])
            for term, n in json.loads(src["terms"]).items():
                terms[term] = terms.get(term, 0) + n
            last_dev = [t for t in (src["last_development_at"], dst["last_development_at"]) if t]
            story = {
                "terms": json.dumps(terms, sort_keys=True),
                "created_at": repr(min(src["created_at"], dst["created_at"])),
                "last_seen_at": repr(max(src["last_seen_at"], dst["last_seen_at"])),
                "article_count": src["article_count"] + dst["article_count"],
                "development_count": src["development_count"] + dst["development_count"],
            }
            if last_dev:
                story["last_development_at"] = repr(max(last_dev))
            activity = max(last_dev) if last_dev else min(src["created_at"], dst["created_at"])

            def op(p: Pipeline[bytes]) -> None:
                self._put_rows(p, moved)
                if src_ids:
                    p.rpush(k.story_articles(target_id), *src_ids)
                for key, article in facts.items():
                    p.hsetnx(k.story_fact_keys(target_id), key, article)
                if events:
                    p.rpush(k.story_events(target_id), *events)
                p.hset(k.story(target_id), mapping=story)
                p.delete(k.story(source_id), k.story_articles(source_id),
                         k.story_fact_keys(source_id), k.story_events(source_id))  # fmt: skip
                p.zrem(k.stories_by_activity, source_id)
                p.zadd(k.stories_by_activity, {target_id: activity})
                p.zadd(k.index_seen, {str(dst["seq"]): float(story["last_seen_at"])}, gt=True)
                self._keep_story(p, target_id, dst["seq"], now)

            store.write(op)
            store.write(
                store.index.move(src["seq"], dst["seq"], target_id, mode="merge", n=len(dst_ids))
            )
            result = {"source": source_id, "target": target_id, "articles_moved": len(src_ids)}
            if by_person:
                self.log("merge", result, now)
                store.write(
                    lambda p: p.set(k.reviewed_by_person(target_id), repr(now), px=self.ttl)
                )
        return result

    @translated
    def split(
        self,
        article_id: str,
        *,
        now: float,
        from_story: str | None = None,
        by_person: bool = True,
    ) -> dict[str, Any]:
        k, store = self.keys, self.store
        with store.transaction():
            row = self.store.article_rows([article_id]).get(article_id)
            if row is None:
                raise CorrectionRefused("not_found", f"no article {article_id!r}")
            old = row["story_id"]
            if from_story is not None and old != from_story:
                raise CorrectionRefused(
                    "conflict", f"article {article_id!r} is in story {old!r}, not {from_story!r}"
                )
            ids = store.story_article_ids(old)
            if len(ids) < 2 or article_id not in ids:
                raise CorrectionRefused(
                    "conflict", f"article {article_id!r} is already alone in story {old!r}"
                )
            old_story = self._story(old)
            facts = self.r.hgetall(k.story_fact_keys(old))
            mine = [key for key, a in facts.items() if a.decode() == article_id]
            event_ids = self.r.lrange(k.story_events(old), 0, -1)
            docs = self.r.mget([k.event(e.decode()) for e in event_ids]) if event_ids else []
            my_events = [
                e for e, d in zip(event_ids, docs, strict=True)
                if d is not None and json.loads(d)["article"]["id"] == article_id
            ]  # fmt: skip
            new = split_story_id(article_id)
            terms, keys = contribution(row["text"])
            old_terms = without_terms(json.loads(old_story["terms"]), terms)
            seq = store.new_story(new, row["title"], row["ingested_at"])
            was_dev = row["status"] == "development"
            moved = {article_id: {**row, "story_id": new, "status": "new_story"}}

            def op(p: Pipeline[bytes]) -> None:
                self._put_rows(p, moved)
                p.hset(k.story(new), mapping={
                    "article_count": 1, "last_seen_at": repr(float(row["event_time"])),
                    "terms": json.dumps(terms, sort_keys=True),
                })  # fmt: skip
                p.zadd(k.index_seen, {str(seq): float(row["event_time"])})
                p.lrem(k.story_articles(old), 1, article_id)
                p.rpush(k.story_articles(new), article_id)
                # the new story knows every fact of its one article; the old one forgets
                # those the article brought first
                if mine:
                    p.hdel(k.story_fact_keys(old), *mine)
                if keys:
                    p.hset(k.story_fact_keys(new), mapping=dict.fromkeys(keys, article_id))
                for e in my_events:
                    p.lrem(k.story_events(old), 1, e)
                    p.rpush(k.story_events(new), e)
                p.hset(k.story(old), mapping={
                    "article_count": len(ids) - 1,
                    "development_count": old_story["development_count"] - was_dev,
                    "terms": json.dumps(old_terms, sort_keys=True),
                })  # fmt: skip
                self._keep_story(p, new, seq, now)

            store.write(op)
            store.write(
                store.index.move(old_story["seq"], seq, new, mode="split", n=ids.index(article_id))
            )
            result = {"article": article_id, "from_story": old, "story": new}
            if by_person:
                self.log("split", result, now)
        return result

    @translated
    def mark_not_new(self, event_id: str, *, now: float) -> dict[str, Any]:
        k, store = self.keys, self.store
        with store.transaction():
            doc = self.r.get(k.event(event_id))
            if doc is None:
                raise CorrectionRefused("not_found", f"no event {event_id!r}")
            event = json.loads(doc)
            if event["type"] != "story.new_development":
                raise CorrectionRefused(
                    "invalid", "only story.new_development events can be marked not new"
                )
            article_id = event["article"]["id"]
            row = self.store.article_rows([article_id]).get(article_id)
            story_id = row["story_id"] if row else event["story"]["id"]  # after merges: now
            units = novel_units(event)
            already = bool(self.r.exists(k.not_new(event_id)))
            result = {
                "event": event_id,
                "story": story_id,
                "article": article_id,
                "units": len(units),
                "already_marked": already,
            }
            if not already:
                judged = json.dumps({**result, "units": units, "at": now}, sort_keys=True)

                def op(p: Pipeline[bytes]) -> None:
                    p.set(k.not_new(event_id), judged, px=self.ttl)
                    if row is not None and row["status"] == "development":
                        self._put_rows(p, {article_id: {**row, "status": "duplicate"}})
                        p.hincrby(k.story(story_id), "development_count", -1)

                store.write(op)
                self.log("not_new", result, now)
        return result

    @translated
    def claim_review(self, story_id: str, *, now: float, ttl_s: float) -> bool:
        key = self.keys.review_claim(story_id)
        return bool(self.r.set(key, repr(now), nx=True, px=max(1, int(ttl_s * 1000))))

    @translated
    def release_review(self, story_id: str) -> None:
        self.r.delete(self.keys.review_claim(story_id))

    @translated
    def reviewed_by_person(self, story_id: str) -> bool:
        return bool(self.r.exists(self.keys.reviewed_by_person(story_id)))

    @translated
    def actions(self, *, limit: int = 100) -> list[dict[str, Any]]:
        return [json.loads(d) for d in self.r.lrange(self.keys.operator_log, 0, limit - 1)]
