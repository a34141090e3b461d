-- Google refused a request for its rate limit: halves the scope's budget (multiplicative
-- decrease, never below a tenth); acquire.lua adds it back at +10% every 10 s (additive
-- increase), so the budget settles just under what Google accepts.
--
-- KEYS[1] the scope's backoff hash   KEYS[2] stats hash
-- ARGV[1] lane name
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 'f', 'at')
local f = 1.0
if v[1] then
  f = math.min(1.0, tonumber(v[1]) + (now - tonumber(v[2])) * 0.00001)
end
f = math.max(0.1, f * 0.5)
redis.call('HSET', KEYS[1], 'f', tostring(f), 'at', now)
redis.call('PEXPIRE', KEYS[1], 600000)
redis.call('HINCRBY', KEYS[2], 'refused:' .. ARGV[1], 1)
return tostring(f)
