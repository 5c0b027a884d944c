// run.mjs - the compaction suite, against real `mnemo serve` processes: a LoCoMo dev
// conversation (read from ../shared/data) compressed with the offline summarizer (active
// memories drop at least 5x, summaries cite their sources and time span, archived messages
// are found with the flag, a second run adds nothing, `mnemo compact` on the same file);
// summaries by an LLM (the local stub), whose malformed replies are errors and never
// summaries; the automatic trigger; preferences and facts superseding older ones, by rules
// and by the LLM. Ends with "compact: N passed, N failed".
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { startServer, request, tmpdir, top, BIN } from '../http/lib.mjs';
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
async function until(fn, ms = 10000, step = 100) {
  const t0 = Date.now();
  let v;
  while (Date.now() - t0 < ms) { v = await fn(); if (v) return v; await sleep(step); }
  return v;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
// "1:56 pm on 8 May, 2023" -> ISO time
function locomoDate(s) {
  const m = /(\d+):(\d+)\s*(am|pm) on (\d+) (\w+),? (\d{4})/i.exec(s);
  if (!m) throw new Error('bad LoCoMo date ' + s);
  let h = Number(m[1]) % 12;
  if (m[3].toLowerCase() === 'pm') h += 12;
  return new Date(Date.UTC(Number(m[6]), MONTHS.indexOf(m[5]), Number(m[4]), h, Number(m[2]))).toISOString();
}

// The sessions of the first LoCoMo dev conversation as message batches.
function loadConversation() {
  const file = path.join(process.env.MNEMO_DATA || path.join(top, '..', 'shared', 'data'), 'locomo_dev.json.gz');
  const data = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8'));
  const conv = data[0].conversation;
  const sessions = [];
  for (let n = 1; conv[`session_${n}`]; n++) {
    const at = locomoDate(conv[`session_${n}_date_time`]);
    sessions.push(conv[`session_${n}`].map((t) => ({
      text: t.text, role: t.speaker === conv.speaker_a ? 'user' : 'assistant',
      session_id: `session_${n}`, created_at: at, metadata: { speaker: t.speaker, dia_id: t.dia_id },
    })));
  }
  return { id: data[0].sample_id, sessions };
}

const dir = tmpdir();
const stub = await startStub();
const servers = [];
async function serve(args) { const s = await startServer(args); servers.push(s); return s; }
const common = ['--embedder', 'builtin', '--access-log=false'];

async function total(s, user, q = '') {
  return (await request(s.base, 'GET', `/v1/users/${user}/memories?limit=1${q}`)).json.total;
}

try {
  // ---- 1. a LoCoMo conversation, offline summarizer ----------------------------------------
  const conv = loadConversation();
  const db1 = path.join(dir, 'c1.db');
  let s = await serve(['--db', db1, ...common]);
  let n = 0;
  for (const batch of conv.sessions) {
    const r = await request(s.base, 'POST', '/v1/users/conv/messages', { body: { messages: batch } });
    if (r.status !== 201) throw new Error('add failed: ' + r.text);
    n += batch.length;
  }
  check(`stored the ${n} turns of ${conv.id}`, (await total(s, 'conv')) === n);
  let r = await request(s.base, 'POST', '/v1/users/conv/compact', { body: {} });
  const c1 = r.json;
  check('compaction answers with its counts', r.status === 200 && c1.active_before === n && c1.summaries > 0 && c1.method === 'extractive', r.text);
  check(`active memories drop at least 5x (${c1.active_before} -> ${c1.active_after})`, c1.active_after * 5 <= c1.active_before, r.text);
  check('the count matches a listing', (await total(s, 'conv')) === c1.active_after);
  const sums = (await request(s.base, 'GET', '/v1/users/conv/memories?kind=summary&limit=100')).json.memories;
  const ok = sums.every((m) => m.sources.length >= 2 && m.metadata.first_at && m.metadata.last_at && m.metadata.cluster && m.text.length > 20);
  check('every summary cites its sources and its time span', sums.length === c1.summaries && ok, JSON.stringify(sums[0]));
  const one = (await request(s.base, 'GET', `/v1/users/conv/memories/${sums[0].sources[0]}`)).json;
  check('a source is archived, not deleted', one.status === 'archived' && one.history.length === 1 && one.history[0].status === 'active', JSON.stringify(one));
  const all = (await request(s.base, 'GET', '/v1/users/conv/memories?status=active,archived&limit=1')).json.total;
  check('nothing is deleted', all === n + c1.summaries, `${all} vs ${n} + ${c1.summaries}`);
  // a detail said in an archived message: the default search gives its summary, the flag the message
  const probe = conv.sessions[1][3];
  const q = encodeURIComponent(probe.text.split(' ').slice(0, 12).join(' '));
  let sr = (await request(s.base, 'GET', `/v1/users/conv/memories?query=${q}&k=3`)).json;
  check('the default search finds the summary standing in for an archived message', sr.memories.length && sr.memories[0].kind === 'summary' && sr.memories[0].status === 'active', JSON.stringify(sr.memories[0]));
  sr = (await request(s.base, 'GET', `/v1/users/conv/memories?query=${q}&k=3&status=archived`)).json;
  check('with status=archived the message itself is found', sr.memories.some((m) => m.text === probe.text && m.status === 'archived'), JSON.stringify(sr.memories.map((m) => m.text)));
  r = await request(s.base, 'POST', '/v1/users/conv/compact', { body: {} });
  check('a second run adds nothing', r.status === 200 && r.json.summaries === 0 && r.json.archived === 0 && r.json.active_after === c1.active_after, r.text);
  await s.stop();
  // the CLI on the same file: nothing more to do
  const out = execFileSync(BIN, ['compact', '--db', db1, '--user', 'conv', '--json', '--embedder', 'builtin'], { encoding: 'utf8' });
  const cj = JSON.parse(out);
  check('mnemo compact on the same file is a no-op too', cj.summaries === 0 && cj.archived === 0 && cj.active_before === c1.active_after, out);
  const dry = execFileSync(BIN, ['compact', '--db', db1, '--user', 'conv', '--keep-recent', '-1', '--dry-run'], { encoding: 'utf8' });
  check('mnemo compact --dry-run says what it would do', /would compact user 'conv': \d+ summaries/.test(dry), dry);

  // ---- 2. summaries by the LLM (stub); malformed replies are errors ------------------------
  const db2 = path.join(dir, 'c2.db');
  s = await serve(['--db', db2, ...common, '--llm-url', stub.base + '/v1', '--llm-model', 'stub-chat', '--llm-timeout-ms', '3000']);
  const small = conv.sessions[0].slice(0, 12).map((m) => ({ ...m, session_id: 's1' }));
  await request(s.base, 'POST', '/v1/users/llm/messages', { body: { messages: small } });
  await stub.control({ reset: true, mode: 'notjson', times: -1 });
  r = await request(s.base, 'POST', '/v1/users/llm/compact', { body: { keep_recent: -1, min_cluster: 4 } });
  check('an LLM reply that is not JSON: 502 with a clear message', r.status === 502 && /not a JSON object/.test(r.json.error.message), r.text);
  check('... and no summary is stored, nothing archived', (await total(s, 'llm', '&kind=summary')) === 0 && (await total(s, 'llm')) === 12);
  await stub.control({ reset: true, mode: 'schema', times: -1 });
  r = await request(s.base, 'POST', '/v1/users/llm/compact', { body: { keep_recent: -1, min_cluster: 4 } });
  check('an LLM reply off the schema: 502 naming the field', r.status === 502 && /summary/.test(r.json.error.message), r.text);
  check('... and still no summary', (await total(s, 'llm', '&kind=summary')) === 0);
  await stub.control({ reset: true, mode: 'ok', llmSummary: 'Caroline and Melanie caught up about a support group and painting.' });
  r = await request(s.base, 'POST', '/v1/users/llm/compact', { body: { keep_recent: -1, min_cluster: 4 } });
  const st = await stub.stats();
  check('with a good reply the LLM writes the summaries', r.status === 200 && r.json.method === 'llm' && r.json.summaries >= 1 && st.chat_requests >= 1, r.text);
  const ls = (await request(s.base, 'GET', '/v1/users/llm/memories?kind=summary')).json.memories;
  check('the LLM summary is stored with its date span and method', ls.length >= 1 && /support group/.test(ls[0].text) && /^\d+ \w+ \d{4}/.test(ls[0].text) && /^llm:stub-chat$/.test(ls[0].metadata.method), JSON.stringify(ls[0]));
  check('the request asked for a strict JSON schema', st.last_body.response_format.type === 'json_schema' && st.last_body.response_format.json_schema.strict === true, JSON.stringify(st.last_body.response_format));
  r = await request(s.base, 'POST', '/v1/users/llm/compact', { body: { offline: true, keep_recent: -1 } });
  check('offline forces the extractive summarizer', r.status === 200 && r.json.method === 'extractive', r.text);
  await s.stop();

  // ---- 3. the automatic trigger -------------------------------------------------------------
  const db3 = path.join(dir, 'c3.db');
  s = await serve(['--db', db3, ...common, '--compact-threshold', '60']);
  for (const batch of conv.sessions.slice(0, 4))
    await request(s.base, 'POST', '/v1/users/auto/messages', { body: { messages: batch } });
  const before = await total(s, 'auto');
  await request(s.base, 'GET', '/v1/users/auto/memories?query=painting'); // loads the partition
  await request(s.base, 'POST', '/v1/users/auto/messages', { body: { text: 'one more message', session_id: 'session_9' } });
  const after = await until(async () => { const t = await total(s, 'auto'); return t < before ? t : 0; }, 10000);
  check(`over the threshold a background compaction runs (${before + 1} -> ${after})`, after && after < before, s.stderr.slice(-500));
  await s.stop();

  // ---- 4. preferences and facts: the newer supersedes the older -----------------------------
  const db4 = path.join(dir, 'c4.db');
  s = await serve(['--db', db4, ...common, '--extract', 'rules']);
  const add = (text) => request(s.base, 'POST', '/v1/users/eve/messages', { body: { text, role: 'user' } });
  const pm = (await add('I live in Paris and I love croissants')).json.ids[0];
  await add('What a week it has been.');
  const bm = (await add('I moved to Berlin last month!')).json.ids[0];
  let facts = (await request(s.base, 'GET', '/v1/users/eve/memories?kind=fact,preference')).json.memories;
  const loc = facts.filter((m) => m.metadata && m.metadata.subject === 'location');
  check('the current location fact is Berlin', loc.length === 1 && loc[0].text === 'User lives in Berlin' && loc[0].sources[0] === bm, JSON.stringify(facts));
  check('the preference from the same message is kept', facts.some((m) => m.kind === 'preference' && m.text === 'User loves croissants' && m.sources[0] === pm));
  const old = (await request(s.base, 'GET', '/v1/users/eve/memories?kind=fact&status=superseded')).json.memories;
  check('Paris is superseded by Berlin', old.length === 1 && old[0].text === 'User lives in Paris' && old[0].superseded_by === loc[0].id, JSON.stringify(old));
  const g = (await request(s.base, 'GET', `/v1/users/eve/memories/${old[0].id}`)).json;
  check('GET shows the supersession and the history', g.status === 'superseded' && g.superseded_by === loc[0].id && g.history.length === 1 && g.history[0].status === 'active', JSON.stringify(g));
  await s.stop();

  // ---- 5. extraction by the LLM, in the background ------------------------------------------
  const db5 = path.join(dir, 'c5.db');
  await stub.control({ reset: true, mode: 'ok', llmItems: [{ kind: 'preference', subject: 'taste:jazz', text: 'Eve enjoys late-night jazz' }] });
  s = await serve(['--db', db5, ...common, '--extract', 'llm', '--llm-url', stub.base + '/v1', '--llm-model', 'stub-chat']);
  r = await request(s.base, 'POST', '/v1/users/eve/messages', { body: { text: 'Went to that little club again, the trio was amazing', role: 'user' } });
  const llmFact = await until(async () => {
    const m = (await request(s.base, 'GET', '/v1/users/eve/memories?kind=preference')).json.memories;
    return m.length ? m[0] : null;
  });
  check('the LLM finds a preference the rules cannot', llmFact && llmFact.text === 'Eve enjoys late-night jazz' && llmFact.metadata.extracted_by === 'llm:stub-chat' && llmFact.sources[0] === r.json.ids[0], JSON.stringify(llmFact));
  await stub.control({ mode: 'schema', times: -1 });
  await request(s.base, 'POST', '/v1/users/eve/messages', { body: { text: 'I hate jazz.', role: 'user' } });
  await sleep(500);
  const prefs = (await request(s.base, 'GET', '/v1/users/eve/memories?kind=preference&status=active,superseded')).json.memories;
  check('a malformed LLM reply stores nothing; the rules still did their part', prefs.length === 2 && prefs.some((m) => m.text === 'User hates jazz' && m.status === 'active') && s.stderr.includes('LLM extraction'), JSON.stringify(prefs) + s.stderr.slice(-300));
  await s.stop();
} catch (e) {
  check('suite ran to the end', false, e.stack);
} finally {
  for (const s of servers) if (!s.exited) await s.stop('SIGKILL');
  await stub.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`compact: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
