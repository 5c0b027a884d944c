// overview.js - the tenant's overview: users with the most memories, the store's size and
// the server's request rate and latency, sampled from /metrics every few seconds while the
// view is open.

import { h, fmtBytes } from './dom.js';
import { stackedBars, sparkline } from './charts.js';
import { sample } from './metrics.js';

const POLL_MS = 3000;
let timer = null;

export function stopOverview() {
  if (timer) clearInterval(timer);
  timer = null;
}

function stat(label, value, id) {
  return h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { id }, value));
}

export function renderOverview(main, ctx) {
  const { users, total, more } = ctx.usersInfo();
  const sum = users.reduce((a, u) => a + u.memories, 0);
  main.append(h('h2', { id: 'view-title' }, 'Overview'));
  main.append(h('p', { class: 'lead' }, 'Pick a user on the left to see, search, correct or forget what mnemo remembers about them.'));

  main.append(h('dl', { class: 'stats' },
    stat('Users in this tenant', String(total), 'stat-users'),
    stat(more ? `Memories (first ${users.length} users)` : 'Memories in this tenant', String(sum), 'stat-memories'),
    stat('Store file size', '…', 'stat-store'),
    stat('Memories, all tenants', '…', 'stat-all')));

  const top = [...users].sort((a, b) => b.memories - a.memories).slice(0, 10);
  const usersBox = h('section', { class: 'card', 'aria-labelledby': 'chart-users-title' },
    h('h3', { id: 'chart-users-title' }, 'Users with the most memories'));
  if (top.length) {
    usersBox.append(stackedBars(top.map((u) => ({ label: u.user_id, parts: [{ name: 'memories', value: u.memories }] })),
      [{ name: 'memories', cls: 'c1' }], { title: 'Memories per user' }));
  } else {
    usersBox.append(h('p', { class: 'help' }, 'No users yet: memories appear here once an application stores messages.'));
  }

  const live = h('section', { class: 'card', 'aria-labelledby': 'chart-live-title' },
    h('h3', { id: 'chart-live-title' }, 'Server activity'),
    h('p', { class: 'help' }, `Sampled from /metrics every ${POLL_MS / 1000} s while this page is open; the inspector's own requests are not counted.`));
  const rateBox = h('figure', { class: 'spark-box' });
  const latBox = h('figure', { class: 'spark-box' });
  const routesBox = h('div', { class: 'routes-box' });
  live.append(h('div', { class: 'sparks' }, rateBox, latBox), routesBox);
  main.append(h('div', { class: 'cards' }, usersBox, live));

  const draw = (s) => {
    const n = s.now;
    const put = (id, v) => {
      const el = document.getElementById(id);
      if (el) el.textContent = v;
    };
    put('stat-store', fmtBytes(n.storeBytes));
    put('stat-all', Number.isFinite(n.memories) ? String(n.memories) : '–');
    const lastRate = s.rate.length ? s.rate[s.rate.length - 1] : NaN;
    const lastLat = [...s.latency].reverse().find((v) => Number.isFinite(v));
    rateBox.replaceChildren(
      h('figcaption', {}, 'Requests per second: ', h('strong', { id: 'rate-now' }, Number.isFinite(lastRate) ? lastRate.toFixed(2) : '…')),
      sparkline(s.rate, { title: 'Requests per second', fmt: (v) => v.toFixed(2) }));
    latBox.replaceChildren(
      h('figcaption', {}, 'Mean latency: ', h('strong', { id: 'latency-now' }, lastLat !== undefined ? `${lastLat.toFixed(2)} ms` : 'no requests yet')),
      sparkline(s.latency, { title: 'Mean latency', fmt: (v) => v.toFixed(2), unit: ' ms' }));
    const routes = Object.entries(n.routes).filter(([, r]) => r.count > 0)
      .map(([name, r]) => ({ label: name, parts: [{ name: 'mean ms since start', value: (r.sum / r.count) * 1000 }] }))
      .sort((a, b) => b.parts[0].value - a.parts[0].value).slice(0, 8);
    routesBox.replaceChildren(h('h4', {}, 'Mean latency per route since the server started'),
      routes.length ? stackedBars(routes, [{ name: 'mean ms since start', cls: 'c2' }],
        { title: 'Mean latency per route in milliseconds', fmt: (v) => `${v.toFixed(2)} ms` })
        : h('p', { class: 'help' }, 'No API requests yet.'));
  };

  const tick = async () => {
    try {
      draw(await sample());
    } catch (err) {
      stopOverview();
      ctx.fail(err, 'reading /metrics');
    }
  };
  tick();
  timer = setInterval(tick, POLL_MS);
}
