package signaling

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"
)

// session is one signaling socket: the reader is the goroutine in Hub.Join; the writer is a
// goroutine started when a message is queued and ended when the queue is empty, so an idle
// socket (a patient in the waiting room) holds no writer goroutine and no queue. A participant
// outlives its sessions when it resumes on a new socket.
type session struct {
	conn  Conn
	limit int // messages queued before the client is disconnected as too slow

	mu      sync.Mutex // guards queue, writing, and the closing of done
	queue   []outMsg
	writing bool
	wrote   sync.WaitGroup // the writer goroutine, while it runs
	done    chan struct{}  // closed when the socket is closing
	once    sync.Once

	// Rate limit (reader goroutine only).
	tokens   float64
	last     time.Time
	perSec   float64
	burst    float64
	warnedAt time.Time
	maxBytes int
}

type outMsg struct {
	data  []byte
	close bool // close the socket with code after everything before it is written
	code  int
	why   string
}

func newSession(conn Conn, l Limits) *session {
	return &session{
		conn: conn, limit: l.SendQueue, done: make(chan struct{}),
		tokens: float64(l.MessageBurst), perSec: l.MessagesPerSec, burst: float64(l.MessageBurst), maxBytes: l.MaxMessageBytes,
	}
}

// enqueue queues m and starts the writer if it is not running. It returns false if the queue
// is full; a message for a closing socket is dropped.
func (s *session) enqueue(m outMsg) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return true
	default:
	}
	if len(s.queue) >= s.limit {
		return false
	}
	s.queue = append(s.queue, m)
	if !s.writing {
		s.writing = true
		s.wrote.Add(1)
		go s.writeLoop()
	}
	return true
}

// writeLoop writes queued messages in order until the queue is empty or the socket closes.
func (s *session) writeLoop() {
	defer s.wrote.Done()
	for {
		s.mu.Lock()
		closing := false
		select {
		case <-s.done:
			closing = true
		default:
		}
		if closing || len(s.queue) == 0 {
			s.writing = false
			s.queue = nil
			s.mu.Unlock()
			return
		}
		m := s.queue[0]
		s.queue[0] = outMsg{}
		s.queue = s.queue[1:]
		s.mu.Unlock()
		if m.close {
			s.closeNow(m.code, m.why)
			continue // finds done closed and ends
		}
		if err := s.conn.WriteMessage(m.data); err != nil {
			s.closeNow(CloseInternal, "write failed")
		}
	}
}

// waitWriter waits until no writer goroutine runs; call after closeNow.
func (s *session) waitWriter() { s.wrote.Wait() }

// send queues one message. A client too slow to take its messages is disconnected rather than
// allowed to hold memory; it may resume.
func (s *session) send(typ string, data any) {
	b, err := marshalEnvelope(typ, data)
	if err != nil {
		return
	}
	s.sendRaw(b)
}

func (s *session) sendRaw(b []byte) {
	if !s.enqueue(outMsg{data: b}) {
		// Callers may hold the room's lock, and closing writes a close frame to a client that
		// is already not reading: do it elsewhere.
		go s.closeNow(ClosePolicy, "too slow")
	}
}

func (s *session) sendError(code, msg, forType string) {
	s.send(TypeError, ErrorData{Code: code, Message: msg, For: forType})
}

// closeAfter writes what is queued, then closes the socket with code.
func (s *session) closeAfter(code int, why string) {
	if !s.enqueue(outMsg{close: true, code: code, why: why}) {
		s.closeNow(code, why)
	}
}

// closeNow closes the socket at once. No writer starts after it.
func (s *session) closeNow(code int, why string) {
	s.once.Do(func() {
		s.mu.Lock()
		close(s.done)
		s.mu.Unlock()
		_ = s.conn.Close(code, why)
	})
}

// allow takes one token from the rate limit.
func (s *session) allow(now time.Time) bool {
	if !s.last.IsZero() {
		s.tokens = min(s.burst, s.tokens+now.Sub(s.last).Seconds()*s.perSec)
	}
	s.last = now
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

// check refuses oversized and rate-limited messages with an error message (at most one
// rate-limit error a second, so refusing costs less than the flood).
func (s *session) check(msg []byte, now time.Time) bool {
	if !s.allow(now) {
		if now.Sub(s.warnedAt) >= time.Second {
			s.warnedAt = now
			s.sendError(ErrRateLimited, "too many messages; some were dropped", "")
		}
		return false
	}
	if len(msg) > s.maxBytes {
		s.sendError(ErrTooLarge, "message over the size limit", "")
		return false
	}
	return true
}

func marshalEnvelope(typ string, data any) ([]byte, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Envelope{Type: typ, Data: raw})
}

// parseEnvelope reads an envelope; the error is for the client.
func parseEnvelope(msg []byte) (Envelope, bool) {
	var env Envelope
	if err := json.Unmarshal(msg, &env); err != nil || env.Type == "" {
		return env, false
	}
	return env, true
}

// decodeData reads an envelope's data into v, refusing unknown fields. Missing data is {}.
func decodeData(env Envelope, v any) error {
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(env.Data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
