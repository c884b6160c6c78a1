// The program a user would write with the official `auth0` Node SDK to copy
// a tenant's users into another tenant, following Auth0's documentation
// (bulk-user-exports, bulk-user-imports, create users, link user accounts,
// assign permissions to users, organization roles): the baseline a0snap is
// compared with. It runs against two fake tenants (tests/fake) through a
// `fetch` that sends the SDK's https://DOMAIN/... requests to the fake's
// http listener.
//
// What it does, one step after another:
//   source: list connections, roles (every role: tenant and organization
//     roles), organizations; one export job (JSON, the same fields a0snap
//     asks for), polled every SDK_POLL_MS until completed; the file
//     downloaded (no token) and gunzipped; each tenant role's members and
//     each organization's members (with their roles) listed with
//     checkpoint paging (take=100), so reading is as cheap as a0snap's;
//     with SDK_PERMISSIONS (default 1), users.permissions.list for each user
//     it copies, keeping the DIRECT ones;
//   target: list connections, roles, organizations and map them by name
//     (an organization role by its name within its organization); the
//     organization roles the target lacks created (roles.create with type
//     and owner_id); the database users converted to import records as the
//     docs say (user_id without "auth0|", only importable fields) and cut
//     into JSON files under SDK_MAX_FILE bytes (docs: "The file size limit
//     for a bulk import is 500KB"); each file submitted with
//     jobs.usersImports.create and polled until it ends before the next one
//     (one after another); then, user by user: passwordless users created
//     with users.create (their id, verify_email false: bulk imports take
//     database users only); each linked database or passwordless account
//     created with users.create and linked with users.identities.link
//     (social and enterprise ones cannot be created); users.roles.assign
//     with all the user's tenant roles, organizations.members.create per
//     membership, organizations.members.roles.assign per member that has
//     roles there, and users.permissions.create with the user's direct
//     permissions.
// No batching and no concurrency beyond what the docs show: that is what
// the comparison is about. The SDK retries 429s itself (maxRetries 5 here,
// the default 2 can give up under sustained limits).
//
// Environment: SDK_SRC and SDK_DST, each a JSON object {domain, api_url,
// client_id, client_secret} (the secrets never printed); SDK_POLL_MS
// (default 1000); SDK_MAX_FILE (default 500000); SDK_PERMISSIONS (1: copy
// direct permissions, as a0snap-export --with-permissions; 0: not).
// Output: plain lines, then one JSON summary line.
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
// The SDK pinned by tests/conformance (npm ci there installs it).
import { ManagementClient } from '../conformance/node_modules/auth0/dist/esm/index.mjs';

const SRC = JSON.parse(mustEnv('SDK_SRC'));
const DST = JSON.parse(mustEnv('SDK_DST'));
const POLL_MS = Number(process.env.SDK_POLL_MS || 1000);
const MAX_FILE = Number(process.env.SDK_MAX_FILE || 500000);
const PERMISSIONS = (process.env.SDK_PERMISSIONS || '1') !== '0';
const CREATABLE = ['email', 'email_verified', 'phone_number', 'phone_verified', 'given_name', 'family_name', 'name',
  'nickname', 'picture', 'blocked', 'user_metadata', 'app_metadata'];
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
const n = { roleCreates: 0, passwordless: 0, linkCreates: 0, links: 0, linksSkipped: 0, roleCalls: 0, memberCalls: 0,
  memberRoleCalls: 0, permReads: 0, permCalls: 0 };

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
const strategyOf = new Map(srcConns.map((c) => [c.name, c.strategy]));
const srcOrgName = new Map(srcOrgs.map((o) => [o.id, o.name]));
const srcRole = new Map(srcRoles.map((r) => [r.id, r]));
// a role as the target knows it: its name, and its organization's name for an organization role
const roleKey = (r) => (r.type === 'organization' ? `${srcOrgName.get(r.owner_id)}/${r.name}` : r.name);
const rolesOf = new Map(); // uid -> [role key]
for (const r of srcRoles) {
  if (r.type === 'organization') continue; // held within its organization only
  for (const u of await all(src.roles.users.list(r.id, { take: 100 }))) {
    if (!rolesOf.has(u.user_id)) rolesOf.set(u.user_id, []);
    rolesOf.get(u.user_id).push(r.name);
  }
}
const orgsOf = new Map(); // uid -> [{org name, role keys}]
for (const o of srcOrgs) {
  for (const m of await all(src.organizations.members.list(o.id, { take: 100, fields: 'user_id,roles' }))) {
    if (!orgsOf.has(m.user_id)) orgsOf.set(m.user_id, []);
    orgsOf.get(m.user_id).push({ org: o.name, roles: (m.roles || []).map((x) => roleKey(srcRole.get(x.id) || x)) });
  }
}
const kindOf = (conn) => {
  const s = strategyOf.get(conn);
  return s === 'auth0' ? 'database' : s === 'email' || s === 'sms' ? 'passwordless' : 'other';
};
const copied = users.filter((u) => {
  const k = kindOf(u.identities && u.identities[0] && u.identities[0].connection);
  return (k === 'database' && String(u.user_id).startsWith('auth0|')) || k === 'passwordless';
});
const permsOf = new Map(); // uid -> [{resource_server_identifier, permission_name}]
if (PERMISSIONS) {
  for (const u of copied) {
    const direct = [];
    for (const p of await all(src.users.permissions.list(u.user_id, { per_page: 100 }))) {
      if ((p.sources || []).some((x) => x.source_type === 'DIRECT')) {
        direct.push({ resource_server_identifier: p.resource_server_identifier, permission_name: p.permission_name });
      }
    }
    n.permReads++;
    if (direct.length) permsOf.set(u.user_id, direct);
  }
}
const t1 = now();
console.log(`source: ${srcConns.length} connections, ${users.length} users exported, ${rolesOf.size} users with roles, ${orgsOf.size} with memberships, ${permsOf.size} with direct permissions (${n.permReads} users asked); ${(t1 - t0).toFixed(1)} s`);

// ------------------------------------------------------------- target
const dstConns = await all(dst.connections.list({ take: 100 }));
const dstRoles = await all(dst.roles.list({ per_page: 100 }));
const dstOrgs = await all(dst.organizations.list({ take: 100 }));
const connByName = new Map(dstConns.map((c) => [c.name, c]));
const connId = new Map(dstConns.filter((c) => c.strategy === 'auth0').map((c) => [c.name, c.id]));
const orgId = new Map(dstOrgs.map((o) => [o.name, o.id]));
const dstOrgName = new Map(dstOrgs.map((o) => [o.id, o.name]));
const roleId = new Map(dstRoles.map((r) => [r.type === 'organization' ? `${dstOrgName.get(r.owner_id)}/${r.name}` : r.name, r.id]));
for (const r of srcRoles) {
  const key = roleKey(r);
  if (r.type !== 'organization' || roleId.has(key) || !orgId.has(srcOrgName.get(r.owner_id))) continue;
  const made = await dst.roles.create({ name: r.name, description: r.description || '', type: 'organization',
    owner_id: orgId.get(srcOrgName.get(r.owner_id)) });
  roleId.set(key, made.id);
  n.roleCreates++;
}

// Import records per database connection, cut into files under MAX_FILE.
const files = [];
const byConn = new Map();
for (const u of copied) {
  const conn = u.identities[0].connection;
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
console.log(`target: ${n.roleCreates} organization roles created; ${files.length} import files one after another, ${inserted} inserted, ${failed} failed; ${(t2 - t1).toFixed(1)} s`);

// Users the jobs cannot make, one by one: passwordless users, then the
// linked accounts (made as users of their connection, then linked).
function createBody(profile, conn, rawId) {
  const body = { connection: conn, user_id: rawId, verify_email: false };
  for (const k of CREATABLE) if (profile[k] !== undefined && profile[k] !== null && profile[k] !== '') body[k] = profile[k];
  return body;
}
const password = () => `${randomBytes(12).toString('hex')}aA1!`;
for (const u of copied) {
  const first = u.identities[0];
  if (kindOf(first.connection) === 'passwordless') {
    await dst.users.create(createBody(u, first.connection, first.user_id));
    n.passwordless++;
  }
  for (const sec of u.identities.slice(1)) {
    const kind = kindOf(sec.connection);
    if (kind === 'other') {
      n.linksSkipped++;
      continue;
    }
    const body = createBody(sec.profileData || {}, sec.connection, String(sec.user_id));
    if (kind === 'database') {
      body.password = password();
      if (sec.profileData && sec.profileData.username) body.username = sec.profileData.username;
    }
    await dst.users.create(body);
    n.linkCreates++;
    await dst.users.identities.link(u.user_id, { provider: sec.provider, user_id: `${sec.provider}|${sec.user_id}`,
      connection_id: connByName.get(sec.connection).id });
    n.links++;
  }
}
const t3 = now();
console.log(`target: ${n.passwordless} passwordless users created, ${n.linkCreates} linked accounts created and ${n.links} linked (${n.linksSkipped} social/enterprise not copyable); ${(t3 - t2).toFixed(1)} s`);

// Grants and direct permissions, user by user.
for (const u of copied) {
  const uid = u.user_id;
  const roles = (rolesOf.get(uid) || []).map((k) => roleId.get(k)).filter(Boolean);
  if (roles.length) {
    await dst.users.roles.assign(uid, { roles });
    n.roleCalls++;
  }
  for (const m of orgsOf.get(uid) || []) {
    const oid = orgId.get(m.org);
    if (!oid) continue;
    await dst.organizations.members.create(oid, { members: [uid] });
    n.memberCalls++;
    const mroles = m.roles.map((k) => roleId.get(k)).filter(Boolean);
    if (mroles.length) {
      await dst.organizations.members.roles.assign(oid, uid, { roles: mroles });
      n.memberRoleCalls++;
    }
  }
  const perms = permsOf.get(uid);
  if (perms) {
    await dst.users.permissions.create(uid, { permissions: perms });
    n.permCalls++;
  }
}
const t4 = now();
console.log(`target: ${n.roleCalls} role assignments, ${n.memberCalls} memberships, ${n.memberRoleCalls} member-role assignments, ${n.permCalls} permission assignments; ${(t4 - t3).toFixed(1)} s`);
console.log(`total ${(t4 - t0).toFixed(1)} s; SDK calls (retries included) source ${calls.src}, target ${calls.dst}`);
console.log(JSON.stringify({
  bench: 'sdk_baseline',
  users: users.length,
  database_users: copied.length - n.passwordless,
  copied_users: copied.length,
  files: files.length,
  inserted,
  failed,
  role_creates: n.roleCreates,
  passwordless_creates: n.passwordless,
  link_creates: n.linkCreates,
  link_calls: n.links,
  links_not_copyable: n.linksSkipped,
  role_calls: n.roleCalls,
  member_calls: n.memberCalls,
  member_role_calls: n.memberRoleCalls,
  permission_reads: n.permReads,
  permission_calls: n.permCalls,
  permissions: PERMISSIONS,
  sdk_calls: calls,
  poll_ms: POLL_MS,
  max_file: MAX_FILE,
  seconds: { source: t1 - t0, import_jobs: t2 - t1, creates: t3 - t2, grants: t4 - t3, target: t4 - t1, total: t4 - t0 },
}));
