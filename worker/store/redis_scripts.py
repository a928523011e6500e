"""The Lua scripts of the Redis store, each with its KEYS/ARGV contract.

Index scripts work on the shard strings described in redis_index.py. Scripts that run inside
a transaction's MULTI are sent with EVAL (never EVALSHA: a NOSCRIPT error inside MULTI would
fail that command alone); read scripts go through `register_script` (EVALSHA, one round trip).
"""

from __future__ import annotations

__all__ = ["ADD", "DUP_QUERY", "PRUNE", "STORY_HITS", "TOUCH_STORY"]

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
ADD = (
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
DUP_QUERY = (
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
STORY_HITS = (
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
PRUNE = (
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

# One more article joined a story: counts, newest time, centroid, sorted sets, and (once its
# TTL has dropped by 1/8) the TTL of every key of the story, articles and events included.
# KEYS: story, its articles, facts, events lists, activity zset, index_seen, expiry zset
# ARGV: story id, seen_at, development_at or '', terms JSON, ttl ms, expiry time, article
#       key prefix, content-hash key prefix, url key prefix, event key prefix
TOUCH_STORY = """
local st = KEYS[1]
if redis.call('EXISTS', st) == 0 then return 0 end
local sid, seen, dev, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[5])
redis.call('HSET', st, 'terms', ARGV[4])
redis.call('HINCRBY', st, 'article_count', 1)
if tonumber(seen) > tonumber(redis.call('HGET', st, 'last_seen_at')) then
  redis.call('HSET', st, 'last_seen_at', seen)
end
if dev ~= '' then
  redis.call('HSET', st, 'last_development_at', dev)
  redis.call('HINCRBY', st, 'development_count', 1)
  redis.call('ZADD', KEYS[5], dev, sid)
end
redis.call('ZADD', KEYS[6], 'GT', seen, sid)
redis.call('ZADD', KEYS[7], ARGV[6], sid)
if redis.call('PTTL', st) < ttl * 7 / 8 then
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
  for _, aid in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
    local akey = ARGV[7] .. aid
    redis.call('PEXPIRE', akey, ttl)
    local row = redis.call('HGET', akey, 'row')
    if row then
      local r = cjson.decode(row)
      redis.call('PEXPIRE', ARGV[8] .. r['content_hash'], ttl)
      if type(r['canonical_url']) == 'string' then
        redis.call('PEXPIRE', ARGV[9] .. redis.sha1hex(r['canonical_url']), ttl)
      end
    end
  end
  for _, eid in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
    redis.call('PEXPIRE', ARGV[10] .. eid, ttl)
  end
end
return 1
"""
