// The console's shell: the session, the router and the header. Routes live in the URL fragment
// (#/queue, #/call/ID, #/join/INVITE), so moving between pages never reloads the page and never
// loses the in-memory session, and invite secrets in the fragment never reach a server log.
import { h, replace, announce } from './dom.js';
import { Session } from './api.js';
import { signinView } from './signin.js';
import { queueView } from './queue.js';
import { callView, guestView } from './call.js';
import { checkView } from './check.js';
import { consultView } from './consult.js';

const session = new Session();

// Each route: a pattern over the fragment, the view, and who may open it (null: anyone).
const routes = [
  { path: /^\/signin$/, view: signinView, who: null },
  { path: /^\/queue$/, view: queueView, who: ['clinician'] },
  { path: /^\/call\/([\w-]+)$/, view: callView, who: ['clinician', 'patient', 'carehome_staff'] },
  { path: /^\/join\/([\w.~-]+)$/, view: guestView, who: null },
  { path: /^\/check$/, view: checkView, who: null },
  { path: /^\/consultations$/, view: consultView, who: ['patient', 'carehome_staff'] },
];

let cleanup = null;
let afterSignin = null;

function homeFor(me) {
  if (me?.role === 'clinician') return '#/queue';
  if (me?.role === 'patient' || me?.role === 'carehome_staff') return '#/consultations';
  return '#/check';
}

export function navigate(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

function renderHeader() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const out = document.getElementById('signout');
  const me = session.me;
  const here = location.hash;
  const links = [];
  if (me?.role === 'clinician') links.push(['#/queue', 'Triage queue']);
  if (me?.role === 'patient' || me?.role === 'carehome_staff') links.push(['#/consultations', 'Consultations']);
  links.push(['#/check', 'Pre-call check']);
  if (!me) links.push(['#/signin', 'Sign in']);
  replace(nav, links.map(([href, text]) => h('a', { href, 'aria-current': here === href ? 'page' : null }, text)));
  who.textContent = me ? `${me.name}` : '';
  out.hidden = !me;
}

function route() {
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return; // in-page links such as the skip link
  const path = hash.slice(1);
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  const main = document.getElementById('main');
  const match = routes.map((r) => ({ r, m: path.match(r.path) })).find((x) => x.m);
  if (!match) {
    navigate(session.signedIn ? homeFor(session.me) : '#/signin');
    return;
  }
  const { r, m } = match;
  if (r.who && !session.signedIn) {
    afterSignin = hash;
    navigate('#/signin');
    return;
  }
  if (r.who && !r.who.includes(session.me.role)) {
    renderHeader();
    replace(main, h('div', { class: 'panel' }, h('h1', {}, 'Not available'), h('p', {}, 'This page is not available to your account.')));
    focusHeading(main);
    return;
  }
  renderHeader();
  replace(main);
  const ctx = {
    main, session, params: m.slice(1).map(decodeURIComponent), navigate,
    signedIn: () => { renderHeader(); const next = afterSignin; afterSignin = null; navigate(next || homeFor(session.me)); },
  };
  try {
    cleanup = r.view(ctx) || null;
  } catch (e) {
    console.error(e);
    replace(main, h('div', { class: 'panel' }, h('h1', {}, 'Something went wrong'), h('p', {}, String(e.message || e))));
  }
  focusHeading(main);
}

// focusHeading moves focus to the new page's heading, so keyboard and screen-reader users
// start at the top of what changed, and says the page's name.
function focusHeading(main) {
  const h1 = main.querySelector('h1');
  document.title = h1 ? `${h1.textContent} – Careway` : 'Careway';
  if (h1) { h1.tabIndex = -1; h1.focus({ preventScroll: false }); announce(h1.textContent); } else main.focus();
}

session.onend = () => {
  renderHeader();
  afterSignin = location.hash;
  navigate('#/signin');
  announce('Your session has ended. Please sign in again.');
};

document.getElementById('signout').addEventListener('click', async () => {
  if (cleanup) { try { cleanup(); } catch { /* leaving anyway */ } cleanup = null; }
  await session.logout();
  renderHeader();
  navigate('#/signin');
  announce('Signed out.');
});
document.getElementById('skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  const main = document.getElementById('main');
  (main.querySelector('h1') || main).focus();
});
window.addEventListener('hashchange', route);
renderHeader();
route();
