// Where Auth0's OpenAPI document itself is wrong: response-side violations
// that real, recorded Auth0 responses also produce (see
// the table in ../README.md). Each rule is as narrow as it can be; anything
// else Prism reports fails the check that caused it.
//
// tolerated(ex, v, oas) -> a short reason when violation v of exchange ex is
// one of these, else null.

// Prism prefixes body messages with "Response body " (or "Request body ").
const ONE_OF_MSG = /must match exactly one schema in oneOf$/;
const STATUS_MSG = /^Unable to match the returned status code with those defined in the document/;

// Paged lists whose three documented shapes (array, offset envelope,
// checkpoint envelope) cannot be told apart: an envelope without `next`, or
// with only the items, matches two branches.
const AMBIGUOUS_LISTS = [
  { path: /^\/roles\/[^/]+\/users$/, template: '/roles/{id}/users' },
  { path: /^\/organizations$/, template: '/organizations' },
  { path: /^\/organizations\/[^/]+\/members$/, template: '/organizations/{id}/members' },
  { path: /^\/connections$/, template: '/connections' },
];

// Properties real Auth0 answers carry that the document (2026-06) does not
// list, shown by the recorded traffic of the wire suite (tests/wire/README.md,
// "differences"): roles carry `type` and `owner_id` (recorded 2026-08), and
// every recorded connection list item carries `enabled_clients`. `items`
// names the list key when the answer is a list.
const RECORDED_EXTRAS = [
  { path: /^\/roles$/, template: '/roles', items: 'roles', props: ['type', 'owner_id'] },
  { path: /^\/roles\/[^/]+$/, template: '/roles/{id}', items: null, props: ['type', 'owner_id'] },
  { path: /^\/users\/[^/]+\/roles$/, template: '/users/{id}/roles', items: 'roles', props: ['type', 'owner_id'] },
  {
    path: /^\/organizations\/[^/]+\/members\/.+\/roles$/,
    template: '/organizations/{id}/members/{user_id}/roles',
    items: 'roles',
    props: ['type', 'owner_id'],
  },
  { path: /^\/connections$/, template: '/connections', items: 'connections', props: ['enabled_clients'] },
];
const EXTRA_MSG = /must NOT have additional properties; found '([A-Za-z_]+)'$/;

// The body without the recorded extra properties (a copy), and how many
// were removed.
function withoutRecordedExtras(extra, body) {
  const copy = JSON.parse(JSON.stringify(body));
  const objects = extra.items ? (Array.isArray(copy) ? copy : copy?.[extra.items] || []) : [copy];
  let removed = 0;
  for (const o of objects) {
    for (const p of extra.props) {
      if (o && typeof o === 'object' && p in o) {
        delete o[p];
        removed++;
      }
    }
  }
  return { body: copy, removed };
}

function isResponseBody(v) {
  return Array.isArray(v.location) && v.location.length === 2 && v.location[0] === 'response' && v.location[1] === 'body';
}

function inResponseBody(v) {
  return Array.isArray(v.location) && v.location[0] === 'response' && v.location[1] === 'body';
}

function oneOfBranchesMatched(oas, schema, body) {
  return oas.oneOfBranches(schema).filter((b) => oas.errors(b, body).length === 0).length;
}

// How many oneOf branches of the documented 200 schema the body matches
// (computed once per exchange with our own Ajv).
function branchesMatched(ex, template, oas) {
  if (ex._branchesMatched === undefined) {
    const branches = oas.oneOfBranches(oas.responseSchema('GET', template, 200));
    ex._branchesMatched = branches.filter((b) => oas.errors(b, ex.body).length === 0).length;
  }
  return ex._branchesMatched;
}

export const RULES = [
  {
    id: 'recorded-extra-property',
    why: 'real answers carry properties the document does not list (roles: type, owner_id; connection lists: enabled_clients)',
    // The additional-property errors naming exactly those properties, and
    // the errors they cause elsewhere in the body (a list's oneOf, "must be
    // array") only when the body without them matches the documented 200
    // schema: then the recorded properties are the body's only deviation.
    match(ex, v, oas) {
      if (ex.method !== 'GET' || ex.status !== 200 || !inResponseBody(v)) return false;
      const extra = RECORDED_EXTRAS.find((x) => x.path.test(ex.path));
      if (!extra) return false;
      const m = EXTRA_MSG.exec(v.message);
      if (m && extra.props.includes(m[1])) return true;
      if (ex._strippedValid === undefined) {
        const { body, removed } = withoutRecordedExtras(extra, ex.body);
        const schema = oas.responseSchema('GET', extra.template, 200);
        const valid = schema && oas.errors(schema, body).length === 0;
        ex._strippedValid = removed > 0 && (valid || oneOfBranchesMatched(oas, schema, body) >= 2);
      }
      return ex._strippedValid;
    },
  },
  {
    id: 'ambiguous-list-oneOf',
    why: 'a correct paged list matches two of the oneOf branches of the document',
    // Prism then reports the oneOf failure plus the errors of the branch that
    // did not match (e.g. "must be array"). All of them are tolerated only
    // when Prism did report the oneOf failure and our own Ajv finds the body
    // valid against at least two branches: then each of those is an artefact
    // of the ambiguity, and the body does have a documented shape.
    match(ex, v, oas) {
      if (ex.method !== 'GET' || ex.status !== 200 || !inResponseBody(v)) return false;
      const list = AMBIGUOUS_LISTS.find((l) => l.path.test(ex.path));
      if (!list) return false;
      if (!ex.violations.some((w) => isResponseBody(w) && ONE_OF_MSG.test(w.message))) return false;
      return branchesMatched(ex, list.template, oas) >= 2;
    },
  },
  {
    id: 'job-errors-204',
    why: 'GET /jobs/{id}/errors answers 204 without a body; the document gives that 204 a JSON body',
    match(ex, v) {
      return (
        ex.method === 'GET' &&
        /^\/jobs\/[^/]+\/errors$/.test(ex.path) &&
        ex.status === 204 &&
        ex.bodyText === '' &&
        Array.isArray(v.location) &&
        v.location[0] === 'response'
      );
    },
  },
  {
    id: 'export-without-connection',
    why: "an export job created without connection_id has no `connection`; the document requires it",
    match(ex, v) {
      if (!isResponseBody(v) || !/must have required property 'connection'$/.test(v.message)) return false;
      const b = ex.body;
      if (!b || b.type !== 'users_export' || 'connection_id' in b || 'connection' in b) return false;
      return (
        (ex.method === 'POST' && ex.path === '/jobs/users-exports' && ex.status === 200) ||
        (ex.method === 'GET' && /^\/jobs\/job_[A-Za-z0-9]+$/.test(ex.path) && ex.status === 200)
      );
    },
  },
  {
    id: 'patch-user-409',
    why: 'the document lists no 409 for a PATCH /users/{id} email or username conflict',
    match(ex, v) {
      return ex.method === 'PATCH' && /^\/users\/[^/]+$/.test(ex.path) && ex.status === 409 &&
        v.severity === 'Warning' && STATUS_MSG.test(v.message);
    },
  },
  {
    id: 'member-roles-404',
    why: 'the document lists no 404 for member-role calls on a non-member',
    match(ex, v) {
      return /^\/organizations\/[^/]+\/members\/.+\/roles$/.test(ex.path) && ex.status === 404 &&
        v.severity === 'Warning' && STATUS_MSG.test(v.message);
    },
  },
];

export function tolerated(ex, v, oas) {
  if (!Array.isArray(v.location) || v.location[0] !== 'response') return null;
  const rule = RULES.find((r) => r.match(ex, v, oas));
  return rule ? rule.id : null;
}
