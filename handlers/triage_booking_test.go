package handlers_test

import (
	"net/http"
	"testing"
	"time"

	"careway/models"
)

// faceToFaceTriage makes a triage request of patient (created with token) whose outcome is
// face_to_face, decided by clinician A.
func faceToFaceTriage(t *testing.T, h *harness, token string, patient models.PatientID) string {
	t.Helper()
	r := h.createTriage(t, token, triageBody(patient))
	base := "/api/v1/triage-requests/" + string(r.ID)
	h.do("POST", base+"/appointment", h.w.clinicianA.token, map[string]any{"id": models.NewID(), "slotId": "x"}).want(t, 409) // no outcome yet
	h.do("POST", base+"/take", h.w.clinicianA.token, nil).want(t, 200)
	h.do("POST", base+"/outcome", h.w.clinicianA.token, map[string]any{"kind": "face_to_face", "note": "needs examining"}).want(t, 200)
	return base
}

func TestTriageToChairDirect(t *testing.T) {
	h := newHarness(t)
	bw := newBookingWorld(t, h)
	base := faceToFaceTriage(t, h, h.w.patient.token, h.w.patientA.ID)
	body := map[string]any{"id": models.NewID(), "slotId": bw.slots[0].ID}
	h.do("POST", base+"/appointment", h.w.patient.token, body).want(t, 403)
	h.do("POST", base+"/appointment", h.w.clinicianB.token, body).want(t, 403)
	var a models.Appointment
	h.do("POST", base+"/appointment", h.w.clinicianA.token, body).want(t, 201).decode(t, &a)
	if a.TriageRequestID == "" || !a.Adjustments.Interpreter || a.Adjustments.Language != "Polish" || a.PatientID != h.w.patientA.ID {
		t.Fatalf("appointment = %+v: the triage request and its adjustments must travel", a)
	}
}

func TestTriageToChairInvitation(t *testing.T) {
	h := newHarness(t)
	bw := newBookingWorld(t, h)
	w := h.w
	base := faceToFaceTriage(t, h, w.staff1.token, w.resident1.ID)
	window := map[string]any{"serviceType": "gp", "from": bw.session.Start.Add(-time.Hour), "to": bw.session.End}
	h.do("POST", base+"/booking-invitation", w.staff1.token, window).want(t, 403)
	bad := map[string]any{"serviceType": "gp", "from": bw.session.End, "to": bw.session.Start}
	h.do("POST", base+"/booking-invitation", w.clinicianA.token, bad).want(t, 400)
	var inv models.BookingInvitation
	h.do("POST", base+"/booking-invitation", w.clinicianA.token, window).want(t, 201).decode(t, &inv)
	if inv.Status != "open" || inv.ServiceType != "gp" {
		t.Fatalf("invitation = %+v", inv)
	}
	// The proxy sees it and completes it; staff of another home cannot.
	var list struct{ Items []models.BookingInvitation }
	h.do("GET", "/api/v1/patients/"+string(w.resident1.ID)+"/booking-invitations", w.staff1.token, nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("%d invitations", len(list.Items))
	}
	h.do("GET", "/api/v1/patients/"+string(w.resident1.ID)+"/booking-invitations", w.staff2.token, nil).want(t, 403)
	// A slot outside the invitation (nurse service) is refused; another patient cannot use it.
	p := h.do("POST", "/api/v1/appointments", w.staff1.token, bookBody(bw.slots2[0].ID, w.resident1.ID, map[string]any{"invitationId": inv.ID})).want(t, 400).problem(t)
	if !hasFieldError(p, "slotId") {
		t.Errorf("problem %+v", p)
	}
	h.do("POST", "/api/v1/appointments", w.patient.token, bookBody(bw.slots[3].ID, w.patientA.ID, map[string]any{"invitationId": inv.ID})).want(t, 400)
	h.do("POST", "/api/v1/appointments", w.staff1.token, bookBody(bw.slots[3].ID, w.resident1.ID, map[string]any{"invitationId": "nope"})).want(t, 400)
	var a models.Appointment
	h.do("POST", "/api/v1/appointments", w.staff1.token, bookBody(bw.slots[3].ID, w.resident1.ID, map[string]any{"invitationId": inv.ID})).want(t, 201).decode(t, &a)
	if a.TriageRequestID == "" || !a.Adjustments.Interpreter {
		t.Fatalf("invited booking = %+v", a)
	}
	// Used once only.
	h.do("POST", "/api/v1/appointments", w.staff1.token, bookBody(bw.slots[4].ID, w.resident1.ID, map[string]any{"invitationId": inv.ID})).want(t, 409)
	h.do("GET", "/api/v1/patients/"+string(w.resident1.ID)+"/booking-invitations", w.staff1.token, nil).want(t, 200).decode(t, &list)
	if list.Items[0].Status != "used" || list.Items[0].AppointmentID != a.ID {
		t.Fatalf("invitation after use = %+v", list.Items[0])
	}
}

// Ten concurrent bookings through one invitation, each for another slot: one wins, and the
// losers' slots are free again.
func TestInvitationRace(t *testing.T) {
	h := newHarness(t)
	bw := newBookingWorld(t, h)
	base := faceToFaceTriage(t, h, h.w.patient.token, h.w.patientA.ID)
	var inv models.BookingInvitation
	h.do("POST", base+"/booking-invitation", h.w.clinicianA.token, map[string]any{"serviceType": "gp",
		"from": bw.session.Start, "to": bw.session.End}).want(t, 201).decode(t, &inv)
	statuses := make(chan int, len(bw.slots))
	for _, s := range bw.slots {
		go func() {
			r, err := h.app.Test(authed(jsonRequest("POST", "/api/v1/appointments", mustJSON(t, bookBody(s.ID, h.w.patientA.ID,
				map[string]any{"invitationId": inv.ID}))), h.w.patient.token), -1)
			if err != nil {
				t.Error(err)
				statuses <- 0
				return
			}
			r.Body.Close()
			statuses <- r.StatusCode
		}()
	}
	count := map[int]int{}
	for range bw.slots {
		count[<-statuses]++
	}
	if count[201] != 1 || count[409] != len(bw.slots)-1 {
		t.Fatalf("statuses %v, want one 201", count)
	}
	if got := searchSlots(t, h, h.w.patient.token, "serviceType=gp"); len(got) != len(bw.slots)-1 {
		t.Fatalf("%d free slots after the race, want %d", len(got), len(bw.slots)-1)
	}
}

func authed(req *http.Request, token string) *http.Request {
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}
