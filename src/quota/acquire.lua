-- Takes room for one Google request in the shared quota, or says how long to wait.
--
-- Two sliding windows of one-second buckets (a hash: second -> units), the user's and the
-- project's; a request fits when the units in the last 61 seconds (a whole minute whatever
-- the phase, so no 60-second window at Google sees more) plus its cost stay within the
-- lane's share of the budget. The budget itself is the configured one times the scope's
-- backoff factor (halved by a refusal from Google, recovering +10% every 10 s). A lower lane
-- also waits while a higher lane of the same scope is waiting, so under pressure
-- notification syncs go first, then pushes, renewals, backstop polls. Nothing is refused for
-- good: the caller waits the returned time and asks again.
--
-- KEYS[1] user window hash    KEYS[2] project window hash
-- KEYS[3] user backoff hash   KEYS[4] project backoff hash
-- KEYS[5] user waiters hash   KEYS[6] project waiters hash
-- KEYS[7] today's project counter   KEYS[8] stats hash
-- ARGV[1] units   ARGV[2] lane (0 = notification ... 3 = backstop)   ARGV[3] lane name
-- ARGV[4] user budget per minute   ARGV[5] project budget per minute
-- ARGV[6] project budget per day   (0 = none, for each budget)
-- ARGV[7] ms left until the day ends (for a spent daily budget)
-- ARGV[8] '1' to only ask (nothing is charged: a job deciding whether to start)
-- Returns 0 when charged (or, asking only, when there is room), else the ms to wait.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local sec = math.floor(now / 1000)
local units = tonumber(ARGV[1])
local lane = tonumber(ARGV[2])
local shares = {1.0, 0.9, 0.8, 0.7}
local share = shares[lane + 1] or 0.7

local function factor(key)
  local v = redis.call('HMGET', key, 'f', 'at')
  if not v[1] then
    return 1.0
  end
  local f = tonumber(v[1]) + (now - tonumber(v[2])) * 0.00001
  if f >= 1.0 then
    return 1.0
  end
  return f
end

local function window(key)
  local all = redis.call('HGETALL', key)
  local used, buckets, stale = 0, {}, {}
  for i = 1, #all, 2 do
    local b = tonumber(all[i])
    if b < sec - 60 then
      table.insert(stale, all[i])
    else
      local u = tonumber(all[i + 1])
      used = used + u
      table.insert(buckets, {b, u})
    end
  end
  if #stale > 0 then
    redis.call('HDEL', key, unpack(stale))
  end
  table.sort(buckets, function(x, y) return x[1] < y[1] end)
  return used, buckets
end

local function higher_lane_waiting(waiters)
  if lane == 0 then
    return false
  end
  local w = redis.call('HMGET', waiters, '0', '1', '2')
  for i = 1, lane do
    if w[i] and tonumber(w[i]) > now then
      return true
    end
  end
  return false
end

-- 0 when the request fits this scope, else the ms until it may.
local function verdict(win, backoff, waiters, budget)
  if budget <= 0 then
    return 0
  end
  local allowed = math.floor(budget * factor(backoff) * share)
  if allowed < units then
    allowed = units
  end
  local used, buckets = window(win)
  local wait = 0
  if used + units > allowed then
    wait = 1000
    local freed = 0
    for _, b in ipairs(buckets) do
      freed = freed + b[2]
      if used - freed + units <= allowed then
        wait = (b[1] + 61) * 1000 - now
        break
      end
    end
  elseif higher_lane_waiting(waiters) then
    wait = 200
  end
  if wait > 0 then
    if wait < 1 then
      wait = 1
    end
    local step = math.min(wait, 1000)
    redis.call('HSET', waiters, tostring(lane), now + step + 500)
    redis.call('PEXPIRE', waiters, 120000)
  end
  return wait
end

local wait = verdict(KEYS[1], KEYS[3], KEYS[5], tonumber(ARGV[4]))
if wait == 0 then
  wait = verdict(KEYS[2], KEYS[4], KEYS[6], tonumber(ARGV[5]))
end
local daily = tonumber(ARGV[6])
if wait == 0 and daily > 0 then
  local spent = tonumber(redis.call('GET', KEYS[7]) or '0')
  if spent + units > math.floor(daily * share) then
    wait = tonumber(ARGV[7])
  end
end
if wait > 0 or ARGV[8] == '1' then
  return wait
end
for _, key in ipairs({KEYS[1], KEYS[2]}) do
  redis.call('HINCRBY', key, tostring(sec), units)
  redis.call('EXPIRE', key, 120)
end
if daily > 0 then
  redis.call('INCRBY', KEYS[7], units)
  redis.call('EXPIRE', KEYS[7], 172800)
end
redis.call('HINCRBY', KEYS[8], 'units:' .. ARGV[3], units)
return 0
