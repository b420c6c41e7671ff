package handlers_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"careway/models"
)

// TestPatientReadPolicy checks GET /patients/{id} for every kind of caller against every kind
// of patient, and that each answer is audited (allowed or refused).
func TestPatientReadPolicy(t *testing.T) {
	h := newHarness(t)
	w := h.w
	type row struct {
		who     string
		p       *person
		patient *models.Patient
		want    int
	}
	rows := []row{
		{"patient: own record", w.patient, w.patientA, 200},
		{"patient: another patient", w.patient, w.patientA2, 403},
		{"patient: other practice", w.patient, w.patientB, 403},
		{"clinician: own practice", w.clinicianA, w.patientA, 200},
		{"clinician: resident of own practice", w.clinicianA, w.resident3, 200},
		{"clinician: other practice", w.clinicianB, w.patientA, 403},
		{"staff: resident with full consent", w.staff1, w.resident1, 200},
		{"staff: resident with view_plan only", w.staff1, w.resident2, 200},
		{"staff: resident without consent", w.staff1, w.resident3, 403},
		{"staff: resident of another home", w.staff1, w.resident4, 403},
		{"staff: not a resident", w.staff1, w.patientA, 403},
		{"staff of home 2: own resident", w.staff2, w.resident4, 200},
		{"admin: own practice", w.adminA, w.patientA, 200},
		{"admin: other practice", w.adminB, w.patientA, 403},
		{"partnership admin", w.superAdmin, w.patientB, 200},
	}
	for _, r := range rows {
		t.Run(r.who, func(t *testing.T) {
			before := h.auditCount(r.patient.ID, "patient.read", models.OutcomeSuccess) + h.auditCount(r.patient.ID, "patient.read", models.OutcomeDenied)
			h.do("GET", "/api/v1/patients/"+string(r.patient.ID), r.p.token, nil).want(t, r.want)
			after := h.auditCount(r.patient.ID, "patient.read", models.OutcomeSuccess) + h.auditCount(r.patient.ID, "patient.read", models.OutcomeDenied)
			if after != before+1 {
				t.Errorf("audit events for the read: %d before, %d after; want one more", before, after)
			}
		})
	}
	t.Run("unknown patient", func(t *testing.T) {
		h.do("GET", "/api/v1/patients/"+models.NewID(), w.clinicianA.token, nil).want(t, 404)
		h.do("GET", "/api/v1/patients/not-an-id", w.clinicianA.token, nil).want(t, 404)
	})
}

func TestConditionsReadPolicy(t *testing.T) {
	h := newHarness(t)
	w := h.w
	ctx := context.Background()
	c := &models.Condition{ID: models.NewID(), PatientID: w.resident2.ID, Code: models.ConditionCOPD, SNOMED: "13645005",
		Display: "Chronic obstructive pulmonary disease", Status: "active", RecordedAt: time.Now().UTC()}
	if err := h.conds.AddCondition(ctx, c); err != nil {
		t.Fatal(err)
	}
	var l struct{ Items []models.Condition }
	h.do("GET", "/api/v1/patients/"+string(w.resident2.ID)+"/conditions", w.clinicianA.token, nil).want(t, 200).decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].Code != models.ConditionCOPD {
		t.Errorf("conditions = %+v", l.Items)
	}
	// Staff with view_plan only, and admins, read no clinical data.
	h.do("GET", "/api/v1/patients/"+string(w.resident2.ID)+"/conditions", w.staff1.token, nil).want(t, 403)
	h.do("GET", "/api/v1/patients/"+string(w.resident2.ID)+"/conditions", w.adminA.token, nil).want(t, 403)
	h.do("GET", "/api/v1/patients/"+string(w.resident1.ID)+"/conditions", w.staff1.token, nil).want(t, 200)
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/conditions", w.patient.token, nil).want(t, 200)
	h.do("GET", "/api/v1/patients/"+string(w.patientA2.ID)+"/conditions", w.patient.token, nil).want(t, 403)
}

func TestResidents(t *testing.T) {
	h := newHarness(t)
	w := h.w
	type item struct {
		PatientID   models.PatientID
		ProxyScopes []models.ProxyScope
	}
	list := func(p *person, home models.CareHomeID, want int) []item {
		t.Helper()
		var l struct{ Items []item }
		r := h.do("GET", "/api/v1/care-homes/"+string(home)+"/residents", p.token, nil).want(t, want)
		if want == 200 {
			r.decode(t, &l)
		}
		return l.Items
	}
	staff := list(w.staff1, w.home1.ID, 200)
	if len(staff) != 2 {
		t.Fatalf("staff of home 1 see %d residents, want 2 (the ones with consent): %+v", len(staff), staff)
	}
	for _, it := range staff {
		if it.PatientID == w.resident2.ID && (len(it.ProxyScopes) != 1 || it.ProxyScopes[0] != models.ScopeViewPlan) {
			t.Errorf("resident 2 scopes = %v, want [view_plan]", it.ProxyScopes)
		}
		if it.PatientID == w.resident3.ID {
			t.Error("a resident without consent was listed to staff")
		}
	}
	if got := list(w.clinicianA, w.home1.ID, 200); len(got) != 3 {
		t.Errorf("clinician of the practice sees %d residents, want 3", len(got))
	}
	list(w.staff2, w.home1.ID, 403)
	list(w.clinicianB, w.home1.ID, 403)
	list(w.patient, w.home1.ID, 403)
	list(w.adminB, w.home1.ID, 403)
	list(w.staff1, models.CareHomeID(models.NewID()), 404)
	if n := h.auditCount(w.resident1.ID, "patient.list", models.OutcomeSuccess); n != 2 {
		t.Errorf("resident 1 listing audited %d times, want 2", n)
	}
}

func TestProxyConsent(t *testing.T) {
	h := newHarness(t)
	w := h.w
	path := "/api/v1/patients/" + string(w.resident3.ID) + "/proxy-consent"
	body := map[string]any{"scopes": []string{"book_appointments", "join_calls"}, "basis": "best_interests"}
	// Who may record it.
	h.do("PUT", path, w.staff1.token, body).want(t, 403)
	h.do("PUT", path, w.clinicianB.token, body).want(t, 403)
	h.do("PUT", path, w.patient.token, body).want(t, 403)
	// Bad input.
	for name, tt := range map[string]struct {
		body  any
		field string
	}{
		"unknown scope":   {map[string]any{"scopes": []string{"read_everything"}, "basis": "best_interests"}, "scopes"},
		"no scopes":       {map[string]any{"scopes": []string{}, "basis": "best_interests"}, "scopes"},
		"bad basis":       {map[string]any{"scopes": []string{"join_calls"}, "basis": "because"}, "basis"},
		"until <= from":   {map[string]any{"scopes": []string{"join_calls"}, "basis": "best_interests", "from": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"},
		"other home":      {map[string]any{"careHomeId": string(w.home2.ID), "scopes": []string{"join_calls"}, "basis": "best_interests"}, "careHomeId"},
		"scopes string":   {`{"scopes":"join_calls","basis":"best_interests"}`, "scopes"},
		"from not a time": {`{"scopes":["join_calls"],"basis":"best_interests","from":"tomorrow"}`, "from"},
		"until a number":  {`{"scopes":["join_calls"],"basis":"best_interests","until":1767225600}`, "until"},
	} {
		t.Run(name, func(t *testing.T) {
			r := h.do("PUT", path, w.clinicianA.token, tt.body).want(t, 400)
			if p := r.problem(t); !hasFieldError(p, tt.field) {
				t.Errorf("problem does not name %q: %+v", tt.field, p)
			}
		})
	}
	h.do("GET", "/api/v1/patients/"+string(w.resident3.ID), w.staff1.token, nil).want(t, 403)
	var p models.Patient
	h.do("PUT", path, w.clinicianA.token, body).want(t, 200).decode(t, &p)
	if p.Proxy == nil || p.Proxy.Basis != "best_interests" || p.Proxy.RecordedBy != w.clinicianA.user.ID || len(p.Proxy.Scopes) != 2 {
		t.Fatalf("consent = %+v", p.Proxy)
	}
	// The staff of the home can now see the resident; withdrawing it takes that away again.
	h.do("GET", "/api/v1/patients/"+string(w.resident3.ID), w.staff1.token, nil).want(t, 200)
	h.do("DELETE", path, w.staff1.token, nil).want(t, 403)
	h.do("DELETE", path, w.adminA.token, nil).want(t, 200)
	h.do("GET", "/api/v1/patients/"+string(w.resident3.ID), w.staff1.token, nil).want(t, 403)
	// A consent that starts tomorrow does not yet allow anything.
	tomorrow := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	h.do("PUT", path, w.clinicianA.token, map[string]any{"scopes": []string{"view_plan"}, "basis": "patient_consent", "from": tomorrow}).want(t, 200)
	h.do("GET", "/api/v1/patients/"+string(w.resident3.ID), w.staff1.token, nil).want(t, 403)
	// Consent for someone who lives in no care home.
	h.do("PUT", "/api/v1/patients/"+string(w.patientA.ID)+"/proxy-consent", w.clinicianA.token, body).want(t, 400)
}

func TestPatientCreateAndRegistration(t *testing.T) {
	h := newHarness(t)
	w := h.w
	body := map[string]any{"name": "Nora New", "dateOfBirth": "1944-04-04", "sex": "female", "nhsNumber": nextNHSNumber(),
		"practiceId": string(w.practiceA.ID), "careHomeId": string(w.home1.ID)}
	h.do("POST", "/api/v1/patients", w.clinicianA.token, body).want(t, 403)
	h.do("POST", "/api/v1/patients", w.adminB.token, body).want(t, 403)
	h.do("POST", "/api/v1/patients", w.staff1.token, body).want(t, 403)
	var p models.Patient
	h.do("POST", "/api/v1/patients", w.adminA.token, body).want(t, 201).decode(t, &p)
	h.do("POST", "/api/v1/patients", w.adminA.token, body).want(t, 409) // same NHS number
	for name, b := range map[string]map[string]any{
		"no practice":   {"name": "X", "dateOfBirth": "1944-04-04"},
		"bad sex":       {"name": "X", "dateOfBirth": "1944-04-04", "practiceId": string(w.practiceA.ID), "sex": "robot"},
		"unknown home":  {"name": "X", "dateOfBirth": "1944-04-04", "practiceId": string(w.practiceA.ID), "careHomeId": models.NewID()},
		"bad NHS":       {"name": "X", "dateOfBirth": "1944-04-04", "practiceId": string(w.practiceA.ID), "nhsNumber": "123"},
		"ancient birth": {"name": "X", "dateOfBirth": "1800-01-01", "practiceId": string(w.practiceA.ID)},
	} {
		t.Run(name, func(t *testing.T) { h.do("POST", "/api/v1/patients", w.adminA.token, b).want(t, 400).problem(t) })
	}

	reg := "/api/v1/patients/" + string(p.ID) + "/registration"
	h.do("PUT", reg, w.clinicianA.token, map[string]any{"practiceId": string(w.practiceA.ID)}).want(t, 403)
	h.do("PUT", reg, w.adminA.token, map[string]any{"practiceId": string(w.practiceB.ID)}).want(t, 403) // not their practice
	h.do("PUT", reg, w.adminA.token, map[string]any{}).want(t, 400)
	// Record a consent, then move the patient out of the home: the consent goes with it.
	h.do("PUT", "/api/v1/patients/"+string(p.ID)+"/proxy-consent", w.adminA.token,
		map[string]any{"scopes": []string{"view_plan"}, "basis": "patient_consent"}).want(t, 200)
	var moved models.Patient
	h.do("PUT", reg, w.adminA.token, map[string]any{"practiceId": string(w.practiceA.ID)}).want(t, 200).decode(t, &moved)
	if moved.CareHomeID != "" || moved.Proxy != nil {
		t.Errorf("after leaving the home: careHomeId %q, consent %+v; want both cleared", moved.CareHomeID, moved.Proxy)
	}
	h.do("PUT", reg, w.superAdmin.token, map[string]any{"practiceId": string(w.practiceB.ID)}).want(t, 200)
	h.do("GET", "/api/v1/patients/"+string(p.ID), w.clinicianA.token, nil).want(t, 403)
	h.do("GET", "/api/v1/patients/"+string(p.ID), w.clinicianB.token, nil).want(t, 200)
}

func TestAccessLog(t *testing.T) {
	h := newHarness(t)
	w := h.w
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID), w.clinicianA.token, nil).want(t, 200)
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID), w.clinicianB.token, nil).want(t, 403)
	type entry struct {
		ActorID   models.UserID
		ActorName string
		Action    string
		Outcome   string
	}
	var l struct {
		Items      []entry
		NextCursor *string
	}
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/access-log", w.patient.token, nil).want(t, 200).decode(t, &l)
	if len(l.Items) < 2 {
		t.Fatalf("access log = %+v, want the clinician's read and the refusal", l.Items)
	}
	// Newest first: the refusal, then the read.
	if l.Items[0].ActorID != w.clinicianB.user.ID || l.Items[0].Outcome != models.OutcomeDenied {
		t.Errorf("newest entry = %+v, want clinician B denied", l.Items[0])
	}
	if l.Items[1].ActorID != w.clinicianA.user.ID || l.Items[1].ActorName != "Dr A" || l.Items[1].Action != "patient.read" {
		t.Errorf("second entry = %+v, want Dr A's read", l.Items[1])
	}
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/access-log", w.patient2.token, nil).want(t, 403)
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/access-log", w.clinicianA.token, nil).want(t, 403)
	// Another patient's refused attempt is shown, but not their name.
	l.Items = nil
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/access-log", w.patient.token, nil).want(t, 200).decode(t, &l)
	sawOther := false
	for _, e := range l.Items {
		if e.ActorID == w.patient2.user.ID {
			sawOther = true
			if e.ActorName != "" {
				t.Errorf("another patient's name %q shown in the access log", e.ActorName)
			}
		}
	}
	if !sawOther {
		t.Error("the other patient's refused attempt is missing from the access log")
	}
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/access-log", w.adminA.token, nil).want(t, 200)
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/access-log?limit=0", w.patient.token, nil).want(t, 400)
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/access-log?limit=abc", w.patient.token, nil).want(t, 400)
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/access-log?cursor=%7B%22%24gt%22%3A1%7D", w.patient.token, nil).want(t, 400)

	// Paging walks the whole log without repeats.
	for i := 0; i < 5; i++ {
		h.do("GET", "/api/v1/patients/"+string(w.patientA.ID), w.clinicianA.token, nil).want(t, 200)
	}
	seen := map[string]bool{}
	next, pages, total := "", 0, 0
	for pages < 50 {
		url := "/api/v1/patients/" + string(w.patientA.ID) + "/access-log?limit=2"
		if next != "" {
			url += "&cursor=" + next
		}
		var page struct {
			Items      []struct{ ID string }
			NextCursor *string
		}
		h.do("GET", url, w.patient.token, nil).want(t, 200).decode(t, &page)
		pages++
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Errorf("entry %s shown twice while paging", it.ID)
			}
			seen[it.ID] = true
			total++
		}
		if page.NextCursor == nil {
			break
		}
		next = *page.NextCursor
	}
	events, _, err := h.audit.ListAuditByPatient(context.Background(), w.patientA.ID, models.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	// Each page read is itself audited after the page is fetched, so the log grows while
	// walking it; every event that existed before the walk must have been shown.
	if total < 9 || total > len(events) {
		t.Errorf("walked %d entries in %d pages; the log holds %d", total, pages, len(events))
	}
}

func TestOrganisationsPolicy(t *testing.T) {
	h := newHarness(t)
	w := h.w
	practice := map[string]any{"name": "Canal Side Surgery", "odsCode": "Y99123"}
	h.do("POST", "/api/v1/practices", w.adminA.token, practice).want(t, 403)
	h.do("POST", "/api/v1/practices", w.clinicianA.token, practice).want(t, 403)
	var pr models.Practice
	h.do("POST", "/api/v1/practices", w.superAdmin.token, practice).want(t, 201).decode(t, &pr)
	h.do("POST", "/api/v1/practices", w.superAdmin.token, practice).want(t, 409) // same ODS code
	h.do("POST", "/api/v1/practices", w.superAdmin.token, map[string]any{"name": "", "odsCode": "lower"}).want(t, 400)
	h.do("GET", "/api/v1/practices/"+string(pr.ID), w.patient.token, nil).want(t, 200)
	h.do("GET", "/api/v1/practices/"+models.NewID(), w.patient.token, nil).want(t, 404)

	site := map[string]any{"name": "Annexe", "address": map[string]any{"line1": "2 Road", "town": "Calderford", "postcode": "HX1 3ZZ"}, "stepFreeAccess": true}
	h.do("POST", "/api/v1/practices/"+string(w.practiceA.ID)+"/sites", w.adminB.token, site).want(t, 403)
	h.do("POST", "/api/v1/practices/"+string(w.practiceA.ID)+"/sites", w.clinicianA.token, site).want(t, 403)
	h.do("POST", "/api/v1/practices/"+string(w.practiceA.ID)+"/sites", w.adminA.token, site).want(t, 201)
	h.do("POST", "/api/v1/practices/"+string(w.practiceA.ID)+"/sites", w.adminA.token,
		map[string]any{"name": "Annexe", "address": map[string]any{"line1": "2 Road", "town": "Calderford", "postcode": "NOT A CODE"}}).want(t, 400)
	var sites struct{ Items []models.Site }
	h.do("GET", "/api/v1/practices/"+string(w.practiceA.ID)+"/sites", w.patient.token, nil).want(t, 200).decode(t, &sites)
	if len(sites.Items) != 1 || !sites.Items[0].StepFreeAccess {
		t.Errorf("sites = %+v", sites.Items)
	}

	home := map[string]any{"name": "Ivy House", "practiceId": string(w.practiceA.ID), "address": map[string]any{"line1": "3 Lane", "town": "Calderford", "postcode": "HX2 1AA"}}
	h.do("POST", "/api/v1/care-homes", w.adminB.token, home).want(t, 403)
	// Unknown organisations named in a body are the body's fault; in a path, a missing page.
	lost := map[string]any{"name": "Lost House", "practiceId": models.NewID(), "address": map[string]any{"line1": "3 Lane", "town": "Calderford", "postcode": "HX2 1AA"}}
	if p := h.do("POST", "/api/v1/care-homes", w.superAdmin.token, lost).want(t, 400).problem(t); !hasFieldError(p, "practiceId") {
		t.Errorf("unknown practice: %+v", p)
	}
	h.do("POST", "/api/v1/practices/"+models.NewID()+"/sites", w.superAdmin.token, site).want(t, 404)
	if p := h.do("POST", "/api/v1/users", w.superAdmin.token, map[string]any{"email": "x@example.org", "name": "X", "role": "carehome_staff",
		"careHomeId": models.NewID(), "password": "a long enough passphrase"}).want(t, 400).problem(t); !hasFieldError(p, "careHomeId") {
		t.Errorf("unknown care home: %+v", p)
	}
	if p := h.do("POST", "/api/v1/users", w.superAdmin.token, map[string]any{"email": "y@example.org", "name": "Y", "role": "clinician", "profession": "gp",
		"practiceId": models.NewID(), "password": "a long enough passphrase"}).want(t, 400).problem(t); !hasFieldError(p, "practiceId") {
		t.Errorf("unknown practice: %+v", p)
	}
	h.do("POST", "/api/v1/care-homes", w.adminA.token, home).want(t, 201)
	h.do("GET", "/api/v1/care-homes?practiceId="+string(w.practiceA.ID), w.clinicianA.token, nil).want(t, 200)
	h.do("GET", "/api/v1/care-homes?practiceId="+string(w.practiceA.ID), w.clinicianB.token, nil).want(t, 403)
	h.do("GET", "/api/v1/care-homes", w.adminA.token, nil).want(t, 403)
	h.do("GET", "/api/v1/care-homes", w.superAdmin.token, nil).want(t, 200)
	h.do("GET", "/api/v1/care-homes/"+string(w.home1.ID), w.staff1.token, nil).want(t, 200)
	h.do("GET", "/api/v1/care-homes/"+string(w.home1.ID), w.staff2.token, nil).want(t, 403)

	staff := map[string]any{"email": "carer@example.org", "name": "Cara Carer", "role": "carehome_staff",
		"careHomeId": string(w.home1.ID), "password": "a long enough passphrase"}
	h.do("POST", "/api/v1/users", w.adminB.token, staff).want(t, 403)
	h.do("POST", "/api/v1/users", w.clinicianA.token, staff).want(t, 403)
	var prof struct{ Role, CareHomeID, PracticeID string }
	h.do("POST", "/api/v1/users", w.adminA.token, staff).want(t, 201).decode(t, &prof)
	if prof.CareHomeID != string(w.home1.ID) || prof.PracticeID != string(w.practiceA.ID) {
		t.Errorf("staff profile = %+v", prof)
	}
	h.do("POST", "/api/v1/users", w.adminA.token, staff).want(t, 409)
	for name, b := range map[string]map[string]any{
		"patient role":           {"email": "p@example.org", "name": "P", "role": "patient", "password": "a long enough passphrase"},
		"clinician without prof": {"email": "c@example.org", "name": "C", "role": "clinician", "practiceId": string(w.practiceA.ID), "password": "a long enough passphrase"},
		"weak password":          {"email": "c@example.org", "name": "C", "role": "clinician", "profession": "gp", "practiceId": string(w.practiceA.ID), "password": "password12"},
		"unknown role":           {"email": "c@example.org", "name": "C", "role": "god", "password": "a long enough passphrase"},
	} {
		t.Run(name, func(t *testing.T) { h.do("POST", "/api/v1/users", w.adminA.token, b).want(t, 400).problem(t) })
	}
	// A practice admin cannot create a partnership-wide admin.
	h.do("POST", "/api/v1/users", w.adminA.token, map[string]any{"email": "boss@example.org", "name": "Boss", "role": "admin", "password": "a long enough passphrase"}).want(t, 403)
	var staffList struct{ Items []struct{ Role string } }
	h.do("GET", "/api/v1/users?practiceId="+string(w.practiceA.ID), w.adminA.token, nil).want(t, 200).decode(t, &staffList)
	if len(staffList.Items) == 0 {
		t.Error("no staff listed for practice A")
	}
	for _, u := range staffList.Items {
		if u.Role == "patient" {
			t.Error("GET /users listed a patient's account: that bypasses the access policy and the audit")
		}
	}
	h.do("GET", "/api/v1/users?role=patient&practiceId="+string(w.practiceA.ID), w.adminA.token, nil).want(t, 400)
	h.do("GET", "/api/v1/users?practiceId="+string(w.practiceA.ID), w.adminB.token, nil).want(t, 403)
	h.do("GET", "/api/v1/users?role=wizard&practiceId="+string(w.practiceA.ID), w.adminA.token, nil).want(t, 400)
	h.do("GET", "/api/v1/users?practiceId="+string(w.practiceB.ID)+"&careHomeId="+string(w.home1.ID), w.superAdmin.token, nil).want(t, 400)
	h.do("GET", "/api/v1/users?careHomeId="+string(w.home1.ID), w.adminA.token, nil).want(t, 200)
	h.do("GET", "/api/v1/users?careHomeId="+string(w.home1.ID), w.adminB.token, nil).want(t, 403)
	h.do("GET", "/api/v1/practices/"+models.NewID()+"/sites", w.patient.token, nil).want(t, 404)
	h.do("PUT", "/api/v1/patients/"+string(w.patientA.ID)+"/registration", w.adminA.token,
		map[string]any{"practiceId": string(w.practiceA.ID), "careHomeId": models.NewID()}).want(t, 400)

	// Every refusal above was written to the audit trail under the caller.
	denied := func(p *person, action string) int {
		events, _, err := h.audit.ListAuditByActor(context.Background(), p.user.ID, models.Page{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range events {
			if e.Action == action && e.Outcome == models.OutcomeDenied {
				n++
			}
		}
		return n
	}
	if n := denied(w.adminB, "org.manage"); n < 4 {
		t.Errorf("admin B's refused organisation changes audited %d times, want at least 4", n)
	}
	if n := denied(w.clinicianB, "carehome.list"); n != 1 {
		t.Errorf("clinician B's refused care-home listing audited %d times, want 1", n)
	}
	_ = http.StatusOK
	_ = context.Background
}

// TestAcceptSelfRegistration: a patient registers themselves asking to join practice A; A's
// administrator finds the request, verifies the NHS number and accepts; only then do A's
// clinicians see the record.
func TestAcceptSelfRegistration(t *testing.T) {
	h := newHarness(t)
	w := h.w
	body := registerBody("joiner@example.org", "a long enough passphrase")
	body["practiceId"] = string(w.practiceA.ID)
	body["nhsNumber"] = nextNHSNumber()
	var prof struct{ PatientID string }
	h.do("POST", "/api/v1/auth/register", "", body).want(t, 201).decode(t, &prof)
	path := "/api/v1/patients/" + prof.PatientID

	h.do("GET", path, w.clinicianA.token, nil).want(t, 403)
	h.do("GET", path, w.adminB.token, nil).want(t, 403)
	h.do("GET", path, w.adminA.token, nil).want(t, 200)
	h.do("GET", path+"/conditions", w.adminA.token, nil).want(t, 403) // still no clinical data

	requests := func(p *person, want int) []models.Patient {
		var l struct{ Items []models.Patient }
		r := h.do("GET", "/api/v1/practices/"+string(w.practiceA.ID)+"/registration-requests", p.token, nil).want(t, want)
		if want == 200 {
			r.decode(t, &l)
		}
		return l.Items
	}
	requests(w.adminB, 403)
	requests(w.clinicianA, 403)
	if got := requests(w.adminA, 200); len(got) != 1 || string(got[0].ID) != prof.PatientID {
		t.Fatalf("registration requests = %+v, want the joiner", got)
	}
	if n := h.auditCount(models.PatientID(prof.PatientID), "patient.list", models.OutcomeSuccess); n != 1 {
		t.Errorf("the joiner's appearance in the request list audited %d times, want 1", n)
	}

	reg := path + "/registration"
	h.do("PUT", reg, w.adminB.token, map[string]any{"practiceId": string(w.practiceB.ID)}).want(t, 403)
	// The number of a patient already registered cannot be given to the joiner.
	r := h.do("PUT", reg, w.adminA.token, map[string]any{"practiceId": string(w.practiceA.ID), "nhsNumber": w.patientA2.NHSNumber}).want(t, 409)
	if p := r.problem(t); !hasFieldError(p, "nhsNumber") {
		t.Errorf("409 should name nhsNumber: %+v", p)
	}
	h.do("PUT", reg, w.adminA.token, map[string]any{"practiceId": string(w.practiceA.ID), "nhsNumber": "123"}).want(t, 400)
	h.do("GET", path, w.clinicianA.token, nil).want(t, 403) // the refused attempts changed nothing

	verified := nextNHSNumber()
	var p models.Patient
	h.do("PUT", reg, w.adminA.token, map[string]any{"practiceId": string(w.practiceA.ID), "nhsNumber": verified}).want(t, 200).decode(t, &p)
	if p.PracticeID != w.practiceA.ID || p.NHSNumber != verified || p.ClaimedNHSNumber != "" || p.RequestedPracticeID != "" {
		t.Errorf("accepted record = %+v", p)
	}
	h.do("GET", path, w.clinicianA.token, nil).want(t, 200)
	if got := requests(w.adminA, 200); len(got) != 0 {
		t.Errorf("request still listed after acceptance: %+v", got)
	}
	// The patient's own /me shows the practice now that it has accepted them.
	var tok struct{ AccessToken string }
	h.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "joiner@example.org", "password": "a long enough passphrase"}).want(t, 200).decode(t, &tok)
	var me struct{ PracticeID string }
	h.do("GET", "/api/v1/me", tok.AccessToken, nil).want(t, 200).decode(t, &me)
	if me.PracticeID != string(w.practiceA.ID) {
		t.Errorf("/me practiceId = %q, want practice A", me.PracticeID)
	}
}
