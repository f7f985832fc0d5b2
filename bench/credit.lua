-- wrk script of docs/benchmarks.md: POST /v1/wallets/{id}/credit
-- round-robin over the wallet ids in $WALLETS_FILE (one a line), each
-- request with a unique Idempotency-Key and $TOKEN as the bearer token.
local ids = {}
local f = io.open(os.getenv("WALLETS_FILE") or "wallets.txt")
if f then
  for line in f:lines() do ids[#ids + 1] = line end
  f:close()
end
if #ids == 0 then ids[1] = "wal_baseline" end
local token = os.getenv("TOKEN") or ""
local threads, n = 0, 0

local run = tostring(os.time())

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  n = 0
end

function request()
  n = n + 1
  local id = ids[(n * 7 + tid) % #ids + 1]
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = "b" .. run .. "-" .. tid .. "-" .. n,
  }
  return wrk.format("POST", "/v1/wallets/" .. id .. "/credit", headers, '{"amount":"1.00"}')
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("RESULT rps=%.0f non2xx=%d p50=%.2fms p99=%.2fms\n",
    summary.requests / (summary.duration / 1e6), non2xx,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
