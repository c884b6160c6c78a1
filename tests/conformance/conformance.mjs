// Conformance driver: the official Auth0 Node SDK (`auth0` on npm) drives
// every Management API endpoint a0snap uses against the fake tenant, through
// Prism validating each exchange against Auth0's OpenAPI document.
//
// Environment (set by ./run):
//   CONF_FAKE_READY  the fake's ready file (JSON: domain, api_url, download_url,
//                    client_id, client_secret, pid); the secret is never printed
//   CONF_PRISM_URL   http://127.0.0.1:PORT of Prism proxying api_url/api/v2
//   CONF_OAS         path of management-api-oas.json
// Output: one line per check, then "N passed, N failed"; exit 1 on any failure.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ManagementClient } from 'auth0';
import { Harness, describeError } from './lib/harness.mjs';
import { Transport } from './lib/transport.mjs';
import { Oas } from './lib/oas.mjs';

const ready = JSON.parse(readFileSync(mustEnv('CONF_FAKE_READY'), 'utf8'));
const PRISM = mustEnv('CONF_PRISM_URL');
const oas = new Oas(mustEnv('CONF_OAS'));
const DOMAIN = ready.domain;
const FAKE = ready.api_url.replace(/\/$/, '');
const DOWNLOAD = ready.download_url.replace(/\/$/, '');
const UPA = 'Username-Password-Authentication';
const POLL_LIMIT_MS = 60_000; // an upper bound only; no assertion depends on time

const h = new Harness({ oas });
// A crash between checks still ends with the summary line.
process.on('uncaughtException', (e) => {
  console.log(`FAIL  driver crashed: ${describeError(e)}`);
  console.log(`${h.passed} passed, ${h.failed + 1} failed`);
  process.exit(1);
});
const transport = new Transport({ domain: DOMAIN, fakeUrl: FAKE, prismUrl: PRISM, onExchange: (ex) => h.record(ex) });

// maxRetries 0: the SDK must see exactly what the fake answers.
function client(overrides = {}, tr = transport) {
  return new ManagementClient({
    domain: DOMAIN,
    clientId: ready.client_id,
    clientSecret: ready.client_secret,
    fetch: tr.fetch,
    maxRetries: 0,
    timeoutInSeconds: 30,
    ...overrides,
  });
}
const mgmt = client();

// ---------------------------------------------------------------- helpers

function mustEnv(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`conformance: ${name} is not set (run tests/conformance/run)`);
    process.exit(2);
  }
  return v;
}

// Control endpoints of the fake (no token, not part of the API under test).
async function control(method, path, body) {
  const res = await fetch(FAKE + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`control ${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : null;
}
const tenantState = () => control('GET', '/__state');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sorted = (a) => [...a].sort();
const byId = (arr, key = 'id') => new Map(arr.map((x) => [x[key], x]));
const strip = (u) => {
  const { roles, organizations, ...rest } = u;
  return rest;
};
const primaryConnection = (u) => u.identities?.[0]?.connection;
const isoDate = (s) => typeof s === 'string' && !Number.isNaN(Date.parse(s)) && /^\d{4}-\d\d-\d\dT/.test(s);
const ID = {
  con: /^con_[A-Za-z0-9]{16}$/,
  rol: /^rol_[A-Za-z0-9]{16}$/,
  org: /^org_[A-Za-z0-9]{16}$/,
  job: /^job_[A-Za-z0-9]{16}$/,
};
const uniq = (tag) => `${tag}-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`;

// Collects every item of an SDK checkpoint list by walking the pages by hand;
// returns {items, responses}.
async function walkPages(first) {
  const items = [];
  const responses = [];
  let page = first;
  for (let guard = 0; guard < 1000; guard++) {
    items.push(...page.data);
    responses.push(page.response);
    if (!page.hasNextPage()) break;
    page = await page.getNextPage();
  }
  return { items, responses };
}

async function pollJob(c, id) {
  const seen = [];
  const deadline = Date.now() + POLL_LIMIT_MS;
  for (;;) {
    const job = await mgmt.jobs.get(id);
    if (seen[seen.length - 1] !== job.status) seen.push(job.status);
    if (job.status === 'completed' || job.status === 'failed' || job.status === 'expired') return { job, seen };
    if (Date.now() > deadline) {
      c.must(false, `job ${id} still '${job.status}' after ${POLL_LIMIT_MS} ms`);
    }
    await sleep(150);
  }
}

function checkErrorBody(c, body, status, reason, what) {
  c.expect(body && typeof body === 'object', `${what}: error body is not JSON`);
  if (!body || typeof body !== 'object') return;
  c.eq(body.statusCode, status, `${what}: body.statusCode`);
  c.eq(body.error, reason, `${what}: body.error`);
  c.expect(typeof body.message === 'string' && body.message.length > 0, `${what}: body.message missing`);
}

function rawStatus(c, method, path) {
  const x = c.last(method, path);
  return x ? x.status : undefined;
}

// ---------------------------------------------------------------- setup

let S = await tenantState(); // the seeded tenant before any change
const conByName = new Map(S.connections.map((x) => [x.name, x]));
const upa = conByName.get(UPA);
if (!upa) {
  console.error(`conformance: the seeded tenant has no '${UPA}' connection`);
  process.exit(2);
}
const usersIn = (state, conn) => state.users.filter((u) => primaryConnection(u) === conn);
const someUser = (pred) => S.users.find(pred);
const upaUser = someUser((u) => primaryConnection(u) === UPA && u.user_id.startsWith('auth0|') && u.email);
const created = {}; // ids of users the run creates

// ---------------------------------------------------------------- token

await h.check('token: client credentials, form-encoded, with the tenant audience', async (c) => {
  const page = await mgmt.roles.list();
  c.expect(Array.isArray(page.data), 'roles.list gave no data');
  c.must(transport.tokenRequests.length === 1, `want 1 token request, got ${transport.tokenRequests.length}`);
  const t = transport.tokenRequests[0];
  c.expect(/^application\/x-www-form-urlencoded/.test(t.contentType || ''), `token content-type '${t.contentType}'`);
  c.eq(t.grantType, 'client_credentials', 'grant_type');
  c.expect(t.clientIdSent && t.clientSecretSent, 'client_id / client_secret not both sent');
  c.eq(t.audience, `https://${DOMAIN}/api/v2/`, 'audience');
  c.eq(t.status, 200, 'token status');
  const r = t.response || {};
  c.eq(r.tokenType, 'Bearer', 'token_type');
  c.expect(Number.isInteger(r.expiresIn) && r.expiresIn > 0, `expires_in ${r.expiresIn}`);
  c.expect(r.accessTokenLength > 0, 'empty access_token');
  c.expect(typeof r.scope === 'string' && r.scope.split(' ').includes('read:users'), 'scope lacks read:users');
  for (const k of r.keys || []) {
    c.expect(['access_token', 'token_type', 'expires_in', 'scope'].includes(k), `unexpected token field '${k}'`);
  }
  const ex = c.exchanges[0];
  c.expect(ex && ex.authorization, 'API call carried no Authorization header');
  c.expect(ex && ex.auth0Client, 'API call carried no Auth0-Client telemetry header');
});

await h.check('token: a wrong secret is 401 invalid_client, a wrong audience 403 access_denied', async (c) => {
  const tr = new Transport({ domain: DOMAIN, fakeUrl: FAKE, prismUrl: PRISM, onExchange: (ex) => h.record(ex) });
  const bad = client({ clientSecret: 'not-the-secret', fetch: tr.fetch }, tr);
  const e1 = await c.rejects(bad.users.list(), 401, 'wrong secret');
  if (e1) c.eq(e1.body?.error, 'invalid_client', 'wrong secret: error');
  const tr2 = new Transport({ domain: DOMAIN, fakeUrl: FAKE, prismUrl: PRISM, onExchange: (ex) => h.record(ex) });
  const aud = client({ audience: 'https://other.example.test/api/v2/', fetch: tr2.fetch }, tr2);
  const e2 = await c.rejects(aud.users.list(), 403, 'wrong audience');
  if (e2) c.eq(e2.body?.error, 'access_denied', 'wrong audience: error');
  c.eq(c.exchanges.length, 0, 'API calls made without a token');
});

// ---------------------------------------------------------------- users

await h.check('users.list: default page is the {start,limit,length,total,users} envelope', async (c) => {
  const page = await mgmt.users.list();
  const r = page.response;
  c.eq(Object.keys(r).sort(), ['length', 'limit', 'start', 'total', 'users'], 'envelope keys');
  c.eq([r.start, r.limit, r.length, r.total], [0, 50, 50, S.users.length], 'start/limit/length/total');
  c.eq(page.data.length, 50, 'users on page 0');
  const q = new URLSearchParams(c.exchanges[0]?.query);
  c.eq([q.get('page'), q.get('per_page'), q.get('include_totals')], ['0', '50', 'true'], 'query the SDK sent');
  const want = byId(S.users, 'user_id');
  for (const u of page.data) {
    c.expect(want.has(u.user_id), `unknown user ${u.user_id}`);
    if (want.has(u.user_id)) c.eq(u, strip(want.get(u.user_id)), `user ${u.user_id}`);
  }
});

await h.check('users.list: paging with per_page=100 reaches every user once', async (c) => {
  const ids = [];
  for await (const u of await mgmt.users.list({ per_page: 100 })) ids.push(u.user_id);
  c.eq(ids.length, S.users.length, 'users seen');
  c.eq(new Set(ids).size, ids.length, 'distinct users');
  c.eq(sorted(ids), sorted(S.users.map((u) => u.user_id)), 'user ids');
  c.expect(c.exchanges.every((x) => x.status === 200), 'a page was not 200');
});

await h.check('users.list: include_totals=false answers a bare array', async (c) => {
  const page = await mgmt.users.list({ per_page: 5, include_totals: false });
  c.expect(Array.isArray(page.response), 'response is not an array');
  if (Array.isArray(page.response)) c.eq(page.response.length, 5, 'array length');
});

await h.check('users.list: Lucene q with search_engine=v3', async (c) => {
  const legacy = usersIn(S, 'legacy-db');
  c.must(legacy.length > 0 && legacy.length <= 1000, `legacy-db has ${legacy.length} users`);
  const got = [];
  for await (const u of await mgmt.users.list({ q: 'identities.connection:"legacy-db"', search_engine: 'v3', per_page: 100 })) {
    got.push(u);
  }
  c.eq(sorted(got.map((u) => u.user_id)), sorted(legacy.map((u) => u.user_id)), 'identities.connection:"legacy-db"');

  const one = await mgmt.users.list({ q: `email:"${upaUser.email}"`, search_engine: 'v3' });
  c.eq(one.data.map((u) => u.user_id), [upaUser.user_id], 'email:"..." exact match');
  c.eq(one.response.total, 1, 'total for an exact email');

  const blocked = S.users.filter((u) => u.blocked === true);
  const b = await mgmt.users.list({ q: 'blocked:true', search_engine: 'v3', per_page: 100 });
  c.eq(b.response.total, blocked.length, 'total for blocked:true');
  c.expect(b.data.every((u) => u.blocked === true), 'blocked:true returned an unblocked user');

  const q = new URLSearchParams(c.exchanges[0]?.query);
  c.eq(q.get('search_engine'), 'v3', 'search_engine sent');
});

await h.check('users.list: paging past the first 1000 results is a 400', async (c) => {
  const ok = await mgmt.users.list({ page: 9, per_page: 100 });
  c.eq(ok.data.length, Math.max(0, Math.min(100, S.users.length - 900)), 'page 9 of 100 (inside the window)');
  const e = await c.rejects(mgmt.users.list({ page: 10, per_page: 100 }), 400, 'page 10 of 100');
  if (e) {
    checkErrorBody(c, e.body, 400, 'Bad Request', '1000 cap');
    c.expect(/1000/.test(e.body?.message || ''), `1000 cap message: '${e.body?.message}'`);
  }
});

await h.check(
  'users.list: per_page above 100 is a 400 (negative test, request violation expected)',
  async (c) => {
    const e = await c.rejects(mgmt.users.list({ per_page: 101 }), 400, 'per_page=101');
    if (e) checkErrorBody(c, e.body, 400, 'Bad Request', 'per_page=101');
  },
  { requestViolations: /must be <= 100/ },
);

await h.check('users.get: ids with | are percent-encoded and round-trip', async (c) => {
  const picks = [
    someUser((u) => u.user_id.startsWith('auth0|')),
    someUser((u) => u.user_id.startsWith('google-oauth2|')),
    someUser((u) => u.user_id.startsWith('samlp|')),
  ].filter(Boolean);
  c.expect(picks.length === 3, `seeded tenant lacks a database, social or SAML user (${picks.length} of 3)`);
  for (const u of picks) {
    const got = await mgmt.users.get(u.user_id);
    c.eq(got, strip(u), `GET /users/${u.user_id}`);
  }
  c.expect(c.exchanges.every((x) => x.rawPath.includes('%7C')), 'a user id was not percent-encoded');
  const f = await mgmt.users.get(upaUser.user_id, { fields: 'user_id,email', include_fields: true });
  c.eq(Object.keys(f).sort(), ['email', 'user_id'], 'fields=user_id,email');
});

await h.check('users.get: an unknown id is a 404 inexistent_user', async (c) => {
  const e = await c.rejects(mgmt.users.get('auth0|000000000000000000000000'), 404, 'unknown user');
  if (e) {
    checkErrorBody(c, e.body, 404, 'Not Found', 'unknown user');
    c.eq(e.body?.errorCode, 'inexistent_user', 'errorCode');
  }
});

await h.check('users-by-email: a bare array of matching users', async (c) => {
  const got = await mgmt.users.listUsersByEmail({ email: upaUser.email });
  c.must(Array.isArray(got), 'not an array');
  c.eq(got.map((u) => u.user_id), [upaUser.user_id], 'users for the email');
  if (got[0]) c.eq(got[0], strip(upaUser), 'user');
  const none = await mgmt.users.listUsersByEmail({ email: 'nobody-here@example.invalid' });
  c.eq(none, [], 'unknown email');
});

const newEmail = `${uniq('conf.created')}@example.org`.toLowerCase();
const customLocal = uniq('conf-custom');
const customEmail = `${customLocal}@example.org`.toLowerCase();

await h.check('users.create: 201 with the user and Auth0 defaults', async (c) => {
  const res = await mgmt.users
    .create({
      connection: UPA,
      email: newEmail,
      password: 'Corr3ct-Horse-Battery-Staple!',
      email_verified: true,
      verify_email: false,
      given_name: 'Conf',
      family_name: 'Ormance',
      user_metadata: { a: 1, keep: 'x', nested: { p: 1 } },
      app_metadata: { plan: 'gold' },
    })
    .withRawResponse();
  c.eq(res.rawResponse.status, 201, 'status');
  const u = res.data;
  c.must(/^auth0\|[0-9a-f]{24}$/.test(u.user_id || ''), `user_id '${u.user_id}'`);
  created.main = u.user_id;
  c.eq(u.email, newEmail, 'email');
  c.eq(u.email_verified, true, 'email_verified');
  c.eq(u.name, newEmail, 'default name (the email)');
  c.eq(u.nickname, newEmail.split('@')[0], 'default nickname (the local part)');
  c.expect(typeof u.picture === 'string' && /^https:\/\//.test(u.picture), 'default picture');
  c.eq(u.identities, [{ connection: UPA, user_id: u.user_id.slice(6), provider: 'auth0', isSocial: false }], 'identities');
  c.expect(isoDate(u.created_at) && isoDate(u.updated_at), 'created_at/updated_at');
  c.eq(u.user_metadata, { a: 1, keep: 'x', nested: { p: 1 } }, 'user_metadata');
  c.eq(u.app_metadata, { plan: 'gold' }, 'app_metadata');
  c.expect(!('password' in u), 'the password came back');
  const again = await mgmt.users.get(u.user_id);
  c.eq(again, u, 'GET after create');

  const custom = await mgmt.users.create({ connection: UPA, email: customEmail, password: 'An0ther-Str0ng-Pass!', user_id: customLocal });
  c.eq(custom.user_id, `auth0|${customLocal}`, 'custom user_id gets the auth0| prefix');
  created.custom = custom.user_id;
});

await h.check('users.create: a duplicate email is a 409', async (c) => {
  c.must(created.main, 'no user was created');
  const e = await c.rejects(
    mgmt.users.create({ connection: UPA, email: newEmail, password: 'Corr3ct-Horse-Battery-Staple!' }),
    409,
    'duplicate email',
  );
  if (e) {
    checkErrorBody(c, e.body, 409, 'Conflict', 'duplicate');
    c.eq(e.body?.message, 'The user already exists.', 'message');
  }
  c.eq(c.exchanges.length, 1, 'requests (a 409 must not be retried)');
});

await h.check(
  'users.create: an unknown property is a 400 invalid_body (negative test, request violation expected)',
  async (c) => {
    const e = await c.rejects(
      mgmt.users.create({ connection: UPA, email: `${uniq('conf.bad')}@example.org`, password: 'Corr3ct-Horse-Battery-Staple!', logins_count: 3 }),
      400,
      'unknown property',
    );
    if (e) {
      checkErrorBody(c, e.body, 400, 'Bad Request', 'unknown property');
      c.eq(e.body?.errorCode, 'invalid_body', 'errorCode');
      c.expect(/logins_count/.test(e.body?.message || ''), `message does not name the property: '${e.body?.message}'`);
    }
  },
  { requestViolations: /additional properties/ },
);

await h.check('users.update: metadata merged at the first level, null unsets, rest replaced', async (c) => {
  c.must(created.main, 'no user was created');
  const u = await mgmt.users.update(created.main, {
    user_metadata: { a: null, b: 2, nested: { q: 2 } },
    name: 'Conformance Renamed',
  });
  c.eq(u.user_metadata, { keep: 'x', b: 2, nested: { q: 2 } }, 'user_metadata after merge');
  c.eq(u.app_metadata, { plan: 'gold' }, 'app_metadata untouched');
  c.eq(u.name, 'Conformance Renamed', 'name replaced');
  const u2 = await mgmt.users.update(created.main, { app_metadata: { flags: ['beta'] } });
  c.eq(u2.app_metadata, { plan: 'gold', flags: ['beta'] }, 'app_metadata after merge');
  c.eq(u2.user_metadata, { keep: 'x', b: 2, nested: { q: 2 } }, 'user_metadata untouched');
  c.eq(await mgmt.users.get(created.main), u2, 'GET after update');
  c.eq(rawStatus(c, 'PATCH', /^\/users\//), 200, 'PATCH status');
});

await h.check('users.update: an email taken by another user is a 409', async (c) => {
  c.must(created.main && created.custom, 'users were not created');
  const e = await c.rejects(mgmt.users.update(created.custom, { email: newEmail }), 409, 'email conflict');
  if (e) checkErrorBody(c, e.body, 409, 'Conflict', 'email conflict');
});

await h.check('users.delete: 204, then the user is gone', async (c) => {
  c.must(created.custom, 'no user to delete');
  const r = await mgmt.users.delete(created.custom).withRawResponse();
  c.eq(r.rawResponse.status, 204, 'status');
  await c.rejects(mgmt.users.get(created.custom), 404, 'GET after delete');
  const st = await tenantState();
  c.expect(!st.users.some((u) => u.user_id === created.custom), 'user still in /__state');
});

// ---------------------------------------------------------------- connections

await h.check('connections.list: checkpoint paging as the SDK does it', async (c) => {
  const all = [];
  for await (const x of await mgmt.connections.list()) all.push(x);
  c.eq(sorted(all.map((x) => x.name)), sorted(S.connections.map((x) => x.name)), 'connection names');
  for (const x of all) {
    c.expect(ID.con.test(x.id), `connection id '${x.id}'`);
    const want = conByName.get(x.name);
    if (want) c.eq([x.id, x.strategy], [want.id, want.strategy], `connection ${x.name}`);
  }
  const q = new URLSearchParams(c.exchanges[0]?.query);
  c.eq([q.get('take'), q.has('from')], ['50', false], 'first request take/from');
});

await h.check('connections.list: take=1 walks every page; the last has no next', async (c) => {
  const { items, responses } = await walkPages(await mgmt.connections.list({ take: 1 }));
  c.eq(sorted(items.map((x) => x.id)), sorted(S.connections.map((x) => x.id)), 'connection ids');
  c.expect(responses.every((r) => r.connections.length <= 1), 'a page held more than take=1');
  c.expect(responses.slice(0, -1).every((r) => typeof r.next === 'string' && r.next), 'an inner page lacks next');
  c.expect(!('next' in responses[responses.length - 1]), 'the last page has next');
  c.expect(responses.every((r) => !('total' in r) && !('start' in r)), 'checkpoint page carries offset fields');
  c.expect(c.exchanges.slice(1).every((x) => new URLSearchParams(x.query).has('from')), 'later requests lack from');
});

await h.check('connections.list: strategy filter', async (c) => {
  const got = [];
  for await (const x of await mgmt.connections.list({ strategy: ['auth0'] })) got.push(x);
  const want = S.connections.filter((x) => x.strategy === 'auth0');
  c.must(want.length > 0, 'no auth0 connection in the tenant');
  c.eq(sorted(got.map((x) => x.name)), sorted(want.map((x) => x.name)), 'strategy=auth0');
  c.eq(new URLSearchParams(c.exchanges[0]?.query).getAll('strategy'), ['auth0'], 'strategy sent');
});

await h.check('connections.list: offset paging (page, per_page, include_totals)', async (c) => {
  const total = S.connections.length;
  const seen = [];
  for (let p = 0; p * 2 < total; p++) {
    const page = await mgmt.connections.list({ take: null, include_totals: true }, { queryParams: { page: p, per_page: 2 } });
    const r = page.response;
    c.eq([r.start, r.limit, r.total], [p * 2, 2, total], `page ${p} start/limit/total`);
    c.expect(!('next' in r), `page ${p} has next`);
    seen.push(...(r.connections || []).map((x) => x.id));
  }
  c.eq(sorted(seen), sorted(S.connections.map((x) => x.id)), 'connection ids over the pages');
  c.expect(c.exchanges.every((x) => !new URLSearchParams(x.query).has('take')), 'take was sent');
});

await h.check('connections.get: one connection by id', async (c) => {
  const got = await mgmt.connections.get(upa.id);
  c.eq([got.id, got.name, got.strategy], [upa.id, upa.name, upa.strategy], 'connection');
  await c.rejects(mgmt.connections.get('con_0000000000000000'), 404, 'unknown connection');
});

// ---------------------------------------------------------------- roles

const roleMembers = (state, name) => state.users.filter((u) => (u.roles || []).includes(name)).map((u) => u.user_id);
const roleByName = new Map(S.roles.map((r) => [r.name, r]));
const bigRole = [...S.roles].sort((a, b) => roleMembers(S, b.name).length - roleMembers(S, a.name).length)[0];

await h.check('roles.list: offset envelope {roles,start,limit,total}', async (c) => {
  c.must(S.roles.length > 0, 'the seeded tenant has no roles');
  const page = await mgmt.roles.list();
  const r = page.response;
  c.eq([r.start, r.limit, r.total], [0, 50, S.roles.length], 'start/limit/total');
  c.eq(sorted(page.data.map((x) => x.name)), sorted(S.roles.map((x) => x.name)), 'role names');
  for (const x of page.data) {
    c.expect(ID.rol.test(x.id), `role id '${x.id}'`);
    c.eq(x, roleByName.get(x.name), `role ${x.name}`);
  }
  const q = new URLSearchParams(c.exchanges[0]?.query);
  c.eq([q.get('page'), q.get('per_page'), q.get('include_totals')], ['0', '50', 'true'], 'query the SDK sent');
});

await h.check('roles.users.list: checkpoint (take=7) to the end', async (c) => {
  const want = roleMembers(S, bigRole.name);
  c.must(want.length > 7, `role '${bigRole.name}' has only ${want.length} users`);
  const { items, responses } = await walkPages(await mgmt.roles.users.list(bigRole.id, { take: 7 }));
  c.eq(sorted(items.map((u) => u.user_id)), sorted(want), `users of role ${bigRole.name}`);
  c.eq(new Set(items.map((u) => u.user_id)).size, items.length, 'distinct users');
  c.expect(responses.every((r) => r.users.length <= 7), 'a page held more than take');
  c.expect(responses.slice(0, -1).every((r) => typeof r.next === 'string' && r.next), 'an inner page lacks next');
  c.expect(!('next' in responses[responses.length - 1]), 'the last page has next');
  const byUser = byId(S.users, 'user_id');
  for (const u of items) {
    c.expect(Object.keys(u).every((k) => ['user_id', 'picture', 'name', 'email'].includes(k)), `role user keys ${Object.keys(u)}`);
    const s = byUser.get(u.user_id);
    if (s && s.email) c.eq(u.email, s.email, `email of ${u.user_id}`);
  }
});

await h.check('roles.users.list: offset (page, per_page, include_totals)', async (c) => {
  const want = roleMembers(S, bigRole.name);
  const page = await mgmt.roles.users.list(bigRole.id, { take: null, include_totals: true }, { queryParams: { page: 0, per_page: 5 } });
  const r = page.response;
  c.eq([r.start, r.limit, r.total, r.users?.length], [0, 5, want.length, Math.min(5, want.length)], 'start/limit/total/users');
});

await h.check('roles.users.assign: the user gets the role', async (c) => {
  c.must(created.main, 'no user was created');
  await mgmt.roles.users.assign(bigRole.id, { users: [created.main] });
  c.eq(c.exchanges[0]?.requestJson, { users: [created.main] }, 'request body');
  const roles = await mgmt.users.roles.list(created.main);
  c.expect(roles.data.some((r) => r.id === bigRole.id), `role ${bigRole.name} not assigned`);
});

await h.check('users.roles: list, assign (204), delete (204)', async (c) => {
  c.must(created.main, 'no user was created');
  const others = S.roles.filter((r) => r.id !== bigRole.id).slice(0, 2);
  c.must(others.length === 2, 'need two more roles');
  const a = await mgmt.users.roles.assign(created.main, { roles: others.map((r) => r.id) }).withRawResponse();
  c.eq(a.rawResponse.status, 204, 'assign status');
  let page = await mgmt.users.roles.list(created.main);
  c.eq(sorted(page.data.map((r) => r.id)), sorted([bigRole.id, ...others.map((r) => r.id)]), 'roles after assign');
  c.eq([page.response.start, page.response.limit, page.response.total], [0, 50, 3], 'start/limit/total');
  for (const r of page.data) c.eq(r, roleByName.get(r.name), `role ${r.name}`);
  const d = await mgmt.users.roles.delete(created.main, { roles: [others[0].id] }).withRawResponse();
  c.eq(d.rawResponse.status, 204, 'delete status');
  page = await mgmt.users.roles.list(created.main);
  c.eq(sorted(page.data.map((r) => r.id)), sorted([bigRole.id, others[1].id]), 'roles after delete');
  const seeded = someUser((u) => (u.roles || []).length > 0);
  if (seeded) {
    const sp = await mgmt.users.roles.list(seeded.user_id);
    c.eq(sorted(sp.data.map((r) => r.name)), sorted(seeded.roles), `roles of seeded ${seeded.user_id}`);
  }
});

// ---------------------------------------------------------------- organizations

const orgMembers = (org) => org.members.map((m) => m.user_id);
const bigOrg = [...S.organizations].sort((a, b) => b.members.length - a.members.length)[0];

await h.check('organizations.list: checkpoint (SDK default and take=1 to the end)', async (c) => {
  c.must(S.organizations.length > 1, 'the seeded tenant needs at least two organizations');
  const all = [];
  for await (const o of await mgmt.organizations.list()) all.push(o);
  c.eq(sorted(all.map((o) => o.name)), sorted(S.organizations.map((o) => o.name)), 'organization names');
  const want = byId(S.organizations);
  for (const o of all) {
    c.expect(ID.org.test(o.id), `organization id '${o.id}'`);
    const w = want.get(o.id);
    c.expect(w && w.name === o.name && w.display_name === o.display_name, `organization ${o.id}`);
  }
  const { items, responses } = await walkPages(await mgmt.organizations.list({ take: 1 }));
  c.eq(sorted(items.map((o) => o.id)), sorted(S.organizations.map((o) => o.id)), 'ids with take=1');
  c.expect(responses.slice(0, -1).every((r) => typeof r.next === 'string' && r.next), 'an inner page lacks next');
  c.expect(!('next' in responses[responses.length - 1]), 'the last page has next');
});

await h.check('organizations.list: offset (page, per_page, include_totals)', async (c) => {
  const total = S.organizations.length;
  const seen = [];
  for (let p = 0; p * 2 < total; p++) {
    const page = await mgmt.organizations.list({ take: null, include_totals: true }, { queryParams: { page: p, per_page: 2 } });
    const r = page.response;
    c.eq([r.start, r.limit, r.total], [p * 2, 2, total], `page ${p} start/limit/total`);
    seen.push(...(r.organizations || []).map((o) => o.id));
  }
  c.eq(sorted(seen), sorted(S.organizations.map((o) => o.id)), 'ids over the pages');
});

await h.check('organizations.getByName: name to id; unknown name is 404', async (c) => {
  for (const o of S.organizations) {
    const got = await mgmt.organizations.getByName(o.name);
    c.eq([got.id, got.name, got.display_name], [o.id, o.name, o.display_name], `organization '${o.name}'`);
  }
  await c.rejects(mgmt.organizations.getByName('no-such-organization'), 404, 'unknown name');
});

const memberFields = 'user_id,email,name,picture,roles';
await h.check(`organizations.members.list: checkpoint with fields=${memberFields} to the end`, async (c) => {
  c.must(bigOrg && bigOrg.members.length > 5, 'the largest organization has 5 members or fewer');
  const { items, responses } = await walkPages(await mgmt.organizations.members.list(bigOrg.id, { take: 5, fields: memberFields }));
  c.eq(sorted(items.map((m) => m.user_id)), sorted(orgMembers(bigOrg)), `members of ${bigOrg.name}`);
  c.expect(responses.every((r) => r.members.length <= 5), 'a page held more than take');
  c.expect(responses.slice(0, -1).every((r) => typeof r.next === 'string' && r.next), 'an inner page lacks next');
  c.expect(!('next' in responses[responses.length - 1]), 'the last page has next');
  const want = new Map(bigOrg.members.map((m) => [m.user_id, m.roles]));
  const byUser = byId(S.users, 'user_id');
  let withRoles = 0;
  for (const m of items) {
    c.must(Array.isArray(m.roles), `member ${m.user_id} has no roles array`);
    c.eq(sorted(m.roles.map((r) => r.name)), want.get(m.user_id) || [], `roles of member ${m.user_id}`);
    for (const r of m.roles) c.expect(ID.rol.test(r.id) && roleByName.get(r.name)?.id === r.id, `member role ${JSON.stringify(r)}`);
    if (m.roles.length) withRoles++;
    const s = byUser.get(m.user_id);
    if (s?.email) c.eq(m.email, s.email, `email of member ${m.user_id}`);
  }
  c.expect(withRoles > 0, 'no member of the largest organization has a role');
  const q = new URLSearchParams(c.exchanges[0]?.query);
  c.eq([q.get('take'), q.get('fields')], ['5', memberFields], 'query sent');
  // fields=roles alone: the roles are there (what else is, fields decides).
  const onlyRoles = await mgmt.organizations.members.list(bigOrg.id, { take: 5, fields: 'roles' });
  c.expect(onlyRoles.data.length > 0 && onlyRoles.data.every((m) => Array.isArray(m.roles)), 'fields=roles: a member without roles array');
  // Without fields: every member field except roles.
  const plain = await mgmt.organizations.members.list(bigOrg.id, { take: 5 });
  c.expect(plain.data.length > 0 && plain.data.every((m) => m.user_id && !('roles' in m)), 'members without fields: user_id missing or roles present');
});

await h.check('organizations.members.create (204) and member roles get/assign (204)', async (c) => {
  c.must(created.main, 'no user was created');
  const add = await mgmt.organizations.members.create(bigOrg.id, { members: [created.main] }).withRawResponse();
  c.eq(add.rawResponse.status, 204, 'add member status');
  const members = [];
  for await (const m of await mgmt.organizations.members.list(bigOrg.id)) members.push(m.user_id);
  c.expect(members.includes(created.main), 'new member not listed');
  let roles = await mgmt.organizations.members.roles.list(bigOrg.id, created.main);
  c.eq([roles.data.length, roles.response.total], [0, 0], 'roles of a new member');
  const role = S.roles[0];
  const as = await mgmt.organizations.members.roles.assign(bigOrg.id, created.main, { roles: [role.id] }).withRawResponse();
  c.eq(as.rawResponse.status, 204, 'assign member role status');
  roles = await mgmt.organizations.members.roles.list(bigOrg.id, created.main);
  c.eq(roles.data.map((r) => r.id), [role.id], 'member roles after assign');
  c.eq([roles.response.start, roles.response.total], [0, 1], 'start/total');
  const st = await tenantState();
  const org = st.organizations.find((o) => o.id === bigOrg.id);
  c.eq(org?.members.find((m) => m.user_id === created.main)?.roles, [role.name], 'member roles in /__state');
});

// ---------------------------------------------------------------- export

const exportFields = ['user_id', 'email', 'email_verified', 'name', 'user_metadata', 'app_metadata', 'identities', 'created_at'];
let exportJobId = null;

await h.check('export job: create (200), poll, download gzip NDJSON without Authorization', async (c) => {
  const before = await tenantState();
  const res = await mgmt.jobs.usersExports
    .create({ connection_id: upa.id, format: 'json', fields: exportFields.map((name) => ({ name })) })
    .withRawResponse();
  c.eq(res.rawResponse.status, 200, 'create status');
  const j = res.data;
  c.must(ID.job.test(j.id || ''), `job id '${j.id}'`);
  exportJobId = j.id;
  c.eq([j.type, j.status, j.connection_id, j.connection, j.format], ['users_export', 'pending', upa.id, UPA, 'json'], 'job');
  c.eq(j.fields, exportFields.map((name) => ({ name })), 'fields echoed');
  c.expect(isoDate(j.created_at), 'created_at');

  const { job, seen } = await pollJob(c, j.id);
  c.must(job.status === 'completed', `job ended '${job.status}' (${seen.join(' -> ')})`);
  c.expect(seen[0] === 'pending' || seen[0] === 'processing' || seen.length === 1, `status sequence ${seen.join(' -> ')}`);
  c.must(typeof job.location === 'string' && job.location.startsWith(`${DOWNLOAD}/`), `location '${job.location}' is not on the download listener`);
  c.expect(/[?&]Expires=\d+/.test(job.location) && /[?&]Signature=/.test(job.location), 'location is not signed');

  const dl = await fetch(job.location);
  c.must(dl.status === 200, `download: HTTP ${dl.status}`);
  const bytes = Buffer.from(await dl.arrayBuffer());
  c.eq(Number(dl.headers.get('content-length')), bytes.length, 'Content-Length');
  c.must(bytes[0] === 0x1f && bytes[1] === 0x8b, 'download is not gzip');
  const lines = gunzipSync(bytes).toString('utf8').split('\n').filter((l) => l.trim() !== '');
  const rows = lines.map((l) => JSON.parse(l));
  const want = usersIn(before, UPA);
  c.eq(sorted(rows.map((r) => r.user_id)), sorted(want.map((u) => u.user_id)), `users of ${UPA} in the file`);
  const byUser = byId(before.users, 'user_id');
  let checked = 0;
  for (const r of rows) {
    const s = byUser.get(r.user_id);
    if (!s) continue;
    const expected = {};
    for (const f of exportFields) if (s[f] !== undefined) expected[f] = s[f];
    if (!c.eq(r, expected, `line for ${r.user_id}`)) break;
    checked++;
  }
  c.expect(checked === rows.length, `${rows.length - checked} lines did not match`);
});

await h.check('export download: a request carrying Authorization is refused (403)', async (c) => {
  c.must(exportJobId, 'no export job');
  c.must(transport.accessToken, 'no token captured');
  const job = await mgmt.jobs.get(exportJobId);
  c.must(typeof job.location === 'string', 'no location on the completed job');
  const bad = await fetch(job.location, { headers: { Authorization: `Bearer ${transport.accessToken}` } });
  c.eq(bad.status, 403, 'download with Authorization');
  const text = await bad.text();
  c.expect(/<Error>/.test(text) && /<Code>/.test(text), 'refusal is not an S3-style XML error');
  const good = await fetch(job.location);
  c.eq(good.status, 200, 'the same link without Authorization');
  await good.arrayBuffer();
});

await h.check('export job without connection_id, limit 5', async (c) => {
  const fields = [{ name: 'user_id' }, { name: 'email' }];
  const j = await mgmt.jobs.usersExports.create({ format: 'json', limit: 5, fields });
  c.must(ID.job.test(j.id || ''), `job id '${j.id}'`);
  c.expect(!('connection_id' in j), 'connection_id in a job created without one');
  const { job } = await pollJob(c, j.id);
  c.must(job.status === 'completed' && job.location, `job ended '${job.status}'`);
  const dl = await fetch(job.location);
  c.must(dl.status === 200, `download: HTTP ${dl.status}`);
  const rows = gunzipSync(Buffer.from(await dl.arrayBuffer()))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
  c.eq(rows.length, 5, 'lines');
  c.expect(rows.every((r) => Object.keys(r).every((k) => k === 'user_id' || k === 'email')), 'a line holds other fields');
});

await h.check('jobs.get: an unknown job is a 404', async (c) => {
  await c.rejects(mgmt.jobs.get('job_0000000000000000'), 404, 'unknown job');
});

// ---------------------------------------------------------------- import

const imp1 = `${uniq('conf.import1')}@example.org`.toLowerCase();
const imp2 = `${uniq('conf.import2')}@example.org`.toLowerCase();
const impId = uniq('conf-imp');

function importFile(users) {
  return { data: Buffer.from(JSON.stringify(users)), filename: 'users.json', contentType: 'application/json' };
}

await h.check('import job: multipart (202), poll, summary, errors as an array', async (c) => {
  const users = [
    { email: imp1, email_verified: true, user_id: impId, given_name: 'Imp', user_metadata: { x: 1 } },
    { email: imp2 },
    { email: upaUser.email, email_verified: true },
  ];
  const res = await mgmt.jobs.usersImports
    .create({ users: importFile(users), connection_id: upa.id, upsert: false, external_id: 'conformance-1', send_completion_email: false })
    .withRawResponse();
  c.eq(res.rawResponse.status, 202, 'create status');
  const ex = c.exchanges[0];
  c.expect(/^multipart\/form-data; boundary=/.test(ex?.requestContentType || '') || ex?.multipart, 'not sent as multipart/form-data');
  const parts = ex?.multipart || [];
  c.eq(parts.map((p) => p.name).sort(), ['connection_id', 'external_id', 'send_completion_email', 'upsert', 'users'], 'multipart parts');
  const file = parts.find((p) => p.name === 'users');
  c.expect(file && file.file && file.type === 'application/json', 'users part is not an application/json file');
  c.eq(parts.find((p) => p.name === 'upsert')?.value, 'false', 'upsert part');
  c.eq(parts.find((p) => p.name === 'send_completion_email')?.value, 'false', 'send_completion_email part');
  const j = res.data;
  c.must(ID.job.test(j.id || ''), `job id '${j.id}'`);
  c.eq([j.type, j.status, j.connection_id, j.connection], ['users_import', 'pending', upa.id, UPA], 'job');
  c.eq(j.external_id, 'conformance-1', 'external_id echoed');
  c.expect(isoDate(j.created_at), 'created_at');

  const { job, seen } = await pollJob(c, j.id);
  c.must(job.status === 'completed', `job ended '${job.status}' (${seen.join(' -> ')})`);
  c.eq(job.summary, { failed: 1, updated: 0, inserted: 2, total: 3 }, 'summary');

  const errs = await mgmt.jobs.errors.get(j.id);
  c.must(Array.isArray(errs), `errors is not an array: ${JSON.stringify(errs)?.slice(0, 200)}`);
  c.eq(errs.length, 1, 'error entries');
  c.eq(errs[0]?.user?.email, upaUser.email, 'user of the error');
  c.eq(errs[0]?.errors?.map((e) => e.code), ['DUPLICATED_USER'], 'error codes');

  const [u1] = await mgmt.users.listUsersByEmail({ email: imp1 });
  c.eq(u1?.user_id, `auth0|${impId}`, 'imported user_id gets auth0|');
  c.eq([u1?.email_verified, u1?.given_name, u1?.user_metadata], [true, 'Imp', { x: 1 }], 'imported user 1');
  const [u2] = await mgmt.users.listUsersByEmail({ email: imp2 });
  c.eq(u2?.email_verified, false, 'email_verified defaults to false');
  c.expect(/^auth0\|/.test(u2?.user_id || ''), 'imported user 2 id');
});

await h.check('import job: upsert replaces metadata by email; errors answers 204', async (c) => {
  const users = [{ email: imp1, email_verified: true, given_name: 'Upserted', user_metadata: { y: 2 } }];
  const j = await mgmt.jobs.usersImports.create({ users: importFile(users), connection_id: upa.id, upsert: true, send_completion_email: false });
  const { job } = await pollJob(c, j.id);
  c.must(job.status === 'completed', `job ended '${job.status}'`);
  c.eq(job.summary, { failed: 0, updated: 1, inserted: 0, total: 1 }, 'summary');
  const r = await mgmt.jobs.errors.get(j.id).withRawResponse();
  c.eq(r.rawResponse.status, 204, 'errors status');
  c.eq(r.data, undefined, 'errors data');
  const [u] = await mgmt.users.listUsersByEmail({ email: imp1 });
  c.eq([u?.given_name, u?.user_metadata, u?.user_id], ['Upserted', { y: 2 }, `auth0|${impId}`], 'upserted user');
});

await h.check('import job: a failed job reports its errors as a job object', async (c) => {
  await control('POST', '/__jobs/fail', { type: 'users_import', count: 1, errors: 'job' });
  const j = await mgmt.jobs.usersImports.create({
    users: importFile([{ email: `${uniq('conf.fail')}@example.org`.toLowerCase() }]),
    connection_id: upa.id,
    send_completion_email: false,
  });
  const { job } = await pollJob(c, j.id);
  c.eq(job.status, 'failed', 'job status');
  const errs = await mgmt.jobs.errors.get(j.id);
  c.must(errs && !Array.isArray(errs) && typeof errs === 'object', `errors is not a job object: ${JSON.stringify(errs)?.slice(0, 200)}`);
  c.eq([errs.id, errs.type, errs.status], [j.id, 'users_import', 'failed'], 'job object');
});

await h.check('import job: a request body above 512000 bytes is a 413', async (c) => {
  const big = [];
  for (let i = 0; big.length < 5000; i++) big.push({ email: `conf.big${i}@example.org`, user_metadata: { pad: 'x'.repeat(100) } });
  const file = importFile(big);
  c.must(file.data.length > 512000, 'file not big enough');
  const e = await c.rejects(
    mgmt.jobs.usersImports.create({ users: file, connection_id: upa.id, send_completion_email: false }),
    413,
    'oversized import',
  );
  if (e) c.expect(/512000/.test(e.body?.message || ''), `413 message '${e.body?.message}'`);
});

// ---------------------------------------------------------------- rate limits

await h.check('rate-limit headers on every API response so far', async (c) => {
  const now = Date.now() / 1000;
  let bad = 0;
  for (const x of h.all) {
    const l = x.headers['x-ratelimit-limit'];
    const r = x.headers['x-ratelimit-remaining'];
    const t = x.headers['x-ratelimit-reset'];
    const ok = /^\d+$/.test(l || '') && /^\d+$/.test(r || '') && /^\d+$/.test(t || '') &&
      Number(r) <= Number(l) && Math.abs(Number(t) - now) < 86400;
    if (!ok && bad++ < 5) c.expect(false, `${x.method} ${x.path} -> ${x.status}: limit=${l} remaining=${r} reset=${t}`);
  }
  c.expect(bad === 0, `${bad} of ${h.all.length} responses lacked valid x-ratelimit-* headers`);
  c.expect(h.all.length > 50, `only ${h.all.length} API responses recorded`);
});

await h.check('rate limit: an empty bucket answers 429 with the Auth0 body and headers', async (c) => {
  await control('POST', '/__config', { rate_burst: 2, rate_per_sec: 1 });
  try {
    let err = null;
    for (let i = 0; i < 20 && !err; i++) {
      try {
        await mgmt.roles.list();
      } catch (e) {
        err = e;
      }
    }
    c.must(err, 'no 429 after 20 quick requests with a burst of 2');
    c.must(err.statusCode === 429, `want 429, got ${describeError(err)}`);
    c.eq(err.body, { statusCode: 429, error: 'Too Many Requests', message: 'Global limit has been reached', errorCode: 'too_many_requests' }, '429 body');
    const x = c.last('GET', /^\/roles$/);
    c.eq(x?.headers['x-ratelimit-remaining'], '0', 'x-ratelimit-remaining on the 429');
    c.expect(Number(x?.headers['x-ratelimit-reset']) >= Math.floor(Date.now() / 1000) - 1, 'x-ratelimit-reset in the past');
  } finally {
    await control('POST', '/__config', { rate_burst: 1000, rate_per_sec: 1000 });
  }
});

await h.check('import job: a third concurrent import job is a 429', async (c) => {
  await control('POST', '/__config', { job_rate: 1 });
  try {
    const file = () => importFile(Array.from({ length: 30 }, (_, i) => ({ email: `${uniq(`conf.slow${i}`)}@example.org`.toLowerCase() })));
    const a = await mgmt.jobs.usersImports.create({ users: file(), connection_id: upa.id, send_completion_email: false });
    const b = await mgmt.jobs.usersImports.create({ users: file(), connection_id: upa.id, send_completion_email: false });
    c.expect(ID.job.test(a.id) && ID.job.test(b.id), 'first two jobs not created');
    const e = await c.rejects(
      mgmt.jobs.usersImports.create({ users: file(), connection_id: upa.id, send_completion_email: false }),
      429,
      'third import job',
    );
    if (e) {
      checkErrorBody(c, e.body, 429, 'Too Many Requests', 'third import job');
      c.expect(/2 active import users jobs/.test(e.body?.message || ''), `message '${e.body?.message}'`);
    }
  } finally {
    await control('POST', '/__config', { job_rate: 20000 });
  }
});

// ---------------------------------------------------------------- totals

await h.check('every API request the fake served went through Prism', async (c) => {
  const log = await control('GET', '/__log');
  const api = log.filter((e) => e.listener === 'api' && /^\/api\/v2\//.test(e.path));
  c.eq(api.length, h.all.length, 'API requests logged by the fake vs validated by Prism');
  c.eq(transport.tokenRequests.length, 1, 'token requests of the main client (cached token)');
  c.eq(h.stray.length, 0, 'exchanges made outside a check');
  h.judgeExchanges(h.stray, c);
});

const tol = [...h.toleratedCounts.entries()].map(([k, v]) => `${k}=${v}`).join(' ');
console.log(`tolerated OAS deviations: ${tol || 'none'}`);
console.log(`${h.passed} passed, ${h.failed} failed`);
process.exit(h.failed === 0 ? 0 : 1);
