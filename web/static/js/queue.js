// The triage queue of the clinician's practice: refreshes by itself, shows priority and waiting
// time, lets the clinician take a request and record the outcome.
import { h, replace, announce, ago } from './dom.js';

const REFRESH_MS = 10000;

// The outcomes a clinician may record (issue 4), in the words shown.
export const OUTCOMES = [
  ['self_care', 'Self-care advice'],
  ['phone_call', 'Phone call'],
  ['video_consultation', 'Video consultation'],
  ['face_to_face', 'Face to face (book)'],
  ['urgent_same_day', 'Urgent same day'],
  ['emergency_999_111', '999 / 111'],
  ['pharmacy', 'Pharmacy'],
];

const PRIORITY_WORDS = { emergency: 'Emergency', urgent: 'Urgent', soon: 'Soon', routine: 'Routine' };

// adjustments lists a request's reasonable adjustments in words (booking's Adjustments shape).
function adjustments(a) {
  if (!a) return [];
  if (Array.isArray(a)) return a;
  const out = [];
  if (a.interpreter) out.push(a.language ? `interpreter (${a.language})` : 'interpreter');
  if (a.bsl) out.push('BSL interpreter');
  if (a.stepFree) out.push('step-free access');
  if (a.longerAppointment) out.push('longer appointment');
  if (a.carerAttending) out.push('carer attending');
  if (a.notes) out.push(a.notes);
  return out;
}

export function priorityBadge(p) {
  const cls = PRIORITY_WORDS[p] ? p : 'urgent'; // unknown: shown as urgent, the safer side
  return h('span', { class: `badge ${cls}` }, PRIORITY_WORDS[p] || String(p));
}

export function queueView({ main, session, navigate }) {
  const me = session.me;
  const list = h('ul', { class: 'queue', 'aria-describedby': 'queue-updated' });
  const rooms = h('ul', { class: 'waiting', id: 'waiting-rooms' });
  const updated = h('p', { id: 'queue-updated', class: 'muted' }, 'Loading…');
  const errorBox = h('div', { class: 'error-summary', role: 'alert', hidden: true });
  main.append(h('h1', {}, 'Triage queue'), errorBox, updated,
    h('section', { class: 'panel', 'aria-labelledby': 'rooms-h' }, h('h2', { id: 'rooms-h' }, 'Waiting rooms'), rooms),
    h('section', { 'aria-labelledby': 'queue-h' }, h('h2', { id: 'queue-h' }, 'Open requests'), list));

  let timer = null;
  let stopped = false;
  let busy = new Set(); // request ids with an action in flight: not redrawn under the user
  let lastIds = '';
  let lastWaiting = 0;

  async function load() {
    if (stopped) return;
    clearTimeout(timer);
    try {
      const data = await session.request('GET', `/api/v1/practices/${encodeURIComponent(me.practiceId)}/triage-queue`);
      errorBox.hidden = true;
      draw(data.items || []);
      drawRooms(data.waitingRooms || []);
      const n = (data.items || []).length;
      updated.textContent = `${n} open request${n === 1 ? '' : 's'}. Updated ${new Date().toLocaleTimeString('en-GB')}; refreshes every ${REFRESH_MS / 1000} seconds.`;
    } catch (err) {
      errorBox.replaceChildren(h('h2', {}, 'The queue could not be loaded'), h('p', {}, err.message));
      errorBox.hidden = false;
    }
    if (!stopped) timer = setTimeout(load, document.hidden ? REFRESH_MS * 3 : REFRESH_MS);
  }

  function draw(items) {
    // Redraw only rows that are not being worked on, and keep focus where it was.
    const focusedId = document.activeElement?.closest?.('li[data-id]')?.dataset.id;
    const focusedKey = document.activeElement?.dataset?.key;
    const ids = items.map((r) => r.id).join(',');
    if (ids !== lastIds && lastIds) announce(`Queue updated: ${items.length} open requests.`);
    lastIds = ids;
    const keep = new Map([...list.children].filter((li) => busy.has(li.dataset.id)).map((li) => [li.dataset.id, li]));
    replace(list, items.map((r) => keep.get(r.id) || row(r)));
    if (!items.length) list.append(h('li', {}, 'No open requests.'));
    if (focusedId) {
      const again = list.querySelector(`li[data-id="${CSS.escape(focusedId)}"] [data-key="${CSS.escape(focusedKey || '')}"]`);
      if (again) again.focus();
    }
  }

  // drawRooms lists the practice's calls with someone waiting to be let in now; admitting
  // happens on the call page, whose socket carries the admit.
  function drawRooms(list) {
    const focused = document.activeElement?.dataset?.call;
    const n = list.reduce((k, r) => k + r.waiting.length, 0);
    replace(rooms, list.length ? list.map((r) => h('li', {},
      h('span', { class: 'who' }, r.waiting.map((p) => `${p.name} (${p.role.replace(/_/g, ' ')})`).join(', '), ' waiting'),
      h('button', { type: 'button', dataset: { call: r.callId }, onclick: () => navigate(`#/call/${r.callId}`) }, `Open call with ${r.waiting[0]?.name || 'patient'}`)))
      : h('li', {}, 'Nobody is waiting.'));
    if (focused) rooms.querySelector(`[data-call="${CSS.escape(focused)}"]`)?.focus();
    if (n && n !== lastWaiting) announce(`${n} ${n === 1 ? 'person is' : 'people are'} in a waiting room.`);
    lastWaiting = n;
  }

  function row(r) {
    const prio = r.queuePriority || r.priority;
    const mine = r.takenBy && r.takenBy === me.id;
    const taken = r.status === 'in_progress';
    const li = h('li', { class: prio, dataset: { id: r.id }, 'aria-labelledby': `req-${r.id}` });
    const title = h('h3', { id: `req-${r.id}`, class: 'visually-hidden' }, `${PRIORITY_WORDS[prio] || prio} request from ${r.patientName || 'patient'}`);
    const head = h('div', { class: 'head' },
      priorityBadge(prio),
      r.raisedByWaiting ? h('span', { class: 'muted' }, `(raised from ${PRIORITY_WORDS[r.priority] || r.priority} by waiting)`) : null,
      h('strong', {}, r.patientName || `Patient ${r.patientId}`),
      h('span', { class: 'muted' }, `waiting ${ago(r.createdAt)}`),
      h('span', { class: 'muted' }, `prefers ${String(r.preferredMode || '').replace(/_/g, ' ')}`),
      taken ? h('span', { class: 'muted' }, mine ? 'taken by you' : 'taken by a colleague') : null);
    const flags = (r.redFlags || []).length ? h('p', {}, h('strong', {}, 'Red flags: '), r.redFlags.join(', ').replace(/_/g, ' ')) : null;
    const adjWords = adjustments(r.adjustments);
    const adj = adjWords.length ? h('p', {}, h('strong', {}, 'Adjustments: '), adjWords.join(', ')) : null;
    const actions = h('div', { class: 'actions' });
    if (!taken) {
      actions.append(h('button', { type: 'button', dataset: { key: 'take' }, onclick: () => take(r, li) }, 'Take'));
    } else if (mine) {
      actions.append(outcomeForm(r, li));
    }
    li.append(...[title, head, h('p', { class: 'desc' }, r.description), flags, adj, actions].filter(Boolean));
    return li;
  }

  async function take(r, li) {
    busy.add(r.id);
    try {
      const taken = await session.request('POST', `/api/v1/triage-requests/${encodeURIComponent(r.id)}/take`);
      busy.delete(r.id);
      const fresh = row({ ...r, ...taken });
      li.replaceWith(fresh);
      announce('Request taken. Choose an outcome.');
      fresh.querySelector('select')?.focus();
    } catch (err) {
      busy.delete(r.id);
      announce(err.status === 409 ? 'A colleague has already taken this request.' : `Could not take the request: ${err.message}`);
      load();
    }
  }

  function outcomeForm(r, li) {
    const sel = h('select', { id: `outcome-${r.id}`, dataset: { key: 'outcome' } }, OUTCOMES.map(([v, t]) => h('option', { value: v }, t)));
    const note = h('input', { id: `note-${r.id}`, type: 'text', maxlength: 2000, dataset: { key: 'note' } });
    const err = h('p', { class: 'field-error', hidden: true, role: 'alert' });
    const form = h('form', { class: 'outcome', 'aria-label': 'Record an outcome' },
      h('label', { for: sel.id }, 'Outcome'), sel,
      h('label', { for: note.id }, 'Note for the patient (optional)'), note, err,
      h('div', { class: 'actions' }, h('button', { type: 'submit', dataset: { key: 'record' } }, 'Record outcome')));
    sel.addEventListener('focus', () => busy.add(r.id));
    note.addEventListener('focus', () => busy.add(r.id));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      busy.add(r.id);
      try {
        const done = await session.request('POST', `/api/v1/triage-requests/${encodeURIComponent(r.id)}/outcome`, { kind: sel.value, note: note.value.trim() || undefined });
        busy.delete(r.id);
        const callId = done?.outcome?.callId;
        announce('Outcome recorded.');
        if (callId) navigate(`#/call/${callId}`); else load();
      } catch (e) {
        err.textContent = e.fields?.kind || e.fields?.note || e.message;
        err.hidden = false;
      }
    });
    return form;
  }

  const onVisible = () => { if (!document.hidden) load(); };
  document.addEventListener('visibilitychange', onVisible);
  load();
  return () => { stopped = true; clearTimeout(timer); document.removeEventListener('visibilitychange', onVisible); };
}
