// The call page: local and remote video, mute, camera, audio-only, leave or end, a quality
// indicator and the reconnecting state; for clinicians also the waiting room (admit, remove, a
// message to the waiting patient) and guest invites. The guest page (#/join/INVITE) is the same
// page reached without an account.
import { h, replace, announce } from './dom.js';
import { anonymous } from './api.js';
import { CallClient, callSocketURL, Stats, grade } from './rtc.js';

const STATE_WORDS = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  waiting: 'In the waiting room. The clinician will let you in.',
  connected: 'In the call',
  reconnecting: 'Reconnecting…',
  ended: 'Call ended',
};

export function callView({ main, session, params, navigate }) {
  const [callId] = params;
  const ticket = async () => (await session.request('POST', `/api/v1/calls/${encodeURIComponent(callId)}/tickets`)).ticket;
  return callPage(main, { callId, ticket, clinician: session.me.role === 'clinician', session, navigate });
}

// guestView: a carer or interpreter opens the invite link, checks camera and microphone, joins.
export function guestView({ main, params }) {
  const [invite] = params;
  let stop = null;
  const err = h('div', { class: 'error-summary', role: 'alert', hidden: true });
  const join = h('button', { type: 'button', id: 'join' }, 'Join the call');
  main.append(h('div', { class: 'panel narrow' },
    h('h1', {}, 'Join a video consultation'),
    h('p', {}, 'You have been invited to a video consultation. When you join, your browser will ask to use your camera and microphone.'),
    h('p', { class: 'muted' }, 'You may wait a moment before the clinician lets you in.'),
    err, h('div', { class: 'actions' }, join)));
  join.addEventListener('click', async () => {
    join.disabled = true;
    try {
      // Redeeming the single-use invite gives a call id, the first ticket and a short-lived
      // guest token that fetches further tickets (to reconnect) for this call only.
      const r = await anonymous('POST', '/api/v1/call-invites/redeem', { token: invite });
      let first = r.ticket;
      const ticket = async () => {
        if (first) { const t = first; first = null; return t; }
        return (await anonymous('POST', '/api/v1/call-invites/tickets', { guestToken: r.guestToken })).ticket;
      };
      replace(main);
      stop = callPage(main, { callId: r.callId, ticket, clinician: false });
      main.querySelector('h1')?.focus();
    } catch (e) {
      join.disabled = false;
      err.replaceChildren(h('h2', {}, 'This link cannot be used'), h('p', {}, e.status === 404 || e.status === 409 ? 'The invitation has expired or has been used already. Ask the practice for a new link.' : e.message));
      err.hidden = false;
    }
  });
  return () => stop?.();
}

function callPage(main, { callId, ticket, clinician, session }) {
  const role = session?.me?.role;
  const back = role === 'clinician' ? ['#/queue', 'Back to the triage queue'] : role ? ['#/consultations', 'Back to consultations'] : null;
  const status = h('p', { class: 'state', role: 'status', 'aria-live': 'polite' }, STATE_WORDS.connecting);
  const banner = h('div', { class: 'banner', hidden: true, role: 'alert' });
  const messages = h('div', { 'aria-live': 'polite' });
  const localVideo = h('video', { autoplay: true, muted: true, playsinline: true, 'aria-label': 'Your camera' });
  localVideo.muted = true;
  const tiles = h('div', { class: 'videos', 'aria-label': 'Video' },
    h('div', { class: 'tile local' }, localVideo, h('span', { class: 'name' }, 'You')));
  const quality = h('p', { class: 'quality', 'aria-live': 'off' }, 'Connection: measuring…');
  const micBtn = h('button', { type: 'button', 'aria-pressed': 'false', class: 'secondary' }, 'Mute microphone');
  const camBtn = h('button', { type: 'button', 'aria-pressed': 'false', class: 'secondary' }, 'Turn camera off');
  const audioOnlyBtn = h('button', { type: 'button', 'aria-pressed': 'false', class: 'secondary' }, 'Audio only');
  const endBtn = h('button', { type: 'button', class: 'danger' }, clinician ? 'End call for everyone' : 'Leave call');
  const soundBtn = h('button', { type: 'button', hidden: true }, 'Turn on sound');
  const controls = h('div', { class: 'actions controls', role: 'group', 'aria-label': 'Call controls' }, micBtn, camBtn, audioOnlyBtn, soundBtn, endBtn);
  const side = clinician ? clinicianPanel() : null;

  main.append(h('h1', {}, 'Video consultation'), status, banner, messages, tiles, quality, controls);
  if (side) main.append(side.el);

  const remotes = new Map(); // stream id (the publisher's participant id) → {tile, video, label}
  const names = new Map();   // participant id → ParticipantInfo (docs/signaling.md)
  let client = null;
  let stream = null;
  let statsTimer = null;
  let gone = false;

  function label(id) {
    const p = names.get(id);
    if (!p) return 'Participant';
    const bits = [p.name || 'Participant'];
    if (p.audioMuted) bits.push('(muted)');
    if (p.videoMuted) bits.push('(camera off)');
    if (p.state === 'reconnecting') bits.push('(reconnecting)');
    return bits.join(' ');
  }
  function relabel() { for (const [id, r] of remotes) { r.label.textContent = label(id); r.video.setAttribute('aria-label', `Video of ${label(id)}`); } }

  function addTrack({ track, streams }) {
    const sid = streams[0]?.id || track.id;
    let r = remotes.get(sid);
    if (!r) {
      const video = h('video', { autoplay: true, playsinline: true });
      const lab = h('span', { class: 'name' });
      const tile = h('div', { class: 'tile remote', dataset: { participant: sid } }, video, lab);
      r = { tile, video, label: lab, stream: new MediaStream() };
      video.srcObject = r.stream;
      remotes.set(sid, r);
      tiles.append(tile);
      relabel();
    }
    r.stream.addTrack(track);
    track.addEventListener('ended', () => r.stream.removeTrack(track));
    r.video.play().catch(() => { soundBtn.hidden = false; });
  }
  function dropParticipant(id) {
    const r = remotes.get(id);
    if (r) { r.tile.remove(); remotes.delete(id); }
  }

  soundBtn.addEventListener('click', () => {
    for (const r of remotes.values()) r.video.play().catch(() => {});
    soundBtn.hidden = true;
  });

  micBtn.addEventListener('click', () => {
    const on = micBtn.getAttribute('aria-pressed') !== 'true';
    stream?.getAudioTracks().forEach((t) => { t.enabled = !on; });
    micBtn.setAttribute('aria-pressed', String(on));
    micBtn.textContent = on ? 'Unmute microphone' : 'Mute microphone';
    client?.send('mute', { kind: 'audio', muted: on });
    announce(on ? 'Microphone muted' : 'Microphone on');
  });
  camBtn.addEventListener('click', () => {
    const off = camBtn.getAttribute('aria-pressed') !== 'true';
    stream?.getVideoTracks().forEach((t) => { t.enabled = !off; });
    camBtn.setAttribute('aria-pressed', String(off));
    camBtn.textContent = off ? 'Turn camera on' : 'Turn camera off';
    client?.send('mute', { kind: 'video', muted: off });
    announce(off ? 'Camera off' : 'Camera on');
  });
  // Audio only: stop sending video and ask the server to stop forwarding video to us, for a
  // poor network. Both directions come back when it is turned off.
  audioOnlyBtn.addEventListener('click', () => {
    const on = audioOnlyBtn.getAttribute('aria-pressed') !== 'true';
    audioOnlyBtn.setAttribute('aria-pressed', String(on));
    stream?.getVideoTracks().forEach((t) => { t.enabled = !on && camBtn.getAttribute('aria-pressed') !== 'true'; });
    client?.setAudioOnly(on);
    tiles.classList.toggle('audio-only', on);
    announce(on ? 'Audio only: video is off both ways' : 'Video is back on');
  });
  endBtn.addEventListener('click', () => {
    if (!client) return;
    if (clinician) client.send('end', {});
    else client.leave();
  });

  async function start() {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } });
    } catch (e) {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        banner.textContent = 'Your camera is not available, so you will join with sound only.';
      } catch {
        banner.textContent = 'Your camera and microphone are not available. Others will not see or hear you. Check your browser\'s permissions.';
      }
      banner.hidden = false;
    }
    if (gone) { stream?.getTracks().forEach((t) => t.stop()); return; }
    localVideo.srcObject = stream;
    client = new CallClient({ socketURL: callSocketURL(callId), ticket, stream });
    client.addEventListener('state', ({ detail }) => {
      status.textContent = detail.state === 'ended' && detail.why ? `${STATE_WORDS.ended}: ${detail.why}` : STATE_WORDS[detail.state];
      status.className = `state ${detail.state}`;
      controls.hidden = detail.state === 'ended';
      if (detail.state === 'ended') {
        stopStats();
        stream?.getTracks().forEach((t) => t.stop());
        if (back) status.after(h('p', {}, h('a', { href: back[0] }, back[1])));
      }
    });
    client.addEventListener('track', ({ detail }) => addTrack(detail));
    const upsert = (list, replaceAll) => {
      if (replaceAll) names.clear();
      for (const p of list || []) names.set(p.id, { ...(names.get(p.id) || {}), ...p });
      for (const id of [...remotes.keys()]) if (!names.has(id)) dropParticipant(id);
      relabel();
      side?.render(names, client);
    };
    client.addEventListener('joined', ({ detail }) => upsert(detail.participants, true));
    client.addEventListener('admitted', ({ detail }) => { upsert(detail.participants, true); announce('You have been let in to the call.'); });
    client.addEventListener('participantJoined', ({ detail }) => {
      const p = detail.participant;
      upsert([p]);
      announce(p.admitted ? `${p.name} joined the call` : `${p.name} is in the waiting room`);
    });
    client.addEventListener('participantUpdated', ({ detail }) => {
      const p = detail.participant;
      const before = names.get(p.id);
      upsert([p]);
      if (before && before.state !== p.state && p.state === 'reconnecting') announce(`${p.name} is reconnecting`);
      if (before && !before.admitted && p.admitted) announce(`${p.name} was let in`);
    });
    client.addEventListener('participantLeft', ({ detail }) => {
      const id = detail.participantId;
      const who = names.get(id)?.name || 'A participant';
      const why = { removed: 'was removed', timeout: 'lost their connection and left', ended: 'left' }[detail.reason] || 'left';
      announce(`${who} ${why}`);
      messages.append(h('p', { class: 'muted' }, `${who} ${why}.`));
      names.delete(id); dropParticipant(id); relabel(); side?.render(names, client);
    });
    client.addEventListener('message', ({ detail }) => {
      const from = names.get(detail.from)?.name || (detail.fromRole === 'clinician' ? 'Clinician' : 'Message');
      messages.append(h('p', { class: 'message', role: 'alert' }, h('strong', {}, `${from}: `), detail.text));
    });
    client.addEventListener('quality', ({ detail }) => side?.quality(detail, names));
    client.addEventListener('error', ({ detail }) => {
      banner.textContent = detail.message ? `Not done: ${detail.message}` : 'The server refused that.';
      banner.hidden = false;
    });
    client.addEventListener('problem', ({ detail }) => { console.warn('call problem', detail.message); });
    await client.start();
    startStats();
  }

  function startStats() {
    const stats = new Stats(client.pc);
    const tick = async () => {
      if (!client || client.closed) return;
      try {
        const q = await stats.sample();
        const parts = [];
        if (q.rttMs !== null) parts.push(`round trip ${Math.round(q.rttMs)} ms`);
        if (q.lossPercent !== null) parts.push(`loss ${q.lossPercent.toFixed(1)} %`);
        if (q.inKbps !== null) parts.push(`receiving ${Math.round(q.inKbps)} kbit/s`);
        if (q.outKbps !== null) parts.push(`sending ${Math.round(q.outKbps)} kbit/s`);
        quality.replaceChildren(h('strong', {}, `Connection: ${grade(q)}`), parts.length ? ` (${parts.join(', ')})` : '');
        quality.dataset.grade = grade(q);
      } catch { /* closed between ticks */ }
      statsTimer = setTimeout(tick, 2000);
    };
    tick();
  }
  function stopStats() { clearTimeout(statsTimer); }

  function clinicianPanel() {
    const list = h('ul', { class: 'waiting', id: 'waiting-list' });
    const others = h('ul', { class: 'waiting' });
    const q = h('dl', { class: 'stats', id: 'call-quality' });
    const to = h('select', { id: 'message-to' });
    const msg = h('input', { id: 'waiting-message', type: 'text', maxlength: 2000, autocomplete: 'off' });
    const msgForm = h('form', {},
      h('label', { for: 'message-to' }, 'Message to'), to,
      h('label', { for: 'waiting-message' }, 'Message'), h('p', { class: 'hint' }, 'For example: running about 10 minutes late.'), msg,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Send message')));
    const inviteName = h('input', { id: 'invite-name', type: 'text', maxlength: 100, autocomplete: 'off' });
    const inviteRole = h('select', { id: 'invite-role' }, h('option', { value: 'carer' }, 'Carer'), h('option', { value: 'interpreter' }, 'Interpreter'));
    const inviteOut = h('div', { 'aria-live': 'polite' });
    const inviteForm = h('form', {},
      h('label', { for: 'invite-name' }, 'Guest\'s name'), inviteName,
      h('label', { for: 'invite-role' }, 'Role'), inviteRole,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create invite link')), inviteOut);
    let current = null;
    msgForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = msg.value.trim();
      if (!text || !current || !to.value) return;
      current.send('message', { to: to.value, text });
      msg.value = '';
      announce('Message sent');
    });
    inviteForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const inv = await session.request('POST', `/api/v1/calls/${encodeURIComponent(callId)}/invites`, { name: inviteName.value.trim(), role: inviteRole.value });
        const field = h('input', { id: 'invite-link', type: 'text', readonly: true, value: new URL(inv.link || `/#/join/${inv.token}`, location.origin).href });
        replace(inviteOut, h('label', { for: 'invite-link' }, `Link for ${inv.name || 'the guest'}: single use, expires at ${new Date(inv.expiresAt).toLocaleTimeString('en-GB')}`), field);
        field.select();
      } catch (err) {
        replace(inviteOut, h('p', { class: 'field-error' }, err.fields?.name || err.fields?.role || err.message));
      }
    });
    const el = h('section', { class: 'panel', 'aria-labelledby': 'room-title' },
      h('h2', { id: 'room-title' }, 'Waiting room'), list, msgForm,
      h('h2', {}, 'In the call'), others,
      h('h2', {}, 'Quality (measured by the server)'), q,
      h('h2', {}, 'Invite a carer or interpreter'), inviteForm);
    const roleWords = (r) => String(r || '').replace(/_/g, ' ');
    return {
      el,
      render(names, client) {
        current = client;
        const people = [...names.values()].filter((p) => p.id !== client.self?.id);
        const waiting = people.filter((p) => !p.admitted);
        const admitted = people.filter((p) => p.admitted);
        const focusedKey = document.activeElement?.dataset?.key;
        replace(list, waiting.length ? waiting.map((p) => h('li', { dataset: { participant: p.id } },
          h('span', { class: 'who' }, `${p.name} (${roleWords(p.role)})`),
          h('button', { type: 'button', dataset: { key: `admit-${p.id}` }, onclick: () => client.send('admit', { participantId: p.id }) }, `Admit ${p.name}`),
          h('button', { type: 'button', class: 'secondary', dataset: { key: `remove-${p.id}` }, onclick: () => client.send('remove', { participantId: p.id }) }, `Remove ${p.name}`))) : h('li', {}, 'Nobody is waiting.'));
        replace(others, admitted.length ? admitted.map((p) => h('li', { dataset: { participant: p.id } },
          h('span', { class: 'who' }, `${p.name} (${roleWords(p.role)})${p.state === 'reconnecting' ? ', reconnecting' : ''}${p.audioOnly ? ', audio only' : ''}`),
          h('button', { type: 'button', class: 'secondary', dataset: { key: `remove-${p.id}` }, onclick: () => client.send('remove', { participantId: p.id }) }, `Remove ${p.name}`))) : h('li', {}, 'Nobody else yet.'));
        const keep = to.value;
        replace(to, people.map((p) => h('option', { value: p.id }, `${p.name}${p.admitted ? '' : ' (waiting)'}`)));
        if (people.some((p) => p.id === keep)) to.value = keep;
        else if (waiting.length) to.value = waiting[0].id;
        msgForm.hidden = !people.length;
        if (focusedKey) el.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`)?.focus();
      },
      quality(d, names) {
        replace(q, (d.participants || []).flatMap((p) => [
          h('dt', {}, names.get(p.participantId)?.name || 'Participant'),
          h('dd', { dataset: { participant: p.participantId } }, `sending ${Math.round(p.upKbps)} kbit/s (loss ${p.upLossPct.toFixed(1)} %), receiving ${Math.round(p.downKbps)} kbit/s (loss ${p.downLossPct.toFixed(1)} %), jitter ${Math.round(p.jitterMs)} ms, round trip ${p.rttMs ? `${Math.round(p.rttMs)} ms` : 'not known yet'}`),
        ]));
      },
    };
  }

  start().catch((e) => { status.textContent = `Could not join: ${e.message}`; });
  return () => {
    gone = true;
    stopStats();
    client?.finish('left the page');
    stream?.getTracks().forEach((t) => t.stop());
  };
}
