"""The LSH index layout in Redis: band keys packed into shard strings, and its Lua scripts.

Each band key (a signed 64-bit int) picks a shard from its top 16 bits (`% shards`) and keeps
its next 32 bits as the record's field; the shard is one Redis string of fixed-size records:

    story band    field(4) + story token(8)                  12 bytes, once per (key, story)
    dup band      field(4) + story token(8) + ordinal(2)     14 bytes, once per (key, article)

A token is the 8 bytes behind an id's 16 hex digits (`s_1a2b...` -> b"\\x1a\\x2b..."); the
ordinal is the article's position in its story's article list. Story bands are stored once
per story (an article mostly repeats its story's bands), which is what keeps the index near
1 KB per article; datasketch stores every band of every article as its own Redis set.
A 48-bit key identity can collide (about once per 2^32 records of one shard): a collision only
adds a candidate, which matching verifies anyway.

Per story, `ix:st:<story>` holds what prune must undo: a 4-byte record count and the 2-byte
numbers of the shards it wrote to (dup shards with the top bit set). Lookups run in one
script call, so a query is one round trip whatever the number of bands.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import redis
from redis.client import Pipeline

from worker.keys import Keys
from worker.store.redis_lock import Op
from worker.store.redis_scripts import ADD, DUP_QUERY, PRUNE, STORY_HITS

__all__ = ["MAX_SHARDS", "Band", "ShardedIndex", "locate", "token"]

MAX_SHARDS = 0x8000  # shard numbers are 15 bits: the 16th marks dup shards in bookkeeping
DUP_FLAG = 0x8000
STORY_RECORD = 12  # bytes: field(4) + story token(8)
DUP_RECORD = 14  # bytes: field(4) + story token(8) + article ordinal(2)
_ID = re.compile(r"[as]_[0-9a-f]{16}")


@dataclass(frozen=True, slots=True)
class Band:
    """Where one band key lives: shard number and its 4-byte field."""

    shard: int
    field: bytes


def locate(key: int, shards: int) -> Band:
    """The shard and field of a signed 64-bit band key."""
    raw = (key & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "big")
    return Band(int.from_bytes(raw[:2], "big") % shards, raw[2:6])


def token(id_: str) -> bytes:
    """The 8 bytes of an `a_`/`s_` id; the index stores these, not the 18-character id."""
    if not _ID.fullmatch(id_):
        raise ValueError(f"ids must be 'a_' or 's_' + 16 lowercase hex digits, got {id_!r}")
    return bytes.fromhex(id_[2:])


class ShardedIndex:
    """The LSH index of one RedisStore; its writes are returned as ops for the transaction."""

    def __init__(self, client: redis.Redis[bytes], keys: Keys, shards: int):
        if not 0 < shards <= MAX_SHARDS:
            raise ValueError(f"index_shards must be in [1, {MAX_SHARDS}], got {shards!r}")
        self.r = client
        self.keys = keys
        self.shards = shards
        self._dup_query = client.register_script(DUP_QUERY)
        self._story_hits = client.register_script(STORY_HITS)

    def _bands(self, keys: Iterable[int]) -> list[Band]:
        return [locate(k, self.shards) for k in dict.fromkeys(keys)]

    def query(self, keys: list[int]) -> list[tuple[str, str]]:
        """(article_id, story_id) of every dup entry sharing a band key; one script call."""
        bands = self._bands(keys)
        if not bands:
            return []
        k = self.keys
        flat = self._dup_query(
            keys=[k.dup_shard(b.shard) for b in bands],
            args=[k.story_prefix, k.articles_suffix, k.article_prefix, *(b.field for b in bands)],
        )
        return [(flat[i].decode(), flat[i + 1].decode()) for i in range(0, len(flat), 2)]

    def story_hits(self, keys: list[int]) -> dict[str, int]:
        """Story id -> how many of `keys` (distinct) it shares; one script call."""
        bands = self._bands(keys)
        if not bands:
            return {}
        flat = self._story_hits(
            keys=[self.keys.story_shard(b.shard) for b in bands],
            args=[self.keys.story_prefix, *(b.field for b in bands)],
        )
        return {flat[i].decode(): int(flat[i + 1]) for i in range(0, len(flat), 2)}

    def add(self, dup_keys: list[int], story_keys: list[int], article_id: str, story_id: str) -> Op:
        """The write indexing one article (the article must be in its story's list)."""
        token(article_id)
        story_token = token(story_id)
        dup, story = self._bands(dup_keys), self._bands(story_keys)
        k = self.keys
        script_keys = [
            k.index_story(story_id),
            k.story_articles(story_id),
            *(k.dup_shard(b.shard) for b in dup),
            *(k.story_shard(b.shard) for b in story),
        ]
        args: list[bytes | str | int] = [story_token, article_id, len(dup)]
        for b, flag in [(b, DUP_FLAG) for b in dup] + [(b, 0) for b in story]:
            args += [(b.shard | flag).to_bytes(2, "big"), b.field]
        return lambda p: p.eval(ADD, len(script_keys), *script_keys, *args)

    def prune(self, story_ids: list[str]) -> tuple[int, Op]:
        """Read what the stories wrote; returns its record count and the write removing it."""
        k = self.keys
        books = self.r.mget([k.index_story(s) for s in story_ids]) if story_ids else []
        records = 0
        tokens: dict[tuple[str, int], list[bytes]] = defaultdict(list)
        for story_id, book in zip(story_ids, books, strict=True):
            if not book:
                continue
            records += int.from_bytes(book[:4], "big")
            for i in range(4, len(book), 2):
                ref = int.from_bytes(book[i : i + 2], "big")
                if ref & DUP_FLAG:
                    tokens[(k.dup_shard(ref & ~DUP_FLAG), DUP_RECORD)].append(token(story_id))
                else:
                    tokens[(k.story_shard(ref), STORY_RECORD)].append(token(story_id))
        script_keys = [k.index_seen, *(k.index_story(s) for s in story_ids)]
        args: list[bytes | str | int] = [len(story_ids), *story_ids]
        for (shard_key, size), toks in tokens.items():
            script_keys.append(shard_key)
            args += [size, len(toks), *toks]

        def op(p: Pipeline[bytes]) -> None:
            if story_ids:
                p.eval(PRUNE, len(script_keys), *script_keys, *args)

        return records, op
