-- wrk script for the mcp scenario of tools/bench/run.sh: POSTs `tools/call`
-- of one tool through one MCP session that the caller initialized (run.sh
-- does it with curl), checks every reply, and when the run ends prints one
-- line that run.sh parses:
--   bench-result requests=N duration_s=X rps=X p50_ms=X p90_ms=X p95_ms=X
--                p99_ms=X max_ms=X bytes=N connect=N read=N write=N
--                timeout=N non2xx=N bad=N sse=N json=N
--   bench-bad-reply STATUS BODY        (the first bad reply, when there is one)
--
-- Usage: wrk -t1 -c C -d D --latency -s mcp_call.lua URL \
--          -- SESSION PROTOCOL TOOL ARGS_JSON
--   SESSION    the Mcp-Session-Id the server gave the session
--   PROTOCOL   its protocol version, sent as MCP-Protocol-Version
--   TOOL       tool to call; ARGS_JSON its arguments, a JSON object
--
-- Every call has an id of its own, as MCP asks (an id is not to be used
-- twice in one session), from 1000000000 up: always 10 digits, so one
-- Content-Length fits every body and request() is one concatenation. Ids
-- matter to the TypeScript SDK: its transport maps an id to the HTTP
-- exchange that waits for it, so two calls in flight with one id would
-- share one entry.
--
-- A reply counts as bad (`bad`) when its status is not 200, its body holds no
-- `"result"`, or the tool answered `"isError":true`. wrk's own `non2xx` counts
-- statuses of 400 and more, the socket columns its connection errors. A run
-- with any of these is not a measurement. `sse` and `json` count the replies
-- that came as an event stream or as plain JSON; `bytes` is the mean body.

local threads = {}

-- The setup environment: one entry per wrk thread, each with its own range
-- of ids.
function setup(thread)
  thread:set("id_base", 1000000000 + #threads * 100000000)
  table.insert(threads, thread)
end

-- The running environment of one thread.
local prefix, suffix
local next_id = 0

function init(args)
  local session, protocol, tool, arguments = args[1], args[2], args[3], args[4]
  if not (session and protocol and tool and arguments) then
    error("usage: -- SESSION PROTOCOL TOOL ARGS_JSON")
  end

  -- Counters that done() collects.
  bad, sse, json, body_bytes, bad_sample = 0, 0, 0, 0, ""

  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  wrk.headers["Mcp-Session-Id"] = session
  wrk.headers["MCP-Protocol-Version"] = protocol
  local params = '"method":"tools/call","params":{"name":"' .. tool
    .. '","arguments":' .. arguments .. "}}"
  -- The request up to the id and after it.
  next_id = id_base
  local marker = "0000000000"
  local text = wrk.format(nil, nil, nil,
    '{"jsonrpc":"2.0","id":' .. marker .. "," .. params)
  local at = text:find(marker, 1, true)
  prefix, suffix = text:sub(1, at - 1), text:sub(at + #marker)
end

function request()
  next_id = next_id + 1
  return prefix .. next_id .. suffix
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"result"', 1, true)
    or body:find('"isError":true', 1, true) then
    bad = bad + 1
    if bad_sample == "" then
      bad_sample = status .. " " .. body:sub(1, 200):gsub("%s+", " ")
    end
    return
  end
  body_bytes = body_bytes + #body
  if body:sub(1, 5) == "event" or body:sub(1, 5) == "data:" then
    sse = sse + 1
  else
    json = json + 1
  end
end

function done(summary, latency, requests)
  local totals = { bad = 0, sse = 0, json = 0, body_bytes = 0 }
  local sample = ""
  for _, thread in ipairs(threads) do
    for name in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
    if sample == "" then
      sample = thread:get("bad_sample")
    end
  end

  local seconds = summary.duration / 1e6
  local errors = summary.errors
  local good = totals.sse + totals.json
  local function ms(q)
    return latency:percentile(q) / 1000
  end
  io.write(string.format(
    "bench-result requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f "
      .. "p90_ms=%.3f p95_ms=%.3f p99_ms=%.3f max_ms=%.3f bytes=%d "
      .. "connect=%d read=%d write=%d timeout=%d non2xx=%d bad=%d sse=%d "
      .. "json=%d\n",
    summary.requests, seconds,
    seconds > 0 and summary.requests / seconds or 0,
    ms(50), ms(90), ms(95), ms(99), latency.max / 1000,
    good > 0 and math.floor(totals.body_bytes / good + 0.5) or 0,
    errors.connect, errors.read, errors.write, errors.timeout, errors.status,
    totals.bad, totals.sse, totals.json))
  if sample ~= "" then
    io.write("bench-bad-reply " .. sample .. "\n")
  end
end
