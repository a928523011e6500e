"""The LSH index layout in Redis: band keys packed into shard strings (scripts in redis_scripts.py).

Each band key (a signed 64-bit int) picks a shard from its top 16 bits (`% shards`) and keeps
its next 32 bits as the record's field; a shard is one Redis string of fixed-size records:

    story band    field(4) + story seq(4)                 8 bytes, once per (key, story)
    dup band      field(4) + story seq(4) + ordinal(2)   10 bytes, once per (key, article)

The story seq is the story's creation number (4 bytes instead of an 18-character id) and the
ordinal the article's position in its story's article list. Story bands are stored once per
story, as an article mostly repeats bands its story has. This keeps the index near 1 KB per
article, where datasketch keeps every band of every article as a Redis set of its own.
A 48-bit key identity can collide (about once per 2^32 records of one shard): a collision
only adds a candidate, which matching verifies anyway.

Per story, `ix:st:<seq>` holds a 4-byte record count, the story id's 8 bytes and the 2-byte
numbers of the shards it wrote to (dup shards with the top bit set): what queries need to
name the story and what prune must undo. It lives as long as the story's data. Lookups run
in one script call, so a query is one round trip whatever the number of bands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import redis

from worker.keys import Keys
from worker.store.redis_lock import Op
from worker.store.redis_scripts import ADD, DUP_QUERY, MOVE, PRUNE, STORY_HITS

__all__ = ["MAX_SHARDS", "Band", "ShardedIndex", "bookkeeping", "locate", "story_bytes"]

MAX_SHARDS = 0x8000  # shard numbers are 15 bits: the 16th marks dup shards in bookkeeping
DUP_FLAG = 0x8000
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


def story_bytes(id_: str) -> bytes:
    """The 8 bytes behind an `a_`/`s_` id's 16 hex digits (how bookkeeping keeps the id)."""
    if not _ID.fullmatch(id_):
        raise ValueError(f"ids must be 'a_' or 's_' + 16 lowercase hex digits, got {id_!r}")
    return bytes.fromhex(id_[2:])


def bookkeeping(story_id: str) -> bytes:
    """A fresh `ix:st:<seq>` value: no records, the story id, no shards yet."""
    return bytes(4) + story_bytes(story_id)


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
        self._prune = client.register_script(PRUNE)

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
            args=[
                k.index_story_prefix, k.story_prefix, k.articles_suffix, k.article_prefix,
                *(b.field for b in bands),
            ],
        )  # fmt: skip
        return [(flat[i].decode(), flat[i + 1].decode()) for i in range(0, len(flat), 2)]

    def story_hits(self, keys: list[int]) -> dict[str, int]:
        """Story id -> how many of `keys` (distinct) it shares; one script call."""
        bands = self._bands(keys)
        if not bands:
            return {}
        k = self.keys
        flat = self._story_hits(
            keys=[k.story_shard(b.shard) for b in bands],
            args=[k.index_story_prefix, k.story_prefix, *(b.field for b in bands)],
        )
        return {flat[i].decode(): int(flat[i + 1]) for i in range(0, len(flat), 2)}

    def add(self, dup_keys: list[int], story_keys: list[int], article_id: str, story_id: str) -> Op:
        """The write indexing one article (already in its story's article list)."""
        story_bytes(article_id)
        dup, story = self._bands(dup_keys), self._bands(story_keys)
        k = self.keys
        script_keys = [
            k.story(story_id),
            k.story_articles(story_id),
            *(k.dup_shard(b.shard) for b in dup),
            *(k.story_shard(b.shard) for b in story),
        ]
        args: list[bytes | str | int] = [
            k.index_story_prefix, bookkeeping(story_id), article_id, len(dup)
        ]  # fmt: skip
        for b, flag in [(b, DUP_FLAG) for b in dup] + [(b, 0) for b in story]:
            args += [(b.shard | flag).to_bytes(2, "big"), b.field]
        return lambda p: p.eval(ADD, len(script_keys), *script_keys, *args)

    def move(self, src_seq: int, dst_seq: int, dst_id: str, *, mode: str, n: int) -> Op:
        """The write moving index records between stories for an operator's correction:
        `mode` "merge" (all of `src_seq`'s, dup ordinals shifted by `n`) or "split" (the
        article at ordinal `n`). See MOVE in redis_scripts.py."""
        if mode not in ("merge", "split"):
            raise ValueError(f"mode must be 'merge' or 'split', got {mode!r}")
        k = self.keys
        script_keys = [k.index_seen, k.story_expiry]
        args: list[bytes | str | int] = [
            k.index_story_prefix, k.dup_shard_prefix, k.story_shard_prefix,
            src_seq, dst_seq, mode, n, bookkeeping(dst_id),
        ]  # fmt: skip
        return lambda p: p.eval(MOVE, len(script_keys), *script_keys, *args)

    def prune(self, seqs: list[bytes], cut: float) -> tuple[int, int]:
        """Sweep out of the index those stories (by seq) last seen before `cut`, and forget
        those whose data expired; at once. Returns (index records removed, stories swept)."""
        k = self.keys
        removed, swept = self._prune(
            keys=[k.index_seen, k.stories_by_activity, k.story_expiry],
            args=[
                repr(cut), k.index_story_prefix, k.story_prefix, k.dup_shard_prefix,
                k.story_shard_prefix, *seqs,
            ],
        )  # fmt: skip
        return int(removed), int(swept)
