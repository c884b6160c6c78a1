// The program a user would write with the official `auth0` Node SDK to copy
// a tenant's users into another tenant, following Auth0's documentation
// (bulk-user-exports, bulk-user-imports): the baseline a0snap is compared
// with. It runs against two fake tenants (tests/fake) through a `fetch` that
// sends the SDK's https://DOMAIN/... requests to the fake's http listener.
//
// What it does, one step after another:
//   source: list connections, roles, organizations; one export job (JSON,
//     the same fields a0snap asks for), polled every SDK_POLL_MS until
//     completed; the file downloaded (no token) and gunzipped; each role's
//     members and each organization's members (with their roles) listed
//     with checkpoint paging (take=100), so reading is as cheap as a0snap's;
//   target: list connections, roles, organizations and map them by name;
//     the database users converted to import records as the docs say
//     (user_id without "auth0|", only importable fields) and cut into JSON
//     files under SDK_MAX_FILE bytes (docs: "The file size limit for a bulk
//     import is 500KB"); each file submitted with jobs.usersImports.create
//     and polled until it ends before the next one (one after another);
//     then, per user: users.roles.assign with all the user's roles,
//     organizations.members.create per membership, and
//     organizations.members.roles.assign per member that has org roles.
// No batching and no concurrency beyond what the docs show: that is what
// the comparison is about. The SDK retries 429s itself (maxRetries 5 here,
// the default 2 can give up under sustained limits).
//
// Environment: SDK_SRC and SDK_DST, each a JSON object {domain, api_url,
// client_id, client_secret} (the secrets never printed); SDK_POLL_MS
// (default 1000); SDK_MAX_FILE (default 500000).
// Output: plain lines, then one JSON summary line.
import { gunzipSync } from 'node:zlib';
// The SDK pinned by tests/conformance (npm ci there installs it).
import { ManagementClient } from '../conformance/node_modules/auth0/dist/esm/index.mjs';

const SRC = JSON.parse(mustEnv('SDK_SRC'));
const DST = JSON.parse(mustEnv('SDK_DST'));
const POLL_MS = Number(process.env.SDK_POLL_MS || 1000);
const MAX_FILE = Number(process.env.SDK_MAX_FILE || 500000);
const FIELDS = ['user_id', 'email', 'email_verified', 'username', 'phone_number', 'phone_verified', 'given_name',
  'family_name', 'name', 'nickname', 'picture', 'blocked', 'identities', 'created_at', 'updated_at', 'last_login',
  'logins_count', 'multifactor', 'user_metadata', 'app_metadata'];
const IMPORTABLE = ['email', 'email_verified', 'username', 'given_name', 'family_name', 'name', 'nickname', 'picture',
  'blocked', 'phone_number', 'phone_verified', 'user_metadata', 'app_metadata'];

function mustEnv(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`sdk_baseline: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now() / 1000;

const calls = { src: 0, dst: 0 };
function client(t, key) {
  const base = t.api_url.replace(/\/$/, '');
  const fetchToFake = (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    calls[key]++;
    return fetch(base + url.pathname + url.search, init);
  };
  return new ManagementClient({
    domain: t.domain,
    clientId: t.client_id,
    clientSecret: t.client_secret,
    fetch: fetchToFake,
    maxRetries: 5,
    timeoutInSeconds: 120,
  });
}

async function all(pagePromise) {
  const out = [];
  for await (const item of await pagePromise) out.push(item);
  return out;
}

async function waitJob(mgmt, id) {
  for (;;) {
    const job = await mgmt.jobs.get(id);
    if (job.status === 'completed') return job;
    if (job.status === 'failed' || job.status === 'expired') {
      throw new Error(`job ${id} ${job.status}: ${job.status_details || ''}`);
    }
    await sleep(POLL_MS);
  }
}

const src = client(SRC, 'src');
const dst = client(DST, 'dst');
const t0 = now();

// ------------------------------------------------------------- source
const srcConns = await all(src.connections.list({ take: 100 }));
const srcRoles = await all(src.roles.list({ per_page: 100 }));
const srcOrgs = await all(src.organizations.list({ take: 100 }));
const created = await src.jobs.usersExports.create({ format: 'json', fields: FIELDS.map((name) => ({ name })) });
const exported = await waitJob(src, created.id);
const dl = await fetch(exported.location);
if (!dl.ok) throw new Error(`download: HTTP ${dl.status}`);
const users = gunzipSync(Buffer.from(await dl.arrayBuffer()))
  .toString('utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l));
const rolesOf = new Map(); // uid -> [role name]
for (const r of srcRoles) {
  for (const u of await all(src.roles.users.list(r.id, { take: 100 }))) {
    if (!rolesOf.has(u.user_id)) rolesOf.set(u.user_id, []);
    rolesOf.get(u.user_id).push(r.name);
  }
}
const orgsOf = new Map(); // uid -> [{org name, role names}]
for (const o of srcOrgs) {
  for (const m of await all(src.organizations.members.list(o.id, { take: 100, fields: 'user_id,roles' }))) {
    if (!orgsOf.has(m.user_id)) orgsOf.set(m.user_id, []);
    orgsOf.get(m.user_id).push({ org: o.name, roles: (m.roles || []).map((x) => x.name) });
  }
}
const t1 = now();
console.log(`source: ${srcConns.length} connections, ${users.length} users exported, ${rolesOf.size} users with roles, ${orgsOf.size} with memberships; ${(t1 - t0).toFixed(1)} s`);

// ------------------------------------------------------------- target
const dstConns = await all(dst.connections.list({ take: 100 }));
const dstRoles = await all(dst.roles.list({ per_page: 100 }));
const dstOrgs = await all(dst.organizations.list({ take: 100 }));
const connId = new Map(dstConns.filter((c) => c.strategy === 'auth0').map((c) => [c.name, c.id]));
const roleId = new Map(dstRoles.map((r) => [r.name, r.id]));
const orgId = new Map(dstOrgs.map((o) => [o.name, o.id]));

// Import records per database connection, cut into files under MAX_FILE.
const files = [];
const byConn = new Map();
const imported = [];
for (const u of users) {
  const conn = u.identities && u.identities[0] && u.identities[0].connection;
  if (!connId.has(conn) || !String(u.user_id).startsWith('auth0|')) continue; // only database users import
  const rec = { user_id: u.user_id.slice('auth0|'.length) };
  for (const k of IMPORTABLE) if (u[k] !== undefined && u[k] !== null && u[k] !== '') rec[k] = u[k];
  if (rec.email_verified === undefined) rec.email_verified = false;
  const text = JSON.stringify(rec);
  let cur = byConn.get(conn);
  if (!cur || cur.bytes + text.length + 1 > MAX_FILE) {
    if (cur) files.push(cur);
    cur = { conn, parts: [], bytes: 2 };
    byConn.set(conn, cur);
  }
  cur.parts.push(text);
  cur.bytes += text.length + (cur.parts.length > 1 ? 1 : 0);
  imported.push(u.user_id);
}
for (const cur of byConn.values()) if (cur.parts.length) files.push(cur);

let inserted = 0;
let failed = 0;
for (const f of files) {
  const data = Buffer.from('[' + f.parts.join(',') + ']');
  const job = await dst.jobs.usersImports.create({
    users: { data, filename: 'users.json', contentType: 'application/json' },
    connection_id: connId.get(f.conn),
    upsert: false,
    send_completion_email: false,
  });
  const done = await waitJob(dst, job.id);
  inserted += (done.summary && done.summary.inserted) || 0;
  failed += (done.summary && done.summary.failed) || 0;
}
const t2 = now();
console.log(`target: ${files.length} import files one after another, ${inserted} inserted, ${failed} failed; ${(t2 - t1).toFixed(1)} s`);

// Grants, user by user.
let roleCalls = 0;
let memberCalls = 0;
let memberRoleCalls = 0;
for (const uid of imported) {
  const roles = (rolesOf.get(uid) || []).map((n) => roleId.get(n)).filter(Boolean);
  if (roles.length) {
    await dst.users.roles.assign(uid, { roles });
    roleCalls++;
  }
  for (const m of orgsOf.get(uid) || []) {
    const oid = orgId.get(m.org);
    if (!oid) continue;
    await dst.organizations.members.create(oid, { members: [uid] });
    memberCalls++;
    const mroles = m.roles.map((n) => roleId.get(n)).filter(Boolean);
    if (mroles.length) {
      await dst.organizations.members.roles.assign(oid, uid, { roles: mroles });
      memberRoleCalls++;
    }
  }
}
const t3 = now();
console.log(`target: ${roleCalls} role assignments, ${memberCalls} memberships, ${memberRoleCalls} member-role assignments; ${(t3 - t2).toFixed(1)} s`);
console.log(`total ${(t3 - t0).toFixed(1)} s; SDK calls (retries included) source ${calls.src}, target ${calls.dst}`);
console.log(JSON.stringify({
  bench: 'sdk_baseline',
  users: users.length,
  database_users: imported.length,
  files: files.length,
  inserted,
  failed,
  role_calls: roleCalls,
  member_calls: memberCalls,
  member_role_calls: memberRoleCalls,
  sdk_calls: calls,
  poll_ms: POLL_MS,
  max_file: MAX_FILE,
  seconds: { source: t1 - t0, import_jobs: t2 - t1, grants: t3 - t2, target: t3 - t1, total: t3 - t0 },
}));
