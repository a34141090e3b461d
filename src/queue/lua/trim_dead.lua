-- Forgets dead jobs older than the retention, a bounded chunk per call: their id in the dead
-- set and their payload, attempt count and last error. Younger dead jobs stay for
-- inspection. Idempotent, so any number of workers may run it; the fleet's turn keeps it to
-- one call per interval.
--
-- KEYS[1] dead zset   KEYS[2] data hash   KEYS[3] attempts hash   KEYS[4] errors hash
-- ARGV[1] retention in ms   ARGV[2] most jobs to forget
-- Returns how many were forgotten.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]),
  'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
return #ids
