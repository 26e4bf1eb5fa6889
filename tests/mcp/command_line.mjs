// The command line of the MCP test and benchmark clients: options that each
// client handles itself, and one loopback URL.

import process from 'node:process';

import { loopbackUrl } from './loopback.mjs';

/// Reads `argv` and returns `{ url, fail }`. `name` and `usage` make the
/// message of `fail(message)`, which exits with 2. For each argument that
/// starts with `-`, `option(arg, take)` handles it and returns true, or
/// returns false for one it does not know; `take` reads what follows:
/// - `value()`: the next argument;
/// - `count(min)`: the next as a whole number of at least `min`;
/// - `number(min, max)`: the next as a whole number from `min` to `max`;
/// - `object()`: the next as JSON, which must be an object.
/// `-h` and `--help` print `usage` and exit with 0. The one other argument is
/// the URL, which `loopbackUrl` checks against `schemes` after `check(fail)`
/// (if given) has seen the options.
export function readCommandLine(argv, { name, usage, option, check, schemes }) {
  const fail = (message) => {
    console.error(`${name}: ${message}\n${usage}`);
    process.exit(2);
  };
  let url = null;
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    const whole = (accept, want) => {
      const text = value();
      const n = Number(text);
      if (!Number.isInteger(n) || !accept(n)) fail(`${arg}: want a whole number ${want}, got '${text}'`);
      return n;
    };
    const take = {
      value,
      count: (min) => whole((n) => n >= min, `>= ${min}`),
      number: (min, max) => whole((n) => n >= min && n <= max, `from ${min} to ${max}`),
      object: () => {
        const text = value();
        let x;
        try {
          x = JSON.parse(text);
        } catch {
          fail(`${arg}: not JSON: ${text}`);
        }
        if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(`${arg}: want a JSON object`);
        return x;
      },
    };
    if (arg === '-h' || arg === '--help') {
      console.log(usage);
      process.exit(0);
    }
    if (arg.startsWith('-')) {
      if (!option(arg, take, fail)) fail(`unexpected argument '${arg}'`);
    } else if (url !== null) {
      fail(`unexpected argument '${arg}'`);
    } else {
      url = arg;
    }
  }
  if (url === null) fail('URL missing');
  if (check) check(fail);
  return { url: loopbackUrl(url, fail, schemes), fail };
}
