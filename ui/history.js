// history.js - summaries written by compaction, each with the messages it stands for
// (expandable), and the history of preferences and facts that newer statements superseded,
// each next to the memory that replaced it.

import { api } from './api.js';
import { h, clear, fmtDate, notice } from './dom.js';
import { sourcesList, details } from './memories.js';

const PAGE = 50;

async function pages(user, filters, max) {
  const out = [];
  let after;
  do {
    const r = await api.memories(user, { ...filters, limit: PAGE, after });
    out.push(...r.memories);
    after = r.next_after;
  } while (after && out.length < max);
  return { memories: out, more: !!after };
}

export async function renderSummaries(panel, ctx) {
  const list = h('ul', { class: 'cards-list', id: 'summaries' });
  const help = h('p', { class: 'help', 'aria-live': 'polite' }, 'Loading…');
  panel.append(help, list);
  try {
    const r = await pages(ctx.user, { kind: 'summary', status: 'active,archived,superseded' }, 200);
    help.textContent = r.memories.length
      ? `${r.memories.length}${r.more ? '+' : ''} summar${r.memories.length === 1 ? 'y' : 'ies'}, newest first. Open “Sources” to see the messages a summary stands for.`
      : 'No summaries yet. Compaction (tab “Compact & forget”) writes them from related messages.';
    for (const m of r.memories) {
      list.append(h('li', { class: 'card', 'data-id': String(m.id) },
        h('p', { class: 'result-meta' }, h('span', { class: `tag status-${m.status}` }, m.status), ' ',
          m.session_id ? `session ${m.session_id} · ` : '', h('time', { datetime: m.created_at }, fmtDate(m.created_at)), ` · #${m.id}`),
        h('p', { class: 'result-text' }, m.text),
        m.sources && m.sources.length ? sourcesList(m.sources, ctx) : h('p', { class: 'help' }, 'No sources recorded.')));
    }
  } catch (err) {
    help.textContent = '';
    ctx.fail(err, 'listing summaries');
  }
}

export async function renderHistory(panel, ctx) {
  const list = h('ul', { class: 'cards-list', id: 'history' });
  const help = h('p', { class: 'help', 'aria-live': 'polite' }, 'Loading…');
  panel.append(h('p', { class: 'help' }, 'Preferences and facts that a newer statement replaced. Edits of a memory are listed under “Details” in the Memories tab.'), help, list);
  try {
    const r = await pages(ctx.user, { kind: 'preference,fact', status: 'superseded' }, 200);
    help.textContent = r.memories.length
      ? `${r.memories.length}${r.more ? '+' : ''} superseded preference${r.memories.length === 1 ? '' : 's'} or fact${r.memories.length === 1 ? '' : 's'}, newest first.`
      : 'Nothing superseded: no preference or fact has been replaced by a newer one.';
    const replacements = new Map();
    for (const m of r.memories) {
      const newer = h('div', { class: 'newer' }, h('span', { class: 'help' }, m.superseded_by ? `replaced by #${m.superseded_by}…` : 'replacement unknown'));
      const more = h('div', {});
      const btn = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false' }, 'Details');
      btn.addEventListener('click', async () => {
        const open = btn.getAttribute('aria-expanded') !== 'true';
        btn.setAttribute('aria-expanded', String(open));
        clear(more);
        if (open) more.append(await details(m, ctx));
      });
      list.append(h('li', { class: 'card', 'data-id': String(m.id) },
        h('p', { class: 'result-meta' }, h('span', { class: `tag kind-${m.kind}` }, m.kind), ' ',
          m.metadata && m.metadata.subject ? `subject ${m.metadata.subject} · ` : '',
          h('time', { datetime: m.created_at }, fmtDate(m.created_at)), ` · #${m.id} `, btn),
        h('p', { class: 'result-text old' }, h('span', { class: 'visually-hidden' }, 'Old: '), m.text),
        newer, more));
      if (m.superseded_by) {
        if (!replacements.has(m.superseded_by)) {
          replacements.set(m.superseded_by, api.memory(ctx.user, m.superseded_by).catch(() => null));
        }
        replacements.get(m.superseded_by).then((x) => {
          newer.replaceChildren(x
            ? h('p', { class: 'result-text' }, h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→ '), h('span', { class: 'visually-hidden' }, 'Replaced by: '),
              x.text, h('span', { class: 'help' }, ` (#${x.id}, ${x.status}, ${fmtDate(x.created_at)})`))
            : notice(`replaced by #${m.superseded_by}, which no longer exists`, 'info'));
        });
      }
    }
  } catch (err) {
    help.textContent = '';
    ctx.fail(err, 'listing the history');
  }
}
