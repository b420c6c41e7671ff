// "My consultations": a patient's triage requests, or a care-home's residents' requests, with
// their status and outcome, and a way into a video consultation once the clinician has opened it.
import { h, replace } from './dom.js';
import { OUTCOMES, priorityBadge } from './queue.js';

const STATUS_WORDS = { waiting: 'Waiting for a clinician', in_progress: 'A clinician is looking at it', completed: 'Decided' };
const OUTCOME_WORDS = Object.fromEntries(OUTCOMES);

export function consultView({ main, session, navigate }) {
  const me = session.me;
  const out = h('div', { 'aria-live': 'polite' }, h('p', {}, 'Loading…'));
  main.append(h('h1', {}, me.role === 'carehome_staff' ? 'Residents\' consultations' : 'My consultations'), out);
  let stopped = false;

  const list = (items) => h('ul', { class: 'queue' }, items.map((r) => h('li', { class: r.priority, dataset: { id: r.id } },
    h('div', { class: 'head' }, priorityBadge(r.priority), h('strong', {}, STATUS_WORDS[r.status] || r.status),
      h('span', { class: 'muted' }, new Date(r.createdAt).toLocaleString('en-GB'))),
    h('p', { class: 'desc' }, r.description),
    r.outcome ? h('p', {}, h('strong', {}, 'Outcome: '), OUTCOME_WORDS[r.outcome.kind] || r.outcome.kind, r.outcome.note ? ` – ${r.outcome.note}` : '') : null,
    r.outcome?.callId ? h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => navigate(`#/call/${r.outcome.callId}`) }, 'Join the video consultation')) : null)));

  const requestsOf = async (patientId) => (await session.request('GET', `/api/v1/patients/${encodeURIComponent(patientId)}/triage-requests?limit=20`)).items || [];

  async function load() {
    try {
      if (me.role === 'patient') {
        const items = await requestsOf(me.patientId);
        if (!stopped) replace(out, items.length ? list(items) : h('p', {}, 'You have no requests yet. Ask for help from the Careway app.'));
        return;
      }
      const residents = (await session.request('GET', `/api/v1/care-homes/${encodeURIComponent(me.careHomeId)}/residents`)).items || [];
      const sections = await Promise.all(residents.map(async (res) => {
        let body;
        try {
          const items = await requestsOf(res.patientId);
          body = items.length ? list(items) : h('p', { class: 'muted' }, 'No requests.');
        } catch (err) {
          body = h('p', { class: 'muted' }, err.status === 403 ? 'Their consent does not cover this.' : err.message);
        }
        return h('section', { class: 'panel' }, h('h2', {}, res.name), body);
      }));
      if (!stopped) replace(out, sections.length ? sections : h('p', {}, 'No residents.'));
    } catch (err) {
      if (!stopped) replace(out, h('div', { class: 'error-summary', role: 'alert' }, h('h2', {}, 'Could not load'), h('p', {}, err.message)));
    }
  }
  load();
  return () => { stopped = true; };
}
