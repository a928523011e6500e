"""The Lua scripts of the Redis store, each with its KEYS/ARGV contract.

Index scripts work on the shard strings described in redis_index.py. Scripts that run inside
a transaction's MULTI are sent with EVAL (never EVALSHA: a NOSCRIPT error inside MULTI would
fail that command alone); the others go through `register_script` (EVALSHA, one round trip).
"""

from __future__ import annotations

__all__ = [
    "ADD",
    "DUP_QUERY",
    "MOVE",
    "PRUNE",
    "STAMP_SEQ",
    "STORIES_WITH_LINES",
    "STORY_HITS",
    "SWEEP_STORYLINES",
    "TOUCH_STORY",
    "TOUCH_STORYLINE",
]

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

# KEYS: story, its article list, then one shard per band (dup bands first)
# ARGV: bookkeeping prefix, a fresh bookkeeping value, article id, number of dup bands, then
#       per band: shard ref(2), field(4). Returns the story's record count.
ADD = (
    _LUA_HELPERS
    + """
local seq = redis.call('HGET', KEYS[1], 'seq')
if not seq then return 0 end
local tok, ndup, bkey = p32(tonumber(seq)), tonumber(ARGV[4]), ARGV[1] .. seq
local ord = nil
if ndup > 0 then ord = redis.call('LPOS', KEYS[2], ARGV[3]) end
if ord and ord > 65534 then ord = nil end
local book = redis.call('GET', bkey) or ARGV[2]
local count, refs = u32(book), string.sub(book, 13)
local blobs, changed = {}, {}
for i = 3, #KEYS do
  local ref, field = ARGV[5 + (i - 3) * 2], ARGV[6 + (i - 3) * 2]
  local rec, size = field .. tok, 8
  if i - 2 <= ndup then
    rec, size = nil, 10
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
redis.call('SET', bkey, p32(count) .. string.sub(book, 5, 12) .. refs)
return count
"""
)

# Resolves a story seq to its id, or false when the story is gone (pruned or expired).
_LUA_STORY_NAME = """
local names = {}
local function story_name(seq, book_prefix, story_prefix)
  local sid = names[seq]
  if sid == nil then
    sid = false
    local book = redis.call('GET', book_prefix .. seq)
    if book then
      local s = 's_' .. tohex(string.sub(book, 5, 12))
      if redis.call('EXISTS', story_prefix .. s) == 1 then sid = s end
    end
    names[seq] = sid
  end
  return sid
end
"""

# KEYS: the shard of each dup band; ARGV: bookkeeping prefix, story key prefix, article list
# suffix, article key prefix, then the field of each band.
# Returns article id, story id, ... of live stories.
DUP_QUERY = (
    _LUA_HELPERS
    + _LUA_STORY_NAME
    + """
local found, order = {}, {}
for i = 1, #KEYS do
  local blob = redis.call('GET', KEYS[i])
  if blob then
    local p = find_aligned(blob, ARGV[4 + i], 10, 0)
    while p do
      local rec = string.sub(blob, p + 4, p + 9)
      if not found[rec] then found[rec] = true; order[#order + 1] = rec end
      p = find_aligned(blob, ARGV[4 + i], 10, 0, p + 1)
    end
  end
end
local out = {}
for _, rec in ipairs(order) do
  local sid = story_name(u32(rec), ARGV[1], ARGV[2])
  if sid then
    local ord = string.byte(rec, 5) * 256 + string.byte(rec, 6)
    local aid = redis.call('LINDEX', ARGV[2] .. sid .. ARGV[3], ord)
    if aid and redis.call('EXISTS', ARGV[4] .. aid) == 1 then
      out[#out + 1] = aid; out[#out + 1] = sid
    end
  end
end
return out
"""
)

# KEYS: the shard of each story band; ARGV: bookkeeping prefix, story key prefix, then the
# field of each band. Returns story id, number of bands shared, ... of live stories.
STORY_HITS = (
    _LUA_HELPERS
    + _LUA_STORY_NAME
    + """
local counts, order = {}, {}
for i = 1, #KEYS do
  local blob = redis.call('GET', KEYS[i])
  if blob then
    local p = find_aligned(blob, ARGV[2 + i], 8, 0)
    while p do
      local seq = u32(string.sub(blob, p + 4, p + 7))
      if counts[seq] then counts[seq] = counts[seq] + 1
      else counts[seq] = 1; order[#order + 1] = seq end
      p = find_aligned(blob, ARGV[2 + i], 8, 0, p + 1)
    end
  end
end
local out = {}
for _, seq in ipairs(order) do
  local sid = story_name(seq, ARGV[1], ARGV[2])
  if sid then out[#out + 1] = sid; out[#out + 1] = counts[seq] end
end
return out
"""
)

# Sweeps stories out of the index, each only if still due: last seen before the cut, or its
# data expired (then its bookkeeping goes and it leaves the global sorted sets too).
# Self-validating, so it runs on its own, in small batches, without the lock: Redis is
# never blocked for long.
# KEYS: index_seen, stories by activity, story expiry
# ARGV: cut, bookkeeping prefix, story key prefix, dup shard prefix, story shard prefix,
#       then story seqs. Returns {index records removed, stories swept}.
PRUNE = (
    _LUA_HELPERS
    + """
local cut = tonumber(ARGV[1])
local removed, swept = 0, 0
for i = 6, #ARGV do
  local seq, bkey = ARGV[i], ARGV[2] .. ARGV[i]
  local book = redis.call('GET', bkey)
  local sid = book and ('s_' .. tohex(string.sub(book, 5, 12)))
  local alive = sid and redis.call('EXISTS', ARGV[3] .. sid) == 1
  local seen = redis.call('ZSCORE', KEYS[1], seq)
  if not alive or not seen or tonumber(seen) < cut then
    swept = swept + 1
    if book then
      removed = removed + u32(book)
      local tok = p32(tonumber(seq))
      for j = 13, #book - 1, 2 do
        local ref = string.byte(book, j) * 256 + string.byte(book, j + 1)
        local key, size = ARGV[5] .. ref, 8
        if ref >= 32768 then key, size = ARGV[4] .. (ref - 32768), 10 end
        local blob = redis.call('GET', key)
        if blob then
          local parts, last = {}, 1
          local p = find_aligned(blob, tok, size, 4)
          while p do
            parts[#parts + 1] = string.sub(blob, last, p - 5)
            last = p - 4 + size
            p = find_aligned(blob, tok, size, 4, last + 4)
          end
          if last > 1 then
            parts[#parts + 1] = string.sub(blob, last)
            local rest = table.concat(parts)
            if rest == '' then redis.call('DEL', key) else redis.call('SET', key, rest) end
          end
        end
      end
    end
    redis.call('ZREM', KEYS[1], seq)
    if alive then
      redis.call('SET', bkey, p32(0) .. string.sub(book, 5, 12))
    else
      redis.call('DEL', bkey)
      redis.call('ZREM', KEYS[3], seq)
      if sid then redis.call('ZREM', KEYS[2], sid) end
    end
  end
end
return {removed, swept}
"""
)

# Operator corrections: moves index records from story `src` to story `dst` (by seq), in
# the shards `src`'s bookkeeping names. Dup records carry their article's ordinal in its
# story's article list, so they are renumbered as the lists change:
#   merge  every record moves; dup ordinals += n (dst's article count before the merge);
#          story bands dst already holds are dropped; src's bookkeeping and its entries in
#          index_seen and story expiry go (src no longer exists)
#   split  the dup records of ordinal n move to dst as ordinal 0 (the split article);
#          src's later ordinals -= 1 (the article left src's list); story bands stay
# KEYS: index_seen, story expiry
# ARGV: bookkeeping prefix, dup shard prefix, story shard prefix, src seq, dst seq, mode, n,
#       a fresh bookkeeping value for dst. Returns the number of records dst received.
MOVE = (
    _LUA_HELPERS
    + """
local bp, src, dst, mode, n = ARGV[1], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local sbook = redis.call('GET', bp .. src)
if not sbook then return 0 end
local dbook = redis.call('GET', bp .. dst) or ARGV[8]
local stok, dtok = p32(tonumber(src)), p32(tonumber(dst))
local scount, dcount = u32(sbook), u32(dbook)
local srefs, drefs = string.sub(sbook, 13), string.sub(dbook, 13)
local received = 0
local function p16(x) return string.char(math.floor(x / 256), x % 256) end
for j = 1, #srefs - 1, 2 do
  local refb = string.sub(srefs, j, j + 1)
  local ref = string.byte(refb, 1) * 256 + string.byte(refb, 2)
  local key, size, dup = ARGV[3] .. ref, 8, false
  if ref >= 32768 then key, size, dup = ARGV[2] .. (ref - 32768), 10, true end
  local blob = redis.call('GET', key)
  if blob and (dup or mode == 'merge') then
    local parts, changed, gained = {}, false, false
    for i = 1, #blob - size + 1, size do
      local rec = string.sub(blob, i, i + size - 1)
      if string.sub(rec, 5, 8) == stok then
        local field, to_dst = string.sub(rec, 1, 4), false
        changed = true
        if dup then
          local ord = string.byte(rec, 9) * 256 + string.byte(rec, 10)
          if mode == 'merge' then
            if ord + n > 65534 then rec = nil
            else rec, to_dst = field .. dtok .. p16(ord + n), true end
          elseif ord == n then rec, to_dst = field .. dtok .. p16(0), true
          elseif ord > n then rec = field .. stok .. p16(ord - 1) end
        elseif find_aligned(blob, field .. dtok, 8, 0) then rec = nil
        else rec, to_dst = field .. dtok, true end
        if rec == nil or to_dst then scount = scount - 1 end
        if to_dst then dcount, received, gained = dcount + 1, received + 1, true end
      end
      if rec then parts[#parts + 1] = rec end
    end
    if changed then
      local rest = table.concat(parts)
      if rest == '' then redis.call('DEL', key) else redis.call('SET', key, rest) end
    end
    if gained and not find_aligned(drefs, refb, 2, 0) then drefs = drefs .. refb end
  end
end
redis.call('SET', bp .. dst, p32(dcount) .. string.sub(dbook, 5, 12) .. drefs)
if mode == 'merge' then
  redis.call('DEL', bp .. src)
  redis.call('ZREM', KEYS[1], src)
  redis.call('ZREM', KEYS[2], src)
else
  redis.call('SET', bp .. src, p32(math.max(scount, 0)) .. string.sub(sbook, 5))
end
return received
"""
)

# The clocks of a story or storyline hash once an article at (at, published, ingested) has
# joined (worker/pipeline/timing.py Span.joined; last_seen_at the newest event time) and, if
# it was a development, its development time and count. Times stay the text Python wrote.
_LUA_JOINED = """
local function joined(key, at, published, ingested, developed)
  local cur = redis.call('HMGET', key, 'last_seen_at', 'first_published_at',
                         'last_published_at', 'last_ingested_at')
  if not cur[1] or tonumber(at) > tonumber(cur[1]) then
    redis.call('HSET', key, 'last_seen_at', at)
  end
  if published ~= '' then
    if not cur[2] or tonumber(published) < tonumber(cur[2]) then
      redis.call('HSET', key, 'first_published_at', published)
    end
    if not cur[3] or tonumber(published) > tonumber(cur[3]) then
      redis.call('HSET', key, 'last_published_at', published)
    end
  end
  if not cur[4] or tonumber(ingested) > tonumber(cur[4]) then
    redis.call('HSET', key, 'last_ingested_at', ingested)
  end
  if developed == '1' then
    redis.call('HSET', key, 'last_development_at', at)
    redis.call('HINCRBY', key, 'development_count', 1)
  end
end
"""

# One more article joined a story: counts, clocks, centroid, sorted sets, and (once its TTL
# has dropped by 1/8) the TTL of every key of the story, articles and events included.
# KEYS: story, its articles, facts, events lists, activity zset, index_seen, expiry zset
# ARGV: story id, event time, publication time or '', ingestion time, developed '1'/'0',
#       terms JSON, ttl ms, expiry time, article key prefix, content-hash key prefix, url key
#       prefix, event key prefix
TOUCH_STORY = (
    _LUA_JOINED
    + """
local st = KEYS[1]
if redis.call('EXISTS', st) == 0 then return 0 end
local sid, at, ttl = ARGV[1], ARGV[2], tonumber(ARGV[7])
redis.call('HSET', st, 'terms', ARGV[6])
redis.call('HINCRBY', st, 'article_count', 1)
joined(st, at, ARGV[3], ARGV[4], ARGV[5])
if ARGV[5] == '1' then redis.call('ZADD', KEYS[5], at, sid) end
local seq = redis.call('HGET', st, 'seq')
redis.call('ZADD', KEYS[6], 'GT', at, seq)
redis.call('ZADD', KEYS[7], ARGV[8], seq)
if redis.call('PTTL', st) < ttl * 7 / 8 then
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
  for _, aid in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
    local akey = ARGV[9] .. aid
    redis.call('PEXPIRE', akey, ttl)
    local row = redis.call('HGET', akey, 'row')
    if row then
      local r = cjson.decode(row)
      redis.call('PEXPIRE', ARGV[10] .. r['content_hash'], ttl)
      if type(r['canonical_url']) == 'string' then
        redis.call('PEXPIRE', ARGV[11] .. redis.sha1hex(r['canonical_url']), ttl)
      end
    end
  end
  for _, eid in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
    redis.call('PEXPIRE', ARGV[12] .. eid, ttl)
  end
end
return 1
"""
)

# One more article joined a storyline (and, with new_story, one more story): counts, clocks,
# centroid, its sorted sets, and the TTL of its three keys, on every touch: they are few,
# and a storyline must outlive each of its stories (a story refreshes only every 1/8 TTL).
# KEYS: storyline, its stories set, its facts, storylines by activity, storyline expiry
# ARGV: storyline id, event time, publication time or '', ingestion time, developed
#       '1'/'0', new story '1'/'0', terms JSON, ttl ms, expiry time
TOUCH_STORYLINE = (
    _LUA_JOINED
    + """
local sl = KEYS[1]
if redis.call('EXISTS', sl) == 0 then return 0 end
redis.call('HSET', sl, 'terms', ARGV[7])
redis.call('HINCRBY', sl, 'article_count', 1)
if ARGV[6] == '1' then redis.call('HINCRBY', sl, 'story_count', 1) end
joined(sl, ARGV[2], ARGV[3], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[4], 'GT', ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[9], ARGV[1])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[8]) end
return 1
"""
)

# Numbers a hash in creation order at commit (a read would cost a round trip, and a
# transaction's reads come before its writes). KEYS: counter, hash; ARGV: field.
STAMP_SEQ = """
local n = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], n)
return n
"""

# Drops storylines whose data expired from the two storyline sorted sets; one still alive
# (the clocks disagree) is due again when its keys expire. Runs without the lock: it
# re-checks each storyline itself.
# KEYS: storylines by activity, storyline expiry
# ARGV: storyline key prefix, now (unix time), then storyline ids. Returns how many went.
SWEEP_STORYLINES = """
local now, gone = tonumber(ARGV[2]), 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local pttl = redis.call('PTTL', ARGV[1] .. id)
  if pttl == -2 then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    gone = gone + 1
  elseif pttl >= 0 then
    redis.call('ZADD', KEYS[2], now + pttl / 1000, id)
  else
    redis.call('ZREM', KEYS[2], id)  -- no TTL: nothing will expire
  end
end
return gone
"""

# The ingest's story read: the rows of some stories and, in the same round trip, the rows of
# their storylines (which the matcher reads next).
# KEYS: story hashes; ARGV: storyline key prefix, number of story fields, the story fields
#       (storyline_id first), then the storyline fields.
# Returns {story rows (one per key), {storyline id, storyline row}...}
STORIES_WITH_LINES = """
local nf = tonumber(ARGV[2])
local sf, lf = {}, {}
for i = 3, 2 + nf do sf[#sf + 1] = ARGV[i] end
for i = 3 + nf, #ARGV do lf[#lf + 1] = ARGV[i] end
local rows, lines, seen = {}, {}, {}
for i = 1, #KEYS do
  local row = redis.call('HMGET', KEYS[i], unpack(sf))
  rows[i] = row
  local line = row[1]
  if line and not seen[line] then
    seen[line] = true
    lines[#lines + 1] = {line, redis.call('HMGET', ARGV[1] .. line, unpack(lf))}
  end
end
return {rows, lines}
"""
