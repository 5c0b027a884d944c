// run.mjs - the proxy suite: the official `openai` client (pinned in tests/package.json)
// pointed at a real `mnemo serve`, whose upstream is a local stub that records what it
// receives (stub.mjs). Memory injected for the right user only, the exchange stored, streams
// relayed chunk by chunk, upstream errors passed through, /v1/models, auth to the upstream,
// a client leaving mid-stream, and a shutdown with a stream in flight.
// Last line: "proxy: N passed, N failed".
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { startServer, request, tmpdir, cli } from '../http/lib.mjs';
import { startStub } from './stub.mjs';

let pass = 0;
let fail = 0;
function check(name, cond, detail) {
  if (cond) { pass++; console.log(`ok   ${name}`); return; }
  fail++;
  console.log(`FAIL ${name}`);
  if (detail !== undefined) console.log(String(typeof detail === 'function' ? detail() : detail).split('\n').map((l) => '     ' + l).join('\n'));
}
function done() {
  console.log(`proxy: ${pass} passed, ${fail} failed`);
  process.exit(fail === 0 ? 0 : 1);
}
process.on('uncaughtException', (e) => { check('the suite itself', false, e.stack); done(); });
process.on('unhandledRejection', (e) => { check('the suite itself', false, e && e.stack); done(); });

const withTimeout = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms))]);
const sysOf = (rec) => (rec.body.messages || []).filter((m) => m.role === 'system').map((m) => m.content).join('\n---\n');

const dir = tmpdir();
const db = path.join(dir, 'proxy.db');
const stub = await startStub();
const UPKEY = 'sk-upstream-test-0123456789';
const A = JSON.parse(cli(['keys', 'create', '--tenant', 'acme', '--db', db, '--json']));
const B = JSON.parse(cli(['keys', 'create', '--tenant', 'globex', '--db', db, '--json']));
process.env.MNEMO_UPSTREAM_KEY = UPKEY; // the documented way: a key never on the command line
const srv = await startServer(['--db', db, '--upstream-url', stub.url, '--shutdown-timeout', '2']);
delete process.env.MNEMO_UPSTREAM_KEY;
const rest = (m, p, o = {}) => request(srv.base, m, p, { key: A.key, ...o });
const servers = { main: srv };

// Memories of two users of tenant acme, and one of the same user id in tenant globex.
await rest('POST', '/v1/users/alice/messages', { body: { messages: [
  { text: 'I am allergic to peanuts', kind: 'fact' },
  { text: 'My dog is called Rex and he loves long walks' },
] } });
await rest('POST', '/v1/users/bob/messages', { body: { text: 'Bob is allergic to peanuts too and the vault code is 4711' } });
await request(srv.base, 'POST', '/v1/users/alice/messages', { key: B.key, body: { text: 'globex alice eats peanuts daily, codeword zebra' } });

const client = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: A.key, maxRetries: 0, timeout: 20000 });

// ---- non-streaming ---------------------------------------------------------------------------
{
  const question = 'Which foods with peanuts should I avoid?';
  const { data, response } = await client.chat.completions.create({
    model: 'stub-model', user: 'alice',
    messages: [{ role: 'system', content: 'You are a helpful cook.' }, { role: 'user', content: question }],
  }).withResponse();
  check('non-streaming completion comes back through the openai client', data.choices?.[0]?.message?.content === `Echo: ${question}`, JSON.stringify(data));
  check('the answer says memory was used (X-Mnemo-Memory: on, X-Mnemo-Context-Items)',
    response.headers.get('x-mnemo-memory') === 'on' && Number(response.headers.get('x-mnemo-context-items')) >= 1,
    `${response.headers.get('x-mnemo-memory')} ${response.headers.get('x-mnemo-context-items')}`);
  check('upstream headers are relayed (openai-processing-ms, upstream request id)',
    response.headers.get('openai-processing-ms') === '5' && /^req_chatcmpl-/.test(response.headers.get('x-upstream-request-id') || ''),
    [...response.headers].join('\n'));
  const rec = stub.last();
  const msgs = rec.body.messages;
  check('the app\'s system message stays first, the memory comes right after it',
    msgs.length === 3 && msgs[0].content === 'You are a helpful cook.' && msgs[1].role === 'system' && msgs[2].role === 'user', JSON.stringify(msgs, null, 1));
  check('the stub saw alice\'s memory in the injected context', /allergic to peanuts/.test(msgs[1].content), msgs[1].content);
  check('no memory of another user or tenant was injected', !/4711|vault|zebra|globex/.test(sysOf(rec)), sysOf(rec));
  check('the upstream got the upstream key, never the client\'s mnemo key',
    rec.headers.authorization === `Bearer ${UPKEY}` && !JSON.stringify(rec.headers).includes(A.key), rec.headers.authorization);
  check('other request fields reach the upstream unchanged', rec.body.model === 'stub-model' && rec.body.user === 'alice', JSON.stringify(rec.body));
  const mem = await rest('GET', '/v1/users/alice/memories?limit=10');
  const texts = mem.json.memories.map((m) => `${m.role}:${m.text}`);
  check('the exchange is stored (user message and assistant reply)', texts.includes(`user:${question}`) && texts.includes(`assistant:Echo: ${question}`), texts.join('\n'));
  const stored = mem.json.memories.find((m) => m.text === question);
  check('stored messages say they came through the proxy', stored?.metadata?.via === 'proxy' && stored?.metadata?.model === 'stub-model', JSON.stringify(stored));
}

// ---- nothing relevant remembered: nothing injected -------------------------------------------
{
  const { response } = await client.chat.completions.create({
    model: 'stub-model', user: 'alice', messages: [{ role: 'user', content: 'What is the boiling point of water in Kelvin?' }],
  }).withResponse();
  const rec = stub.last();
  check('a question unrelated to anything remembered gets no injected message (relevance threshold)',
    rec.body.messages.length === 1 && response.headers.get('x-mnemo-context-items') === '0', JSON.stringify(rec.body.messages));
}

// ---- the user from the X-Mnemo-User header; a content array ----------------------------------
{
  const { data, response } = await client.chat.completions.create({
    model: 'stub-model',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Tell me about my dog' }] }],
  }, { headers: { 'X-Mnemo-User': 'alice', 'X-Mnemo-Session': 'chat-7' } }).withResponse();
  const rec = stub.last();
  check('X-Mnemo-User names the user; the injected system message goes first when the app has none',
    rec.body.messages[0].role === 'system' && /Rex/.test(rec.body.messages[0].content) && response.headers.get('x-mnemo-memory') === 'on',
    JSON.stringify(rec.body.messages));
  const mem = await rest('GET', '/v1/users/alice/memories?session_id=chat-7');
  check('X-Mnemo-Session becomes the stored messages\' session', mem.json.total === 2 && data.choices[0].message.content === 'Echo: Tell me about my dog', mem.text);
}

// ---- no user: passes through without memory ----------------------------------------------------
{
  const before = (await rest('GET', '/v1/users')).json.total;
  const { data, response } = await client.chat.completions.create({
    model: 'stub-model', messages: [{ role: 'user', content: 'peanuts?' }],
  }).withResponse();
  const rec = stub.last();
  check('without a user the request passes through untouched (X-Mnemo-Memory: off)',
    response.headers.get('x-mnemo-memory') === 'off' && rec.body.messages.length === 1 && data.choices[0].message.content === 'Echo: peanuts?',
    JSON.stringify(rec.body.messages));
  check('without a user nothing is stored', (await rest('GET', '/v1/users')).json.total === before);
}

// ---- tenant isolation: globex's alice sees only globex's memories ------------------------------
{
  const cb = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: B.key, maxRetries: 0 });
  await cb.chat.completions.create({ model: 'stub-model', user: 'alice', messages: [{ role: 'user', content: 'what do I eat with peanuts' }] });
  const s = sysOf(stub.last());
  check('another tenant\'s user of the same id gets only its own memories', /zebra/.test(s) && !/allergic|Rex|4711/.test(s), s);
}

// ---- streaming ---------------------------------------------------------------------------------
{
  const question = 'Is peanut butter safe for me?';
  const stream = await client.chat.completions.create({
    model: 'stub-model', user: 'alice', stream: true, messages: [{ role: 'user', content: question }],
  });
  let text = '';
  let n = 0;
  for await (const ch of stream) { n++; text += ch.choices[0]?.delta?.content || ''; }
  check('streaming completion comes back chunk by chunk through the openai client', text === `Echo: ${question}` && n >= 4, `${n} chunks: ${text}`);
  check('the streamed request got alice\'s memory too', /peanut/i.test(sysOf(stub.last())) && !/4711|zebra/.test(sysOf(stub.last())), sysOf(stub.last()));
  const mem = await rest('GET', '/v1/users/alice/memories?limit=5');
  check('a streamed exchange is stored (reply assembled from the deltas) by the time the stream ends',
    mem.json.memories.some((m) => m.role === 'assistant' && m.text === `Echo: ${question}`) && mem.json.memories.some((m) => m.role === 'user' && m.text === question),
    mem.json.memories.map((m) => `${m.role}:${m.text}`).join('\n'));
}

// ---- chunks arrive before the upstream has finished -------------------------------------------
{
  stub.resetGate();
  const stream = await withTimeout(client.chat.completions.create({
    model: 'gated', user: 'alice', stream: true, messages: [{ role: 'user', content: 'tell me a long story please' }],
  }), 10000, 'stream headers');
  const it = stream[Symbol.asyncIterator]();
  let first = '';
  try {
    // The upstream holds the rest back until we open its gate: a proxy that buffered the
    // stream would never hand us these chunks and the wait below would time out.
    for (let i = 0; i < 2; i++) first += (await withTimeout(it.next(), 10000, 'first chunks')).value.choices[0].delta.content || '';
    check('the first chunks reach the client while the upstream is still holding the rest', first === 'Echo: ', JSON.stringify(first));
  } catch (e) {
    check('the first chunks reach the client while the upstream is still holding the rest', false, e.message);
  }
  stub.openGate();
  let rest2 = '';
  for (let r = await it.next(); !r.done; r = await it.next()) rest2 += r.value.choices[0].delta.content || '';
  check('the rest follows once the upstream sends it', first + rest2 === 'Echo: tell me a long story please', first + rest2);
}

// ---- a client that leaves mid-stream ----------------------------------------------------------
{
  stub.resetGate();
  const closedBefore = stub.closed;
  const ac = new AbortController();
  const stream = await client.chat.completions.create({
    model: 'gated', user: 'carol', stream: true, messages: [{ role: 'user', content: 'a long story that I will not listen to until its very end' }],
  }, { signal: ac.signal });
  const it = stream[Symbol.asyncIterator]();
  await withTimeout(it.next(), 10000, 'first chunk');
  await stub.gateReached;
  ac.abort();
  await new Promise((r) => setTimeout(r, 300));
  stub.openGate(); // the proxy writes the next chunk, finds the client gone and stops the upstream
  let closed = false;
  for (let i = 0; i < 50 && !closed; i++) { await new Promise((r) => setTimeout(r, 100)); closed = stub.closed > closedBefore; }
  check('when the client leaves mid-stream, the proxy drops the upstream request too', closed && !stub.last().finished);
  const h = await request(srv.base, 'GET', '/healthz');
  check('a client leaving mid-stream leaves the server serving', h.status === 200);
  const carol = await rest('GET', '/v1/users/carol/memories');
  check('an exchange the client abandoned is not stored as complete', carol.status === 404 || !carol.json.memories.some((m) => m.role === 'assistant'), carol.text);
}

// ---- upstream errors pass through --------------------------------------------------------------
{
  let err;
  try { await client.chat.completions.create({ model: 'fail-429', user: 'alice', messages: [{ role: 'user', content: 'hi' }] }); } catch (e) { err = e; }
  check('an upstream 429 reaches the client as a RateLimitError with the upstream\'s message',
    err instanceof OpenAI.RateLimitError && err.status === 429 && /Rate limit reached for stub-model/.test(err.message) && err.headers?.get('retry-after') === '7',
    err && `${err.constructor.name} ${err.status} ${err.message}`);
  err = undefined;
  try { await client.chat.completions.create({ model: 'fail-500', user: 'alice', stream: true, messages: [{ role: 'user', content: 'hi' }] }); } catch (e) { err = e; }
  check('an upstream 500 reaches the client as an InternalServerError (streaming request too)',
    err instanceof OpenAI.InternalServerError && err.status === 500 && /stub had an error/.test(err.message),
    err && `${err.constructor.name} ${err.status} ${err.message}`);
  const mem = await rest('GET', '/v1/users/alice/memories?limit=50');
  check('a failed exchange is not stored', !mem.json.memories.some((m) => m.text === 'hi'), mem.text.slice(0, 300));
}

// ---- /v1/models --------------------------------------------------------------------------------
{
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  check('/v1/models passes the upstream\'s list through', ids.join(',') === 'stub-model,gated', ids.join(','));
  check('/v1/models went upstream with the upstream key', stub.last().path === '/v1/models' && stub.last().headers.authorization === `Bearer ${UPKEY}`);
}

// ---- bad requests and auth ---------------------------------------------------------------------
{
  const noKey = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'not-a-mnemo-key', maxRetries: 0 });
  let err;
  try { await noKey.chat.completions.create({ model: 'stub-model', messages: [{ role: 'user', content: 'x' }] }); } catch (e) { err = e; }
  check('with tenants configured, a request without a valid mnemo key is a 401', err instanceof OpenAI.AuthenticationError, err && err.message);
  const n = stub.seen.length;
  const bad = await rest('POST', '/v1/chat/completions', { body: { model: 'stub-model', messages: [] } });
  check('an empty messages array is a 422 naming the field, not sent upstream', bad.status === 422 && /messages/.test(bad.json?.error?.message) && stub.seen.length === n, bad.text);
  const badUser = await rest('POST', '/v1/chat/completions', { body: { model: 'stub-model', user: 'x'.repeat(200), messages: [{ role: 'user', content: 'x' }] } });
  check('an over-long user id is a 422', badUser.status === 422 && stub.seen.length === n, badUser.text);
}

// ---- upstream down, no upstream ----------------------------------------------------------------
{
  const down = await startServer(['--db', path.join(dir, 'down.db'), '--upstream-url', 'http://127.0.0.1:9/v1', '--upstream-connect-timeout', '2']);
  const r = await request(down.base, 'POST', '/v1/chat/completions', { body: { model: 'm', user: 'u', messages: [{ role: 'user', content: 'x' }] } });
  check('an unreachable upstream is a 502 naming it', r.status === 502 && r.json?.error?.code === 'provider_failed' && /127\.0\.0\.1:9/.test(r.json.error.message), r.text);
  await down.stop();
  servers.down = down;
  const slow = await startServer(['--db', path.join(dir, 'slow.db'), '--upstream-url', stub.url, '--upstream-timeout', '1']);
  const r3 = await request(slow.base, 'POST', '/v1/chat/completions', { body: { model: 'hang', user: 'u', messages: [{ role: 'user', content: 'x' }] } });
  check('an upstream that does not answer within --upstream-timeout is a 504', r3.status === 504 && r3.json?.error?.code === 'timeout' && /upstream-timeout/.test(r3.json.error.hint), r3.text);
  await slow.stop();
  servers.slow = slow;
  const none = await startServer(['--db', path.join(dir, 'none.db')]);
  const r2 = await request(none.base, 'POST', '/v1/chat/completions', { body: { model: 'm', messages: [{ role: 'user', content: 'x' }] } });
  check('without --upstream-url the proxy answers 503 with how to configure it', r2.status === 503 && /upstream-url/.test(r2.json?.error?.hint), r2.text);
  await none.stop();
  servers.unconfigured = none;
}

// ---- development mode: the client's own key goes upstream -------------------------------------
{
  const dev = await startServer(['--db', path.join(dir, 'dev.db'), '--upstream-url', stub.url]);
  const own = 'sk-client-own-key-' + 'k'.repeat(3000); // as long as an Azure AD token
  const c = new OpenAI({ baseURL: `${dev.base}/v1`, apiKey: own, maxRetries: 0 });
  await c.chat.completions.create({ model: 'stub-model', messages: [{ role: 'user', content: 'x' }] });
  check('in development mode (no keys, no --upstream-key) the client\'s Authorization goes upstream, long or not', stub.last().headers.authorization === `Bearer ${own}`, (stub.last().headers.authorization || '').slice(0, 80));
  await dev.stop();
  servers.development = dev;
}

// ---- shutdown with a stream in flight ---------------------------------------------------------
{
  stub.resetGate();
  const stream = await client.chat.completions.create({
    model: 'gated', user: 'dave', stream: true, messages: [{ role: 'user', content: 'never finished' }],
  });
  const it = stream[Symbol.asyncIterator]();
  await withTimeout(it.next(), 10000, 'first chunk');
  const exit = await withTimeout(srv.stop('SIGTERM'), 20000, 'server stop');
  check('SIGTERM with a stream in flight: the server stops the stream after --shutdown-timeout and exits cleanly', exit.code === 0, JSON.stringify(exit) + srv.stderr.slice(-500));
  let broke = false;
  try { for (let r = await withTimeout(it.next(), 5000, 'end'); !r.done; r = await withTimeout(it.next(), 5000, 'end')); } catch { broke = true; }
  check('the client sees that stream end with an error, not as complete', broke);
  stub.openGate();
}

// A sanitized build (MNEMO_BIN=build-address-undefined/bin/mnemo) reports on stderr.
for (const [name, s] of Object.entries(servers))
  check(`no sanitizer report from the ${name} server`, !/runtime error|Sanitizer/.test(s.stderr), s.stderr.slice(-3000));

await stub.close();
fs.rmSync(dir, { recursive: true, force: true });
done();
