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
from dataclasses import dataclass

__all__ = [
    "ADD_SCRIPT",
    "DUP_QUERY_SCRIPT",
    "MAX_SHARDS",
    "PRUNE_SCRIPT",
    "STORY_HITS_SCRIPT",
    "Band",
    "locate",
    "token",
]

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


def token(id_: str) -> bytes:
    """The 8 bytes of an `a_`/`s_` id; the index stores these, not the 18-character id."""
    if not _ID.fullmatch(id_):
        raise ValueError(f"ids must be 'a_' or 's_' + 16 lowercase hex digits, got {id_!r}")
    return bytes.fromhex(id_[2:])


# Shared Lua helpers. `find_aligned` finds a needle at a record boundary only: a field's
# bytes may also occur inside another record's token.
_LUA_HELPERS = """
local function find_aligned(blob, needle, size, offset, init)
  init = init or (offset + 1)
  while true do
    local p = string.find(blob, needle, init, true)
    if not p then return nil end
    if (p - 1 - offset) % size == 0 then return p end
    init = p + 1
  end
end
local function tohex(s)
  return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end))
end
local function u32(s)
  local a, b, c, d = string.byte(s, 1, 4)
  return ((a * 256 + b) * 256 + c) * 256 + d
end
local function p32(n)
  return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
                     math.floor(n / 256) % 256, n % 256)
end
"""

# KEYS: bookkeeping, story article list, then one shard per band (dup bands first)
# ARGV: story token, article id, number of dup bands, then per band: shard ref(2), field(4)
ADD_SCRIPT = (
    _LUA_HELPERS
    + """
local tok, ndup = ARGV[1], tonumber(ARGV[3])
local ord = nil
if ndup > 0 then ord = redis.call('LPOS', KEYS[2], ARGV[2]) end
local book = redis.call('GET', KEYS[1]) or string.rep('\\0', 4)
local count, refs = u32(book), string.sub(book, 5)
local blobs, changed = {}, {}
for i = 3, #KEYS do
  local ref, field = ARGV[2 + (i - 2) * 2], ARGV[3 + (i - 2) * 2]
  local rec, size = field .. tok, 12
  if i - 2 <= ndup then
    rec, size = nil, 14
    if ord then rec = field .. tok .. string.char(math.floor(ord / 256), ord % 256) end
  end
  if rec then
    local key = KEYS[i]
    local blob = blobs[key] or redis.call('GET', key) or ''
    if not find_aligned(blob, rec, size, 0) then
      blobs[key], changed[key], count = blob .. rec, true, count + 1
      if not find_aligned(refs, ref, 2, 0) then refs = refs .. ref end
    else
      blobs[key] = blob
    end
  end
end
for key in pairs(changed) do redis.call('SET', key, blobs[key]) end
redis.call('SET', KEYS[1], p32(count) .. refs)
return count
"""
)

# KEYS: the shard of each dup band; ARGV: story key prefix, article list suffix, article
# key prefix, then the field of each band. Returns article id, story id, ... of live stories.
DUP_QUERY_SCRIPT = (
    _LUA_HELPERS
    + """
local found, order = {}, {}
for i = 1, #KEYS do
  local blob = redis.call('GET', KEYS[i])
  if blob then
    local p = find_aligned(blob, ARGV[3 + i], 14, 0)
    while p do
      local rec = string.sub(blob, p + 4, p + 13)
      if not found[rec] then found[rec] = true; order[#order + 1] = rec end
      p = find_aligned(blob, ARGV[3 + i], 14, 0, p + 1)
    end
  end
end
local out = {}
for _, rec in ipairs(order) do
  local sid = 's_' .. tohex(string.sub(rec, 1, 8))
  local ord = string.byte(rec, 9) * 256 + string.byte(rec, 10)
  local aid = redis.call('LINDEX', ARGV[1] .. sid .. ARGV[2], ord)
  if aid and redis.call('EXISTS', ARGV[3] .. aid) == 1 then
    out[#out + 1] = aid; out[#out + 1] = sid
  end
end
return out
"""
)

# KEYS: the shard of each story band; ARGV: story key prefix, then the field of each band.
# Returns story id, number of bands shared, ... for stories whose data is still there.
STORY_HITS_SCRIPT = (
    _LUA_HELPERS
    + """
local counts, order = {}, {}
for i = 1, #KEYS do
  local blob = redis.call('GET', KEYS[i])
  if blob then
    local p = find_aligned(blob, ARGV[1 + i], 12, 0)
    while p do
      local tok = string.sub(blob, p + 4, p + 11)
      if counts[tok] then counts[tok] = counts[tok] + 1
      else counts[tok] = 1; order[#order + 1] = tok end
      p = find_aligned(blob, ARGV[1 + i], 12, 0, p + 1)
    end
  end
end
local out = {}
for _, tok in ipairs(order) do
  local sid = 's_' .. tohex(tok)
  if redis.call('EXISTS', ARGV[1] .. sid) == 1 then
    out[#out + 1] = sid; out[#out + 1] = counts[tok]
  end
end
return out
"""
)

# KEYS: index_seen zset, the bookkeeping key of each story, then shards to clean
# ARGV: number of stories, their ids, then per shard: record size, number of tokens, tokens
PRUNE_SCRIPT = (
    _LUA_HELPERS
    + """
local n = tonumber(ARGV[1])
for i = 1, n do
  redis.call('ZREM', KEYS[1], ARGV[1 + i])
  redis.call('DEL', KEYS[1 + i])
end
local a = 2 + n
for k = 2 + n, #KEYS do
  local size, ntok = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local blob = redis.call('GET', KEYS[k])
  if blob then
    local drops = {}
    for t = 1, ntok do
      local p = find_aligned(blob, ARGV[a + 1 + t], size, 4)
      while p do
        drops[#drops + 1] = p - 4
        p = find_aligned(blob, ARGV[a + 1 + t], size, 4, p + 1)
      end
    end
    if #drops > 0 then
      table.sort(drops)
      local parts, last = {}, 1
      for _, s in ipairs(drops) do
        parts[#parts + 1] = string.sub(blob, last, s - 1)
        last = s + size
      end
      parts[#parts + 1] = string.sub(blob, last)
      local rest = table.concat(parts)
      if rest == '' then redis.call('DEL', KEYS[k]) else redis.call('SET', KEYS[k], rest) end
    end
  end
  a = a + 2 + ntok
end
return n
"""
)
