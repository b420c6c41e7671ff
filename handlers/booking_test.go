package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"careway/models"
)

// bookingWorld adds two sites to practice A (one step-free) and a published session of six
// 15-minute face-to-face/video slots starting tomorrow at the step-free site, and three at the
// other.
type bookingWorld struct {
	stepFree, stairs *models.Site
	session, other   models.Session
	slots, slots2    []models.Slot
}

func newBookingWorld(t *testing.T, h *harness) *bookingWorld {
	t.Helper()
	ctx := context.Background()
	addr := models.Address{Line1: "1 High Street", Town: "Calderford", Postcode: "HX1 1AA"}
	bw := &bookingWorld{
		stepFree: &models.Site{ID: models.SiteID(models.NewID()), PracticeID: h.w.practiceA.ID, Name: "Level Centre", Address: addr, StepFreeAccess: true},
		stairs:   &models.Site{ID: models.SiteID(models.NewID()), PracticeID: h.w.practiceA.ID, Name: "Old Surgery", Address: addr},
	}
	for _, s := range []*models.Site{bw.stepFree, bw.stairs} {
		if err := h.orgs.CreateSite(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Hour)
	h.do("POST", "/api/v1/practices/"+string(h.w.practiceA.ID)+"/sessions", h.w.clinicianA.token, map[string]any{
		"siteId": bw.stepFree.ID, "clinicianId": h.w.clinicianA.user.ID, "serviceType": "gp", "modes": []string{"face_to_face", "video"},
		"start": start, "end": start.Add(90 * time.Minute), "slotMinutes": 15}).want(t, 201).decode(t, &bw.session)
	h.do("POST", "/api/v1/practices/"+string(h.w.practiceA.ID)+"/sessions", h.w.adminA.token, map[string]any{
		"siteId": bw.stairs.ID, "clinicianId": h.w.clinicianA.user.ID, "serviceType": "nurse", "modes": []string{"face_to_face"},
		"start": start.Add(2 * time.Hour), "end": start.Add(2*time.Hour + 45*time.Minute), "slotMinutes": 15}).want(t, 201).decode(t, &bw.other)
	bw.slots = searchSlots(t, h, h.w.clinicianA.token, "serviceType=gp")
	bw.slots2 = searchSlots(t, h, h.w.clinicianA.token, "serviceType=nurse")
	if len(bw.slots) != 6 || len(bw.slots2) != 3 {
		t.Fatalf("slots: %d and %d, want 6 and 3", len(bw.slots), len(bw.slots2))
	}
	return bw
}

func searchSlots(t *testing.T, h *harness, token, query string) []models.Slot {
	t.Helper()
	var page struct {
		Items      []models.Slot `json:"items"`
		NextCursor *string       `json:"nextCursor"`
	}
	var all []models.Slot
	cursor := ""
	for {
		q := query + "&limit=4"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		h.do("GET", "/api/v1/slots?"+q, token, nil).want(t, 200).decode(t, &page)
		all = append(all, page.Items...)
		if page.NextCursor == nil {
			return all
		}
		cursor = *page.NextCursor
	}
}

func bookBody(slot models.SlotID, patient models.PatientID, extra map[string]any) map[string]any {
	b := map[string]any{"id": models.NewID(), "slotId": slot, "patientId": patient, "reason": "review"}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func TestSessionsPublishAndRefuse(t *testing.T) {
	h := newHarness(t)
	bw := newBookingWorld(t, h)
	path := "/api/v1/practices/" + string(h.w.practiceA.ID) + "/sessions"
	body := func(clin models.UserID, start time.Time) map[string]any {
		return map[string]any{"siteId": bw.stepFree.ID, "clinicianId": clin, "serviceType": "gp", "modes": []string{"phone"},
			"start": start, "end": start.Add(30 * time.Minute), "slotMinutes": 15}
	}
	// Overlap with the clinician's first session.
	p := h.do("POST", path, h.w.clinicianA.token, body(h.w.clinicianA.user.ID, bw.session.Start.Add(15*time.Minute))).want(t, 409).problem(t)
	if !hasFieldError(p, "start") {
		t.Errorf("409 does not name start: %+v", p)
	}
	later := bw.session.Start.Add(5 * time.Hour)
	h.do("POST", path, h.w.patient.token, body(h.w.clinicianA.user.ID, later)).want(t, 403)
	h.do("POST", path, h.w.staff1.token, body(h.w.clinicianA.user.ID, later)).want(t, 403)
	h.do("POST", path, h.w.clinicianB.token, body(h.w.clinicianB.user.ID, later)).want(t, 403)
	h.do("POST", path, h.w.adminB.token, body(h.w.clinicianA.user.ID, later)).want(t, 403)
	h.do("POST", path, h.w.adminA.token, body(h.w.clinicianB.user.ID, later)).want(t, 400) // not a clinician of A
	bad := body(h.w.clinicianA.user.ID, later)
	bad["slotMinutes"], bad["modes"] = 2, []string{"fax"}
	p = h.do("POST", path, h.w.clinicianA.token, bad).want(t, 400).problem(t)
	if !hasFieldError(p, "slotMinutes") || !hasFieldError(p, "modes") {
		t.Errorf("bad session: %+v", p)
	}
	h.do("POST", path, h.w.clinicianA.token, body(h.w.clinicianA.user.ID, later)).want(t, 201)
	h.do("GET", path, h.w.patient.token, nil).want(t, 403)
	h.do("GET", path, h.w.clinicianA.token, nil).want(t, 200)
}

func TestSlotSearch(t *testing.T) {
	h := newHarness(t)
	bw := newBookingWorld(t, h)
	for i := 1; i < len(bw.slots); i++ {
		if bw.slots[i].Start.Before(bw.slots[i-1].Start) {
			t.Fatal("slots not sorted by start")
		}
	}
	if got := searchSlots(t, h, h.w.patient.token, "stepFree=true"); len(got) != 6 {
		t.Errorf("step-free: %d slots, want the 6 at the step-free site", len(got))
	}
	if got := searchSlots(t, h, h.w.patient.token, "mode=video"); len(got) != 6 || got[0].Mode != models.ModeVideo {
		t.Errorf("video: %d", len(got))
	}
	if got := searchSlots(t, h, h.w.patient.token, "siteId="+string(bw.stairs.ID)); len(got) != 3 {
		t.Errorf("site: %d", len(got))
	}
	from := url.QueryEscape(bw.session.Start.Add(30 * time.Minute).Format(time.RFC3339))
	if got := searchSlots(t, h, h.w.patient.token, "serviceType=gp&from="+from); len(got) != 4 {
		t.Errorf("from: %d", len(got))
	}
	// Minimum notice: a practice policy of two days hides everything from patients, not from staff.
	h.do("PUT", "/api/v1/practices/"+string(h.w.practiceA.ID)+"/booking-policy", h.w.clinicianA.token, map[string]any{"minNoticeMinutes": 2880, "cancelCutoffMinutes": 60}).want(t, 403)
	h.do("PUT", "/api/v1/practices/"+string(h.w.practiceA.ID)+"/booking-policy", h.w.adminA.token, map[string]any{"minNoticeMinutes": -1, "cancelCutoffMinutes": 60}).want(t, 400)
	h.do("PUT", "/api/v1/practices/"+string(h.w.practiceA.ID)+"/booking-policy", h.w.adminA.token, map[string]any{"minNoticeMinutes": 2880, "cancelCutoffMinutes": 60}).want(t, 200)
	if got := searchSlots(t, h, h.w.patient.token, "x=1"); len(got) != 0 {
		t.Errorf("inside notice: %d slots shown to a patient", len(got))
	}
	if got := searchSlots(t, h, h.w.clinicianA.token, "x=1"); len(got) != 9 {
		t.Errorf("staff see %d, want 9", len(got))
	}
	for _, q := range []string{"mode=fax", "serviceType=surgery", "stepFree=maybe", "from=yesterday", "cursor=zz", "limit=0"} {
		h.do("GET", "/api/v1/slots?"+q, h.w.patient.token, nil).want(t, 400)
	}
	h.do("GET", "/api/v1/slots", "", nil).want(t, 401)
}

func TestBookingPermissions(t *testing.T) {
	h := newHarness(t)
	bw := newBookingWorld(t, h)
	slot := func(i int) models.SlotID { return bw.slots[i].ID }
	w := h.w
	cases := []struct {
		name    string
		token   string
		patient models.PatientID
		want    int
	}{
		{"patient for another patient", w.patient.token, w.patientA2.ID, 403},
		{"clinician of another practice", w.clinicianB.token, w.patientA.ID, 403},
		{"admin of another practice", w.adminB.token, w.patientA.ID, 403},
		{"staff for a resident without booking scope", w.staff1.token, w.resident2.ID, 403},
		{"staff for a resident without consent", w.staff1.token, w.resident3.ID, 403},
		{"staff of another home", w.staff2.token, w.resident1.ID, 403},
		{"staff for a non-resident", w.staff1.token, w.patientA.ID, 403},
		{"unknown patient", w.clinicianA.token, models.PatientID(models.NewID()), 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.do("POST", "/api/v1/appointments", c.token, bookBody(slot(0), c.patient, nil)).want(t, c.want)
		})
	}
	if n := h.auditCount(w.resident2.ID, "appointment.book", models.OutcomeDenied); n != 1 {
		t.Errorf("refusal audited %d times, want 1", n)
	}
	// Allowed: the patient, practice staff, and a proxy within scope and home.
	var a models.Appointment
	h.do("POST", "/api/v1/appointments", w.patient.token, bookBody(slot(0), w.patientA.ID, map[string]any{
		"adjustments": map[string]any{"interpreter": true, "language": "Urdu", "carerAttending": true}})).want(t, 201).decode(t, &a)
	if a.Status != "booked" || a.SlotID != slot(0) || !a.Adjustments.Interpreter || a.Adjustments.Language != "Urdu" {
		t.Fatalf("booking = %+v", a)
	}
	h.do("POST", "/api/v1/appointments", w.adminA.token, bookBody(slot(1), w.patientA2.ID, nil)).want(t, 201)
	var video models.Appointment
	h.do("POST", "/api/v1/appointments", w.staff1.token, bookBody(slot(2), w.resident1.ID, map[string]any{"mode": "video"})).want(t, 201).decode(t, &video)
	if video.CallID == "" {
		t.Error("a video appointment has no call")
	}
	h.do("POST", "/api/v1/appointments", w.staff2.token, bookBody(slot(3), w.resident4.ID, nil)).want(t, 201)
	// The slot is gone.
	p := h.do("POST", "/api/v1/appointments", w.clinicianA.token, bookBody(slot(0), w.patientA2.ID, nil)).want(t, 409).problem(t)
	if !hasFieldError(p, "slotId") {
		t.Errorf("409 does not name slotId: %+v", p)
	}
	// Bad input.
	for _, b := range []map[string]any{
		bookBody(slot(4), w.patientA.ID, map[string]any{"id": "not-a-uuid"}),
		bookBody(slot(4), w.patientA.ID, map[string]any{"mode": "phone"}),
		bookBody(slot(4), w.patientA.ID, map[string]any{"adjustments": map[string]any{"interpreter": true}}),
		bookBody(bw.slots2[0].ID, w.patientA.ID, map[string]any{"adjustments": map[string]any{"stepFree": true}}),
		bookBody(slot(5), w.patientA.ID, map[string]any{"adjustments": map[string]any{"longerAppointment": true}}),
		bookBody(slot(4), "", nil),
	} {
		h.do("POST", "/api/v1/appointments", w.patient.token, b).want(t, 400)
	}
	// Reading: the patient's list; the wrong patient and another home's staff may not.
	var list struct{ Items []models.Appointment }
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/appointments", w.patient.token, nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != a.ID {
		t.Fatalf("list = %+v", list.Items)
	}
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/appointments", w.patient2.token, nil).want(t, 403)
	h.do("GET", "/api/v1/patients/"+string(w.resident1.ID)+"/appointments", w.staff2.token, nil).want(t, 403)
	h.do("GET", "/api/v1/patients/"+string(w.resident1.ID)+"/appointments", w.staff1.token, nil).want(t, 200)
	h.do("GET", "/api/v1/appointments/"+string(a.ID), w.patient2.token, nil).want(t, 403)
	h.do("GET", "/api/v1/appointments/"+string(a.ID), w.clinicianA.token, nil).want(t, 200)
	h.do("GET", "/api/v1/appointments/nope", w.clinicianA.token, nil).want(t, 404)
}

func TestBookingRetryAndRaceOverHTTP(t *testing.T) {
	h := newHarness(t)
	bw := newBookingWorld(t, h)
	body := bookBody(bw.slots[0].ID, h.w.patientA.ID, nil)
	var a1, a2 models.Appointment
	h.do("POST", "/api/v1/appointments", h.w.patient.token, body).want(t, 201).decode(t, &a1)
	h.do("POST", "/api/v1/appointments", h.w.patient.token, body).want(t, 201).decode(t, &a2)
	if a1.ID != a2.ID || a1.CreatedAt != a2.CreatedAt {
		t.Fatal("a retry did not return the first booking")
	}
	// 50 concurrent bookings of one slot by practice staff: one 201, the rest 409.
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := jsonRequest("POST", "/api/v1/appointments", fmt.Sprintf(`{"id":%q,"slotId":%q,"patientId":%q}`, models.NewID(), bw.slots[1].ID, h.w.patientA2.ID))
			req.Header.Set("Authorization", "Bearer "+h.w.clinicianA.token)
			resp, err := h.app.Test(req, -1)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[201] != 1 || statuses[409] != 49 {
		t.Fatalf("statuses %v, want one 201 and 49 409", statuses)
	}
}

func TestCancelRescheduleAttendNotify(t *testing.T) {
	h := newHarness(t)
	bw := newBookingWorld(t, h)
	w := h.w
	var a models.Appointment
	h.do("POST", "/api/v1/appointments", w.patient.token, bookBody(bw.slots[0].ID, w.patientA.ID, nil)).want(t, 201).decode(t, &a)
	base := "/api/v1/appointments/" + string(a.ID)
	h.do("POST", base+"/reschedule", w.patient2.token, map[string]any{"slotId": bw.slots[1].ID}).want(t, 403)
	h.do("POST", base+"/reschedule", w.patient.token, map[string]any{"slotId": ""}).want(t, 400)
	h.do("POST", base+"/reschedule", w.patient.token, map[string]any{"slotId": bw.slots[1].ID, "mode": "video"}).want(t, 200).decode(t, &a)
	if a.SlotID != bw.slots[1].ID || a.Mode != "video" {
		t.Fatalf("after reschedule %+v", a)
	}
	if got := searchSlots(t, h, w.patient.token, "serviceType=gp"); len(got) != 5 || got[0].ID != bw.slots[0].ID {
		t.Fatalf("old slot not free after reschedule: %d", len(got))
	}
	h.do("POST", base+"/attendance", w.patient.token, map[string]any{"status": "arrived"}).want(t, 403)
	h.do("POST", base+"/attendance", w.staff1.token, map[string]any{"status": "arrived"}).want(t, 403)
	h.do("POST", base+"/attendance", w.clinicianA.token, map[string]any{"status": "here"}).want(t, 400)
	h.do("POST", base+"/cancel", w.patient.token, map[string]any{"reason": ""}).want(t, 400)
	h.do("POST", base+"/cancel", w.patient2.token, map[string]any{"reason": "x"}).want(t, 403)
	h.do("POST", base+"/cancel", w.patient.token, map[string]any{"reason": "feeling better"}).want(t, 200).decode(t, &a)
	if a.Status != "cancelled" {
		t.Fatalf("status %s", a.Status)
	}
	h.do("POST", base+"/cancel", w.patient.token, map[string]any{"reason": "again"}).want(t, 409)
	if got := searchSlots(t, h, w.patient.token, "serviceType=gp"); len(got) != 6 {
		t.Fatalf("slot not free after cancel: %d", len(got))
	}
	// Attendance on a fresh booking by the practice.
	var b models.Appointment
	h.do("POST", "/api/v1/appointments", w.clinicianA.token, bookBody(bw.slots[2].ID, w.patientA.ID, nil)).want(t, 201).decode(t, &b)
	h.do("POST", "/api/v1/appointments/"+string(b.ID)+"/attendance", w.clinicianA.token, map[string]any{"status": "arrived"}).want(t, 200)
	h.do("POST", "/api/v1/appointments/"+string(b.ID)+"/attendance", w.adminA.token, map[string]any{"status": "fulfilled"}).want(t, 200).decode(t, &b)
	if b.Status != "fulfilled" || len(b.History) != 3 {
		t.Fatalf("attendance %+v", b)
	}
	if n := h.auditCount(w.patientA.ID, "appointment.cancel", models.OutcomeSuccess); n != 1 {
		t.Errorf("cancel audited %d times", n)
	}
	// The inbox: confirmation, change, cancellation, the second confirmation.
	var inbox struct{ Items []models.Notification }
	h.do("GET", "/api/v1/me/notifications", w.patient.token, nil).want(t, 200).decode(t, &inbox)
	if len(inbox.Items) != 4 {
		t.Fatalf("inbox has %d, want 4", len(inbox.Items))
	}
	h.do("POST", "/api/v1/me/notifications/"+string(inbox.Items[0].ID)+"/read", w.patient2.token, nil).want(t, 404)
	var n models.Notification
	h.do("POST", "/api/v1/me/notifications/"+string(inbox.Items[0].ID)+"/read", w.patient.token, nil).want(t, 200).decode(t, &n)
	if n.ReadAt == nil {
		t.Fatal("not read")
	}
	var other struct{ Items []models.Notification }
	h.do("GET", "/api/v1/me/notifications", w.patient2.token, nil).want(t, 200).decode(t, &other)
	if len(other.Items) != 0 {
		t.Fatalf("another patient sees %d notifications", len(other.Items))
	}
}

func TestSessionCancelFlagsRebooking(t *testing.T) {
	h := newHarness(t)
	bw := newBookingWorld(t, h)
	var a models.Appointment
	h.do("POST", "/api/v1/appointments", h.w.patient.token, bookBody(bw.slots[0].ID, h.w.patientA.ID, nil)).want(t, 201).decode(t, &a)
	path := "/api/v1/sessions/" + string(bw.session.ID) + "/cancel"
	h.do("POST", path, h.w.patient.token, map[string]any{"reason": "x"}).want(t, 403)
	h.do("POST", path, h.w.clinicianB.token, map[string]any{"reason": "x"}).want(t, 403)
	h.do("POST", path, h.w.clinicianA.token, map[string]any{"reason": ""}).want(t, 400)
	var out struct {
		Session              models.Session `json:"session"`
		AppointmentsToRebook int            `json:"appointmentsToRebook"`
	}
	h.do("POST", path, h.w.adminA.token, map[string]any{"reason": "clinician unwell"}).want(t, 200).decode(t, &out)
	if out.AppointmentsToRebook != 1 || out.Session.Status != "cancelled" {
		t.Fatalf("cancel = %+v", out)
	}
	h.do("GET", "/api/v1/appointments/"+string(a.ID), h.w.patient.token, nil).want(t, 200).decode(t, &a)
	if a.Status != "needs_rebooking" {
		t.Fatalf("status %s", a.Status)
	}
	if got := searchSlots(t, h, h.w.patient.token, "serviceType=gp"); len(got) != 0 {
		t.Fatalf("cancelled session still offers %d slots", len(got))
	}
	// Rebooking moves the appointment to a slot of another session.
	h.do("POST", "/api/v1/appointments/"+string(a.ID)+"/reschedule", h.w.patient.token, map[string]any{"slotId": bw.slots2[0].ID}).want(t, 200).decode(t, &a)
	if a.Status != "booked" {
		t.Fatalf("after rebooking: %s", a.Status)
	}
}
