// run.mjs - the HTTP suite: drives real `mnemo serve` processes on ephemeral ports with
// temporary databases. Declarative cases (cases.json), route coverage, tenant isolation on
// every route, bad input, keep-alive, concurrency, graceful shutdown under load, development
// mode, rate limit, and docs generated from the route table. Last line:
// "http: N passed, N failed".
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  BIN, top, ok, bad, check, summary, tmpdir, cli, startServer, runToEnd, request, match, dig,
  rawKeepAlive,
} from './lib.mjs';
import { startStub } from '../proxy/stub.mjs';

process.on('uncaughtException', (e) => { bad('the suite itself failed', e.stack); summary(); process.exit(1); });
process.on('unhandledRejection', (e) => { bad('the suite itself failed', e && e.stack); summary(); process.exit(1); });

const dir = tmpdir();
const db = path.join(dir, 'main.db');
const docsDir = path.join(dir, 'swagger');
fs.mkdirSync(docsDir);
fs.writeFileSync(path.join(docsDir, 'swagger-ui.css'), 'body{}\n');
fs.writeFileSync(path.join(docsDir, 'swagger-ui-bundle.js'), '/* stub */\n');
const common = ['--embedder', 'mock', '--docs-dir', docsDir];

function keyCreate(dbPath, tenant, name) {
  const out = cli(['keys', 'create', '--tenant', tenant, '--db', dbPath, '--json', ...(name ? ['--name', name] : [])]);
  return JSON.parse(out);
}

// ---- keys from the command line --------------------------------------------------------
const A = keyCreate(db, 'acme', 'tests');
const B = keyCreate(db, 'globex');
const R = keyCreate(db, 'acme', 'old');
check('keys create prints a key of the documented shape', /^mn_[A-Za-z0-9_-]{43}$/.test(A.key), A.key);
check('keys are distinct', A.key !== B.key && A.key !== R.key);
{
  const out = cli(['keys', 'revoke', String(R.id), '--db', db]);
  check('keys revoke', /revoked key/.test(out), out);
  const list = cli(['keys', 'list', '--db', db]);
  check('keys list shows prefixes, tenants and the revocation, never the key',
    list.includes(A.key.slice(0, 11)) && list.includes('globex') && !list.includes(A.key.slice(11)) &&
    list.split('\n').some((l) => l.includes(R.key.slice(0, 11)) && !/ -\s*$/.test(l)), list);
  const fileBytes = fs.readFileSync(db);
  check('the database file holds no clear key', !fileBytes.includes(Buffer.from(A.key.slice(11))));
}
const keys = { A: A.key, B: B.key, revoked: R.key, bad: 'mn_' + 'x'.repeat(43) };

// The proxy routes forward to a local stub of an OpenAI-compatible upstream.
const stub = await startStub();
const srv = await startServer(['--db', db, ...common, '--upstream-url', stub.url]);
const base = srv.base;
const req = (m, p, o = {}) => request(base, m, p, o);

// ---- declarative cases -----------------------------------------------------------------
const spec = JSON.parse(fs.readFileSync(path.join(top, 'tests/http/cases.json'), 'utf8'));
const vars = {};
const subst = (s) => (typeof s === 'string' ? s.replace(/\$\{(\w+)\}/g, (_, k) => String(vars[k])) : s);
const substDeep = (v) => (typeof v === 'string' ? subst(v) : Array.isArray(v) ? v.map(substDeep)
  : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substDeep(x)])) : v);
const outcomes = []; // {route, status}
for (const c of spec.cases) {
  const headers = { ...(c.headers || {}) };
  let key;
  if (c.key === 'malformed') headers.Authorization = 'Basic abc';
  else if (c.key && c.key !== 'none') key = keys[c.key];
  let res;
  try {
    res = await req(c.method, subst(c.path), { key, headers, body: substDeep(c.body), raw: c.raw === undefined ? undefined : subst(c.raw) });
  } catch (e) {
    bad(`case: ${c.name}`, e.stack);
    continue;
  }
  const e = c.expect;
  let diff = res.status === e.status ? '' : `status ${res.status}, wanted ${e.status}: ${res.text.slice(0, 300)}`;
  if (!diff && e.json) diff = res.json === undefined ? `not JSON: ${res.text.slice(0, 200)}` : match(e.json, res.json);
  if (!diff && e.content_type && !(res.headers.get('content-type') || '').startsWith(e.content_type))
    diff = `content-type ${res.headers.get('content-type')}`;
  if (!diff && e.text) for (const t of e.text) if (!res.text.includes(t)) diff = `body lacks ${t}`;
  if (!diff && e.ndjson) {
    const lines = res.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    diff = match(e.ndjson, lines);
  }
  if (!diff && e.headers) for (const [h, v] of Object.entries(e.headers)) {
    const d = match(v, res.headers.get(h) || undefined, `header ${h}`);
    if (d) diff = d;
  }
  if (!diff && res.status >= 400 && res.json) {
    const d = match({ error: { code: '<string>', message: '<string>' } }, res.json);
    if (d || typeof res.json.error.hint !== 'string') diff = 'error shape: ' + (d || 'hint missing');
  }
  if (res.status === 500) diff = diff || 'a 500 for input';
  check(`case: ${c.name}`, !diff, diff);
  if (!diff && c.save) for (const [k, p] of Object.entries(c.save)) vars[k] = dig(res.json, p);
  if (!diff && c.save_text) vars[c.save_text] = res.text;
  if (c.route) outcomes.push({ route: c.route, status: res.status, passed: !diff });
}

// ---- every route has a success and an error case -------------------------------------------
const openapi = (await req('GET', '/openapi.json')).json;
const tableRoutes = [];
for (const [p, ops] of Object.entries(openapi.paths))
  for (const [m, op] of Object.entries(ops)) tableRoutes.push({ route: `${m.toUpperCase()} ${p}`, op });
{
  const missing = [];
  for (const { route } of tableRoutes) {
    const mine = outcomes.filter((o) => o.route === route && o.passed);
    if (!mine.some((o) => o.status < 300)) missing.push(`${route}: no success case`);
    if (!mine.some((o) => o.status >= 400)) missing.push(`${route}: no error case`);
  }
  const unknown = outcomes.filter((o) => !tableRoutes.some((r) => r.route === o.route)).map((o) => o.route);
  check(`every one of the ${tableRoutes.length} routes has a passing success and error case`, missing.length === 0, missing.join('\n'));
  check('every case names a route of the table', unknown.length === 0, [...new Set(unknown)].join('\n'));
  check('OpenAPI document names every route with an operationId and responses',
    tableRoutes.every(({ op }) => op.operationId && op.responses), '');
}

// ---- tenant isolation: B never sees or changes A's data --------------------------------------
{
  const a = (m, p, o = {}) => req(m, p, { key: keys.A, ...o });
  const b = (m, p, o = {}) => req(m, p, { key: keys.B, ...o });
  const added = await a('POST', '/v1/users/shared/messages', { body: { messages: [{ text: 'acme secret plan alpha' }, { text: 'acme secret plan beta' }] } });
  const [ida, idb] = added.json.ids;
  await a('POST', '/v1/system/memories', { body: { text: 'acme system rule omega' } });
  await b('POST', '/v1/users/shared/messages', { body: { text: 'globex note gamma' } });
  const iso = {
    listUsers: async () => { const r = await b('GET', '/v1/users'); return r.status === 200 && r.json.users.every((u) => u.user_id === 'shared') && r.json.total === 1; },
    addMessages: async () => { const r = await a('GET', '/v1/users/shared/memories'); return r.json.total === 2 && !r.text.includes('gamma'); },
    listMemories: async () => {
      const l = await b('GET', '/v1/users/shared/memories');
      const s = await b('GET', '/v1/users/shared/memories?query=secret+plan');
      return l.status === 200 && l.json.total === 1 && !l.text.includes('acme') && s.status === 200 && !s.text.includes('acme');
    },
    getMemory: async () => (await b('GET', `/v1/users/shared/memories/${ida}`)).status === 404,
    updateMemory: async () => (await b('PATCH', `/v1/users/shared/memories/${ida}`, { body: { text: 'hijacked' } })).status === 404,
    deleteMemory: async () => (await b('DELETE', `/v1/users/shared/memories/${idb}`)).status === 404,
    forgetUser: async () => {
      const r = await b('DELETE', '/v1/users/shared');
      const after = await a('GET', '/v1/users/shared/memories');
      return r.status === 200 && r.json.deleted === 1 && after.json.total === 2;
    },
    exportUser: async () => { const r = await b('GET', '/v1/users/shared/export'); return r.status === 404 && !r.text.includes('acme'); },
    compactUser: async () => {
      const r = await b('POST', '/v1/users/shared/compact', { body: { keep_recent: -1, min_cluster: 2 } });
      const after = await a('GET', '/v1/users/shared/memories');
      return r.status === 200 && r.json.active_before <= 1 && after.json.total === 2; // B's own only
    },
    buildContext: async () => {
      const r = await b('POST', '/v1/users/shared/context', { body: { query: 'what is the secret plan alpha omega', min_score: 0 } });
      return r.status === 200 && !r.text.includes('acme');
    },
    importMemories: async () => {
      const line = JSON.stringify({ user_id: 'shared', text: 'globex import delta', id: ida }) + '\n';
      const r = await b('POST', '/v1/import', { raw: line, headers: { 'Content-Type': 'application/x-ndjson' } });
      const mine = await a('GET', `/v1/users/shared/memories/${ida}`);
      const theirs = await b('GET', '/v1/users/shared/memories');
      return r.status === 200 && mine.json.text === 'acme secret plan alpha' && theirs.json.total === 1;
    },
    addSystemMemories: async () => { const r = await a('GET', '/v1/system/memories?query=omega'); return r.json.count === 1; },
    listSystemMemories: async () => {
      const l = await b('GET', '/v1/system/memories');
      const s = await b('GET', '/v1/system/memories?query=omega');
      return l.status === 200 && !l.text.includes('omega') && s.status === 200 && !s.text.includes('omega');
    },
    createEmbeddings: async () => (await b('POST', '/v1/embeddings', { body: { input: 'acme secret plan alpha' } })).status === 200,
    createChatCompletion: async () => {
      const r = await b('POST', '/v1/chat/completions', { body: { model: 'stub-model', user: 'shared', messages: [{ role: 'user', content: 'what is the secret plan' }] } });
      return r.status === 200 && stub.last().body.user === 'shared' && !JSON.stringify(stub.last().body).includes('acme');
    },
    listModels: async () => (await b('GET', '/v1/models')).status === 200 && stub.last().path === '/v1/models',
  };
  const authRoutes = tableRoutes.filter(({ op }) => op.security && op.security.length);
  const unchecked = authRoutes.filter(({ op }) => !iso[op.operationId]).map((r) => r.route);
  check('every authenticated route has a tenant isolation check', unchecked.length === 0, unchecked.join('\n'));
  for (const { route, op } of authRoutes) {
    if (!iso[op.operationId]) continue;
    let good = false;
    try { good = await iso[op.operationId](); } catch (e) { good = false; }
    check(`isolation: ${route}`, good);
  }
  const still = await a('GET', `/v1/users/shared/memories/${ida}`);
  check('isolation: tenant A data intact after tenant B tried everything', still.status === 200 && still.json.text === 'acme secret plan alpha');
}

// ---- bad input on purpose ----------------------------------------------------------------
{
  const a = (m, p, o = {}) => req(m, p, { key: keys.A, ...o });
  const countBefore = (await a('GET', '/v1/users/alice/memories?status=active,archived')).json.total;
  const big = await a('POST', '/v1/users/alice/messages', { raw: JSON.stringify({ text: 'x'.repeat(2 << 20) }), headers: { 'Content-Type': 'application/json' } });
  check('body over max-body is a 413 naming the limit', big.status === 413 && /max-body/.test(big.json?.error?.message), big.text.slice(0, 200));
  const huge = await new Promise((resolve) => {
    // 100 MiB announced: refused at once, without reading the body.
    const sock = net.connect(srv.port, '127.0.0.1', () => sock.write(
      `POST /v1/users/alice/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.A}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${100 << 20}\r\n\r\n{"text":"`));
    let got = '';
    sock.on('data', (d) => { got += d; });
    sock.on('close', () => resolve(got));
    sock.on('error', () => resolve(got));
    setTimeout(() => { sock.destroy(); resolve(got); }, 5000);
  });
  check('a body announced far over the limit is refused before it is sent', /^HTTP\/1\.1 413/.test(huge) && /max-body/.test(huge), huge.slice(0, 200));
  const deep = '{"text":"x","metadata":' + '{"a":'.repeat(200) + '1' + '}'.repeat(200) + '}';
  const d = await a('POST', '/v1/users/alice/messages', { raw: deep, headers: { 'Content-Type': 'application/json' } });
  check('deep nesting is a 413 naming max-json-depth', d.status === 413 && /max-json-depth/.test(d.json?.error?.message), d.text);
  const u = await a('POST', '/v1/users/alice/messages', { raw: Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), headers: { 'Content-Type': 'application/json' } });
  check('invalid UTF-8 is a 400 with the byte offset', u.status === 400 && u.json?.error?.code === 'invalid_utf8' && /byte 9/.test(u.json.error.message), u.text);
  const t = await a('POST', '/v1/users/alice/messages', { body: { text: 'y'.repeat(40000) } });
  check('text over max-text is a 413', t.status === 413 && /limit/.test(t.json?.error?.message), t.text.slice(0, 200));
  const m = await a('POST', '/v1/users/alice/messages', { body: { text: 'x', metadata: { blob: 'z'.repeat(20000) } } });
  check('metadata over max-metadata is a 413 naming it', m.status === 413 && /max-metadata/.test(m.json?.error?.message), m.text.slice(0, 200));
  const many = await a('POST', '/v1/users/alice/messages', { body: { messages: Array.from({ length: 1001 }, (_, i) => ({ text: `m${i}` })) } });
  check('batch over max-batch is a 413 naming it', many.status === 413 && /max-batch/.test(many.json?.error?.message), many.text.slice(0, 200));
  const hdr = await a('GET', '/v1/users', { headers: { 'X-Filler': 'h'.repeat(40000) } }).catch((e) => ({ status: 'error ' + e.message }));
  check('oversized headers are refused with a 4xx', typeof hdr.status === 'number' && hdr.status >= 400 && hdr.status < 500, String(hdr.status));
  const neg = await a('GET', '/v1/users/alice/memories?limit=-1');
  check('negative limit is a 422', neg.status === 422, neg.text);
  const nothing = await a('GET', '/v1/users/alice/memories?status=active,archived');
  check('bad input stored nothing', nothing.json?.total === countBefore && countBefore > 0, nothing.text.slice(0, 200));
  const h = await req('GET', '/healthz');
  const r = await req('GET', '/readyz');
  check('server healthy after bad input', h.status === 200 && r.status === 200);
}

// ---- keep-alive: two requests on one connection ---------------------------------------------
{
  const get = `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`;
  const body = JSON.stringify({ text: 'kept alive' });
  const post = `POST /v1/users/ka/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.A}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const r = await rawKeepAlive(srv.port, [get, post, get]);
  check('keep-alive: three requests answered on one connection',
    !r.closedEarly && r.statuses.length === 3 && r.statuses[0].status === 200 && r.statuses[1].status === 201 &&
    r.statuses.every((s) => !s.close), JSON.stringify(r));
}

// ---- concurrency: mixed adds and searches, then every acknowledged add is there ------------
{
  const users = ['c0', 'c1', 'c2', 'c3'];
  const acked = Object.fromEntries(users.map((u) => [u, new Set()]));
  let errors = 0;
  const worker = async (w) => {
    for (let i = 0; i < 40; i++) {
      const u = users[(w + i) % users.length];
      if (i % 3 === 2) {
        const s = await req('GET', `/v1/users/${u}/memories?query=token${w}x${i - 1}&k=5`, { key: keys.A });
        if (s.status !== 200 && s.status !== 404) errors++;
        continue;
      }
      const r = await req('POST', `/v1/users/${u}/messages`, { key: keys.A, body: { text: `note token${w}x${i} from worker ${w}` } });
      if (r.status === 201) acked[u].add(r.json.ids[0]);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  let missing = 0;
  let countsOk = true;
  for (const u of users) {
    const seen = new Set();
    let after = 0;
    for (;;) {
      const r = await req('GET', `/v1/users/${u}/memories?limit=100${after ? `&after=${after}` : ''}`, { key: keys.A });
      for (const m of r.json.memories) seen.add(m.id);
      if (r.json.total !== acked[u].size) countsOk = false;
      if (!r.json.next_after) break;
      after = r.json.next_after;
    }
    for (const id of acked[u]) if (!seen.has(id)) missing++;
  }
  const total = users.reduce((n, u) => n + acked[u].size, 0);
  check(`concurrency: 8 clients, ${total} acknowledged adds all found, counts match`, errors === 0 && missing === 0 && countsOk && total > 0,
    `errors ${errors}, missing ${missing}, counts ok ${countsOk}`);
  const s = await req('GET', '/v1/users/c1/memories?query=token1x0&k=3', { key: keys.A });
  check('concurrency: a search finds an added token', s.status === 200 && s.text.includes('token1x0'), s.text.slice(0, 200));
}

// ---- access log and metrics ------------------------------------------------------------
{
  const m = await req('GET', '/metrics');
  check('metrics count requests by route and status', /mnemo_http_requests_total\{route="listMemories",status="200"\} [1-9]/.test(m.text) &&
    /mnemo_http_requests_total\{route="none",status="404"\}/.test(m.text));
  const mem = Number((m.text.match(/^mnemo_memories (\d+)/m) || [])[1]);
  check('metrics report memories stored', mem > 50, String(mem));
  check('access log: one line per request with method, path, status, bytes, duration, request id',
    /info  POST \/v1\/users\/alice\/messages 201 \d+B [\d.]+ms rid=[0-9a-f]{16} tenant=acme/.test(srv.stderr) &&
    /GET \/healthz 200 \d+B [\d.]+ms rid=test-rid-42/.test(srv.stderr), srv.stderr.slice(-500));
}

// ---- graceful stop of an idle server ---------------------------------------------------------
{
  const e = await srv.stop('SIGINT');
  check('SIGINT stops the server with exit code 0', e.code === 0, JSON.stringify(e) + srv.stderr.slice(-300));
  check('shutdown is logged', /stopped cleanly/.test(srv.stderr));
  check('no sanitizer report from the server', !/runtime error|AddressSanitizer|LeakSanitizer|ThreadSanitizer/.test(srv.stderr),
    (srv.stderr.match(/.*(runtime error|Sanitizer).*/) || [''])[0]);
}

// ---- development mode, shutdown under load ----------------------------------------------------
{
  const devDb = path.join(dir, 'dev.db');
  const refused = await runToEnd(['serve', '--port', '0', '--host', '0.0.0.0', '--db', devDb, ...common]);
  check('dev mode refuses a non-loopback address', refused.code === 2 && /refusing to listen on 0\.0\.0\.0/.test(refused.out), refused.out);
  let dev = await startServer(['--db', devDb, ...common]);
  check('dev mode says so at start', /development mode/.test(dev.stderr), dev.stderr);
  const r0 = await request(dev.base, 'POST', '/v1/users/u0/messages', { body: { text: 'dev mode works' } });
  const ready = await request(dev.base, 'GET', '/readyz');
  check('dev mode: no key needed, tenant default', r0.status === 201 && ready.json?.dev_mode === true, r0.text);

  // Load, then SIGTERM in the middle: every acknowledged write must survive the restart.
  const acked = [];
  let stop = false;
  const loader = async (w) => {
    for (let i = 0; !stop && i < 2000; i++) {
      try {
        const r = await request(dev.base, 'POST', `/v1/users/load${w % 3}/messages`, { body: { text: `load ${w} ${i}` } });
        if (r.status === 201) acked.push({ user: `load${w % 3}`, id: r.json.ids[0] });
        else if (r.status !== 503) { stop = true; bad('load request failed', r.text); }
      } catch { break; }
    }
  };
  const loads = Array.from({ length: 6 }, (_, w) => loader(w));
  await new Promise((r) => setTimeout(r, 600));
  const before = acked.length;
  const e = await dev.stop('SIGTERM');
  stop = true;
  await Promise.all(loads);
  check(`SIGTERM under load exits 0 (${before}+ writes acknowledged before it)`, e.code === 0 && before > 0, JSON.stringify(e) + dev.stderr.slice(-400));
  const firstErr = dev.stderr;
  dev = await startServer(['--db', devDb, ...common]);
  let lost = 0;
  const counts = {};
  for (const { user, id } of acked) {
    counts[user] = (counts[user] || 0) + 1;
    const r = await request(dev.base, 'GET', `/v1/users/${user}/memories/${id}`);
    if (r.status !== 200) lost++;
  }
  let countsOk = true;
  for (const [u, n] of Object.entries(counts)) {
    const l = await request(dev.base, 'GET', `/v1/users/${u}/memories?limit=1`);
    if (!(l.json?.total >= n)) countsOk = false;
  }
  check(`graceful shutdown lost none of ${acked.length} acknowledged writes`, lost === 0 && countsOk && acked.length > 0, `lost ${lost}`);

  // A key created while the server runs ends development mode without a restart.
  keyCreate(devDb, 'late');
  await new Promise((r) => setTimeout(r, 1300));
  const after = await request(dev.base, 'GET', '/v1/users');
  check('creating a key ends development mode within seconds', after.status === 401, after.text);
  await dev.stop();
  check('no sanitizer report from the server under load', !/runtime error|Sanitizer/.test(firstErr + dev.stderr),
    ((firstErr + dev.stderr).match(/.*(runtime error|Sanitizer).*/) || [''])[0]);
}

// ---- rate limit ------------------------------------------------------------------------
{
  const rl = await startServer(['--db', db, ...common, '--rate-limit', '1', '--rate-burst', '2']);
  const codes = [];
  let retry = null;
  for (let i = 0; i < 4; i++) {
    const r = await request(rl.base, 'GET', '/v1/users', { key: keys.A });
    codes.push(r.status);
    if (r.status === 429) retry = r.headers.get('retry-after');
  }
  const other = await request(rl.base, 'GET', '/v1/users', { key: keys.B });
  check('rate limit: a key over its burst gets 429 with Retry-After, other keys do not',
    codes[0] === 200 && codes[1] === 200 && codes.includes(429) && Number(retry) >= 1 && other.status === 200, codes.join(','));
  await rl.stop();
}

// ---- configuration ---------------------------------------------------------------------
{
  const help = await runToEnd(['serve', '--help']);
  check('serve --help is generated from the settings table', help.code === 0 && /--max-body SIZE/.test(help.out) && /MNEMO_MAX_BODY/.test(help.out), help.out.slice(0, 300));
  const badFlag = await runToEnd(['serve', '--max-k', '0']);
  check('a bad setting is refused with its range', badFlag.code === 2 && /max-k must be an integer from 1 to 1000/.test(badFlag.out), badFlag.out);
  const cfgFile = path.join(dir, 'mnemo.conf');
  fs.writeFileSync(cfgFile, '# test\nmax-k = 7\n');
  const c = await startServer(['--db', db, ...common, '--config', cfgFile]);
  const r = await request(c.base, 'GET', '/v1/users/alice/memories?query=x&k=8', { key: keys.A });
  check('config file settings apply', r.status === 422 && /1\.\.7/.test(r.text), r.text);
  await c.stop();
}

// ---- docs generated from the tables are current ------------------------------------------------
{
  const section = (file, name) => {
    const t = fs.readFileSync(path.join(top, file), 'utf8');
    const m = t.match(new RegExp(`<!-- BEGIN ${name} -->\\n([\\s\\S]*?)<!-- END ${name} -->`));
    return m ? m[1] : null;
  };
  const routes = cli(['routes', '--markdown']);
  check('docs/API.md route list matches the route table (scripts/gen-docs)', section('docs/API.md', 'ROUTES') === routes, 'run sh scripts/gen-docs');
  const conf = cli(['routes', '--config-markdown']);
  check('docs/CONFIG.md matches the settings table (scripts/gen-docs)', section('docs/CONFIG.md', 'SETTINGS') === conf, 'run sh scripts/gen-docs');
}

fs.rmSync(dir, { recursive: true, force: true });
process.exit(summary() ? 0 : 1);
