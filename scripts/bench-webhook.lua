-- wrk script for scripts/bench-webhook: valid Google Calendar notifications spread over the
-- channels listed in $BENCH_TOKENS ("channel_id token" per line), each with its own
-- increasing message number, so every request is a new notification (accepted or coalesced,
-- never a duplicate).
local threads = {}
local counter = 1

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  channels = {}
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    local id, token = line:match("^(%S+) (%S+)$")
    table.insert(channels, { id = id, token = token })
  end
  i = thread_id * 7919
  -- Distinct message numbers across threads and runs.
  number = thread_id * 1000000000 + os.time() % 100000 * 10000
end

function request()
  i = i + 1
  number = number + 1
  local c = channels[(i % #channels) + 1]
  return wrk.format("POST", "/api/webhooks/google-calendar", {
    ["X-Goog-Channel-ID"] = c.id,
    ["X-Goog-Channel-Token"] = c.token,
    ["X-Goog-Resource-State"] = "exists",
    ["X-Goog-Message-Number"] = tostring(number),
    ["X-Goog-Resource-ID"] = "bench-resource",
    ["Content-Length"] = "0",
  }, "")
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("BENCH rps=%.0f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
