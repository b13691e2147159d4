-- Shared by every scenario: one machine-readable line at the end, which
-- bench.py parses. Latencies are in microseconds.
local M = {}

function M.done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "WRK_RESULT requests=%d errors=%d status_errors=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, errors, summary.errors.status, seconds,
    (summary.requests - errors) / seconds,
    latency:percentile(50), latency:percentile(99), latency.max))
end

return M
