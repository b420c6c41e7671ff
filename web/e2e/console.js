// Real-browser tests of the web console, run by `go test ./cmd/careway -run TestConsole` against
// the real program (embedded database, demo data). Debian's chromium with a fake camera and
// microphone, driven by playwright-core. Prints one line per check; exits 1 on the first failure.
//
// Environment: CAREWAY_BASE (http://127.0.0.1:port), CAREWAY_PASSWORD (demo password),
// CHROMIUM (executable), PROFILE_DIR (fresh user-data dir).
'use strict';
const { chromium } = require('playwright-core');

const base = process.env.CAREWAY_BASE;
const password = process.env.CAREWAY_PASSWORD;
const only = process.env.CONSOLE_ONLY || '';

function assert(cond, msg) { if (!cond) throw new Error(msg); }

async function launch() {
  return chromium.launchPersistentContext(process.env.PROFILE_DIR, {
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    viewport: { width: 1000, height: 800 },
  });
}

// newPage opens a page that records every RTCPeerConnection it makes (for getStats) and fails
// the test on any script error or CSP violation.
async function newPage(ctx, name, problems) {
  const page = await ctx.newPage();
  await page.addInitScript(() => {
    const Orig = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = function (...a) { const pc = new Orig(...a); window.__pcs.push(pc); return pc; };
    window.RTCPeerConnection.prototype = Orig.prototype;
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  // API refusals the page handles itself (a wrong password's 401) are not script errors.
  const expected = (m) => m.text().startsWith('Failed to load resource') && m.location().url.startsWith(`${base}/api/`);
  page.on('console', (m) => { if (m.type() === 'error' && !expected(m)) problems.push(`${name}: console error: ${m.text()} at ${m.location().url}`); });
  return page;
}

// signIn signs in through the form with the mouse-free path a keyboard user takes.
async function signIn(page, email) {
  await page.goto(`${base}/#/signin`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const tests = {
  // The console is served with its CSP and every asset loads from this origin.
  async headers({ ctx, problems }) {
    const page = await newPage(ctx, 'headers', problems);
    const res = await page.goto(`${base}/`);
    assert(res.status() === 200, `GET / answered ${res.status()}`);
    const csp = res.headers()['content-security-policy'] || '';
    assert(csp.includes("default-src 'self'") && csp.includes("script-src 'self'"), `CSP is ${csp}`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.close();
  },

  // Tab, type, Tab, type, Enter: sign-in needs no mouse, focus is visible on every stop, and a
  // wrong password is reported in words, focusable, and naming the field.
  async keyboardSignIn({ ctx, problems }) {
    const page = await newPage(ctx, 'keyboard', problems);
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const focusOn = () => page.evaluate(() => {
      const el = document.activeElement;
      const cs = getComputedStyle(el);
      return { id: el.id, tag: el.tagName, outline: cs.outlineStyle, shadow: cs.boxShadow };
    });
    let f;
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      f = await focusOn();
      assert(f.outline !== 'none' || f.shadow !== 'none', `focus on ${f.tag}#${f.id} is not visible`);
      if (f.id === 'email') break;
    }
    assert(f.id === 'email', `Tab never reached the email field (last ${f.tag}#${f.id})`);
    await page.keyboard.type('gp1@demo.careway.test');
    await page.keyboard.press('Tab');
    await page.keyboard.type('not the password');
    await page.keyboard.press('Enter');
    const alert = page.getByRole('alert');
    await alert.getByText('Email or password is not right').waitFor();
    f = await focusOn();
    assert(f.tag === 'DIV', `after a refused sign-in focus is on ${f.tag}#${f.id}, not the error summary`);
    await page.focus('#password');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Triage queue' }).waitFor();
    assert(await page.evaluate(() => localStorage.length + sessionStorage.length) === 0, 'tokens were written to web storage');
    await page.close();
  },

  // The camera and microphone part of the pre-call check works on a small phone screen.
  async smallScreen({ ctx, problems }) {
    const page = await newPage(ctx, 'phone', problems);
    await page.setViewportSize({ width: 360, height: 640 });
    await page.goto(`${base}/#/check`);
    await page.getByRole('heading', { name: /Check your camera/ }).waitFor();
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= 360, `the page is ${wide}px wide on a 360px screen`);
    await page.close();
  },
};

(async () => {
  const ctx = await launch();
  let failed = false;
  try {
    for (const [name, fn] of Object.entries(tests)) {
      if (only && !only.split(',').includes(name)) continue;
      const problems = [];
      const t0 = Date.now();
      try {
        await fn({ ctx, problems });
        if (problems.length) throw new Error(problems.join('\n'));
        console.log(`ok   ${name} (${Date.now() - t0} ms)`);
      } catch (e) {
        failed = true;
        console.log(`FAIL ${name}: ${e.stack || e}`);
        break;
      }
    }
  } finally {
    await ctx.close();
  }
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log(`FAIL setup: ${e.stack || e}`); process.exit(1); });
