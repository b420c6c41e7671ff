package signaling

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"
)

const (
	kindAudio = webrtc.RTPCodecTypeAudio
	kindVideo = webrtc.RTPCodecTypeVideo

	maxPendingCandidates = 64
)

// participant is one person in a room. Its goroutine (run) owns its peer connection and does
// everything that touches it, one event at a time: socket messages, pion's callbacks and the
// room's requests all arrive as events. Nothing else calls into its peer connection except
// WriteRTCP for keyframe requests.
type participant struct {
	room  *room
	id    string
	who   Identity
	token string
	log   *slog.Logger
	meter meter

	// Guarded by room.mu.
	admitted   bool
	audioMuted bool
	videoMuted bool
	audioOnly  bool
	leaving    bool
	state      string
	pubs       []*pubTrack
	joinedAt   time.Time

	sessMu sync.Mutex
	sess   *session // the current socket; nil while reconnecting

	inboxMu  sync.Mutex
	inbox    []event
	finished bool
	running  bool          // a goroutine is draining the inbox (it exits when the inbox is empty)
	done     chan struct{} // closed when the participant has quit and everything is released

	pcMu sync.Mutex
	pc   *webrtc.PeerConnection

	queue    atomic.Pointer[sendQueue]    // media through pion; made when it is first needed (usePion)
	downList atomic.Pointer[[]*downTrack] // a copy of downs for the quality ticker

	// How media reaches this participant (set by route): by the fast path, through pion
	// (viaPion), or, until its media has connected, not at all.
	fast     atomic.Pointer[fastPeer]
	viaPion  atomic.Bool
	sentFast atomic.Uint64 // RTP bytes the fast path sent it
	rtcpSSRC uint32        // the SSRC of the server's reports to it

	// Owned by run.
	negotiating    bool
	pending        bool // another offer is due once the current one is answered
	pendingRestart bool
	downs          map[*pubTrack]*downTrack
	inOffer        []*downTrack // the tracks in the offer waiting for an answer
	api            *webrtc.API  // made the peer connection
	// Media sections whose track ended: removing (not yet offered), removed (in the offer
	// waiting for an answer), spare (the client agreed: a new track of the kind may take it).
	removing, removed, spare []*webrtc.RTPTransceiver
	candidates               []webrtc.ICECandidateInit
	graceGen                 int
	graceTimer               *time.Timer
	media                    sync.WaitGroup // track readers and RTCP readers
}

type evKind int

const (
	evJoined evKind = iota
	evMessage
	evAttach
	evDetach
	evGrace
	evCandidate
	evConnState
	evTrack
	evTrackEnded
	evResync
	evAdmitted
	evEnd
	evClose
	evPairChange
	evFastFailed
)

type event struct {
	kind     evKind
	sess     *session
	env      Envelope
	reason   string
	code     int
	gen      int
	cand     *webrtc.ICECandidate
	state    webrtc.PeerConnectionState
	remote   *webrtc.TrackRemote
	receiver *webrtc.RTPReceiver
	pub      *pubTrack
	fast     *fastPeer
	newPeer  bool
}

func newParticipant(r *room, who Identity, s *session) *participant {
	p := &participant{
		room: r, id: newID(), who: who, token: newToken(), state: StateConnecting, sess: s,
		done: make(chan struct{}), downs: map[*pubTrack]*downTrack{},
	}
	p.log = r.hub.log.With("call", string(r.call), "participant", p.id, "role", string(who.Role))
	p.downList.Store(&[]*downTrack{})
	return p
}

// post queues an event for the participant's goroutine, starting it if none is running. It
// never blocks, so pion callbacks and other participants may call it. An idle participant (a
// patient in the waiting room) has no goroutine at all, which is what lets one server hold
// thousands of them.
func (p *participant) post(e event) {
	p.inboxMu.Lock()
	if p.finished {
		p.inboxMu.Unlock()
		return
	}
	p.inbox = append(p.inbox, e)
	start := !p.running
	p.running = true
	p.inboxMu.Unlock()
	if start {
		go p.run()
	}
}

func (p *participant) session() *session {
	p.sessMu.Lock()
	defer p.sessMu.Unlock()
	return p.sess
}

// send queues a message on the current socket; dropped while reconnecting (a resumed client
// is sent the whole roster again).
func (p *participant) send(typ string, data any) {
	if s := p.session(); s != nil {
		s.send(typ, data)
	}
}

func (p *participant) sendRaw(b []byte) {
	if s := p.session(); s != nil {
		s.sendRaw(b)
	}
}

func (p *participant) sendError(code, msg, forType string) {
	p.send(TypeError, ErrorData{Code: code, Message: msg, For: forType})
}

func (p *participant) peer() *webrtc.PeerConnection {
	p.pcMu.Lock()
	defer p.pcMu.Unlock()
	return p.pc
}

// run handles events, one at a time and in order, until the inbox is empty or the participant
// has quit. At most one run is active for a participant at any time.
func (p *participant) run() {
	for {
		p.inboxMu.Lock()
		evs := p.inbox
		p.inbox = nil
		if len(evs) == 0 {
			p.running = false
			p.inboxMu.Unlock()
			return
		}
		p.inboxMu.Unlock()
		for _, e := range evs {
			if p.handle(e) {
				// quit set finished, so no new run starts; the wait group was taken in room.add.
				close(p.done)
				p.room.hub.wg.Done()
				return
			}
		}
	}
}

// handle does one event; true when the participant is gone.
func (p *participant) handle(e event) bool {
	switch e.kind {
	case evJoined:
		p.sendJoined(false)
		if p.admittedNow() {
			p.startMedia()
		}
	case evMessage:
		if e.sess != p.session() {
			return false // a replaced socket's last words
		}
		return p.dispatch(e.env)
	case evAttach:
		p.attach(e.sess, e.newPeer)
	case evDetach:
		if e.sess == p.session() {
			p.detach()
		}
	case evGrace:
		if e.gen == p.graceGen && p.session() == nil {
			p.quit(LeftTimeout, 0, nil)
			return true
		}
	case evCandidate:
		p.send(TypeCandidate, e.cand.ToJSON())
	case evConnState:
		p.onConnState(e.state)
	case evPairChange:
		if pc := p.peer(); pc != nil && pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
			p.route()
		}
	case evFastFailed:
		if p.fast.CompareAndSwap(e.fast, nil) {
			e.fast.disarm()
			p.viaPion.Store(true)
			p.log.Warn("fast path could not decrypt this participant's media; forwarding through pion")
		}
	case evTrack:
		p.publish(e.remote, e.receiver)
	case evTrackEnded:
		if fp := p.fast.Load(); fp != nil {
			fp.removePub(e.pub)
		}
		p.room.mu.Lock()
		for i, t := range p.pubs {
			if t == e.pub {
				p.pubs = append(p.pubs[:i], p.pubs[i+1:]...)
				break
			}
		}
		p.room.resyncLocked()
		p.room.mu.Unlock()
	case evResync:
		p.syncSubs(false)
	case evAdmitted:
		p.room.mu.Lock()
		roster := p.room.rosterLocked(p)
		p.room.mu.Unlock()
		p.send(TypeAdmitted, AdmittedData{Participants: roster})
		p.startMedia()
	case evEnd:
		p.quit(LeftEnded, CloseNormal, func(s *session) { s.send(TypeEnded, EndedData{By: e.reason}) })
		return true
	case evClose:
		var notify func(*session)
		code := e.code
		if e.reason == LeftRemoved {
			code = CloseRemoved
			notify = func(s *session) { s.send(TypeRemoved, struct{}{}) }
		}
		p.quit(e.reason, code, notify)
		return true
	}
	return false
}

func (p *participant) admittedNow() bool {
	p.room.mu.Lock()
	defer p.room.mu.Unlock()
	return p.admitted
}

func (p *participant) sendJoined(resumed bool) {
	r := p.room
	r.mu.Lock()
	jd := JoinedData{
		ParticipantID: p.id, Role: p.who.Role, Admitted: p.admitted, Resumed: resumed, ResumeToken: p.token,
		ResumeGraceSeconds: int(r.hub.p.Limits.ResumeGrace / time.Second),
		ICEServers:         r.hub.p.Network.ICEServers(p.id, r.hub.p.Clock()),
		Participants:       r.rosterLocked(p), Check: r.check,
	}
	r.mu.Unlock()
	p.send(TypeJoined, jd)
}

// attach takes a new socket after a resume. Media comes back by ICE restart on the same peer
// connection, or, if the client lost it (newPeer), on a new one.
func (p *participant) attach(s *session, newPeer bool) {
	p.sessMu.Lock()
	old := p.sess
	p.sess = s
	p.sessMu.Unlock()
	if old != nil {
		old.closeAfter(CloseReplaced, "resumed elsewhere")
	}
	p.graceGen++
	if p.graceTimer != nil {
		p.graceTimer.Stop()
	}
	p.log.Info("participant resumed", "newPeer", newPeer)
	p.sendJoined(true)
	if newPeer {
		p.closeMedia()
		p.room.update(p, func() { p.state = StateConnecting })
		if p.admittedNow() {
			p.startMedia()
		}
		return
	}
	pc := p.peer()
	state := StateConnecting
	if pc != nil && pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		state = StateConnected
	} else if pc != nil {
		state = StateReconnecting
	}
	p.room.update(p, func() { p.state = state })
	if pc == nil {
		return
	}
	if p.negotiating {
		// The answer to the outstanding offer was lost with the old socket: offer it again.
		if ld := pc.LocalDescription(); ld != nil {
			p.send(TypeOffer, SDPData{SDP: ld.SDP})
		}
		p.pending, p.pendingRestart = true, true
		return
	}
	p.negotiate(true)
}

// detach is the socket going away: hold the place for the grace period.
func (p *participant) detach() {
	p.sessMu.Lock()
	p.sess = nil
	p.sessMu.Unlock()
	p.log.Info("participant socket lost; holding its place")
	p.room.update(p, func() { p.state = StateReconnecting })
	p.graceGen++
	gen := p.graceGen
	p.graceTimer = time.AfterFunc(p.room.hub.p.Limits.ResumeGrace, func() { p.post(event{kind: evGrace, gen: gen}) })
}

func (p *participant) onConnState(s webrtc.PeerConnectionState) {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		p.route()
		if p.session() != nil {
			p.room.update(p, func() { p.state = StateConnected })
		}
	case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed:
		p.room.update(p, func() { p.state = StateReconnecting })
	}
}

// quit ends the participant: notify (if it has a socket), close the socket with code, leave the
// room, release the media.
func (p *participant) quit(reason string, code int, notify func(*session)) {
	p.inboxMu.Lock()
	p.finished = true
	p.inbox = nil
	p.inboxMu.Unlock()
	p.room.mu.Lock()
	p.leaving = true
	p.room.mu.Unlock()
	if p.graceTimer != nil {
		p.graceTimer.Stop()
	}
	if s := p.session(); s != nil {
		if notify != nil {
			notify(s)
		}
		if code == 0 {
			code = CloseNormal
		}
		s.closeAfter(code, reason)
	}
	p.room.leave(p, reason)
	p.closeMedia()
	p.log.Info("participant left", "reason", reason)
}
