"""The read views of the Redis store (what `RedisStore.list_stories` & co. return), kept apart
from the ingest's reads and writes; rows read like SQLite's, absent fields None (SQL NULL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.store.redis_store import RedisStore

__all__ = [
    "export_articles",
    "list_stories",
    "list_storylines",
    "story_detail",
    "story_row",
    "storyline_detail",
    "storyline_row",
]

LIST_SCAN_MAX = 20_000  # stories (or storylines) a filtered list examines at most
EXPORT_BATCH = 500  # stories, then articles, read per round trip by export_articles

# story and storyline fields and how to read them back
_STORY_FIELDS: dict[str, Callable[[bytes], Any]] = {
    "seq": int,
    "id": bytes.decode,
    "title": bytes.decode,
    "created_at": float,
    "last_seen_at": float,
    "last_development_at": float,
    "article_count": int,
    "development_count": int,
    "terms": bytes.decode,
    "storyline_id": bytes.decode,
    "first_published_at": float,
    "last_published_at": float,
    "last_ingested_at": float,
}
_STORYLINE_FIELDS: dict[str, Callable[[bytes], Any]] = {
    "seq": int,
    "id": bytes.decode,
    "title": bytes.decode,
    "created_at": float,
    "last_seen_at": float,
    "last_development_at": float,
    "first_published_at": float,
    "last_published_at": float,
    "last_ingested_at": float,
    "story_count": int,
    "article_count": int,
    "development_count": int,
    "terms": bytes.decode,
}
_DETAIL_ARTICLE_FIELDS = (
    "id", "input", "status", "match", "similarity", "novelty", "version", "revision_of",
    "url", "title", "source", "published_at", "ingested_at",
)  # fmt: skip
_LIST_STORY_FIELDS = (
    "id", "title", "storyline_id", "article_count", "development_count", "created_at",
    "last_seen_at", "last_development_at",
)  # fmt: skip
_LIST_STORYLINE_FIELDS = (
    "id", "title", "story_count", "article_count", "development_count", "created_at",
    "last_seen_at", "last_development_at", "first_published_at", "last_published_at",
    "last_ingested_at",
)  # fmt: skip
_EXPORT_FIELDS = (
    "id", "story_id", "storyline_id", "url", "title", "source", "published_at", "status",
    "event_time", "time_source", "ingested_at",
)  # fmt: skip


def _row(fields: dict[str, Callable[[bytes], Any]], raw: dict[bytes, bytes]) -> dict[str, Any]:
    return {
        f: (parse(raw[f.encode()]) if f.encode() in raw else None) for f, parse in fields.items()
    }


def story_row(raw: dict[bytes, bytes]) -> dict[str, Any]:
    """A story hash as the SQLite row reads: every column, absent ones None."""
    return _row(_STORY_FIELDS, raw)


def storyline_row(raw: dict[bytes, bytes]) -> dict[str, Any]:
    """A storyline hash as the SQLite row reads: every column, absent ones None."""
    return _row(_STORYLINE_FIELDS, raw)


def _hashes(store: RedisStore, keys: list[str]) -> list[dict[bytes, bytes]]:
    """HGETALL of each key, one round trip."""
    with store.r.pipeline(transaction=False) as p:
        for key in keys:
            p.hgetall(key)
        return list(p.execute())


def _newest_first(
    store: RedisStore,
    zset: str,
    since: float | None,
    key_of: Callable[[str], str],
    parse: Callable[[dict[bytes, bytes]], dict[str, Any]],
    keep: Callable[[dict[str, Any]], bool],
    limit: int,
) -> list[dict[str, Any]]:
    """Rows of the members of `zset` (newest score first, scores >= `since`) that `keep`
    takes, read page by page until `limit` (+ a margin for ties) are found."""
    low = "-inf" if since is None else repr(float(since))
    rows: list[dict[str, Any]] = []
    start, page = 0, limit + 16  # + a margin: rows tied on the score sort by seq
    while start < LIST_SCAN_MAX:
        ids = store.r.zrevrangebyscore(zset, "+inf", low, start=start, num=page)
        found = [parse(raw) for raw in _hashes(store, [key_of(i.decode()) for i in ids]) if raw]
        rows += [r for r in found if keep(r)]
        if len(ids) < page or len(rows) >= limit + 16:
            break
        start, page = start + page, min(4 * page, 1000)
    return rows


def _title_holds(needle: str | None) -> Callable[[dict[str, Any]], bool]:
    folded = needle.casefold() if needle else None
    return lambda r: folded is None or folded in (r["title"] or "").casefold()


def list_stories(
    store: RedisStore, *, limit: int, since: float | None, query: str | None, developed: bool
) -> list[dict[str, Any]]:
    """Stories, the most recently developed (or created) first; newer stories first on
    ties. Read from the activity index page by page, newest first; with a title `query`
    or `developed`, at most `LIST_SCAN_MAX` stories are examined."""
    title = _title_holds(query)
    rows = _newest_first(
        store, store.keys.stories_by_activity, since, store.keys.story, story_row,
        lambda r: (not developed or r["development_count"] > 0) and title(r), limit,
    )  # fmt: skip
    rows.sort(key=lambda r: (r["last_development_at"] or r["created_at"], r["seq"]), reverse=True)
    return [{f: r[f] for f in _LIST_STORY_FIELDS} for r in rows[:limit]]


def list_storylines(
    store: RedisStore, *, limit: int, since: float | None, query: str | None
) -> list[dict[str, Any]]:
    """Storylines, the most recently active (newest event time) first, newer ones first on
    ties; with a title `query`, at most `LIST_SCAN_MAX` storylines are examined."""
    rows = _newest_first(
        store, store.keys.storylines_by_activity, since, store.keys.storyline, storyline_row,
        _title_holds(query), limit,
    )  # fmt: skip
    rows.sort(key=lambda r: (r["last_seen_at"], r["seq"] or 0), reverse=True)
    return [{f: r[f] for f in _LIST_STORYLINE_FIELDS} for r in rows[:limit]]


def storyline_detail(store: RedisStore, storyline_id: str) -> dict[str, Any] | None:
    """A storyline with its stories (as `list_stories` rows), oldest first."""
    k = store.keys
    raw = store.r.hgetall(k.storyline(storyline_id))
    if not raw:
        return None
    ids = sorted(m.decode() for m in store.r.smembers(k.storyline_stories(storyline_id)))
    stories = [story_row(r) for r in _hashes(store, [k.story(s) for s in ids]) if r]
    stories = [s for s in stories if s["storyline_id"] == storyline_id]  # moved: not any more
    stories.sort(key=lambda s: (s["created_at"], s["seq"]))
    line = storyline_row(raw)
    return {
        **{f: line[f] for f in _LIST_STORYLINE_FIELDS},
        "stories": [{f: s[f] for f in _LIST_STORY_FIELDS} for s in stories],
    }


def export_articles(store: RedisStore) -> Iterator[dict[str, Any]]:
    """Every stored article, in ingest order (article seq), found through the stories: the
    article ids and seqs first (small), then the rows, `EXPORT_BATCH` per round trip."""
    k, r = store.keys, store.r
    story_ids = [s.decode() for s in r.zrange(k.stories_by_activity, 0, -1)]
    order: list[tuple[int, str, str]] = []  # (seq, article id, storyline id)
    for i in range(0, len(story_ids), EXPORT_BATCH):
        with r.pipeline(transaction=False) as p:
            for s in story_ids[i : i + EXPORT_BATCH]:
                p.hget(k.story(s), "storyline_id")
                p.lrange(k.story_articles(s), 0, -1)
            found = p.execute()
        members = [
            (a.decode(), line.decode())
            for line, articles in zip(found[::2], found[1::2], strict=True)
            if line is not None
            for a in articles
        ]
        with r.pipeline(transaction=False) as p:
            for a, _ in members:
                p.hget(k.article(a), "seq")
            seqs = p.execute()
        order += [(int(n), a, line) for (a, line), n in zip(members, seqs, strict=True) if n]
    order.sort()
    for i in range(0, len(order), EXPORT_BATCH):
        batch = order[i : i + EXPORT_BATCH]
        with r.pipeline(transaction=False) as p:
            for _, a, _ in batch:
                p.hget(k.article(a), "row")
            rows = p.execute()
        for (_, _, line), row_json in zip(batch, rows, strict=True):
            if row_json is None:  # expired meanwhile
                continue
            row = {"time_source": "ingested", **json.loads(row_json), "storyline_id": line}
            yield {f: row[f] for f in _EXPORT_FIELDS}


def story_detail(store: RedisStore, story_id: str) -> dict[str, Any] | None:
    """A story with its articles in ingest order and, for each, the facts it added."""
    k = store.keys
    raw = store.r.hgetall(k.story(story_id))
    if not raw:
        return None
    out = {f: v for f, v in story_row(raw).items() if f != "terms"}
    article_ids = store.story_article_ids(story_id)
    with store.r.pipeline(transaction=False) as p:
        for a in article_ids:
            p.hmget(k.article(a), ["row", "sentences", "seq"])
        found = p.execute()
    articles = []
    for row_json, sentences_json, seq in found:
        if row_json is None:
            continue
        row = json.loads(row_json)
        added = [
            {"text": text, "new_units": json.loads(new_units)}
            for _, text, _, new_units in sorted(json.loads(sentences_json))
            if new_units != "[]"
        ]
        detail = {**{f: row[f] for f in _DETAIL_ARTICLE_FIELDS}, "added_facts": added}
        articles.append((int(seq or 0), detail))
    # in ingest order, as SQLite's; the list is in joining order, which merges change
    articles.sort(key=lambda a: a[0])
    out["articles"] = [a for _, a in articles]
    return out
