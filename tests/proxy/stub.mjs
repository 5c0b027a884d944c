// stub.mjs - a local stand-in for an OpenAI-compatible upstream (no network, no LLM): it
// records every request it receives and answers /v1/chat/completions (JSON or a stream of
// server-sent events) and /v1/models. The model name picks the behaviour:
//   fail-429, fail-500   an error with that status and OpenAI's error body
//   hang                 no answer at all
//   gated                a stream that sends two chunks, waits for stub.openGate(), then
//                        trickles the rest (one chunk every 30 ms)
//   anything else        "Echo: <last user message>" (streamed in pieces when asked)
import http from 'node:http';

function lastUserText(messages) {
  const u = [...(messages || [])].reverse().find((m) => m.role === 'user');
  if (!u) return '';
  return typeof u.content === 'string' ? u.content
    : (u.content || []).filter((p) => p.type === 'text').map((p) => p.text).join('\n');
}

const chunk = (id, model, delta, finish = null) => `data: ${JSON.stringify({
  id, object: 'chat.completion.chunk', created: 1700000000, model,
  choices: [{ index: 0, delta, finish_reason: finish }],
})}\n\n`;

export async function startStub() {
  const stub = { seen: [], closed: 0, url: '', gate: null, gateSeen: null };
  let openGate;
  const resetGate = () => {
    stub.gate = new Promise((r) => { openGate = r; });
    stub.gateReached = new Promise((r) => { stub.reachGate = r; });
  };
  resetGate();
  stub.openGate = () => { openGate(); };
  stub.resetGate = resetGate;

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => { raw += d; });
    req.on('end', async () => {
      let body = null;
      try { body = raw ? JSON.parse(raw) : null; } catch { body = { unparsable: raw }; }
      const rec = { method: req.method, path: req.url, headers: req.headers, body, finished: false };
      stub.seen.push(rec);
      res.on('close', () => { if (!res.writableFinished) stub.closed++; });
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'x-request-id': 'req_stub_models' });
        res.end(JSON.stringify({ object: 'list', data: [
          { id: 'stub-model', object: 'model', created: 1700000000, owned_by: 'stub' },
          { id: 'gated', object: 'model', created: 1700000000, owned_by: 'stub' },
        ] }));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `stub: no route ${req.method} ${req.url}`, type: 'invalid_request_error' } }));
        return;
      }
      const model = body.model || 'stub-model';
      if (model === 'fail-429') {
        res.writeHead(429, { 'Content-Type': 'application/json', 'retry-after': '7', 'x-ratelimit-remaining-requests': '0' });
        res.end(JSON.stringify({ error: { message: 'Rate limit reached for stub-model', type: 'requests', code: 'rate_limit_exceeded' } }));
        return;
      }
      if (model === 'fail-500') {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'The stub had an error while processing your request', type: 'server_error' } }));
        return;
      }
      if (model === 'hang') { // answers nothing until the client gives up (15 s at most)
        setTimeout(() => { if (!res.destroyed) res.destroy(); }, 15000);
        return;
      }
      const reply = `Echo: ${lastUserText(body.messages)}`;
      const id = `chatcmpl-${stub.seen.length}`;
      if (!body.stream) {
        res.writeHead(200, { 'Content-Type': 'application/json', 'x-request-id': `req_${id}`, 'openai-processing-ms': '5' });
        res.end(JSON.stringify({
          id, object: 'chat.completion', created: 1700000000, model,
          choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
        }));
        rec.finished = true;
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write(chunk(id, model, { role: 'assistant', content: '' }));
      const pieces = reply.match(/.{1,6}/gs) || [''];
      res.write(chunk(id, model, { content: pieces[0] }));
      if (model === 'gated') {
        stub.reachGate();
        const r = await Promise.race([stub.gate.then(() => 'open'), new Promise((t) => setTimeout(() => t('timeout'), 15000))]);
        if (r !== 'open' || res.destroyed) { res.destroy(); return; }
      }
      // The gated stream trickles on, so that a proxy that gives up shows as a closed request.
      for (const p of pieces.slice(1)) {
        if (res.destroyed) return;
        res.write(chunk(id, model, { content: p }));
        if (model === 'gated') await new Promise((t) => setTimeout(t, 30));
      }
      if (res.destroyed) return;
      res.write(chunk(id, model, {}, 'stop'));
      res.end('data: [DONE]\n\n');
      rec.finished = true;
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  stub.port = server.address().port;
  stub.url = `http://127.0.0.1:${stub.port}/v1`;
  stub.close = () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); });
  stub.last = () => stub.seen[stub.seen.length - 1];
  return stub;
}
