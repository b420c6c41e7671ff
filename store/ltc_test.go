package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

func fp(v float64) *float64 { return &v }

func reading(patient models.PatientID, id string, at time.Time, v float64) *models.Observation {
	o := &models.Observation{ID: models.ObservationID(id), PatientID: patient, Code: models.CodeHeartRate, EffectiveAt: at,
		Value: fp(v), Unit: "/min", Status: models.ObservationFinal, RecordedBy: "u1", RecordedByRole: models.RolePatient,
		RecordedAt: t0, UpdatedAt: t0, Interpretation: models.Interpretation{Level: models.LevelNormal, RuleID: "news2.pulse", Advice: "ok"}}
	o.Fingerprint = o.ComputeFingerprint()
	return o
}

func TestObservationStore_InsertBatchAndDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewObservationStore(storetest.MustOpen(t))
	batch := []*models.Observation{reading("p1", "o1", t0, 70), reading("p1", "o2", t0.Add(time.Minute), 72)}
	per, err := s.InsertObservations(ctx, batch)
	MustNoErr(t, err)
	for i, e := range per {
		MustNoErr(t, e)
		_ = i
	}
	// A retry of o2 with a new o3: o2 conflicts, o3 is stored.
	per, err = s.InsertObservations(ctx, []*models.Observation{reading("p1", "o3", t0.Add(2*time.Minute), 80), reading("p1", "o2", t0, 1), reading("p1", "o4", t0.Add(3*time.Minute), 81)})
	MustNoErr(t, err)
	MustNoErr(t, per[0])
	MustCode(t, per[1], models.ECONFLICT)
	MustNoErr(t, per[2])

	got, err := s.ObservationsByID(ctx, []models.ObservationID{"o2", "o9"})
	MustNoErr(t, err)
	if len(got) != 1 || *got["o2"].Value != 72 || got["o2"].Fingerprint != batch[1].Fingerprint {
		t.Fatalf("ObservationsByID = %+v", got)
	}
	_, err = s.ObservationByID(ctx, "p2", "o1")
	MustCode(t, err, models.ENOTFOUND)

	// Paging newest first, two at a time, sees each reading once.
	var seen []models.ObservationID
	cursor := ""
	for {
		items, next, err := s.ListObservations(ctx, models.ObservationFilter{PatientID: "p1"}, models.Page{Limit: 3, Cursor: cursor})
		MustNoErr(t, err)
		for _, o := range items {
			seen = append(seen, o.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(seen) != "[o4 o3 o2 o1]" {
		t.Errorf("paged = %v", seen)
	}

	latest, err := s.LatestObservation(ctx, "p1", models.CodeHeartRate, time.Time{})
	MustNoErr(t, err)
	if latest.ID != "o4" {
		t.Errorf("latest = %s", latest.ID)
	}
	c := models.Correction{Reason: "wrong patient", By: "u2", At: t0.Add(time.Hour)}
	marked, err := s.MarkEnteredInError(ctx, "p1", "o4", c)
	MustNoErr(t, err)
	if !marked.EnteredInError() || marked.Correction.Reason != "wrong patient" {
		t.Errorf("marked = %+v", marked)
	}
	_, err = s.MarkEnteredInError(ctx, "p1", "o4", c)
	MustCode(t, err, models.ECONFLICT)
	_, err = s.MarkEnteredInError(ctx, "p2", "o3", c)
	MustCode(t, err, models.ENOTFOUND)
	latest, err = s.LatestObservation(ctx, "p1", models.CodeHeartRate, time.Time{})
	MustNoErr(t, err)
	if latest.ID != "o3" {
		t.Errorf("latest after correction = %s, want o3", latest.ID)
	}
	items, _, err := s.ListObservations(ctx, models.ObservationFilter{PatientID: "p1", From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute), Ascending: true}, models.Page{})
	MustNoErr(t, err)
	if len(items) != 2 || items[0].ID != "o2" || items[1].ID != "o3" {
		t.Errorf("range = %v", items)
	}
	all, _, err := s.ListObservations(ctx, models.ObservationFilter{PatientID: "p1", IncludeEnteredInError: true}, models.Page{})
	MustNoErr(t, err)
	if len(all) != 4 {
		t.Errorf("with corrections: %d readings, want 4", len(all))
	}
}

func TestPlanStore_Versions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewPlanStore(storetest.MustOpen(t))
	p := &models.Plan{ID: "plan1", PatientID: "p1", Condition: models.ConditionAsthma, Version: 1, Status: models.PlanActive,
		Thresholds: models.Thresholds{PeakFlowPersonalBest: fp(450)}, Actions: []string{"preventer twice a day"},
		Monitoring: []models.Schedule{{Code: models.CodePeakFlow, Times: 2, Per: "day"}}, ReviewDate: "2027-01-01", AuthorID: "gp", CreatedAt: t0}
	MustNoErr(t, s.CreatePlan(ctx, p))
	dup := *p
	dup.ID = "plan2"
	MustCode(t, s.CreatePlan(ctx, &dup), models.ECONFLICT)

	// Ten writers of version 2 at once: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v := *p
			v.Version = 2
			v.IfWorse = fmt.Sprintf("writer %d", i)
			err := s.AddPlanVersion(ctx, &v)
			mu.Lock()
			defer mu.Unlock()
			switch models.ErrorCode(err) {
			case "":
				wins++
			case models.ECONFLICT:
				conflicts++
			default:
				t.Errorf("writer %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 || conflicts != 9 {
		t.Fatalf("wins %d, conflicts %d; want 1 and 9", wins, conflicts)
	}
	cur, err := s.PlanByID(ctx, "p1", "plan1")
	MustNoErr(t, err)
	if cur.Version != 2 || *cur.Thresholds.PeakFlowPersonalBest != 450 {
		t.Errorf("current = %+v", cur)
	}
	vs, err := s.PlanVersions(ctx, "p1", "plan1")
	MustNoErr(t, err)
	if len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 {
		t.Errorf("versions = %v", vs)
	}
	skip := *p
	skip.Version = 4
	MustCode(t, s.AddPlanVersion(ctx, &skip), models.ENOTFOUND)
	_, err = s.PlanByID(ctx, "p2", "plan1")
	MustCode(t, err, models.ENOTFOUND)

	other := *p
	other.ID, other.Condition = "plan3", models.ConditionHypertension
	MustNoErr(t, s.CreatePlan(ctx, &other))
	list, err := s.ListPlans(ctx, "p1")
	MustNoErr(t, err)
	if len(list) != 2 || list[0].ID != "plan1" || list[0].Version != 2 || list[1].ID != "plan3" {
		t.Errorf("ListPlans = %+v", list)
	}
}

func TestAlertStore_OneOpenAlertPerRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewAlertStore(storetest.MustOpen(t))
	var wg sync.WaitGroup
	opened := make(chan models.AlertID, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			lvl := models.LevelRed
			if i == 7 {
				lvl = models.LevelEmergency
			}
			a, op, err := s.RaiseAlert(ctx, &models.Alert{PatientID: "p1", PracticeID: "pr1", RuleID: "news2", Code: models.CodeVitalSigns,
				LatestLevel: lvl, LatestObservationID: models.ObservationID(fmt.Sprintf("o%d", i)), UpdatedAt: t0})
			if err != nil {
				t.Error(err)
				return
			}
			if op {
				opened <- a.ID
			}
		}(i)
	}
	wg.Wait()
	close(opened)
	if len(opened) != 1 {
		t.Fatalf("%d alerts opened, want 1", len(opened))
	}
	items, _, err := s.ListAlerts(ctx, models.AlertFilter{PracticeID: "pr1"}, models.Page{})
	MustNoErr(t, err)
	if len(items) != 1 || items[0].Count != 20 || items[0].Level != models.LevelEmergency || len(items[0].ObservationIDs) != 20 {
		t.Fatalf("alerts = %+v", items)
	}
	a := items[0]

	// Taking is atomic: one of five wins.
	var wins int
	var mu sync.Mutex
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.TakeAlert(ctx, a.ID, models.UserID(fmt.Sprint("gp", i)), t0)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else if models.ErrorCode(err) != models.ECONFLICT {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d takers won", wins)
	}
	MustNoErr(t, s.SetAlertTriage(ctx, a.ID, "tr1", t0))
	res, err := s.ResolveAlert(ctx, a.ID, "gp0", "called patient", t0)
	MustNoErr(t, err)
	if res.Status != models.AlertResolved || res.TriageRequestID != "tr1" {
		t.Errorf("resolved = %+v", res)
	}
	_, err = s.ResolveAlert(ctx, a.ID, "gp0", "again", t0)
	MustCode(t, err, models.ECONFLICT)

	// After resolution the next red reading opens a new alert.
	b, op, err := s.RaiseAlert(ctx, &models.Alert{PatientID: "p1", PracticeID: "pr1", RuleID: "news2", LatestLevel: models.LevelRed, LatestObservationID: "o30", UpdatedAt: t0})
	MustNoErr(t, err)
	if !op || b.ID == a.ID {
		t.Fatalf("after resolve: opened=%v id=%s", op, b.ID)
	}
	_, _, err = s.RaiseAlert(ctx, &models.Alert{PatientID: "p1", PracticeID: "pr1", RuleID: "news2", LatestLevel: models.LevelRed, LatestObservationID: "o31", UpdatedAt: t0})
	MustNoErr(t, err)
	changed, err := s.DetachObservation(ctx, "p1", "o31", "gp0", t0)
	MustNoErr(t, err)
	if len(changed) != 1 || changed[0].Count != 1 || changed[0].LatestObservationID != "o30" {
		t.Fatalf("detach = %+v", changed)
	}
	changed, err = s.DetachObservation(ctx, "p1", "o30", "gp0", t0)
	MustNoErr(t, err)
	if len(changed) != 1 || changed[0].Status != models.AlertResolved {
		t.Fatalf("detach last = %+v", changed)
	}
}

func TestConditionStore_Update(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewConditionStore(storetest.MustOpen(t))
	c := &models.Condition{ID: "c1", PatientID: "p1", Code: models.ConditionAsthma, SNOMED: "195967001", Display: "Asthma", Status: models.ConditionActive, RecordedAt: t0}
	MustNoErr(t, s.AddCondition(ctx, c))
	c2 := *c
	c2.ID = "c2"
	MustCode(t, s.AddCondition(ctx, &c2), models.ECONFLICT)
	got, err := s.UpdateCondition(ctx, "p1", "c1", models.ConditionUpdate{Status: models.ConditionResolved, By: "gp", At: t0})
	MustNoErr(t, err)
	if got.Status != models.ConditionResolved || got.UpdatedBy != "gp" || got.UpdatedAt == nil {
		t.Errorf("updated = %+v", got)
	}
	MustNoErr(t, s.AddCondition(ctx, &c2))
	_, err = s.UpdateCondition(ctx, "p1", "c1", models.ConditionUpdate{Status: models.ConditionActive, By: "gp", At: t0})
	MustCode(t, err, models.ECONFLICT)
	_, err = s.UpdateCondition(ctx, "p2", "c2", models.ConditionUpdate{Status: models.ConditionResolved, By: "gp", At: t0})
	MustCode(t, err, models.ENOTFOUND)
}
