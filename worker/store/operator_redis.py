"""Operator corrections on the Redis store (the `Operator` interface, operator_base.py).

Each correction is one RedisStore transaction: reads under the store's lock, then every write
in one fenced MULTI, so ingests never see half a merge. The index records move with a Lua
script (MOVE in redis_scripts.py) that renumbers the article ordinals of near-duplicate
records as the story lists change; the log is a capped list and "not new" judgements expire
with their story's data. A storyline's counts and clocks are recounted from its stories as
the correction leaves them (computed here from the reads: a transaction's reads do not see
its own buffered writes), as SQLite recounts them with a query.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from worker.errors import CorrectionRefused
from worker.pipeline.contribution import contribution, without_terms
from worker.pipeline.storylines import storyline_share
from worker.pipeline.timing import earliest, latest
from worker.pipeline.timing import EventTime
from worker.pipeline.titles import headline
from worker.store.operator_base import novel_units, split_story_id, split_storyline_id
from worker.store.redis_lock import translated
from worker.store.redis_scripts import STAMP_SEQ
from worker.store.redis_views import story_row, storyline_row

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

    def _storyline(self, storyline_id: str) -> dict[str, Any]:
        raw = self.r.hgetall(self.keys.storyline(storyline_id))
        if not raw:
            raise CorrectionRefused("not_found", f"no storyline {storyline_id!r}")
        return storyline_row(raw)

    def _members(self, storyline_id: str) -> list[dict[str, Any]]:
        """The live stories of a storyline (expired ones and ones moved away left out)."""
        k = self.keys
        ids = sorted(m.decode() for m in self.r.smembers(k.storyline_stories(storyline_id)))
        with self.r.pipeline(transaction=False) as p:
            for story_id in ids:
                p.hgetall(k.story(story_id))
            raws = p.execute()
        rows = [story_row(raw) for raw in raws if raw]
        return [r for r in rows if r["storyline_id"] == storyline_id]

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

    def _keep_storyline(self, p: Pipeline[bytes], storyline_id: str, at: float) -> None:
        """Every key of the storyline lives `retention_s` from now, like a touched one's."""
        k = self.keys
        for key in (k.storyline(storyline_id), k.storyline_stories(storyline_id),
                    k.storyline_fact_keys(storyline_id)):  # fmt: skip
            p.pexpire(key, self.ttl)
        p.zadd(k.storyline_expiry, {storyline_id: at + self.ttl / 1000})

    def _recount_storyline(
        self, p: Pipeline[bytes], storyline_id: str, stories: list[dict[str, Any]], at: float
    ) -> None:
        """Counts and clocks of a storyline from its `stories` as the correction leaves them;
        a storyline left with none is dropped (with its facts)."""
        k = self.keys
        if not stories:
            p.delete(k.storyline(storyline_id), k.storyline_stories(storyline_id),
                     k.storyline_fact_keys(storyline_id))  # fmt: skip
            p.zrem(k.storylines_by_activity, storyline_id)
            p.zrem(k.storyline_expiry, storyline_id)
            return
        totals = _totals(stories)
        p.hset(k.storyline(storyline_id), mapping={
            f: v if isinstance(v, int) else repr(v) for f, v in totals.items() if v is not None
        })  # fmt: skip
        absent = [f for f, v in totals.items() if v is None]
        if absent:
            p.hdel(k.storyline(storyline_id), *absent)
        p.zadd(k.storylines_by_activity, {storyline_id: totals["last_seen_at"]})
        self._keep_storyline(p, storyline_id, at)

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
            line_src, line_dst = src["storyline_id"], dst["storyline_id"]
            crossing = line_src != line_dst
            lines = {lid: self.r.hget(k.storyline(lid), "terms") for lid in {line_src, line_dst}}
            members = {lid: self._members(lid) for lid in lines}
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
            clocks = {
                "first_published_at": earliest(
                    src["first_published_at"], dst["first_published_at"]
                ),
                "last_published_at": latest(src["last_published_at"], dst["last_published_at"]),
                "last_ingested_at": latest(src["last_ingested_at"], dst["last_ingested_at"]),
            }
            story.update({f: repr(v) for f, v in clocks.items() if v is not None})
            activity = max(last_dev) if last_dev else min(src["created_at"], dst["created_at"])
            merged = {
                **dst, **clocks, "created_at": min(src["created_at"], dst["created_at"]),
                "last_seen_at": max(src["last_seen_at"], dst["last_seen_at"]),
                "last_development_at": max(last_dev) if last_dev else None,
                "article_count": story["article_count"],
                "development_count": story["development_count"],
            }  # fmt: skip
            after = {
                lid: [m for m in ms if m["id"] not in (source_id, target_id)]
                for lid, ms in members.items()
            }
            after[line_dst].append(merged)
            # the source story's centroid share and facts go to the target's storyline
            line_terms: dict[str, dict[str, int]] = {}
            if crossing:
                src_terms = storyline_share(json.loads(src["terms"]))
                if (was := lines[line_src]) is not None:
                    line_terms[line_src] = without_terms(json.loads(was), src_terms)
                if (was := lines[line_dst]) is not None:
                    line_terms[line_dst] = _plus(json.loads(was), src_terms)

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
                p.srem(k.storyline_stories(line_src), source_id)
                for lid, terms_of in line_terms.items():
                    p.hset(k.storyline(lid), "terms", json.dumps(terms_of, sort_keys=True))
                if crossing:
                    for key, article in facts.items():
                        p.hsetnx(k.storyline_fact_keys(line_dst), key, article)
                for lid, stories in after.items():
                    if lines[lid] is not None:  # (a storyline that expired stays gone)
                        self._recount_storyline(p, lid, stories, now)

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
            line = old_story["storyline_id"]
            line_exists = bool(self.r.exists(k.storyline(line)))
            members = self._members(line)
            title = row["title"] or self._headline(article_id)
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
            # dated by the article's own event time, not the wall clock
            when = EventTime(
                float(row["event_time"]),
                row.get("time_source", "ingested"),
                float(row["ingested_at"]),
            )
            seq = store.new_story(new, title, when, storyline_id=line)
            was_dev = row["status"] == "development"
            moved = {article_id: {**row, "story_id": new, "status": "new_story"}}
            left = {
                **old_story, "article_count": len(ids) - 1,
                "development_count": old_story["development_count"] - was_dev,
            }  # fmt: skip
            alone = {
                "id": new, "article_count": 1, "development_count": 0, "created_at": when.at,
                "last_seen_at": when.at, "last_development_at": None,
                "first_published_at": when.published, "last_published_at": when.published,
                "last_ingested_at": when.ingested_at,
            }  # fmt: skip
            after = [m for m in members if m["id"] != old] + [left, alone]

            def op(p: Pipeline[bytes]) -> None:
                self._put_rows(p, moved)
                p.hset(k.story(new), mapping={
                    "article_count": 1, "terms": json.dumps(terms, sort_keys=True),
                })  # fmt: skip
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
                if line_exists:
                    self._recount_storyline(p, line, after, now)

            store.write(op)
            store.write(
                store.index.move(old_story["seq"], seq, new, mode="split", n=ids.index(article_id))
            )
            result = {"article": article_id, "from_story": old, "story": new}
            if by_person:
                self.log("split", result, now)
        return result

    def _headline(self, article_id: str) -> str | None:
        """A title from the article's first stored sentence (worker/pipeline/titles.py)."""
        raw = self.r.hget(self.keys.article(article_id), "sentences")
        first = min(json.loads(raw), default=None) if raw else None  # [idx, text, ...]
        return headline(first[1]) if first else None

    @translated
    def merge_storylines(
        self, source_id: str, target_id: str, *, now: float, by_person: bool = True
    ) -> dict[str, Any]:
        if source_id == target_id:
            raise CorrectionRefused("invalid", "a storyline cannot be merged into itself")
        k, store = self.keys, self.store
        with store.transaction():
            src, dst = self._storyline(source_id), self._storyline(target_id)
            moving, staying = self._members(source_id), self._members(target_id)
            facts = self.r.hgetall(k.storyline_fact_keys(source_id))
            terms = _plus(json.loads(dst["terms"]), json.loads(src["terms"]))
            moved = [{**m, "storyline_id": target_id} for m in moving]

            def op(p: Pipeline[bytes]) -> None:
                p.hset(k.storyline(target_id), "terms", json.dumps(terms, sort_keys=True))
                for key, article in facts.items():
                    p.hsetnx(k.storyline_fact_keys(target_id), key, article)
                for m in moved:
                    p.hset(k.story(m["id"]), "storyline_id", target_id)
                if moved:
                    p.sadd(k.storyline_stories(target_id), *(m["id"] for m in moved))
                self._recount_storyline(p, source_id, [], now)  # none left: dropped with facts
                self._recount_storyline(p, target_id, staying + moved, now)

            store.write(op)
            result = {"source": source_id, "target": target_id, "stories_moved": len(moved)}
            self.log("merge_storylines" if by_person else "consolidate_storylines", result, now)
        return result

    @translated
    def split_storyline(self, story_id: str, *, now: float) -> dict[str, Any]:
        k, store = self.keys, self.store
        with store.transaction():
            story = self._story(story_id)
            old = story["storyline_id"]
            if self._storyline(old)["story_count"] < 2:
                raise CorrectionRefused(
                    "conflict", f"story {story_id!r} is already alone in storyline {old!r}"
                )
            new = split_storyline_id(story_id)
            staying = [m for m in self._members(old) if m["id"] != story_id]
            old_terms = json.loads(self.r.hget(k.storyline(old), "terms") or b"{}")
            story_terms = storyline_share(json.loads(story["terms"]))
            facts = self.r.hgetall(k.story_fact_keys(story_id))
            own = set(store.story_article_ids(story_id))
            line_facts = self.r.hgetall(k.storyline_fact_keys(old))
            # the old storyline forgets the facts only this story brought it
            forget = [key for key, a in line_facts.items() if a.decode() in own]
            row: dict[str | bytes, str | int] = {
                "id": new, "created_at": repr(story["created_at"]),
                "last_seen_at": repr(story["last_seen_at"]),
                "last_ingested_at": repr(story["last_ingested_at"] or story["last_seen_at"]),
                "story_count": 0, "article_count": 0, "development_count": 0,
                "terms": json.dumps(story_terms, sort_keys=True),
            }  # fmt: skip
            if story["title"] is not None:
                row["title"] = story["title"]

            def op(p: Pipeline[bytes]) -> None:
                p.hset(k.storyline(new), mapping=row)
                p.eval(STAMP_SEQ, 2, k.storyline_seq, k.storyline(new), "seq")
                p.hset(k.storyline(old), "terms", json.dumps(
                    without_terms(old_terms, story_terms), sort_keys=True
                ))  # fmt: skip
                if facts:
                    p.hset(k.storyline_fact_keys(new), mapping=facts)
                if forget:
                    p.hdel(k.storyline_fact_keys(old), *forget)
                p.hset(k.story(story_id), "storyline_id", new)
                p.srem(k.storyline_stories(old), story_id)
                p.sadd(k.storyline_stories(new), story_id)
                self._recount_storyline(p, old, staying, now)
                self._recount_storyline(p, new, [{**story, "storyline_id": new}], now)

            store.write(op)
            result = {"story": story_id, "from_storyline": old, "storyline": new}
            self.log("split_storyline", result, now)
            for lid in (old, new):  # a person's call: the pipeline never merges them back
                store.write(
                    lambda p, lid=lid: p.set(k.reviewed_by_person(lid), repr(now), px=self.ttl)
                )
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


def _totals(stories: list[dict[str, Any]]) -> dict[str, Any]:
    """A storyline's counts and clocks from its stories, as SQL aggregates them (NULLs
    ignored; None when no story has one)."""

    def pick(field: str, fn: Any) -> Any:
        values = [s[field] for s in stories if s[field] is not None]
        return fn(values) if values else None

    return {
        "story_count": len(stories),
        "article_count": sum(s["article_count"] for s in stories),
        "development_count": sum(s["development_count"] for s in stories),
        "created_at": pick("created_at", min),
        "last_seen_at": pick("last_seen_at", max),
        "last_development_at": pick("last_development_at", max),
        "first_published_at": pick("first_published_at", min),
        "last_published_at": pick("last_published_at", max),
        "last_ingested_at": pick("last_ingested_at", max),
    }


def _plus(terms: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    out = dict(terms)
    for term, n in more.items():
        out[term] = out.get(term, 0) + n
    return out
