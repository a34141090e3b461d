-- Hands the jobs of workers that stopped renewing (crashed, killed, partitioned) back to the
-- ready list, a bounded chunk per call. A job that has already used all its attempts (it
-- keeps killing its worker) goes to the dead set instead.
--
-- KEYS[1] inflight zset   KEYS[2] owner hash   KEYS[3] ready list   KEYS[4] attempts hash
-- KEYS[5] errors hash     KEYS[6] dead zset    KEYS[7] stats hash
-- ARGV[1] most jobs to reap   ARGV[2] max attempts
-- Returns how many jobs were reaped.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(ids) do
  local owner = redis.call('HGET', KEYS[2], id) or '?'
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  local attempts = tonumber(redis.call('HGET', KEYS[4], id) or '0')
  if attempts >= tonumber(ARGV[2]) then
    redis.call('HSET', KEYS[5], id, 'lease of worker ' .. owner .. ' expired on its last attempt (' .. attempts .. ')')
    redis.call('ZADD', KEYS[6], now, id)
    redis.call('HINCRBY', KEYS[7], 'failed', 1)
  else
    redis.call('RPUSH', KEYS[3], id)
    redis.call('HINCRBY', KEYS[7], 'redelivered', 1)
  end
end
return #ids
