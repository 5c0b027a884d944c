// secrets.mjs - what must never leak. API keys: only their SHA-256 is in the database file,
// the server's log never holds a key (valid, unknown, malformed or revoked) nor the secret
// part of one, and error replies never echo more than a key's public prefix. Tenants: the
// memory text of one tenant never appears in another tenant's replies, whatever route it
// tries, and memory text never appears in the log at all (debug level, access log on).
//
// Usage: node tests/abuse/secrets.mjs        Ends with "secrets: N passed, N failed".
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, request, sleep, startServer, suite, tmpdir } from './lib.mjs';

const t = suite('secrets');
const SECRET = 'ALPHA-PRIVATE-7f3a the launch code is 4711';

function cli(db, args) {
  return execFileSync(BIN, [...args, '--db', db, '--embedder', 'none'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function createKey(db, tenant) {
  return cli(db, ['keys', 'create', '--tenant', tenant]).split('\n').find((l) => l.startsWith('mn_')).trim();
}

function fileBytes(db) {
  return [db, `${db}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)).reduce((a, b) => Buffer.concat([a, b]), Buffer.alloc(0));
}

async function main() {
  const dir = tmpdir();
  const db = path.join(dir, 'secrets.db');
  let srv;
  try {
    const alpha = createKey(db, 'alpha');
    const beta = createKey(db, 'beta');
    const bytes = fileBytes(db);
    const digest = crypto.createHash('sha256').update(alpha).digest();
    t.check('the database file holds the SHA-256 of a key, never the key',
      !bytes.includes(alpha) && !bytes.includes(beta) && !bytes.includes(alpha.slice(11)) && bytes.includes(digest),
      'a key or its secret part is in the file, or its digest is not');
    const listed = cli(db, ['keys', 'list']);
    t.check('keys list shows prefixes only', listed.includes(alpha.slice(0, 11)) && !listed.includes(alpha.slice(11)), listed);

    srv = await startServer(['--db', db, '--embedder', 'mock', '--log-level', 'debug']);
    const base = srv.base;
    const add = await request(base, 'POST', '/v1/users/ua/messages', { key: alpha, body: { text: SECRET, metadata: { note: SECRET } } });
    t.check('tenant alpha stores a private memory', add.status === 201, add.text);
    const id = add.json.ids[0];
    const own = await request(base, 'GET', `/v1/users/ua/memories?query=${encodeURIComponent('launch code')}`, { key: alpha });
    t.check('alpha finds its own memory', own.status === 200 && own.text.includes('launch code'), own.text);

    // Everything tenant beta may try against alpha's user and memory.
    const tries = [
      ['GET', `/v1/users/ua/memories/${id}`],
      ['PATCH', `/v1/users/ua/memories/${id}`, { text: 'overwritten by beta' }],
      ['DELETE', `/v1/users/ua/memories/${id}`],
      ['GET', '/v1/users/ua/memories'],
      ['GET', `/v1/users/ua/memories?query=${encodeURIComponent(SECRET)}`],
      ['GET', '/v1/users/ua/export'],
      ['GET', '/v1/users'],
      ['DELETE', '/v1/users/ua'],
      ['GET', `/v1/system/memories?query=launch`],
      ['POST', '/v1/users/ua/messages', { messages: [{ text: 'x' }, { text: '' }] }],
    ];
    const leaks = [];
    for (const [m, p, body] of tries) {
      const r = await request(base, m, p, { key: beta, body });
      if (/ALPHA-PRIVATE|launch code|4711|"user_id":"ua"/.test(r.text) || (m !== 'POST' && r.status < 300 && m !== 'GET'))
        leaks.push(`${m} ${p}: ${r.status} ${r.text.slice(0, 160)}`);
    }
    t.check(`another tenant sees none of alpha's text on ${tries.length} routes and changes nothing`, leaks.length === 0, leaks.join('\n'));
    const still = await request(base, 'GET', `/v1/users/ua/memories/${id}`, { key: alpha });
    t.check("alpha's memory is untouched by beta", still.status === 200 && still.json.text === SECRET, still.text);

    // Keys that must not work, and must not come back in replies.
    const unknown = `mn_${crypto.randomBytes(32).toString('base64url')}`;
    const altered = alpha.slice(0, 20) + (alpha[20] === 'A' ? 'B' : 'A') + alpha.slice(21);
    const bad = [unknown, altered, 'not-a-key-SECRETISH-0123456789', `${alpha}x`];
    const echoed = [];
    for (const k of bad) {
      const r = await request(base, 'GET', '/v1/users', { key: k });
      if (r.status !== 401) echoed.push(`${k.slice(0, 12)}...: status ${r.status}`);
      if (r.text.includes(k.slice(11)) || r.text.includes(k)) echoed.push(`${k.slice(0, 12)}... echoed: ${r.text}`);
    }
    t.check('wrong, altered and malformed keys get 401 without being echoed', echoed.length === 0, echoed.join('\n'));

    // Revocation while the server runs (the server remembers valid keys for 2 s).
    const ok1 = await request(base, 'GET', '/v1/users', { key: beta });
    cli(db, ['keys', 'revoke', '2']);
    let after = null;
    for (let i = 0; i < 40; i++) {
      after = await request(base, 'GET', '/v1/users', { key: beta });
      if (after.status === 401) break;
      await sleep(100);
    }
    t.check('a revoked key stops working within seconds', ok1.status === 200 && after.status === 401, `${ok1.status} then ${after.status}`);

    const stopped = await srv.stop('SIGTERM');
    t.check('the server stops cleanly', stopped.code === 0, `${JSON.stringify(stopped)}`);
    const log = srv.stderr + srv.stdout;
    t.check('the log has the requests (access log at debug level)', (log.match(/ GET \/v1\/users /g) || []).length >= 5, log.slice(-500));
    const keyHits = [alpha, beta, ...bad].filter((k) => log.includes(k) || log.includes(k.slice(11)));
    t.check('no key, valid or not, and no secret part of one is in the log', keyHits.length === 0,
      keyHits.map((k) => k.slice(0, 12)).join(', '));
    t.check('no memory text is in the log', !/ALPHA-PRIVATE|launch code|4711|overwritten by beta/.test(log),
      (log.match(/.*(ALPHA-PRIVATE|launch code|4711).*/) || [''])[0]);
    t.check('no sanitizer report from the server', !/runtime error|Sanitizer/.test(srv.stderr),
      (srv.stderr.match(/.*(runtime error|Sanitizer).*/) || [''])[0]);
  } catch (err) {
    t.bad('secrets test ran to its end', err.stack || String(err));
    if (srv) await srv.stop('SIGKILL');
  }
  fs.rmSync(dir, { recursive: true, force: true });
  t.end();
}

main();
