// The SDK's `fetch`: routes the https URLs the official SDK builds to the
// local processes and records every exchange for later judgement.
//
//   https://DOMAIN/oauth/token   -> the fake itself (not in the OpenAPI document)
//   https://DOMAIN/api/v2/<p>    -> Prism, a validating proxy, at PRISM/<p>
//
// Prism (run without --errors) forwards everything and reports what the
// official document rejects in an `sl-violations` response header; the
// exchange keeps those violations, the status, the headers and the raw body.
// The access token is kept in memory only (the download check needs it) and
// is never part of an exchange record.

const MAX_RECORDED_BODY = 4 * 1024 * 1024;

export class Transport {
  // domain: the tenant domain the SDK is given; fakeUrl: http://127.0.0.1:P
  // of the fake's API listener; prismUrl: http://127.0.0.1:Q of the proxy;
  // onExchange(ex): called once per finished exchange.
  constructor({ domain, fakeUrl, prismUrl, onExchange }) {
    this.domain = domain;
    this.fakeUrl = fakeUrl.replace(/\/$/, '');
    this.prismUrl = prismUrl.replace(/\/$/, '');
    this.onExchange = onExchange;
    this.tokenRequests = [];
    this.accessToken = null;
    this.fetch = this.fetch.bind(this);
  }

  async fetch(input, init = {}) {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (url.protocol !== 'https:' || url.host !== this.domain) {
      throw new Error(`transport: unexpected URL '${url.origin}${url.pathname}'`);
    }
    if (url.pathname === '/oauth/token') return this.token(url, init);
    if (!url.pathname.startsWith('/api/v2/')) {
      throw new Error(`transport: unexpected path '${url.pathname}'`);
    }
    const target = this.prismUrl + url.pathname.slice('/api/v2'.length) + url.search;
    const headers = new Headers(init.headers || {});
    const ex = {
      method: (init.method || 'GET').toUpperCase(),
      path: decodePathForDisplay(url.pathname.slice('/api/v2'.length)),
      rawPath: url.pathname.slice('/api/v2'.length),
      query: url.search,
      requestContentType: headers.get('content-type'),
      authorization: headers.has('authorization'),
      auth0Client: headers.has('auth0-client'),
      multipart: init.body instanceof FormData ? describeFormData(init.body) : null,
      requestJson: typeof init.body === 'string' ? tryJson(init.body) : undefined,
    };
    const res = await fetch(target, init);
    ex.status = res.status;
    ex.headers = Object.fromEntries(res.headers.entries());
    ex.violations = parseViolations(res.headers.get('sl-violations'));
    const text = await res.clone().text();
    ex.bodyText = text.length > MAX_RECORDED_BODY ? text.slice(0, MAX_RECORDED_BODY) : text;
    ex.body = tryJson(text);
    this.onExchange(ex);
    return res;
  }

  async token(url, init) {
    const headers = new Headers(init.headers || {});
    const form = new URLSearchParams(typeof init.body === 'string' ? init.body : '');
    const rec = {
      contentType: headers.get('content-type'),
      grantType: form.get('grant_type'),
      clientIdSent: form.has('client_id'),
      clientSecretSent: form.has('client_secret'),
      audience: form.get('audience'),
    };
    const res = await fetch(this.fakeUrl + url.pathname, init);
    rec.status = res.status;
    const body = tryJson(await res.clone().text());
    if (res.ok && body && typeof body.access_token === 'string') {
      this.accessToken = body.access_token;
      rec.response = {
        accessTokenLength: body.access_token.length,
        tokenType: body.token_type,
        expiresIn: body.expires_in,
        scope: body.scope,
        keys: Object.keys(body).sort(),
      };
    } else {
      rec.response = body; // error bodies carry no secret
    }
    this.tokenRequests.push(rec);
    return res;
  }
}

function tryJson(text) {
  if (typeof text !== 'string' || text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function decodePathForDisplay(p) {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function describeFormData(fd) {
  const parts = [];
  for (const [name, value] of fd.entries()) {
    if (typeof value === 'string') parts.push({ name, value });
    else parts.push({ name, file: true, filename: value.name, type: value.type, size: value.size });
  }
  return parts;
}

// Prism's header holds a JSON array of {location, severity, code, message};
// when it would exceed ~8 KB it is cut and prefixed "Too many violations!".
export function parseViolations(header) {
  if (!header) return [];
  try {
    const v = JSON.parse(header);
    if (Array.isArray(v)) return v;
  } catch {
    /* fall through */
  }
  return [{ location: ['unknown'], severity: 'Error', code: 'unparsed', message: header.slice(0, 300) }];
}
