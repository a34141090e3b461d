-- Extends the leases a live worker still holds.
-- KEYS[1] inflight zset   KEYS[2] owner hash
-- ARGV[1] lease in ms     ARGV[2] worker name   ARGV[3..] job ids
-- Returns how many leases were extended.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local renewed = 0
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[2] then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i])
    renewed = renewed + 1
  end
end
return renewed
