package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"careway/auth"
	"careway/docs"
	"careway/handlers"
	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// TestDemoLTCSeed: every demo person gets a plan per condition and weeks of readings through the
// API; the red ones raise alerts with urgent triage requests; a second start stores nothing.
func TestDemoLTCSeed(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	users, patients, orgs, conds := store.NewUserStore(db), store.NewPatientStore(db), store.NewOrgStore(db), store.NewConditionStore(db)
	h := auth.NewHasher(2)
	log := slog.New(slog.DiscardHandler)
	if err := seedDemo(ctx, seedParams{Users: users, Patients: patients, Orgs: orgs, Conditions: conds, Hasher: h,
		Password: "demo-password-123", Out: &bytes.Buffer{}, Log: log}); err != nil {
		t.Fatal(err)
	}
	keys, err := auth.LoadOrCreateKeyRing(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens(auth.TokenParams{Keys: keys, Issuer: "careway", Audience: "careway-api"})
	obs, plans, alerts, triage := store.NewObservationStore(db), store.NewPlanStore(db), store.NewAlertStore(db), store.NewTriageStore(db)
	app := handlers.NewApp(handlers.Params{DB: db, Users: users, Patients: patients, Orgs: orgs, Audit: store.NewAuditStore(db),
		Conditions: conds, Observations: obs, Plans: plans, Alerts: alerts, AlertTriage: triage, Tokens: tokens, Keys: keys,
		Hasher: h, OpenAPI: docs.OpenAPI, Logger: log})
	p := demoLTCParams{App: app, Tokens: tokens, Plans: plans, Observations: obs, Weeks: 1}
	now := time.Now()
	n, err := seedDemoLTC(ctx, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("%d readings stored, want a few weeks' worth", n)
	}
	for i, person := range append(append([]demoPerson{}, demoPatients...), demoResidents...) {
		id := models.PatientID(demoID(kindPatient, i+1))
		if i >= len(demoPatients) {
			id = models.PatientID(demoID(kindResident, i-len(demoPatients)+1))
		}
		pls, err := plans.ListPlans(ctx, id)
		if err != nil || len(pls) != len(person.conditions) {
			t.Errorf("%s: %d plans for %d conditions (%v)", person.name, len(pls), len(person.conditions), err)
		}
		items, _, err := obs.ListObservations(ctx, models.ObservationFilter{PatientID: id}, models.Page{Limit: 5})
		if err != nil || len(items) == 0 {
			t.Errorf("%s: no readings (%v)", person.name, err)
		}
	}
	open, _, err := alerts.ListAlerts(ctx, models.AlertFilter{PracticeID: models.PracticeID(demoID(kindPractice, 1)),
		Statuses: []string{models.AlertOpen}}, models.Page{})
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, a := range open {
		rules[a.RuleID] = true
		if a.TriageRequestID == "" {
			t.Errorf("alert %s has no triage request", a.ID)
		}
	}
	for _, want := range []string{"bp.crisis", "phq9.item9", "news2.total"} {
		if !rules[want] {
			t.Errorf("no open %s alert among %v", want, rules)
		}
	}

	again, err := seedDemoLTC(ctx, p, now.Add(2*time.Hour))
	if err != nil || again != 0 {
		t.Errorf("second start stored %d readings (%v), want 0", again, err)
	}
}
