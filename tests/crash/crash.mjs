// crash.mjs - kill -9 during load loses no acknowledged write. Each round: clients add
// messages over HTTP as fast as they can (single adds and all-or-nothing batches, plus
// deletes of earlier messages) and record every acknowledged id; the server is killed with
// SIGKILL at a random moment; the file must pass PRAGMA integrity_check (tests/crash/dbcheck);
// the restarted server must hold every acknowledged message with its text, none of the
// acknowledged deletes, each batch whole or not at all, hand out ids above every id seen,
// and serve reads and writes. Rounds run on the same database, so later rounds also check
// what earlier recoveries left.
//
// Usage: node tests/crash/crash.mjs --dbcheck PATH [--rounds N] [--seed S] [--clients C]
// Ends with "crash: N passed, N failed" (one check per round and step).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startServer, tmpdir } from '../http/lib.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => {
  if (v.startsWith('--')) a.push([v.slice(2), all[i + 1]]);
  return a;
}, []));
const rounds = Number(args.rounds || 3);
const seed0 = Number(args.seed || (Date.now() % 1000000007));
const clients = Number(args.clients || 8);
const dbcheck = args.dbcheck;

let pass = 0;
let fail = 0;
const ok = (name) => { pass++; console.log(`ok   ${name}`); };
const bad = (name, detail) => {
  fail++;
  console.log(`FAIL ${name}`);
  if (detail) console.log(String(detail).split('\n').slice(0, 20).map((l) => '     ' + l).join('\n'));
};
const check = (name, cond, detail) => (cond ? ok(name) : bad(name, typeof detail === 'function' ? detail() : detail));

// mulberry32: a small seeded generator, so that a failing round can be replayed.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function call(agent, port, method, p, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({ host: '127.0.0.1', port, method, path: p, agent,
      headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} },
    (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    if (data) req.write(data);
    req.end();
  });
}

// State across rounds: what the clients were told is durable.
const acked = new Map();     // id -> { user, text }
const deleted = new Set();   // ids whose delete was acknowledged
const batches = [];          // { user, texts } of batches in flight at the kill
const pendingDel = new Map(); // id -> message: deletes in flight at the kill (either outcome)
let maxId = 0;

async function load(srv, round, rand, stopAt) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  let n = 0;
  let errors = 0;
  const worker = async (c) => {
    const user = `u${c}`;
    for (let i = 0; Date.now() < stopAt; i++) {
      const roll = rand();
      try {
        if (roll < 0.15) {
          // A batch: all of it or none of it may survive, whatever the moment of the kill.
          const texts = [0, 1, 2].map((j) => `r${round} ${user} batch ${i}.${j} ${Math.floor(rand() * 1e9)}`);
          const b = { user, texts };
          batches.push(b);
          const r = await call(agent, srv.port, 'POST', `/v1/users/${user}/messages`,
            { messages: texts.map((text) => ({ text, role: 'user' })) });
          if (r.status !== 201) { errors++; continue; }
          const ids = JSON.parse(r.text).ids;
          ids.forEach((id, j) => { acked.set(id, { user, text: texts[j] }); maxId = Math.max(maxId, id); });
          batches.splice(batches.indexOf(b), 1);
        } else if (roll < 0.2 && acked.size) {
          // Delete one of this user's acknowledged messages.
          const mine = [...acked].find(([, m]) => m.user === user);
          if (!mine) continue;
          acked.delete(mine[0]);
          pendingDel.set(mine[0], mine[1]);
          const r = await call(agent, srv.port, 'DELETE', `/v1/users/${user}/memories/${mine[0]}`);
          pendingDel.delete(mine[0]);
          if (r.status === 200) deleted.add(mine[0]);
          else acked.set(mine[0], mine[1]);
        } else {
          const text = `r${round} ${user} msg ${i} ${Math.floor(rand() * 1e9)} é ☃`;
          const r = await call(agent, srv.port, 'POST', `/v1/users/${user}/messages`, { text });
          if (r.status !== 201) { errors++; continue; }
          const id = JSON.parse(r.text).ids[0];
          acked.set(id, { user, text });
          maxId = Math.max(maxId, id);
        }
        n++;
      } catch {
        return; // the server is gone: what was not acknowledged may be lost
      }
    }
  };
  const all = Promise.all([...Array(clients).keys()].map(worker));
  await all;
  agent.destroy();
  return { n, errors };
}

async function exportAll(port) {
  const agent = new http.Agent({ keepAlive: true });
  const found = new Map();
  for (let c = 0; c < clients; c++) {
    const r = await call(agent, port, 'GET', `/v1/users/u${c}/export`);
    if (r.status === 404) continue;
    if (r.status !== 200) throw new Error(`export of u${c}: ${r.status} ${r.text.slice(0, 200)}`);
    for (const line of r.text.split('\n')) {
      if (!line) continue;
      const m = JSON.parse(line);
      found.set(m.id, { user: m.user_id, text: m.text });
    }
  }
  agent.destroy();
  return found;
}

async function main() {
  const dir = tmpdir();
  const db = path.join(dir, 'crash.db');
  const srvArgs = ['--db', db, '--access-log=false', '--log-level', 'warn'];
  console.log(`crash: ${rounds} round(s), seed ${seed0}, ${clients} clients, database ${db}`);
  try {
    for (let round = 1; round <= rounds; round++) {
      const seed = (seed0 + round * 7919) >>> 0;
      const rand = rng(seed);
      const tag = `round ${round} (seed ${seed})`;
      const srv = await startServer(srvArgs);
      const killAfter = 150 + Math.floor(rand() * 1350);
      const started = Date.now();
      const held = acked.size;
      const loading = load(srv, round, rand, started + 60000);
      // the kill moment counts from the first acknowledged write: a slow (sanitizer) build
      // may take longer than the shortest delay to answer at all
      while (acked.size === held && Date.now() - started < 30000)
        await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, killAfter));
      srv.proc.kill('SIGKILL');
      await srv.exit;
      const { n } = await loading;
      console.log(`     ${tag}: killed after ${killAfter} ms, ${n} requests acknowledged, ${acked.size} messages held`);
      check(`${tag}: load was running when the server was killed`, n > 0, 'no request was acknowledged before the kill');

      let integrity = '';
      try { integrity = execFileSync(dbcheck, [db], { encoding: 'utf8' }).trim(); } catch (e) { integrity = String(e.stdout || e); }
      check(`${tag}: PRAGMA integrity_check is ok after kill -9`, integrity === 'ok', integrity);

      const again = await startServer(srvArgs);
      const found = await exportAll(again.port);
      const lost = [...acked].filter(([id, m]) => !found.has(id) || found.get(id).text !== m.text || found.get(id).user !== m.user);
      check(`${tag}: every acknowledged message is present with its text (${acked.size})`, lost.length === 0,
        () => `${lost.length} lost, e.g. ${JSON.stringify(lost.slice(0, 3))}`);
      const back = [...deleted].filter((id) => found.has(id));
      check(`${tag}: no acknowledged delete came back`, back.length === 0, () => `deleted ids present: ${back.slice(0, 5)}`);
      const torn = batches.filter((b) => {
        const have = b.texts.filter((t) => [...found.values()].some((m) => m.user === b.user && m.text === t)).length;
        return have !== 0 && have !== b.texts.length;
      });
      check(`${tag}: batches in flight are whole or absent (${batches.length})`, torn.length === 0, () => JSON.stringify(torn[0]));
      // What survived without an ack (committed just before the kill) is now durable too.
      for (const [id, m] of found) { acked.set(id, m); maxId = Math.max(maxId, id); }
      batches.length = 0;
      pendingDel.clear();

      const w = await call(undefined, again.port, 'POST', '/v1/users/u0/messages', { text: `after round ${round}` });
      const newId = w.status === 201 ? JSON.parse(w.text).ids[0] : 0;
      check(`${tag}: the restarted server accepts writes with a fresh id`, w.status === 201 && newId > maxId,
        `status ${w.status}, id ${newId}, highest id seen ${maxId}: ${w.text.slice(0, 200)}`);
      if (newId) { acked.set(newId, { user: 'u0', text: `after round ${round}` }); maxId = newId; }
      const s = await call(undefined, again.port, 'GET', '/v1/users/u0/memories?query=after+round&k=3');
      check(`${tag}: the restarted server searches`, s.status === 200 && JSON.parse(s.text).memories.length > 0, s.text.slice(0, 200));
      const e = await again.stop('SIGTERM');
      check(`${tag}: the restarted server stops cleanly`, e.code === 0 && !/runtime error|Sanitizer/.test(again.stderr),
        `exit ${JSON.stringify(e)}: ${again.stderr.slice(-500)}`);
    }
  } catch (e) {
    bad('crash test ran to its end', e.stack || String(e));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`crash: ${pass} passed, ${fail} failed`);
  process.exit(fail ? 1 : 0);
}

main();
