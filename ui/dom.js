// dom.js - small helpers shared by the views: element builder (text only, never HTML
// strings, so stored memories cannot inject markup), dates, sizes, the error banner, polite
// announcements and the confirmation dialog.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k in el && k !== 'list' && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function fmtDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fmtBytes(n) {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function fmtScore(x) {
  return typeof x === 'number' ? x.toFixed(3) : '–';
}

const banner = () => document.getElementById('banner');

const titles = {
  auth: 'Wrong API key',
  revoked: 'API key revoked or expired',
  server: 'Server error',
  network: 'Server unreachable',
  client: 'Request refused',
};

// Shows an error (an ApiError or any Error) above the page until the next action clears it.
export function showError(err, context) {
  const b = banner();
  clear(b);
  b.className = `banner banner-${err.kind || 'client'}`;
  const title = titles[err.kind] || 'Error';
  const status = err.status ? ` (HTTP ${err.status}${err.code ? ` ${err.code}` : ''})` : '';
  const msg = /[.!?]$/.test(err.message) ? err.message : `${err.message}.`;
  b.append(h('strong', {}, `${title}${status}`), context ? ` while ${context}: ` : ': ', msg);
  if (err.kind === 'server') b.append(h('span', { class: 'hint' }, ' The server could not do this right now; try again in a moment.'));
  if (err.hint) b.append(h('span', { class: 'hint' }, ` Hint: ${err.hint}.`));
  b.append(h('button', { type: 'button', class: 'banner-close', 'aria-label': 'Dismiss message', onclick: hideError }, '×'));
  b.hidden = false;
}

export function hideError() {
  const b = banner();
  b.hidden = true;
  clear(b);
}

export function announce(msg) {
  const s = document.getElementById('status');
  s.textContent = '';
  // A new text node each time so that screen readers repeat identical messages.
  setTimeout(() => { s.textContent = msg; }, 30);
}

// A notice inside the page (for results that should stay visible, not only be announced).
export function notice(text, kind = 'ok') {
  return h('p', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

// Opens the shared <dialog>; body is a node (or a function building it from the OK button),
// onOk returns false to keep the dialog open. Resolves true when confirmed.
export function openDialog({ title, body, ok, danger = false, onOk }) {
  const dlg = document.getElementById('dialog');
  const okBtn = document.getElementById('dialog-ok');
  const cancel = document.getElementById('dialog-cancel');
  const form = document.getElementById('dialog-form');
  document.getElementById('dialog-title').textContent = title;
  const bodyEl = clear(document.getElementById('dialog-body'));
  okBtn.textContent = ok;
  okBtn.className = danger ? 'danger' : 'primary';
  okBtn.disabled = false;
  bodyEl.append(typeof body === 'function' ? body(okBtn) : body);
  const opener = document.activeElement;
  return new Promise((resolve) => {
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      form.removeEventListener('submit', submit);
      cancel.removeEventListener('click', cancelClick);
      dlg.removeEventListener('cancel', cancelClick);
      if (dlg.open) dlg.close();
      if (opener && opener.isConnected) opener.focus();
      resolve(v);
    };
    const submit = async (ev) => {
      ev.preventDefault();
      if (okBtn.disabled) return;
      okBtn.disabled = true;
      let keep = false;
      try {
        keep = onOk ? (await onOk()) === false : false;
      } finally {
        okBtn.disabled = false;
      }
      if (!keep) finish(true);
    };
    const cancelClick = (ev) => {
      ev.preventDefault();
      finish(false);
    };
    form.addEventListener('submit', submit);
    cancel.addEventListener('click', cancelClick);
    dlg.addEventListener('cancel', cancelClick);
    dlg.showModal();
    const first = bodyEl.querySelector('input, textarea, select');
    (first || cancel).focus();
  });
}

// Tabs with the ARIA tab pattern: arrow keys move between tabs, the panel follows.
export function tabs(container, items, active, onSelect) {
  const list = h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'User views' });
  const buttons = items.map(([id, label]) =>
    h('button', {
      type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': 'panel',
      'aria-selected': id === active ? 'true' : 'false', tabindex: id === active ? '0' : '-1',
      onclick: () => onSelect(id),
    }, label));
  list.addEventListener('keydown', (ev) => {
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    let j = -1;
    if (ev.key === 'ArrowRight') j = (i + 1) % buttons.length;
    else if (ev.key === 'ArrowLeft') j = (i - 1 + buttons.length) % buttons.length;
    else if (ev.key === 'Home') j = 0;
    else if (ev.key === 'End') j = buttons.length - 1;
    if (j < 0) return;
    ev.preventDefault();
    buttons[j].focus();
    onSelect(items[j][0], true);
  });
  list.append(...buttons);
  container.append(list);
  return list;
}
