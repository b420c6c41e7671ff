// The pre-call check: camera, microphone and network. The network part joins the server's echo
// room, which sends the browser's own media back, and shows what was measured: bitrate, packet
// loss and round-trip time, from the browser's statistics and from the server's own report.
import { h, replace, announce } from './dom.js';
import { CallClient, Stats, grade } from './rtc.js';

const CHECK_SECONDS = 6;

export function checkView({ main, session }) {
  const video = h('video', { autoplay: true, muted: true, playsinline: true, 'aria-label': 'Your camera' });
  video.muted = true;
  const camResult = h('p', { id: 'check-camera' }, 'Not checked yet.');
  const meter = h('meter', { id: 'mic-level', min: 0, max: 100, value: 0, low: 10, optimum: 50 });
  const micResult = h('p', { id: 'check-microphone' }, 'Not checked yet.');
  const netStats = h('dl', { class: 'stats', id: 'check-network-stats' });
  const netResult = h('p', { id: 'check-network' }, 'Not checked yet.');
  const startBtn = h('button', { type: 'button', id: 'start-check' }, 'Start the check');
  main.append(
    h('h1', {}, 'Check your camera, microphone and connection'),
    h('p', {}, `Before a consultation, check that the others will see and hear you. It takes about ${CHECK_SECONDS + 2} seconds.`),
    h('div', { class: 'actions' }, startBtn),
    h('section', { class: 'panel', 'aria-labelledby': 'cam-h' }, h('h2', { id: 'cam-h' }, 'Camera'), h('div', { class: 'videos' }, h('div', { class: 'tile local' }, video)), camResult),
    h('section', { class: 'panel', 'aria-labelledby': 'mic-h' }, h('h2', { id: 'mic-h' }, 'Microphone'), h('label', { for: 'mic-level' }, 'Sound level: speak and watch it move'), meter, micResult),
    h('section', { class: 'panel', 'aria-labelledby': 'net-h' }, h('h2', { id: 'net-h' }, 'Connection'), netResult, netStats),
  );

  let stream = null, audioCtx = null, raf = 0, client = null, stopped = false, timers = [];

  async function run() {
    startBtn.disabled = true;
    replace(netStats);
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } });
    } catch (e) {
      camResult.textContent = micResult.textContent = `Not available: ${e.name === 'NotAllowedError' ? 'permission was refused. Allow the camera and microphone in your browser settings.' : e.message}`;
      startBtn.disabled = false;
      return;
    }
    video.srcObject = stream;
    const vt = stream.getVideoTracks()[0];
    const set = vt?.getSettings() || {};
    camResult.textContent = vt ? `Working: ${vt.label || 'camera'}, ${set.width || '?'}×${set.height || '?'}.` : 'No camera found.';
    const at = stream.getAudioTracks()[0];
    if (at) {
      audioCtx = new AudioContext();
      const an = audioCtx.createAnalyser();
      an.fftSize = 512;
      audioCtx.createMediaStreamSource(stream).connect(an);
      const buf = new Uint8Array(an.fftSize);
      let peak = 0;
      const draw = () => {
        an.getByteTimeDomainData(buf);
        let sum = 0;
        for (const v of buf) sum += ((v - 128) / 128) ** 2;
        const level = Math.min(100, Math.round(Math.sqrt(sum / buf.length) * 300));
        meter.value = level;
        peak = Math.max(peak, level);
        micResult.textContent = peak > 2 ? `Working: ${at.label || 'microphone'}; sound heard.` : `Listening on ${at.label || 'microphone'}… say something.`;
        raf = requestAnimationFrame(draw);
      };
      draw();
    } else micResult.textContent = 'No microphone found.';
    await network();
    startBtn.disabled = false;
    startBtn.textContent = 'Check again';
  }

  async function network() {
    if (!session.signedIn) {
      // The echo room takes a ticket from a signed-in account; a guest's connection is
      // measured in the call itself (the quality line on the call page).
      netResult.textContent = 'Sign in to test your connection. Guests joining from a link see their connection quality in the call.';
      return;
    }
    netResult.textContent = 'Connecting to the echo room…';
    const ticket = async () => (await session.request('POST', '/api/v1/echo/tickets')).ticket;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    client = new CallClient({ socketURL: (t) => `${scheme}//${location.host}/api/v1/echo/ws?ticket=${encodeURIComponent(t)}`, ticket, stream });
    let serverReport = null;
    client.addEventListener('checkResult', ({ detail }) => { serverReport = detail; });
    const echoed = new Promise((resolve) => client.addEventListener('track', resolve, { once: true }));
    try {
      await client.start();
    } catch (e) {
      netResult.textContent = `Could not reach the echo room: ${e.message}`;
      return;
    }
    const got = await Promise.race([echoed, new Promise((r) => setTimeout(() => r(null), 5000))]);
    if (!got) {
      netResult.textContent = 'No media came back from the server. Your network may block calls; tell the practice.';
      client.finish('check over');
      return;
    }
    netResult.textContent = 'Measuring…';
    const stats = new Stats(client.pc);
    await stats.sample();
    let last = null;
    for (let i = 0; i < CHECK_SECONDS && !stopped; i++) {
      await new Promise((r) => timers.push(setTimeout(r, 1000)));
      last = await stats.sample();
      show(last, serverReport);
    }
    if (stopped) return;
    const g = grade(last);
    netResult.textContent = g === 'Good' ? 'Good: your connection is ready for video.' :
      g === 'Fair' ? 'Fair: video should work, but may stutter. Audio only may help.' :
      g === 'Poor' ? 'Poor: use audio only, or move closer to your Wi-Fi.' : 'Could not measure the connection.';
    netResult.dataset.grade = g;
    announce(`Check finished. Connection ${g}.`);
    client.finish('check over');
  }

  function show(q, server) {
    const rows = [
      ['Round-trip time', q.rttMs === null ? '—' : `${Math.round(q.rttMs)} ms`, 'rtt'],
      ['Packet loss (coming back)', q.lossPercent === null ? '—' : `${q.lossPercent.toFixed(1)} %`, 'loss'],
      ['Sending', q.outKbps === null ? '—' : `${Math.round(q.outKbps)} kbit/s`, 'send'],
      ['Receiving', q.inKbps === null ? '—' : `${Math.round(q.inKbps)} kbit/s`, 'recv'],
    ];
    if (server) {
      rows.push(
        ['Server received', `${Math.round(server.upKbps)} kbit/s, loss ${server.upLossPct.toFixed(1)} %, jitter ${Math.round(server.jitterMs)} ms (${server.audioPackets} audio and ${server.videoPackets} video packets)`, 'server-up'],
        ['Server sent back', `${Math.round(server.downKbps)} kbit/s, loss ${server.downLossPct.toFixed(1)} %, round trip ${server.rttMs ? `${Math.round(server.rttMs)} ms` : 'not known yet'}`, 'server-down'],
      );
    }
    replace(netStats, rows.flatMap(([k, v, key]) => [h('dt', {}, k), h('dd', { dataset: { stat: key } }, v)]));
  }

  startBtn.addEventListener('click', () => run().catch((e) => { netResult.textContent = `The check failed: ${e.message}`; startBtn.disabled = false; }));
  return () => {
    stopped = true;
    timers.forEach(clearTimeout);
    cancelAnimationFrame(raf);
    client?.finish('left the page');
    audioCtx?.close();
    stream?.getTracks().forEach((t) => t.stop());
  };
}
