// The console's router: #/ overview, #/topics, #/topics/NAME,
// #/topics/NAME/messages, #/groups, #/groups/ID. Each page renders into <main>
// and returns a function that stops its streams and timers when left.

import { api, consoleState, toast } from './api.js';
import * as overview from './overview.js';
import * as topics from './topics.js';
import * as messages from './messages.js';
import * as groups from './groups.js';

const main = document.getElementById('main');
let leave = null;

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
    toast(e.message, true);
  }
  main.focus({ preventScroll: true });
}

async function start() {
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
