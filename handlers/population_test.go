package handlers_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"careway/models"
)

type populationAnswer struct {
	PracticeID string `json:"practiceId"`
	Patients   int    `json:"patients"`
	Registers  []struct {
		Condition string `json:"condition"`
		Count     int    `json:"count"`
	} `json:"registers"`
	BloodPressure struct {
		Hypertensive    int     `json:"hypertensive"`
		AtTarget        int     `json:"atTarget"`
		Share           float64 `json:"share"`
		NotAtTarget     idList  `json:"notAtTarget"`
		NoRecentReading idList  `json:"noRecentReading"`
	} `json:"bloodPressure"`
	OpenRedAlerts struct {
		idList
		AlertIDs []string `json:"alertIds"`
	} `json:"openRedAlerts"`
	OverdueReviews struct {
		idList
		PlanIDs []string `json:"planIds"`
	} `json:"overdueReviews"`
	NoReadingIn30Days idList `json:"noReadingIn30Days"`
}

type idList struct {
	Count      int      `json:"count"`
	PatientIDs []string `json:"patientIds"`
}

func (l idList) sorted() []string {
	out := append([]string(nil), l.PatientIDs...)
	sort.Strings(out)
	return out
}

func sortedIDs(ps ...*models.Patient) []string {
	var out []string
	for _, p := range ps {
		out = append(out, string(p.ID))
	}
	sort.Strings(out)
	return out
}

func sameIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func populationPath(p models.PracticeID) string {
	return "/api/v1/practices/" + string(p) + "/population"
}

func addCondition(t *testing.T, h *harness, p models.PatientID, code models.ConditionCode) {
	t.Helper()
	info := models.Conditions[code]
	if err := h.conds.AddCondition(context.Background(), &models.Condition{ID: models.NewID(), PatientID: p, Code: code,
		SNOMED: info.SNOMED, Display: info.Display, Status: models.ConditionActive, RecordedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
}

func TestPopulation(t *testing.T) {
	h := newHarness(t)
	w := h.w
	ctx := context.Background()
	now := time.Now().UTC()
	// Hypertension: patientA at target (NICE home target 135/85 at 76), patientA2 above target,
	// resident1 with a plan target of 130/80 and a reading of 132/78 (above it), resident2 no
	// reading. Asthma: resident2 and resident4.
	for _, p := range []*models.Patient{w.patientA, w.patientA2, w.resident1, w.resident2} {
		addCondition(t, h, p.ID, models.ConditionHypertension)
	}
	addCondition(t, h, w.resident2.ID, models.ConditionAsthma)
	addCondition(t, h, w.resident4.ID, models.ConditionAsthma)
	addCondition(t, h, w.patientB.ID, models.ConditionHypertension) // another practice
	storeReadings(t, h,
		bpReading(w.patientA.ID, now.AddDate(0, -2, 0), 150, 95),
		bpReading(w.patientA.ID, now.Add(-time.Hour), 128, 80), // latest: at target
		bpReading(w.patientA2.ID, now.AddDate(0, 0, -40), 150, 90),
		bpReading(w.resident1.ID, now.AddDate(0, 0, -2), 132, 78),
		bpReading(w.patientB.ID, now.Add(-time.Hour), 200, 120),
	)
	pl := storePlan(t, h, w.resident1.ID, models.ConditionHypertension, now.AddDate(0, -1, 0), "2020-01-01")
	v2 := *pl
	v2.Version, v2.CreatedAt, v2.ReviewDate = 2, now, now.AddDate(0, 6, 0).Format(time.DateOnly)
	v2.Thresholds.BPTarget = &models.BPTarget{Systolic: 130, Diastolic: 80}
	if err := h.plans.AddPlanVersion(ctx, &v2); err != nil {
		t.Fatal(err)
	}
	overdue := storePlan(t, h, w.resident2.ID, models.ConditionAsthma, now.AddDate(-1, 0, 0), now.AddDate(0, 0, -1).Format(time.DateOnly))
	raise := func(p *models.Patient, rule string, level models.Level) *models.Alert {
		a, _, err := h.alerts.RaiseAlert(ctx, &models.Alert{ID: models.AlertID(models.NewID()), PatientID: p.ID, PracticeID: p.PracticeID, RuleID: rule,
			Code: models.CodeBloodPressure, Level: level, LatestLevel: level, FirstObservationID: "o", LatestObservationID: "o",
			ObservationIDs: []models.ObservationID{"o"}, UpdatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	red := raise(w.patientA2, "bp.crisis", models.LevelRed)
	resolved := raise(w.patientA, "bp.crisis", models.LevelRed)
	if _, err := h.alerts.ResolveAlert(ctx, resolved.ID, w.clinicianA.user.ID, "seen", now); err != nil {
		t.Fatal(err)
	}
	raise(w.patientB, "bp.crisis", models.LevelRed) // another practice

	var got populationAnswer
	h.do("GET", populationPath(w.practiceA.ID), w.clinicianA.token, nil).want(t, 200).decode(t, &got)
	if got.Patients != 6 {
		t.Errorf("patients = %d, want 6", got.Patients)
	}
	reg := map[string]int{}
	for _, r := range got.Registers {
		reg[r.Condition] = r.Count
	}
	if len(got.Registers) != len(models.Conditions) || reg["hypertension"] != 4 || reg["asthma"] != 2 || reg["copd"] != 0 {
		t.Errorf("registers = %v", reg)
	}
	bp := got.BloodPressure
	if bp.Hypertensive != 4 || bp.AtTarget != 1 || bp.Share != 0.25 {
		t.Errorf("bp control = %+v", bp)
	}
	if !sameIDs(bp.NotAtTarget.sorted(), sortedIDs(w.patientA2, w.resident1)) || bp.NotAtTarget.Count != 2 {
		t.Errorf("not at target = %v", bp.NotAtTarget)
	}
	if !sameIDs(bp.NoRecentReading.sorted(), sortedIDs(w.resident2)) {
		t.Errorf("no recent reading = %v", bp.NoRecentReading)
	}
	if got.OpenRedAlerts.Count != 1 || len(got.OpenRedAlerts.AlertIDs) != 1 || got.OpenRedAlerts.AlertIDs[0] != string(red.ID) ||
		!sameIDs(got.OpenRedAlerts.sorted(), sortedIDs(w.patientA2)) {
		t.Errorf("open red alerts = %+v", got.OpenRedAlerts)
	}
	if !sameIDs(got.OverdueReviews.sorted(), sortedIDs(w.resident2)) || len(got.OverdueReviews.PlanIDs) != 1 || got.OverdueReviews.PlanIDs[0] != string(overdue.ID) {
		t.Errorf("overdue reviews = %+v", got.OverdueReviews)
	}
	if !sameIDs(got.NoReadingIn30Days.sorted(), sortedIDs(w.patientA2, w.resident2, w.resident3, w.resident4)) {
		t.Errorf("no reading in 30 days = %v", got.NoReadingIn30Days)
	}
	// Each patient named is audited; one named nowhere is not.
	if n := h.auditCount(w.patientA2.ID, "population.read", models.OutcomeSuccess); n != 1 {
		t.Errorf("patientA2 population audit events = %d, want 1", n)
	}
	if n := h.auditCount(w.patientA.ID, "population.read", models.OutcomeSuccess); n != 0 {
		t.Errorf("patientA (in no list) population audit events = %d, want 0", n)
	}
}

func TestPopulationPermissions(t *testing.T) {
	h := newHarness(t)
	w := h.w
	tests := []struct {
		name     string
		token    string
		practice models.PracticeID
		status   int
	}{
		{"clinician of another practice", w.clinicianB.token, w.practiceA.ID, 403},
		{"patient of the practice", w.patient.token, w.practiceA.ID, 403},
		{"patient of another practice", w.patient.token, w.practiceB.ID, 403},
		{"care-home staff", w.staff1.token, w.practiceA.ID, 403},
		{"practice administrator", w.adminA.token, w.practiceA.ID, 403},
		{"partnership administrator", w.superAdmin.token, w.practiceA.ID, 403},
		{"unknown practice", w.clinicianA.token, models.PracticeID(models.NewID()), 403},
		{"not an id", w.clinicianA.token, "abc", 404},
		{"no token", "", w.practiceA.ID, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.do("GET", populationPath(tt.practice), tt.token, nil).want(t, tt.status)
		})
	}
	h.do("GET", populationPath(w.practiceB.ID), w.clinicianB.token, nil).want(t, 200)
	events, _, err := h.audit.ListAuditByActor(context.Background(), w.clinicianB.user.ID, models.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	denied, allowed := 0, 0
	for _, e := range events {
		if e.Action == "population.read" && e.Outcome == models.OutcomeDenied {
			denied++
		}
		if e.Action == "population.read" && e.Outcome == models.OutcomeSuccess && e.PatientID == "" {
			allowed++
		}
	}
	if denied != 1 || allowed != 1 {
		t.Errorf("clinicianB's population audit: %d denied, %d allowed; want 1 and 1", denied, allowed)
	}
}
