-- Leases the next job to a worker: moves due retries (a bounded chunk) onto the ready list,
-- pops one id, records the lease deadline and owner, counts the attempt and clears the
-- job's coalescing marker (a `marker:<key>` string, or the `w` field of a channel's hash
-- written by record.lua), so a notification arriving from now on gets a new job.
--
-- KEYS[1] ready list      KEYS[2] delayed zset (id -> due ms)   KEYS[3] inflight zset (id -> lease deadline ms)
-- KEYS[4] owner hash      KEYS[5] data hash                     KEYS[6] attempts hash
-- KEYS[7] coalesce hash (id -> marker key)                     KEYS[8] channel_of hash (id -> channel)
-- ARGV[1] lease in ms     ARGV[2] worker name                   ARGV[3] most retries to promote
-- Returns {id, payload, attempt} or false when nothing is ready.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('RPUSH', KEYS[1], id)
end
while true do
  local id = redis.call('RPOP', KEYS[1])
  if not id then
    return false
  end
  local payload = redis.call('HGET', KEYS[5], id)
  if payload then
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[1]), id)
    redis.call('HSET', KEYS[4], id, ARGV[2])
    local attempt = redis.call('HINCRBY', KEYS[6], id, 1)
    local marker = redis.call('HGET', KEYS[7], id)
    if marker then
      if redis.call('GET', marker) == id then
        redis.call('DEL', marker)
      end
      redis.call('HDEL', KEYS[7], id)
    end
    local channel = redis.call('HGET', KEYS[8], id)
    if channel then
      -- KEYS[8] is `<prefix>channel_of`; the channel's hash is `<prefix>chan:<channel>`.
      channel = string.sub(KEYS[8], 1, -11) .. 'chan:' .. channel
      if redis.call('HGET', channel, 'w') == id then
        redis.call('HDEL', channel, 'w')
      end
      redis.call('HDEL', KEYS[8], id)
    end
    return {id, payload, attempt}
  end
  -- An id without data cannot run; it is dropped.
end
