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

// shot saves a screenshot when SCREENSHOT_DIR is set (for looking at the pages by eye).
async function shot(page, name) {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/${name}.png`, fullPage: true });
}

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
    const OrigWS = window.WebSocket;
    window.__sockets = [];
    window.WebSocket = function (...a) { const ws = new OrigWS(...a); window.__sockets.push(ws); return ws; };
    window.WebSocket.prototype = OrigWS.prototype;
    Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
    // Small, slow fake video: three pages each encode one stream and decode two on a shared
    // CI machine, and the checks need frames, not pixels.
    const gum = navigator.mediaDevices?.getUserMedia?.bind(navigator.mediaDevices);
    if (gum) {
      navigator.mediaDevices.getUserMedia = (c) => gum(c && c.video ? { ...c, video: { width: 320, height: 240, frameRate: { max: 10 } } } : c);
    }
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  // API refusals the page handles itself (a wrong password's 401) are not script errors.
  const expected = (m) => m.text().startsWith('Failed to load resource') && m.location().url.startsWith(`${base}/api/`);
  page.on('console', (m) => { if (m.type() === 'error' && !expected(m)) problems.push(`${name}: console error: ${m.text()} at ${m.location().url}`); });
  return page;
}

// checkA11y checks the page as it stands: one h1, every form control labelled, every button
// and link named, and WCAG AA contrast (4.5:1) for the text of every visible element.
async function checkA11y(page, where) {
  const problems = await page.evaluate(() => {
    const out = [];
    const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
    if (document.querySelectorAll('h1').length !== 1) out.push(`${document.querySelectorAll('h1').length} h1 headings`);
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.type === 'hidden' || !visible(el)) continue;
      if (!el.labels?.length && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) out.push(`unlabelled ${el.tagName.toLowerCase()}#${el.id}`);
    }
    for (const el of document.querySelectorAll('button, a[href]')) {
      if (visible(el) && !(el.textContent.trim() || el.getAttribute('aria-label'))) out.push(`unnamed ${el.tagName.toLowerCase()}`);
    }
    const rgb = (s) => { const m = s.match(/[\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; };
    const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
    const bgOf = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length < 4 || c[3] > 0.5) return c;
      }
      return [255, 255, 255];
    };
    for (const el of document.querySelectorAll('body *')) {
      if (!visible(el) || el.closest('video, .visually-hidden')) continue;
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own) continue;
      const fg = lum(rgb(getComputedStyle(el).color));
      const bg = lum(bgOf(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < 4.5) out.push(`contrast ${ratio.toFixed(2)}:1 for "${el.textContent.trim().slice(0, 30)}"`);
    }
    return out;
  });
  assert(problems.length === 0, `${where}: ${problems.join('; ')}`);
}

// signIn signs in through the form with the mouse-free path a keyboard user takes.
async function signIn(page, email) {
  await page.goto(`${base}/#/signin`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// api calls the API from the test itself (to set the scene as a patient's app would).
async function api(method, path, token, body) {
  const res = await fetch(base + path, {
    method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function loginToken(email) {
  return (await api('POST', '/api/v1/auth/login', null, { email, password })).accessToken;
}

// framesDecoded sums the video frames decoded by every peer connection of the page.
function framesDecoded(page) {
  return page.evaluate(async () => {
    let n = 0;
    for (const pc of window.__pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded || 0; });
    }
    return n;
  });
}

// waitFrames waits until the page has decoded more than `above` remote video frames.
async function waitFrames(page, name, above = 0, ms = 30000) {
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) {
    n = await framesDecoded(page);
    if (n > above) return n;
    await page.waitForTimeout(250);
  }
  throw new Error(`${name}: ${n} remote video frames decoded after ${ms} ms, want more than ${above}`);
}

// waitMoreFrames waits until the page decodes `n` more remote video frames. A renegotiation can
// replace a receiver, whose count then starts again from zero: the baseline follows it down.
async function waitMoreFrames(page, name, n = 3, ms = 30000) {
  let base = await framesDecoded(page);
  const end = Date.now() + ms;
  let v = base;
  while (Date.now() < end) {
    v = await framesDecoded(page);
    if (v < base) base = v;
    if (v >= base + n) return v;
    await page.waitForTimeout(250);
  }
  throw new Error(`${name}: ${v - base} more remote video frames decoded in ${ms} ms, want ${n}`);
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
    await checkA11y(page, 'sign-in page');
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
    await checkA11y(page, 'sign-in page with an error');
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

  // The pre-call check, signed in as a patient on a small phone screen: camera and microphone
  // found, and the echo room's measured numbers shown (the browser's and the server's).
  async precheck({ ctx, problems }) {
    const page = await newPage(ctx, 'precheck', problems);
    await page.setViewportSize({ width: 360, height: 640 });
    await signIn(page, 'patient2@demo.careway.test');
    await page.getByRole('heading', { name: 'My consultations' }).waitFor();
    await page.getByRole('link', { name: 'Pre-call check' }).click();
    await page.getByRole('heading', { name: /Check your camera/ }).waitFor();
    await page.getByRole('button', { name: 'Start the check' }).click();
    await page.locator('#check-network[data-grade]').waitFor({ timeout: 20000 });
    const got = await page.evaluate(() => ({
      camera: document.getElementById('check-camera').textContent,
      grade: document.getElementById('check-network').dataset.grade,
      stats: Object.fromEntries([...document.querySelectorAll('#check-network-stats dd')].map((d) => [d.dataset.stat, d.textContent])),
    }));
    assert(got.camera.startsWith('Working'), `camera: ${got.camera}`);
    assert(/^\d+ ms$/.test(got.stats.rtt || ''), `round-trip time shown as ${got.stats.rtt}`);
    assert(/^\d+\.\d %$/.test(got.stats.loss || ''), `loss shown as ${got.stats.loss}`);
    assert(/^[1-9]\d* kbit\/s$/.test(got.stats.recv || ''), `receiving bitrate shown as ${got.stats.recv}`);
    assert(/[1-9]\d* video packets/.test(got.stats['server-up'] || ''), `server's report shown as ${got.stats['server-up']}`);
    assert(got.grade === 'Good', `grade on loopback is ${got.grade}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= 360, `the page is ${wide}px wide on a 360px screen`);
    await checkA11y(page, 'pre-call check');
    await shot(page, 'precheck');
    await page.close();
  },

  // The whole path: a patient's request reaches the queue; the clinician takes it and decides on
  // a video consultation; the patient (signed in) and a carer (from an invite link) wait, get a
  // message, are admitted; every side decodes the others' video; a dropped socket resumes and
  // media keeps flowing; mute shows on the clinician's side; the clinician ends the call.
  async call({ ctx, problems }) {
    const t0 = Date.now();
    const mark = (what) => console.log(`     ${String(Date.now() - t0).padStart(6)} ms  ${what}`);
    const patientToken = await loginToken('patient3@demo.careway.test');
    const me = await api('GET', '/api/v1/me', patientToken);
    const request = await api('POST', '/api/v1/triage-requests', patientToken, {
      id: crypto.randomUUID(), patientId: me.patientId, description: 'Rash on both arms for a week',
      preferredMode: 'video', redFlags: [],
    });

    const gp = await newPage(ctx, 'clinician', problems);
    await signIn(gp, 'gp1@demo.careway.test');
    await gp.getByRole('heading', { name: 'Triage queue' }).waitFor();
    const item = gp.locator(`li[data-id="${request.id}"]`);
    await item.waitFor();
    await checkA11y(gp, 'queue');
    await shot(gp, 'queue');
    await item.getByRole('button', { name: 'Take' }).click();
    await item.getByLabel('Outcome', { exact: true }).selectOption('video_consultation');
    await item.getByRole('button', { name: 'Record outcome' }).click();
    await gp.getByRole('heading', { name: 'Video consultation' }).waitFor();
    const callId = gp.url().split('#/call/')[1];
    mark('clinician took the request and opened the call');

    assert(callId, `after a video outcome the page is ${gp.url()}`);

    await gp.getByLabel("Guest's name").fill('Alex Carer');
    await gp.getByRole('button', { name: 'Create invite link' }).click();
    const link = await gp.locator('#invite-link').inputValue();
    assert(link.startsWith(`${base}/#/join/`), `invite link ${link}`);

    const patient = await newPage(ctx, 'patient', problems);
    await patient.setViewportSize({ width: 360, height: 640 }); // the patient is on a phone
    await signIn(patient, 'patient3@demo.careway.test');
    await patient.getByRole('heading', { name: 'My consultations' }).waitFor();
    await patient.locator(`li[data-id="${request.id}"]`).getByRole('button', { name: 'Join the video consultation' }).click();
    await patient.getByRole('heading', { name: 'Video consultation' }).waitFor();
    const guest = await newPage(ctx, 'guest', problems);
    await guest.goto(link);
    await guest.getByRole('button', { name: 'Join the call' }).click();
    for (const p of [patient, guest]) await p.getByText('In the waiting room').waitFor();
    mark('patient and guest in the waiting room');


    // A message to the waiting patient, then admit both.
    const waiting = gp.locator('#waiting-list');
    await waiting.getByRole('button', { name: /^Admit Alex Carer/ }).waitFor();
    const patientName = (await waiting.locator('li').filter({ hasText: '(patient)' }).locator('.who').textContent()).replace(/ \(patient\)$/, '');
    await gp.getByLabel('Message to').selectOption({ label: `${patientName} (waiting)` });
    await gp.getByLabel('Message', { exact: true }).fill('Running about 5 minutes late');
    await gp.getByRole('button', { name: 'Send message' }).click();
    await patient.getByText('Running about 5 minutes late').waitFor();
    mark('message reached the waiting patient');

    assert(await framesDecoded(patient) === 0, 'the waiting patient decoded video before being admitted');
    await checkA11y(gp, 'call page (clinician)');
    await shot(gp, 'call-clinician-waiting');
    await waiting.getByRole('button', { name: `Admit ${patientName}` }).click();
    await waiting.getByRole('button', { name: 'Admit Alex Carer' }).click();
    for (const p of [patient, guest]) await p.getByText('In the call', { exact: true }).waitFor();
    mark('admitted');

    // Every side decodes remote video: proven by getStats() on the page's peer connection.
    const frames = {};
    for (const [name, p] of [['clinician', gp], ['patient', patient], ['guest', guest]]) frames[name] = await waitFrames(p, name);
    mark('remote video decoded on every side');

    const tiles = await gp.locator('.tile.remote').count();
    assert(tiles === 2, `the clinician sees ${tiles} remote tiles, want 2`);
    await checkA11y(patient, 'call page (patient)');
    await shot(patient, 'call-patient');
    await shot(gp, 'call-clinician');
    const wide = await patient.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= 360, `the call page is ${wide}px wide on a 360px screen`);

    // The guest's socket drops: it comes back with its resume token, and its media keeps
    // flowing after the server's ICE restart.
    const ufrag = (p) => p.evaluate(() => window.__pcs.map((pc) => (pc.remoteDescription?.sdp.match(/a=ice-ufrag:(\S+)/) || [])[1]).join(','));
    const ufrag0 = await ufrag(guest);
    await guest.evaluate(() => window.__sockets.filter((s) => s.readyState === 1).forEach((s) => s.close()));
    await guest.getByText('Reconnecting…').waitFor();
    await guest.getByText('In the call', { exact: true }).waitFor();
    await waitMoreFrames(guest, 'guest after resuming');
    mark('guest resumed and decodes again');

    const sockets = await guest.evaluate(() => window.__sockets.length);
    assert(sockets === 2, `the guest opened ${sockets} sockets, want 2 (one resume)`);
    const ufrag1 = await ufrag(guest);
    assert(ufrag1 !== ufrag0, `no ICE restart on resuming (server ufrag still ${ufrag1})`);
    // A network change (the browser going online again) asks for an ICE restart on the same socket.
    await guest.evaluate(() => window.dispatchEvent(new Event('online')));
    const end = Date.now() + 15000;
    while (await ufrag(guest) === ufrag1 && Date.now() < end) await guest.waitForTimeout(100);
    assert(await ufrag(guest) !== ufrag1, 'no ICE restart after a network change');
    await waitMoreFrames(guest, 'guest after the network change');
    mark('ICE restarted after a network change; media flows');

    // Mute, seen by the clinician.
    await patient.getByRole('button', { name: 'Mute microphone' }).click();
    await gp.locator('.tile.remote .name', { hasText: `${patientName} (muted)` }).waitFor();
    // Audio only stops the video coming to the patient; turning it off brings it back.
    const audioOnly = patient.getByRole('button', { name: 'Audio only' });
    await audioOnly.click();
    assert(await audioOnly.getAttribute('aria-pressed') === 'true', 'audio only is not shown as pressed');
    await patient.waitForTimeout(1000);
    const f1 = await framesDecoded(patient);
    await patient.waitForTimeout(1500);
    const f2 = await framesDecoded(patient);
    assert(f2 - f1 <= 2, `in audio-only mode the patient still decoded ${f2 - f1} video frames in 1.5 s`);
    mark('audio only: no video decoded by the patient');
    await audioOnly.click();
    await waitMoreFrames(patient, 'patient after audio only');
    mark('audio only stopped video to the patient, and it came back');

    await gp.getByRole('button', { name: 'End call for everyone' }).click();
    for (const p of [patient, guest, gp]) await p.getByText(/Call ended/).waitFor();
    mark('call ended for everyone');
    await gp.getByRole('link', { name: 'Back to the triage queue' }).click();
    await gp.getByRole('heading', { name: 'Triage queue' }).waitFor();
    await gp.locator('#queue-updated', { hasText: 'Updated' }).waitFor();
    assert(await gp.locator(`li[data-id="${request.id}"]`).count() === 0, 'the completed request is still in the queue');

    console.log(`     frames decoded: ${JSON.stringify(frames)}`);
    for (const p of [gp, patient, guest]) await p.close();
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
