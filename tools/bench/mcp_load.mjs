// Load client for the MCP benchmark: initializes ONE session on an MCP
// endpoint, then sends `tools/call` of one tool with fixed arguments N times,
// C at a time, over keep-alive connections of node's http module (no SDK, to
// keep the client cheap). Replies may come as JSON or on an SSE stream; both
// are parsed and checked for the call's id and a result that is no error.
// Prints requests/s, latency percentiles, errors, the mean size of a reply
// body, one call's result (so that two servers can be checked for the same
// answer) and the client's own CPU time; exits 1 when a call failed.
//
// Usage: node mcp_load.mjs URL [--tool NAME] [--args JSON] [-n N] [-c C]
//          [--warmup N] [--duration S] [--timeout MS] [--json]
//   URL        the MCP endpoint, on a loopback address only,
//              e.g. http://127.0.0.1:8080/mcp/conformance
//   --tool     tool to call (default echo)
//   --args     its arguments as a JSON object (default {"text":"hello"})
//   -n         calls to measure (default 10000)
//   -c         calls in flight at once, one connection each (default 10)
//   --warmup   calls before the measured ones, not counted (default 100)
//   --duration stops measuring after S seconds even if N are not done
//              (default 60)
//   --timeout  time one call may take in ms (default 10000)
//   --json     prints one JSON object instead of the table

import http from 'node:http';
import process from 'node:process';

import { readCommandLine } from '../../tests/mcp/command_line.mjs';

const usage = `usage: node mcp_load.mjs URL [--tool NAME] [--args JSON] [-n N] [-c C]
         [--warmup N] [--duration S] [--timeout MS] [--json]`;

// -- arguments ----------------------------------------------------------------

function parseArgs(argv) {
  const opts = {
    url: null,
    tool: 'echo',
    args: { text: 'hello' },
    count: 10000,
    concurrency: 10,
    warmup: 100,
    durationS: 60,
    timeoutMs: 10000,
    json: false,
  };
  const option = (arg, take) => {
    switch (arg) {
      case '--tool':
        opts.tool = take.value();
        return true;
      case '--args':
        opts.args = take.object();
        return true;
      case '-n':
        opts.count = take.number(1, 10_000_000);
        return true;
      case '-c':
        opts.concurrency = take.number(1, 1000);
        return true;
      case '--warmup':
        opts.warmup = take.number(0, 1_000_000);
        return true;
      case '--duration':
        opts.durationS = take.number(1, 3600);
        return true;
      case '--timeout':
        opts.timeoutMs = take.number(1, 600_000);
        return true;
      case '--json':
        opts.json = true;
        return true;
      default:
        return false;
    }
  };
  opts.url = readCommandLine(argv, { name: 'mcp_load', usage, option, schemes: ['http:'] }).url;
  return opts;
}

// -- HTTP ---------------------------------------------------------------------

class Endpoint {
  constructor(url, concurrency, timeoutMs) {
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    this.session = undefined;
    this.protocol = undefined;
  }

  headers(extra = {}) {
    const h = { Accept: 'application/json, text/event-stream', ...extra };
    if (this.session !== undefined) h['Mcp-Session-Id'] = this.session;
    if (this.protocol !== undefined) h['MCP-Protocol-Version'] = this.protocol;
    return h;
  }

  // Sends one request; resolves to { status, headers, body }.
  send(method, body) {
    return new Promise((resolve, reject) => {
      const headers = this.headers(
        body === undefined ? {} : { 'Content-Type': 'application/json' },
      );
      const req = http.request(this.url, { method, agent: this.agent, headers }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      });
      req.setTimeout(this.timeoutMs, () =>
        req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close() {
    this.agent.destroy();
  }
}

// The JSON-RPC messages of a reply: one JSON body, or the `data` of each
// event of an SSE stream.
function messagesOf(reply) {
  const type = reply.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) return [JSON.parse(reply.body)].flat();
  if (!type.startsWith('text/event-stream'))
    throw new Error(`HTTP ${reply.status} with content type '${type}'`);
  const messages = [];
  for (const event of reply.body.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
      .join('\n');
    if (data.trim() !== '') messages.push(JSON.parse(data));
  }
  return messages;
}

// The result of the JSON-RPC request `id` in `reply`; throws on an error.
function resultOf(reply, id) {
  if (reply.status !== 200) throw new Error(`HTTP ${reply.status}: ${reply.body.slice(0, 120)}`);
  const answer = messagesOf(reply).find((m) => m && m.id === id && ('result' in m || 'error' in m));
  if (answer === undefined) throw new Error(`no answer to request ${id} in the reply`);
  if ('error' in answer)
    throw new Error(`JSON-RPC error ${answer.error.code}: ${answer.error.message}`);
  return answer.result;
}

// -- the session --------------------------------------------------------------

async function initialize(endpoint) {
  const reply = await endpoint.send(
    'POST',
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'switchboard-mcp-load', version: '1.0.0' },
      },
    }),
  );
  const result = resultOf(reply, 0);
  endpoint.session = reply.headers['mcp-session-id'];
  endpoint.protocol = result.protocolVersion;
  const ack = await endpoint.send(
    'POST',
    JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  );
  if (ack.status !== 202 && ack.status !== 200 && ack.status !== 204)
    throw new Error(`notifications/initialized: HTTP ${ack.status}`);
  return result;
}

async function terminate(endpoint) {
  if (endpoint.session === undefined) return;
  try {
    await endpoint.send('DELETE');
  } catch {
    // The numbers are in; a failed goodbye changes none of them.
  }
}

// -- load ---------------------------------------------------------------------

// Runs `count` calls with `concurrency` in flight, stopping at `deadline`
// (ms since the epoch). Returns latencies of the successes, error count,
// samples of error messages, reply kinds, body bytes, the first result,
// elapsed seconds and this process's CPU time.
async function run(endpoint, opts, count, deadline, firstId) {
  const stats = {
    latencies: [],
    errors: 0,
    samples: new Set(),
    sse: 0,
    json: 0,
    bytes: 0,
    result: undefined,
  };
  const body = (id) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: opts.tool, arguments: opts.args },
    });
  let issued = 0;
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const worker = async () => {
    while (issued < count && Date.now() < deadline) {
      const id = firstId + issued++;
      const t0 = process.hrtime.bigint();
      try {
        const reply = await endpoint.send('POST', body(id));
        const result = resultOf(reply, id);
        if (result?.isError)
          throw new Error(`tool error: ${JSON.stringify(result.content).slice(0, 120)}`);
        stats.latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        stats.bytes += Buffer.byteLength(reply.body);
        if (stats.result === undefined) stats.result = canonical(result);
        if ((reply.headers['content-type'] ?? '').startsWith('text/event-stream')) ++stats.sse;
        else ++stats.json;
      } catch (err) {
        ++stats.errors;
        if (stats.samples.size < 3)
          stats.samples.add(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  stats.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  stats.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  stats.issued = issued;
  return stats;
}

// `x` as JSON with the keys of every object sorted, so that two servers'
// results compare equal whatever order they write their keys in.
function canonical(x) {
  const sorted = (v) => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sorted(v[k])]),
    );
  };
  return JSON.stringify(sorted(x));
}

function percentile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function report(opts, init, endpoint, stats) {
  const cpu = process.cpuUsage();
  const processCpu = cpu.user + cpu.system;
  const sorted = [...stats.latencies].sort((a, b) => a - b);
  const summary = {
    url: opts.url.href,
    server: init.serverInfo ?? null,
    protocol: endpoint.protocol ?? null,
    session: endpoint.session ?? null,
    tool: opts.tool,
    concurrency: opts.concurrency,
    requests: stats.issued,
    errors: stats.errors,
    seconds: Number(stats.seconds.toFixed(3)),
    requests_per_s: Number((stats.issued / stats.seconds).toFixed(1)),
    latency_ms: {
      p50: Number(percentile(sorted, 0.5).toFixed(3)),
      p95: Number(percentile(sorted, 0.95).toFixed(3)),
      p99: Number(percentile(sorted, 0.99).toFixed(3)),
      max: Number((sorted[sorted.length - 1] ?? NaN).toFixed(3)),
    },
    replies: { sse: stats.sse, json: stats.json },
    reply_bytes: Math.round(stats.bytes / Math.max(1, sorted.length)),
    result: stats.result ?? null,
    client_cpu_s: Number(stats.cpuSeconds.toFixed(3)),
    process_cpu_s: Number((processCpu / 1e6).toFixed(3)),
    error_samples: [...stats.samples],
  };
  if (opts.json) {
    console.log(JSON.stringify(summary));
    return;
  }
  const l = summary.latency_ms;
  console.log(
    `target      ${summary.url} (${summary.server?.name ?? '?'}, protocol ${summary.protocol ?? '?'}, ` +
      `session ${summary.session ?? 'none'})`,
  );
  console.log(`tool        ${opts.tool} ${JSON.stringify(opts.args)}`);
  console.log(
    `requests    ${summary.requests} in ${summary.seconds} s, concurrency ${summary.concurrency}, ` +
      `errors ${summary.errors}`,
  );
  console.log(`throughput  ${summary.requests_per_s} req/s`);
  console.log(`latency ms  p50 ${l.p50}  p95 ${l.p95}  p99 ${l.p99}  max ${l.max}`);
  console.log(
    `replies     sse ${summary.replies.sse}, json ${summary.replies.json}, ` +
      `${summary.reply_bytes} body bytes each on average`,
  );
  console.log(`result      ${summary.result ?? 'none'}`);
  console.log(
    `client cpu  ${summary.client_cpu_s} s ` +
      `(${Math.round((100 * stats.cpuSeconds) / stats.seconds)}% of one core)`,
  );
  for (const x of summary.error_samples) console.log(`error       ${x}`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const endpoint = new Endpoint(opts.url, opts.concurrency, opts.timeoutMs);
  let init;
  try {
    init = await initialize(endpoint);
  } catch (err) {
    console.error(`mcp_load: initialize failed: ${err instanceof Error ? err.message : err}`);
    endpoint.close();
    process.exit(1);
  }
  const deadline = Date.now() + opts.durationS * 1000;
  if (opts.warmup > 0) await run(endpoint, opts, opts.warmup, deadline, 1);
  const stats = await run(endpoint, opts, opts.count, deadline, 1 + opts.warmup);
  await terminate(endpoint);
  endpoint.close();
  report(opts, init, endpoint, stats);
  process.exit(stats.errors > 0 ? 1 : 0);
}

main().catch((err) => {
  console.error(`mcp_load: ${err instanceof Error ? err.stack : err}`);
  process.exit(1);
});
