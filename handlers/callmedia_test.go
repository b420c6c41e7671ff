package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"careway/models"
	"careway/signaling"
	"careway/signaling/sigtest"
)

// clientConn is the client end of a real WebSocket, as a signaling.Conn for sigtest.
type clientConn struct {
	c  *websocket.Conn
	mu sync.Mutex
}

func (w *clientConn) ReadMessage() ([]byte, error) {
	_, b, err := w.c.ReadMessage()
	return b, err
}

func (w *clientConn) WriteMessage(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.c.WriteMessage(websocket.TextMessage, b)
}

func (w *clientConn) Close(code int, reason string) error {
	_ = w.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	return w.c.Close()
}

// dial opens the call's socket on the real server at base with a ticket, as a browser at origin.
func dial(t *testing.T, base string, call models.CallID, ticket, origin string) (*clientConn, *http.Response, error) {
	t.Helper()
	return dialPath(t, base, "/api/v1/calls/"+string(call)+"/ws?ticket="+ticket, origin)
}

func dialPath(t *testing.T, base, path, origin string) (*clientConn, *http.Response, error) {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + path
	hdr := http.Header{}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	c, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		return nil, resp, err
	}
	return &clientConn{c: c}, resp, nil
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCallWholePath goes from a triage request to a video call through the real HTTP server:
// a clinician takes the request and chooses video (the call is created), clinician and patient
// get tickets, open the socket route as real pion clients (same-origin console and a configured
// app origin), the clinician admits the patient from the waiting room the queue shows, media
// flows both ways; an interpreter invited by link joins without an account and is admitted;
// the clinician ends the call and the call record gets its quality summary.
func TestCallWholePath(t *testing.T) {
	h, _ := newMediaHarness(t)
	w := h.w
	base := h.serve()

	r := h.createTriage(t, w.patient.token, triageBody(w.patientA.ID))
	h.do("POST", "/api/v1/triage-requests/"+string(r.ID)+"/take", w.clinicianA.token, nil).want(t, 200)
	var done models.TriageRequest
	h.do("POST", "/api/v1/triage-requests/"+string(r.ID)+"/outcome", w.clinicianA.token,
		map[string]any{"kind": "video_consultation"}).want(t, 200).decode(t, &done)
	call := done.Outcome.CallID

	// A foreign origin is refused before the upgrade, and the ticket survives it.
	docTicket := h.ticket(t, call, w.clinicianA.token)
	if _, resp, err := dial(t, base, call, docTicket.Ticket, "https://evil.example"); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("foreign origin: %v, %v; want 403", resp, err)
	}
	docConn, _, err := dial(t, base, call, docTicket.Ticket, base) // the console: same origin
	if err != nil {
		t.Fatalf("clinician socket: %v", err)
	}
	doc := sigtest.New(t, docConn, sigtest.Options{Publish: true})
	dj := doc.Joined()
	if !dj.Admitted || dj.Role != signaling.RoleClinician {
		t.Fatalf("clinician joined %+v", dj)
	}
	// The ticket was used up: a second socket with it is refused.
	if _, resp, err := dial(t, base, call, docTicket.Ticket, base); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("reused ticket: %v, %v; want 401", resp, err)
	}

	patTicket := h.ticket(t, call, w.patient.token)
	patConn, _, err := dial(t, base, call, patTicket.Ticket, "https://app.example.test") // a configured origin
	if err != nil {
		t.Fatalf("patient socket: %v", err)
	}
	pat := sigtest.New(t, patConn, sigtest.Options{Publish: true})
	pj := pat.Joined()
	if pj.Admitted || pj.Role != signaling.RolePatient || len(pj.ICEServers) == 0 {
		t.Fatalf("patient joined %+v, want waiting, with ICE servers", pj)
	}

	// The queue shows the patient in the waiting room.
	var q struct {
		WaitingRooms []struct {
			CallID  models.CallID `json:"callId"`
			Waiting []struct {
				ParticipantID string `json:"participantId"`
				Role          string `json:"role"`
			} `json:"waiting"`
		} `json:"waitingRooms"`
	}
	h.do("GET", "/api/v1/practices/"+string(w.practiceA.ID)+"/triage-queue", w.clinicianA.token, nil).want(t, 200).decode(t, &q)
	if len(q.WaitingRooms) != 1 || q.WaitingRooms[0].CallID != call || len(q.WaitingRooms[0].Waiting) != 1 ||
		q.WaitingRooms[0].Waiting[0].ParticipantID != pj.ParticipantID || q.WaitingRooms[0].Waiting[0].Role != "patient" {
		t.Fatalf("waiting rooms %+v, want the patient waiting in call %s", q.WaitingRooms, call)
	}

	doc.Send(signaling.TypeAdmit, signaling.TargetData{ParticipantID: pj.ParticipantID})
	pat.Wait(signaling.TypeAdmitted, 5*time.Second)
	eventually(t, 15*time.Second, "audio and video both ways", func() bool {
		return doc.Received(pj.ParticipantID, "audio") > 5 && doc.Received(pj.ParticipantID, "video") > 5 &&
			pat.Received(dj.ParticipantID, "audio") > 5 && pat.Received(dj.ParticipantID, "video") > 5
	})

	// An interpreter joins without an account: invite, redeem, socket, admitted by the clinician.
	var inv struct{ Token string }
	h.do("POST", "/api/v1/calls/"+string(call)+"/invites", w.clinicianA.token,
		map[string]any{"name": "Ana Interpreter", "role": "interpreter"}).want(t, 201).decode(t, &inv)
	var red ticketJSON
	h.do("POST", "/api/v1/call-invites/redeem", "", map[string]any{"token": inv.Token}).want(t, 200).decode(t, &red)
	guestConn, _, err := dial(t, base, call, red.Ticket, base)
	if err != nil {
		t.Fatalf("guest socket: %v", err)
	}
	guest := sigtest.New(t, guestConn, sigtest.Options{Publish: true})
	gj := guest.Joined()
	if gj.Admitted || gj.Role != signaling.RoleGuest {
		t.Fatalf("guest joined %+v, want waiting", gj)
	}
	doc.Send(signaling.TypeAdmit, signaling.TargetData{ParticipantID: gj.ParticipantID})
	guest.Wait(signaling.TypeAdmitted, 5*time.Second)
	eventually(t, 15*time.Second, "the guest's media to and from both others", func() bool {
		return guest.Received(dj.ParticipantID, "video") > 5 && guest.Received(pj.ParticipantID, "video") > 5 &&
			doc.Received(gj.ParticipantID, "audio") > 5 && pat.Received(gj.ParticipantID, "audio") > 5
	})
	time.Sleep(700 * time.Millisecond) // a couple of quality samples

	doc.Send(signaling.TypeEnd, struct{}{})
	pat.Wait(signaling.TypeEnded, 5*time.Second)
	var ended models.Call
	eventually(t, 10*time.Second, "the call record to be ended", func() bool {
		c, err := h.calls.CallByID(context.Background(), call)
		if err != nil || c.Status != models.CallEnded {
			return false
		}
		ended = *c
		return true
	})
	if ended.Quality == nil || ended.Quality.EndedBy != w.clinicianA.user.ID || len(ended.Quality.Participants) != 3 {
		t.Fatalf("quality summary %+v", ended.Quality)
	}
	kinds := map[models.ParticipantKind]bool{}
	for _, p := range ended.Quality.Participants {
		kinds[p.Kind] = true
		if !p.Admitted || p.Samples == 0 {
			t.Errorf("participant summary %+v, want admitted with samples", p)
		}
	}
	if !kinds[models.KindClinician] || !kinds[models.KindPatient] || !kinds[models.KindGuest] {
		t.Errorf("summary kinds %v, want clinician, patient and guest", kinds)
	}
	// Nobody joins an ended call.
	h.do("POST", "/api/v1/calls/"+string(call)+"/tickets", w.patient.token, nil).want(t, 409)
}

// TestPreCallCheckThroughTheServer runs the pre-call check through the echo routes: a
// signed-in patient's ticket, and a guest's from their guest token; the server echoes each
// client's media and reports what it measured. A ticket for the echo works once.
func TestPreCallCheckThroughTheServer(t *testing.T) {
	h, _ := newMediaHarness(t)
	w := h.w
	base := h.serve()
	var tk ticketJSON
	h.do("POST", "/api/v1/echo/tickets", w.patient.token, nil).want(t, 201).decode(t, &tk)
	h.do("POST", "/api/v1/echo/tickets", "", nil).want(t, 401)
	conn, _, err := dialPath(t, base, "/api/v1/echo/ws?ticket="+tk.Ticket, base)
	if err != nil {
		t.Fatal(err)
	}
	c := sigtest.New(t, conn, sigtest.Options{Publish: true})
	j := c.Joined()
	if !j.Check {
		t.Fatalf("joined %+v, want a check", j)
	}
	eventually(t, 15*time.Second, "own media echoed and a check result", func() bool {
		if c.Received(j.ParticipantID, "video") < 10 {
			return false
		}
		env, ok := c.WaitFor(signaling.TypeCheckResult, 2*time.Second)
		if !ok {
			return false
		}
		var res signaling.CheckResultData
		sigtest.Decode(t, env, &res)
		return res.UpKbps > 0 && res.RTTMs > 0
	})
	if _, resp, err := dialPath(t, base, "/api/v1/echo/ws?ticket="+tk.Ticket, base); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("reused echo ticket: %v, %v; want 401", resp, err)
	}
	// A calls ticket does not open the echo socket.
	call := h.createCall(t, w.clinicianA.token, map[string]any{"patientId": w.patientA.ID}, 201)
	callTicket := h.ticket(t, call.ID, w.patient.token)
	if _, resp, err := dialPath(t, base, "/api/v1/echo/ws?ticket="+callTicket.Ticket, base); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("call ticket on the echo socket: %v, %v; want 401", resp, err)
	}
}
