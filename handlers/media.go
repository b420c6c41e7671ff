package handlers

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/pion/webrtc/v3"

	"careway/models"
	"careway/signaling"
)

// MediaServer is the signaling hub as the HTTP layer uses it (*signaling.Hub implements it).
type MediaServer interface {
	// Join runs one participant's socket for call until it closes.
	Join(ctx context.Context, call models.CallID, who signaling.Identity, conn signaling.Conn) error
	// Check runs a pre-call check (the server echoes the client's media back).
	Check(ctx context.Context, who signaling.Identity, conn signaling.Conn) error
	// Waiting lists who waits to be admitted to call now.
	Waiting(call models.CallID) []signaling.ParticipantInfo
}

// ICEServerFunc returns the STUN/TURN servers to hand one participant, with TURN credentials
// valid for a limited time (signaling.Network.ICEServers).
type ICEServerFunc func(userID string, now time.Time) []webrtc.ICEServer

// Socket limits. The hub refuses messages above its own 64 KiB limit with an error message;
// the socket's read limit is far above that so a huge frame is cut off without being buffered.
const (
	wsReadLimit    = 1 << 20
	wsWriteTimeout = 10 * time.Second
	wsBufferSize   = 4096
)

// wsConn adapts a gofiber/contrib websocket to signaling.Conn.
type wsConn struct{ c *websocket.Conn }

// ReadMessage returns the next text message; binary messages are skipped (the protocol is JSON).
func (w wsConn) ReadMessage() ([]byte, error) {
	for {
		mt, b, err := w.c.ReadMessage()
		if err != nil {
			return nil, err
		}
		if mt == websocket.TextMessage {
			return b, nil
		}
	}
}

// WriteMessage sends one text message, giving up after wsWriteTimeout (a stalled client).
func (w wsConn) WriteMessage(b []byte) error {
	_ = w.c.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	return w.c.WriteMessage(websocket.TextMessage, b)
}

// Close sends a close frame (best effort; WriteControl may run alongside WriteMessage) and
// closes the socket.
func (w wsConn) Close(code int, reason string) error {
	_ = w.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	return w.c.Close()
}

// originAllowed reports whether a browser page at origin may open a signaling socket: the same
// host as the request (the console), or one of the configured origins. No Origin header means
// no browser (a native app), which the single-use ticket alone admits.
func originAllowed(origin, host string, allowed []string) bool {
	if origin == "" {
		return true
	}
	for _, a := range allowed {
		if a == "*" || strings.EqualFold(a, origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host) && (u.Scheme == "https" || u.Scheme == "http")
}

// upgrade hands the socket, once upgraded, to run (the caller has checked the Origin and the
// ticket). run may keep only copied values: the request's buffers are reused.
func (s *server) upgrade(c *fiber.Ctx, run func(conn signaling.Conn)) error {
	return websocket.New(func(conn *websocket.Conn) {
		conn.SetReadLimit(wsReadLimit)
		run(wsConn{c: conn})
	}, websocket.Config{ReadBufferSize: wsBufferSize, WriteBufferSize: wsBufferSize})(c)
}

// CallRecorder returns the hub's OnClose callback: it stores a closed room's summary on the
// call. A call a clinician ended is marked ended (nobody may join again); a room that closed
// because everyone left, or because the server stopped, keeps its call open for a rejoin.
func CallRecorder(calls models.CallStore, logger *slog.Logger) func(models.CallID, signaling.Summary) {
	return func(id models.CallID, sum signaling.Summary) {
		if id == "" {
			return // a pre-call check room
		}
		q := qualityOf(sum)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		if sum.EndedBy != "" {
			_, err = calls.EndCall(ctx, id, q, sum.EndedAt)
		} else {
			err = calls.SaveCallQuality(ctx, id, q)
		}
		if err != nil && models.ErrorCode(err) != models.ECONFLICT {
			logger.Error("storing a call's summary failed", "callId", id, "err", err)
		}
	}
}

// qualityOf converts the hub's summary into the call record's.
func qualityOf(sum signaling.Summary) *models.CallQuality {
	q := &models.CallQuality{StartedAt: sum.StartedAt, EndedAt: sum.EndedAt, EndedBy: models.UserID(sum.EndedBy),
		Participants: make([]models.ParticipantQuality, 0, len(sum.Participants))}
	for _, p := range sum.Participants {
		m := p.Quality
		q.Participants = append(q.Participants, models.ParticipantQuality{UserID: models.UserID(p.UserID),
			Kind: models.ParticipantKind(p.Role), JoinedAt: p.JoinedAt, LeftAt: p.LeftAt, LeftReason: p.LeftReason,
			Admitted: p.Admitted, Samples: m.Samples, AvgUpKbps: m.AvgUpKbps, AvgDownKbps: m.AvgDownKbps,
			AvgUpLossPct: m.AvgUpLossPct, MaxUpLossPct: m.MaxUpLossPct, AvgDownLossPct: m.AvgDownLossPct,
			MaxDownLossPct: m.MaxDownLossPct, AvgRTTMs: m.AvgRTTMs, MaxRTTMs: m.MaxRTTMs, AvgJitterMs: m.AvgJitterMs, MaxJitterMs: m.MaxJitterMs})
	}
	return q
}
