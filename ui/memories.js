// memories.js - a user's memories as a table (kind, status, session, date, text) with
// filters and cursor pagination, and the per-memory actions shared with the other views:
// details (metadata, sources, earlier versions), edit (PATCH) and delete.

import { api } from './api.js';
import { h, clear, fmtDate, notice, announce, openDialog } from './dom.js';

const KINDS = ['message', 'preference', 'fact', 'summary'];
const STATUSES = ['active', 'archived', 'superseded'];

// Per user, the filters survive switching tabs (not reloads).
const saved = new Map();

function toMs(dateStr, endOfDay) {
  if (!dateStr) return undefined;
  const d = new Date(`${dateStr}T00:00:00`);
  if (endOfDay) d.setDate(d.getDate() + 1);
  return d.getTime();
}

export function renderMemories(panel, ctx) {
  const user = ctx.user;
  const st = saved.get(user) || { kinds: [], statuses: ['active'], session: '', since: '', until: '', limit: 20 };
  saved.set(user, st);
  let cursors = [null]; // cursor of each page shown so far; the last one is the current page
  let next = null;

  const box = (name, values, chosen, legend) => h('fieldset', { class: 'checks' }, h('legend', {}, legend),
    values.map((v) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name, value: v, checked: chosen.includes(v) }), ` ${v}`)));
  const session = h('input', { id: 'f-session', type: 'text', value: st.session, placeholder: 'any' });
  const since = h('input', { id: 'f-since', type: 'date', value: st.since });
  const until = h('input', { id: 'f-until', type: 'date', value: st.until });
  const limit = h('select', { id: 'f-limit' }, [10, 20, 50, 100].map((n) => h('option', { value: String(n), selected: n === st.limit }, String(n))));
  const form = h('form', { class: 'filters', id: 'memory-filters', 'aria-label': 'Filter memories' },
    box('kind', KINDS, st.kinds, 'Kind (none: all)'),
    box('status', STATUSES, st.statuses, 'Status'),
    h('div', { class: 'field' }, h('label', { for: 'f-session' }, 'Session'), session),
    h('div', { class: 'field' }, h('label', { for: 'f-since' }, 'From'), since),
    h('div', { class: 'field' }, h('label', { for: 'f-until' }, 'To'), until),
    h('div', { class: 'field' }, h('label', { for: 'f-limit' }, 'Per page'), limit),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Apply filters')));
  const summary = h('p', { class: 'help', id: 'memories-summary', 'aria-live': 'polite' });
  const table = h('table', { class: 'data', id: 'memories-table' });
  const prev = h('button', { type: 'button', id: 'page-prev', disabled: true }, '← Newer');
  const nextBtn = h('button', { type: 'button', id: 'page-next', disabled: true }, 'Older →');
  panel.append(form, summary, h('div', { class: 'table-wrap' }, table), h('div', { class: 'pager' }, prev, nextBtn));

  const read = () => {
    st.kinds = [...form.querySelectorAll('input[name=kind]:checked')].map((i) => i.value);
    st.statuses = [...form.querySelectorAll('input[name=status]:checked')].map((i) => i.value);
    st.session = session.value.trim();
    st.since = since.value;
    st.until = until.value;
    st.limit = Number(limit.value);
  };

  const load = async () => {
    table.setAttribute('aria-busy', 'true');
    try {
      const r = await api.memories(user, {
        kind: st.kinds, status: st.statuses.length ? st.statuses : STATUSES, session_id: st.session,
        since: toMs(st.since, false), until: toMs(st.until, true), limit: st.limit, after: cursors[cursors.length - 1],
      });
      next = r.next_after;
      const first = (cursors.length - 1) * st.limit;
      summary.textContent = r.count
        ? `Memories ${first + 1}–${first + r.count} of ${r.total}, newest first.`
        : (r.total ? 'No more memories.' : 'No memory matches these filters.');
      drawTable(table, r.memories, ctx, { onChange: load });
      prev.disabled = cursors.length <= 1;
      nextBtn.disabled = !next;
    } catch (err) {
      clear(table);
      summary.textContent = '';
      ctx.fail(err, 'listing memories');
    } finally {
      table.setAttribute('aria-busy', 'false');
    }
  };

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    read();
    cursors = [null];
    load();
  });
  prev.addEventListener('click', () => {
    cursors.pop();
    load();
  });
  nextBtn.addEventListener('click', () => {
    cursors.push(next);
    load();
  });
  load();
}

function drawTable(table, memories, ctx, { onChange }) {
  clear(table);
  table.append(h('caption', { class: 'visually-hidden' }, `Memories of ${ctx.user}`),
    h('thead', {}, h('tr', {}, ['#', 'kind', 'status', 'session', 'date', 'text', 'actions'].map((c) => h('th', { scope: 'col' }, c)))));
  const body = h('tbody', {});
  for (const m of memories) body.append(...memoryRows(m, ctx, onChange));
  table.append(body);
}

function memoryRows(m, ctx, onChange) {
  const detail = h('tr', { class: 'detail', hidden: true, id: `detail-${m.id}` }, h('td', { colspan: '7' }));
  const more = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false', 'aria-controls': `detail-${m.id}` }, 'Details');
  more.addEventListener('click', async () => {
    const open = detail.hidden;
    detail.hidden = !open;
    more.setAttribute('aria-expanded', String(open));
    if (open) {
      const cell = clear(detail.firstChild);
      cell.append(await details(m, ctx));
    }
  });
  const row = h('tr', { 'data-id': String(m.id) },
    h('td', { class: 'num' }, String(m.id)),
    h('td', {}, h('span', { class: `tag kind-${m.kind}` }, m.kind)),
    h('td', {}, h('span', { class: `tag status-${m.status}` }, m.status)),
    h('td', {}, m.session_id || '–'),
    h('td', { class: 'nowrap' }, h('time', { datetime: m.created_at }, fmtDate(m.created_at))),
    h('td', { class: 'text' }, m.role ? h('span', { class: 'role' }, `${m.role}: `) : null, m.text),
    h('td', { class: 'actions' }, more,
      h('button', { type: 'button', class: 'link', 'aria-label': `Edit memory ${m.id}`, onclick: () => editMemory(m, ctx, onChange) }, 'Edit'),
      h('button', { type: 'button', class: 'link danger-text', 'aria-label': `Delete memory ${m.id}`, onclick: () => deleteMemory(m, ctx, onChange) }, 'Delete')));
  return [row, detail];
}

// Metadata, sources (each fetched when shown) and the earlier versions of one memory.
export async function details(m, ctx) {
  const box = h('div', { class: 'details' });
  let full;
  try {
    full = await api.memory(ctx.user, m.id);
  } catch (err) {
    ctx.fail(err, `reading memory ${m.id}`);
    return box;
  }
  box.append(h('dl', { class: 'kv' },
    h('dt', {}, 'id'), h('dd', {}, String(full.id)),
    h('dt', {}, 'created'), h('dd', {}, fmtDate(full.created_at)),
    full.superseded_by ? [h('dt', {}, 'superseded by'), h('dd', {}, `#${full.superseded_by}`)] : null,
    h('dt', {}, 'metadata'), h('dd', {}, h('code', {}, full.metadata ? JSON.stringify(full.metadata) : 'none'))));
  if (full.sources && full.sources.length) box.append(sourcesList(full.sources, ctx));
  if (full.history && full.history.length) {
    box.append(h('h4', {}, `Earlier versions (${full.history.length})`),
      h('ol', { class: 'history' }, full.history.map((v) =>
        h('li', {}, h('time', { datetime: v.updated_at }, fmtDate(v.updated_at)), ' ', h('span', { class: `tag status-${v.status}` }, v.status), ' ', v.text))));
  }
  return box;
}

// A <details> listing the memories a summary or extracted memory came from.
export function sourcesList(ids, ctx) {
  const list = h('ul', { class: 'sources' });
  const d = h('details', { class: 'sources-box' }, h('summary', {}, `Sources (${ids.length})`), list);
  let loaded = false;
  d.addEventListener('toggle', async () => {
    if (!d.open || loaded) return;
    loaded = true;
    list.append(h('li', { class: 'help' }, 'Loading…'));
    const items = await Promise.all(ids.map((id) => api.memory(ctx.user, id).then((x) => ({ id, x }), (err) => ({ id, err }))));
    clear(list);
    for (const { id, x, err } of items) {
      if (x) list.append(h('li', { 'data-id': String(id) }, h('span', { class: 'num' }, `#${id}`), ' ', h('span', { class: `tag status-${x.status}` }, x.status), ' ',
        h('time', { datetime: x.created_at }, fmtDate(x.created_at)), ' ', x.role ? `${x.role}: ` : '', x.text));
      else list.append(h('li', { class: 'help' }, `#${id}: ${err.status === 404 ? 'deleted' : err.message}`));
    }
  });
  return d;
}

export async function editMemory(m, ctx, onChange) {
  const text = h('textarea', { id: 'edit-text', rows: '5' });
  text.value = m.text;
  const status = h('select', { id: 'edit-status' }, STATUSES.map((s) => h('option', { value: s, selected: s === m.status }, s)));
  const meta = h('textarea', { id: 'edit-meta', rows: '3', spellcheck: 'false' });
  meta.value = m.metadata ? JSON.stringify(m.metadata) : '';
  const err = h('p', { class: 'field-error', id: 'edit-error', role: 'alert' });
  let saved = null;
  await openDialog({
    title: `Edit memory #${m.id}`,
    ok: 'Save',
    body: h('div', { class: 'form-grid' },
      h('label', { for: 'edit-text' }, 'Text'), text,
      h('label', { for: 'edit-status' }, 'Status'), status,
      h('label', { for: 'edit-meta' }, 'Metadata (JSON object, empty for none)'), meta, err,
      h('p', { class: 'help' }, 'The previous version is kept in the memory\'s history.')),
    onOk: async () => {
      const patch = {};
      if (text.value !== m.text) patch.text = text.value;
      if (status.value !== m.status) patch.status = status.value;
      const before = m.metadata ? JSON.stringify(m.metadata) : '';
      if (meta.value.trim() !== before) {
        try {
          const v = meta.value.trim() ? JSON.parse(meta.value) : null;
          if (v !== null && (typeof v !== 'object' || Array.isArray(v))) throw new Error('not an object');
          patch.metadata = v;
        } catch (e) {
          err.textContent = `Metadata must be a JSON object: ${e.message}`;
          return false;
        }
      }
      if (!Object.keys(patch).length) {
        err.textContent = 'Nothing changed.';
        return false;
      }
      try {
        saved = await api.patch(ctx.user, m.id, patch);
      } catch (e) {
        if (e.kind === 'client') {
          err.textContent = `${e.message}${e.hint ? ` (${e.hint})` : ''}`;
          return false;
        }
        ctx.fail(e, `saving memory ${m.id}`);
      }
      return true;
    },
  });
  if (saved) {
    announce(`Memory ${m.id} saved`);
    if (onChange) await onChange();
    const n = flashNear(`Memory #${m.id} saved.`);
    // The table was redrawn: give the focus back to the same memory's Edit button.
    const again = document.querySelector(`#panel [data-id="${m.id}"] button[aria-label="Edit memory ${m.id}"]`);
    (again || n)?.focus();
  }
}

export async function deleteMemory(m, ctx, onChange) {
  let done = false;
  await openDialog({
    title: `Delete memory #${m.id}?`,
    ok: 'Delete',
    danger: true,
    body: h('div', {}, h('p', {}, `This memory of “${ctx.user}” will be forgotten for good:`), h('blockquote', {}, m.text)),
    onOk: async () => {
      try {
        await api.remove(ctx.user, m.id);
        done = true;
      } catch (e) {
        ctx.fail(e, `deleting memory ${m.id}`);
      }
    },
  });
  if (done) {
    announce(`Memory ${m.id} deleted`);
    ctx.refreshUsers();
    if (onChange) await onChange();
    flashNear(`Memory #${m.id} deleted.`)?.focus();
  }
}

// A short confirmation at the top of the current panel.
function flashNear(text) {
  const panel = document.getElementById('panel');
  if (!panel) return null;
  panel.querySelectorAll('.notice.flash').forEach((n) => n.remove());
  const n = notice(text);
  n.classList.add('flash');
  n.id = 'flash';
  n.tabIndex = -1;
  panel.prepend(n);
  return n;
}
