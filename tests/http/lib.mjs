// lib.mjs - helpers of the HTTP suite: start and stop a real `mnemo serve` on an ephemeral
// port with a temporary database, run CLI commands, make requests, match JSON subsets, count
// results. No npm packages: node's own fetch, net and child_process.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const top = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const BIN = path.resolve(top, process.env.MNEMO_BIN || 'bin/mnemo');

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
export function summary() {
  console.log(`http: ${pass} passed, ${fail} failed`);
  return fail === 0;
}

export function tmpdir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mnemo-http-'));
}

export function cli(args) {
  return execFileSync(BIN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Every server started, so that none outlives the suite even when a test throws.
const live = new Set();
process.on('exit', () => { for (const p of live) p.kill('SIGKILL'); });

// Starts `mnemo serve --port 0 ...`, resolves once it prints the URL.
export function startServer(args, { timeoutMs = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, ['serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    proc.on('exit', () => live.delete(proc));
    const srv = { proc, stdout: '', stderr: '', port: 0, base: '', exited: null };
    const exit = new Promise((r) => proc.on('exit', (code, sig) => { srv.exited = { code, sig }; r(srv.exited); }));
    srv.exit = exit;
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

// Runs a command to its end (for servers that must refuse to start).
export function runToEnd(args, timeoutMs = 10000) {
  return new Promise((resolve) => {
    const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { out += d; });
    proc.on('exit', (code) => { clearTimeout(t); resolve({ code, out }); });
  });
}

export async function request(base, method, p, { key, body, raw, headers = {} } = {}) {
  const h = { ...headers };
  if (key) h.Authorization = `Bearer ${key}`;
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    if (!h['Content-Type']) h['Content-Type'] = 'application/json';
  }
  const res = await fetch(base + p, { method, headers: h, body: payload });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

// Subset match with placeholders; returns '' or a description of the first difference.
export function match(want, got, at = '$') {
  if (typeof want === 'string' && want.startsWith('<') && want.endsWith('>')) {
    const t = want.slice(1, -1);
    const okType = {
      any: got !== undefined,
      int: Number.isInteger(got),
      number: typeof got === 'number',
      string: typeof got === 'string' && got.length > 0,
      array: Array.isArray(got) && got.length > 0,
      time: typeof got === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(got),
    }[t];
    return okType ? '' : `${at}: expected ${want}, got ${JSON.stringify(got)}`;
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) return `${at}: expected an array, got ${JSON.stringify(got)}`;
    const open = want.length && want[want.length - 1] === '...';
    const items = open ? want.slice(0, -1) : want;
    if (open ? got.length < items.length : got.length !== items.length)
      return `${at}: expected ${items.length}${open ? '+' : ''} items, got ${got.length}`;
    for (let i = 0; i < items.length; i++) {
      const d = match(items[i], got[i], `${at}[${i}]`);
      if (d) return d;
    }
    return '';
  }
  if (want && typeof want === 'object') {
    if (!got || typeof got !== 'object') return `${at}: expected an object, got ${JSON.stringify(got)}`;
    for (const k of Object.keys(want)) {
      const d = match(want[k], got[k], `${at}.${k}`);
      if (d) return d;
    }
    return '';
  }
  if (typeof want === 'string' && typeof got === 'string' && at.endsWith('.message'))
    return got.includes(want) ? '' : `${at}: ${JSON.stringify(got)} lacks ${JSON.stringify(want)}`;
  return want === got ? '' : `${at}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
}

export function dig(obj, dotted) {
  return dotted.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

// Sends raw HTTP/1.1 requests one after another on ONE socket; returns the status lines and
// whether the socket stayed open between them.
export function rawKeepAlive(port, requests) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const statuses = [];
    let i = 0;
    let closedEarly = false;
    const t = setTimeout(() => { sock.destroy(); reject(new Error('keep-alive test timed out')); }, 10000);
    const sendNext = () => sock.write(requests[i]);
    sock.on('connect', sendNext);
    sock.on('close', () => { if (statuses.length < requests.length) closedEarly = true; clearTimeout(t); resolve({ statuses, closedEarly }); });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        const m = head.match(/content-length:\s*(\d+)/i);
        const len = m ? Number(m[1]) : 0;
        if (buf.length < end + 4 + len) return;
        statuses.push({ status: Number(head.split(' ')[1]), close: /connection:\s*close/i.test(head) });
        buf = buf.subarray(end + 4 + len);
        i++;
        if (i < requests.length) sendNext();
        else { clearTimeout(t); sock.end(); resolve({ statuses, closedEarly }); return; }
      }
    });
    sock.on('error', (e) => { clearTimeout(t); reject(e); });
  });
}
