// pgrestart.mjs - PostgreSQL restarted under load (a clean fast shutdown, then a crash with
// -m immediate) while two nodes take writes from eight clients: while the server is down,
// requests fail fast with 503 and /readyz says 503; the nodes recover by themselves once it
// is back; every acknowledged write is in the database afterwards.
import { exec } from 'node:child_process';
import { promisify } from 'node:util';
import { add, bad, check, need, psql, req, search, sleep, startNodes, stopAll, summary, until } from './common.mjs';

const sh = promisify(exec);
const pg = need('MNEMO_TEST_PG', 'a PostgreSQL started by scripts/pg-tmp');
const ctl = need('PG_TMP_CTL', 'the control command of scripts/pg-tmp');
const CLIENTS = 8;
const FAST_MS = 1000; // a failing request must answer within this

async function round(nodes, mode, acked) {
  const log = [];
  let stop = false;
  let seq = 0;
  const clients = [];
  for (let c = 0; c < CLIENTS; c++) {
    clients.push((async () => {
      while (!stop) {
        const node = nodes[c % nodes.length];
        const t = performance.now();
        const r = await add(node.base, `${mode}-w${c}`, `${mode} client ${c} write ${seq++} under restart`);
        log.push({ t, end: performance.now(), status: r.status, ms: r.ms });
        if (r.status === 201 && r.json && r.json.ids) for (const id of r.json.ids) acked.push(id);
        else await sleep(20);
      }
    })());
  }
  await sleep(1500);
  const tStop0 = performance.now();
  await sh(`${ctl} stop -m ${mode}`);
  const tDown = performance.now();
  const ready = await req(nodes[0].base, 'GET', '/readyz');
  check(`${mode}: /readyz is 503 while PostgreSQL is down`, ready.status === 503, `${ready.status} ${ready.text}`);
  await sleep(2000);
  const tStart = performance.now();
  await sh(`${ctl} start`);
  const tUp = performance.now();
  const rec = await until(async () => {
    const r = await req(nodes[1].base, 'GET', '/readyz');
    return r.status === 200;
  }, 10000, 50);
  check(`${mode}: /readyz is 200 again after PostgreSQL is back (${rec.toFixed(0)} ms)`, rec >= 0);
  await sleep(2000);
  stop = true;
  await Promise.all(clients);

  const before = log.filter((e) => e.end < tStop0 && e.status === 201).length;
  const down = log.filter((e) => e.t > tDown && e.end < tStart);
  const after = log.filter((e) => e.t > tUp && e.status === 201);
  const firstOk = after.length ? Math.min(...after.map((e) => e.end)) - tUp : -1;
  const other = down.filter((e) => e.status !== 503);
  const slow = down.filter((e) => e.ms > FAST_MS);
  console.log(`     ${mode}: ${before} writes acknowledged before, ${down.length} answered while down, ${after.length} after; first success ${firstOk.toFixed(0)} ms after the server was back`);
  check(`${mode}: writes are acknowledged before the restart`, before > 0);
  check(`${mode}: while down, every write is refused with 503 (${down.length})`, down.length > 0 && other.length === 0,
    () => `${other.length} other statuses: ${[...new Set(other.map((e) => e.status))].join(',')}`);
  check(`${mode}: while down, refusals are fast (all under ${FAST_MS} ms)`, down.length > 0 && slow.length === 0,
    () => `${slow.length} slow, max ${Math.max(...down.map((e) => e.ms)).toFixed(0)} ms`);
  check(`${mode}: writes succeed again by themselves within 5 s`, firstOk >= 0 && firstOk < 5000, `first success at ${firstOk}`);
  const s = await search(nodes[0].base, `${mode}-w1`, 'write under restart');
  check(`${mode}: search works after recovery`, s.status === 200 && s.texts && s.texts.length > 0, s.text);
}

async function main() {
  if (!pg || !ctl) return summary('pgrestart');
  const nodes = await startNodes(2, ['--store', pg, '--embedder', 'mock', '--log-level', 'error', '--access-log=false']);
  const acked = [];
  await round(nodes, 'fast', acked);
  await round(nodes, 'immediate', acked);
  nodes.forEach((n, i) => check(`node ${i} lived through both restarts`, !n.exited,
    () => `exited ${JSON.stringify(n.exited)}: ${n.stderr.slice(-3000)}`));
  await stopAll(nodes);
  const uniq = [...new Set(acked)];
  check('acknowledged ids are unique', uniq.length === acked.length);
  let found = 0;
  for (let i = 0; i < uniq.length; i += 2000) {
    found += Number(psql(pg, `SELECT count(*) FROM memories WHERE id = ANY('{${uniq.slice(i, i + 2000).join(',')}}'::bigint[])`));
  }
  check(`no acknowledged write lost (${found} of ${uniq.length} in the database)`, uniq.length > 0 && found === uniq.length);
  const counts = psql(pg, 'SELECT (SELECT count(*) FROM memories) = (SELECT sum(n_memories) FROM partitions)');
  check('partition counters match the rows (they commit together)', counts === 't', counts);
  return summary('pgrestart');
}

main().then((good) => process.exit(good ? 0 : 1), (e) => { bad('pgrestart suite crashed', e.stack); summary('pgrestart'); process.exit(1); });
