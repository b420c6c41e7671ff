package handlers_test

import (
	"context"
	"sync"
	"testing"

	"careway/models"
)

type alertOut struct {
	ID              string
	PatientID       string
	RuleID          string
	Level           models.Level
	Count           int
	Status          string
	ObservationIDs  []string
	TriageRequestID string
	TakenBy         string
}

// TestAlertEscalation: twenty red readings at once give one alert (count 20) and one urgent
// triage request linked to a reading; clinicians of the practice list, take (one of several
// wins) and resolve it; others cannot.
func TestAlertEscalation(t *testing.T) {
	h := newHarness(t)
	w := h.w
	p := w.resident1
	red := func() map[string]any {
		return reading("vital_signs", map[string]any{"respiratoryRate": 26, "oxygenSaturation": 97, "onOxygen": false,
			"systolic": 125, "pulse": 80, "consciousness": "A", "temperature": 37.1})
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := h.do("POST", obsPath(p), w.staff1.token, red()); r.Status != 201 {
				t.Errorf("status %d: %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	alertsPath := "/api/v1/practices/" + string(w.practiceA.ID) + "/alerts"
	var list struct{ Items []alertOut }
	h.do("GET", alertsPath, w.clinicianA.token, nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("%d alerts, want 1: %+v", len(list.Items), list.Items)
	}
	a := list.Items[0]
	if a.Count != 20 || len(a.ObservationIDs) != 20 || a.Level != models.LevelRed || a.RuleID != "news2.single-parameter" || a.Status != "open" {
		t.Errorf("alert = %+v", a)
	}
	if a.TriageRequestID == "" {
		t.Fatal("no triage request opened with the alert")
	}
	tr, err := h.triage.TriageRequestByID(context.Background(), models.TriageRequestID(a.TriageRequestID))
	if err != nil {
		t.Fatal(err)
	}
	if tr.AlertID != models.AlertID(a.ID) || tr.ObservationID == "" || tr.Source != models.SourceAlert || tr.Priority != models.PriorityUrgent || tr.PracticeID != w.practiceA.ID {
		t.Errorf("triage request = %+v", tr)
	}
	queue, err := h.triage.TriageQueue(context.Background(), w.practiceA.ID, 100)
	if err != nil || len(queue) != 1 {
		t.Errorf("triage queue has %d requests (%v), want 1", len(queue), err)
	}

	// An emergency reading joins the same rule's alert only if the rule is the same; NEWS2
	// total ≥7 is another rule, so another alert.
	em := reading("vital_signs", map[string]any{"respiratoryRate": 30, "oxygenSaturation": 90, "onOxygen": true,
		"systolic": 95, "pulse": 120, "consciousness": "V", "temperature": 39.5})
	var b batchBody
	h.do("POST", obsPath(p), w.staff1.token, map[string]any{"observations": []any{em}}).want(t, 200).decode(t, &b)
	if b.Items[0].Observation.Interpretation.Level != models.LevelEmergency || b.Items[0].AlertID == "" || b.Items[0].AlertID == a.ID {
		t.Errorf("emergency reading: %+v", b.Items[0])
	}
	// A retry of the emergency reading neither counts twice nor opens another alert.
	h.do("POST", obsPath(p), w.staff1.token, map[string]any{"observations": []any{em}}).want(t, 200).decode(t, &b)
	if b.Items[0].Status != 200 || b.Items[0].AlertID == "" {
		t.Errorf("retried emergency: %+v", b.Items[0])
	}
	h.do("GET", alertsPath, w.clinicianA.token, nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 2 || list.Items[0].Count != 1 {
		t.Fatalf("after the emergency and its retry: %+v", list.Items)
	}

	// Who may see and act on alerts.
	h.do("GET", alertsPath, w.clinicianB.token, nil).want(t, 403)
	h.do("GET", alertsPath, w.staff1.token, nil).want(t, 403)
	h.do("GET", alertsPath, w.adminA.token, nil).want(t, 403)
	h.do("GET", alertsPath+"?status=closed", w.clinicianA.token, nil).want(t, 400)
	h.do("POST", "/api/v1/alerts/"+a.ID+"/take", w.staff1.token, nil).want(t, 403)
	h.do("POST", "/api/v1/alerts/"+a.ID+"/take", w.clinicianB.token, nil).want(t, 403)
	h.do("POST", "/api/v1/alerts/"+models.NewID()+"/take", w.clinicianA.token, nil).want(t, 404)
	var mine struct{ Items []alertOut }
	h.do("GET", "/api/v1/patients/"+string(p.ID)+"/alerts", w.staff1.token, nil).want(t, 200).decode(t, &mine)
	if len(mine.Items) != 2 {
		t.Errorf("the resident's alerts: %d", len(mine.Items))
	}

	statuses := h.concurrentlyAs(w.clinicianA.token, "POST", "/api/v1/alerts/"+a.ID+"/take", nil, 5)
	if statuses[200] != 1 || statuses[409] != 4 {
		t.Errorf("five takers: %v, want one 200 and four 409", statuses)
	}
	h.do("POST", "/api/v1/alerts/"+a.ID+"/resolve", w.clinicianA.token, map[string]any{"resolution": ""}).want(t, 400)
	var res alertOut
	h.do("POST", "/api/v1/alerts/"+a.ID+"/resolve", w.clinicianA.token, map[string]any{"resolution": "Visited; chest infection, antibiotics started."}).want(t, 200).decode(t, &res)
	if res.Status != "resolved" {
		t.Errorf("resolved = %+v", res)
	}
	h.do("POST", "/api/v1/alerts/"+a.ID+"/resolve", w.clinicianA.token, map[string]any{"resolution": "again"}).want(t, 409)
	h.do("GET", alertsPath, w.clinicianA.token, nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 1 {
		t.Errorf("unresolved after resolving one: %d", len(list.Items))
	}
	if n := h.auditCount(p.ID, "alert.take", models.OutcomeSuccess); n != 1 {
		t.Errorf("%d alert.take audit events", n)
	}

	// A red reading after resolution opens a new alert.
	h.do("POST", obsPath(p), w.staff1.token, map[string]any{"observations": []any{red()}}).want(t, 200).decode(t, &b)
	if b.Items[0].AlertID == "" || b.Items[0].AlertID == a.ID {
		t.Errorf("new red after resolution: %+v", b.Items[0])
	}
}

// TestAlertCorrection: a reading marked entered in error leaves its alert; an alert left with
// no reading is resolved.
func TestAlertCorrection(t *testing.T) {
	h := newHarness(t)
	w := h.w
	p := w.patientA
	o := h.postOne(t, w.patient.token, p, reading("blood_glucose", map[string]any{"value": 2.9}), 201)
	if o.Interpretation.Level != models.LevelRed {
		t.Fatalf("glucose 2.9: %s", o.Interpretation.Level)
	}
	h.do("POST", obsPath(p)+"/"+o.ID+"/entered-in-error", w.patient.token, map[string]any{"reason": "meter not calibrated"}).want(t, 200)
	var list struct{ Items []alertOut }
	h.do("GET", "/api/v1/patients/"+string(p.ID)+"/alerts", w.patient.token, nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Status != "resolved" || list.Items[0].Count != 0 {
		t.Errorf("alert after correcting its only reading: %+v", list.Items)
	}
}
