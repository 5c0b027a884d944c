// diskfull.mjs - a database on a small filesystem that fills up (tests/suites/diskfull.sh
// mounts it): writes fail with 507 (or 503) and a clear message, reads and health checks go
// on, nothing acknowledged is lost, and writes succeed again once space returns (a ballast
// file is deleted; in the ulimit fallback, the server restarts without the limit). The file
// passes PRAGMA integrity_check afterwards.
//
// Usage: node tests/abuse/diskfull.mjs --dir DIR --mode tmpfs|loop-ext4|ulimit --dbcheck PATH
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { exportUser, request, sleep, startServer, startWrapped, suite } from './lib.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => {
  if (v.startsWith('--')) a.push([v.slice(2), all[i + 1]]);
  return a;
}, []));
const t = suite('diskfull');
const dir = args.dir;
const mode = args.mode;
const db = path.join(dir, 'full.db');
const ballast = path.join(dir, 'ballast');
const srvArgs = ['--db', db, '--access-log=false', '--embedder', 'mock'];
const ULIMIT_BLOCKS = 6144; // dash counts 512-byte blocks: 3 MiB per file

async function fill(base, acked) {
  const filler = 'lorem ipsum dolor sit amet '.repeat(100);
  const fails = [];
  for (let i = 0; i < 20000 && fails.length < 5; i++) {
    const text = `m${i} ${filler}`;
    const r = await request(base, 'POST', '/v1/users/u/messages', { body: { text } });
    if (r.status === 201) acked.set(r.json.ids[0], text);
    else fails.push(r);
  }
  return fails;
}

async function main() {
  console.log(`diskfull: filesystem ${mode} at ${dir}`);
  let srv;
  const acked = new Map();
  try {
    if (mode !== 'ulimit') fs.writeFileSync(ballast, Buffer.alloc(1536 * 1024, 1));
    srv = mode === 'ulimit'
      ? await startWrapped(`trap '' XFSZ; ulimit -f ${ULIMIT_BLOCKS}`, srvArgs)
      : await startServer(srvArgs);
    const fails = await fill(srv.base, acked);
    t.check(`writes fill the filesystem (${acked.size} acknowledged)`, fails.length === 5 && acked.size > 10,
      `${acked.size} writes acknowledged, ${fails.length} refused`);
    const statuses = [...new Set(fails.map((r) => r.status))];
    t.check('a full disk answers 507 (or 503), never 500', fails.every((r) => r.status === 507 || r.status === 503),
      `statuses ${statuses}: ${fails[0] && fails[0].text}`);
    const e = fails[0] && fails[0].json && fails[0].json.error;
    t.check('the error says the storage is full and what to do',
      e && (e.code === 'storage_full' || e.code === 'store_unavailable') && /full|space|write/i.test(e.message) && e.hint,
      fails[0] && fails[0].text);

    const list = await request(srv.base, 'GET', '/v1/users/u/memories?limit=5');
    const search = await request(srv.base, 'GET', '/v1/users/u/memories?query=lorem&k=3');
    const health = await request(srv.base, 'GET', '/healthz');
    t.check('reads and health checks go on while the disk is full',
      list.status === 200 && search.status === 200 && health.status === 200 && list.json.total === acked.size,
      `list ${list.status} (total ${list.json && list.json.total} of ${acked.size}), search ${search.status}, healthz ${health.status}`);

    // Space returns.
    if (mode === 'ulimit') {
      await srv.stop('SIGTERM');
      srv = await startServer(srvArgs);
    } else {
      fs.unlinkSync(ballast);
    }
    let again = null;
    for (let i = 0; i < 20; i++) {
      again = await request(srv.base, 'POST', '/v1/users/u/messages', { body: { text: 'after space returned' } });
      if (again.status === 201) break;
      await sleep(100);
    }
    t.check(`writes succeed again once space returns${mode === 'ulimit' ? ' (after a restart)' : ' (no restart)'}`,
      again.status === 201, `${again.status} ${again.text}`);
    if (again.status === 201) acked.set(again.json.ids[0], 'after space returned');

    const stopped = await srv.stop('SIGTERM');
    t.check('the server stops cleanly', stopped.code === 0, `${JSON.stringify(stopped)} ${srv.stderr.slice(-400)}`);
    let integrity;
    try { integrity = execFileSync(args.dbcheck, [db], { encoding: 'utf8' }).trim(); } catch (err) { integrity = String(err.stdout || err); }
    t.check('PRAGMA integrity_check is ok after the disk was full', integrity === 'ok', integrity);

    srv = await startServer(srvArgs);
    const found = await exportUser(srv.base, 'u');
    const lost = [...acked].filter(([id, text]) => found.get(id) !== text);
    t.check(`every acknowledged write is present after a restart (${acked.size})`, lost.length === 0,
      () => `${lost.length} lost: ${lost.slice(0, 3).map(([id]) => id)}`);
    await srv.stop('SIGTERM');
    t.check('no sanitizer report from the server', !/runtime error|Sanitizer/.test(srv.stderr), srv.stderr.slice(-400));
  } catch (err) {
    t.bad('disk-full test ran to its end', err.stack || String(err));
    if (srv) await srv.stop('SIGKILL');
  }
  t.end();
}

main();
