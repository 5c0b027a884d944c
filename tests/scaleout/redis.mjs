// redis.mjs - nodes sharing a Redis: the query-embedding cache is shared (a query embedded
// on one node is a Redis hit on another); background jobs go through a Redis Streams
// consumer group (embedding backfill of memories stored without vectors runs on some node);
// a job whose node is killed mid-way is claimed and finished by another node; with Redis
// down, nodes keep serving with a local cache and local jobs, say so in /readyz and the log,
// and go back to Redis by themselves.
import { add, bad, check, need, psql, rcli, readyz, search, sleep, startNodes, stopAll, summary, until } from './common.mjs';

const pg = need('MNEMO_TEST_PG', 'a PostgreSQL started by scripts/pg-tmp');
const redis = need('MNEMO_TEST_REDIS', 'a Redis started by scripts/redis-tmp');
const ctl = need('REDIS_TMP_CTL', 'the control command of scripts/redis-tmp');

const pending = (user) => Number(psql(pg, `SELECT count(*) FROM memories WHERE user_id = '${user}' AND embedding IS NULL`));
const calls = () => {
  const out = rcli(redis, 'INFO', 'commandstats');
  const n = (cmd) => Number((out.match(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`)) || [0, 0])[1]);
  return { get: n('get'), set: n('set') };
};
const pendingJobs = () => {
  const out = rcli(redis, 'XPENDING', 'mnemo:jobs', 'mnemo');
  return Number(out.split('\n')[0]) || 0;
};

async function writeWithout(user, n) {
  // a node without an embedder stores memories whose embedding is pending
  const [w] = await startNodes(1, ['--store', pg, '--embedder', 'none', '--log-level', 'error', '--access-log=false']);
  for (let i = 0; i < n; i++) await add(w.base, user, `${user} note ${i} about the aardvark`);
  await w.stop();
  return pending(user);
}

async function main() {
  if (!pg || !redis || !ctl) return summary('redis');
  const args = ['--store', pg, '--redis', redis, '--embedder', 'mock', '--log-level', 'info', '--access-log=false'];
  let nodes = await startNodes(2, args, { MNEMO_QCACHE_SHARED: '1' });
  const [a, b] = nodes;
  const ra = await readyz(a.base);
  check('/readyz reports redis up, shared jobs and cache', ra.redis === 'up' && ra.jobs === 'redis' && ra.query_cache === 'local+redis' && ra.change_feed === 'notify', JSON.stringify(ra));

  // ---- shared query-embedding cache
  await add(a.base, 'cq', 'the pangolin eats ants');
  const q = 'what does the pangolin eat for dinner';
  await search(a.base, 'cq', q);
  const keys = rcli(redis, '--scan', '--pattern', 'mnemo:qe:*').split('\n').filter(Boolean);
  check('a query embedded on one node is stored in Redis', keys.length === 1, keys.join(' '));
  check('the cached vector is 64 float32 (mock embedder)', keys.length && rcli(redis, 'STRLEN', keys[0]) === '256');
  // a hit is a GET with no SET after it (a miss embeds and stores); stream reads of the job
  // worker do not count as GETs
  const c0 = calls();
  const s = await search(b.base, 'cq', q);
  const c1 = calls();
  check('the same query on another node is a Redis hit', s.status === 200 && c1.get === c0.get + 1 && c1.set === c0.set, JSON.stringify([c0, c1]));
  await search(b.base, 'cq', q);
  const c2 = calls();
  check('asked again on that node, it comes from the local cache', c2.get === c1.get && c2.set === c1.set, JSON.stringify([c1, c2]));

  // ---- jobs on the stream: embedding backfill
  const p0 = await writeWithout('pend', 30);
  check('memories written by a node without embedder are pending', p0 === 30, `pending ${p0}`);
  await search(a.base, 'pend', 'aardvark'); // loading the partition submits the backfill job
  let ms = await until(async () => pending('pend') === 0, 10000, 50);
  check(`the backfill job ran on a node through the stream (${ms.toFixed(0)} ms)`, ms >= 0, `still pending: ${pending('pend')}`);
  const model = psql(pg, "SELECT string_agg(DISTINCT embed_model, ',') FROM memories WHERE user_id = 'pend'");
  check('backfilled vectors carry the model id', model.startsWith('mock'), model);
  check('the job went through the consumer group and was acknowledged',
    rcli(redis, 'XINFO', 'GROUPS', 'mnemo:jobs').includes('mnemo') && pendingJobs() === 0);
  await stopAll(nodes);

  // ---- a job survives its node's death
  await writeWithout('orphan', 20);
  const [slow] = await startNodes(1, args, { MNEMO_JOBS_TEST_DELAY_MS: '60000' });
  await search(slow.base, 'orphan', 'aardvark');
  ms = await until(async () => pendingJobs() === 1, 5000, 50);
  check('a node took the job (pending in the group)', ms >= 0, `pending ${pendingJobs()}`);
  slow.proc.kill('SIGKILL');
  await slow.exit;
  check('its node was killed with the job unfinished', pending('orphan') === 20);
  const [rescuer] = await startNodes(1, args, { MNEMO_JOBS_CLAIM_MS: '1000' });
  ms = await until(async () => pending('orphan') === 0, 15000, 100);
  check(`another node claimed the dead node's job and finished it (${ms.toFixed(0)} ms)`, ms >= 0, `still pending ${pending('orphan')}`);
  check('nothing is left pending in the group', (await until(async () => pendingJobs() === 0, 3000, 50)) >= 0);

  // ---- Redis down: local cache, local jobs; back by itself
  execCtl('stop');
  const s2 = await search(rescuer.base, 'cq', 'a question never asked before');
  check('with Redis down, search still answers', s2.status === 200, s2.text);
  const rd = await readyz(rescuer.base);
  check('/readyz says redis is down and jobs are local', rd.status === 'ready' && rd.redis === 'down' && rd.jobs === 'local', JSON.stringify(rd));
  check('the log says so', /redis .* is unreachable.*local query-embedding cache and local jobs/.test(rescuer.stderr), rescuer.stderr.slice(-500));
  await writeWithout('local1', 10);
  await search(rescuer.base, 'local1', 'aardvark');
  ms = await until(async () => pending('local1') === 0, 10000, 50);
  check(`with Redis down, the backfill job runs locally (${ms.toFixed(0)} ms)`, ms >= 0, `still pending ${pending('local1')}`);
  execCtl('start');
  ms = await until(async () => (await readyz(rescuer.base)).redis === 'up', 10000, 100);
  check(`the node goes back to Redis by itself (${ms.toFixed(0)} ms)`, ms >= 0);
  await stopAll([rescuer]);
  return summary('redis');
}

import { execSync } from 'node:child_process';
function execCtl(what) {
  execSync(`${ctl} ${what}`);
}

main().then((good) => process.exit(good ? 0 : 1), (e) => { bad('redis suite crashed', e.stack); summary('redis'); process.exit(1); });
