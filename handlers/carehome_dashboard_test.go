package handlers_test

import (
	"testing"

	"careway/models"
)

type dashboardLine struct {
	PatientID   models.PatientID `json:"patientId"`
	LatestNEWS2 *struct {
		Score *int   `json:"score"`
		Level string `json:"level"`
	} `json:"latestNews2"`
	OpenAlerts       []struct{ ID string } `json:"openAlerts"`
	NextAppointments []models.Appointment  `json:"nextAppointments"`
	Can              struct{ Book, Record, Join bool }
}

// Every combination of home, resident and scope: staff see their own home's residents within
// each one's consent; other homes, other practices and patients see nothing.
func TestCareHomeDashboard(t *testing.T) {
	h := newHarness(t)
	bw := newBookingWorld(t, h)
	w := h.w
	// resident1 (all scopes): a red NEWS2 reading (opens an alert) and an appointment.
	h.do("POST", obsPath(w.resident1), w.staff1.token, reading("vital_signs", map[string]any{"respiratoryRate": 26, "oxygenSaturation": 97,
		"onOxygen": false, "systolic": 125, "pulse": 80, "consciousness": "A", "temperature": 37.1})).want(t, 201)
	h.do("POST", "/api/v1/appointments", w.staff1.token, bookBody(bw.slots[0].ID, w.resident1.ID, nil)).want(t, 201)
	// resident2 (view_plan only): an appointment booked by the practice.
	h.do("POST", "/api/v1/appointments", w.clinicianA.token, bookBody(bw.slots[1].ID, w.resident2.ID, nil)).want(t, 201)

	path := "/api/v1/care-homes/" + string(w.home1.ID) + "/dashboard"
	get := func(p *person) map[models.PatientID]dashboardLine {
		t.Helper()
		var page struct{ Items []dashboardLine }
		h.do("GET", path, p.token, nil).want(t, 200).decode(t, &page)
		out := map[models.PatientID]dashboardLine{}
		for _, l := range page.Items {
			out[l.PatientID] = l
		}
		return out
	}
	staff := get(w.staff1)
	if len(staff) != 2 {
		t.Fatalf("staff see %d residents, want 2 (resident3 has no consent)", len(staff))
	}
	r1, r2 := staff[w.resident1.ID], staff[w.resident2.ID]
	if r1.LatestNEWS2 == nil || r1.LatestNEWS2.Score == nil || len(r1.OpenAlerts) != 1 || len(r1.NextAppointments) != 1 ||
		!r1.Can.Book || !r1.Can.Record || !r1.Can.Join {
		t.Errorf("resident1 (all scopes) = %+v", r1)
	}
	if r2.LatestNEWS2 != nil || r2.OpenAlerts != nil || r2.NextAppointments != nil || r2.Can.Book || r2.Can.Record || r2.Can.Join {
		t.Errorf("resident2 (view_plan only) shows more than its scope: %+v", r2)
	}
	if _, ok := staff[w.resident3.ID]; ok {
		t.Error("resident3 (no consent) is shown to staff")
	}
	clin := get(w.clinicianA)
	if len(clin) != 3 || clin[w.resident2.ID].NextAppointments == nil || clin[w.resident1.ID].LatestNEWS2 == nil {
		t.Errorf("clinician of the practice: %d residents, %+v", len(clin), clin[w.resident2.ID])
	}
	for _, p := range []*person{w.staff2, w.clinicianB, w.patient, w.adminB} {
		h.do("GET", path, p.token, nil).want(t, 403)
	}
	h.do("GET", "/api/v1/care-homes/"+models.NewID()+"/dashboard", w.staff1.token, nil).want(t, 404)
	// Acting follows the same lines: resident2 cannot be booked by staff, resident4 (other home)
	// neither, and staff of home 2 book for resident4.
	h.do("POST", "/api/v1/appointments", w.staff1.token, bookBody(bw.slots[2].ID, w.resident2.ID, nil)).want(t, 403)
	h.do("POST", "/api/v1/appointments", w.staff1.token, bookBody(bw.slots[2].ID, w.resident4.ID, nil)).want(t, 403)
	h.do("POST", "/api/v1/appointments", w.staff2.token, bookBody(bw.slots[2].ID, w.resident4.ID, nil)).want(t, 201)
	if n := h.auditCount(w.resident1.ID, "clinical.read", models.OutcomeSuccess); n < 2 {
		t.Errorf("dashboard clinical reads audited %d times", n)
	}
}
