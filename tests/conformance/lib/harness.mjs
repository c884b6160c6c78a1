// Named checks, each a list of assertions plus the HTTP exchanges it caused.
// A check passes when every assertion held, nothing threw, and Prism found
// nothing wrong with its exchanges (beyond the tolerated document bugs in
// deviations.mjs). Output: one line per check, then "N passed, N failed".
import { tolerated } from './deviations.mjs';

export class Harness {
  constructor({ oas, log = console.log }) {
    this.oas = oas;
    this.log = log;
    this.passed = 0;
    this.failed = 0;
    this.current = null;
    this.stray = []; // exchanges made outside any check
    this.all = [];
    this.toleratedCounts = new Map();
  }

  // Called by the transport for every exchange that went through Prism.
  record(ex) {
    this.all.push(ex);
    if (this.current) this.current.exchanges.push(ex);
    else this.stray.push(ex);
  }

  // Runs one check. opts.requestViolations: a RegExp; request-side violations
  // whose message matches it are expected (a deliberate negative test).
  async check(name, fn, opts = {}) {
    const ctx = new Ctx(name, opts);
    this.current = ctx;
    try {
      await fn(ctx);
    } catch (e) {
      if (!(e instanceof Abort)) ctx.problems.push(`threw: ${describeError(e)}`);
    }
    this.current = null;
    this.judgeExchanges(ctx.exchanges, ctx);
    if (opts.requestViolations && !ctx.sawExpectedRequestViolation) {
      ctx.problems.push(`Prism reported no request violation matching ${opts.requestViolations}`);
    }
    this.finish(ctx);
  }

  judgeExchanges(exchanges, ctx) {
    for (const ex of exchanges) {
      for (const v of ex.violations) {
        const where = `${ex.method} ${ex.path}${ex.query} -> ${ex.status}`;
        const text = `${(v.location || []).join('.')} ${v.message} [${v.severity}]`;
        if (v.location?.[0] === 'request') {
          if (ctx.opts.requestViolations && ctx.opts.requestViolations.test(v.message)) {
            ctx.sawExpectedRequestViolation = true;
            continue;
          }
          ctx.problems.push(`request violation: ${where}: ${text}`);
          continue;
        }
        const rule = tolerated(ex, v, this.oas);
        if (rule) {
          this.toleratedCounts.set(rule, (this.toleratedCounts.get(rule) || 0) + 1);
          continue;
        }
        ctx.problems.push(`response violation: ${where}: ${text}`);
      }
    }
  }

  finish(ctx) {
    if (ctx.problems.length === 0) {
      this.passed++;
      this.log(`ok    ${ctx.name}`);
    } else {
      this.failed++;
      this.log(`FAIL  ${ctx.name}`);
      for (const p of ctx.problems.slice(0, 20)) this.log(`        ${p}`);
      if (ctx.problems.length > 20) this.log(`        ... ${ctx.problems.length - 20} more`);
    }
  }
}

class Abort extends Error {}

class Ctx {
  constructor(name, opts) {
    this.name = name;
    this.opts = opts;
    this.problems = [];
    this.exchanges = [];
    this.sawExpectedRequestViolation = false;
  }

  // Records a failed assertion and goes on.
  expect(cond, msg) {
    if (!cond) this.problems.push(typeof msg === 'function' ? msg() : msg);
    return !!cond;
  }

  // Deep equality; object key order does not matter, array order does.
  eq(actual, expected, what) {
    const a = canonical(actual);
    const e = canonical(expected);
    return this.expect(a === e, () => `${what}: got ${clip(a)}, want ${clip(e)}`);
  }

  // Like expect, but stops the check (later steps depend on it).
  must(cond, msg) {
    if (!this.expect(cond, msg)) throw new Abort();
  }

  // Awaits a promise that must reject with an SDK error of this HTTP status;
  // returns the error (or null after recording a problem).
  async rejects(promise, status, what) {
    try {
      await promise;
    } catch (e) {
      if (e && e.statusCode === status) return e;
      this.problems.push(`${what}: want HTTP ${status}, got ${describeError(e)}`);
      return null;
    }
    this.problems.push(`${what}: want HTTP ${status}, the call succeeded`);
    return null;
  }

  // The exchanges of this check so far that match method and path (RegExp).
  calls(method, path) {
    return this.exchanges.filter((x) => x.method === method && path.test(x.path));
  }

  last(method, path) {
    const c = this.calls(method, path);
    return c[c.length - 1];
  }
}

export function describeError(e) {
  if (!e) return String(e);
  if (e.statusCode !== undefined) {
    return `${e.constructor?.name || 'Error'} HTTP ${e.statusCode} ${clip(JSON.stringify(e.body))}`;
  }
  return `${e.name || 'Error'}: ${e.message}${e.cause ? ` (${e.cause.code || e.cause.message})` : ''}`;
}

export function canonical(v) {
  return JSON.stringify(v, (k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]]))
      : x,
  );
}

function clip(s, n = 300) {
  if (s === undefined) return 'undefined';
  return s.length > n ? `${s.slice(0, n)}...` : s;
}
