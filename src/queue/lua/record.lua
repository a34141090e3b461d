-- Records a group of notifications (and syncs no notification caused), each coalesced per
-- channel and deduplicated by the channel's highest recorded message number, in one atomic
-- step. Nothing is written for a notification unless it is recorded, joined to a waiting job
-- or found covered, so a caller that sees an error (or no answer) knows a retry is safe and
-- a success is durable.
--
-- One hash per channel (KEYS[4 + i]) holds all the state, whatever the traffic:
--   n  the highest message number recorded on the channel
--   j  the job that number was recorded into (accepted as, or joined)
--   w  the job waiting for the channel; the lease script deletes it as the job starts
-- A number <= n is covered: Google numbers a channel's messages in the order it sends them,
-- so the change behind it happened before message n was sent, and the job n was recorded
-- into starts (or started) after message n arrived. See docs/queue.md.
--
-- KEYS[1] data hash (id -> payload)   KEYS[2] ready list   KEYS[3] stats hash
-- KEYS[4] channel_of hash (id -> channel)   KEYS[4 + i] channel key of entry i
-- ARGV[1] TTL in ms of a channel key, set when it gets a new job
-- ARGV[4i - 2] message number of entry i (0: no notification, never a duplicate)
-- ARGV[4i - 1] a fresh job id for entry i   ARGV[4i] its payload
-- ARGV[4i + 1] entry i's channel (the lease script finds the key from it: `<prefix>chan:<channel>`)
-- Returns {outcome, job id} flattened per entry; outcome is 'a' (accepted), 'c' (coalesced)
-- or 'd' (duplicate).
local out = {}
local accepted, coalesced, duplicate = 0, 0, 0
for i = 1, #KEYS - 4 do
  local key = KEYS[4 + i]
  local number = ARGV[4 * i - 2]
  local n = tonumber(number)
  local st = redis.call('HMGET', key, 'n', 'j', 'w')
  local highest = tonumber(st[1])
  if n > 0 and highest and n <= highest then
    duplicate = duplicate + 1
    out[#out + 1] = 'd'
    out[#out + 1] = st[2] or ''
  else
    local waiting = st[3]
    if waiting and redis.call('HEXISTS', KEYS[1], waiting) == 1 then
      if n > 0 then
        redis.call('HSET', key, 'n', number, 'j', waiting)
      end
      coalesced = coalesced + 1
      out[#out + 1] = 'c'
      out[#out + 1] = waiting
    else
      local id = ARGV[4 * i - 1]
      redis.call('HSET', KEYS[1], id, ARGV[4 * i])
      redis.call('LPUSH', KEYS[2], id)
      redis.call('HSET', KEYS[4], id, ARGV[4 * i + 1])
      if n > 0 then
        redis.call('HSET', key, 'n', number, 'j', id, 'w', id)
      else
        redis.call('HSET', key, 'w', id)
      end
      redis.call('PEXPIRE', key, ARGV[1])
      accepted = accepted + 1
      out[#out + 1] = 'a'
      out[#out + 1] = id
    end
  end
end
if accepted > 0 then redis.call('HINCRBY', KEYS[3], 'enqueued', accepted) end
if coalesced > 0 then redis.call('HINCRBY', KEYS[3], 'coalesced', coalesced) end
if duplicate > 0 then redis.call('HINCRBY', KEYS[3], 'duplicate', duplicate) end
return out
