-- Ends one attempt of a leased job: 'done' forgets it, 'retry' parks it in the delayed set,
-- 'defer' does the same without counting the attempt (the job only had to wait its turn),
-- 'dead' moves it to the dead set (its payload is kept for inspection).
-- A worker that no longer owns the lease (it expired and the job was handed to another
-- worker) changes nothing: the other run decides.
--
-- KEYS[1] inflight zset   KEYS[2] owner hash   KEYS[3] data hash   KEYS[4] attempts hash
-- KEYS[5] errors hash     KEYS[6] delayed zset KEYS[7] dead zset   KEYS[8] stats hash
-- ARGV[1] job id   ARGV[2] worker name   ARGV[3] 'done' | 'retry' | 'defer' | 'dead'
-- ARGV[4] retry delay in ms   ARGV[5] error text
-- Returns 1 when applied, 0 when the lease was lost.
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then
  redis.call('HINCRBY', KEYS[8], 'lease_lost', 1)
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', KEYS[2], id)
if ARGV[3] == 'done' then
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('HINCRBY', KEYS[8], 'processed', 1)
elseif ARGV[3] == 'retry' then
  redis.call('HSET', KEYS[5], id, ARGV[5])
  redis.call('ZADD', KEYS[6], now + tonumber(ARGV[4]), id)
  redis.call('HINCRBY', KEYS[8], 'retried', 1)
elseif ARGV[3] == 'defer' then
  redis.call('HINCRBY', KEYS[4], id, -1)
  redis.call('ZADD', KEYS[6], now + tonumber(ARGV[4]), id)
  redis.call('HINCRBY', KEYS[8], 'deferred', 1)
else
  redis.call('HSET', KEYS[5], id, ARGV[5])
  redis.call('ZADD', KEYS[7], now, id)
  redis.call('HINCRBY', KEYS[8], 'failed', 1)
end
return 1
