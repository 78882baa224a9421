// The console's router: #/ overview, #/topics, #/topics/NAME,
// #/topics/NAME/messages, #/groups, #/groups/ID. Each page renders into <main>
// and returns a function that stops its streams and timers when left. When
// the broker authenticates its clients (SASL PLAIN, SCRAM or OAUTHBEARER), a login form
// comes first, and again when the session ends.

import { api, consoleState, toast, h, field } from './api.js';
import * as overview from './overview.js';
import * as topics from './topics.js';
import * as messages from './messages.js';
import * as groups from './groups.js';

const main = document.getElementById('main');
let leave = null;

/** The ways this broker takes a login ("password", "token"), from /api/session. */
let methods = ['password'];

/**
 * The login form; resolves with the user name once the broker accepts the
 * password (PLAIN or SCRAM users) or the bearer token (OAUTHBEARER).
 */
function login(message = '') {
  main.replaceChildren();
  const byPassword = methods.includes('password');
  const byToken = methods.includes('token');
  const user = h('input', { name: 'user', required: true, autocomplete: 'username' });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
  const token = h('textarea', { name: 'token', rows: 4, required: !byPassword, spellcheck: 'false', autocomplete: 'off' });
  const error = h('p', { role: 'alert', class: 'error-text' }, message);
  const fields = [];
  if (byPassword) fields.push(field('User', user), field('Password', password));
  if (byToken) fields.push(field(byPassword ? 'Or an OAUTHBEARER token' : 'OAUTHBEARER token', token));
  if (byPassword && byToken) {
    // Either way will do: a token, when given, is what is checked.
    token.addEventListener('input', () => {
      user.required = password.required = token.value.trim() === '';
    });
  }
  const form = h('form', { class: 'card stack login', 'aria-labelledby': 'login-h' },
    h('h1', { id: 'login-h' }, 'Log in'),
    h('p', { class: 'muted' }, 'This broker authenticates its clients: log in as one of its SASL users.'),
    ...fields, error,
    h('button', { type: 'submit' }, 'Log in'));
  main.append(form);
  (byPassword ? user : token).focus();
  return new Promise(resolve => form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const body = byToken && token.value.trim() !== ''
      ? { token: token.value.trim() }
      : { user: user.value, password: password.value };
    try {
      const r = await api('/api/login', { method: 'POST', body });
      resolve(r.user);
    } catch (e) {
      error.textContent = e.message;
      password.value = '';
      token.value = '';
      (byPassword ? password : token).focus();
    }
  }));
}

function signedIn(user) {
  const who = document.getElementById('who');
  who.textContent = user ? `User:${user}` : '';
  who.hidden = !user;
  document.getElementById('logout').hidden = !user;
}

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'topics' && parts[1] && parts[2] === 'messages') return ['topics', messages.render, parts[1]];
  if (parts[0] === 'topics' && parts[1]) return ['topics', topics.renderTopic, parts[1]];
  if (parts[0] === 'topics') return ['topics', topics.renderList];
  if (parts[0] === 'groups' && parts[1]) return ['groups', groups.renderGroup, parts[1]];
  if (parts[0] === 'groups') return ['groups', groups.renderList];
  return ['overview', overview.render];
}

async function show() {
  if (leave) { leave(); leave = null; }
  const [nav, render, arg] = route();
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  try {
    leave = await render(main, arg) || null;
  } catch (e) {
    if (e.status !== 401) toast(e.message, true);
  }
  main.focus({ preventScroll: true });
}

let relogging = false;
/** A request found no session: stop the page, log in again, show it again. */
async function relogin() {
  if (relogging) return;
  relogging = true;
  if (leave) { leave(); leave = null; }
  signedIn(null);
  signedIn(await login('Your session ended: log in again.'));
  relogging = false;
  show();
}
window.addEventListener('weir-login-needed', relogin);

async function start() {
  try {
    const session = await api('/api/session');
    if (session.methods && session.methods.length) methods = session.methods;
    if (session.login) signedIn(session.user || await login());
  } catch (e) {
    toast(e.message, true);
  }
  document.getElementById('logout').addEventListener('click', async () => {
    relogging = true;
    try { await api('/api/logout', { method: 'POST' }); } catch (e) { toast(e.message, true); }
    if (leave) { leave(); leave = null; }
    signedIn(null);
    signedIn(await login());
    relogging = false;
    show();
  });
  try {
    const info = await api('/api/console');
    consoleState.readOnly = info.read_only;
    consoleState.info = info;
  } catch (e) {
    toast(e.message, true);
  }
  document.body.classList.toggle('readonly', consoleState.readOnly);
  document.getElementById('mode').hidden = !consoleState.readOnly;
  window.addEventListener('hashchange', show);
  show();
}

start();
