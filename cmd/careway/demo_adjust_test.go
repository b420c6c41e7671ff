package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"careway/auth"
	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// A few demo patients get recorded adjustments; a second start writes nothing, and a change a
// demo user made since is kept.
func TestDemoAdjustmentsSeed(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	patients := store.NewPatientStore(db)
	now := time.Now().UTC()
	if n, err := seedDemoAdjustments(ctx, patients, now); err != nil || n != 0 {
		t.Fatalf("on a database without the demo: %d, %v", n, err)
	}
	mustSeedDemo(t, db)
	if n, err := seedDemoAdjustments(ctx, patients, now); err != nil || n != len(demoAdjustments) {
		t.Fatalf("first start: %d, %v; want %d", n, err, len(demoAdjustments))
	}
	p1, err := patients.PatientByID(ctx, models.PatientID(demoID(kindPatient, 1)))
	if err != nil || p1.Adjustments == nil || !p1.Adjustments.StepFree || p1.Adjustments.Version != 1 {
		t.Fatalf("patient1: %+v, %v", p1, err)
	}
	res, err := patients.PatientByID(ctx, models.PatientID(demoID(kindResident, 1)))
	if err != nil || res.Adjustments == nil || !res.Adjustments.CarerAttending || res.Proxy == nil {
		t.Fatalf("resident 1: %+v, %v", res, err)
	}
	changed := &models.RecordedAdjustments{Adjustments: models.Adjustments{BSL: true}, Version: 2, UpdatedBy: "someone", UpdatedAt: now}
	if _, err := patients.SetAdjustments(ctx, p1.ID, p1.PracticeID, p1.CareHomeID, changed); err != nil {
		t.Fatal(err)
	}
	if n, err := seedDemoAdjustments(ctx, patients, now.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("second start: %d, %v; want 0", n, err)
	}
	if p1, _ = patients.PatientByID(ctx, p1.ID); p1.Adjustments.Version != 2 || !p1.Adjustments.BSL || p1.Adjustments.StepFree {
		t.Errorf("a demo user's change was overwritten: %+v", p1.Adjustments)
	}
}

// mustSeedDemo seeds the demo data set (with a random password) into db.
func mustSeedDemo(t *testing.T, db *store.DB) seedParams {
	t.Helper()
	p := seedParams{Users: store.NewUserStore(db), Patients: store.NewPatientStore(db), Orgs: store.NewOrgStore(db), Conditions: store.NewConditionStore(db),
		Hasher: auth.NewHasher(2), Out: &bytes.Buffer{}, Log: slog.New(slog.DiscardHandler)}
	if err := seedDemo(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}
