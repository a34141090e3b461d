-- Records one job, deduplicating and coalescing in the same atomic step.
-- Nothing is written unless the job is recorded or found already waiting, so a caller that
-- sees an error (or no answer) knows a retry is safe and a success is durable.
--
-- KEYS[1] data hash (id -> payload)      KEYS[2] ready list
-- KEYS[3] stats hash                     KEYS[4] coalesce hash (id -> marker key)
-- KEYS[5] dedup key, or ''               KEYS[6] marker key, or ''
-- ARGV[1] job id   ARGV[2] payload   ARGV[3] dedup TTL in ms
-- Returns {outcome, job id}; outcome is 'accepted', 'coalesced' or 'duplicate'.
if KEYS[5] ~= '' then
  if not redis.call('SET', KEYS[5], ARGV[1], 'NX', 'PX', ARGV[3]) then
    redis.call('HINCRBY', KEYS[3], 'duplicate', 1)
    return {'duplicate', redis.call('GET', KEYS[5]) or ''}
  end
end
if KEYS[6] ~= '' then
  -- The marker names the job still waiting for this key. The worker that leases that job
  -- deletes the marker in the same script, so a job that has started is never joined.
  local waiting = redis.call('GET', KEYS[6])
  if waiting and redis.call('HEXISTS', KEYS[1], waiting) == 1 then
    redis.call('HINCRBY', KEYS[3], 'coalesced', 1)
    return {'coalesced', waiting}
  end
  redis.call('SET', KEYS[6], ARGV[1])
  redis.call('HSET', KEYS[4], ARGV[1], KEYS[6])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'enqueued', 1)
return {'accepted', ARGV[1]}
