// A real MCP client against Switchboard: the official TypeScript SDK's
// Client over Streamable HTTP. Prints one line per check (`ok - ...` or
// `not ok - ...`), then `N passed, M failed`; exits 1 when a check failed
// and 2 on bad usage.
//
//   "$(tests/mcp/node.sh)" tests/mcp/sdk_client.mjs http://127.0.0.1:PORT/mcp \
//     [--expect-pages N] [--context NAME --call TOOL [--args JSON]]... \
//     [--progress-context NAME] [--progress-tool TOOL] [--no-progress] \
//     [--timeout MS] [--deadline S]
//
// The checks, in order:
// - connect: initialize and the `initialized` notification, on URL;
// - ping;
// - tools/list on URL, following `nextCursor` to the end; with
//   `--expect-pages N` at least N pages must come;
// - each `--call TOOL` of the `--context` before it: a session of its own on
//   URL/CONTEXT, the call, which must not be a tool error;
// - progress: TOOL of `--progress-context` (default: test_tool_with_progress
//   of conformance) with a progress token; at least one progress
//   notification must arrive before the result, and the result on an SSE
//   stream;
// - terminate: DELETE of the session of URL.
//
// Only loopback addresses are accepted as targets.

import process from 'node:process';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { readCommandLine } from './command_line.mjs';

const usage = `usage: sdk_client.mjs URL [--expect-pages N]
  [--context NAME --call TOOL [--args JSON]]... [--progress-context NAME]
  [--progress-tool TOOL] [--no-progress] [--timeout MS] [--deadline S]`;

// -- arguments ---------------------------------------------------------------

function parseArgs(argv) {
  const opts = {
    url: null,
    expectPages: 0,
    calls: [],
    progressContext: 'conformance',
    progressTool: 'test_tool_with_progress',
    progress: true,
    timeoutMs: 10000,
    deadlineS: 60,
  };
  let context = null;
  const option = (arg, take, fail) => {
    switch (arg) {
      case '--expect-pages':
        opts.expectPages = take.count(1);
        return true;
      case '--context':
        context = take.value();
        return true;
      case '--call':
        if (context === null) fail('--call needs a --context before it');
        opts.calls.push({ context, tool: take.value(), args: {} });
        return true;
      case '--args':
        if (opts.calls.length === 0) fail('--args needs a --call before it');
        opts.calls[opts.calls.length - 1].args = take.object();
        return true;
      case '--progress-context':
        opts.progressContext = take.value();
        return true;
      case '--progress-tool':
        opts.progressTool = take.value();
        return true;
      case '--no-progress':
        opts.progress = false;
        return true;
      case '--timeout':
        opts.timeoutMs = take.count(1);
        return true;
      case '--deadline':
        opts.deadlineS = take.count(1);
        return true;
      default:
        return false;
    }
  };
  opts.url = readCommandLine(argv, { name: 'sdk_client', usage, option }).url;
  return opts;
}

// The URL of `context`: a path segment below the MCP endpoint.
function contextUrl(base, context) {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${encodeURIComponent(context)}`;
  return url;
}

// -- reporting ---------------------------------------------------------------

let passed = 0;
let failed = 0;

function ok(what) {
  ++passed;
  console.log(`ok - ${what}`);
}

function notOk(what, why) {
  ++failed;
  console.log(`not ok - ${what}: ${why}`);
}

function reason(err) {
  if (err instanceof Error) {
    const code = err.code !== undefined ? ` (code ${err.code})` : '';
    const cause = err.cause ? ` (${err.cause.code ?? err.cause.message ?? err.cause})` : '';
    return `${err.message}${code}${cause}`;
  }
  return String(err);
}

// Runs `body` as the check `what`; `body` returns the detail of the `ok`
// line or throws. Returns whether the check passed.
async function check(what, body) {
  try {
    const detail = await body();
    ok(detail ? `${what}: ${detail}` : what);
    return true;
  } catch (err) {
    notOk(what, reason(err));
    return false;
  }
}

// -- sessions ----------------------------------------------------------------

// A fetch that remembers the content type of each answer to a POST, by
// JSON-RPC method and tool name (`tools/call:NAME`).
function recordingFetch(contentTypes) {
  return async (url, init) => {
    const res = await fetch(url, init);
    if (init?.method === 'POST' && typeof init.body === 'string') {
      try {
        const msg = JSON.parse(init.body);
        if (msg && typeof msg.method === 'string') {
          const key = msg.params?.name ? `${msg.method}:${msg.params.name}` : msg.method;
          contentTypes.set(key, res.headers.get('content-type') ?? '');
        }
      } catch {
        // A batch or no JSON: nothing to remember.
      }
    }
    return res;
  };
}

// Connects a new client to `url`: initialize, then `initialized`.
async function openSession(url, timeoutMs) {
  const contentTypes = new Map();
  const client = new Client({ name: 'switchboard-sdk-client', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(url, {
    fetch: recordingFetch(contentTypes),
  });
  await client.connect(transport, { timeout: timeoutMs });
  return { client, transport, contentTypes };
}

// Terminates the session (DELETE) and closes the client; throws when the
// server refuses the DELETE.
async function closeSession(session) {
  try {
    if (session.transport.sessionId !== undefined) await session.transport.terminateSession();
  } finally {
    await session.client.close();
  }
}

function textOf(result) {
  const item = (result.content ?? []).find((x) => x.type === 'text');
  const text = item ? item.text : JSON.stringify(result.content ?? []);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// -- checks ------------------------------------------------------------------

async function listTools(client, opts) {
  const names = new Set();
  const cursors = new Set();
  let pages = 0;
  let cursor;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor }, {
      timeout: opts.timeoutMs,
    });
    ++pages;
    for (const tool of page.tools) {
      if (names.has(tool.name)) throw new Error(`tool ${tool.name} came twice (page ${pages})`);
      names.add(tool.name);
    }
    cursor = page.nextCursor;
    if (cursor !== undefined) {
      if (cursors.has(cursor)) throw new Error(`cursor ${JSON.stringify(cursor)} came twice`);
      cursors.add(cursor);
    }
  } while (cursor !== undefined && pages < 1000);
  if (cursor !== undefined) throw new Error('still a nextCursor after 1000 pages');
  if (pages < opts.expectPages)
    throw new Error(
      `${names.size} tools in ${pages} page(s), expected at least ${opts.expectPages} pages`,
    );
  return `${names.size} tools in ${pages} page(s)`;
}

async function callInContext(opts, { context, tool, args }) {
  const session = await openSession(contextUrl(opts.url, context), opts.timeoutMs);
  try {
    const result = await session.client.callTool({ name: tool, arguments: args }, undefined, {
      timeout: opts.timeoutMs,
    });
    if (result.isError) throw new Error(`tool error: ${textOf(result)}`);
    return textOf(result);
  } finally {
    await closeSession(session);
  }
}

async function callWithProgress(opts) {
  const session = await openSession(contextUrl(opts.url, opts.progressContext), opts.timeoutMs);
  try {
    const seen = [];
    const result = await session.client.callTool(
      { name: opts.progressTool, arguments: {} },
      undefined,
      {
        timeout: opts.timeoutMs,
        onprogress: (p) => seen.push(p),
      },
    );
    // Notifications that come after the result no longer reach onprogress.
    const before = seen.length;
    if (result.isError) throw new Error(`tool error: ${textOf(result)}`);
    if (before === 0) throw new Error('no progress notification before the result');
    for (let i = 1; i < seen.length; ++i)
      if (seen[i].progress < seen[i - 1].progress)
        throw new Error(`progress went down: ${seen.map((p) => p.progress).join(', ')}`);
    const type = session.contentTypes.get(`tools/call:${opts.progressTool}`) ?? '';
    if (!type.startsWith('text/event-stream'))
      throw new Error(`result came as '${type}', not on an SSE stream`);
    return `${before} notification(s) (${seen.map((p) => p.progress).join(', ')}) before the result`;
  } finally {
    await closeSession(session);
  }
}

// -- main --------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const deadline = setTimeout(() => {
    notOk('deadline', `checks still running after ${opts.deadlineS} s`);
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(1);
  }, opts.deadlineS * 1000);

  let session = null;
  const connected = await check(`connect ${opts.url.href}`, async () => {
    session = await openSession(opts.url, opts.timeoutMs);
    const info = session.client.getServerVersion();
    const id = session.transport.sessionId;
    return (
      `${info?.name ?? '?'} ${info?.version ?? '?'}, protocol ${session.transport.protocolVersion ?? '?'}, ` +
      (id === undefined ? 'no session id' : `session ${id}`)
    );
  });
  const needSession = async (body) => {
    if (!connected) throw new Error('not connected');
    return body();
  };

  await check('ping', () =>
    needSession(async () => {
      const res = await session.client.ping({ timeout: opts.timeoutMs });
      if (res && Object.keys(res).length > 0)
        throw new Error(`expected {}, got ${JSON.stringify(res)}`);
    }),
  );
  await check('tools/list', () => needSession(() => listTools(session.client, opts)));
  for (const x of opts.calls)
    await check(`tools/call ${x.context}/${x.tool}`, () => callInContext(opts, x));
  if (opts.progress)
    await check(`progress ${opts.progressContext}/${opts.progressTool}`, () =>
      callWithProgress(opts),
    );
  await check('terminate session', () =>
    needSession(async () => {
      const id = session.transport.sessionId;
      if (id === undefined) throw new Error('the server gave no session id');
      await session.transport.terminateSession();
      if (session.transport.sessionId !== undefined)
        throw new Error('the transport still holds a session id');
      await session.client.close();
      return `session ${id}`;
    }),
  );

  clearTimeout(deadline);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((err) => {
  console.log(`not ok - sdk_client: ${reason(err)}`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
