package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"careway/models"
)

func fptr(v float64) *float64 { return &v }

// storeReadings puts readings straight into the store (the upload path has its own tests); at
// is their effective time, stamped as recorded then.
func storeReadings(t *testing.T, h *harness, obs ...*models.Observation) {
	t.Helper()
	for _, o := range obs {
		if o.ID == "" {
			o.ID = models.ObservationID(models.NewID())
		}
		if o.Status == "" {
			o.Status = models.ObservationFinal
		}
		if o.Interpretation.Level == "" {
			o.Interpretation = models.Interpretation{Level: models.LevelNormal, RuleID: "test", Advice: "ok"}
		}
		o.RecordedBy, o.RecordedByRole = "test", models.RolePatient
		o.RecordedAt, o.UpdatedAt = o.EffectiveAt, o.EffectiveAt
		o.Fingerprint = o.ComputeFingerprint()
	}
	per, err := h.obs.InsertObservations(context.Background(), obs)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range per {
		if e != nil {
			t.Fatal(e)
		}
	}
}

func bpReading(p models.PatientID, at time.Time, sys, dia float64) *models.Observation {
	return &models.Observation{PatientID: p, Code: models.CodeBloodPressure, EffectiveAt: at, Systolic: fptr(sys), Diastolic: fptr(dia)}
}

type summaryAnswer struct {
	Code    string                 `json:"code"`
	Bucket  string                 `json:"bucket"`
	From    time.Time              `json:"from"`
	To      time.Time              `json:"to"`
	Buckets []models.SummaryBucket `json:"buckets"`
}

func summaryPath(p models.PatientID, q url.Values) string {
	return "/api/v1/patients/" + string(p) + "/observations/summary?" + q.Encode()
}

func TestObservationSummary(t *testing.T) {
	h := newHarness(t)
	pa := h.w.patientA.ID
	// Monday 16 and Tuesday 17 November 2026 (GMT: local days are UTC days).
	mon := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	wrong := bpReading(pa, mon.Add(9*time.Hour), 250, 140)
	storeReadings(t, h,
		bpReading(pa, mon.Add(8*time.Hour), 150, 95),
		bpReading(pa, mon.Add(20*time.Hour), 130, 85),
		wrong,
		bpReading(pa, mon.Add(24*time.Hour+7*time.Hour), 140, 90),
		bpReading(h.w.patientA2.ID, mon.Add(8*time.Hour), 200, 100), // another patient's
		&models.Observation{PatientID: pa, Code: models.CodeHeartRate, EffectiveAt: mon.Add(8 * time.Hour), Value: fptr(70)},
	)
	if _, err := h.obs.MarkEnteredInError(context.Background(), pa, wrong.ID, models.Correction{Reason: "cuff slipped", By: "test", At: mon.Add(10 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"code": {"blood_pressure"}, "from": {mon.Format(time.RFC3339)}, "to": {mon.AddDate(0, 0, 3).Format(time.RFC3339)}}
	var got summaryAnswer
	h.do("GET", summaryPath(pa, q), h.w.patient.token, nil).want(t, 200).decode(t, &got)
	if got.Code != "blood_pressure" || got.Bucket != "day" || len(got.Buckets) != 3 {
		t.Fatalf("summary = %+v", got)
	}
	d0, d1, d2 := got.Buckets[0], got.Buckets[1], got.Buckets[2]
	if d0.Date != "2026-11-16" || d0.Count != 2 || d1.Count != 1 || d2.Count != 0 || len(d2.Series) != 0 {
		t.Fatalf("buckets = %+v", got.Buckets)
	}
	if s := d0.Series["systolic"]; s.Min != 130 || s.Max != 150 || s.Mean != 140 || s.Latest != 130 {
		t.Errorf("Monday systolic = %+v (the withdrawn 250 must not count)", s)
	}
	if s := d0.Series["diastolic"]; s.Min != 85 || s.Max != 95 || s.Mean != 90 || s.Latest != 85 {
		t.Errorf("Monday diastolic = %+v", s)
	}
	// Weekly: one bucket starting Monday 16th.
	q.Set("bucket", "week")
	h.do("GET", summaryPath(pa, q), h.w.clinicianA.token, nil).want(t, 200).decode(t, &got)
	if len(got.Buckets) != 1 || got.Buckets[0].Date != "2026-11-16" || got.Buckets[0].Count != 3 || got.Buckets[0].Series["systolic"].Mean != 140 {
		t.Errorf("week = %+v", got.Buckets)
	}
	// Defaults: the last 30 days of days up to now.
	h.do("GET", summaryPath(pa, url.Values{"code": {"heart_rate"}}), h.w.patient.token, nil).want(t, 200).decode(t, &got)
	if len(got.Buckets) < 30 || len(got.Buckets) > 31 || got.To.Sub(got.From) != 30*24*time.Hour {
		t.Errorf("default range = %v–%v, %d buckets", got.From, got.To, len(got.Buckets))
	}
	if n := h.auditCount(pa, "observation.summary", models.OutcomeSuccess); n != 3 {
		t.Errorf("%d summary reads audited, want 3", n)
	}
}

func TestObservationSummaryRefusesBadInput(t *testing.T) {
	h := newHarness(t)
	pa := h.w.patientA.ID
	now := time.Now().UTC()
	tests := []struct {
		name  string
		q     url.Values
		field string
	}{
		{"no code", url.Values{}, "code"},
		{"unknown code", url.Values{"code": {"cholesterol"}}, "code"},
		{"bad bucket", url.Values{"code": {"heart_rate"}, "bucket": {"month"}}, "bucket"},
		{"bad from", url.Values{"code": {"heart_rate"}, "from": {"yesterday"}}, "from"},
		{"bad to", url.Values{"code": {"heart_rate"}, "to": {"2026-13-01T00:00:00Z"}}, "to"},
		{"from after to", url.Values{"code": {"heart_rate"}, "from": {now.Format(time.RFC3339)}, "to": {now.Add(-time.Hour).Format(time.RFC3339)}}, "to"},
		{"from after default to", url.Values{"code": {"heart_rate"}, "from": {now.Add(48 * time.Hour).Format(time.RFC3339)}}, "from"},
		{"too many days", url.Values{"code": {"heart_rate"}, "from": {now.AddDate(-2, 0, 0).Format(time.RFC3339)}, "to": {now.Format(time.RFC3339)}}, "to"},
		{"too many weeks", url.Values{"code": {"heart_rate"}, "bucket": {"week"}, "from": {now.AddDate(-6, 0, 0).Format(time.RFC3339)}}, "to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := h.do("GET", summaryPath(pa, tt.q), h.w.patient.token, nil).want(t, 400).problem(t)
			if !hasFieldError(p, tt.field) {
				t.Errorf("errors %v do not name %q", p.Errors, tt.field)
			}
		})
	}
}

// trendRefusals checks the permission cases shared by the patient-level trend and sync routes.
func trendRefusals(t *testing.T, h *harness, path func(models.PatientID) string) {
	t.Helper()
	w := h.w
	tests := []struct {
		name    string
		token   string
		patient models.PatientID
		status  int
	}{
		{"another patient's record", w.patient.token, w.patientA2.ID, 403},
		{"clinician of another practice", w.clinicianB.token, w.patientA.ID, 403},
		{"staff without the record-observations scope", w.staff1.token, w.resident2.ID, 403},
		{"staff without consent", w.staff1.token, w.resident3.ID, 403},
		{"staff of another home", w.staff2.token, w.resident1.ID, 403},
		{"administrator (no clinical data)", w.adminA.token, w.patientA.ID, 403},
		{"no token", "", w.patientA.ID, 401},
		{"unknown patient", w.clinicianA.token, models.PatientID(models.NewID()), 404},
		{"not an id", w.clinicianA.token, "summary", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.do("GET", path(tt.patient), tt.token, nil).want(t, tt.status)
		})
	}
	if n := h.auditCount(w.patientA2.ID, "clinical.read", models.OutcomeDenied); n < 1 {
		t.Errorf("refusal for another patient's record not audited")
	}
}

func TestObservationSummaryPermissions(t *testing.T) {
	h := newHarness(t)
	trendRefusals(t, h, func(p models.PatientID) string { return summaryPath(p, url.Values{"code": {"heart_rate"}}) })
	// Allowed: the patient, a clinician of the practice, staff with the scope.
	w := h.w
	h.do("GET", summaryPath(w.resident1.ID, url.Values{"code": {"heart_rate"}}), w.staff1.token, nil).want(t, 200)
	h.do("GET", summaryPath(w.patientA.ID, url.Values{"code": {"heart_rate"}}), w.clinicianA.token, nil).want(t, 200)
}

type adherenceAnswer struct {
	AsOf  time.Time              `json:"asOf"`
	Items []models.CodeAdherence `json:"items"`
}

func adherencePath(p models.PatientID) string { return "/api/v1/patients/" + string(p) + "/adherence" }

// storePlan stores version 1 of a plan written at created.
func storePlan(t *testing.T, h *harness, p models.PatientID, cond models.ConditionCode, created time.Time, review string, mon ...models.Schedule) *models.Plan {
	t.Helper()
	pl := &models.Plan{ID: models.PlanID(models.NewID()), PatientID: p, Condition: cond, Version: 1, Status: models.PlanActive,
		Monitoring: mon, Actions: []string{}, ReviewDate: review, AuthorID: h.w.clinicianA.user.ID, CreatedAt: created}
	if err := h.plans.CreatePlan(context.Background(), pl); err != nil {
		t.Fatal(err)
	}
	return pl
}

func TestAdherence(t *testing.T) {
	h := newHarness(t)
	pa := h.w.patientA.ID
	now := time.Now().UTC()
	pl := storePlan(t, h, pa, models.ConditionHypertension, now.AddDate(0, -2, 0), "2027-01-01",
		models.Schedule{Code: models.CodeBloodPressure, Times: 1, Per: "day"})
	// A new version (yesterday) does not restart the count: the plan began two months ago.
	v2 := *pl
	v2.Version, v2.CreatedAt = 2, now.Add(-24*time.Hour)
	if err := h.plans.AddPlanVersion(context.Background(), &v2); err != nil {
		t.Fatal(err)
	}
	storePlan(t, h, pa, models.ConditionAsthma, now.Add(-72*time.Hour), "2027-01-01",
		models.Schedule{Code: models.CodePeakFlow, Times: 2, Per: "day"})
	// Blood pressure on 5 of the last 7 days and 10 days before that; one withdrawn.
	var obs []*models.Observation
	for i := range 5 {
		obs = append(obs, bpReading(pa, now.Add(-time.Duration(i)*24*time.Hour-time.Hour), 130, 80))
	}
	for i := range 10 {
		obs = append(obs, bpReading(pa, now.Add(-time.Duration(8+i)*24*time.Hour), 130, 80))
	}
	wrong := bpReading(pa, now.Add(-2*time.Hour), 300, 190)
	obs = append(obs, wrong, bpReading(pa, now.AddDate(0, 0, -40), 120, 70)) // outside both windows
	storeReadings(t, h, obs...)
	if _, err := h.obs.MarkEnteredInError(context.Background(), pa, wrong.ID, models.Correction{Reason: "x", By: "test", At: now}); err != nil {
		t.Fatal(err)
	}
	var got adherenceAnswer
	h.do("GET", adherencePath(pa), h.w.patient.token, nil).want(t, 200).decode(t, &got)
	if len(got.Items) != 2 || got.Items[0].Code != models.CodeBloodPressure || got.Items[1].Code != models.CodePeakFlow {
		t.Fatalf("items = %+v", got.Items)
	}
	bp := got.Items[0].Windows
	if bp[0].Days != 7 || bp[0].Expected != 7 || bp[0].Recorded != 5 || *bp[0].Percent != 71 {
		t.Errorf("bp 7 days = %+v", bp[0])
	}
	if bp[1].Days != 28 || bp[1].Expected != 28 || bp[1].Recorded != 15 || *bp[1].Percent != 54 {
		t.Errorf("bp 28 days = %+v", bp[1])
	}
	// The asthma plan is three days old: 6 expected in both windows, none recorded.
	pf := got.Items[1].Windows
	if pf[0].Expected != 6 || pf[1].Expected != 6 || pf[0].Recorded != 0 || *pf[0].Percent != 0 {
		t.Errorf("peak flow = %+v", pf)
	}
	// A patient with no plan has nothing to adhere to.
	h.do("GET", adherencePath(h.w.patientA2.ID), h.w.patient2.token, nil).want(t, 200).decode(t, &got)
	if len(got.Items) != 0 {
		t.Errorf("no plan: %+v", got.Items)
	}
	if n := h.auditCount(pa, "adherence.read", models.OutcomeSuccess); n != 1 {
		t.Errorf("%d adherence reads audited, want 1", n)
	}
}

func TestAdherencePermissions(t *testing.T) {
	h := newHarness(t)
	trendRefusals(t, h, adherencePath)
	w := h.w
	h.do("GET", adherencePath(w.resident1.ID), w.staff1.token, nil).want(t, 200)
	// Staff with record-observations but not view-plan: the plan's schedule is not theirs to see.
	consent := *w.resident1.Proxy
	consent.Scopes = []models.ProxyScope{models.ScopeRecordObservations}
	if _, err := h.patients.SetProxyConsent(context.Background(), w.resident1.ID, w.practiceA.ID, &consent, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.do("GET", adherencePath(w.resident1.ID), w.staff1.token, nil).want(t, 403)
	if n := h.auditCount(w.resident1.ID, "plan.read", models.OutcomeDenied); n != 1 {
		t.Errorf("%d plan.read refusals audited, want 1", n)
	}
	_ = fmt.Sprint
}
