// run.mjs - the memory inspector's browser test: headless Chromium (the Debian package,
// driven by playwright-core; no browser is ever downloaded) against a real `mnemo serve` on
// an ephemeral port. Each step asserts what the page shows and what the API then returns.
// Usage: node tests/ui/run.mjs [--screenshots DIR]   Ends with "ui: N passed, N failed".
import fs from 'node:fs';
import path from 'node:path';
import { startServer, cli, tmpdir, request } from '../http/lib.mjs';

let pass = 0;
let fail = 0;
function check(name, cond, detail) {
  if (cond) {
    pass++;
    console.log(`ok   ${name}`);
  } else {
    fail++;
    console.log(`FAIL ${name}`);
    if (detail !== undefined) console.log(String(typeof detail === 'function' ? detail() : detail).split('\n').map((l) => `     ${l}`).join('\n'));
  }
}
function summary() {
  console.log(`ui: ${pass} passed, ${fail} failed`);
}

const args = process.argv.slice(2);
const shotDir = args[0] === '--screenshots' ? path.resolve(args[1]) : null;

// ---- the browser ---------------------------------------------------------------------------
const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'].filter(Boolean);
const chromiumPath = candidates.find((p) => fs.existsSync(p));
if (!chromiumPath) {
  check('Chromium is installed (scripts/setup installs the Debian package)', false, `none of ${candidates.join(', ')}`);
  summary();
  process.exit(1);
}
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  check('playwright-core is installed in tests/node_modules (scripts/setup)', false, e.message);
  summary();
  process.exit(1);
}

let browser;
const live = [];
let finishing = false;
process.stdout.on('error', () => process.exit(1)); // reader gone (EPIPE): stop, do not loop
async function finish(code) {
  if (finishing) return;
  finishing = true;
  try {
    if (browser) await browser.close();
  } catch { /* already gone */ }
  for (const s of live) if (!s.exited) await s.stop('SIGKILL');
  summary();
  process.exit(code);
}
process.on('uncaughtException', (e) => { check('the test itself ran to its end', false, e.stack); finish(1); });
process.on('unhandledRejection', (e) => { check('the test itself ran to its end', false, e && e.stack); finish(1); });
const deadline = setTimeout(() => { check('the test finished within 100 s', false); finish(1); }, 100000);

// ---- server and data ----------------------------------------------------------------------
const dir = tmpdir();
const db = path.join(dir, 'ui.db');
const keyCreate = (tenant, name) => JSON.parse(cli(['keys', 'create', '--tenant', tenant, '--db', db, '--json', '--name', name]));
const A = keyCreate('acme', 'inspector');
const R = keyCreate('acme', 'soon-revoked');
const O = keyCreate('globex', 'other-tenant');
const srv = await startServer(['--db', db, '--extract', 'rules', '--compact-threshold', '0']);
live.push(srv);
const base = srv.base;
const apiA = (m, p, body) => request(base, m, p, { key: A.key, body });

const alice = [
  { role: 'user', text: 'I am allergic to peanuts', session_id: 'food' },
  { role: 'assistant', text: 'Noted, I will avoid peanuts in recipes', session_id: 'food' },
  { role: 'user', text: 'I live in Berlin', session_id: 'home' },
  { role: 'user', text: 'I prefer window seats on flights', session_id: 'travel' },
  { role: 'user', text: 'We are planning a trip to Japan in April', session_id: 'trip' },
  { role: 'assistant', text: 'April is cherry blossom season in Japan', session_id: 'trip' },
  { role: 'user', text: 'We want to visit Kyoto and Tokyo on the Japan trip', session_id: 'trip' },
  { role: 'assistant', text: 'The train from Tokyo to Kyoto takes about two hours', session_id: 'trip' },
  { role: 'user', text: 'Book a hotel in Kyoto near the station for the trip', session_id: 'trip' },
  { role: 'user', text: 'My sister is learning to play the cello', session_id: 'family' },
  { role: 'assistant', text: 'The cello is a lovely instrument to learn', session_id: 'family' },
  { role: 'user', text: 'She practices the cello every evening', session_id: 'family' },
  { role: 'user', text: 'I live in Lisbon', session_id: 'home' },
];
for (const [user, messages] of [['alice', alice], ['bob', [{ text: 'Bob likes chess openings', session_id: 'games' }, { text: 'Bob plays the Sicilian defence', session_id: 'games' }]], ['carol', [{ text: 'Carol runs marathons' }]]]) {
  const r = await apiA('POST', `/v1/users/${user}/messages`, { messages });
  check(`seed: ${messages.length} messages for ${user}`, r.status === 201, r.text);
}
await request(base, 'POST', '/v1/users/zed/messages', { key: O.key, body: { text: 'globex user, never shown to acme' } });

// ---- serving the files (plain HTTP) ----------------------------------------------------------
{
  const types = { html: 'text/html', js: 'text/javascript', css: 'text/css' };
  const files = fs.readdirSync(path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'ui'));
  const wrong = [];
  for (const f of files) {
    const r = await request(base, 'GET', `/ui/${f}`);
    const want = types[f.split('.').pop()];
    if (r.status !== 200 || !(r.headers.get('content-type') || '').startsWith(want)) wrong.push(`${f}: ${r.status} ${r.headers.get('content-type')}`);
  }
  check(`every file of ui/ (${files.length}) is served with its content type`, files.length >= 5 && wrong.length === 0, wrong.join('\n'));
  const page = await request(base, 'GET', '/ui');
  const csp = page.headers.get('content-security-policy') || '';
  check('/ui is index.html with a same-origin-only content security policy and nosniff',
    page.status === 200 && page.text.includes('<script type="module" src="/ui/app.js">') && /default-src 'none'/.test(csp) &&
    /connect-src 'self'/.test(csp) && page.headers.get('x-content-type-options') === 'nosniff', csp);
  const etag = page.headers.get('etag');
  const again = await request(base, 'GET', '/ui/app.js', { headers: { 'If-None-Match': (await request(base, 'GET', '/ui/app.js')).headers.get('etag') } });
  check('files carry an ETag, no-cache, and answer 304 while unchanged',
    !!etag && page.headers.get('cache-control') === 'no-cache' && again.status === 304 && again.text === '', `${etag} ${again.status}`);
  const bad = ['/ui/.hidden.js', '/ui/..', '/ui/%2e%2e', '/ui/..%2fMakefile', '/ui/%2e%2e%2fMakefile', '/ui/app.js.bak', '/ui/app', '/ui/a.b.js',
    '/ui/Makefile', `/ui/${'a'.repeat(200)}.js`, '/ui/missing.js', '/ui/..%5cMakefile'];
  const leaked = [];
  for (const p of bad) {
    const r = await request(base, 'GET', p);
    if (r.status !== 404 || /^(#|CC|\.PHONY)/m.test(r.text)) leaked.push(`${p}: ${r.status} ${r.text.slice(0, 60)}`);
  }
  check('names outside the plain-file pattern and paths leaving ui/ are 404', leaked.length === 0, leaked.join('\n'));
}

// ---- the page ----------------------------------------------------------------------------
const root = typeof process.getuid === 'function' && process.getuid() === 0;
browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: [...(root ? ['--no-sandbox'] : []), '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, reducedMotion: 'reduce' });
const page = await context.newPage();
page.setDefaultTimeout(8000);
const external = [];
const origins = new Set([base]); // the servers of this test; anything else is external
const pageErrors = [];
await page.route('**/*', (route) => {
  const u = new URL(route.request().url());
  if (origins.has(u.origin) || u.protocol === 'data:') return route.continue();
  external.push(u.href);
  return route.abort();
});
page.on('pageerror', (e) => pageErrors.push(e.message));

const text = (sel) => page.locator(sel).innerText();
const banner = () => page.locator('#banner');
async function shot(name) {
  if (!shotDir) return;
  fs.mkdirSync(shotDir, { recursive: true });
  await page.screenshot({ path: path.join(shotDir, `ui-${name}.png`), fullPage: false });
}
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    check(name, false, e.stack);
  }
}
// Waits for a locator to show up; false (not an exception) when it does not.
async function seen(locator, timeout = 5000) {
  try {
    await locator.first().waitFor({ timeout });
    return true;
  } catch {
    return false;
  }
}
// Form controls and buttons of the page without an accessible name (label, aria-label or text).
const unlabeled = () => page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((el) => el.offsetParent !== null || el.closest('dialog[open]'))
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby') &&
    !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 80)));
const missingLabels = [];
async function labelsOf(view) {
  for (const u of await unlabeled()) missingLabels.push(`${view}: ${u}`);
}
async function signIn(key) {
  await page.fill('#key', key);
  await page.click('#signin-form button[type=submit]');
}
const memRow = (id) => page.locator(`#memories-table tr[data-id="${id}"]`);

// wrong key
await step('wrong key', async () => {
  await page.goto(`${base}/ui`);
  await page.locator('#signin').waitFor();
  check('the page asks for an API key first', await page.locator('#signin').isVisible() && !(await page.locator('#app').isVisible()));
  await signIn(`mn_${'x'.repeat(43)}`);
  await banner().waitFor({ state: 'visible' });
  const b = await banner().innerText();
  check('a wrong key shows "Wrong API key" with the server\'s reason', /Wrong API key/.test(b) && /unknown API key/.test(b), b);
  check('after a wrong key the sign-in form stays and no key is kept',
    await page.locator('#signin').isVisible() && (await page.evaluate(() => sessionStorage.getItem('mnemo.key'))) === null);
  await shot('signin-error');
  await labelsOf('sign-in');
  await signIn('not-a-key');
  await page.waitForFunction(() => /malformed/.test(document.getElementById('banner').innerText));
  check('a malformed key is explained', /malformed/.test(await banner().innerText()));
});

// sign in and the users list
let usersApi;
await step('sign in', async () => {
  await signIn(A.key);
  await page.locator('#users li a').first().waitFor();
  check('signing in hides the error and shows the app', !(await banner().isVisible()) && (await page.locator('#app').isVisible()));
  check('the key is kept in sessionStorage only', (await page.evaluate(() => [sessionStorage.getItem('mnemo.key'), localStorage.length, document.cookie])).join('|') === `${A.key}|0|`);
  usersApi = (await apiA('GET', '/v1/users')).json;
  const shown = await page.locator('#users li a').evaluateAll((as) => as.map((a) => `${a.querySelector('.user-id').textContent}=${a.querySelector('.count').textContent}`));
  const want = usersApi.users.map((u) => `${u.user_id}=${u.memories}`);
  check('users list shows the tenant\'s users with the API\'s memory counts', shown.join(',') === want.join(','), `page ${shown} api ${want}`);
  check('another tenant\'s user is not listed', !shown.some((s) => s.startsWith('zed=')));
  await page.locator('#stat-store').filter({ hasText: /\d/ }).waitFor();
  check('overview shows users and the store size', (await text('#stat-users')) === String(usersApi.total) && /\d+(\.\d)? (B|KiB|MiB)/.test(await text('#stat-store')), await text('#stat-store'));
  await page.locator('#rate-now').waitFor();
  for (let i = 0; i < 3; i++) await apiA('GET', '/v1/users/alice/memories?limit=1');
  await page.locator('#latency-now').filter({ hasText: /ms/ }).waitFor({ timeout: 9000 });
  check('overview draws request-rate and latency charts from /metrics', (await page.locator('.spark-box svg').count()) === 2 && /ms/.test(await text('#latency-now')));
  if (shotDir) { // a few more samples with some traffic, so that the charts have a shape
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 3 + 4 * (i % 2); j++) await apiA('GET', `/v1/users/alice/memories?query=trip&k=5`);
      await page.waitForTimeout(3100);
    }
  }
  await shot('overview');
});

// a user's overview and memories
const aliceList = (q) => apiA('GET', `/v1/users/alice/memories${q || ''}`);
await step('pick a user', async () => {
  await page.click('#users a:has-text("alice")');
  await page.locator('#kind-status').waitFor();
  const counts = await page.locator('#kind-status tbody tr').evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  const facts = (await aliceList('?kind=fact&status=active')).json.total;
  const factRow = counts.find((r) => r[0] === 'fact');
  check('user overview counts memories per kind and status like the API', factRow && Number(factRow[1]) === facts, JSON.stringify(counts));
  check('user overview draws a chart', (await page.locator('#panel svg.chart').count()) === 1);
  await page.click('#tab-memories');
  await page.locator('#memories-table tbody tr[data-id]').first().waitFor();
  const api = (await aliceList('?limit=20')).json;
  const ids = await page.locator('#memories-table tbody tr[data-id]').evaluateAll((rs) => rs.map((r) => Number(r.dataset.id)));
  check('memories table lists the API\'s page, newest first', ids.join(',') === api.memories.map((m) => m.id).join(','), `${ids} vs ${api.memories.map((m) => m.id)}`);
  check('memories summary gives the total', (await text('#memories-summary')).includes(`of ${api.total}`));
  await shot('memories');
  await labelsOf('memories');
  // filters
  await page.check('#memory-filters input[name=kind][value=preference]');
  await page.check('#memory-filters input[name=kind][value=fact]');
  await page.click('#memory-filters button[type=submit]');
  await page.waitForFunction(() => [...document.querySelectorAll('#memories-table tbody tr[data-id] td:nth-child(2)')].every((td) => /preference|fact/.test(td.textContent)));
  const pf = (await aliceList('?kind=preference,fact')).json;
  const ids2 = await page.locator('#memories-table tbody tr[data-id]').evaluateAll((rs) => rs.map((r) => Number(r.dataset.id)));
  check('kind filter shows exactly the preferences and facts', ids2.join(',') === pf.memories.map((m) => m.id).join(',') && ids2.length > 0, `${ids2} vs ${pf.memories.map((m) => m.id)}`);
  await page.uncheck('#memory-filters input[name=kind][value=preference]');
  await page.uncheck('#memory-filters input[name=kind][value=fact]');
  // pagination
  await page.selectOption('#f-limit', '10');
  await page.click('#memory-filters button[type=submit]');
  await page.locator('#memories-summary', { hasText: 'Memories 1–10 of' }).waitFor();
  const p1 = await page.locator('#memories-table tbody tr[data-id]').evaluateAll((rs) => rs.map((r) => Number(r.dataset.id)));
  await page.click('#page-next');
  await page.locator('#memories-summary', { hasText: 'Memories 11–' }).waitFor();
  const p2 = await page.locator('#memories-table tbody tr[data-id]').evaluateAll((rs) => rs.map((r) => Number(r.dataset.id)));
  const apiP2 = (await aliceList(`?limit=10&after=${p1[9]}`)).json.memories.map((m) => m.id);
  check('"Older" shows the next page of the cursor', p2.join(',') === apiP2.join(',') && p2[0] < p1[9], `${p1} then ${p2} (api ${apiP2})`);
  await page.click('#page-prev');
  await page.locator('#memories-summary', { hasText: 'Memories 1–10 of' }).waitFor();
  check('"Newer" goes back to the first page', (await page.locator('#memories-table tbody tr[data-id]').first().getAttribute('data-id')) === String(p1[0]));
  await page.selectOption('#f-limit', '20');
  // session and date filters
  await page.fill('#f-session', 'trip');
  await page.click('#memory-filters button[type=submit]');
  await page.waitForFunction(() => [...document.querySelectorAll('#memories-table tbody tr[data-id] td:nth-child(4)')].every((td) => td.textContent === 'trip'));
  const trip = (await aliceList('?session_id=trip')).json.total;
  check('session filter shows that session\'s memories only', (await page.locator('#memories-table tbody tr[data-id]').count()) === trip && trip === 5);
  await page.fill('#f-session', '');
  const tomorrow = new Date(Date.now() + 36 * 3600 * 1000);
  const iso = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
  await page.fill('#f-since', iso);
  await page.click('#memory-filters button[type=submit]');
  await page.locator('#memories-summary', { hasText: 'No memory matches these filters.' }).waitFor();
  check('a date range in the future matches nothing', (await page.locator('#memories-table tbody tr[data-id]').count()) === 0);
  await page.fill('#f-since', '');
  await page.click('#memory-filters button[type=submit]');
  await page.locator('#memories-summary', { hasText: 'Memories 1–' }).waitFor();
});

// search
await step('search', async () => {
  await page.click('#tab-search');
  await page.fill('#search-q', 'peanuts allergy');
  await page.click('#search-form button[type=submit]');
  await page.locator('#search-results li').first().waitFor();
  const api = (await aliceList('?query=peanuts+allergy&k=10')).json;
  const shown = await page.locator('#search-results li').evaluateAll((lis) => lis.map((li) => ({ id: Number(li.dataset.id), score: li.querySelector('.score-value').textContent, by: [...li.querySelectorAll('.found-by .tag')].map((t) => t.textContent) })));
  check('search shows the API\'s ranking', shown.map((s) => s.id).join(',') === api.memories.map((m) => m.id).join(','), JSON.stringify(shown));
  check('each result shows its score', shown.every((s, i) => s.score === api.memories[i].score.toFixed(3)));
  const top = api.memories[0];
  check('the top result is about peanuts and names the signals that found it', /peanut/i.test(top.text) && shown[0].by.includes('keyword') && (top.score_vector > 0) === shown[0].by.includes('vector'), JSON.stringify(shown[0]));
  check('search note says which mode ran', /hybrid search/.test(await text('#search-note')));
  await shot('search');
  await labelsOf('search');
});

// context preview
await step('context preview', async () => {
  await page.click('#tab-context');
  await page.fill('#ctx-q', 'What food should I avoid?');
  await page.click('#context-form button[type=submit]');
  await page.locator('#ctx-prompt').waitFor();
  const api = (await apiA('POST', '/v1/users/alice/context', { query: 'What food should I avoid?', max_tokens: 500 })).json;
  check('context preview shows exactly the prompt block the API builds', (await page.locator('#ctx-prompt').textContent()) === api.prompt, await page.locator('#ctx-prompt').textContent());
  check('context preview shows the token count and budget', (await text('#ctx-tokens')).startsWith(`${api.tokens.used} of 500 tokens`), await text('#ctx-tokens'));
  check('the block holds the peanut allergy', /peanut/i.test(api.prompt));
  await shot('context');
  await labelsOf('context');
  await page.locator('#ctx-budget').evaluate((el) => { el.value = '50'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.locator('#ctx-tokens', { hasText: 'of 50 tokens' }).waitFor();
  const small = (await apiA('POST', '/v1/users/alice/context', { query: 'What food should I avoid?', max_tokens: 50 })).json;
  check('moving the slider rebuilds the block within the new budget', (await page.locator('#ctx-prompt').textContent()) === small.prompt && small.tokens.used <= 50 && (await text('#ctx-budget-value')) === '50 tokens');
});

// compaction, summaries and history
await step('compaction', async () => {
  await page.click('#tab-manage');
  await page.fill('#compact-keep', '-1');
  await page.click('#compact-run');
  await page.locator('#compact-result dd[data-field=summaries]').waitFor();
  const n = Number(await text('#compact-result dd[data-field=summaries]'));
  const sums = (await aliceList('?kind=summary')).json;
  check('compaction shows its result and the API has the summaries it reports', n > 0 && sums.total === n, `page ${n}, api ${sums.total}`);
  check('compaction archived the summarized messages', Number(await text('#compact-result dd[data-field=archived]')) === (await aliceList('?status=archived')).json.total);
  await shot('compact');
  await labelsOf('compact & forget');
  await page.click('#tab-summaries');
  await page.locator('#summaries li').first().waitFor();
  check('summaries tab lists every summary', (await page.locator('#summaries li').count()) === sums.total);
  const first = sums.memories[0];
  await page.click(`#summaries li[data-id="${first.id}"] summary`);
  await page.locator(`#summaries li[data-id="${first.id}"] .sources li[data-id]`).first().waitFor();
  const srcIds = await page.locator(`#summaries li[data-id="${first.id}"] .sources li[data-id]`).evaluateAll((l) => l.map((x) => Number(x.dataset.id)));
  check('a summary\'s sources expand to the messages it stands for', srcIds.join(',') === first.sources.join(','), `${srcIds} vs ${first.sources}`);
  await shot('summaries');
  await page.click('#tab-history');
  await page.locator('#history li .newer .result-text').first().waitFor();
  const sup = (await aliceList('?kind=preference,fact&status=superseded')).json;
  const histText = await text('#history');
  check('history shows the superseded fact next to its replacement', sup.total >= 1 && histText.includes(sup.memories[0].text) && /Lisbon/.test(histText), histText);
  await shot('history');
});

// edit a memory
await step('edit', async () => {
  await page.click('#tab-memories');
  const target = (await aliceList('?kind=preference')).json.memories[0];
  await memRow(target.id).waitFor();
  await memRow(target.id).locator('button', { hasText: 'Edit' }).click();
  await page.locator('#edit-text').waitFor();
  check('the edit dialog opens with the memory\'s text, focused', (await page.inputValue('#edit-text')) === target.text && (await page.evaluate(() => document.activeElement.id)) === 'edit-text');
  await page.fill('#edit-text', 'User prefers aisle seats on long flights');
  await shot('edit');
  await labelsOf('edit dialog');
  await page.click('#dialog-ok');
  await page.locator('#flash', { hasText: `Memory #${target.id} saved` }).waitFor();
  check('the table shows the new text', (await memRow(target.id).locator('td.text').innerText()) === 'User prefers aisle seats on long flights');
  const got = (await apiA('GET', `/v1/users/alice/memories/${target.id}`)).json;
  check('the API returns the edit with the old version in history', got.text === 'User prefers aisle seats on long flights' && got.history.length === 1 && got.history[0].text === target.text, JSON.stringify(got));
  check('focus returns to the page after the dialog', await page.evaluate(() => document.activeElement !== document.body));
});

// delete a memory
await step('delete', async () => {
  const before = Number(await page.locator('#users a:has-text("alice") .count').innerText());
  const target = (await aliceList('?kind=fact')).json.memories[0];
  await memRow(target.id).locator('button', { hasText: 'Delete' }).click();
  check('the delete dialog quotes the memory', (await text('#dialog-body')).includes(target.text));
  await page.click('#dialog-ok');
  await page.locator('#flash', { hasText: `Memory #${target.id} deleted` }).waitFor();
  check('the row is gone', (await memRow(target.id).count()) === 0);
  const got = await apiA('GET', `/v1/users/alice/memories/${target.id}`);
  check('the API answers 404 for the deleted memory', got.status === 404, got.text);
  check('the user\'s count in the list went down by one',
    await seen(page.locator('#users a:has-text("alice") .count', { hasText: new RegExp(`^${before - 1}$`) })), await page.locator('#users a:has-text("alice") .count').innerText());
});

// keyboard: the tab bar follows the arrow keys
await step('keyboard', async () => {
  await page.focus('#tab-memories');
  await page.keyboard.press('ArrowRight');
  await page.locator('#tab-search[aria-selected=true]').waitFor();
  check('arrow keys move between tabs and keep the focus on the tab', await page.evaluate(() => document.activeElement.id) === 'tab-search');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check('the focused tab has a visible outline', outline !== 'none', outline);
  await page.keyboard.press('End');
  await page.locator('#tab-manage[aria-selected=true]').waitFor();
  await page.focus('#tab-history');
  await page.keyboard.press('Enter');
  await page.locator('#tab-history[aria-selected=true]').waitFor();
  check('End jumps to the last tab, Enter opens a tab and the focus stays on it', await page.evaluate(() => document.activeElement.id) === 'tab-history');
});

// forget a user
await step('forget', async () => {
  const bobCount = (await apiA('GET', '/v1/users')).json.users.find((u) => u.user_id === 'bob').memories;
  await page.click('#users a:has-text("bob")');
  await page.click('#tab-manage');
  await page.click('#forget-open');
  const title = await text('#dialog-title');
  check('the confirmation names the user', title.includes('bob'), title);
  check('forgetting is disabled until the user id is typed', await page.locator('#dialog-ok').isDisabled());
  await page.fill('#confirm-user', 'bo');
  check('a partial id does not enable it', await page.locator('#dialog-ok').isDisabled());
  await page.fill('#confirm-user', 'bob');
  await shot('forget');
  await labelsOf('forget dialog');
  await page.click('#dialog-ok');
  await page.locator('.notice', { hasText: `Forgot user “bob”: ${bobCount} memories deleted` }).waitFor();
  check('after forgetting, the page says what was deleted and returns to the overview', (await text('#view-title')) === 'Overview');
  check('bob is no longer listed', (await page.locator('#users a:has-text("bob")').count()) === 0);
  const got = await apiA('GET', '/v1/users/bob/memories');
  const users = (await apiA('GET', '/v1/users')).json.users.map((u) => u.user_id);
  check('the API no longer knows bob', got.status === 404 && !users.includes('bob'), `${got.status} ${users}`);
});

// a server error (5xx) on one request
await step('server error', async () => {
  const failing = (u) => u.pathname === '/v1/users/alice/memories';
  await page.route(failing, (route) => route.fulfill({
    status: 503, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'store_unavailable', message: 'the store is not answering', hint: 'retry later' } }),
  }));
  await page.click('#users a:has-text("alice")');
  await page.click('#tab-memories');
  await banner().waitFor({ state: 'visible' });
  const b = await banner().innerText();
  check('a 5xx shows "Server error" with status, code and message', /Server error \(HTTP 503 store_unavailable\)/.test(b) && /not answering/.test(b), b);
  check('after a server error the session stays signed in', await page.locator('#app').isVisible());
  await shot('server-error');
  await page.unroute(failing);
  await page.click('#tab-overview');
  await page.locator('#kind-status').waitFor();
  check('the message goes away on the next successful view', !(await banner().isVisible()));
});

// a revoked key
await step('revoked key', async () => {
  await page.click('#sign-out');
  await page.locator('#signin').waitFor();
  check('signing out forgets the key', (await page.evaluate(() => sessionStorage.getItem('mnemo.key'))) === null);
  await signIn(R.key);
  await page.locator('#users li a').first().waitFor();
  cli(['keys', 'revoke', String(R.id), '--db', db]);
  await page.waitForTimeout(2300); // valid keys are cached for 2 s (docs/API.md)
  await page.click('#users a:has-text("alice")');
  await page.locator('#signin').waitFor();
  const b = await banner().innerText();
  check('a revoked key ends the session with a clear message', /API key revoked or expired/.test(b) && /was revoked/.test(b), b);
  check('the revoked key is dropped from the tab', (await page.evaluate(() => sessionStorage.getItem('mnemo.key'))) === null);
});

// the server goes away
await step('server stopped', async () => {
  await signIn(A.key);
  await page.locator('#users li a').first().waitFor();
  await page.click('#users a:has-text("alice")');
  await page.locator('#kind-status').waitFor();
  await srv.stop();
  await page.click('#tab-memories');
  await banner().waitFor({ state: 'visible' });
  const b = await banner().innerText();
  check('a stopped server shows "Server unreachable"', /Server unreachable/.test(b) && /mnemo serve/.test(b), b);
});

// ---- development mode (no key exists) and users over several pages ---------------------------
await step('development mode', async () => {
  const devDb = path.join(dir, 'dev.db');
  const dev = await startServer(['--db', devDb, '--embedder', 'none']);
  live.push(dev);
  origins.add(dev.base);
  for (let i = 0; i < 53; i++) {
    await request(dev.base, 'POST', `/v1/users/u${String(i).padStart(2, '0')}/messages`, { body: { text: `note ${i}` } });
  }
  await page.goto(`${dev.base}/ui`);
  await page.locator('#signin').waitFor();
  await signIn('');
  await page.locator('#users li a').first().waitFor();
  check('an empty key signs in while the server is in development mode', /Development mode/.test(await text('#key-label')));
  check('the users list shows the first page of 50 and a "More users" button',
    (await page.locator('#users li a').count()) === 50 && (await page.locator('#users-more').isVisible()) && (await text('#users-total')) === '50 of 53 users');
  await page.click('#users-more');
  await page.locator('#users-total', { hasText: '53 of 53 users' }).waitFor();
  check('"More users" loads the next page and then goes away', (await page.locator('#users li a').count()) === 53 && !(await page.locator('#users-more').isVisible()));
  await page.fill('#user-find', '5');
  const narrowed = await page.locator('#users li a .user-id').allInnerTexts();
  check('the filter narrows the list (u05 u15 u25 u35 u45 u50 u51 u52)', narrowed.join(' ') === 'u05 u15 u25 u35 u45 u50 u51 u52', narrowed.join(' '));
  await dev.stop();
  // A directory without the inspector: /ui says how to get it, files are 404.
  const empty = path.join(dir, 'empty-ui');
  fs.mkdirSync(empty);
  const bare = await startServer(['--db', devDb, '--embedder', 'none', '--ui-dir', empty]);
  live.push(bare);
  const r = await request(bare.base, 'GET', '/ui');
  const f = await request(bare.base, 'GET', '/ui/app.js');
  check('with --ui-dir lacking the files, /ui explains and /ui/app.js is 404', r.status === 200 && /--ui-dir/.test(r.text) && f.status === 404, `${r.status} ${f.status}`);
  await bare.stop();
});

check('every control of the views has an accessible name', missingLabels.length === 0, missingLabels.join('\n'));
check('the page made no request to another origin', external.length === 0, external.join('\n'));
check('no script error on the page', pageErrors.length === 0, pageErrors.join('\n'));
clearTimeout(deadline);
fs.rmSync(dir, { recursive: true, force: true });
await finish(fail ? 1 : 0);
