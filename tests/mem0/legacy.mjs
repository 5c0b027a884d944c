// legacy.mjs - the mem0 suite's part for the 2.x generation of the official client (pinned
// in tests/mem0/v2/package.json), which calls mem0's v1/v2 paths: add on POST /v1/memories/,
// getAll on GET /v1/memories/ or POST /v2/memories/, search on POST /v1/memories/search/ or
// /v2/memories/search/, with its options passed through as snake_case fields, and bare arrays
// back. Every call goes through the client's own methods.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export async function legacyChecks({ check, failure, host, key, otherKey }) {
  const mod = require('./v2/node_modules/mem0ai');
  const MemoryClient = mod.MemoryClient || mod.default;
  const c = new MemoryClient({ apiKey: key, host });
  const other = new MemoryClient({ apiKey: otherKey, host });
  const version = require('./v2/node_modules/mem0ai/package.json').version;

  const added = await c.add([{ role: 'user', content: 'I play the cello in a community orchestra' }],
    { user_id: 'carol', infer: false, metadata: { topic: 'music' } });
  await c.add([{ role: 'user', content: 'My sister lives in Lisbon' }], { user_id: 'carol', infer: false });
  await c.add([{ role: 'user', content: 'Rehearsals are on Tuesday evenings' }], { user_id: 'carol', run_id: 'week1', infer: false });
  check(`2.x client (${version}) add: stored through POST /v1/memories/, one ADD event`,
    added.results && added.results.length === 1 && added.results[0].event === 'ADD' &&
    /cello/.test(added.results[0].memory), JSON.stringify(added));

  const all = await c.getAll({ user_id: 'carol' });
  check('2.x getAll (GET /v1/memories/): a bare array of that user\'s memories, newest first',
    // the suite's server extracts facts (--extract rules): the sister's city is one more memory
    Array.isArray(all) && all.filter((m) => m.kind === 'message').length === 3 && all.every((m) => m.user_id === 'carol') &&
    all.every((m, i, v) => i === 0 || v[i - 1].created_at >= m.created_at) && /Rehearsals/.test(all[0].memory),
    JSON.stringify(all));
  const page = await c.getAll({ user_id: 'carol', page: 1, page_size: 2 });
  check('2.x getAll with page and page_size: the page object, next on /v1/memories/',
    !Array.isArray(page) && page.count === all.length && page.results.length === 2 && /^\/v1\/memories\/\?page=2/.test(page.next) &&
    page.previous === null, JSON.stringify(page));
  const run = await c.getAll({ user_id: 'carol', run_id: 'week1' });
  check('2.x getAll: user and run', Array.isArray(run) && run.length === 1 && run[0].run_id === 'week1', JSON.stringify(run));
  const v2 = await c.getAll({ filters: { AND: [{ user_id: 'carol' }, { metadata: { topic: 'music' } }] }, api_version: 'v2' });
  check('2.x getAll api_version v2 (POST /v2/memories/): filters, a bare array',
    Array.isArray(v2) && v2.length === 1 && /cello/.test(v2[0].memory), JSON.stringify(v2));

  const s1 = await c.search('what instrument does she play', { user_id: 'carol', top_k: 2 });
  check('2.x search (POST /v1/memories/search/): entity as a field, a bare array of scored memories',
    Array.isArray(s1) && s1.length >= 1 && s1.length <= 2 && /cello/.test(s1[0].memory) && typeof s1[0].score === 'number',
    JSON.stringify(s1));
  const s2 = await c.search('where does her sister live', { filters: { user_id: 'carol' }, api_version: 'v2', top_k: 1 });
  check('2.x search api_version v2 (POST /v2/memories/search/): filters, a bare array',
    Array.isArray(s2) && s2.length === 1 && /Lisbon/.test(s2[0].memory), JSON.stringify(s2));
  const s11 = await c.search('Lisbon', { user_id: 'carol', output_format: 'v1.1' });
  check('2.x search output_format v1.1: the {results} object', Array.isArray(s11.results) && /Lisbon/.test(s11.results[0].memory),
    JSON.stringify(s11));
  const misplaced = await failure(c.search('Lisbon', { user_id: 'carol', api_version: 'v2', filters: { user_id: 'carol' } }));
  check('2.x search v2 with a top-level user_id: 422 saying it belongs in filters',
    misplaced.code === 'HTTP_422' && /belongs in 'filters'/.test(misplaced.message), JSON.stringify(misplaced));
  const nobody = await failure(c.search('Lisbon', {}));
  check('2.x search without an entity: 400 naming what to pass', nobody.code === 'HTTP_400' && /user_id/.test(nobody.message),
    JSON.stringify(nobody));

  const theirs = await other.getAll({ user_id: 'carol' });
  const found = await other.search('cello', { user_id: 'carol' });
  check('2.x isolation: another tenant sees none of these memories', Array.isArray(theirs) && theirs.length === 0 &&
    Array.isArray(found) && found.length === 0, JSON.stringify([theirs, found]));

  await c.delete(all[0].id);
  const du = await c.deleteUsers({ user_id: 'carol' });
  const left = await c.getAll({ user_id: 'carol' });
  check('2.x delete and deleteUsers (DELETE /v2/entities/user/carol/): nothing left', /deleted/i.test(du.message) &&
    Array.isArray(left) && left.length === 0, JSON.stringify([du, left]));
}
