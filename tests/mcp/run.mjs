// run.mjs - the MCP suite: the official @modelcontextprotocol/sdk client (pinned in
// tests/package.json) spawns `mnemo mcp` over stdio, lists the tools and calls each one, and
// gets tool errors for bad arguments; then raw JSON-RPC lines check the protocol errors and
// the version negotiation, and the CLI reads what the tools wrote (same database).
// Last line: "mcp: N passed, N failed".
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { BIN, tmpdir, cli } from '../http/lib.mjs';

let pass = 0;
let fail = 0;
function check(name, cond, detail) {
  if (cond) { pass++; console.log(`ok   ${name}`); return; }
  fail++;
  console.log(`FAIL ${name}`);
  if (detail !== undefined) console.log(String(detail).split('\n').map((l) => '     ' + l).join('\n'));
}
function done() {
  console.log(`mcp: ${pass} passed, ${fail} failed`);
  process.exit(fail === 0 ? 0 : 1);
}
process.on('uncaughtException', (e) => { check('the suite itself', false, e.stack); done(); });
process.on('unhandledRejection', (e) => { check('the suite itself', false, e && e.stack); done(); });

const dir = tmpdir();
const db = path.join(dir, 'mcp.db');
const stderrs = []; // every server's, checked for sanitizer reports at the end
const text = (r) => (r.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

async function connect(args) {
  // The SDK passes only a few safe variables on; mnemo's (MNEMO_MODEL, MNEMO_BPE_DIR, the
  // sanitizers' options set by tests/run-all) must reach the server too.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(MNEMO_|ASAN_|UBSAN_|TSAN_|LSAN_)/.test(k)));
  const transport = new StdioClientTransport({ command: BIN, args: ['mcp', '--db', db, ...args], env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d; });
  const client = new Client({ name: 'mnemo-tests', version: '1.0.0' });
  await client.connect(transport);
  stderrs.push(() => stderr);
  return { client, transport, stderr: () => stderr };
}

// ---- the SDK client with a default user ---------------------------------------------------
{
  const { client, stderr } = await connect(['--user', 'alice']);
  check('the server introduces itself', client.getServerVersion()?.name === 'mnemo' && !!client.getServerCapabilities()?.tools, JSON.stringify(client.getServerVersion()));
  check('no stdout noise: the session started cleanly and logs went to stderr', /mnemo mcp/.test(stderr()), stderr());

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  check('tools/list has the five memory tools', names.join(',') === 'add_memory,forget_memory,get_context,list_memories,search_memory', names.join(','));
  check('every tool has an object inputSchema and a description',
    tools.every((t) => t.inputSchema?.type === 'object' && t.inputSchema.properties && t.description.length > 20), JSON.stringify(tools[0]));
  const add = tools.find((t) => t.name === 'add_memory');
  check('with a default user, user_id is optional; text is required', add.inputSchema.required.join() === 'text', JSON.stringify(add.inputSchema.required));
  check('forget_memory is marked destructive, search_memory read-only',
    tools.find((t) => t.name === 'forget_memory').annotations?.destructiveHint === true && tools.find((t) => t.name === 'search_memory').annotations?.readOnlyHint === true);

  const a1 = await client.callTool({ name: 'add_memory', arguments: { text: 'I am allergic to peanuts', kind: 'fact' } });
  const a2 = await client.callTool({ name: 'add_memory', arguments: { text: 'I prefer window seats on long flights', kind: 'preference', metadata: { source: 'chat' } } });
  const a3 = await client.callTool({ name: 'add_memory', arguments: { text: 'My sister lives in Lisbon', user_id: 'bob' } });
  check('add_memory stores and returns the id', !a1.isError && a1.structuredContent?.id > 0 && a2.structuredContent?.id > a1.structuredContent.id && a3.structuredContent?.user_id === 'bob', JSON.stringify(a1));

  const s = await client.callTool({ name: 'search_memory', arguments: { query: 'which food should I avoid', k: 5 } });
  const hits = s.structuredContent?.memories || [];
  check('search_memory finds the default user\'s memory, best first, with scores', !s.isError && hits[0]?.text === 'I am allergic to peanuts' && typeof hits[0].score === 'number', text(s));
  check('search_memory stays within the user', !text(s).includes('Lisbon'), text(s));
  const sb = await client.callTool({ name: 'search_memory', arguments: { query: 'sister', user_id: 'bob' } });
  check('user_id selects another user', sb.structuredContent?.memories?.[0]?.text === 'My sister lives in Lisbon', text(sb));

  const c = await client.callTool({ name: 'get_context', arguments: { query: 'Am I allergic to any food like peanuts?', max_tokens: 300 } });
  check('get_context returns a prompt block with the relevant memory', !c.isError && /allergic to peanuts/.test(text(c)), text(c));
  const cs = c.structuredContent || {};
  check('get_context\'s structured result has the items with ids and the token count within the budget',
    cs.items?.some((i) => i.id === a1.structuredContent.id) && cs.tokens?.used > 0 && cs.tokens.used <= 300 && cs.tokens.budget === 300 &&
    /Current question:/.test(cs.prompt) && !/Current question:/.test(text(c)), JSON.stringify(cs).slice(0, 600));
  const tiny = await client.callTool({ name: 'get_context', arguments: { query: 'Can I eat a peanut butter sandwich?', max_tokens: 3 } });
  check('a budget the question alone does not fit is a tool error saying so', tiny.isError === true && /max_tokens|budget/.test(text(tiny)), text(tiny));

  // as_of: "last week" in a question counts back from the time it is asked
  const q = 'running along the river last week';
  await client.callTool({ name: 'add_memory', arguments: { text: 'I went running along the river', kind: 'message', role: 'user', created_at: '2023-08-01T10:00:00Z', user_id: 'cal' } });
  await client.callTool({ name: 'add_memory', arguments: { text: 'I went running along the river, it was cold and windy', kind: 'message', role: 'user', created_at: '2024-05-15T10:00:00Z', user_id: 'cal' } });
  const sNow = await client.callTool({ name: 'search_memory', arguments: { query: q, user_id: 'cal' } });
  const sThen = await client.callTool({ name: 'search_memory', arguments: { query: q, user_id: 'cal', as_of: '2024-05-20T00:00:00Z' } });
  check('search_memory with as_of ranks last week\'s remark first; asked now, the closer text',
    sNow.structuredContent?.memories?.[0]?.text === 'I went running along the river' &&
    sThen.structuredContent?.memories?.[0]?.text === 'I went running along the river, it was cold and windy', text(sNow) + text(sThen));
  const cThen = await client.callTool({ name: 'get_context', arguments: { query: q, user_id: 'cal', as_of: '2024-05-20T00:00:00Z', min_score: 0 } });
  const score = Object.fromEntries((cThen.structuredContent?.items || []).map((i) => [i.text, i.score]));
  check('get_context with as_of scores last week\'s remark higher',
    score['I went running along the river, it was cold and windy'] > score['I went running along the river'], JSON.stringify(score));

  const l = await client.callTool({ name: 'list_memories', arguments: { limit: 1 } });
  check('list_memories pages newest first', !l.isError && l.structuredContent?.total === 2 && l.structuredContent.memories.length === 1 &&
    l.structuredContent.memories[0].text.startsWith('I prefer') && l.structuredContent.next_after > 0, text(l));
  const l2 = await client.callTool({ name: 'list_memories', arguments: { limit: 5, after: l.structuredContent.next_after } });
  check('list_memories\' next_after gives the next page', l2.structuredContent?.memories?.[0]?.text === 'I am allergic to peanuts' && l2.structuredContent.next_after === null, text(l2));

  const f = await client.callTool({ name: 'forget_memory', arguments: { id: a1.structuredContent.id } });
  const after = await client.callTool({ name: 'list_memories', arguments: {} });
  check('forget_memory deletes one memory by id', !f.isError && f.structuredContent?.deleted === 1 && after.structuredContent?.total === 1, text(f));
  const f2 = await client.callTool({ name: 'forget_memory', arguments: { id: a1.structuredContent.id } });
  check('forgetting a memory that is gone is a tool error saying so', f2.isError === true && /not found/.test(text(f2)), text(f2));

  // Bad arguments: tool errors the model can read, not protocol errors.
  const bad = [
    [{ name: 'search_memory', arguments: { query: 'x', k: 0 } }, /argument 'k' must be from 1 to/],
    [{ name: 'search_memory', arguments: { k: 3 } }, /argument 'query' is required/],
    [{ name: 'get_context', arguments: { query: 'x', as_of: 'someday' } }, /argument 'as_of' is not a time/],
    [{ name: 'add_memory', arguments: { text: 'x', kind: 'opinion' } }, /argument 'kind' must be one of/],
    [{ name: 'add_memory', arguments: { text: 42 } }, /argument 'text' must be a string/],
    [{ name: 'list_memories', arguments: { colour: 'blue' } }, /unknown argument 'colour'/],
    [{ name: 'forget_memory', arguments: {} }, /give 'id'/],
    [{ name: 'add_memory', arguments: { text: 'x', created_at: 'yesterday-ish' } }, /not a time/],
  ];
  for (const [call, re] of bad) {
    const r = await client.callTool(call);
    check(`bad arguments are a tool error: ${JSON.stringify(call.arguments)}`, r.isError === true && re.test(text(r)), text(r));
  }
  let err;
  try { await client.callTool({ name: 'no_such_tool', arguments: {} }); } catch (e) { err = e; }
  check('an unknown tool is a JSON-RPC error -32602', err?.code === -32602 && /no_such_tool/.test(err.message), err && `${err.code} ${err.message}`);
  await client.close();
}

// ---- no default user: user_id is required --------------------------------------------------
{
  const { client } = await connect(['--tenant', 'acme']);
  const { tools } = await client.listTools();
  check('without a default user every tool requires user_id', tools.every((t) => t.inputSchema.required.includes('user_id')), JSON.stringify(tools.map((t) => t.inputSchema.required)));
  const r = await client.callTool({ name: 'add_memory', arguments: { text: 'no user given' } });
  check('a call without user_id is a tool error naming it', r.isError === true && /user_id/.test(text(r)), text(r));
  const ok = await client.callTool({ name: 'add_memory', arguments: { text: 'acme carol likes jazz', user_id: 'carol' } });
  check('the tenant option applies to the calls', !ok.isError, text(ok));
  await client.close();
}

// ---- same database as the CLI and `mnemo serve` ------------------------------------------------
{
  const out = cli(['search', '--db', db, '--user', 'alice', '--query', 'window seats', '--json']);
  check('what the tools stored is in the same database the CLI reads', out.includes('I prefer window seats'), out);
  const out2 = cli(['list', '--db', db, '--tenant', 'acme', '--user', 'carol', '--json']);
  check('tenant acme holds the memory added with --tenant acme', out2.includes('acme carol likes jazz'), out2);
}

// ---- raw protocol: errors and version negotiation ------------------------------------------
function raw(lines, args = []) {
  return new Promise((resolve) => {
    const p = spawn(BIN, ['mcp', '--db', db, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let errOut = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { errOut += d; });
    p.on('exit', (code) => {
      stderrs.push(() => errOut);
      resolve({ code, replies: out.split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: errOut });
    });
    p.stdin.end(lines.join('\n') + '\n');
  });
}
{
  const init = (v, id = 1) => JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: v, capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
  const r = await raw([
    init('2024-11-05'),
    '{"jsonrpc":"2.0","method":"notifications/initialized"}',
    '{"jsonrpc":"2.0","id":2,"method":"ping"}',
    'this is not json',
    '{"jsonrpc":"2.0","id":3,"method":"resources/list"}',
    '{"jsonrpc":"1.0","id":4,"method":"ping"}',
    '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":[1,2]}',
    '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"search_memory","arguments":"query"}}',
    '[{"jsonrpc":"2.0","id":7,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/cancelled"},{"jsonrpc":"2.0","id":8,"method":"nope"}]',
    '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"add_memory","arguments":{"text":"raw line memory"}}}',
  ], ['--user', 'rawuser']);
  const by = Object.fromEntries(r.replies.filter((x) => !Array.isArray(x)).map((x) => [x.id, x]));
  const batch = r.replies.find(Array.isArray) || [];
  check('the server answers the version it was asked when it supports it', by[1]?.result?.protocolVersion === '2024-11-05', JSON.stringify(by[1]));
  check('ping answers an empty result', JSON.stringify(by[2]?.result) === '{}');
  check('a line that is not JSON is a -32700 parse error with id null', r.replies.some((x) => x.id === null && x.error?.code === -32700), JSON.stringify(r.replies));
  check('an unknown method is -32601', by[3]?.error?.code === -32601, JSON.stringify(by[3]));
  check('a wrong jsonrpc version is -32600', by[4]?.error?.code === -32600, JSON.stringify(by[4]));
  check('params that are not an object are -32602', by[5]?.error?.code === -32602 && by[6]?.error?.code === -32602, JSON.stringify([by[5], by[6]]));
  check('a batch gets one array of replies, none for its notification', batch.length === 2 && batch[0].id === 7 && batch[1].error?.code === -32601, JSON.stringify(batch));
  check('notifications get no reply; the session ends cleanly at end of input', r.replies.length === 9 && r.code === 0, `${r.replies.length} replies, exit ${r.code}`);
  check('protocol 2024-11-05 gets no structuredContent (added in 2025-06-18)', by[9]?.result && !('structuredContent' in by[9].result) && /"id":\d+/.test(by[9].result.content[0].text), JSON.stringify(by[9]));

  const r2 = await raw([init('1999-01-01'), '{"jsonrpc":"2.0","id":2,"method":"tools/list"}']);
  check(`an unsupported version is answered with the latest (${LATEST_PROTOCOL_VERSION}, the SDK's latest)`, r2.replies[0]?.result?.protocolVersion === LATEST_PROTOCOL_VERSION, JSON.stringify(r2.replies[0]));
  const r3 = await raw(['{"jsonrpc":"2.0","id":1,"method":"tools/list"}']);
  check('tools/list before initialize is refused', r3.replies[0]?.error?.code === -32600 && /initialize/.test(r3.replies[0].error.message), JSON.stringify(r3.replies[0]));
  const big = await raw([init('2025-06-18'), JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping', params: { pad: 'x'.repeat(5 << 20) } }), '{"jsonrpc":"2.0","id":3,"method":"ping"}']);
  check('a message over the line limit is refused and the session goes on', big.replies.some((x) => x.id === null && x.error?.code === -32600 && /limit/.test(x.error.message)) && big.replies.some((x) => x.id === 3 && x.result), JSON.stringify(big.replies).slice(0, 300));
  const gone = await raw([init('2025-06-18')], ['--db', path.join(dir, 'nope', 'x.db'), '--tenant', 'bad tenant\u0007']);
  check('a bad --tenant stops the server at start with a message on stderr', gone.code !== 0 && /tenant/.test(gone.stderr) && gone.replies.length === 0, gone.stderr);
}

// A sanitized build (MNEMO_BIN=build-address-undefined/bin/mnemo) reports on stderr.
await new Promise((r) => setTimeout(r, 300)); // the SDK clients' servers exit after close()
const reports = stderrs.map((f) => f()).filter((e) => /runtime error|Sanitizer/.test(e));
check('no sanitizer report from any mcp process', reports.length === 0, reports.join('\n').slice(0, 3000));

fs.rmSync(dir, { recursive: true, force: true });
done();
