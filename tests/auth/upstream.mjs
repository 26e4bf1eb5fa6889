// A stand-in for an upstream OAuth provider in end-to-end tests of the
// node's login: GitHub's OAuth endpoints, and OpenID Connect style aliases
// for the generic provider. Node.js with no npm dependencies; listens on
// 127.0.0.1 only and prints `ready http://127.0.0.1:PORT` once it does.
//
//   node tests/auth/upstream.mjs [--port 0] [--client-id ID]
//     [--client-secret SECRET] [--login alice] [--email alice@example.com]
//     [--id 42] [--name NAME] [--email-private] [--deny]
//     [--redirect-uri URI] [--code-ttl 60]
//
// Each option may come from the environment instead: UPSTREAM_PORT,
// UPSTREAM_CLIENT_ID, ..., UPSTREAM_DENY=1 (the option's name in upper case,
// `-` as `_`). The one user it knows logs in at once, without a page.
//
// GitHub's endpoints:
// - GET /login/oauth/authorize?client_id&redirect_uri&state&scope: 302 to
//   redirect_uri with `code` and `state`, or with `error=access_denied`
//   under --deny; an unknown client_id or a bad redirect_uri gets a 400
//   page and no redirect. `code_challenge` (PKCE) is honoured.
// - POST /login/oauth/access_token, a form (or JSON) of client_id,
//   client_secret, code, redirect_uri: the token as JSON when the request
//   accepts application/json, else form-encoded. Failures answer 200 with
//   `error` as GitHub does: `incorrect_client_credentials` for a wrong
//   client_id or secret, `bad_verification_code` for an unknown, used or
//   expired code, `redirect_uri_mismatch`. A code works once and for
//   --code-ttl seconds; reusing it also revokes the token it gave.
// - GET /user with `Authorization: Bearer|token T`: {login, id, email, name};
//   email is null under --email-private. 401 without a valid token; 403
//   without a User-Agent, as GitHub's API does.
// - GET /user/emails: [{email, primary: true, verified: true}].
//
// OpenID Connect style (standard OAuth 2.0 errors):
// - GET /authorize: as above, but needs response_type=code and a
//   redirect_uri.
// - POST /token: grant_type=authorization_code, client credentials in the
//   form or by HTTP Basic; failures answer 400 (401 for Basic credentials)
//   with {error, error_description}.
// - GET /userinfo with `Authorization: Bearer T`: {sub, preferred_username,
//   email, email_verified, name}.
// - GET /.well-known/openid-configuration: where the above are.
//
// For tests: GET /_log lists the requests received so far (method, path,
// query and form fields with secrets redacted, a few header fields, the
// status answered); DELETE /_log empties it.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import process from 'node:process';
import { parseArgs } from 'node:util';

const usage = `usage: upstream.mjs [--port N] [--client-id ID]
  [--client-secret SECRET] [--login NAME] [--email ADDRESS] [--id N]
  [--name NAME] [--email-private] [--deny] [--redirect-uri URI]
  [--code-ttl SECONDS]`;

/// Request bodies larger than this are refused.
const maxBodyBytes = 64 * 1024;

/// Seconds an access token of the OIDC endpoints lives.
const tokenTtlSeconds = 3600;

/// Requests kept in the log at most; older ones are dropped.
const maxLogEntries = 1000;

/// Form and query fields that the log shows as `<redacted>`.
const secretFields = new Set([
  'client_secret', 'code_verifier', 'access_token', 'refresh_token', 'password',
]);

// -- configuration -----------------------------------------------------------

function failUsage(message) {
  console.error(`upstream: ${message}\n${usage}`);
  process.exit(2);
}

function readConfig() {
  const options = {
    'port': { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'login': { type: 'string' },
    'email': { type: 'string' },
    'id': { type: 'string' },
    'name': { type: 'string' },
    'email-private': { type: 'boolean' },
    'deny': { type: 'boolean' },
    'redirect-uri': { type: 'string' },
    'code-ttl': { type: 'string' },
  };
  let values;
  try {
    ({ values } = parseArgs({ options, strict: true, allowPositionals: false }));
  } catch (err) {
    failUsage(err.message);
  }
  const get = (name, fallback) => {
    if (values[name] !== undefined) return values[name];
    const env = process.env[`UPSTREAM_${name.toUpperCase().replaceAll('-', '_')}`];
    if (env === undefined || env === '') return fallback;
    if (options[name].type === 'boolean') return env === '1' || env === 'true';
    return env;
  };
  const integer = (name, fallback, min, max) => {
    const text = String(get(name, fallback));
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max)
      failUsage(`--${name} must be an integer from ${min} to ${max}, not '${text}'`);
    return value;
  };
  const config = {
    port: integer('port', 0, 0, 65535),
    clientId: get('client-id', 'switchboard-test'),
    clientSecret: get('client-secret', 'switchboard-test-secret'),
    login: get('login', 'alice'),
    email: get('email', 'alice@example.com'),
    id: integer('id', 42, 1, Number.MAX_SAFE_INTEGER),
    emailPrivate: get('email-private', false),
    deny: get('deny', false),
    redirectUri: get('redirect-uri', null),
    codeTtlMs: integer('code-ttl', 60, 1, 86400) * 1000,
  };
  config.name = get('name', config.login);
  if (config.redirectUri !== null && !absoluteHttpUrl(config.redirectUri))
    failUsage(`--redirect-uri must be an absolute http(s) URL`);
  return config;
}

// -- helpers -----------------------------------------------------------------

function absoluteHttpUrl(text) {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hash === ''
      ? url : null;
  } catch {
    return null;
  }
}

/// Compares two strings in time independent of where they differ.
function sameSecret(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

function randomToken(prefix) {
  return prefix + randomBytes(20).toString('hex');
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function redact(fields) {
  const out = {};
  for (const [name, value] of Object.entries(fields))
    out[name] = secretFields.has(name) ? '<redacted>' : value;
  return out;
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body);
}

function sendJson(res, status, value, headers = {}) {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);
}

function sendForm(res, status, fields) {
  send(res, status, 'application/x-www-form-urlencoded; charset=utf-8',
    new URLSearchParams(fields).toString());
}

function sendPage(res, status, title, text) {
  send(res, status, 'text/html; charset=utf-8',
    `<!doctype html><title>${escapeHtml(title)}</title>` +
    `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>\n`);
}

function redirect(res, location) {
  res.writeHead(302, { 'Location': location, 'Content-Length': 0 });
  res.end();
}

/// The request body as text, or null when it exceeds `maxBodyBytes`.
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > maxBodyBytes ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/// Fields of a form or JSON object body; strings only.
function parseFields(req, body) {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') {
    let value;
    try {
      value = JSON.parse(body);
    } catch {
      return null;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    const fields = {};
    for (const [name, x] of Object.entries(value))
      if (typeof x === 'string' || typeof x === 'number') fields[name] = String(x);
    return fields;
  }
  return Object.fromEntries(new URLSearchParams(body));
}

/// Client credentials of HTTP Basic (RFC 6749, 2.3.1), or null.
function basicCredentials(req) {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!match) return null;
  const text = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  try {
    return {
      id: decodeURIComponent(text.slice(0, colon).replaceAll('+', ' ')),
      secret: decodeURIComponent(text.slice(colon + 1).replaceAll('+', ' ')),
    };
  } catch {
    return null;
  }
}

/// The token of `Authorization: Bearer T` (or `token T` where `schemes`
/// allows it), or null.
function bearerToken(req, schemes) {
  const match = /^(\S+)\s+(\S+)\s*$/.exec(req.headers.authorization ?? '');
  if (!match || !schemes.includes(match[1].toLowerCase())) return null;
  return match[2];
}

// -- the provider ------------------------------------------------------------

class Provider {
  constructor(config) {
    this.config = config;
    /// Codes not yet used: code -> {redirectUri, scope, challenge, method, expires}.
    this.codes = new Map();
    /// Codes used already, and the token each gave: code -> token.
    this.usedCodes = new Map();
    /// Valid tokens: token -> {scope, expires}.
    this.tokens = new Map();
    this.log = [];
  }

  user() {
    const { login, id, email, name, emailPrivate } = this.config;
    return { login, id, email: emailPrivate ? null : email, name };
  }

  /// GET /login/oauth/authorize and /authorize.
  authorize(req, res, query, oidc) {
    const clientId = query.get('client_id');
    if (clientId === null || !sameSecret(clientId, this.config.clientId))
      return sendPage(res, 400, 'Application not found',
        `No application has the client_id '${clientId ?? ''}'.`);
    // GitHub falls back to the registered callback; OpenID Connect needs
    // the parameter.
    const redirectUri = query.get('redirect_uri') ?? (oidc ? null : this.config.redirectUri);
    const target = redirectUri === null ? null : absoluteHttpUrl(redirectUri);
    if (target === null)
      return sendPage(res, 400, 'Bad redirect_uri',
        'A redirect_uri must be an absolute http(s) URL without a fragment.');
    if (this.config.redirectUri !== null && redirectUri !== this.config.redirectUri)
      return sendPage(res, 400, 'Redirect URI mismatch',
        'The redirect_uri is not associated with this application.');
    const state = query.get('state');
    const answer = (fields) => {
      for (const [name, value] of Object.entries(fields)) target.searchParams.set(name, value);
      if (state !== null) target.searchParams.set('state', state);
      redirect(res, target.toString());
    };
    if (oidc && query.get('response_type') !== 'code')
      return answer({
        error: 'unsupported_response_type',
        error_description: 'Only response_type=code is supported.',
      });
    const challenge = query.get('code_challenge');
    const method = query.get('code_challenge_method') ?? 'plain';
    if (challenge !== null && method !== 'S256' && method !== 'plain')
      return answer({
        error: 'invalid_request',
        error_description: 'code_challenge_method must be S256 or plain.',
      });
    if (this.config.deny)
      return answer({
        error: 'access_denied',
        error_description: 'The user has denied your application access.',
      });
    const now = Date.now();
    for (const [old, grant] of this.codes)
      if (grant.expires <= now) this.codes.delete(old);
    const code = randomBytes(10).toString('hex');
    this.codes.set(code, {
      redirectUri: query.get('redirect_uri'),
      scope: (query.get('scope') ?? '').split(/[\s,]+/).filter((x) => x !== ''),
      challenge,
      method,
      expires: now + this.config.codeTtlMs,
    });
    answer({ code });
  }

  /// Redeems the code of `fields`: the token, or an error code and text.
  redeem(req, fields) {
    const basic = basicCredentials(req);
    const clientId = basic ? basic.id : fields.client_id;
    const secret = basic ? basic.secret : fields.client_secret;
    if (clientId === undefined || secret === undefined ||
        !sameSecret(clientId, this.config.clientId) ||
        !sameSecret(secret, this.config.clientSecret))
      return { error: 'client', basic: basic !== null };
    const code = fields.code ?? '';
    const grant = this.codes.get(code);
    if (grant === undefined || grant.expires <= Date.now()) {
      // A code used twice revokes what it gave (RFC 6749, 4.1.2).
      const token = this.usedCodes.get(code);
      if (token !== undefined) this.tokens.delete(token);
      this.codes.delete(code);
      return { error: 'code' };
    }
    this.codes.delete(code);
    if (grant.redirectUri !== null && fields.redirect_uri !== undefined &&
        fields.redirect_uri !== grant.redirectUri)
      return { error: 'redirect' };
    if (grant.challenge !== null) {
      const verifier = fields.code_verifier ?? '';
      const expected = grant.method === 'S256'
        ? createHash('sha256').update(verifier).digest('base64url') : verifier;
      if (verifier === '' || !sameSecret(expected, grant.challenge))
        return { error: 'verifier' };
    }
    const token = randomToken('gho_');
    this.tokens.set(token, { scope: grant.scope, expires: Date.now() + tokenTtlSeconds * 1000 });
    this.usedCodes.set(code, token);
    return { token, scope: grant.scope };
  }

  /// POST /login/oauth/access_token: GitHub's shapes, errors with 200.
  async githubToken(req, res) {
    const fields = await this.readFields(req, res);
    if (fields === null) return;
    const wantsJson = (req.headers.accept ?? '').includes('application/json');
    const reply = (value) => wantsJson ? sendJson(res, 200, value) : sendForm(res, 200, value);
    const docs = 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors';
    const result = this.redeem(req, fields);
    const errors = {
      client: ['incorrect_client_credentials',
        'The client_id and/or client_secret passed are incorrect.', '#incorrect-client-credentials'],
      code: ['bad_verification_code',
        'The code passed is incorrect or expired.', '#bad-verification-code'],
      verifier: ['bad_verification_code',
        'The code_verifier does not match the code_challenge.', '#bad-verification-code'],
      redirect: ['redirect_uri_mismatch',
        'The redirect_uri MUST match the registered callback URL for this application.',
        '#redirect-uri-mismatch'],
    };
    if (result.error) {
      const [error, description, anchor] = errors[result.error];
      return reply({ error, error_description: description, error_uri: docs + anchor });
    }
    reply({ access_token: result.token, token_type: 'bearer', scope: result.scope.join(',') });
  }

  /// POST /token: OAuth 2.0 shapes (RFC 6749, 5.1 and 5.2).
  async oidcToken(req, res) {
    const fields = await this.readFields(req, res);
    if (fields === null) return;
    const fail = (status, error, description, headers = {}) =>
      sendJson(res, status, { error, error_description: description },
        { 'Pragma': 'no-cache', ...headers });
    if (fields.grant_type !== 'authorization_code')
      return fail(400, 'unsupported_grant_type', 'Only grant_type=authorization_code is supported.');
    const result = this.redeem(req, fields);
    if (result.error === 'client')
      return result.basic
        ? fail(401, 'invalid_client', 'Client authentication failed.',
          { 'WWW-Authenticate': 'Basic realm="upstream"' })
        : fail(400, 'invalid_client', 'Client authentication failed.');
    if (result.error)
      return fail(400, 'invalid_grant', {
        code: 'The authorization code is invalid, used or expired.',
        verifier: 'The code_verifier does not match the code_challenge.',
        redirect: 'The redirect_uri does not match the authorization request.',
      }[result.error]);
    sendJson(res, 200, {
      access_token: result.token,
      token_type: 'Bearer',
      expires_in: tokenTtlSeconds,
      scope: result.scope.join(' '),
    }, { 'Pragma': 'no-cache' });
  }

  /// The fields of a token request's body, or null after answering 413 or 400.
  async readFields(req, res) {
    const body = await readBody(req);
    if (body === null) {
      sendJson(res, 413, { error: 'invalid_request', error_description: 'The body is too large.' });
      return null;
    }
    const fields = parseFields(req, body);
    if (fields === null) {
      sendJson(res, 400, { error: 'invalid_request', error_description: 'The body is not valid.' });
      return null;
    }
    req.fields = fields;
    return fields;
  }

  /// Whether the request carries a valid token.
  authorized(req, schemes) {
    const token = bearerToken(req, schemes);
    const grant = token === null ? undefined : this.tokens.get(token);
    if (grant === undefined) return false;
    if (grant.expires <= Date.now()) {
      this.tokens.delete(token);
      return false;
    }
    return true;
  }

  /// GET /user and /user/emails: GitHub's REST API.
  githubApi(req, res, path) {
    if (!req.headers['user-agent'])
      return send(res, 403, 'text/plain; charset=utf-8',
        'Request forbidden by administrative rules. Please make sure your request has a User-Agent header.\n');
    if (!this.authorized(req, ['bearer', 'token']))
      return sendJson(res, 401, {
        message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401',
      });
    if (path === '/user') return sendJson(res, 200, this.user());
    sendJson(res, 200, [{
      email: this.config.email, primary: true, verified: true, visibility: 'private',
    }]);
  }

  /// GET /userinfo (OpenID Connect Core, 5.3).
  userinfo(req, res) {
    if (!this.authorized(req, ['bearer']))
      return sendJson(res, 401, { error: 'invalid_token', error_description: 'The access token is invalid.' },
        { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    const { login, id, email, name } = this.config;
    sendJson(res, 200, {
      sub: String(id), preferred_username: login, name, email, email_verified: true,
    });
  }

  discovery(res, base) {
    sendJson(res, 200, {
      issuer: base,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      userinfo_endpoint: `${base}/userinfo`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code'],
      subject_types_supported: ['public'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      code_challenge_methods_supported: ['S256', 'plain'],
      scopes_supported: ['openid', 'profile', 'email'],
    });
  }

  record(req, res, url) {
    const header = (name) => req.headers[name] ?? null;
    const scheme = /^(\S+)/.exec(req.headers.authorization ?? '');
    this.log.push({
      time: new Date().toISOString(),
      method: req.method,
      path: url.pathname,
      query: redact(Object.fromEntries(url.searchParams)),
      form: req.fields ? redact(req.fields) : null,
      accept: header('accept'),
      content_type: header('content-type'),
      user_agent: header('user-agent'),
      authorization: scheme ? `${scheme[1]} <redacted>` : null,
      status: res.statusCode,
    });
    if (this.log.length > maxLogEntries) this.log.shift();
  }

  async handle(req, res, base) {
    const url = new URL(req.url, base);
    const path = url.pathname;
    if (path === '/_log') {
      if (req.method === 'GET') return sendJson(res, 200, this.log);
      if (req.method === 'DELETE') {
        this.log = [];
        res.writeHead(204);
        return res.end();
      }
      return sendJson(res, 405, { message: 'Method Not Allowed' }, { 'Allow': 'GET, DELETE' });
    }
    res.on('finish', () => this.record(req, res, url));
    const routes = {
      '/login/oauth/authorize': ['GET', () => this.authorize(req, res, url.searchParams, false)],
      '/authorize': ['GET', () => this.authorize(req, res, url.searchParams, true)],
      '/login/oauth/access_token': ['POST', () => this.githubToken(req, res)],
      '/token': ['POST', () => this.oidcToken(req, res)],
      '/user': ['GET', () => this.githubApi(req, res, path)],
      '/user/emails': ['GET', () => this.githubApi(req, res, path)],
      '/userinfo': ['GET', () => this.userinfo(req, res)],
      '/.well-known/openid-configuration': ['GET', () => this.discovery(res, base)],
    };
    const route = routes[path];
    if (route === undefined) return sendJson(res, 404, { message: 'Not Found' });
    const [method, run] = route;
    if (req.method !== method)
      return sendJson(res, 405, { message: 'Method Not Allowed' }, { 'Allow': method });
    await run();
  }
}

// -- main --------------------------------------------------------------------

const config = readConfig();
const provider = new Provider(config);
let base = null;
const server = createServer((req, res) => {
  provider.handle(req, res, base).catch((err) => {
    console.error(`upstream: ${req.method} ${req.url}: ${err.stack ?? err}`);
    if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
    else res.destroy();
  });
});
server.on('clientError', (err, socket) => {
  if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  else socket.destroy();
});
server.on('error', (err) => {
  console.error(`upstream: cannot listen on 127.0.0.1:${config.port}: ${err.message}`);
  process.exit(1);
});
server.listen(config.port, '127.0.0.1', () => {
  base = `http://127.0.0.1:${server.address().port}`;
  console.log(`ready ${base}`);
});
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
