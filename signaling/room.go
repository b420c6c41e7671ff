package signaling

import (
	"crypto/rand"
	"encoding/base64"
	"sort"
	"sync"
	"time"

	"careway/models"
)

// room is one call (or one pre-call check). It owns its participants and their room-visible
// state; mu guards everything below it and the fields of participant marked "room.mu".
type room struct {
	hub   *Hub
	call  models.CallID
	check bool

	mu       sync.Mutex
	members  map[string]*participant // by participant id
	order    []*participant          // join order, for stable rosters
	closed   bool
	started  time.Time
	endedBy  string
	past     []ParticipantSummary
	ticker   *time.Ticker
	stopTick chan struct{}

	finishOnce sync.Once
	final      Summary
}

func newRoom(h *Hub, call models.CallID, check bool) *room {
	return &room{hub: h, call: call, check: check, members: map[string]*participant{}, started: h.p.Clock(), stopTick: make(chan struct{})}
}

// startTickingLocked starts the quality ticker once the room has someone to report to (a
// clinician, or the client of a check room): a room of waiting patients costs no goroutine.
func (r *room) startTickingLocked() {
	if r.ticker != nil {
		return
	}
	r.ticker = time.NewTicker(r.hub.p.Limits.QualityInterval)
	r.hub.wg.Add(1)
	go r.tick()
}

// add puts a new participant in the room. It returns nil and an error code if it cannot.
func (r *room) add(who Identity, s *session, jd JoinData) (*participant, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if len(r.members) >= r.hub.p.Limits.MaxParticipants {
		return nil, ErrRoomFull
	}
	p := newParticipant(r, who, s)
	p.admitted = who.Role == RoleClinician || r.check
	p.audioOnly = jd.AudioOnly
	p.joinedAt = r.hub.p.Clock()
	r.members[p.id] = p
	r.order = append(r.order, p)
	r.hub.wg.Add(1) // released when the participant quits
	if who.Role == RoleClinician || r.check {
		r.startTickingLocked()
	}
	p.post(event{kind: evJoined})
	r.broadcastLocked(p, TypeParticipantJoined, ParticipantEvent{r.infoLocked(p)})
	return p, ""
}

func (r *room) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// resume attaches s to the participant holding token, if it is the same person.
func (r *room) resume(token string, who Identity, s *session, newPeer bool) *participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.members {
		if p.token == token && p.who.UserID == who.UserID && p.who.Role == who.Role && !p.leaving {
			p.post(event{kind: evAttach, sess: s, newPeer: newPeer})
			return p
		}
	}
	return nil
}

// visibleLocked says whether viewer may know about p: itself, clinicians see everyone, and
// admitted participants see each other. A waiting participant sees nobody, and nobody but the
// clinicians sees it.
func visibleLocked(p, viewer *participant) bool {
	return p == viewer || viewer.who.Role == RoleClinician || (p.admitted && viewer.admitted)
}

func (r *room) infoLocked(p *participant) ParticipantInfo {
	return ParticipantInfo{ID: p.id, Role: p.who.Role, Name: p.who.Name, Admitted: p.admitted, State: p.state,
		AudioMuted: p.audioMuted, VideoMuted: p.videoMuted, AudioOnly: p.audioOnly}
}

// rosterLocked is everyone viewer may see, itself included.
func (r *room) rosterLocked(viewer *participant) []ParticipantInfo {
	out := []ParticipantInfo{}
	for _, p := range r.order {
		if visibleLocked(p, viewer) {
			out = append(out, r.infoLocked(p))
		}
	}
	return out
}

// broadcastLocked sends a message about p to everyone else who may see p.
func (r *room) broadcastLocked(p *participant, typ string, data any) {
	b, err := marshalEnvelope(typ, data)
	if err != nil {
		return
	}
	for _, o := range r.order {
		if o != p && visibleLocked(p, o) {
			o.sendRaw(b)
		}
	}
}

// update changes p's room-visible state with f and tells those who may see p.
func (r *room) update(p *participant, f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
	if r.members[p.id] == p {
		r.broadcastLocked(p, TypeParticipantUpdated, ParticipantEvent{r.infoLocked(p)})
	}
}

// admit lets a waiting participant in. Only clinicians may; returns an error code.
func (r *room) admit(by *participant, id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if by.who.Role != RoleClinician {
		return ErrForbidden
	}
	p := r.members[id]
	if p == nil {
		return ErrNotFound
	}
	if p.admitted {
		return ""
	}
	// Those already admitted learn of p only now.
	p.admitted = true
	for _, o := range r.order {
		if o != p && o.admitted && o.who.Role != RoleClinician {
			o.send(TypeParticipantJoined, ParticipantEvent{r.infoLocked(p)})
		}
	}
	r.broadcastLocked(p, TypeParticipantUpdated, ParticipantEvent{r.infoLocked(p)})
	p.post(event{kind: evAdmitted})
	r.resyncLocked()
	return ""
}

// remove puts a participant out of the call. Only clinicians may; returns an error code.
func (r *room) remove(by *participant, id string) string {
	if by.who.Role != RoleClinician {
		return ErrForbidden
	}
	r.mu.Lock()
	p := r.members[id]
	r.mu.Unlock()
	if p == nil {
		return ErrNotFound
	}
	p.post(event{kind: evClose, reason: LeftRemoved})
	return ""
}

// leave takes p out of the room and tells the others. Called by p's goroutine as it ends.
func (r *room) leave(p *participant, reason string) {
	r.mu.Lock()
	if r.members[p.id] != p {
		r.mu.Unlock()
		return
	}
	r.broadcastLocked(p, TypeParticipantLeft, LeftData{ParticipantID: p.id, Reason: reason})
	delete(r.members, p.id)
	for i, o := range r.order {
		if o == p {
			r.order = append(r.order[:i], r.order[i+1:]...)
			break
		}
	}
	r.past = append(r.past, ParticipantSummary{UserID: p.who.UserID, Role: p.who.Role, JoinedAt: p.joinedAt,
		LeftAt: r.hub.p.Clock(), LeftReason: reason, Admitted: p.admitted, Quality: p.meter.summary()})
	r.resyncLocked()
	empty := len(r.members) == 0 && !r.closed
	if empty {
		r.closed = true
	}
	r.mu.Unlock()
	if empty {
		r.finish()
	}
}

// end closes the room for everyone; by is the clinician who ended it (nil: the server).
func (r *room) end(by *participant) Summary {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return r.finish()
	}
	r.closed = true
	byID := ""
	if by != nil {
		r.endedBy = by.who.UserID
		byID = by.id
	}
	members := append([]*participant(nil), r.order...)
	r.mu.Unlock()
	done := make([]chan struct{}, 0, len(members))
	for _, p := range members {
		p.post(event{kind: evEnd, reason: byID})
		done = append(done, p.done)
	}
	for _, d := range done {
		<-d
	}
	return r.finish()
}

// shutdown ends the room because the server is stopping: sockets close with 1001.
func (r *room) shutdown() {
	r.mu.Lock()
	r.closed = true
	members := append([]*participant(nil), r.order...)
	r.mu.Unlock()
	for _, p := range members {
		p.post(event{kind: evClose, reason: LeftEnded, code: CloseGoingAway})
	}
	for _, p := range members {
		<-p.done
	}
	r.finish()
}

// finish stops the ticker and reports the summary, once.
func (r *room) finish() Summary {
	r.finishOnce.Do(func() {
		close(r.stopTick)
		r.final = r.summary()
		r.hub.wg.Add(1)
		go func() {
			defer r.hub.wg.Done()
			r.hub.roomClosed(r, r.final)
		}()
	})
	return r.final
}

func (r *room) summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{Call: r.call, StartedAt: r.started, EndedAt: r.hub.p.Clock(), EndedBy: r.endedBy,
		Participants: append([]ParticipantSummary(nil), r.past...)}
	sort.SliceStable(s.Participants, func(i, j int) bool { return s.Participants[i].JoinedAt.Before(s.Participants[j].JoinedAt) })
	return s
}

// resyncLocked asks every participant to bring its subscriptions in line with the room.
func (r *room) resyncLocked() {
	for _, p := range r.order {
		p.post(event{kind: evResync})
	}
}

// desired returns the tracks sub should receive: those of every other admitted participant
// (its own in a check room), video only if sub is not audio-only. A waiting participant
// receives nothing and its tracks go to nobody.
func (r *room) desired(sub *participant) map[*pubTrack]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	want := map[*pubTrack]bool{}
	if r.members[sub.id] != sub || !sub.admitted {
		return want
	}
	for _, p := range r.order {
		if !p.admitted || (p == sub) != r.check {
			continue
		}
		for _, t := range p.pubs {
			if t.kind == kindVideo && sub.audioOnly {
				continue
			}
			want[t] = true
		}
	}
	return want
}

func (r *room) waiting() []ParticipantInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []ParticipantInfo{}
	for _, p := range r.order {
		if !p.admitted {
			out = append(out, r.infoLocked(p))
		}
	}
	return out
}

// tick pushes quality figures every interval: in a call to clinicians (everyone's) and to each
// participant with media (its own); in a check, to the client.
func (r *room) tick() {
	defer r.hub.wg.Done()
	defer r.ticker.Stop()
	for {
		select {
		case <-r.stopTick:
			return
		case <-r.ticker.C:
		}
		now := time.Now()
		r.mu.Lock()
		members := append([]*participant(nil), r.order...)
		r.mu.Unlock()
		qs := make([]Quality, 0, len(members))
		for _, p := range members {
			qs = append(qs, p.meter.sample(p.id, p.counters(), now))
		}
		if r.check {
			for i, p := range members {
				a, v := p.packetCounts()
				p.send(TypeCheckResult, CheckResultData{Quality: qs[i], AudioPackets: a, VideoPackets: v})
			}
			continue
		}
		// Clinicians see everyone's figures; anyone else with media sees only its own (for a
		// "your connection" indicator), never another patient's.
		for i, p := range members {
			if p.who.Role == RoleClinician {
				p.send(TypeQuality, QualityData{Participants: qs})
			} else if p.peer() != nil {
				p.send(TypeQuality, QualityData{Participants: qs[i : i+1]})
			}
		}
	}
}

// newToken returns a random resume token.
func newToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
