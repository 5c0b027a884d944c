// run.mjs - the providers suite: real `mnemo serve` processes with a remote embedder pointed
// at the local stub (tests/stub/provider.mjs). Adds never wait on the provider; memories are
// keyword-searchable at once and vector-searchable once the background embedder stored their
// vectors; failures (500, 429 with Retry-After, malformed JSON, wrong dimension, a slow or
// dead provider) end in a retry or a clear error and lose nothing; pending work resumes after
// a restart and after a model change; Cohere gets search_document / search_query; a tenant
// can have its own embedder. Ends with "providers: N passed, N failed".
import fs from 'node:fs';
import path from 'node:path';
import { startServer, request, tmpdir, cli } from '../http/lib.mjs';
import { startStub } from '../stub/provider.mjs';

let pass = 0;
let fail = 0;
function check(name, cond, detail) {
  if (cond) { pass++; console.log(`ok   ${name}`); return; }
  fail++;
  console.log(`FAIL ${name}`);
  if (detail !== undefined) console.log('     ' + String(typeof detail === 'function' ? detail() : detail).slice(0, 2000).split('\n').join('\n     '));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value or ms pass; returns the last value.
async function until(fn, ms = 10000, step = 100) {
  const t0 = Date.now();
  let v;
  while (Date.now() - t0 < ms) {
    v = await fn();
    if (v) return v;
    await sleep(step);
  }
  return v;
}

const stub = await startStub();
const dir = tmpdir();
const DIM = 32;
const servers = [];

function serveArgs(db, extra = []) {
  return ['--db', db, '--embedder', 'openai', '--embed-url', stub.base + '/v1', '--embed-model',
    'stub-small', '--embed-dim', String(DIM), '--embed-key', 'sk-test-123', '--embed-attempts', '3',
    '--embed-timeout-ms', '1500', '--log-level', 'debug', '--access-log=false', ...extra];
}
async function serve(args) {
  const s = await startServer(args);
  servers.push(s);
  return s;
}
async function add(s, user, texts, key) {
  const body = texts.length === 1 ? { text: texts[0] } : { messages: texts.map((t) => ({ text: t })) };
  return request(s.base, 'POST', `/v1/users/${user}/messages`, { body, key });
}
async function get(s, user, id, key) {
  return (await request(s.base, 'GET', `/v1/users/${user}/memories/${id}`, { key })).json;
}
async function search(s, user, q, mode, key) {
  return (await request(s.base, 'GET', `/v1/users/${user}/memories?query=${encodeURIComponent(q)}&k=5&mode=${mode}`, { key })).json;
}
async function allEmbedded(s, user, ids, key, ms = 15000) {
  return until(async () => {
    for (const id of ids) {
      const m = await get(s, user, id, key);
      if (!m || m.embedding_pending !== false) return false;
    }
    return true;
  }, ms);
}

try {
  // ---- 1. the happy path: batched, authenticated, pending then embedded --------------------
  const db1 = path.join(dir, 'p1.db');
  let s = await serve(serveArgs(db1));
  await stub.control({ reset: true, dim: DIM, mode: 'slow', delayMs: 1500, times: -1 });
  let t0 = Date.now();
  let r = await add(s, 'alice', ['I adopted a border collie named Rex', 'We hiked the Alps in June', 'My sister lives in Oslo']);
  const addMs = Date.now() - t0;
  check('add with a slow provider answers at once (201)', r.status === 201 && addMs < 1000, `${r.status} in ${addMs} ms`);
  const ids = r.json.ids;
  let m = await get(s, 'alice', ids[0]);
  check('a fresh memory is pending while the provider works', m && m.embedding_pending === true, JSON.stringify(m));
  let sr = await search(s, 'alice', 'border collie', 'keyword');
  check('a pending memory is keyword-searchable at once', sr && sr.memories && sr.memories.length >= 1 && /collie/.test(sr.memories[0].text), JSON.stringify(sr));
  await stub.control({ mode: 'ok' });
  check('pending memories get embedded in the background', await allEmbedded(s, 'alice', ids));
  sr = await search(s, 'alice', 'collie Rex', 'vector');
  check('then vector search finds them', sr && sr.mode === 'vector' && sr.memories.length && /collie/.test(sr.memories[0].text) && sr.memories[0].score_vector > 0.3, JSON.stringify(sr));
  let st = await stub.stats();
  check('the three messages went in one request', st.batch_sizes.includes(3), JSON.stringify(st.batch_sizes));
  check('the key is sent as a Bearer token', st.auth.includes('Bearer sk-test-123'), JSON.stringify(st.auth.slice(-3)));
  check('the configured model is asked for', st.models.includes('stub-small'), JSON.stringify(st.models));

  // ---- 2. failures: each ends in a retry or a clear error, nothing is lost ------------------
  await stub.control({ reset: true, dim: DIM, mode: 'fail500', times: 2 });
  r = await add(s, 'bob', ['The garage door code is 2468']);
  check('add while the provider fails with 500 is stored (201)', r.status === 201);
  check('a 500 is retried (backoff) and the memory gets embedded', await allEmbedded(s, 'bob', r.json.ids));
  st = await stub.stats();
  check('the stub saw the 500s before the success', (st.by_status['500'] || 0) >= 2 && (st.by_status['200'] || 0) >= 1, JSON.stringify(st.by_status));

  await stub.control({ reset: true, dim: DIM, mode: 'rate429', times: 1, retryAfter: '1' });
  t0 = Date.now();
  r = await add(s, 'bob', ['Dinner with the Nakamuras on Friday']);
  check('429 with Retry-After: embedded after waiting', await allEmbedded(s, 'bob', r.json.ids));
  const waited = Date.now() - t0;
  st = await stub.stats();
  check('Retry-After: 1 is honoured (>= ~1 s before the retry)', st.by_status['429'] === 1 && waited >= 900, `${JSON.stringify(st.by_status)} after ${waited} ms`);

  for (const [mode, word] of [['malformed', 'not JSON'], ['wrongdim', 'dimensions, expected 32']]) {
    await stub.control({ reset: true, dim: DIM, mode, times: 1 });
    r = await add(s, 'carol', [`a note stored during ${mode}`]);
    check(`${mode}: the add is stored (201)`, r.status === 201);
    check(`${mode}: embedded once the provider answers well`, await allEmbedded(s, 'carol', r.json.ids));
    check(`${mode}: the log names the problem`, s.stderr.includes(word), s.stderr.slice(-800));
  }
  const metrics = (await request(s.base, 'GET', '/metrics')).text;
  const mv = (name) => Number((new RegExp(`^${name} (\\d+)`, 'm').exec(metrics) || [])[1]);
  check('metrics count background vectors and failed batches', mv('mnemo_embed_background_total') >= 6 && mv('mnemo_embed_failures_total') >= 2, metrics.split('\n').filter((l) => /embed/.test(l)).join('\n'));
  // the same problems seen directly: /v1/embeddings serves the configured embedder
  await stub.control({ reset: true, dim: DIM, mode: 'wrongdim', times: -1 });
  r = await request(s.base, 'POST', '/v1/embeddings', { body: { input: 'hello' } });
  check('wrong dimension: a clear 502 error, no vector', r.status === 502 && /35 dimensions, expected 32/.test(r.json.error.message), r.text);
  await stub.control({ reset: true, dim: DIM, mode: 'malformed', times: -1 });
  r = await request(s.base, 'POST', '/v1/embeddings', { body: { input: 'hello' } });
  check('malformed JSON: a clear 502 error', r.status === 502 && /not JSON/.test(r.json.error.message), r.text);
  await stub.control({ reset: true, dim: DIM, mode: 'fail500', times: -1 });
  r = await request(s.base, 'POST', '/v1/embeddings', { body: { input: 'hello' } });
  check('persistent 500: 502 after the retries', r.status === 502 && /HTTP 500/.test(r.json.error.message), r.text);

  // a search never waits long on a slow provider: keyword results with a note
  await stub.control({ reset: true, dim: DIM, mode: 'slow', delayMs: 6000, times: -1 });
  t0 = Date.now();
  sr = await search(s, 'alice', 'sister Oslo', 'hybrid');
  const searchMs = Date.now() - t0;
  check('search with a slow provider falls back to keywords', sr && sr.mode === 'keyword' && sr.memories.length && /Oslo/.test(sr.memories[0].text) && /provider/.test(sr.note), JSON.stringify(sr));
  check('... within the query time limit', searchMs < 5000, `${searchMs} ms`);

  // ---- 3. pending work survives a restart --------------------------------------------------
  await stub.control({ reset: true, dim: DIM, mode: 'fail500', times: -1 });
  r = await add(s, 'dave', ['Allergic to penicillin', 'Flies to Lisbon on the 3rd', 'Plays the cello']);
  const daveIds = r.json.ids;
  await sleep(300);
  m = await get(s, 'dave', daveIds[0]);
  check('while the provider is down the memories stay pending', m.embedding_pending === true);
  await s.stop();
  await stub.control({ reset: true, dim: DIM, mode: 'ok' });
  s = await serve(serveArgs(db1));
  check('after a restart the pending memories are embedded', await allEmbedded(s, 'dave', daveIds));
  const list = (await request(s.base, 'GET', '/v1/users/dave/memories?limit=10')).json;
  check('no message lost', list.total === 3, JSON.stringify(list));

  // ---- 4. a model change re-embeds in the background, search keeps working -----------------
  await s.stop();
  await stub.control({ reset: true, dim: DIM, mode: 'slow', delayMs: 800 });
  s = await serve(serveArgs(db1).map((a) => (a === 'stub-small' ? 'stub-large' : a)));
  m = await get(s, 'alice', ids[0]);
  check('after a model change old vectors count as pending', m.embedding_pending === true, JSON.stringify(m));
  sr = await search(s, 'alice', 'border collie', 'keyword');
  check('keyword search works meanwhile', sr.memories.length && /collie/.test(sr.memories[0].text));
  await stub.control({ mode: 'ok' });
  check('everything is re-embedded with the new model', await allEmbedded(s, 'alice', ids) && await allEmbedded(s, 'dave', daveIds));
  st = await stub.stats();
  check('the new model was asked for', st.models.includes('stub-large') && !st.models.includes('stub-small'), JSON.stringify(st.models));
  await s.stop();

  // ---- 5. Cohere: documents and queries apart ----------------------------------------------
  await stub.control({ reset: true, dim: DIM });
  const db2 = path.join(dir, 'p2.db');
  s = await serve(['--db', db2, '--embedder', 'cohere', '--embed-url', stub.base, '--embed-model', 'embed-v4.0', '--embed-dim', String(DIM), '--access-log=false']);
  r = await add(s, 'erin', ['The boat is moored in Porto', 'Erin prefers window seats']);
  check('cohere: memories embedded', await allEmbedded(s, 'erin', r.json.ids));
  sr = await search(s, 'erin', 'where is the boat moored', 'vector');
  st = await stub.stats();
  check('cohere: memories as search_document, the question as search_query', st.input_types.includes('search_document') && st.input_types.includes('search_query'), JSON.stringify(st.input_types));
  check('cohere: vector search finds the memory', sr.memories.length && /Porto/.test(sr.memories[0].text), JSON.stringify(sr));
  await s.stop();

  // ---- 6. a tenant with its own embedder ---------------------------------------------------
  await stub.control({ reset: true, dim: DIM });
  const db3 = path.join(dir, 'p3.db');
  const keyA = cli(['keys', 'create', '--db', db3, '--tenant', 'acme']).match(/mn_[A-Za-z0-9_-]{43}/)[0];
  const keyB = cli(['keys', 'create', '--db', db3, '--tenant', 'globex']).match(/mn_[A-Za-z0-9_-]{43}/)[0];
  const tfile = path.join(dir, 'tenants.json');
  fs.writeFileSync(tfile, JSON.stringify({ acme: { embedder: 'cohere', url: stub.base, model: 'acme-embed', dim: 16, send_dim: true, api_key_env: 'ACME_COHERE_KEY' } }));
  process.env.ACME_COHERE_KEY = 'co-acme-key';
  s = await serve(['--db', db3, '--embedder', 'mock', '--embed-tenants', tfile, '--access-log=false']);
  r = await add(s, 'u1', ['acme stores its vectors at cohere'], keyA);
  check('tenant embedder: acme memory embedded by its own provider', await allEmbedded(s, 'u1', r.json.ids, keyA));
  st = await stub.stats();
  check('tenant embedder: its model, dimension and key are used', st.models.includes('acme-embed') && st.last_body.output_dimension === 16 && st.auth.includes('Bearer co-acme-key'), JSON.stringify({ m: st.models, a: st.auth, b: st.last_body }));
  const before = st.requests;
  r = await add(s, 'u1', ['globex uses the default embedder'], keyB);
  m = await get(s, 'u1', r.json.ids[0], keyB);
  check('tenant embedder: another tenant embeds locally at once', m.embedding_pending === false && (await stub.stats()).requests === before, JSON.stringify(m));
  sr = await search(s, 'u1', 'vectors cohere', 'vector', keyA);
  check('tenant embedder: vector search in acme', sr.mode === 'vector' && sr.memories.length === 1, JSON.stringify(sr));
  await s.stop();

  // ---- 7. bad settings are refused at start with a clear message ---------------------------
  const bad = await startServer(['--db', path.join(dir, 'p4.db'), '--embedder', 'openai', '--embed-model', 'x']).then(() => null, (e) => e.message);
  check('a remote embedder without a dimension does not start', bad && /dimension/.test(bad), bad);
} catch (e) {
  check('suite ran to the end', false, e.stack);
} finally {
  for (const s of servers) if (!s.exited) await s.stop('SIGKILL');
  await stub.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`providers: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
