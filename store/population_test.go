package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

func TestPopulationStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.MustOpen(t)
	pop, obs, plans, conds := store.NewPopulationStore(db), store.NewObservationStore(db), store.NewPlanStore(db), store.NewConditionStore(db)

	var ids []models.PatientID
	for i := range 9 {
		ids = append(ids, models.PatientID(fmt.Sprintf("pp%d", i)))
	}
	// Conditions: pp0 hypertension (active) and asthma (resolved); pp1 hypertension.
	MustNoErr(t, conds.AddCondition(ctx, &models.Condition{ID: "c1", PatientID: "pp0", Code: models.ConditionHypertension, Status: models.ConditionActive, RecordedAt: t0}))
	MustNoErr(t, conds.AddCondition(ctx, &models.Condition{ID: "c2", PatientID: "pp0", Code: models.ConditionAsthma, Status: models.ConditionResolved, RecordedAt: t0}))
	MustNoErr(t, conds.AddCondition(ctx, &models.Condition{ID: "c3", PatientID: "pp1", Code: models.ConditionHypertension, Status: models.ConditionActive, RecordedAt: t0}))
	got, err := pop.ActiveConditions(ctx, ids)
	MustNoErr(t, err)
	if len(got) != 2 || len(got["pp0"]) != 1 || got["pp0"][0] != models.ConditionHypertension || len(got["pp1"]) != 1 {
		t.Fatalf("active conditions = %v", got)
	}

	// Plans: two versions of pp0's plan: the current one is version 2.
	p := &models.Plan{ID: "pl0", PatientID: "pp0", Condition: models.ConditionHypertension, Version: 1, Status: models.PlanActive, ReviewDate: "2025-01-01", CreatedAt: t0}
	MustNoErr(t, plans.CreatePlan(ctx, p))
	p2 := *p
	p2.Version, p2.ReviewDate = 2, "2026-01-01"
	MustNoErr(t, plans.AddPlanVersion(ctx, &p2))
	cur, err := pop.CurrentPlans(ctx, ids)
	MustNoErr(t, err)
	if len(cur["pp0"]) != 1 || cur["pp0"][0].Version != 2 || cur["pp0"][0].ReviewDate != "2026-01-01" || len(cur) != 1 {
		t.Fatalf("current plans = %+v", cur)
	}

	// Readings: pp0 has two heart rates and a withdrawn later one; pp1 one old one.
	_, err = obs.InsertObservations(ctx, []*models.Observation{
		reading("pp0", "r1", t0, 70), reading("pp0", "r2", t0.Add(time.Hour), 71), reading("pp0", "r3", t0.Add(2*time.Hour), 72),
		reading("pp1", "r4", t0.Add(-40*24*time.Hour), 60),
	})
	MustNoErr(t, err)
	_, err = obs.MarkEnteredInError(ctx, "pp0", "r3", models.Correction{Reason: "x", By: "u", At: t0})
	MustNoErr(t, err)
	latest, err := pop.LatestReadings(ctx, ids, models.CodeHeartRate, t0.Add(-30*24*time.Hour))
	MustNoErr(t, err)
	if len(latest) != 1 || latest["pp0"].ID != "r2" {
		t.Fatalf("latest heart rates = %+v", latest)
	}
	latest, err = pop.LatestReadings(ctx, ids, "", time.Time{})
	MustNoErr(t, err)
	if len(latest) != 2 || latest["pp0"].ID != "r2" || latest["pp1"].ID != "r4" {
		t.Fatalf("latest of any code = %+v", latest)
	}
	if latest, err = pop.LatestReadings(ctx, ids, models.CodeBloodPressure, time.Time{}); err != nil || len(latest) != 0 {
		t.Fatalf("no blood pressures = %v, %v", latest, err)
	}
	// A cancelled context fails rather than answering partly.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := pop.LatestReadings(cctx, ids, "", time.Time{}); err == nil {
		t.Fatal("a cancelled request answered")
	}
}
