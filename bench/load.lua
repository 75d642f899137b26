-- wrk script for riskreg benchmarks: POST an assessment or GET a case, for a random case.
-- Environment: BENCH_MODE (post|get), BENCH_IDS (file of case ids, one a line),
-- BENCH_KEY (API key, empty for the ceiling), BENCH_PREFIX ("/api/v1" or ""),
-- BENCH_ASSESSED_AT (an RFC 3339 time in the past).
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

local ids = {}
local mode, key, prefix, body

function init(args)
  math.randomseed(os.time() * 100 + (thread_id or 0))
  for line in io.lines(os.getenv("BENCH_IDS")) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  mode = os.getenv("BENCH_MODE") or "get"
  key = os.getenv("BENCH_KEY") or ""
  prefix = os.getenv("BENCH_PREFIX") or ""
  body = '{"assessed_at":"' .. os.getenv("BENCH_ASSESSED_AT") ..
    '","indicators":["missing_once","older_partner","substance_use"],' ..
    '"notes":"Seen near the station with older peers; plan reviewed."}'
end

function request()
  local id = ids[math.random(#ids)]
  local headers = {}
  if #key > 0 then headers["Authorization"] = "Bearer " .. key end
  if mode == "post" then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", prefix .. "/cases/" .. id .. "/assessments", headers, body)
  end
  return wrk.format("GET", prefix .. "/cases/" .. id, headers)
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, errors, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
