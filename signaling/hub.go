package signaling

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"careway/models"
)

// Identity is who a participant is, as decided by the socket handler after it checked the
// ticket. The hub never takes identity from the socket.
type Identity struct {
	UserID string // the account id, or the guest invite's id
	Role   Role
	Name   string // shown to the other participants; never logged
}

// Summary is a call's record of who took part and how the media was, returned when the room
// closes.
type Summary struct {
	Call         models.CallID        `json:"callId" bson:"callId"`
	StartedAt    time.Time            `json:"startedAt" bson:"startedAt"`
	EndedAt      time.Time            `json:"endedAt" bson:"endedAt"`
	EndedBy      string               `json:"endedBy,omitempty" bson:"endedBy,omitempty"` // user id of the clinician who ended it
	Participants []ParticipantSummary `json:"participants" bson:"participants"`
}

// ParticipantSummary is one participant's part in a call.
type ParticipantSummary struct {
	UserID     string         `json:"userId" bson:"userId"`
	Role       Role           `json:"role" bson:"role"`
	JoinedAt   time.Time      `json:"joinedAt" bson:"joinedAt"`
	LeftAt     time.Time      `json:"leftAt" bson:"leftAt"`
	LeftReason string         `json:"leftReason" bson:"leftReason"`
	Admitted   bool           `json:"admitted" bson:"admitted"`
	Quality    QualitySummary `json:"quality" bson:"quality"`
}

// Hub holds every call room on this server.
type Hub struct {
	p     Params
	log   *slog.Logger
	media *media

	mu     sync.Mutex
	rooms  map[models.CallID]*room
	checks map[*room]struct{}
	closed bool
	wg     sync.WaitGroup // participants' goroutines and OnClose calls
}

// NewHub opens the media ports and returns an empty hub. Returns an error if a port cannot be
// opened or Params are inconsistent.
func NewHub(p Params) (*Hub, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	m, err := newMedia(p.Network, p.Logger)
	if err != nil {
		return nil, err
	}
	return &Hub{p: p, log: p.Logger, media: m, rooms: map[models.CallID]*room{}, checks: map[*room]struct{}{}}, nil
}

// UDPAddrs returns the addresses of the shared UDP port (none when the mux is off).
func (h *Hub) UDPAddrs() []net.Addr { return h.media.udpAddrs() }

// TCPAddr returns the ICE-over-TCP listener's address (nil when off).
func (h *Hub) TCPAddr() net.Addr { return h.media.tcpAddr() }

// errClosed is returned by Join after Close.
var errClosed = errors.New("signaling: hub closed")

// Join runs one participant's signaling socket for call until the socket closes; call it from
// the socket handler, which has checked the ticket and decided who. The first message must be
// "join" (optionally with a resume token). Join returns nil when the socket closed in any
// orderly way, including a refusal that the client was told about; it closes conn itself.
func (h *Hub) Join(ctx context.Context, call models.CallID, who Identity, conn Conn) error {
	if !who.Role.Valid() || who.UserID == "" {
		_ = conn.Close(CloseInternal, "bad identity")
		return errors.New("signaling: identity needs a user id and a valid role")
	}
	return h.serve(ctx, conn, func(s *session, jd JoinData) *participant {
		if jd.ResumeToken != "" {
			r := h.existingRoom(call)
			var p *participant
			if r != nil {
				p = r.resume(jd.ResumeToken, who, s, jd.NewPeer)
			}
			if p == nil {
				s.sendError(ErrResumeExpired, "the resume token is unknown or expired; join again", TypeJoin)
				s.closeAfter(CloseResumeExpired, "resume expired")
			}
			return p
		}
		var p *participant
		code := ErrClosed
		// A room that closed a moment ago (its last participant left) is replaced by a new one.
		for range 3 {
			r := h.roomFor(call)
			if r == nil {
				s.closeNow(CloseGoingAway, "shutting down")
				return nil
			}
			if p, code = r.add(who, s, jd); code != ErrClosed {
				break
			}
		}
		if p == nil {
			s.sendError(code, "cannot join this call", TypeJoin)
			s.closeAfter(CloseRoomFull, code)
		}
		return p
	})
}

// Check runs a pre-call check for one client: a room of its own where the server sends the
// client's media back and reports what it measures (checkResult messages).
func (h *Hub) Check(ctx context.Context, who Identity, conn Conn) error {
	if who.UserID == "" {
		_ = conn.Close(CloseInternal, "bad identity")
		return errors.New("signaling: identity needs a user id")
	}
	if !who.Role.Valid() {
		who.Role = RolePatient
	}
	return h.serve(ctx, conn, func(s *session, jd JoinData) *participant {
		if jd.ResumeToken != "" {
			s.sendError(ErrResumeExpired, "a check cannot be resumed; join again", TypeJoin)
			s.closeAfter(CloseResumeExpired, "resume expired")
			return nil
		}
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			s.closeNow(CloseGoingAway, "shutting down")
			return nil
		}
		r := newRoom(h, "", true)
		h.checks[r] = struct{}{}
		h.mu.Unlock()
		p, _ := r.add(who, s, jd)
		return p
	})
}

// serve is the reader goroutine of one socket: it waits for join, then passes every message
// to the participant's goroutine until the socket closes.
func (h *Hub) serve(ctx context.Context, conn Conn, join func(*session, JoinData) *participant) error {
	s := newSession(conn, h.p.Limits)
	stop := context.AfterFunc(ctx, func() { s.closeNow(CloseGoingAway, "shutting down") })
	defer stop()
	defer s.waitWriter()
	defer s.closeNow(CloseNormal, "")
	var p *participant
	for {
		msg, err := conn.ReadMessage()
		if err != nil {
			if p != nil {
				p.post(event{kind: evDetach, sess: s})
			}
			return nil
		}
		if !s.check(msg, time.Now()) {
			continue
		}
		env, ok := parseEnvelope(msg)
		if !ok {
			s.sendError(ErrBadJSON, "a message is a JSON object {type, data}", "")
			continue
		}
		if p != nil {
			p.post(event{kind: evMessage, sess: s, env: env})
			continue
		}
		if env.Type != TypeJoin {
			s.sendError(ErrOutOfOrder, "the first message must be join", env.Type)
			continue
		}
		var jd JoinData
		if err := decodeData(env, &jd); err != nil {
			s.sendError(ErrBadJSON, "join: "+err.Error(), TypeJoin)
			continue
		}
		if p = join(s, jd); p == nil {
			// Refused: drain until the client or closeAfter closes the socket.
			for {
				if _, err := conn.ReadMessage(); err != nil {
					return nil
				}
			}
		}
	}
}

func (h *Hub) existingRoom(call models.CallID) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rooms[call]
}

// roomFor returns the call's room, creating it; nil after Close.
func (h *Hub) roomFor(call models.CallID) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	r := h.rooms[call]
	if r == nil || r.isClosed() {
		r = newRoom(h, call, false)
		h.rooms[call] = r
	}
	return r
}

// roomClosed forgets r and hands its summary to OnClose.
func (h *Hub) roomClosed(r *room, s Summary) {
	h.mu.Lock()
	if r.check {
		delete(h.checks, r)
	} else if h.rooms[r.call] == r {
		delete(h.rooms, r.call)
	}
	h.mu.Unlock()
	if !r.check && h.p.OnClose != nil {
		h.p.OnClose(r.call, s)
	}
}

// Waiting returns the participants of call waiting to be admitted (for the triage queue).
func (h *Hub) Waiting(call models.CallID) []ParticipantInfo {
	r := h.existingRoom(call)
	if r == nil {
		return nil
	}
	return r.waiting()
}

// End ends call as if a clinician had: everyone is told and disconnected. It returns the
// summary (also given to OnClose) and false if the call had no room on this server.
func (h *Hub) End(call models.CallID) (Summary, bool) {
	r := h.existingRoom(call)
	if r == nil {
		return Summary{}, false
	}
	return r.end(nil), true
}

// Close ends every room: sockets are closed with 1001 (going away) and peer connections
// closed gracefully. It waits for every participant to finish, then closes the media ports.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	rooms := make([]*room, 0, len(h.rooms)+len(h.checks))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	for r := range h.checks {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	for _, r := range rooms {
		r.shutdown()
	}
	h.wg.Wait()
	return h.media.close()
}

// ForwardedPackets counts the RTP packets the hub has received from publishers and forwarded:
// by the fast path (the UDP mux's reader) and through pion's pipeline (a track's first packets,
// ICE-TCP, or no UDP mux).
func (h *Hub) ForwardedPackets() (fast, pion uint64) {
	return h.media.fast.fastPackets(), h.media.fast.pionPackets.Load()
}

// ForwardDelay is how long the packets forwarded by the fast path spent in the server, from
// the kernel's receive stamp to their send (histogram; see ForwardDelay).
func (h *Hub) ForwardDelay() ForwardDelay { return h.media.fast.forwardDelay() }

// ControlPacketsDropped counts the packets for pion (ICE checks, DTLS, RTCP) that the shared
// UDP port's readers dropped because pion's queue was full: all are sent again if lost, but a
// count that grows means pion's one reader cannot keep up.
func (h *Hub) ControlPacketsDropped() uint64 { return h.media.fast.pionDropped.Load() }

// RejectedPackets counts the RTP packets of published tracks that the fast path dropped because
// they did not decrypt: forgeries and replays, but also a stream whose packet index the server
// has wrong. A count that keeps growing while nobody attacks the port means some participant is
// losing a track.
func (h *Hub) RejectedPackets() uint64 { return h.media.fast.rejected.Load() }
