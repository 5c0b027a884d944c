// run.mjs - the mem0 suite: the official `mem0ai` MemoryClient (pinned in tests/package.json)
// with its host pointed at a real `mnemo serve`, every call through the client's own methods:
// ping, add (infer false and true, with supersede as UPDATE), search, getAll with filters and
// pages, get, update, history, delete, deleteAll of one user, entities, batch update and delete,
// 501 for platform features, a wrong key, and tenant isolation; then the 2.x client on mem0's
// v1/v2 paths (legacy.mjs).
// Last line: "mem0: N passed, N failed".
import fs from 'node:fs';
import path from 'node:path';
import { startServer, request, tmpdir, cli } from '../http/lib.mjs';
import { legacyChecks } from './legacy.mjs';

let pass = 0;
let fail = 0;
function check(name, cond, detail) {
  if (cond) { pass++; console.log(`ok   ${name}`); return; }
  fail++;
  console.log(`FAIL ${name}`);
  if (detail !== undefined) console.log(String(typeof detail === 'function' ? detail() : detail).split('\n').map((l) => '     ' + l).join('\n'));
}
let srv;
let dir;
async function done() {
  if (srv) {
    const e = await srv.stop();
    const s = srv.stderr;
    srv = null;
    check('the server stops cleanly with no sanitizer report', e.code === 0 && !/runtime error|Sanitizer/.test(s),
      JSON.stringify(e) + '\n' + ((s.match(/.*(runtime error|Sanitizer).*/) || [''])[0]));
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  console.log(`mem0: ${pass} passed, ${fail} failed`);
  process.exit(fail === 0 ? 0 : 1);
}
process.on('uncaughtException', (e) => { check('the suite itself', false, e.stack); done(); });
process.on('unhandledRejection', (e) => { check('the suite itself', false, e && e.stack); done(); });

// The client reports usage to the vendor unless told not to, and keeps a file under ~/.mem0:
// neither may happen in a test (no network, nothing outside the temporary directory).
dir = tmpdir();
process.env.MEM0_TELEMETRY = 'false';
process.env.MEM0_DIR = path.join(dir, 'mem0-home');
// The client logs its own bookkeeping ("No telemetry ID found", a failed start-up ping)
// with console.warn and console.error; the suite reports through console.log only.
console.warn = () => {};
console.error = () => {};
const mem0 = await import('mem0ai');
const MemoryClient = mem0.MemoryClient || mem0.default;

const db = path.join(dir, 'mem0.db');
const A = JSON.parse(cli(['keys', 'create', '--tenant', 'acme', '--db', db, '--json']));
const B = JSON.parse(cli(['keys', 'create', '--tenant', 'globex', '--db', db, '--json']));
srv = await startServer(['--db', db, '--extract', 'rules']);
const host = srv.base;
const a = new MemoryClient({ apiKey: A.key, host });
const b = new MemoryClient({ apiKey: B.key, host });

// What a rejected call throws: the client's error class, status code and the server's body.
async function failure(p) {
  try {
    await p;
    return { name: 'none' };
  } catch (e) {
    return { name: e.name, code: e.errorCode, message: String(e.message) };
  }
}
const idRe = /^\d+-[0-9a-f]+$/;

// ---- ping ---------------------------------------------------------------------------------
{
  await a.ping();
  check('ping: accepted with the key, placeholders for organization and project',
    a.organizationId === 'mnemo' && a.projectId === 'acme', JSON.stringify({ o: a.organizationId, p: a.projectId }));
}

// ---- add ------------------------------------------------------------------------------------
const conv = [
  { role: 'user', content: 'I am planning a trip to Japan in April' },
  { role: 'assistant', content: 'Great, cherry blossom season!' },
];
const added = await a.add(conv, { userId: 'alice', infer: false, metadata: { topic: 'travel' } });
check('add infer:false: one ADD event per message, as given, with string ids',
  added.results.length === 2 && added.results.every((r) => r.event === 'ADD' && idRe.test(r.id)) &&
  added.results[0].memory === conv[0].content && added.results[1].data.memory === conv[1].content,
  JSON.stringify(added));
const [tripId, replyId] = added.results.map((r) => r.id);

const paris = await a.add([{ role: 'user', content: 'I live in Paris' }], { userId: 'alice', infer: true });
const parisFact = paris.results.find((r) => /Paris/.test(r.memory));
check('add infer:true: the message is stored and the extracted fact comes back as ADD',
  paris.messageIds.length === 1 && parisFact && parisFact.event === 'ADD' && parisFact.kind === 'fact',
  JSON.stringify(paris));
const berlin = await a.add([{ role: 'user', content: 'I moved to Berlin' }], { userId: 'alice' });
const berlinFact = berlin.results.find((r) => /Berlin/.test(r.memory));
check('add infer:true: a contradicting fact is an UPDATE that supersedes the old one',
  berlinFact && berlinFact.event === 'UPDATE' && /Paris/.test(berlinFact.previousMemory) &&
  berlinFact.previousId === parisFact.id && berlinFact.id !== parisFact.id, JSON.stringify(berlin));
{
  const old = await a.get(parisFact.id);
  check('add infer:true: the superseded fact is kept, not lost', old.status === 'superseded' && /Paris/.test(old.memory), JSON.stringify(old));
}

// more memories for pagination, another user with runs, an agent
for (let i = 0; i < 5; i++) await a.add([{ role: 'user', content: `note number ${i} about gardening` }], { userId: 'alice', infer: false });
await a.add([{ role: 'user', content: 'bob likes jazz records' }], { userId: 'bob', runId: 'r1', infer: false });
await a.add([{ role: 'user', content: 'bob asked about vinyl prices' }], { userId: 'bob', runId: 'r2', infer: false });
await a.add([{ role: 'user', content: 'bob booked a flight with the travel agent' }], { userId: 'bob', agentId: 'travel', infer: false });
await a.add([{ role: 'assistant', content: 'Travel agent policy: refundable fares only' }], { agentId: 'travel', infer: false });

// ---- search ---------------------------------------------------------------------------------
{
  const r = await a.search('where does the user live now', { filters: { user_id: 'alice' }, topK: 3 });
  check('search: at most top_k scored results of that user, the current city among them',
    r.results.length > 0 && r.results.length <= 3 && r.results.every((m) => m.userId === 'alice' && typeof m.score === 'number') &&
    r.results.some((m) => /Berlin/.test(m.memory)), JSON.stringify(r.results.map((m) => [m.memory, m.score])));
  check('search: the superseded fact is not a result', !r.results.some((m) => m.id === parisFact.id));
  const hi = await a.search('where does the user live now', { filters: { user_id: 'alice' }, topK: 3, threshold: 0.99 });
  check('search: threshold drops results scoring below it', hi.results.every((m) => m.score >= 0.99) && hi.results.length < r.results.length,
    JSON.stringify(hi.results.map((m) => m.score)));
  const jazz = await a.search('jazz records', { filters: { OR: [{ user_id: 'alice' }, { user_id: 'bob' }] }, topK: 5 });
  check('search: OR over two users finds the other user\'s memory', jazz.results.length > 0 && jazz.results[0].userId === 'bob' && /jazz/.test(jazz.results[0].memory),
    JSON.stringify(jazz.results.map((m) => [m.userId, m.memory])));
  const kw = await a.search('gardening', { filters: { user_id: 'alice' }, topK: 10, keywordSearch: true });
  check('search: keyword search', kw.results.length === 5 && kw.results.every((m) => /gardening/.test(m.memory)), JSON.stringify(kw.results.map((m) => m.memory)));
  const meta = await a.search('trip', { filters: { AND: [{ user_id: 'alice' }, { metadata: { topic: 'travel' } }] }, topK: 10 });
  check('search: metadata filter', meta.results.length > 0 && meta.results.every((m) => m.metadata && m.metadata.topic === 'travel'), JSON.stringify(meta.results));
}

// ---- getAll ---------------------------------------------------------------------------------
{
  const all = await a.getAll({ filters: { user_id: 'alice' }, pageSize: 100 });
  const p1 = await a.getAll({ filters: { user_id: 'alice' }, page: 1, pageSize: 4 });
  const p2 = await a.getAll({ filters: { user_id: 'alice' }, page: 2, pageSize: 4 });
  const last = Math.ceil(all.count / 4);
  const pl = await a.getAll({ filters: { user_id: 'alice' }, page: last, pageSize: 4 });
  check('getAll: count of the active memories, newest first',
    all.count === all.results.length && all.count >= 10 && all.results.every((m, i, v) => i === 0 || v[i - 1].createdAt >= m.createdAt),
    JSON.stringify(all.results.map((m) => [m.memory, m.createdAt])));
  check('getAll: pages of page_size with next and previous, no overlap',
    p1.results.length === 4 && p2.results.length === 4 && p1.next && !p1.previous && p2.previous &&
    !p1.results.some((m) => p2.results.some((n) => n.id === m.id)) &&
    p1.results.concat(p2.results).every((m, i) => m.id === all.results[i].id) && !pl.next && pl.results.length === all.count - 4 * (last - 1),
    JSON.stringify({ p1: p1.results.map((m) => m.id), p2: p2.results.map((m) => m.id), c: all.count }));
  const r1 = await a.getAll({ filters: { AND: [{ user_id: 'bob' }, { run_id: 'r1' }] } });
  check('getAll: AND with run_id keeps that run only', r1.count === 1 && /jazz/.test(r1.results[0].memory) && r1.results[0].runId === 'r1', JSON.stringify(r1));
  const both = await a.getAll({ filters: { OR: [{ user_id: 'bob' }, { agent_id: 'travel' }] } });
  check('getAll: OR of a user and an agent', both.count === 4 && both.results.some((m) => m.agentId === 'travel' && m.userId === null), JSON.stringify(both.results.map((m) => [m.userId, m.agentId, m.memory])));
  const bobAgent = await a.getAll({ filters: { AND: [{ user_id: 'bob' }, { agent_id: 'travel' }] } });
  check('getAll: user and agent together', bobAgent.count === 1 && /flight/.test(bobAgent.results[0].memory) && bobAgent.results[0].agentId === 'travel', JSON.stringify(bobAgent));
  const kept = await a.update(bobAgent.results[0].id, { metadata: { seat: 'aisle' } });
  check('update: new metadata keeps the memory\'s agent', kept.agentId === 'travel' && kept.userId === 'bob' && kept.metadata.seat === 'aisle' && !('_mem0' in kept.metadata),
    JSON.stringify(kept));
  const reserved = await failure(a.add([{ role: 'user', content: 'x' }], { userId: 'bob', infer: false, metadata: { _mem0: { agent_id: 'spoof' } } }));
  check('add: the metadata key that holds the secondary entities is reserved', reserved.name === 'ValidationError' && /_mem0/.test(reserved.message), JSON.stringify(reserved));
  const inList = await a.getAll({ filters: { user_id: { in: ['bob', 'nobody'] } } });
  check('getAll: "in" list of users', inList.count === 3, JSON.stringify(inList.count));
  const future = await a.getAll({ filters: { user_id: 'alice' }, startDate: '2999-01-01' });
  const past = await a.getAll({ filters: { user_id: 'alice' }, endDate: '2000-01-01' });
  const range = await a.getAll({ filters: { user_id: 'alice', created_at: { gte: '2000-01-01T00:00:00Z' } } });
  check('getAll: start_date, end_date and created_at ranges', future.count === 0 && past.count === 0 && range.count === all.count,
    JSON.stringify([future.count, past.count, range.count]));
  const bad = await failure(a.getAll({ filters: { categories: { in: ['travel'] } } }));
  check('getAll: an unsupported filter is a clear 422', bad.name === 'ValidationError' && /categories/.test(bad.message), JSON.stringify(bad));
  const none = await failure(a.getAll({ filters: {} }));
  check('getAll: filters without an entity are refused (400)', none.name === 'ValidationError' && none.code === 'HTTP_400', JSON.stringify(none));
}

// ---- get, update, history, delete ------------------------------------------------------------
{
  const m = await a.get(tripId);
  check('get: the memory with its entity, metadata and dates', m.id === tripId && m.memory === conv[0].content &&
    m.userId === 'alice' && m.metadata.topic === 'travel' && /^\d{4}-/.test(m.createdAt), JSON.stringify(m));
  const u = await a.update(tripId, { text: 'I am planning a trip to Japan in May', metadata: { topic: 'travel', month: 'May' } });
  check('update: returns the changed memory', u.id === tripId && /May/.test(u.memory) && u.metadata.month === 'May', JSON.stringify(u));
  const h = await a.history(tripId);
  check('history: ADD then UPDATE with old and new text', h.length === 2 && h[0].event === 'ADD' && h[1].event === 'UPDATE' &&
    /April/.test(h[1].oldMemory) && /May/.test(h[1].newMemory) && h[1].memoryId === tripId, JSON.stringify(h));
  const hp = await a.history(parisFact.id);
  check('history: a superseded fact ends with DELETE (kept, no longer current)', hp.length === 2 && hp[1].event === 'DELETE' && hp[1].oldMemory === parisFact.memory,
    JSON.stringify(hp));
  const d = await a.delete(replyId);
  const gone = await failure(a.get(replyId));
  check('delete: forgotten, then get is MemoryNotFoundError', /deleted/.test(d.message) && gone.name === 'MemoryNotFoundError', JSON.stringify([d, gone]));
  const bogus = await failure(a.get('not-a-mnemo-id'));
  check('get: an id mnemo never gave is a 404', bogus.name === 'MemoryNotFoundError', JSON.stringify(bogus));
}

// ---- entities ----------------------------------------------------------------------------
{
  const u = await a.users();
  const byName = Object.fromEntries(u.results.map((e) => [`${e.type}:${e.name}`, e]));
  check('users: users and agents with memory counts', u.count === 3 && byName['user:alice'] && byName['user:bob'] &&
    byName['agent:travel'] && byName['user:bob'].totalMemories === 3 && byName['agent:travel'].totalMemories === 1, JSON.stringify(u));
  const p = await a.users({ page: 2, pageSize: 2 });
  check('users: pages', p.results.length === 1 && p.previous && !p.next, JSON.stringify(p));
}

// ---- batch --------------------------------------------------------------------------------
{
  const notes = (await a.getAll({ filters: { user_id: 'alice' } })).results.filter((m) => /gardening/.test(m.memory));
  const up = await a.batchUpdate(notes.slice(0, 2).map((m, i) => ({ memoryId: m.id, text: `batch edited ${i}` })));
  const after = await Promise.all(notes.slice(0, 2).map((m) => a.get(m.id)));
  check('batchUpdate: both changed', /updated 2/.test(up.message) && after.every((m, i) => m.memory === `batch edited ${i}`), JSON.stringify([up, after]));
  const bad = await failure(a.batchUpdate([{ memoryId: notes[2].id, text: 'x' }, { memoryId: '999999-616c696365', text: 'y' }]));
  const untouched = await a.get(notes[2].id);
  check('batchUpdate: an unknown id fails the batch before anything changes', bad.name === 'MemoryNotFoundError' && untouched.memory === notes[2].memory, JSON.stringify([bad, untouched.memory]));
  const del = await a.batchDelete(notes.slice(2, 4).map((m) => m.id));
  const gone = await Promise.all(notes.slice(2, 4).map((m) => failure(a.get(m.id))));
  check('batchDelete: both forgotten', /deleted 2/.test(del.message) && gone.every((g) => g.name === 'MemoryNotFoundError'), JSON.stringify([del, gone]));
}

// ---- deleteAll for one user, entity delete ------------------------------------------------
{
  const aliceBefore = (await a.getAll({ filters: { user_id: 'alice' } })).count;
  const r = await a.deleteAll({ userId: 'bob' });
  const bob = await a.getAll({ filters: { user_id: 'bob' } });
  const aliceAfter = (await a.getAll({ filters: { user_id: 'alice' } })).count;
  const agent = await a.getAll({ filters: { agent_id: 'travel' } });
  check('deleteAll: one user forgotten, other users and the agent survive', /deleted/.test(r.message) && bob.count === 0 &&
    aliceAfter === aliceBefore && aliceAfter > 0 && agent.count === 1, JSON.stringify({ r, bob: bob.count, aliceBefore, aliceAfter, agent: agent.count }));
  const none = await failure(a.deleteAll({}));
  const still = (await a.getAll({ filters: { user_id: 'alice' } })).count;
  check('deleteAll: refused (400) without an entity, nothing deleted', none.name === 'ValidationError' && none.code === 'HTTP_400' && still === aliceAfter, JSON.stringify(none));
  const du = await a.deleteUsers({ agentId: 'travel' });
  const agentAfter = await a.getAll({ filters: { agent_id: 'travel' } });
  check('deleteUsers: the agent entity forgotten', /deleted/.test(du.message) && agentAfter.count === 0, JSON.stringify(du));
}

// ---- not supported, wrong key, isolation --------------------------------------------------
{
  const fb = await failure(a.feedback({ memoryId: tripId, feedback: 'POSITIVE' }));
  check('feedback: 501 naming the feature', fb.code === 'HTTP_501' && /not_supported/.test(fb.message) && /feedback/.test(fb.message), JSON.stringify(fb));
  const wh = await failure(a.getWebhooks());
  check('webhooks: 501 naming the feature', wh.code === 'HTTP_501' && /webhooks/.test(wh.message), JSON.stringify(wh));
  const pj = await failure(a.getProject({ fields: [] }));
  check('projects: 501 naming the feature', pj.code === 'HTTP_501' && /projects/.test(pj.message), JSON.stringify(pj));
  const raw = await request(host, 'GET', '/v1/ping/', { headers: { Authorization: `Token ${A.key}` } });
  check('the Token scheme maps to the same tenant as Bearer', raw.status === 200 && raw.json.project_id === 'acme', raw.text);

  const wrong = new MemoryClient({ apiKey: 'mn_' + 'x'.repeat(43), host });
  const w = await failure(wrong.getAll({ filters: { user_id: 'alice' } }));
  const wp = await failure(wrong.ping());
  check('a wrong key: the client raises AuthenticationError', w.name === 'AuthenticationError' && w.code === 'HTTP_401' && wp.name === 'AuthenticationError', JSON.stringify([w, wp]));

  const g = await failure(b.get(tripId));
  const s = await b.search('trip to Japan', { filters: { user_id: 'alice' }, topK: 5 });
  const l = await b.getAll({ filters: { user_id: 'alice' } });
  const d = await failure(b.delete(tripId));
  const del = await b.deleteAll({ userId: 'alice' });
  const mine = await a.get(tripId);
  check('isolation: another tenant cannot read, find, delete or forget these memories',
    g.name === 'MemoryNotFoundError' && s.results.length === 0 && l.count === 0 && d.name === 'MemoryNotFoundError' &&
    /May/.test(mine.memory), JSON.stringify({ g, s, l: l.count, d, del }));
}

// ---- the 2.x client: v1/v2 paths --------------------------------------------------------------
await legacyChecks({ check, failure, host, key: A.key, otherKey: B.key });

await done();
