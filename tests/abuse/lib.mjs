// lib.mjs - helpers of the abuse, secrets and disk-full suites: pass/fail counting with a
// suite name, a server started through an optional shell wrapper (ulimit), raw sockets,
// and NDJSON exports. Servers come from tests/http/lib.mjs, which also kills any left at
// exit.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { BIN, request } from '../http/lib.mjs';

export { BIN, request };
export { startServer, tmpdir } from '../http/lib.mjs';

export function suite(name) {
  let pass = 0;
  let fail = 0;
  const s = {
    ok(what) { pass++; console.log(`ok   ${what}`); },
    bad(what, detail) {
      fail++;
      console.log(`FAIL ${what}`);
      if (detail) console.log(String(detail).split('\n').slice(0, 25).map((l) => '     ' + l).join('\n'));
    },
    check(what, cond, detail) {
      if (cond) s.ok(what);
      else s.bad(what, typeof detail === 'function' ? detail() : detail);
    },
    end() {
      console.log(`${name}: ${pass} passed, ${fail} failed`);
      process.exit(fail ? 1 : 0);
    },
  };
  return s;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// `mnemo serve` through `sh -c "<prefix>; exec mnemo serve ..."` (a ulimit, an ignored
// signal); resolves once it prints its URL.
export function startWrapped(prefix, args, { timeoutMs = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const quoted = [BIN, 'serve', '--port', '0', ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const proc = spawn('sh', ['-c', `${prefix}; exec ${quoted}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const srv = { proc, stdout: '', stderr: '', port: 0, base: '' };
    const exit = new Promise((r) => proc.on('exit', (code, sig) => { srv.exited = { code, sig }; r(srv.exited); }));
    srv.exit = exit;
    process.on('exit', () => proc.kill('SIGKILL'));
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error('server did not start: ' + srv.stderr)); }, timeoutMs);
    proc.stderr.on('data', (d) => { srv.stderr += d; });
    proc.stdout.on('data', (d) => {
      srv.stdout += d;
      const m = srv.stdout.match(/listening on http:\/\/([^\s]+):(\d+)/);
      if (m && !srv.port) {
        srv.port = Number(m[2]);
        srv.base = `http://127.0.0.1:${srv.port}`;
        clearTimeout(timer);
        resolve(srv);
      }
    });
    exit.then((e) => { if (!srv.port) { clearTimeout(timer); reject(new Error(`server exited ${JSON.stringify(e)}: ${srv.stderr}`)); } });
    srv.stop = async (sig = 'SIGTERM') => {
      if (!srv.exited) proc.kill(sig);
      const t = setTimeout(() => proc.kill('SIGKILL'), 20000);
      const e = await exit;
      clearTimeout(t);
      return e;
    };
  });
}

// Every memory of a user as a Map id -> text (GET export); empty when the user has none.
export async function exportUser(base, user, key) {
  const r = await request(base, 'GET', `/v1/users/${user}/export`, { key });
  const out = new Map();
  if (r.status === 404) return out;
  if (r.status !== 200) throw new Error(`export of ${user}: ${r.status} ${r.text.slice(0, 200)}`);
  for (const line of r.text.split('\n')) {
    if (!line) continue;
    const m = JSON.parse(line);
    out.set(m.id, m.text);
  }
  return out;
}

// A raw connection: what it was sent, what came back, and when it closed.
export function rawConn(port, { host = '127.0.0.1', localAddress } = {}) {
  const c = { data: '', closed: false, closedAt: 0, error: null };
  c.sock = net.connect({ port, host, localAddress });
  c.opened = new Promise((r) => { c.sock.on('connect', r); c.sock.on('error', r); });
  c.sock.on('data', (d) => { c.data += d; });
  c.sock.on('error', (e) => { c.error = e; });
  c.sock.on('close', () => { c.closed = true; c.closedAt = Date.now(); });
  c.write = (s) => { if (!c.closed && !c.sock.destroyed) c.sock.write(s); };
  c.destroy = () => c.sock.destroy();
  return c;
}
