// search.js - the ranked search over a user's memories (score, keyword and vector signals,
// which of them found each result) and the context preview: the exact prompt block for a
// question under a token budget chosen with a slider, with its token count.

import { api } from './api.js';
import { h, clear, fmtDate, fmtScore, announce } from './dom.js';
import { editMemory, deleteMemory, sourcesList } from './memories.js';

const last = new Map(); // user -> {query, mode, k, archived} of the last search

// Scores are not bounded by 1 (boosts add up): bars are relative to the best result.
function bar(value, label, top) {
  const v = Math.max(0, Math.min(1, (value || 0) / (top > 0 ? top : 1)));
  const meter = h('span', { class: 'meter', 'aria-hidden': 'true', title: `${label} ${fmtScore(value)}` }, h('span', { class: 'meter-fill' }));
  meter.firstChild.style.width = `${(v * 100).toFixed(1)}%`;
  return meter;
}

// Which signal found a result: a signal "found" it when its score is above zero. In hybrid
// mode a turn can also rank through a matching neighbour of the same session.
function foundBy(m, mode) {
  const by = [];
  if (m.score_keyword > 0) by.push('keyword');
  if (m.score_vector > 0) by.push('vector');
  if (!by.length && mode === 'hybrid') by.push('neighbour');
  return by;
}

const SIGNAL_HELP = {
  keyword: 'the words of the query matched (BM25)',
  vector: 'the meaning was close (cosine of the embeddings)',
  neighbour: 'a neighbouring turn of the same session matched',
};

export function renderSearch(panel, ctx) {
  const st = last.get(ctx.user) || { query: '', mode: 'hybrid', k: 10, archived: false };
  const q = h('input', { id: 'search-q', type: 'search', value: st.query, required: true, placeholder: 'e.g. what food should I avoid?' });
  const mode = h('select', { id: 'search-mode' }, ['hybrid', 'keyword', 'vector'].map((m) => h('option', { value: m, selected: m === st.mode }, m)));
  const k = h('input', { id: 'search-k', type: 'number', min: '1', max: '100', value: String(st.k) });
  const arch = h('input', { id: 'search-archived', type: 'checkbox', checked: st.archived });
  const form = h('form', { class: 'filters', role: 'search', id: 'search-form' },
    h('div', { class: 'field grow' }, h('label', { for: 'search-q' }, 'Search the memories'), q),
    h('div', { class: 'field' }, h('label', { for: 'search-mode' }, 'Mode'), mode),
    h('div', { class: 'field' }, h('label', { for: 'search-k' }, 'Results'), k),
    h('label', { class: 'check field' }, arch, ' include archived and superseded'),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Search')));
  const note = h('p', { class: 'help', id: 'search-note', 'aria-live': 'polite' });
  const results = h('ol', { class: 'results', id: 'search-results' });
  panel.append(form, note, results);

  const run = async () => {
    st.query = q.value.trim();
    st.mode = mode.value;
    st.k = Number(k.value) || 10;
    st.archived = arch.checked;
    last.set(ctx.user, st);
    if (!st.query) return;
    results.setAttribute('aria-busy', 'true');
    try {
      const r = await api.search(ctx.user, {
        query: st.query, mode: st.mode, k: st.k, status: st.archived ? 'active,archived,superseded' : undefined,
      });
      clear(results);
      note.textContent = `${r.count} result${r.count === 1 ? '' : 's'}, ${r.mode} search${r.note ? ` — ${r.note}` : ''}.`;
      const top = Math.max(0, ...r.memories.map((m) => m.score || 0));
      r.memories.forEach((m, i) => results.append(resultItem(m, i + 1, r.mode, top, ctx, run)));
      announce(note.textContent);
    } catch (err) {
      clear(results);
      note.textContent = '';
      ctx.fail(err, 'searching');
    } finally {
      results.setAttribute('aria-busy', 'false');
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    run();
  });
  if (st.query) run();
  else q.focus();
}

function resultItem(m, rank, mode, top, ctx, rerun) {
  const by = foundBy(m, mode);
  return h('li', { class: 'result', 'data-id': String(m.id) },
    h('div', { class: 'result-head' },
      h('span', { class: 'rank' }, `${rank}.`),
      h('span', { class: 'score' }, 'score ', h('strong', { class: 'score-value' }, fmtScore(m.score))), bar(m.score, 'score', top),
      h('span', { class: 'signals' }, 'keyword ', fmtScore(m.score_keyword), ' · vector ', fmtScore(m.score_vector)),
      h('span', { class: 'found-by' }, 'found by: ', by.length ? by.map((b) => h('span', { class: `tag sig-${b}`, title: SIGNAL_HELP[b] }, b)) : h('span', { class: 'tag' }, 'none'))),
    h('p', { class: 'result-text' }, m.role ? h('span', { class: 'role' }, `${m.role}: `) : null, m.text),
    h('p', { class: 'result-meta' },
      h('span', { class: `tag kind-${m.kind}` }, m.kind), ' ', h('span', { class: `tag status-${m.status}` }, m.status), ' ',
      m.session_id ? `session ${m.session_id} · ` : '', h('time', { datetime: m.created_at }, fmtDate(m.created_at)), ' · #', String(m.id), ' ',
      h('button', { type: 'button', class: 'link', 'aria-label': `Edit memory ${m.id}`, onclick: () => editMemory(m, ctx, rerun) }, 'Edit'),
      h('button', { type: 'button', class: 'link danger-text', 'aria-label': `Delete memory ${m.id}`, onclick: () => deleteMemory(m, ctx, rerun) }, 'Delete')),
    m.sources && m.sources.length ? sourcesList(m.sources, ctx) : null);
}

const lastCtx = new Map(); // user -> {question, budget}

export function renderContext(panel, ctx) {
  const st = lastCtx.get(ctx.user) || { question: '', budget: 500 };
  const q = h('textarea', { id: 'ctx-q', rows: '2', required: true, placeholder: 'e.g. Where should I sit on the plane?' });
  q.value = st.question;
  const slider = h('input', { id: 'ctx-budget', type: 'range', min: '50', max: '4000', step: '50', value: String(st.budget), 'aria-describedby': 'ctx-budget-value' });
  const shown = h('output', { id: 'ctx-budget-value', for: 'ctx-budget' }, `${st.budget} tokens`);
  const form = h('form', { class: 'card form-grid', id: 'context-form' },
    h('label', { for: 'ctx-q' }, 'Question the application is about to answer'), q,
    h('label', { for: 'ctx-budget' }, 'Token budget of the whole block'), h('div', { class: 'slider' }, slider, shown),
    h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Preview context')));
  const out = h('div', { id: 'context-out', 'aria-live': 'polite' });
  panel.append(h('p', { class: 'help' }, 'Shows exactly what mnemo would put in front of the model for this question: the prompt block, its token count (exact BPE count) and the memories it holds.'), form, out);

  let seq = 0;
  const run = async () => {
    st.question = q.value.trim();
    st.budget = Number(slider.value);
    lastCtx.set(ctx.user, st);
    if (!st.question) return;
    const mine = ++seq;
    out.setAttribute('aria-busy', 'true');
    try {
      const r = await api.context(ctx.user, { query: st.question, max_tokens: st.budget });
      if (mine !== seq) return;
      drawContext(out, r);
    } catch (err) {
      if (mine !== seq) return;
      clear(out);
      ctx.fail(err, 'building the context');
    } finally {
      out.setAttribute('aria-busy', 'false');
    }
  };
  let timer = null;
  slider.addEventListener('input', () => {
    shown.textContent = `${slider.value} tokens`;
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    run();
  });
  if (st.question) run();
  else q.focus();
}

function drawContext(out, r) {
  const t = r.tokens || {};
  const s = r.stats || {};
  clear(out);
  out.append(
    h('p', { class: 'token-line', id: 'ctx-tokens' },
      h('strong', {}, `${t.used} of ${t.budget} tokens`), ` (${t.encoding}${t.estimated ? ', estimated' : ', exact'}) · `,
      `${r.items.length} memor${r.items.length === 1 ? 'y' : 'ies'} in the block · ${s.candidates} candidates, ${s.below_score} below the relevance threshold, ${s.duplicates} duplicates, ${s.over_budget} over the budget`),
    h('h3', {}, 'Prompt block'),
    h('pre', { class: 'prompt', id: 'ctx-prompt', tabindex: '0', 'aria-label': 'Prompt block' }, r.prompt),
    h('h3', {}, 'Memories in the block'),
    r.items.length
      ? h('table', { class: 'data', id: 'ctx-items' },
        h('thead', {}, h('tr', {}, ['section', '#', 'kind', 'relevance', 'tokens', 'date', 'text'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, r.items.map((it) => h('tr', {},
          h('td', {}, it.section), h('td', { class: 'num' }, String(it.id)), h('td', {}, it.kind),
          h('td', { class: 'num' }, fmtScore(it.relevance)), h('td', { class: 'num' }, String(it.tokens)),
          h('td', { class: 'nowrap' }, fmtDate(it.created_at)), h('td', { class: 'text' }, it.text)))))
      : h('p', { class: 'help' }, 'Nothing remembered is relevant enough to this question; only the question would be sent.'));
}
