package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"careway/handlers"
	"careway/models"
	"careway/signaling"
	"careway/store"
)

type ticketJSON struct {
	CallID     models.CallID `json:"callId"`
	Ticket     string        `json:"ticket"`
	ExpiresAt  time.Time     `json:"expiresAt"`
	ICEServers []struct {
		URLs       []string `json:"urls"`
		Username   string   `json:"username"`
		Credential string   `json:"credential"`
	} `json:"iceServers"`
}

func (h *harness) createCall(t *testing.T, token string, body map[string]any, status int) models.Call {
	t.Helper()
	var c models.Call
	h.do("POST", "/api/v1/calls", token, body).want(t, status).decode(t, &c)
	return c
}

func (h *harness) ticket(t *testing.T, call models.CallID, token string) ticketJSON {
	t.Helper()
	var tk ticketJSON
	h.do("POST", "/api/v1/calls/"+string(call)+"/tickets", token, nil).want(t, 201).decode(t, &tk)
	if tk.CallID != call || len(tk.Ticket) < 40 || tk.ExpiresAt.Sub(time.Now()) > 31*time.Second {
		t.Fatalf("ticket %+v", tk)
	}
	return tk
}

// wsAttempt asks for a socket upgrade through the in-memory app and returns the status; every
// refusal happens before the upgrade.
func (h *harness) wsAttempt(t *testing.T, path, origin string) *response {
	t.Helper()
	req := newRequest("GET", path, "")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return h.send(req)
}

// newMediaHarness is a harness with a real signaling hub on loopback (its call records kept by
// handlers.CallRecorder), STUN and TURN servers to hand out, and one allowed foreign origin.
func newMediaHarness(t *testing.T) (*harness, *signaling.Hub) {
	t.Helper()
	var hub *signaling.Hub
	h := newHarness(t, harnessOpts{params: func(p *handlers.Params) {
		network := signaling.Network{ListenIP: "127.0.0.1", UDPPort: 0, TCPPort: -1,
			STUNURLs: []string{"stun:stun.example.test:3478"}, TURNURLs: []string{"turn:turn.example.test:3478?transport=udp"},
			TURNSecret: "test-secret", TURNTTL: time.Hour}
		var err error
		hub, err = signaling.NewHub(signaling.Params{Logger: slog.New(slog.DiscardHandler), Network: network,
			Limits:  signaling.Limits{QualityInterval: 300 * time.Millisecond},
			OnClose: handlers.CallRecorder(p.Calls, slog.New(slog.DiscardHandler))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := hub.Close(); err != nil {
				t.Errorf("hub.Close: %v", err)
			}
		})
		p.Media, p.ICEServers, p.WSOrigins = hub, network.ICEServers, []string{"https://app.example.test"}
	}})
	return h, hub
}

func TestCallCreateAndRead(t *testing.T) {
	h := newHarness(t)
	w := h.w
	call := h.createCall(t, w.clinicianA.token, map[string]any{"patientId": w.patientA.ID}, 201)
	if call.Status != models.CallOpen || call.PracticeID != w.practiceA.ID || call.CreatedBy != w.clinicianA.user.ID {
		t.Fatalf("call %+v", call)
	}

	for _, who := range []*person{w.patient, w.clinicianB, w.staff1, w.adminA} {
		h.do("POST", "/api/v1/calls", who.token, map[string]any{"patientId": w.patientA.ID}).want(t, 403)
	}
	h.do("POST", "/api/v1/calls", w.clinicianA.token, map[string]any{"patientId": "nope"}).want(t, 400)
	h.do("POST", "/api/v1/calls", w.clinicianA.token, map[string]any{"patientId": w.patientA.ID, "triageRequestId": "x", "appointmentId": "y"}).want(t, 400)

	// From a triage request: once; a second create returns the same open call.
	other := h.createTriage(t, w.patient2.token, triageBody(w.patientA2.ID))
	p := h.do("POST", "/api/v1/calls", w.clinicianA.token, map[string]any{"patientId": w.patientA.ID, "triageRequestId": other.ID}).want(t, 400).problem(t)
	if !hasFieldError(p, "triageRequestId") {
		t.Errorf("another patient's request: %+v", p)
	}
	r := h.createTriage(t, w.patient.token, triageBody(w.patientA.ID))
	first := h.createCall(t, w.clinicianA.token, map[string]any{"patientId": w.patientA.ID, "triageRequestId": r.ID}, 201)
	again := h.createCall(t, w.clinicianA.token, map[string]any{"patientId": w.patientA.ID, "triageRequestId": r.ID}, 200)
	if again.ID != first.ID {
		t.Errorf("second create gave call %s, want %s", again.ID, first.ID)
	}
	// From an appointment of this patient: once. Another patient's, an unknown or a cancelled
	// appointment is refused.
	appts := store.NewAppointmentStore(h.db)
	newAppt := func(p models.PatientID, status string) models.AppointmentID {
		now := time.Now().UTC()
		a := &models.Appointment{ID: models.AppointmentID(models.NewID()), PatientID: p, PracticeID: w.practiceA.ID,
			ClinicianID: w.clinicianA.user.ID, Mode: models.ModeVideo, Start: now.Add(time.Hour), End: now.Add(70 * time.Minute),
			Status: status, CreatedAt: now, UpdatedAt: now}
		if err := appts.CreateAppointment(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	appt := newAppt(w.patientA.ID, models.ApptBooked)
	a1 := h.createCall(t, w.clinicianA.token, map[string]any{"patientId": w.patientA.ID, "appointmentId": appt}, 201)
	a2 := h.createCall(t, w.clinicianA.token, map[string]any{"patientId": w.patientA.ID, "appointmentId": appt}, 200)
	if a1.ID != a2.ID || a1.AppointmentID != appt {
		t.Errorf("appointment calls %s and %s", a1.ID, a2.ID)
	}
	for _, bad := range []models.AppointmentID{newAppt(w.patientA2.ID, models.ApptBooked), newAppt(w.patientA.ID, models.ApptCancelled),
		models.AppointmentID(models.NewID())} {
		p := h.do("POST", "/api/v1/calls", w.clinicianA.token, map[string]any{"patientId": w.patientA.ID, "appointmentId": bad}).want(t, 400).problem(t)
		if !hasFieldError(p, "appointmentId") {
			t.Errorf("appointment %s: %+v", bad, p)
		}
	}

	// Who may see it.
	path := "/api/v1/calls/" + string(call.ID)
	h.do("GET", path, w.patient.token, nil).want(t, 200)
	h.do("GET", path, w.clinicianA.token, nil).want(t, 200)
	for _, who := range []*person{w.patient2, w.clinicianB, w.staff1, w.adminA} {
		h.do("GET", path, who.token, nil).want(t, 403)
	}
	h.do("GET", "/api/v1/calls/"+models.NewID(), w.clinicianA.token, nil).want(t, 404)
	if n := h.auditCount(w.patientA.ID, "call.create", models.OutcomeSuccess); n != 3 {
		t.Errorf("%d call.create audit events, want 3", n)
	}
}

func TestCallTickets(t *testing.T) {
	h, _ := newMediaHarness(t)
	w := h.w
	res1 := h.createCall(t, w.clinicianA.token, map[string]any{"patientId": w.resident1.ID}, 201) // consent: all scopes
	res2 := h.createCall(t, w.clinicianA.token, map[string]any{"patientId": w.resident2.ID}, 201) // consent: view_plan only
	own := h.createCall(t, w.clinicianA.token, map[string]any{"patientId": w.patientA.ID}, 201)

	h.ticket(t, res1.ID, w.staff1.token)
	h.ticket(t, res1.ID, w.clinicianA.token)
	h.ticket(t, own.ID, w.patient.token)
	for _, tt := range []struct {
		name string
		call models.CallID
		who  *person
	}{
		{"staff without join_calls", res2.ID, w.staff1},
		{"staff of another home", res1.ID, w.staff2},
		{"another patient", own.ID, w.patient2},
		{"clinician of another practice", own.ID, w.clinicianB},
		{"administrator", own.ID, w.adminA},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h.do("POST", "/api/v1/calls/"+string(tt.call)+"/tickets", tt.who.token, nil).want(t, 403)
		})
	}
	got, err := h.calls.CallByID(context.Background(), res1.ID)
	if err != nil || len(got.Participants) != 2 || got.Participants[0].Kind != models.KindCareStaff {
		t.Errorf("participants %+v (%v)", got.Participants, err)
	}

	// The socket: a ticket works once, for its own call, within 30 s, from an allowed origin.
	wsPath := func(call models.CallID, ticket string) string {
		return "/api/v1/calls/" + string(call) + "/ws?ticket=" + ticket
	}
	tk := h.ticket(t, own.ID, w.patient.token)
	h.do("GET", wsPath(own.ID, tk.Ticket), "", nil).want(t, 426)                   // not an upgrade: ticket kept
	h.wsAttempt(t, wsPath(own.ID, tk.Ticket), "https://evil.example").want(t, 403) // foreign origin: ticket kept
	h.wsAttempt(t, wsPath(res1.ID, tk.Ticket), "").want(t, 401)                    // another call's socket
	h.wsAttempt(t, wsPath(own.ID, "garbage"), "").want(t, 401)
	h.wsAttempt(t, wsPath(own.ID, ""), "").want(t, 401)
	// Expired: a ticket stored 31 s ago.
	expired := "expired-ticket-0123456789012345678901234567890123"
	sum := sha256.Sum256([]byte(expired))
	now := time.Now()
	if err := h.calls.CreateCallTicket(context.Background(), &models.CallTicket{Hash: hex.EncodeToString(sum[:]), CallID: own.ID,
		UserID: w.patient.user.ID, Kind: models.KindPatient, IssuedAt: now.Add(-31 * time.Second), ExpiresAt: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	h.wsAttempt(t, wsPath(own.ID, expired), "").want(t, 401)

	// Concurrent uses of one ticket on real sockets: exactly one opens, every other is 401.
	base := h.serve()
	tk2 := h.ticket(t, own.ID, w.patient.token)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, resp, err := dial(t, base, own.ID, tk2.Ticket, "")
			status := 0
			switch {
			case err == nil:
				status = 101
				conn.Close(1000, "done")
			case resp != nil:
				status = resp.StatusCode
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[101] != 1 || statuses[401] != 9 {
		t.Errorf("10 concurrent uses of one ticket: %v, want one 101 and nine 401", statuses)
	}

	// An ended call takes no more tickets.
	if _, err := h.calls.EndCall(context.Background(), own.ID, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.do("POST", "/api/v1/calls/"+string(own.ID)+"/tickets", w.patient.token, nil).want(t, 409)
}

func TestCallGuests(t *testing.T) {
	h := newHarness(t)
	w := h.w
	call := h.createCall(t, w.clinicianA.token, map[string]any{"patientId": w.patientA.ID}, 201)
	path := "/api/v1/calls/" + string(call.ID) + "/invites"

	for _, who := range []*person{w.patient, w.clinicianB, w.staff1, w.adminA} {
		h.do("POST", path, who.token, map[string]any{"name": "Ana", "role": "interpreter"}).want(t, 403)
	}
	p := h.do("POST", path, w.clinicianA.token, map[string]any{"name": "Ana", "role": "magician"}).want(t, 400).problem(t)
	if !hasFieldError(p, "role") {
		t.Errorf("bad role: %+v", p)
	}
	p = h.do("POST", path, w.clinicianA.token, map[string]any{"name": " ", "role": "carer"}).want(t, 400).problem(t)
	if !hasFieldError(p, "name") {
		t.Errorf("blank name: %+v", p)
	}

	var inv struct {
		ID        string    `json:"id"`
		Token     string    `json:"token"`
		Link      string    `json:"link"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	h.do("POST", path, w.clinicianA.token, map[string]any{"name": "Ana Interpreter", "role": "interpreter"}).want(t, 201).decode(t, &inv)
	if inv.Token == "" || inv.Link != "/#/join/"+inv.Token || inv.ExpiresAt.Before(time.Now().Add(23*time.Hour)) {
		t.Fatalf("invite %+v", inv)
	}
	// The clinician sees the invite on the call; the secret is never shown again.
	var seen struct {
		Invites []map[string]any `json:"invites"`
	}
	r := h.do("GET", "/api/v1/calls/"+string(call.ID), w.clinicianA.token, nil).want(t, 200)
	r.decode(t, &seen)
	if len(seen.Invites) != 1 || strings.Contains(string(r.Body), inv.Token) {
		t.Errorf("call shows invites %v", seen.Invites)
	}
	if strings.Contains(string(h.do("GET", "/api/v1/calls/"+string(call.ID), w.patient.token, nil).want(t, 200).Body), "Ana Interpreter") {
		t.Errorf("the patient sees the invites")
	}

	// Redeemed once, without an account, by one of several at the same time.
	bodies := make([]string, 8)
	for i := range bodies {
		bodies[i] = `{"token":"` + inv.Token + `"}`
	}
	if st := h.concurrently("/api/v1/call-invites/redeem", bodies); st[200] != 1 || st[401] != 7 {
		t.Fatalf("8 concurrent redemptions: %v, want one 200 and seven 401", st)
	}
	h.do("POST", "/api/v1/call-invites/redeem", "", map[string]any{"token": inv.Token}).want(t, 401)
	h.do("POST", "/api/v1/call-invites/redeem", "", map[string]any{"token": "nope"}).want(t, 401)
	h.do("POST", "/api/v1/call-invites/redeem", "", map[string]any{"token": ""}).want(t, 400)

	// A second invite, redeemed: ticket, guest token, and further tickets with the token.
	var inv2 struct {
		Token string `json:"token"`
	}
	h.do("POST", path, w.clinicianA.token, map[string]any{"name": "Carl Carer", "role": "carer"}).want(t, 201).decode(t, &inv2)
	var red struct {
		ticketJSON
		Name       string `json:"name"`
		Role       string `json:"role"`
		GuestToken string `json:"guestToken"`
	}
	h.do("POST", "/api/v1/call-invites/redeem", "", map[string]any{"token": inv2.Token}).want(t, 200).decode(t, &red)
	if red.CallID != call.ID || red.Ticket == "" || red.GuestToken == "" || red.Name != "Carl Carer" || red.Role != "carer" {
		t.Fatalf("redeemed %+v", red)
	}
	var more ticketJSON
	h.do("POST", "/api/v1/call-invites/tickets", "", map[string]any{"guestToken": red.GuestToken}).want(t, 201).decode(t, &more)
	if more.CallID != call.ID || more.Ticket == red.Ticket {
		t.Errorf("guest ticket %+v", more)
	}
	h.do("POST", "/api/v1/call-invites/tickets", "", map[string]any{"guestToken": "forged"}).want(t, 401)
	var echo ticketJSON
	h.do("POST", "/api/v1/call-invites/echo-tickets", "", map[string]any{"guestToken": red.GuestToken}).want(t, 201).decode(t, &echo)
	if echo.CallID != "echo" || echo.Ticket == "" {
		t.Errorf("guest echo ticket %+v", echo)
	}
	h.do("POST", "/api/v1/call-invites/echo-tickets", "", map[string]any{"guestToken": "forged"}).want(t, 401)
	got, err := h.calls.CallByID(context.Background(), call.ID)
	if err != nil || len(got.Participants) != 2 || got.Participants[0].Kind != models.KindGuest {
		t.Errorf("participants %+v (%v)", got.Participants, err)
	}

	// An expired invite.
	sum := sha256.Sum256([]byte("old-token"))
	past := time.Now().Add(-25 * time.Hour)
	if err := h.calls.CreateCallInvite(context.Background(), &models.CallInvite{CallID: call.ID, Hash: hex.EncodeToString(sum[:]),
		Role: models.GuestCarer, Name: "Late", CreatedBy: w.clinicianA.user.ID, CreatedAt: past, ExpiresAt: past.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	h.do("POST", "/api/v1/call-invites/redeem", "", map[string]any{"token": "old-token"}).want(t, 401)

	// After the call ends: no invites, no guest tickets.
	if _, err := h.calls.EndCall(context.Background(), call.ID, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.do("POST", path, w.clinicianA.token, map[string]any{"name": "Ana", "role": "interpreter"}).want(t, 409)
	h.do("POST", "/api/v1/call-invites/tickets", "", map[string]any{"guestToken": red.GuestToken}).want(t, 409)
}

func TestICEServers(t *testing.T) {
	h, _ := newMediaHarness(t)
	var got ticketJSON
	h.do("GET", "/api/v1/ice-servers", h.w.patient.token, nil).want(t, 200).decode(t, &got)
	if len(got.ICEServers) != 2 || got.ICEServers[1].Username == "" || got.ICEServers[1].Credential == "" ||
		!strings.HasSuffix(got.ICEServers[1].Username, ":"+string(h.w.patient.user.ID)) {
		t.Errorf("iceServers %+v, want STUN and TURN with time-limited credentials for the caller", got.ICEServers)
	}
	var none struct {
		ICEServers []any `json:"iceServers"`
	}
	bare := newHarness(t)
	bare.do("GET", "/api/v1/ice-servers", bare.w.patient.token, nil).want(t, 200).decode(t, &none)
	if none.ICEServers == nil || len(none.ICEServers) != 0 {
		t.Errorf("without configuration: %v, want []", none.ICEServers)
	}
	h.do("GET", "/api/v1/ice-servers", "", nil).want(t, 401)
}
