// multinode.mjs - three `mnemo serve` nodes on one PostgreSQL: a write acknowledged by one
// node is seen by a search on another within one second, with LISTEN/NOTIFY and with
// notifications off (MNEMO_PG_LISTEN=0: version polling); updates, deletes and forgets
// propagate the same way; a listener connection killed by the server comes back. Every
// other node has the partition cached before the write, so a fresh load cannot hide a
// missed invalidation.
import { add, bad, check, need, psql, req, search, startNodes, stopAll, summary, until } from './common.mjs';

const DEADLINE_MS = 1000;
const pg = need('MNEMO_TEST_PG', 'a PostgreSQL started by scripts/pg-tmp');

async function visibility(nodes, label, rounds) {
  const lat = [];
  let missed = 0;
  for (let i = 0; i < rounds; i++) {
    const user = `${label}-u${i % 4}`;
    const w = nodes[i % nodes.length];
    const readers = nodes.filter((n) => n !== w);
    for (const r of readers) await search(r.base, user, 'warm up the cache'); // cache it
    const text = `${label} round ${i} the zebra number ${i * 7919} visited`;
    const a = await add(w.base, user, text);
    if (a.status !== 201) { bad(`${label}: add on a node`, a.text); return; }
    for (const r of readers) {
      const ms = await until(async () => {
        const s = await search(r.base, user, `zebra number ${i * 7919}`);
        return s.texts && s.texts.includes(text);
      }, DEADLINE_MS * 3);
      if (ms < 0 || ms > DEADLINE_MS) missed++;
      lat.push(ms < 0 ? Infinity : ms);
    }
  }
  lat.sort((x, y) => x - y);
  const p50 = lat[Math.floor(lat.length / 2)], max = lat[lat.length - 1];
  console.log(`     ${label}: ${lat.length} reads after writes on another node, p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
  check(`${label}: every write seen on the other nodes within ${DEADLINE_MS} ms (${lat.length} checks)`, missed === 0, `${missed} late or never`);
}

async function mutations(nodes, label) {
  const [a, b, c] = nodes;
  const user = `${label}-mut`;
  const r1 = await add(a.base, user, 'the quokka lives on an island');
  const r2 = await add(a.base, user, 'the quokka smiles at visitors');
  const id1 = r1.json && r1.json.ids && r1.json.ids[0];
  await search(b.base, user, 'quokka');
  await search(c.base, user, 'quokka');
  // delete on A: gone on B
  const d = await req(a.base, 'DELETE', `/v1/users/${user}/memories/${id1}`);
  check(`${label}: delete on one node answers 2xx`, d.status >= 200 && d.status < 300, d.text);
  let ms = await until(async () => {
    const s = await search(b.base, user, 'quokka island');
    return s.texts && !s.texts.includes('the quokka lives on an island') && s.texts.includes('the quokka smiles at visitors');
  }, DEADLINE_MS);
  check(`${label}: a delete on one node is seen on another within ${DEADLINE_MS} ms`, ms >= 0, `not after ${DEADLINE_MS} ms`);
  // update on B: new text on C
  const id2 = r2.json && r2.json.ids && r2.json.ids[0];
  const u = await req(b.base, 'PATCH', `/v1/users/${user}/memories/${id2}`, { text: 'the quokka sleeps all day' });
  check(`${label}: update on one node answers 200`, u.status === 200, u.text);
  ms = await until(async () => {
    const s = await search(c.base, user, 'quokka');
    return s.texts && s.texts.includes('the quokka sleeps all day') && !s.texts.includes('the quokka smiles at visitors');
  }, DEADLINE_MS);
  check(`${label}: an update on one node is seen on another within ${DEADLINE_MS} ms`, ms >= 0, `not after ${DEADLINE_MS} ms`);
  // forget on C: empty on A
  const f = await req(c.base, 'DELETE', `/v1/users/${user}`);
  check(`${label}: forget on one node answers 2xx`, f.status >= 200 && f.status < 300, f.text);
  ms = await until(async () => {
    const s = await search(a.base, user, 'quokka'); // a user without memories is a 404
    return s.status === 404 || (s.texts && s.texts.length === 0);
  }, DEADLINE_MS);
  check(`${label}: forgetting a user on one node empties it on another within ${DEADLINE_MS} ms`, ms >= 0, `not after ${DEADLINE_MS} ms`);
}

async function main() {
  if (!pg) return summary('multinode');
  const args = ['--store', pg, '--embedder', 'mock', '--log-level', 'warn', '--access-log=false'];
  let nodes = await startNodes(3, args);
  check('three nodes start on one PostgreSQL', nodes.length === 3 && nodes.every((n) => n.port > 0));
  await visibility(nodes, 'notify', 24);
  await mutations(nodes, 'notify');

  // The server drops the listeners' connections: they come back, and what was written
  // meanwhile is not missed (every cached partition is reloaded after a reconnect).
  const killed = psql(pg, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'mnemo-listen'");
  check('the listeners were connected (one per node)', killed === '3', `terminated ${killed}`);
  await visibility(nodes, 'relisten', 6);
  const back = await until(async () => psql(pg, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mnemo-listen'") === '3', 5000, 100);
  check('the listeners reconnect by themselves', back >= 0);
  await stopAll(nodes);

  // Without notifications (MNEMO_PG_LISTEN=0), nodes poll partition versions.
  nodes = await startNodes(3, args, { MNEMO_PG_LISTEN: '0' });
  const none = psql(pg, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mnemo-listen'");
  check('MNEMO_PG_LISTEN=0: no listener connections', none === '0', `found ${none}`);
  await visibility(nodes, 'poll', 9);
  await mutations(nodes, 'poll');
  await stopAll(nodes);
  return summary('multinode');
}

main().then((good) => process.exit(good ? 0 : 1), (e) => { bad('multinode suite crashed', e.stack); summary('multinode'); process.exit(1); });
