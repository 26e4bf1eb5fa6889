'use strict';

// The Express peer of the Switchboard benchmark. It serves the same routes
// with the same JSON shapes as the node, and it routes every request the way
// the design Switchboard replaces did: the route handler emits a request
// event with a correlation id on a shared EventEmitter bus, a module listener
// handles it and emits a response event, and the handler awaits that
// response (with a timeout) before it answers.
//
// Usage: PORT=8081 node server.js   (prints `ready port=N` when listening)

process.env.NODE_ENV = process.env.NODE_ENV || 'production';

const { EventEmitter } = require('node:events');
const crypto = require('node:crypto');
const express = require('express');

const REQUEST_TIMEOUT_MS = 5000;
const MAX_NAME_CHARS = 100;

// -- errors -------------------------------------------------------------------

function errorBody(code, message, field) {
  const error = { code, message };
  if (field) error.field = field;
  return { error };
}

function reply(status, body, headers) {
  return { status, body, headers };
}

// -- the bus ------------------------------------------------------------------

// One emitter for the whole process. Requests go out as `request` events;
// each answer comes back as a `response:<correlation id>` event.
const bus = new EventEmitter();
bus.setMaxListeners(0);

let nextCorrelation = 1;

// Emits a request for `module` and resolves with its response, or with a 504
// when no module answers within the timeout.
function request(module, action, payload) {
  const id = String(nextCorrelation++);
  const topic = 'response:' + id;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      bus.removeAllListeners(topic);
      resolve(reply(504, errorBody('timeout', 'the module did not answer in time')));
    }, REQUEST_TIMEOUT_MS);
    bus.once(topic, (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    bus.emit('request', { id, module, action, payload });
  });
}

// -- the users module ---------------------------------------------------------

function validName(name) {
  if (typeof name !== 'string') return false;
  const chars = [...name].length;
  if (chars < 1 || chars > MAX_NAME_CHARS) return false;
  if (/[\u0000-\u001f\u007f]/.test(name)) return false;
  return name.trim().length > 0;
}

function validEmail(email) {
  return typeof email === 'string' && email.length <= 254
    && /^[^\s@]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/.test(email);
}

function toJson(user) {
  return { id: user.id, name: user.name, email: user.email };
}

function createUsersModule(bus) {
  const users = new Map();
  const byEmail = new Map();

  function create(body) {
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      return reply(400, errorBody('bad_request', 'the body must be a JSON object'));
    for (const key of Object.keys(body)) {
      if (key === 'id')
        return reply(400, errorBody('invalid_field',
          'id: is assigned by the server', 'id'));
      if (key !== 'name' && key !== 'email')
        return reply(400, errorBody('invalid_field', key + ': unknown field', key));
    }
    if (body.name === undefined)
      return reply(400, errorBody('invalid_field', 'name: is required', 'name'));
    if (!validName(body.name))
      return reply(400, errorBody('invalid_field',
        'name: must be a string of 1 to 100 characters, not only spaces', 'name'));
    const email = body.email === undefined ? null : body.email;
    if (email !== null && !validEmail(email))
      return reply(400, errorBody('invalid_field',
        'email: must be an email address such as ada@example.org, or null', 'email'));
    if (email !== null && byEmail.has(email.toLowerCase()))
      return reply(409, errorBody('conflict',
        'another user has this email address', 'email'));
    let id;
    do {
      id = crypto.randomBytes(8).toString('hex');
    } while (users.has(id));
    const user = { id, name: body.name, email };
    users.set(id, user);
    if (email !== null) byEmail.set(email.toLowerCase(), id);
    return reply(201, toJson(user), { Location: '/api/users/' + id });
  }

  function get(params) {
    const user = users.get(params.id);
    if (!user) return reply(404, errorBody('not_found', 'no user with this id'));
    return reply(200, toJson(user));
  }

  bus.on('request', (req) => {
    if (req.module !== 'users') return;
    let res;
    try {
      if (req.action === 'create') res = create(req.payload.body);
      else if (req.action === 'get') res = get(req.payload.params);
      else res = reply(404, errorBody('no_route', 'unknown handler'));
    } catch (err) {
      res = reply(500, errorBody('internal', 'the module failed'));
    }
    bus.emit('response:' + req.id, res);
  });
}

// -- the system module --------------------------------------------------------

function createSystemModule(bus) {
  bus.on('request', (req) => {
    if (req.module !== 'system') return;
    bus.emit('response:' + req.id, reply(200, { status: 'healthy' }));
  });
}

// -- HTTP ---------------------------------------------------------------------

// Turns a route into a handler that asks `module` over the bus.
function routed(module, action) {
  return async (req, res) => {
    const out = await request(module, action, { params: req.params, body: req.body });
    if (out.headers) res.set(out.headers);
    res.status(out.status).json(out.body);
  };
}

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '1mb' }));

app.get('/health', routed('system', 'health'));
app.post('/api/users', routed('users', 'create'));
app.get('/api/users/:id', routed('users', 'get'));

app.use((req, res) => {
  res.status(404).json(errorBody('no_route',
    'no route for ' + req.method + ' ' + req.path));
});

// Body parser failures (bad JSON, too large) and anything else thrown.
app.use((err, req, res, next) => {
  const status = err.status || err.statusCode || 500;
  if (status === 400)
    return res.status(400).json(errorBody('bad_request', 'the body is not valid JSON'));
  if (status === 413)
    return res.status(413).json(errorBody('payload_too_large',
      'the body is too large'));
  res.status(500).json(errorBody('internal', 'internal error'));
});

createSystemModule(bus);
createUsersModule(bus);

const port = Number.parseInt(process.env.PORT || '8081', 10);
const backlog = Number.parseInt(process.env.BACKLOG || '511', 10);
const server = app.listen(port, '127.0.0.1', backlog, (err) => {
  if (err) {
    console.error('listen failed: ' + err.message);
    process.exit(1);
  }
  console.log('ready port=' + server.address().port);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
