-- Requests for bench/api/run.py, and a machine-readable summary at the end.
-- Usage: wrk ... -s bench.lua URL -- MODE PATH [MAX_ID] [ISBN_PREFIX]
--   MODE retrieve: GET PATH/<random id in 1..MAX_ID>
--   MODE get:      GET PATH (query string included)
--   MODE create:   POST PATH, a new book with a unique 13-digit isbn:
--                  ISBN_PREFIX (3 digits) .. thread number (1 digit) .. counter (9 digits)

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local mode, path, max_id, prefix
local counter = 0
local genres = {"fiction", "science", "programming"}

function init(args)
  mode = args[1]
  path = args[2]
  max_id = tonumber(args[3] or "1")
  prefix = args[4] or "100"
  math.randomseed(os.time() * 7919 + (tid or 0) * 104729)
end

function request()
  if mode == "retrieve" then
    return wrk.format("GET", path .. "/" .. math.random(1, max_id))
  elseif mode == "create" then
    counter = counter + 1
    local body = string.format(
      '{"title":"Benchmark book %d","isbn":"%s%d%09d","price":%d.%02d,'
      .. '"genre":"%s","published_year":%d,"tags":["bench","wrk"],"in_stock":true,'
      .. '"author_id":%d,"summary":"Created by the API benchmark."}',
      counter, prefix, tid or 0, counter, math.random(1, 199), math.random(0, 99),
      genres[math.random(1, 3)], math.random(1950, 2024), math.random(1, 1000))
    return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
  else
    return wrk.format("GET", path)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"status_errors":%d,'
    .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read,
    e.write, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
