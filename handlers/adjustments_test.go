package handlers_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/models"
)

// recordedAdjustments is the answer of GET/PUT /patients/{id}/adjustments.
type recordedAdjustments struct {
	PatientID models.PatientID `json:"patientId"`
	models.RecordedAdjustments
}

func adjustmentsPath(p *models.Patient) string {
	return "/api/v1/patients/" + string(p.ID) + "/adjustments"
}

// setAdjustments records needs on p as who, based on version, and returns the new record.
func setAdjustments(t *testing.T, h *harness, who *person, p *models.Patient, version int, needs map[string]any) recordedAdjustments {
	t.Helper()
	body := map[string]any{"version": version}
	for k, v := range needs {
		body[k] = v
	}
	var got recordedAdjustments
	h.do("PUT", adjustmentsPath(p), who.token, body).want(t, 200).decode(t, &got)
	return got
}

func TestAdjustmentsRecordAndRead(t *testing.T) {
	h := newHarness(t)
	w := h.w
	path := adjustmentsPath(w.patientA)

	var got recordedAdjustments
	r := h.do("GET", path, w.patient.token, nil).want(t, 200)
	r.decode(t, &got)
	if got.Version != 0 || got.Adjustments != (models.Adjustments{}) || got.PatientID != w.patientA.ID || r.Header.Get("ETag") != `"0"` {
		t.Fatalf("nothing recorded yet: %+v, ETag %q", got, r.Header.Get("ETag"))
	}

	got = setAdjustments(t, h, w.patient, w.patientA, 0, map[string]any{"stepFree": true, "interpreter": true, "language": " Polish "})
	if got.Version != 1 || !got.StepFree || got.Language != "Polish" || got.UpdatedBy != w.patient.user.ID {
		t.Fatalf("after the patient's change: %+v", got)
	}

	// If-Match works as well as the version field; the practice may change them too.
	req := jsonRequest("PUT", path, `{"stepFree": true, "longerAppointment": true, "carerAttending": true}`)
	req.Header.Set("Authorization", "Bearer "+w.clinicianA.token)
	req.Header.Set("If-Match", `"1"`)
	r = h.send(req).want(t, 200)
	got = recordedAdjustments{}
	r.decode(t, &got)
	if got.Version != 2 || got.Interpreter || !got.Longer || !got.CarerAttending || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("after If-Match change: %+v, ETag %q", got, r.Header.Get("ETag"))
	}

	// Bad input: a 400 naming the field, and nothing stored changes.
	bad := []struct {
		body  string
		field string
	}{
		{`{"version": 2, "interpreter": true}`, "language"},
		{`{"version": 2, "interpreter": true, "language": "   "}`, "language"},
		{`{"version": 2, "language": "Urdu"}`, "language"},
		{`{"version": 2, "interpreter": true, "language": "` + strings.Repeat("x", 61) + `"}`, "language"},
		{`{"version": 2, "notes": "` + strings.Repeat("n", 501) + `"}`, "notes"},
		{`{"stepFree": true}`, "version"},
		{`{"version": -1, "stepFree": true}`, "version"},
		{`{"version": "2"}`, "version"},
		{`{"version": 2, "stepFree": "yes"}`, "stepFree"},
		{`{"version": 2, "wheelchair": true}`, "wheelchair"},
		{`{"version": 2, "version2": 1, "interpreter": true}`, "version2"},
	}
	for _, b := range bad {
		p := h.do("PUT", path, w.clinicianA.token, b.body).want(t, 400).problem(t)
		if !hasFieldError(p, b.field) {
			t.Errorf("%s: problem does not name %s: %+v", b.body, b.field, p)
		}
	}
	req = jsonRequest("PUT", path, `{"stepFree": true}`)
	req.Header.Set("Authorization", "Bearer "+w.clinicianA.token)
	req.Header.Set("If-Match", `"two"`)
	if p := h.send(req).want(t, 400).problem(t); !hasFieldError(p, "If-Match") {
		t.Errorf("bad If-Match: %+v", p)
	}
	req = jsonRequest("PUT", path, `{"version": 1, "stepFree": true}`)
	req.Header.Set("Authorization", "Bearer "+w.clinicianA.token)
	req.Header.Set("If-Match", `"2"`)
	if p := h.send(req).want(t, 400).problem(t); !hasFieldError(p, "version") {
		t.Errorf("version and If-Match disagree: %+v", p)
	}
	h.do("PUT", path, w.clinicianA.token, "{").want(t, 400)

	// A change based on an old version: 409 naming version, nothing overwritten.
	p := h.do("PUT", path, w.patient.token, map[string]any{"version": 1, "bsl": true}).want(t, 409).problem(t)
	if !hasFieldError(p, "version") {
		t.Errorf("stale version: %+v", p)
	}
	got = recordedAdjustments{}
	h.do("GET", path, w.patient.token, nil).want(t, 200).decode(t, &got)
	if got.Version != 2 || got.BSL || !got.Longer {
		t.Errorf("stored after refusals: %+v", got)
	}
	// The demographics never carry them.
	r = h.do("GET", "/api/v1/patients/"+string(w.patientA.ID), w.patient.token, nil).want(t, 200)
	if strings.Contains(string(r.Body), "stepFree") || strings.Contains(string(r.Body), "adjustments") {
		t.Errorf("patient record shows the adjustments: %s", r.Body)
	}
	if n := h.auditCount(w.patientA.ID, "adjustments.write", models.OutcomeSuccess); n != 2 {
		t.Errorf("%d writes audited, want 2", n)
	}
	if n := h.auditCount(w.patientA.ID, "adjustments.read", models.OutcomeSuccess); n != 2 {
		t.Errorf("%d reads audited, want 2", n)
	}
}

func TestAdjustmentsPermissions(t *testing.T) {
	h := newHarness(t)
	w := h.w
	cases := []struct {
		name    string
		who     *person
		patient *models.Patient
		want    int
	}{
		{"patient, own record", w.patient, w.patientA, 200},
		{"patient, another patient", w.patient2, w.patientA, 403},
		{"patient, a resident", w.patient, w.resident1, 403},
		{"clinician of the practice", w.clinicianA, w.resident1, 200},
		{"clinician of another practice", w.clinicianB, w.patientA, 403},
		{"administrator of the practice", w.adminA, w.patientA, 200},
		{"administrator of another practice", w.adminB, w.patientA, 403},
		{"staff, resident with every scope", w.staff1, w.resident1, 200},
		{"staff, resident with view_plan only (no book_appointments)", w.staff1, w.resident2, 403},
		{"staff, resident without consent", w.staff1, w.resident3, 403},
		{"staff, resident of another home", w.staff1, w.resident4, 403},
		{"staff of another home", w.staff2, w.resident1, 403},
		{"staff, not a resident", w.staff1, w.patientA, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before recordedAdjustments
			h.do("GET", adjustmentsPath(c.patient), w.clinicianA.token, nil).decode(t, &before)
			h.do("GET", adjustmentsPath(c.patient), c.who.token, nil).want(t, c.want)
			h.do("PUT", adjustmentsPath(c.patient), c.who.token, map[string]any{"version": before.Version, "carerAttending": true}).want(t, c.want)
			if c.want == 403 && h.auditCount(c.patient.ID, "adjustments.write", models.OutcomeDenied) == 0 {
				t.Error("refusal not audited")
			}
		})
	}
	h.do("GET", "/api/v1/patients/"+models.NewID()+"/adjustments", w.clinicianA.token, nil).want(t, 404)
	h.do("PUT", "/api/v1/patients/"+models.NewID()+"/adjustments", w.clinicianA.token, map[string]any{"version": 0}).want(t, 404)
	h.do("GET", adjustmentsPath(w.patientA), "", nil).want(t, 401)
}

func TestAdjustmentsEditRace(t *testing.T) {
	h := newHarness(t)
	w := h.w
	// The resident's carers and the practice edit at once, all based on version 0.
	who := []*person{w.staff1, w.clinicianA, w.adminA}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 12 {
		wg.Go(func() {
			r := h.do("PUT", adjustmentsPath(w.resident1), who[i%len(who)].token,
				map[string]any{"version": 0, "interpreter": true, "language": "Lang" + string(rune('A'+i))})
			mu.Lock()
			defer mu.Unlock()
			statuses[r.Status]++
		})
	}
	wg.Wait()
	if statuses[http.StatusOK] != 1 || statuses[http.StatusConflict] != 11 {
		t.Fatalf("statuses %v, want one 200 and eleven 409", statuses)
	}
	var got recordedAdjustments
	h.do("GET", adjustmentsPath(w.resident1), w.staff1.token, nil).want(t, 200).decode(t, &got)
	if got.Version != 1 || !got.Interpreter || !strings.HasPrefix(got.Language, "Lang") {
		t.Errorf("after the race: %+v", got)
	}
}

// TestBookingHonoursRecordedAdjustments: search and booking for a patient whose record says
// step-free access, a longer appointment and an interpreter.
func TestBookingHonoursRecordedAdjustments(t *testing.T) {
	h := newHarness(t)
	w := h.w
	bw := newBookingWorld(t, h) // 6 gp slots at the step-free site, 3 nurse slots up the stairs
	setAdjustments(t, h, w.staff1, w.resident1, 0, map[string]any{"stepFree": true, "longerAppointment": true, "interpreter": true, "language": "Polish"})

	// Staff browsing see every site; a search for the resident only step-free ones, whatever
	// stepFree says; video and phone searches are not narrowed.
	if got := searchSlots(t, h, w.staff1.token, "x=1"); len(got) != 9 {
		t.Fatalf("staff browsing: %d slots, want 9", len(got))
	}
	for _, q := range []string{"patientId=" + string(w.resident1.ID), "patientId=" + string(w.resident1.ID) + "&stepFree=false",
		"patientId=" + string(w.resident1.ID) + "&mode=face_to_face"} {
		got := searchSlots(t, h, w.staff1.token, q)
		if len(got) != 6 {
			t.Errorf("%s: %d slots, want the 6 at the step-free site", q, len(got))
		}
		for _, s := range got {
			if !s.StepFree || s.SiteID != bw.stepFree.ID {
				t.Errorf("%s: slot at %s (step-free %v)", q, s.SiteID, s.StepFree)
			}
		}
	}
	if got := searchSlots(t, h, w.clinicianA.token, "patientId="+string(w.resident1.ID)); len(got) != 6 {
		t.Errorf("clinician searching for the resident: %d slots, want 6", len(got))
	}
	if got := searchSlots(t, h, w.staff1.token, "patientId="+string(w.resident1.ID)+"&mode=video"); len(got) != 6 {
		t.Errorf("video search for the resident: %d slots, want 6", len(got))
	}
	if h.auditCount(w.resident1.ID, "slot.search", models.OutcomeSuccess) == 0 {
		t.Error("a search for the resident was not audited")
	}
	// Searching for someone the caller may not book for.
	h.do("GET", "/api/v1/slots?patientId="+string(w.resident4.ID), w.staff1.token, nil).want(t, 403)
	h.do("GET", "/api/v1/slots?patientId="+string(w.resident2.ID), w.staff1.token, nil).want(t, 403)
	h.do("GET", "/api/v1/slots?patientId="+string(w.patientA.ID), w.patient2.token, nil).want(t, 403)
	h.do("GET", "/api/v1/slots?patientId="+string(w.patientA.ID), w.clinicianB.token, nil).want(t, 403)
	if p := h.do("GET", "/api/v1/slots?patientId=nobody", w.staff1.token, nil).want(t, 400).problem(t); !hasFieldError(p, "patientId") {
		t.Errorf("bad patientId: %+v", p)
	}
	if p := h.do("GET", "/api/v1/slots?patientId="+models.NewID(), w.staff1.token, nil).want(t, 400).problem(t); !hasFieldError(p, "patientId") {
		t.Errorf("unknown patientId: %+v", p)
	}

	// A patient's own search applies their own record without being asked.
	if got := searchSlots(t, h, w.patient.token, "x=1"); len(got) != 9 {
		t.Fatalf("patient without needs: %d slots, want 9", len(got))
	}
	setAdjustments(t, h, w.patient, w.patientA, 0, map[string]any{"stepFree": true})
	if got := searchSlots(t, h, w.patient.token, "stepFree=false"); len(got) != 6 {
		t.Errorf("patient who needs step-free access: %d slots, want 6", len(got))
	}

	// Booking the resident at the site with stairs is refused, naming the slot; nothing is held.
	p := h.do("POST", "/api/v1/appointments", w.staff1.token, bookBody(bw.slots2[0].ID, w.resident1.ID, nil)).want(t, 409).problem(t)
	if !hasFieldError(p, "slotId") || !strings.Contains(p.Detail, "step-free") {
		t.Errorf("step-free refusal: %+v", p)
	}
	if got := searchSlots(t, h, w.clinicianA.token, "serviceType=nurse"); len(got) != 3 {
		t.Errorf("after the refusal %d nurse slots are free, want 3", len(got))
	}
	// At the step-free site: the appointment carries every recorded need plus the booking's own,
	// and takes two consecutive slots.
	var a models.Appointment
	h.do("POST", "/api/v1/appointments", w.staff1.token, bookBody(bw.slots[0].ID, w.resident1.ID,
		map[string]any{"adjustments": map[string]any{"carerAttending": true, "notes": "hoist needed"}})).want(t, 201).decode(t, &a)
	want := models.Adjustments{Interpreter: true, Language: "Polish", StepFree: true, Longer: true, CarerAttending: true, Notes: "hoist needed"}
	if a.Adjustments != want {
		t.Errorf("appointment adjustments = %+v, want %+v", a.Adjustments, want)
	}
	if len(a.SlotIDs) != 2 || a.SlotIDs[1] != bw.slots[1].ID || a.End.Sub(a.Start) != 30*time.Minute {
		t.Errorf("longer appointment: slots %v, %v long", a.SlotIDs, a.End.Sub(a.Start))
	}
	// The booking cannot drop a recorded need: the practice books without adjustments and the
	// record's still apply; the last slot of a session cannot start a longer appointment.
	p = h.do("POST", "/api/v1/appointments", w.clinicianA.token, bookBody(bw.slots[5].ID, w.resident1.ID,
		map[string]any{"adjustments": map[string]any{"stepFree": false}})).want(t, 400).problem(t)
	if !hasFieldError(p, "adjustments.longerAppointment") {
		t.Errorf("longer at the session's end: %+v", p)
	}
	// The patient's own booking at the stairs site is refused too, the step-free one goes through.
	h.do("POST", "/api/v1/appointments", w.patient.token, bookBody(bw.slots2[1].ID, w.patientA.ID, nil)).want(t, 409)
	h.do("POST", "/api/v1/appointments", w.patient.token, bookBody(bw.slots[3].ID, w.patientA.ID, nil)).want(t, 201).decode(t, &a)
	if !a.Adjustments.StepFree || len(a.SlotIDs) != 1 {
		t.Errorf("patient's appointment: %+v", a)
	}
	// A need recorded after booking is honoured when rescheduling.
	var other models.Appointment
	h.do("POST", "/api/v1/appointments", w.clinicianA.token, bookBody(bw.slots2[2].ID, w.patientA2.ID, nil)).want(t, 201).decode(t, &other)
	setAdjustments(t, h, w.clinicianA, w.patientA2, 0, map[string]any{"stepFree": true})
	h.do("POST", "/api/v1/appointments/"+string(other.ID)+"/reschedule", w.clinicianA.token, map[string]any{"slotId": bw.slots2[0].ID}).want(t, 409)
	// ... and a longer appointment recorded since takes two slots at the new time, which the
	// moved appointment then carries.
	setAdjustments(t, h, w.clinicianA, w.patientA2, 1, map[string]any{"stepFree": true, "longerAppointment": true})
	var moved models.Appointment
	h.do("POST", "/api/v1/appointments/"+string(other.ID)+"/reschedule", w.clinicianA.token, map[string]any{"slotId": bw.slots[4].ID}).want(t, 200).decode(t, &moved)
	if !moved.Adjustments.StepFree || !moved.Adjustments.Longer || len(moved.SlotIDs) != 2 || moved.SlotIDs[1] != bw.slots[5].ID {
		t.Errorf("rescheduled with recorded needs: adjustments %+v, slots %v", moved.Adjustments, moved.SlotIDs)
	}
	if got := searchSlots(t, h, w.clinicianA.token, "serviceType=nurse"); len(got) != 3 { // the old slot is free again
		t.Errorf("after the move %d nurse slots are free, want all 3", len(got))
	}
}

// TestCareHomeDashboardShowsAdjustments: the dashboard shows each resident's recorded
// adjustments to the home's staff within book_appointments, and only to them.
func TestCareHomeDashboardShowsAdjustments(t *testing.T) {
	h := newHarness(t)
	w := h.w
	setAdjustments(t, h, w.clinicianA, w.resident1, 0, map[string]any{"bsl": true, "carerAttending": true})
	setAdjustments(t, h, w.clinicianA, w.resident2, 0, map[string]any{"stepFree": true})
	var page struct {
		Items []struct {
			PatientID   models.PatientID    `json:"patientId"`
			Adjustments *models.Adjustments `json:"adjustments"`
		} `json:"items"`
	}
	h.do("GET", "/api/v1/care-homes/"+string(w.home1.ID)+"/dashboard", w.staff1.token, nil).want(t, 200).decode(t, &page)
	seen := 0
	for _, r := range page.Items {
		switch r.PatientID {
		case w.resident1.ID:
			seen++
			if r.Adjustments == nil || !r.Adjustments.BSL || !r.Adjustments.CarerAttending {
				t.Errorf("resident 1 (every scope): %+v", r.Adjustments)
			}
		case w.resident2.ID:
			seen++
			if r.Adjustments != nil {
				t.Errorf("resident 2 (view_plan only) shows adjustments: %+v", r.Adjustments)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("dashboard listed %d of the two residents", seen)
	}
	if h.auditCount(w.resident1.ID, "adjustments.read", models.OutcomeSuccess) != 1 {
		t.Error("dashboard read of resident 1's adjustments not audited once")
	}
}

// TestFHIRPatientCarriesInterpreterNeeds: the recorded interpreter needs appear in the FHIR
// Patient (communication + interpreterRequired) for callers who may read the adjustments, and
// the answers pass the FHIR validator.
func TestFHIRPatientCarriesInterpreterNeeds(t *testing.T) {
	h := newHarness(t)
	w := h.w
	f := newFHIRClient(h)
	setAdjustments(t, h, w.patient, w.patientA, 0, map[string]any{"interpreter": true, "language": "Polish"})
	setAdjustments(t, h, w.clinicianA, w.resident1, 0, map[string]any{"bsl": true})
	setAdjustments(t, h, w.clinicianA, w.resident2, 0, map[string]any{"interpreter": true, "language": "Urdu"})
	const ext = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
	needsInterpreter := func(p fhir.Patient) bool {
		for _, e := range p.Extension {
			if e.Url == ext && e.ValueBoolean != nil && *e.ValueBoolean {
				return true
			}
		}
		return false
	}

	var got fhir.Patient
	f.get("/fhir/r4/Patient/"+string(w.patientA.ID), w.patient.token).want(t, 200).decode(t, &got)
	if len(got.Communication) != 1 || got.Communication[0].Language.Text == nil || *got.Communication[0].Language.Text != "Polish" ||
		got.Communication[0].Preferred == nil || !*got.Communication[0].Preferred || !needsInterpreter(got) {
		t.Errorf("patient A: communication %+v, extensions %+v", got.Communication, got.Extension)
	}
	got = fhir.Patient{}
	f.get("/fhir/r4/Patient/"+string(w.resident1.ID), w.staff1.token).want(t, 200).decode(t, &got)
	if len(got.Communication) != 1 || got.Communication[0].Language.Text == nil || *got.Communication[0].Language.Text != "British Sign Language" || !needsInterpreter(got) {
		t.Errorf("resident 1 (BSL): communication %+v", got.Communication)
	}
	// Staff with view_plan only may read the resident's demographics, not the adjustments.
	got = fhir.Patient{}
	f.get("/fhir/r4/Patient/"+string(w.resident2.ID), w.staff1.token).want(t, 200).decode(t, &got)
	if len(got.Communication) != 0 || needsInterpreter(got) {
		t.Errorf("resident 2 shown to staff without book_appointments: %+v", got.Communication)
	}
	if h.auditCount(w.patientA.ID, "adjustments.read", models.OutcomeSuccess) != 1 {
		t.Error("FHIR read of the adjustments not audited")
	}
}
