// The TypeScript peer of the MCP benchmark: a minimal server built with the
// official SDK (McpServer and StreamableHTTPServerTransport, one session per
// client) on node's http module, listening on 127.0.0.1. It offers two
// tools, so that a load client measures `tools/call` through one session
// against the same call on Switchboard: `echo` returns its `text` argument,
// and `test_simple_text` mirrors the tool of that name in Switchboard's
// conformance module (modules/conformance/conformance_module.cpp): no
// arguments, an input schema of an empty object, the same one text item.
//
// Usage: node mcp_ts_server.mjs PORT [--json-response]
//   PORT 0 takes a free port; prints `ready port=N` when listening. The MCP
//   endpoint is /mcp (paths below it, /mcp/<context>, reach the same tools).
//   By default each POST is answered on an SSE stream, as the SDK does;
//   --json-response answers plain JSON instead.
//
// The SDK comes from tests/mcp/node_modules (tests/mcp/install.sh).

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import process from 'node:process';

const require = createRequire(new URL('../../tests/mcp/package.json', import.meta.url));
const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const {
  StreamableHTTPServerTransport,
} = require('@modelcontextprotocol/sdk/server/streamableHttp.js');
const { isInitializeRequest } = require('@modelcontextprotocol/sdk/types.js');
const { z } = require('zod');

const MAX_BODY_BYTES = 1 << 20;
const MAX_SESSIONS = 1000;
// The answer of `test_simple_text`, word for word as Switchboard's.
const SIMPLE_TEXT = 'This is a simple text response for testing.';

// -- arguments ----------------------------------------------------------------

const args = process.argv.slice(2);
const port = Number(args[0]);
if (
  !Number.isInteger(port) ||
  port < 0 ||
  port > 65535 ||
  args.slice(1).some((x) => x !== '--json-response')
) {
  console.error('usage: node mcp_ts_server.mjs PORT [--json-response]');
  process.exit(2);
}
const jsonResponse = args.includes('--json-response');

// -- sessions -----------------------------------------------------------------

// Transports by session id.
const sessions = new Map();

function makeServer() {
  const server = new McpServer({ name: 'switchboard-bench-ts', version: '1.0.0' });
  server.registerTool(
    'echo',
    {
      description: 'Returns its text argument',
      inputSchema: { text: z.string() },
    },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  server.registerTool(
    'test_simple_text',
    { description: 'Returns a simple text', inputSchema: {} },
    async () => ({ content: [{ type: 'text', text: SIMPLE_TEXT }] }),
  );
  return server;
}

async function openSession(req, res, body) {
  if (sessions.size >= MAX_SESSIONS) {
    reject(res, 503, -32000, 'too many sessions');
    return;
  }
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: jsonResponse,
    onsessioninitialized: (id) => {
      sessions.set(id, transport);
    },
  });
  transport.onclose = () => {
    if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
  };
  await makeServer().connect(transport);
  await transport.handleRequest(req, res, body);
}

// -- HTTP ---------------------------------------------------------------------

function reject(res, status, code, message) {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

function readBody(req) {
  return new Promise((resolve, rejectBody) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        rejectBody(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', rejectBody);
  });
}

async function handle(req, res) {
  const path = new URL(req.url, 'http://127.0.0.1').pathname;
  if (path !== '/mcp' && !path.startsWith('/mcp/')) {
    res.writeHead(404).end();
    return;
  }
  const id = req.headers['mcp-session-id'];
  const transport = typeof id === 'string' ? sessions.get(id) : undefined;
  if (req.method === 'POST') {
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      reject(res, 400, -32700, 'parse error');
      return;
    }
    if (transport) {
      await transport.handleRequest(req, res, body);
    } else if (id === undefined && isInitializeRequest(body)) {
      await openSession(req, res, body);
    } else if (id === undefined) {
      reject(res, 400, -32000, 'no session: initialize first');
    } else {
      reject(res, 404, -32001, 'session not found');
    }
  } else if (req.method === 'GET' || req.method === 'DELETE') {
    if (transport) await transport.handleRequest(req, res);
    else reject(res, id === undefined ? 400 : 404, -32000, 'no such session');
  } else {
    res.writeHead(405, { Allow: 'GET, POST, DELETE' }).end();
  }
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(`mcp_ts_server: ${err instanceof Error ? err.message : err}`);
    reject(res, 500, -32603, 'internal error');
  });
});
server.keepAliveTimeout = 30000;

server.listen(port, '127.0.0.1', () => {
  console.log(`ready port=${server.address().port}`);
});

function stop() {
  for (const transport of sessions.values()) transport.close().catch(() => {});
  server.close(() => process.exit(0));
  server.closeAllConnections();
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);
