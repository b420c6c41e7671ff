// The API client and the signed-in session.
//
// Tokens live in memory only, never in localStorage or sessionStorage: anything a script on the
// page can read from storage survives the tab and is readable by any injected script at any
// later time, and a clinician's token opens many patients' records. In memory they die with the
// tab; the cost is signing in again after a reload, which the single-page console avoids by
// navigating without reloading. The short-lived access token is renewed with the refresh token
// shortly before it expires and whenever the API answers 401.

// ApiError is a failed API call: status, the problem's title and detail, and per-field errors.
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.fields = Object.fromEntries((problem?.errors || []).map((e) => [e.field, e.message]));
  }
}

async function send(method, path, { body, token } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, { title: 'No connection', detail: 'Careway cannot be reached. Check the network and try again.' });
  }
  const text = await res.text();
  let data = null;
  if (text) { try { data = JSON.parse(text); } catch { data = null; } }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    const retry = res.headers.get('Retry-After');
    if (retry) err.retryAfter = Number(retry);
    throw err;
  }
  return data;
}

// Session is one signed-in user: tokens, profile, and authorised requests.
export class Session {
  constructor() {
    this.access = null;
    this.refreshToken = null;
    this.me = null;
    this.timer = null;
    this.refreshing = null;
    this.onend = null; // called when the session ends by itself (refresh refused)
  }

  get signedIn() { return this.access !== null; }

  async login(email, password) {
    this.#take(await send('POST', '/api/v1/auth/login', { body: { email, password } }));
    this.me = await this.request('GET', '/api/v1/me');
    return this.me;
  }

  #take(pair) {
    this.access = pair.accessToken;
    this.refreshToken = pair.refreshToken;
    clearTimeout(this.timer);
    // Renew a minute before expiry (or halfway through a very short life).
    const lead = Math.min(60, pair.expiresIn / 2);
    this.timer = setTimeout(() => this.refresh().catch(() => {}), (pair.expiresIn - lead) * 1000);
  }

  // refresh rotates the token pair; concurrent callers share one rotation, because the server
  // treats a second use of the same refresh token as theft and revokes the family.
  refresh() {
    if (!this.refreshing) {
      const token = this.refreshToken;
      this.refreshing = send('POST', '/api/v1/auth/refresh', { body: { refreshToken: token } })
        .then((pair) => this.#take(pair))
        .catch((err) => { if (err.status === 401 || err.status === 400) this.#end(); throw err; })
        .finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  // request sends an authorised API call; on 401 it refreshes once and tries again.
  async request(method, path, body) {
    if (!this.access) throw new ApiError(401, { title: 'Signed out', detail: 'Sign in again.' });
    try {
      return await send(method, path, { body, token: this.access });
    } catch (err) {
      if (err.status !== 401 || !this.refreshToken) throw err;
      await this.refresh();
      return send(method, path, { body, token: this.access });
    }
  }

  async logout() {
    const token = this.refreshToken;
    try { if (token) await this.request('POST', '/api/v1/auth/logout', { refreshToken: token }); } catch { /* signed out locally anyway */ }
    this.#end(true);
  }

  #end(byUser = false) {
    clearTimeout(this.timer);
    this.access = this.refreshToken = this.me = null;
    if (!byUser && this.onend) this.onend();
  }
}

// anonymous sends a call that needs no token (guests opening an invite link).
export function anonymous(method, path, body) {
  return send(method, path, { body });
}
