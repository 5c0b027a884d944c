// user.js - one user's page: the tab bar, their memories per kind and status, and the
// maintenance actions (run compaction and show its result, forget the user after a
// confirmation that names them). The other tabs live in their own modules.

import { api } from './api.js';
import { h, tabs, notice, announce, openDialog } from './dom.js';
import { stackedBars } from './charts.js';
import { renderMemories } from './memories.js';
import { renderSearch, renderContext } from './search.js';
import { renderSummaries, renderHistory } from './history.js';

export const KINDS = ['message', 'preference', 'fact', 'summary'];
export const STATUSES = ['active', 'archived', 'superseded'];

const VIEWS = [
  ['overview', 'Overview'],
  ['memories', 'Memories'],
  ['search', 'Search'],
  ['context', 'Context preview'],
  ['summaries', 'Summaries'],
  ['history', 'History'],
  ['manage', 'Compact & forget'],
];

export function renderUser(main, user, view, ctx) {
  if (!VIEWS.some(([id]) => id === view)) view = 'overview';
  const info = ctx.usersInfo().users.find((u) => u.user_id === user);
  main.append(h('h2', { id: 'view-title', class: 'user-title' }, h('span', { class: 'muted' }, 'User '), user,
    info ? h('span', { class: 'count big', id: 'user-count' }, `${info.memories} memories`) : null));
  const base = `#/u/${encodeURIComponent(user)}/`;
  tabs(main, VIEWS, view, (id, byKey) => {
    ctx.go(base + id);
    if (byKey) setTimeout(() => document.getElementById(`tab-${id}`)?.focus(), 0);
  });
  const panel = h('section', { id: 'panel', role: 'tabpanel', 'aria-labelledby': `tab-${view}`, class: 'panel' });
  main.append(panel);
  const uctx = { ...ctx, user };
  ({
    overview: renderUserOverview,
    memories: renderMemories,
    search: renderSearch,
    context: renderContext,
    summaries: renderSummaries,
    history: renderHistory,
    manage: renderManage,
  })[view](panel, uctx);
}

// Counts per kind and status: the list's total under each filter (limit 1, one request each).
async function counts(user) {
  const jobs = [];
  for (const kind of KINDS) {
    for (const status of STATUSES) {
      jobs.push(api.memories(user, { kind, status, limit: 1 }).then((r) => ({ kind, status, n: r.total })));
    }
  }
  return Promise.all(jobs);
}

async function renderUserOverview(panel, ctx) {
  panel.append(h('h3', {}, 'Memories per kind and status'));
  const box = h('div', { class: 'card', 'aria-busy': 'true' }, h('p', { class: 'help' }, 'Counting…'));
  panel.append(box);
  try {
    const c = await counts(ctx.user);
    const rows = KINDS.map((kind) => ({
      label: kind,
      parts: STATUSES.map((status) => ({ name: status, value: c.find((x) => x.kind === kind && x.status === status).n })),
    }));
    const table = h('table', { class: 'data compact-table', id: 'kind-status' },
      h('caption', { class: 'visually-hidden' }, 'Memories per kind and status'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'kind'), STATUSES.map((s) => h('th', { scope: 'col' }, s)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row' }, r.label), r.parts.map((p) => h('td', { class: 'num' }, String(p.value)))))));
    box.replaceChildren(
      stackedBars(rows, [{ name: 'active', cls: 'c1' }, { name: 'archived', cls: 'c3' }, { name: 'superseded', cls: 'c4' }],
        { title: 'Memories per kind and status' }),
      table);
    box.setAttribute('aria-busy', 'false');
  } catch (err) {
    box.replaceChildren(notice('Could not count the memories.', 'error'));
    ctx.fail(err, 'counting memories');
  }
}

function renderManage(panel, ctx) {
  const user = ctx.user;
  // Compaction.
  const keep = h('input', { id: 'compact-keep', type: 'number', min: '-1', max: '100000', value: '20', 'aria-describedby': 'compact-keep-help' });
  const dry = h('input', { id: 'compact-dry', type: 'checkbox' });
  const out = h('div', { id: 'compact-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'card form-grid', id: 'compact-form' },
    h('h3', {}, 'Compaction'),
    h('p', { class: 'help' }, 'Related messages are summarized; the messages are archived (still searchable as archived) and the summary points to them.'),
    h('label', { for: 'compact-keep' }, 'Newest messages to keep raw'), keep,
    h('p', { class: 'help', id: 'compact-keep-help' }, '0 takes the server default (20); -1 compacts every message.'),
    h('label', { class: 'check' }, dry, ' Dry run (only report what would change)'),
    h('div', {}, h('button', { type: 'submit', class: 'primary', id: 'compact-run' }, 'Run compaction')),
    out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = form.querySelector('#compact-run');
    btn.disabled = true;
    out.replaceChildren(h('p', { class: 'help' }, 'Compacting…'));
    try {
      const r = await api.compact(user, { keep_recent: Number(keep.value), dry_run: dry.checked });
      out.replaceChildren(
        notice(`${r.dry_run ? 'Dry run: would write' : 'Wrote'} ${r.summaries} summar${r.summaries === 1 ? 'y' : 'ies'} and ${r.dry_run ? 'archive' : 'archived'} ${r.archived} message${r.archived === 1 ? '' : 's'}.`),
        h('dl', { class: 'kv' },
          ['active_before', 'active_after', 'candidates', 'summaries', 'archived', 'method', 'duration_ms'].map((k) =>
            [h('dt', {}, k.replace('_', ' ')), h('dd', { 'data-field': k }, String(r[k]))])));
      announce('Compaction finished');
      if (!r.dry_run) ctx.refreshUsers();
    } catch (err) {
      out.replaceChildren();
      ctx.fail(err, 'compacting');
    } finally {
      btn.disabled = false;
    }
  });
  panel.append(form);

  // Forget the user.
  const forgetBox = h('div', { class: 'card danger-zone' },
    h('h3', {}, 'Forget this user'),
    h('p', {}, `Deletes every memory of “${user}” for good (GDPR erasure). Summaries and earlier versions go with them.`),
    h('button', { type: 'button', class: 'danger', id: 'forget-open', onclick: () => forget(ctx) }, `Forget ${user}…`));
  panel.append(forgetBox);
}

async function forget(ctx) {
  const user = ctx.user;
  let result = null;
  const ok = await openDialog({
    title: `Forget user “${user}”?`,
    ok: `Forget ${user}`,
    danger: true,
    body: (okBtn) => {
      const input = h('input', { id: 'confirm-user', type: 'text', autocomplete: 'off', spellcheck: 'false' });
      okBtn.disabled = true;
      input.addEventListener('input', () => { okBtn.disabled = input.value !== user; });
      return h('div', {},
        h('p', {}, `Every memory of the user “${user}” will be deleted. This cannot be undone.`),
        h('label', { for: 'confirm-user' }, `Type the user id “${user}” to confirm`), input);
    },
    onOk: async () => {
      try {
        result = await api.forget(user);
      } catch (err) {
        ctx.fail(err, `forgetting ${user}`);
      }
    },
  });
  if (!ok || !result) return;
  ctx.flash(`Forgot user “${result.user_id}”: ${result.deleted} memories deleted.`);
  await ctx.refreshUsers();
  ctx.go('#/');
}
