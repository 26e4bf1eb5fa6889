// The one kind of target the MCP test and benchmark clients accept: an
// http(s) URL on a loopback address.

/// Whether `host` (as `URL.hostname` gives it) names the loopback interface.
export function isLoopback(host) {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/// The URL in `text`, or a call of `fail` with what is wrong with it: not a
/// URL, another scheme than those in `schemes`, or not a loopback address.
export function loopbackUrl(text, fail, schemes = ['http:', 'https:']) {
  let url;
  try {
    url = new URL(text);
  } catch {
    fail(`not a URL: ${text}`);
  }
  if (!schemes.includes(url.protocol))
    fail(`not an ${schemes.map((x) => x.slice(0, -1)).join(' or ')} URL: ${text}`);
  if (!isLoopback(url.hostname))
    fail(`only loopback targets are allowed, not ${url.hostname}`);
  return url;
}
