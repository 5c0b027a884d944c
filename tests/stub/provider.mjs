// provider.mjs - a local stand-in for remote model providers, for tests: OpenAI-compatible
// POST .../embeddings, Cohere POST .../v2/embed and OpenAI-compatible POST
// .../chat/completions. Tests steer it through POST /_control to be slow, fail with 500,
// answer 429 with Retry-After, return malformed JSON or vectors of the wrong dimension, and
// read what it saw from GET /_stats. No npm packages; loopback only.
//
//   import { startStub } from './provider.mjs'; const stub = await startStub();
//   node tests/stub/provider.mjs [port]      (prints "stub listening on <port>")
import http from 'node:http';
import crypto from 'node:crypto';

// Deterministic word-hash vectors: texts sharing words are similar, as with mnemo's mock.
export function embedText(text, dim) {
  const v = new Array(dim).fill(0);
  for (const w of String(text).toLowerCase().match(/[a-z0-9\u0080-\uffff]+/g) || []) {
    const h = crypto.createHash('sha256').update(w).digest();
    const i = h.readUInt32LE(0) % dim;
    v[i] += h[4] & 1 ? -1 : 1;
  }
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / n);
}

function newState() {
  return {
    mode: 'ok',         // ok | slow | fail500 | rate429 | malformed | wrongdim | down | schema | refuse
    times: -1,          // how many requests the mode applies to; -1: until changed
    delayMs: 0,         // for slow
    retryAfter: '1',    // for rate429: seconds or an HTTP date
    dim: 32,            // embedding dimension answered in mode ok
    llmSummary: null,   // fixed summary text of the chat stub; null: built from the input
    llmItems: null,     // fixed extraction items; null: none
  };
}

export function startStub(port = 0) {
  const st = newState();
  const stats = { requests: 0, embed_requests: 0, texts: 0, chat_requests: 0, by_status: {},
    input_types: [], models: [], batch_sizes: [], last_body: null, auth: [] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => handle(req, res, body));
  });

  function reply(res, status, obj, headers = {}) {
    stats.by_status[status] = (stats.by_status[status] || 0) + 1;
    const text = typeof obj === 'string' ? obj : JSON.stringify(obj);
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(text);
  }

  // The mode for this request; counts down `times`.
  function takeMode() {
    if (st.times === 0) return 'ok';
    if (st.times > 0) st.times--;
    return st.mode;
  }

  async function handle(req, res, body) {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/_control' && req.method === 'POST') {
      const c = JSON.parse(body || '{}');
      if (c.reset) { Object.assign(st, newState()); for (const k of Object.keys(stats)) stats[k] = Array.isArray(stats[k]) ? [] : typeof stats[k] === 'object' && stats[k] ? {} : 0; stats.last_body = null; }
      for (const k of ['mode', 'times', 'delayMs', 'retryAfter', 'dim', 'llmSummary', 'llmItems'])
        if (k in c) st[k] = c[k];
      return reply(res, 200, { ok: true, state: st });
    }
    if (url.pathname === '/_stats') return reply(res, 200, stats);
    stats.requests++;
    stats.auth.push(req.headers.authorization || req.headers['api-key'] || '');
    if (stats.auth.length > 50) stats.auth.shift();
    const isEmbed = /\/embeddings$/.test(url.pathname) || /\/embed$/.test(url.pathname);
    const isChat = /\/chat\/completions$/.test(url.pathname);
    if (!isEmbed && !isChat) return reply(res, 404, { error: 'no such route ' + url.pathname });
    const mode = takeMode();
    if (mode === 'down') { req.socket.destroy(); return; }
    if (mode === 'slow') await new Promise((r) => setTimeout(r, st.delayMs));
    if (mode === 'fail500') return reply(res, 500, { error: { message: 'stub: internal error' } });
    if (mode === 'rate429') return reply(res, 429, { error: { message: 'stub: slow down' } }, { 'Retry-After': String(st.retryAfter) });
    if (mode === 'malformed') return reply(res, 200, '{"data": [ {"embedding": [0.1, 0.2');
    let j;
    try { j = JSON.parse(body); } catch { return reply(res, 400, { error: { message: 'bad JSON body' } }); }
    stats.last_body = j;
    if (j.model) stats.models.push(j.model);
    if (isEmbed) return embed(res, url, j, mode);
    return chat(res, j, mode);
  }

  function embed(res, url, j, mode) {
    stats.embed_requests++;
    const cohere = /\/embed$/.test(url.pathname);
    const texts = cohere ? j.texts : (typeof j.input === 'string' ? [j.input] : j.input);
    if (!Array.isArray(texts) || !texts.length) return reply(res, 400, { error: { message: 'no input' } });
    stats.texts += texts.length;
    stats.batch_sizes.push(texts.length);
    if (cohere) stats.input_types.push(j.input_type);
    // a client asking for a dimension (OpenAI "dimensions", Cohere "output_dimension") gets it
    const asked = Number(j.dimensions || j.output_dimension || 0);
    const dim = (asked || st.dim) + (mode === 'wrongdim' ? 3 : 0);
    const vecs = texts.map((t) => embedText(t, dim));
    if (cohere)
      return reply(res, 200, { id: 'stub', embeddings: { float: vecs }, texts, meta: { api_version: { version: '2' } } });
    // answered in reverse order: clients must use "index"
    const data = vecs.map((e, i) => ({ object: 'embedding', index: i, embedding: e })).reverse();
    return reply(res, 200, { object: 'list', data, model: j.model, usage: { prompt_tokens: texts.length, total_tokens: texts.length } });
  }

  function chat(res, j, mode) {
    stats.chat_requests++;
    const schema = j.response_format && j.response_format.json_schema ? j.response_format.json_schema.name : '';
    const user = (j.messages || []).filter((m) => m.role === 'user').map((m) => m.content).join('\n');
    let content;
    if (schema === 'cluster_summary') {
      const text = st.llmSummary || ('Summary: ' + user.split('\n').filter((l) => l.trim()).slice(1, 4).map((l) => l.replace(/^\[[^\]]*\]\s*/, '')).join(' ')).slice(0, 400);
      content = { summary: text };
    } else {
      content = { items: st.llmItems || [] };
    }
    let text = JSON.stringify(content);
    if (mode === 'schema') text = JSON.stringify({ wrong: true });
    if (mode === 'notjson') text = 'Sure! Here is the summary: it went well.';
    const msg = { role: 'assistant', content: text };
    if (mode === 'refuse') { msg.content = null; msg.refusal = 'stub refuses'; }
    return reply(res, 200, { id: 'chatcmpl-stub', object: 'chat.completion', model: j.model,
      choices: [{ index: 0, message: msg, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
  }

  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const p = server.address().port;
      const base = `http://127.0.0.1:${p}`;
      const control = async (c) => (await fetch(base + '/_control', { method: 'POST', body: JSON.stringify(c) })).json();
      const getStats = async () => (await fetch(base + '/_stats')).json();
      resolve({ port: p, base, control, stats: getStats, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }) });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await startStub(Number(process.argv[2] || 0));
  console.log(`stub listening on ${s.port}`);
}
