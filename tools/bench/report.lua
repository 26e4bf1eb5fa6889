-- wrk script for tools/bench/run.sh: when a run ends, prints one line that
-- the script parses:
--   bench-result requests=N duration_s=X rps=X p50_ms=X p99_ms=X non2xx=N
--                connect=N read=N write=N timeout=N
-- non2xx is wrk's own count of responses with a status of 400 or more
-- (counting in a response() callback would slow every request down);
-- connect/read/write/timeout are wrk's socket error counts.

done = function(summary, latency, requests)
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  local rps = 0
  if seconds > 0 then
    rps = summary.requests / seconds
  end
  io.write(string.format(
    "bench-result requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f "
      .. "p99_ms=%.3f non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, seconds, rps,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    errors.status, errors.connect, errors.read, errors.write,
    errors.timeout))
end
