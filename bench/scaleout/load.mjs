// load.mjs - the scale-out benchmark's load generator (bench/scaleout/run.sh starts the
// servers). For each configuration in the same run: single-node SQLite, one node on
// PostgreSQL, two nodes on PostgreSQL + Redis (clients routed by a hash of the user id, as
// a load balancer would). Phase 1 ingests single messages from many clients for a fixed
// time; phase 2 searches. --verify checks that every acknowledged write is readable (from
// the other node when there are two) and that searches find what was written.
// Usage: node load.mjs --out FILE [--seconds N] [--clients N] [--users N]
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { startServer } from '../../tests/http/lib.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => { const i = argv.indexOf('--' + name); return i >= 0 ? argv[i + 1] : def; };
const OUT = opt('out', 'bench/results/scaleout.md');
const SECONDS = Number(opt('seconds', '10'));
const CLIENTS = Number(opt('clients', '32'));
const USERS = Number(opt('users', '200'));
const PG = process.env.MNEMO_TEST_PG;
const REDIS = process.env.MNEMO_TEST_REDIS;
if (!PG || !REDIS) { console.error('run through bench/scaleout/run.sh (needs PostgreSQL and Redis)'); process.exit(2); }

const WORDS = ('alpine basil cedar delta ember fjord garnet harbor iris juniper kelp lagoon maple ' +
  'nectar orchid pepper quartz raven saffron tundra umber violet walnut yarrow zephyr ' +
  'anchor beacon canyon dune estuary falcon glacier heron inlet jasmine').split(' ');
let seed = 12345;
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
const pick = () => WORDS[Math.floor(rnd() * WORDS.length)];
const hash = (s) => { let h = 2166136261; for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619); return h >>> 0; };

async function post(base, user, text) {
  const r = await fetch(`${base}/v1/users/${user}/messages`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ role: 'user', text }),
  });
  const j = await r.json().catch(() => null);
  return { status: r.status, ids: j && j.ids };
}

async function get(base, path) {
  const r = await fetch(base + path);
  return { status: r.status, json: await r.json().catch(() => null) };
}

const pct = (a, p) => a.length ? a[Math.min(a.length - 1, Math.floor(a.length * p))] : NaN;

async function phase(nodes, seconds, fn) {
  const lat = [];
  let n = 0, errors = 0;
  const t0 = performance.now(), end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    let i = 0;
    while (performance.now() < end) {
      const user = `u${(c * 7919 + i++ * 31) % USERS}`;
      const node = nodes[hash(user) % nodes.length];
      const t = performance.now();
      const ok = await fn(node, user, c, i);
      lat.push(performance.now() - t);
      if (ok) n++; else errors++;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((x, y) => x - y);
  return { ops: n, errors, rate: n / secs, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

async function run(label, args, count, env = {}) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const nodes = [];
  for (let i = 0; i < count; i++) nodes.push(await startServer([...args, '--log-level', 'warn', '--access-log=false']));
  process.env = saved;
  const ready = (await get(nodes[0].base, '/readyz')).json || {};
  const acked = [];
  const ingest = await phase(nodes, SECONDS, async (node, user, c, i) => {
    const r = await post(node.base, user, `${user} says the ${pick()} near the ${pick()} and the ${pick()} (${c}.${i})`);
    if (r.status !== 201) return false;
    acked.push([user, r.ids[0]]);
    return true;
  });
  const search = await phase(nodes, SECONDS, async (node, user) => {
    const r = await get(node.base, `/v1/users/${user}/memories?query=${pick()}+${pick()}&k=10`);
    return r.status === 200;
  });
  // --verify: acknowledged writes are all there, readable from the other node
  let missing = 0;
  const sample = acked.filter((_, i) => i % Math.max(1, Math.floor(acked.length / 200)) === 0);
  for (const [user, id] of sample) {
    const other = nodes[(hash(user) + 1) % nodes.length];
    if ((await get(other.base, `/v1/users/${user}/memories/${id}`)).status !== 200) missing++;
  }
  const total = ((await get(nodes[0].base, '/readyz')).json || {}).memories;
  const found = await get(nodes[nodes.length - 1].base, `/v1/users/u1/memories?query=u1&k=5`);
  const verified = missing === 0 && total === acked.length && found.status === 200 && found.json.memories.length > 0;
  await Promise.all(nodes.map((n) => n.stop()));
  console.log(`${label}: ingest ${ingest.rate.toFixed(0)}/s (p50 ${ingest.p50.toFixed(1)} ms, p99 ${ingest.p99.toFixed(1)} ms, ${ingest.errors} errors), ` +
    `search ${search.rate.toFixed(0)}/s (p50 ${search.p50.toFixed(1)} ms, p99 ${search.p99.toFixed(1)} ms, ${search.errors} errors), verify ${verified ? 'ok' : 'FAILED'}`);
  return { label, ingest, search, verified, ready, acked: acked.length, total, missing };
}

const tmp = fs.mkdtempSync(`${os.tmpdir()}/mnemo-bench-`);
const common = ['--embedder', process.env.BENCH_EMBEDDER || 'builtin', '--write-threads', '64'];
const results = [];
results.push(await run('1 node, SQLite', ['--db', `${tmp}/m.db`, ...common], 1));
results.push(await run('1 node, PostgreSQL', ['--store', PG, ...common], 1));
execFileSync('psql', [PG, '-XAtqc', 'SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public']);
results.push(await run('2 nodes, PostgreSQL + Redis', ['--store', PG, '--redis', REDIS, ...common], 2));
fs.rmSync(tmp, { recursive: true, force: true });

const base = results[0];
const commit = (() => { try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return '?'; } })();
const cpu = (os.cpus()[0] || {}).model || '?';
const pgv = execFileSync('psql', [PG, '-XAtqc', 'SHOW server_version']).toString().trim();
const lines = [
  '# Scale-out benchmark',
  '',
  `Generated by \`sh bench/scaleout/run.sh\` (bench/scaleout/load.mjs). Commit ${commit}, ${new Date().toISOString().slice(0, 10)}.`,
  `Machine: ${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; PostgreSQL ${pgv} (scripts/pg-tmp: fsync on, unix socket), Redis (scripts/redis-tmp).`,
  `Load: ${CLIENTS} concurrent HTTP clients (node fetch, keep-alive), ${USERS} users routed to a node by a hash of the user id, ` +
    `${SECONDS} s of ingest (one message per request) then ${SECONDS} s of search (k=10, two-word queries). ` +
    `Embedder: ${common[1]} (vector search ${base.ready.vector_search ? 'on' : 'off'}). Every server, the database and the load generator share this one machine.`,
  '',
  '| configuration | ingest writes/s | ingest p50 / p99 ms | search req/s | search p50 / p99 ms | ingest vs SQLite | search vs SQLite | errors | verify |',
  '|---|---|---|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.label} | ${r.ingest.rate.toFixed(0)} | ${r.ingest.p50.toFixed(1)} / ${r.ingest.p99.toFixed(1)} | ${r.search.rate.toFixed(0)} | ${r.search.p50.toFixed(1)} / ${r.search.p99.toFixed(1)} | ` +
    `${(r.ingest.rate / base.ingest.rate).toFixed(2)}x | ${(r.search.rate / base.search.rate).toFixed(2)}x | ${r.ingest.errors + r.search.errors} | ${r.verified ? 'ok' : 'FAILED'} (${r.acked} acked, ${r.total} stored) |`),
  '',
];
// the closing note is written by hand: keep it across runs
const prev = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
const note = prev.indexOf('## Closing note');
fs.writeFileSync(OUT, lines.join('\n') + (note >= 0 ? '\n' + prev.slice(note) : ''));
console.log(`wrote ${OUT}`);
process.exit(results.every((r) => r.verified) ? 0 : 1);
