// The console's login in a real browser (Debian's chromium, headless, driven
// by playwright-core) against a broker with a SASL/PLAIN listener: the login
// form comes first, a wrong password is refused with the broker's message, the
// right one opens the console as User:<name> with a session cookie that page
// scripts cannot read (HttpOnly), and logging out brings the form back; the
// listener also enables OAUTHBEARER, so the form takes a bearer token too.
// Started by tests/console.rs with WEIR_HTTP, WEIR_USER, WEIR_PASSWORD,
// WEIR_TOKEN (an unsecured JWS for WEIR_TOKEN_USER) and SHOTS; exits non-zero
// on failure.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';

const base = process.env.WEIR_HTTP;
const user = process.env.WEIR_USER;
const password = process.env.WEIR_PASSWORD;
const shots = process.env.SHOTS;
const step = m => console.log(`console login e2e: ${m}`);

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

  await page.goto(base + '/#/topics');
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  // The form is focused on the user field: keyboard only.
  await page.keyboard.type(user);
  await page.keyboard.press('Tab');
  await page.keyboard.type('not-the-password');
  await page.keyboard.press('Enter');
  await page.getByRole('alert').filter({ hasText: 'Invalid username or password' }).waitFor();
  step('wrong password refused');
  await page.screenshot({ path: path.join(shots, 'login.png') });

  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Topics' }).waitFor();
  await page.locator('#who', { hasText: `User:${user}` }).waitFor();
  step(`logged in as User:${user}`);
  const cookies = await browser.cookies();
  const session = cookies.find(c => c.name === 'weir_console_session');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie.includes('weir_console_session')), false);
  step('session cookie is HttpOnly and SameSite=Strict');

  // A reload keeps the session.
  await page.reload();
  await page.getByRole('heading', { name: 'Topics' }).waitFor();

  // A session that ends while a page is open brings the form back, then the page.
  await browser.clearCookies();
  await page.goto(base + '/#/groups');
  await page.getByRole('alert').filter({ hasText: 'Your session ended' }).waitFor();
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Consumer groups' }).waitFor();
  step('an ended session asks for the login again');

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  const r = await page.evaluate(async () => (await fetch('/api/topics')).status);
  assert.equal(r, 401);
  step('logged out');

  // A bearer token instead of a password: the user fields are then not required.
  await page.getByLabel('Or an OAUTHBEARER token').fill('not-a-token');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Authentication failed' }).waitFor();
  await page.getByLabel('Or an OAUTHBEARER token').fill(process.env.WEIR_TOKEN);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#who', { hasText: `User:${process.env.WEIR_TOKEN_USER}` }).waitFor();
  step(`logged in with a token as User:${process.env.WEIR_TOKEN_USER}`);
  assert.deepEqual(errors, [], 'no script errors');
  step('passed');
} catch (e) {
  failed = true;
  console.error(`console login e2e failed: ${e.stack || e}`);
} finally {
  await browser.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
