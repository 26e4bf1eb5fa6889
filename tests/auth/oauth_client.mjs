// An MCP client that logs in by itself: the official TypeScript SDK's Client
// over Streamable HTTP with the SDK's OAuth support, for end-to-end tests of
// the node's authorization server (tests/auth/auth_e2e_test.sh).
//
//   "$(tests/mcp/node.sh)" tests/auth/oauth_client.mjs --state FILE URL
//     [--call TOOL] [--token-only] [--redirect-uri URI] [--deadline S]
//     [--login-link FILE]
//
// The OAuth client provider keeps everything it is given, the registration,
// the tokens and the PKCE verifier, in the JSON file FILE, so that a second
// run goes on where the first stopped: with a refresh token, say. Where the
// SDK sends the person to the authorization URL, the provider follows it
// without a browser: it fetches each URL with `redirect: "manual"` and
// follows the 302s (the node, the upstream provider, the node's
// /oauth/callback) until one points at the client's redirect URI, then
// takes `code` or `error` from there, after checking `state` and `iss`.
//
// MCP mode (default): connects to the MCP endpoint URL; a 401 starts the
// SDK's flow (protected resource metadata, authorization server metadata,
// registration, authorization with PKCE, token), then `finishAuth` and a new
// connection, as the SDK documents. Then tools/list and tools/call TOOL
// (default `uptime`).
//
// With --login-link FILE (the node's stderr), a node that logs in with its
// local login link is answered as the person would: the authorization page
// sets its cookie, the provider opens the newest link that FILE holds with
// that cookie, and answers the consent page with Allow.
//
// Token mode (--token-only): runs the SDK's `auth()` for the resource URL
// (the node's root, say) and only stores the tokens.
//
// Prints one line per step, never a secret:
//   authorize: code_challenge_method=S256 resource=... scope=...
//   tools: NAME ...
//   call TOOL: TEXT
//   oauth: resource_metadata=N as_metadata=N register=N authorize=N
//          authorization_code=N refresh_token=N
// Exits 0 on success, 1 on a failure, 2 on bad usage and 3 when the
// authorization ended at the redirect URI with an error (`denied: ...`).
//
// Only loopback addresses are accepted, as targets and along the redirects.

import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';

import { readCommandLine } from '../mcp/command_line.mjs';
import { isLoopback, loopbackUrl } from '../mcp/loopback.mjs';

// The SDK comes from tests/mcp/node_modules (tests/mcp/install.sh).
const require = createRequire(new URL('../mcp/package.json', import.meta.url));
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = require(
  '@modelcontextprotocol/sdk/client/streamableHttp.js',
);
const { auth, UnauthorizedError } = require('@modelcontextprotocol/sdk/client/auth.js');

const usage = `usage: oauth_client.mjs --state FILE URL [--call TOOL] [--token-only]
  [--redirect-uri URI] [--deadline S] [--login-link FILE]`;

/// Redirects followed at most on the way to the redirect URI.
const maxRedirects = 10;

// -- arguments ---------------------------------------------------------------

function parseArgs(argv) {
  const opts = {
    url: null,
    state: null,
    tool: 'uptime',
    tokenOnly: false,
    // Nothing listens there: the provider stops at this URL, never opens it.
    redirectUri: 'http://127.0.0.1/oauth-client/callback',
    deadlineS: 30,
    loginLink: null,
  };
  const option = (arg, take, fail) => {
    switch (arg) {
      case '--state':
        opts.state = take.value();
        return true;
      case '--call':
        opts.tool = take.value();
        return true;
      case '--token-only':
        opts.tokenOnly = true;
        return true;
      case '--login-link':
        opts.loginLink = take.value();
        return true;
      case '--redirect-uri':
        opts.redirectUri = loopbackUrl(take.value(), fail).href;
        return true;
      case '--deadline':
        opts.deadlineS = take.count(1);
        return true;
      default:
        return false;
    }
  };
  const check = (fail) => {
    if (opts.state === null) fail('--state FILE missing');
  };
  opts.url = readCommandLine(argv, { name: 'oauth_client', usage, option, check }).url;
  return opts;
}

// -- what the client saw -------------------------------------------------------

/// Requests of the OAuth flow, counted by kind.
const counts = {
  resource_metadata: 0,
  as_metadata: 0,
  register: 0,
  authorize: 0,
  consent: 0,
  authorization_code: 0,
  refresh_token: 0,
};

function printCounts() {
  const fields = Object.entries(counts).map(([name, n]) => `${name}=${n}`);
  console.log(`oauth: ${fields.join(' ')}`);
}

/// A fetch for the SDK that counts the requests of the OAuth flow and
/// refuses targets off loopback.
async function countingFetch(input, init) {
  const url = new URL(input instanceof Request ? input.url : input);
  if (!isLoopback(url.hostname)) throw new Error(`refusing a request to ${url.hostname}`);
  const method = (init?.method ?? 'GET').toUpperCase();
  if (url.pathname.startsWith('/.well-known/oauth-protected-resource'))
    ++counts.resource_metadata;
  else if (url.pathname.startsWith('/.well-known/oauth-authorization-server'))
    ++counts.as_metadata;
  else if (method === 'POST' && url.pathname === '/oauth/register')
    ++counts.register;
  else if (method === 'POST' && url.pathname === '/oauth/token') {
    const grant = new URLSearchParams(String(init?.body ?? '')).get('grant_type');
    if (grant in counts) ++counts[grant];
  }
  return fetch(input, init);
}

// -- the provider --------------------------------------------------------------

/// An authorization that ended at the redirect URI with an OAuth error.
class AuthorizationRefused extends Error {}

/// The SDK's OAuthClientProvider, kept in a JSON file.
class FileProvider {
  constructor(file, redirectUri) {
    this.file = file;
    this.redirect = redirectUri;
    this.saved = FileProvider.load(file);
    /// What the last authorization brought back: its redirect's query.
    this.outcome = null;
    /// The authorization server's metadata, as the SDK discovered it in
    /// this run (not kept: each run discovers anew).
    this.metadata = null;
  }

  static load(file) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (err.code === 'ENOENT') return {};
      throw err;
    }
    const value = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new Error(`${file}: not a JSON object`);
    return value;
  }

  /// Writes the file anew, whole or not at all.
  persist() {
    const temp = `${this.file}.tmp`;
    writeFileSync(temp, `${JSON.stringify(this.saved, null, 2)}\n`, { mode: 0o600 });
    renameSync(temp, this.file);
  }

  get redirectUrl() {
    return this.redirect;
  }

  get clientMetadata() {
    return {
      client_name: 'switchboard oauth_client.mjs',
      redirect_uris: [this.redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  /// A fresh OAuth `state` for each authorization request.
  state() {
    this.saved.oauth_state = randomBytes(16).toString('base64url');
    this.persist();
    return this.saved.oauth_state;
  }

  clientInformation() {
    return this.saved.client_information;
  }

  saveClientInformation(information) {
    this.saved.client_information = information;
    this.persist();
  }

  tokens() {
    return this.saved.tokens;
  }

  saveTokens(tokens) {
    this.saved.tokens = tokens;
    this.persist();
  }

  saveCodeVerifier(verifier) {
    this.saved.code_verifier = verifier;
    this.persist();
  }

  codeVerifier() {
    if (!this.saved.code_verifier) throw new Error('no code verifier saved');
    return this.saved.code_verifier;
  }

  saveDiscoveryState(state) {
    this.metadata = state.authorizationServerMetadata ?? null;
  }

  invalidateCredentials(scope) {
    const drop = {
      all: ['client_information', 'tokens', 'code_verifier'],
      client: ['client_information'],
      tokens: ['tokens'],
      verifier: ['code_verifier'],
      discovery: [],
    }[scope] ?? [];
    for (const key of drop) delete this.saved[key];
    this.persist();
  }

  /// Plays the browser: follows the redirects from `authorizationUrl` until
  /// one points at the redirect URI, and keeps what it carries in `outcome`.
  async redirectToAuthorization(authorizationUrl) {
    ++counts.authorize;
    const asked = new URL(authorizationUrl);
    const param = (name) => asked.searchParams.get(name) ?? '-';
    console.log(
      `authorize: code_challenge_method=${param('code_challenge_method')} ` +
        `resource=${param('resource')} scope=${param('scope')}`,
    );
    this.outcome = await followToRedirectUri(asked, new URL(this.redirect));
  }

  /// What the authorization brought back, checked against this request:
  /// the code, or AuthorizationRefused.
  takeCode() {
    const back = this.outcome;
    this.outcome = null;
    if (back === null) throw new Error('the authorization did not come back');
    const expected = this.saved.oauth_state;
    delete this.saved.oauth_state;
    this.persist();
    if (back.get('state') !== expected) throw new Error('the state that came back is not ours');
    // RFC 9207: an issuer that says so names itself in the answer.
    const issuer = this.metadata?.issuer;
    if (this.metadata?.authorization_response_iss_parameter_supported && !back.has('iss'))
      throw new Error('no iss at the redirect URI');
    if (back.has('iss') && back.get('iss') !== issuer)
      throw new Error(`iss ${back.get('iss')} is not the issuer ${issuer}`);
    if (back.has('error'))
      throw new AuthorizationRefused(
        `error=${back.get('error')}` +
          (back.has('error_description') ? ` (${back.get('error_description')})` : ''),
      );
    if (!back.get('code')) throw new Error('no code at the redirect URI');
    return back.get('code');
  }
}

/// Whether `url` is the redirect URI; the port of a loopback redirect URI
/// may differ (RFC 8252, 7.3).
function atRedirectUri(url, redirect) {
  return (
    url.protocol === redirect.protocol &&
    url.hostname === redirect.hostname &&
    url.pathname === redirect.pathname
  );
}

/// The `sb_authz=...` pair that the node's answer `res` sets, or undefined:
/// the cookie that ties a browser to its waiting authorization request.
function authzCookie(res) {
  return (res.headers.getSetCookie?.() ?? [res.headers.get('set-cookie') ?? ''])
    .map((x) => x.split(';')[0])
    .find((x) => x.startsWith('sb_authz='));
}

/// The node's stderr, where its local login links appear (--login-link).
let loginLinkFile = null;

/// Opens the newest login link with the cookie that the authorization page
/// `page` set, as the person would in that browser; returns the answer, the
/// consent page.
async function openLoginLink(page) {
  await page.body?.cancel();
  const cookie = authzCookie(page);
  if (!cookie) throw new Error('the authorization page set no sb_authz cookie');
  const prefix = 'login link (single use, valid 10 minutes): ';
  const links = readFileSync(loginLinkFile, 'utf8')
    .split('\n')
    .filter((x) => x.startsWith(prefix));
  if (links.length === 0) throw new Error(`no login link in ${loginLinkFile}`);
  const link = new URL(links[links.length - 1].slice(prefix.length));
  if (!isLoopback(link.hostname)) throw new Error(`the login link left loopback: ${link.host}`);
  counts.login_link = (counts.login_link ?? 0) + 1;
  const res = await fetch(link, {
    redirect: 'manual',
    headers: { cookie },
    signal: AbortSignal.timeout(10000),
  });
  if (res.status !== 200) throw new Error(`the login link answered ${res.status}`);
  return res;
}

/// Answers the node's consent page `page` (fetched from `url`) with Allow,
/// as the person in the browser would: the form's request ID and the
/// page's cookie go back in a POST. Returns the answer, a redirect.
async function allow(page, url) {
  const html = await page.text();
  const form = /<form method="post" action="([^"]+)">/.exec(html);
  const id = /name="request" value="([^"]+)"/.exec(html);
  if (!form || !id) throw new Error(`no consent form on ${url.origin}${url.pathname}`);
  const cookie = authzCookie(page);
  if (!cookie) throw new Error('the consent page set no sb_authz cookie');
  const action = new URL(form[1].replaceAll('&amp;', '&'), url);
  if (!isLoopback(action.hostname)) throw new Error(`the consent form left loopback: ${action.host}`);
  ++counts.consent;
  return fetch(action, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ request: id[1], decision: 'allow' }),
    signal: AbortSignal.timeout(10000),
  });
}

/// The query of the redirect that reaches `redirect`, following up to
/// `maxRedirects` 302s from `start`.
async function followToRedirectUri(start, redirect) {
  let url = start;
  for (let hop = 0; hop < maxRedirects; ++hop) {
    if (!isLoopback(url.hostname)) throw new Error(`a redirect left loopback: ${url.host}`);
    let res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10000) });
    if (res.status === 200 && url.pathname.endsWith('/oauth/callback')) res = await allow(res, url);
    else if (res.status === 200 && url.pathname.endsWith('/oauth/authorize') && loginLinkFile)
      res = await allow(await openLoginLink(res), url);
    const location = res.headers.get('location');
    await res.body?.cancel();
    if (res.status < 300 || res.status > 399 || location === null)
      throw new Error(`the authorization stopped at ${res.status} on ${url.origin}${url.pathname}`);
    url = new URL(location, url);
    if (atRedirectUri(url, redirect)) return url.searchParams;
  }
  throw new Error(`more than ${maxRedirects} redirects`);
}

// -- the flows -----------------------------------------------------------------

function textOf(result) {
  const item = (result.content ?? []).find((x) => x.type === 'text');
  return item ? item.text : JSON.stringify(result.content ?? []);
}

/// A connected client on `url`; logs in first when the server asks.
async function connect(url, provider) {
  const open = async () => {
    const client = new Client({ name: 'switchboard-oauth-client', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(url, {
      authProvider: provider,
      fetch: countingFetch,
    });
    await client.connect(transport, { timeout: 10000 });
    return { client, transport };
  };
  try {
    return await open();
  } catch (err) {
    if (!(err instanceof UnauthorizedError) || provider.outcome === null) throw err;
  }
  // The SDK sent us to the authorization URL: back with a code, exchange it
  // on a transport of the same URL and connect anew.
  const code = provider.takeCode();
  const transport = new StreamableHTTPClientTransport(url, {
    authProvider: provider,
    fetch: countingFetch,
  });
  await transport.finishAuth(code);
  return open();
}

async function runMcp(opts, provider) {
  const { client, transport } = await connect(opts.url, provider);
  try {
    const { tools } = await client.listTools({}, { timeout: 10000 });
    console.log(`tools: ${tools.map((x) => x.name).join(' ')}`);
    const result = await client.callTool({ name: opts.tool, arguments: {} }, undefined, {
      timeout: 10000,
    });
    if (result.isError) throw new Error(`tool error: ${textOf(result)}`);
    console.log(`call ${opts.tool}: ${textOf(result)}`);
    await transport.terminateSession();
  } finally {
    await client.close();
  }
}

async function runTokenOnly(opts, provider) {
  const options = { serverUrl: opts.url, fetchFn: countingFetch };
  let result = await auth(provider, options);
  if (result === 'REDIRECT') {
    const code = provider.takeCode();
    result = await auth(provider, { ...options, authorizationCode: code });
  }
  if (result !== 'AUTHORIZED') throw new Error(`auth() ended with ${result}`);
  console.log(`token: for ${opts.url.href}`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  loginLinkFile = opts.loginLink;
  const deadline = setTimeout(() => {
    console.log(`failed: still running after ${opts.deadlineS} s`);
    printCounts();
    process.exit(1);
  }, opts.deadlineS * 1000);
  const provider = new FileProvider(opts.state, opts.redirectUri);
  let code = 0;
  try {
    await (opts.tokenOnly ? runTokenOnly(opts, provider) : runMcp(opts, provider));
  } catch (err) {
    const refused = err instanceof AuthorizationRefused;
    console.log(`${refused ? 'denied' : 'failed'}: ${err.message ?? err}`);
    code = refused ? 3 : 1;
  }
  clearTimeout(deadline);
  printCounts();
  process.exit(code);
}

main();
