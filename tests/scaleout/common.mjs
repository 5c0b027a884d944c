// common.mjs - helpers of the scale-out suites (multinode, pg restart, redis): several
// `mnemo serve` nodes on one PostgreSQL (and Redis), requests, waiting with deadlines, and
// the suite's summary line. Servers come from tests/http/lib.mjs (ephemeral ports, killed on
// exit). No npm packages.
import { execFileSync } from 'node:child_process';
import { startServer } from '../http/lib.mjs';

export { startServer };

let pass = 0;
let fail = 0;
export function ok(name) {
  pass++;
  console.log(`ok   ${name}`);
}
export function bad(name, detail) {
  fail++;
  console.log(`FAIL ${name}`);
  if (detail) console.log(String(detail).split('\n').map((l) => '     ' + l).join('\n'));
}
export function check(name, cond, detail) {
  if (cond) ok(name);
  else bad(name, typeof detail === 'function' ? detail() : detail);
}
export function summary(suite) {
  console.log(`${suite}: ${pass} passed, ${fail} failed`);
  return fail === 0;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function need(name, what) {
  const v = process.env[name];
  if (!v) {
    bad(`${name} is set (${what})`, 'run this suite through its tests/suites/*.sh script');
    return null;
  }
  return v;
}

// A request; resolves to {status, json, text, ms}. Network errors give status 0.
export async function req(base, method, path, body, { timeoutMs = 10000 } = {}) {
  const t0 = performance.now();
  try {
    const r = await fetch(base + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, json, text, ms: performance.now() - t0 };
  } catch (e) {
    return { status: 0, json: null, text: String(e), ms: performance.now() - t0 };
  }
}

export async function add(base, user, text, extra = {}) {
  return req(base, 'POST', `/v1/users/${encodeURIComponent(user)}/messages`, { role: 'user', text, ...extra });
}

export async function search(base, user, query, k = 20) {
  const r = await req(base, 'GET', `/v1/users/${encodeURIComponent(user)}/memories?query=${encodeURIComponent(query)}&k=${k}`);
  return { ...r, texts: r.json && r.json.memories ? r.json.memories.map((m) => m.text) : null };
}

// Polls fn() until it returns true or deadlineMs passes; resolves to the elapsed ms or -1.
export async function until(fn, deadlineMs, stepMs = 10) {
  const t0 = performance.now();
  for (;;) {
    if (await fn()) return performance.now() - t0;
    if (performance.now() - t0 > deadlineMs) return -1;
    await sleep(stepMs);
  }
}

// Runs SQL on the test PostgreSQL with psql; returns its output (trimmed).
export function psql(uri, sql) {
  return execFileSync('psql', [uri, '-XAtqc', sql], { encoding: 'utf8' }).trim();
}

// Starts n nodes with the same arguments and environment additions.
export async function startNodes(n, args, env = {}) {
  const saved = {};
  for (const [k, v] of Object.entries(env)) { saved[k] = process.env[k]; process.env[k] = v; }
  try {
    const nodes = [];
    for (let i = 0; i < n; i++) nodes.push(await startServer(args));
    return nodes;
  } finally {
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
}

// Stops the nodes; a node that printed a sanitizer report (sanitized builds) fails the suite.
export async function stopAll(nodes) {
  await Promise.all(nodes.map((n) => n.stop()));
  for (const n of nodes) {
    if (/Sanitizer/.test(n.stderr)) bad(`node on port ${n.port}: sanitizer report`, n.stderr.slice(0, 3000));
  }
}

// Runs redis-cli against the test Redis; returns its output (trimmed).
export function rcli(uri, ...args) {
  return execFileSync('redis-cli', ['-u', uri, ...args], { encoding: 'utf8' }).trim();
}

export async function readyz(base) {
  const r = await req(base, 'GET', '/readyz');
  return r.json || {};
}
