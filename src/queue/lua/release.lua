-- A stopping worker hands back every job it still holds (interrupted or never started):
-- they go to the front of the ready list and the interrupted attempt is not counted.
-- KEYS[1] inflight zset   KEYS[2] owner hash   KEYS[3] ready list   KEYS[4] attempts hash
-- KEYS[5] stats hash
-- ARGV[1] worker name
-- Returns how many jobs were handed back.
local owned = redis.call('HGETALL', KEYS[2])
local released = 0
for i = 1, #owned, 2 do
  local id = owned[i]
  if owned[i + 1] == ARGV[1] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HINCRBY', KEYS[4], id, -1)
    redis.call('RPUSH', KEYS[3], id)
    released = released + 1
  end
end
if released > 0 then
  redis.call('HINCRBY', KEYS[5], 'released', released)
end
return released
