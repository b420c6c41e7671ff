// CallClient: one participant's connection to Careway's media server, as docs/signaling.md
// describes it. One WebSocket carries the JSON envelope {type, data}; the server makes every
// offer and the browser answers; ICE candidates trickle both ways. When the socket drops or the
// network changes, the client opens a new socket with a fresh ticket, presents its resume token
// (within the server's grace period) and asks for an ICE restart, keeping its place in the call.


export class CallClient extends EventTarget {
  // socketURL(ticket): the socket's URL; ticket(): resolves to a fresh single-use socket
  // ticket; stream: the local camera and microphone (null: receive only).
  constructor({ socketURL, ticket, stream }) {
    super();
    this.socketURL = socketURL;
    this.ticket = ticket;
    this.stream = stream;
    this.ws = null;
    this.pc = null;
    this.resumeToken = null;
    this.self = null;          // {id, role, admitted}
    this.state = 'idle';       // connecting, waiting, connected, reconnecting, ended
    this.closed = false;
    this.lostAt = 0;
    this.graceMs = 30000;   // replaced by the server's resumeGraceSeconds
    this.audioOnly = false;
    this.pendingCandidates = [];
    this.restartTimer = null;
    this.onNetwork = () => this.networkChanged();
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  setState(state, why) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', { state, why });
  }

  async start() {
    this.makePeer();
    window.addEventListener('online', this.onNetwork);
    navigator.connection?.addEventListener?.('change', this.onNetwork);
    this.setState('connecting');
    await this.openSocket();
  }

  makePeer() {
    this.pc = new RTCPeerConnection({ iceServers: this.iceServers || [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    // The server offers; tracks added here are matched to its offered m-lines by kind.
    for (const t of this.stream?.getTracks() || []) this.pc.addTrack(t, this.stream);
    this.pc.addEventListener('icecandidate', (e) => {
      if (e.candidate) this.send('candidate', e.candidate.toJSON());
    });
    this.pc.addEventListener('track', (e) => this.emit('track', { track: e.track, streams: e.streams, transceiver: e.transceiver }));
    this.pc.addEventListener('iceconnectionstatechange', () => {
      const s = this.pc.iceConnectionState;
      this.emit('ice', { state: s });
      clearTimeout(this.restartTimer);
      if (s === 'failed') this.requestRestart('ice failed');
      // 'disconnected' often heals by itself within a couple of seconds; restart if it does not.
      if (s === 'disconnected') this.restartTimer = setTimeout(() => this.requestRestart('ice disconnected'), 2500);
      if ((s === 'connected' || s === 'completed') && this.state === 'reconnecting' && this.ws?.readyState === WebSocket.OPEN) {
        this.setState(this.self?.admitted ? 'connected' : 'waiting');
      }
    });
  }

  async openSocket() {
    let ticket;
    try {
      ticket = await this.ticket();
    } catch (err) {
      return this.lost(err);
    }
    if (this.closed) return;
    const ws = new WebSocket(this.socketURL(ticket));
    this.ws = ws;
    ws.addEventListener('open', () => {
      const join = { audioOnly: this.audioOnly || undefined };
      if (this.resumeToken) join.resumeToken = this.resumeToken;
      this.send('join', join);
    });
    ws.addEventListener('message', (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      this.handle(msg.type, msg.data || {}).catch((err) => this.emit('problem', { message: err.message || String(err) }));
    });
    ws.addEventListener('close', (e) => {
      if (ws !== this.ws) return;
      this.emit('socketclose', { code: e.code, reason: e.reason });
      if (this.closed || this.state === 'ended') return;
      const final = FINAL_CLOSES[e.code];
      if (final) return this.finish(final);
      this.lost(new Error(e.reason || `socket closed (${e.code})`));
    });
  }

  // lost starts (or continues) reconnecting, until the resume window is over.
  lost(err) {
    if (this.closed) return;
    if (!this.resumeToken) return this.finish(err.message || 'Could not connect');
    if (!this.lostAt) this.lostAt = Date.now();
    this.setState('reconnecting', err.message);
    const left = this.graceMs - (Date.now() - this.lostAt);
    if (left <= 0) return this.finish(`Could not reconnect within ${Math.round(this.graceMs / 1000)} seconds`);
    setTimeout(() => { if (!this.closed) this.openSocket(); }, Math.min(800 + Math.random() * 400, left));
  }

  networkChanged() {
    if (this.closed) return;
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return; // the socket's close handler reconnects
    this.requestRestart('network changed');
  }

  // requestRestart asks the server for an ICE restart: it answers with a fresh offer.
  requestRestart(why) {
    if (this.closed || !this.ws || this.ws.readyState !== WebSocket.OPEN || !this.pc.remoteDescription) return;
    if (this.state === 'connected') this.setState('reconnecting', why);
    this.send('restartIce', {});
  }

  send(type, data) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type, data }));
  }

  // setAudioOnly asks the server to stop (or resume) forwarding video to this client; it is
  // remembered and repeated on the join after a reconnection.
  setAudioOnly(on) {
    this.audioOnly = on;
    this.send('audioOnly', { enabled: on });
  }

  async handle(type, d) {
    switch (type) {
      case 'joined':
        this.resumeToken = d.resumeToken || this.resumeToken;
        if (d.resumeGraceSeconds) this.graceMs = d.resumeGraceSeconds * 1000;
        this.self = { id: d.participantId, role: d.role, admitted: d.admitted };
        if (Array.isArray(d.iceServers) && d.iceServers.length) {
          const iceServers = d.iceServers.map((x) => ({ urls: x.urls, username: x.username, credential: x.credential }));
          this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
        }
        this.lostAt = 0;
        // On a resume the server restarts ICE itself with a new offer; the state turns to
        // connected when media flows again.
        if (!d.resumed || this.pc.iceConnectionState === 'connected' || this.pc.iceConnectionState === 'completed') {
          this.setState(d.admitted ? 'connected' : 'waiting');
        }
        this.emit('joined', d);
        break;
      case 'offer': {
        await this.pc.setRemoteDescription({ type: 'offer', sdp: d.sdp });
        for (const c of this.pendingCandidates.splice(0)) await this.pc.addIceCandidate(c).catch(() => {});
        await this.pc.setLocalDescription(await this.pc.createAnswer());
        this.send('answer', { sdp: this.pc.localDescription.sdp });
        break;
      }
      case 'candidate':
        if (!this.pc.remoteDescription) this.pendingCandidates.push(d);
        else await this.pc.addIceCandidate(d).catch(() => {});
        break;
      case 'admitted':
        if (this.self) this.self.admitted = true;
        this.setState('connected');
        this.emit(type, d);
        break;
      case 'ended':
      case 'removed':
        this.emit(type, d);
        this.finish(type === 'ended' ? 'the clinician ended the call' : 'you were removed from the call');
        break;
      default:
        // participantJoined, participantUpdated, participantLeft, message, quality,
        // checkResult, error
        this.emit(type, d);
    }
  }

  // finish ends this client for good: socket, peer connection, listeners.
  finish(why) {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    window.removeEventListener('online', this.onNetwork);
    navigator.connection?.removeEventListener?.('change', this.onNetwork);
    try { this.ws?.close(1000, 'leaving'); } catch { /* already closed */ }
    try { this.pc?.close(); } catch { /* already closed */ }
    this.setState('ended', why);
  }

  leave() { this.send('leave', {}); this.finish('you left the call'); }
}

// Socket close codes after which reconnecting is pointless (docs/signaling.md).
const FINAL_CLOSES = {
  4001: 'you were removed from the call',
  4002: 'the call was opened in another window',
  4003: 'the call is full',
  4004: 'your place in the call was given up after the connection was lost too long',
};

// socketURL builds the signaling URL of a call for a ticket, on this page's origin.
export function callSocketURL(callId) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return (ticket) => `${scheme}//${location.host}/api/v1/calls/${encodeURIComponent(callId)}/ws?ticket=${encodeURIComponent(ticket)}`;
}

// Stats turns successive getStats() reports into the numbers shown to people: round-trip time,
// packet loss and bitrates, and video frames decoded.
export class Stats {
  constructor(pc) { this.pc = pc; this.prev = null; }

  async sample() {
    const report = await this.pc.getStats();
    const now = performance.now();
    let rtt = null, lost = 0, received = 0, inBytes = 0, outBytes = 0, framesDecoded = 0, remoteLoss = null;
    report.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && s.currentRoundTripTime !== undefined) rtt = s.currentRoundTripTime * 1000;
      if (s.type === 'inbound-rtp') {
        lost += s.packetsLost || 0; received += s.packetsReceived || 0; inBytes += s.bytesReceived || 0;
        if (s.kind === 'video') framesDecoded += s.framesDecoded || 0;
      }
      if (s.type === 'outbound-rtp') outBytes += s.bytesSent || 0;
      if (s.type === 'remote-inbound-rtp' && s.fractionLost !== undefined) remoteLoss = Math.max(remoteLoss ?? 0, s.fractionLost * 100);
    });
    const cur = { now, lost, received, inBytes, outBytes };
    const p = this.prev;
    this.prev = cur;
    const secs = p ? (now - p.now) / 1000 : 0;
    const dLost = p ? lost - p.lost : lost;
    const dRecv = p ? received - p.received : received;
    return {
      rttMs: rtt,
      lossPercent: dLost + dRecv > 0 ? (100 * Math.max(0, dLost)) / (dLost + dRecv) : (p ? 0 : null),
      sendLossPercent: remoteLoss,
      inKbps: secs > 0 ? ((inBytes - p.inBytes) * 8) / 1000 / secs : null,
      outKbps: secs > 0 ? ((outBytes - p.outBytes) * 8) / 1000 / secs : null,
      framesDecoded,
    };
  }
}

// grade names a connection's quality in words, from loss and round-trip time.
export function grade(q) {
  if (!q || q.rttMs === null) return 'Measuring';
  const loss = Math.max(q.lossPercent || 0, q.sendLossPercent || 0);
  if (loss > 5 || q.rttMs > 400) return 'Poor';
  if (loss > 1 || q.rttMs > 200) return 'Fair';
  return 'Good';
}
