// app.js - entry point of the memory inspector: sign-in (the key lives in sessionStorage
// only), the users sidebar with memory counts and pagination, and the hash routes
// #/ (overview) and #/u/<user>/<view> that pick what the main area shows.

import { api, getKey, setKey, clearKey, ApiError } from './api.js';
import { h, clear, showError, hideError, announce, notice } from './dom.js';
import { renderOverview, stopOverview } from './overview.js';
import { renderUser } from './user.js';

const $ = (id) => document.getElementById(id);
const PAGE = 50;
let users = [];
let usersNext = null;
let usersTotal = 0;

// ---- sign-in ------------------------------------------------------------------------------

function showSignIn(message) {
  stopOverview();
  $('app').hidden = true;
  $('session').hidden = true;
  $('signin').hidden = false;
  if (message) showError(message);
  $('key').value = '';
  $('key').focus();
}

async function signIn(key) {
  setKey(key);
  try {
    await api.users(1);
  } catch (err) {
    clearKey();
    showError(err, 'signing in');
    $('key').focus();
    return;
  }
  hideError();
  announce('Signed in');
  start();
}

export function signOut(err) {
  clearKey();
  users = [];
  location.hash = '#/';
  showSignIn(err);
}

// Every view reports failures here: a rejected key ends the session, the rest is shown.
export function fail(err, context) {
  if (err instanceof ApiError && (err.kind === 'auth' || err.kind === 'revoked')) {
    signOut(err);
    return;
  }
  showError(err, context);
}

// ---- users sidebar ------------------------------------------------------------------------

async function loadUsers(more) {
  try {
    const r = await api.users(PAGE, more ? usersNext : undefined);
    users = more ? users.concat(r.users) : r.users;
    usersNext = r.next_after;
    usersTotal = r.total;
    drawUsers();
  } catch (err) {
    fail(err, 'listing users');
  }
}

function drawUsers() {
  const list = clear($('users'));
  const filter = $('user-find').value.trim().toLowerCase();
  const current = route().user;
  const shown = users.filter((u) => !filter || u.user_id.toLowerCase().includes(filter));
  for (const u of shown) {
    const a = h('a', { href: `#/u/${encodeURIComponent(u.user_id)}/overview`, class: 'user-link' },
      h('span', { class: 'user-id' }, u.user_id),
      h('span', { class: 'count', 'aria-label': `${u.memories} memories` }, String(u.memories)));
    if (u.user_id === current) a.setAttribute('aria-current', 'page');
    list.append(h('li', {}, a));
  }
  if (!shown.length) list.append(h('li', { class: 'help' }, users.length ? 'No user matches.' : 'No users yet.'));
  const me = users.find((u) => u.user_id === current);
  const uc = document.getElementById('user-count');
  if (me && uc) uc.textContent = `${me.memories} memories`;
  $('users-more').hidden = !usersNext;
  $('users-total').textContent = `${users.length} of ${usersTotal} users`;
}

export function usersInfo() {
  return { users, total: usersTotal, more: !!usersNext };
}

// ---- routes -------------------------------------------------------------------------------

function route() {
  const m = location.hash.match(/^#\/u\/([^/]+)(?:\/([a-z]+))?/);
  if (!m) return { user: null, view: null };
  let user;
  try {
    user = decodeURIComponent(m[1]);
  } catch {
    user = null;
  }
  return { user, view: m[2] || 'overview' };
}

let flashText = null;
const ctx = {
  fail,
  flash: (text) => { flashText = text; },
  go: (hash) => { location.hash = hash; },
  refreshUsers: () => loadUsers(false),
  usersInfo,
};

let lastRoute = '';
function render() {
  if (getKey() === null) return;
  const r = route();
  const key = `${r.user}|${r.view}`;
  const main = $('main');
  const userChanged = lastRoute.split('|')[0] !== String(r.user);
  lastRoute = key;
  // The tab bar is redrawn: a keyboard user who chose a tab keeps the focus on it.
  const onTab = document.activeElement && document.activeElement.getAttribute('role') === 'tab';
  hideError();
  stopOverview();
  drawUsers();
  clear(main);
  if (r.user) renderUser(main, r.user, r.view, ctx);
  else renderOverview(main, ctx);
  if (flashText) {
    main.prepend(notice(flashText));
    announce(flashText);
    flashText = null;
  }
  if (userChanged) main.focus();
  else if (onTab) document.getElementById(`tab-${r.view}`)?.focus();
}

function start() {
  $('signin').hidden = true;
  $('app').hidden = false;
  $('session').hidden = false;
  const k = getKey();
  $('key-label').textContent = k ? `Key ${k.slice(0, 8)}…` : 'Development mode (no key)';
  lastRoute = '';
  loadUsers(false).then(render);
}

// ---- wiring -------------------------------------------------------------------------------

$('signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  signIn($('key').value.trim());
});
$('sign-out').addEventListener('click', () => {
  signOut(null);
  hideError();
  announce('Signed out');
});
$('users-more').addEventListener('click', () => loadUsers(true));
$('user-find').addEventListener('input', drawUsers);
$('user-filter').addEventListener('submit', (ev) => ev.preventDefault());
window.addEventListener('hashchange', render);

if (getKey() === null) showSignIn(null);
else start();
