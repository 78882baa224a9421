// The console in a real browser (Debian's chromium, headless, driven by
// playwright-core) against a real weir binary, with real Kafka clients (kcat):
// create a topic, produce, see the messages, run a consumer group and watch
// its lag fall to zero, reset its offsets, see the charts move. Screenshots of
// every page go to $SHOTS. Started by tests/console.rs with WEIR_HTTP (the
// console's base URL), WEIR_BOOTSTRAP and SHOTS; exits non-zero on failure.

import { chromium } from 'playwright-core';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';

const base = process.env.WEIR_HTTP;
const bootstrap = process.env.WEIR_BOOTSTRAP;
const shots = process.env.SHOTS;
const topic = 'orders';
const group = 'billing';
const N = 300;
const started = [];
let total = 0; // records in the topic
const step = m => console.log(`console e2e: ${m}`);

function kcatProduce(lines, extra = []) {
  const r = spawnSync('kcat', ['-P', '-b', bootstrap, '-t', topic, '-K', ':', ...extra], {
    input: lines.join('\n') + '\n', timeout: 30000,
  });
  assert.equal(r.status, 0, `kcat -P failed: ${r.stderr}`);
  total += lines.length;
}

function records(from, n) {
  return Array.from({ length: n }, (_, i) =>
    `user-${(from + i) % 7}:${JSON.stringify({ order: from + i, amount: (from + i) * 3 % 97, currency: 'EUR' })}`);
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weir-console-chromium-'));
const browser = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1100, height: 800 },
});
let failed = false;
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  const shot = async (name, fullPage = false) => {
    await page.evaluate(() => { document.getElementById('toast').replaceChildren(); document.activeElement?.blur(); window.scrollTo(0, 0); });
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage });
  };
  const toast = async text => page.locator('#toast div', { hasText: text }).first().waitFor();

  // Overview loads fast.
  const t0 = Date.now();
  await page.goto(base + '/');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  step(`overview shown in ${Date.now() - t0} ms`);
  assert.ok(Date.now() - t0 < 5000, 'the overview loads quickly');
  await page.getByRole('table', { name: 'Listeners' }).waitFor();

  // Create a topic through the form.
  await page.getByRole('link', { name: 'Topics' }).click();
  await page.getByRole('heading', { name: 'Create a topic' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill(topic);
  await page.getByLabel('Partitions', { exact: true }).fill('3');
  await page.getByLabel('retention.ms').fill('86400000');
  await page.getByRole('button', { name: 'Create topic' }).click();
  await page.getByRole('heading', { name: `Topic ${topic}` }).waitFor();
  step('topic created');
  // The same validation as AlterConfigs: a bad value is refused with Kafka's error.
  await page.getByLabel('Config', { exact: true }).selectOption('retention.ms');
  await page.getByLabel('Value', { exact: true }).fill('soon');
  await page.getByRole('button', { name: 'Save config' }).click();
  await toast('INVALID_CONFIG');
  await page.getByLabel('Value', { exact: true }).fill('3600000');
  await page.getByRole('button', { name: 'Save config' }).click();
  await toast('retention.ms = 3600000');
  await page.getByRole('row', { name: /retention\.ms 3600000 DYNAMIC_TOPIC_CONFIG/ }).waitFor();
  step('config edited');

  // Produce with a real client; the charts on the overview move.
  await page.goto(base + '/#/');
  await page.getByRole('heading', { name: 'Throughput' }).waitFor();
  kcatProduce(records(0, N), ['-H', 'source=e2e']);
  await page.waitForFunction(() => {
    const fig = [...document.querySelectorAll('figure')].find(f => f.textContent.includes('Records per second'));
    return fig && /produce: [1-9]/.test(fig.textContent);
  });
  step('throughput chart moved');
  // A few more seconds of load (and a consumer reading it) for the picture.
  for (let i = 1; i <= 4; i++) {
    kcatProduce(records(N * i, 50 * i));
    spawnSync('kcat', ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q'], { stdio: 'ignore', timeout: 20000 });
    await page.waitForTimeout(1000);
  }
  await shot('overview');

  // The messages: newest first, JSON values pretty-printed, headers shown.
  await page.goto(`${base}/#/topics/${topic}/messages`);
  await page.getByRole('heading', { name: `Messages of ${topic}` }).waitFor();
  await page.getByLabel('Start', { exact: true }).selectOption('newest');
  await page.getByRole('button', { name: 'Show messages' }).click();
  await page.locator('caption', { hasText: 'newest first' }).waitFor();
  const valueCell = page.locator('tbody tr').first().locator('td').nth(2);
  await assert.doesNotReject(valueCell.locator('pre[data-format="json"]').waitFor());
  assert.match(await page.locator('tbody').textContent(), /"currency": "EUR"/);
  await page.getByLabel('Value as').selectOption('hex');
  await page.locator('tbody pre[data-format="hex"]').first().waitFor();
  await page.getByLabel('Value as').selectOption('auto');
  // Paging.
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.locator('caption', { hasText: '50 shown' }).waitFor();
  // Produce one record from the form.
  await page.getByLabel('Key (empty = null)').fill('from-the-console');
  await page.getByLabel('Value', { exact: true }).fill('hello from the browser');
  await page.getByRole('button', { name: 'Produce', exact: true }).click();
  await toast('Produced to partition');
  total += 1;
  step('messages browsed, record produced');
  await page.getByLabel('Start', { exact: true }).selectOption('oldest');
  await page.getByRole('button', { name: 'Show messages' }).click();
  await page.locator('caption', { hasText: 'oldest first' }).waitFor();
  assert.match(await page.locator('tbody').textContent(), /sourcee2e/, 'headers shown');
  await shot('messages');

  // A consumer group (kcat -G, librdkafka's balanced consumer): lag falls to 0.
  const consume = () => {
    const c = spawn('kcat', ['-b', bootstrap, '-G', group, '-X', 'auto.offset.reset=earliest',
      '-X', 'auto.commit.interval.ms=200', '-q', topic], { stdio: ['ignore', 'ignore', 'inherit'] });
    started.push(c);
    return c;
  };
  const caughtUp = () => page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('table')].find(t => t.caption?.textContent === 'Per partition')
      ?.querySelectorAll('tbody tr th[scope=row]');
    return rows?.length === 3 && document.querySelector('[data-testid=total-lag]')?.textContent === '0';
  }, null, { timeout: 30000 });
  const stateIs = s => page.waitForFunction(s => document.querySelector('[data-testid=group-state]')?.textContent === s, s, { timeout: 30000 });
  const stop = async c => { c.kill('SIGTERM'); await new Promise(r => c.once('exit', r)); };
  let consumer = consume();
  await page.goto(`${base}/#/groups/${group}`);
  await page.getByRole('heading', { name: `Group ${group}` }).waitFor();
  await stateIs('Stable');
  await caughtUp();
  await page.locator('table', { hasText: `${topic}: 0, 1, 2` }).first().waitFor();
  step('group stable, every partition committed, lag 0');

  // Reset its offsets to the earliest once it is empty; preview first.
  await stop(consumer);
  await stateIs('Empty');
  await page.getByLabel('To', { exact: true }).selectOption('earliest');
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.getByRole('table', { name: 'Preview' }).waitFor();
  assert.equal(await page.getByRole('table', { name: 'Preview' }).locator('tbody tr').count(), 3);
  await page.getByRole('button', { name: 'Reset offsets' }).click();
  await toast('Reset 3 partitions');
  await page.waitForFunction(n => document.querySelector('[data-testid=total-lag]')?.textContent === n,
    total.toLocaleString('en'), { timeout: 15000 });
  step('offsets reset, lag back to every record');
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.getByRole('table', { name: 'Preview' }).waitFor();
  await page.waitForTimeout(2500);
  await shot('group-reset', true);

  // The group consumes again: the lag chart falls to zero.
  await page.getByRole('table', { name: 'Preview' }).evaluate(t => t.closest('div').remove());
  consumer = consume();
  await stateIs('Stable');
  await caughtUp();
  step('lag fell to zero again');
  await page.waitForTimeout(4500);
  await shot('group', true);
  await stop(consumer);

  await page.goto(`${base}/#/groups`);
  await page.getByRole('link', { name: group }).waitFor();
  await page.goto(`${base}/#/topics`);
  await page.getByRole('link', { name: topic }).waitFor();
  await shot('topics');

  // Narrow window: nothing overflows the page horizontally.
  await page.setViewportSize({ width: 380, height: 800 });
  await page.goto(`${base}/#/topics/${topic}`);
  await page.getByRole('heading', { name: `Topic ${topic}` }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `page overflows a narrow window by ${overflow}px`);
  await shot('topic-narrow');

  // Delete with confirmation: the button stays disabled until the name is typed.
  await page.setViewportSize({ width: 1100, height: 800 });
  await page.getByRole('button', { name: 'Delete topic…' }).click();
  const del = page.getByRole('dialog');
  assert.equal(await del.getByRole('button', { name: 'Delete', exact: true }).isDisabled(), true);
  await del.getByLabel('Topic name').fill(topic);
  await del.getByRole('button', { name: 'Delete', exact: true }).click();
  await toast(`Deleted ${topic}`);
  step('topic deleted');

  // Keyboard: the navigation is reachable with Tab and followed with Enter.
  await page.goto(base + '/');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  let tabs = 0;
  while (tabs < 40 && await page.evaluate(() => document.activeElement.textContent) !== 'Topics') {
    await page.keyboard.press('Shift+Tab');
    tabs++;
  }
  assert.ok(tabs < 40, 'the Topics link is reachable with the keyboard');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Topics' }).waitFor();
  step('keyboard navigation works');
  assert.deepEqual(errors, [], 'no script errors');
  step('passed');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  for (const c of started) { try { c.kill('SIGKILL'); } catch { } }
  await browser.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
