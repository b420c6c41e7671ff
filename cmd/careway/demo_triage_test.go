package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"careway/auth"
	"careway/docs"
	"careway/handlers"
	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// TestDemoTriageSeed: after the readings, the demo triage requests are in the practice's queue
// in the order the product's rules put them (the open red alert weighed, the amber NEWS2 the
// care home took, three days' waiting), none of them a 999 redirect; a second start adds none.
func TestDemoTriageSeed(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	users, patients, orgs, conds := store.NewUserStore(db), store.NewPatientStore(db), store.NewOrgStore(db), store.NewConditionStore(db)
	keys, err := auth.LoadOrCreateKeyRing(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens(auth.TokenParams{Keys: keys, Issuer: "careway", Audience: "careway-api"})
	obs, plans, alerts, triage := store.NewObservationStore(db), store.NewPlanStore(db), store.NewAlertStore(db), store.NewTriageStore(db)
	// Yesterday at 21:00: a fixed time of day, so no morning reading of the LTC seed can fall
	// between the care home's observations and its request.
	now := time.Now().UTC().Truncate(24 * time.Hour).Add(-3 * time.Hour)
	clock := now
	app := handlers.NewApp(handlers.Params{DB: db, Users: users, Patients: patients, Orgs: orgs, Audit: store.NewAuditStore(db),
		Conditions: conds, Observations: obs, Plans: plans, Alerts: alerts, AlertTriage: triage, Triage: triage,
		Tokens: tokens, Keys: keys, OpenAPI: docs.OpenAPI, Now: func() time.Time { return clock }})
	p := demoTriageParams{App: app, Tokens: tokens, Keys: keys, Users: users, Patients: patients, Orgs: orgs,
		Audit: store.NewAuditStore(db), Observations: obs, Alerts: alerts, Triage: triage, Readings: true}
	if n, err := seedDemoTriage(ctx, p, now); err != nil || n != 0 {
		t.Fatalf("on a database without the demo: %d, %v", n, err)
	}

	mustSeedDemo(t, db)
	if _, err := seedDemoLTC(ctx, demoLTCParams{App: app, Tokens: tokens, Plans: plans, Observations: obs, Weeks: 1}, now); err != nil {
		t.Fatal(err)
	}
	n, err := seedDemoTriage(ctx, p, now)
	if err != nil || n != len(demoTriageRequests) {
		t.Fatalf("first start stored %d (%v), want %d", n, err, len(demoTriageRequests))
	}

	type item struct {
		ID              string
		Source          models.TriageSource
		Priority        models.TriagePriority
		QueuePriority   models.TriagePriority
		RaisedByWaiting bool
		PriorityReasons []string
		Redirect        string
		WaitingSeconds  int64
		Adjustments     models.Adjustments
		Availability    string
		Symptoms        []string
	}
	gp := &models.User{ID: models.UserID(demoID(kindUser, 2)), Role: models.RoleClinician, PracticeID: models.PracticeID(demoID(kindPractice, 1))}
	queue := func() []item {
		t.Helper()
		tok, _, err := tokens.Issue(gp)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/api/v1/practices/"+demoID(kindPractice, 1)+"/triage-queue?limit=100", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Items []item }
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
			t.Fatalf("queue answered %d", resp.StatusCode)
		}
		return out.Items
	}
	all := queue()
	var got []item
	for _, it := range all {
		if it.Source != models.SourceAlert {
			got = append(got, it)
		}
	}
	want := []struct {
		n               int // of demoTriageRequests, 1-based
		source          models.TriageSource
		priority, queue models.TriagePriority
		reason          string
	}{
		{1, models.SourcePatient, models.PriorityUrgent, models.PriorityUrgent, "open_red_alert"},
		{3, models.SourcePatient, models.PriorityRoutine, models.PrioritySoon, ""},
		{2, models.SourceProxy, models.PrioritySoon, models.PrioritySoon, "recent_news2_amber"},
		{4, models.SourcePatient, models.PriorityRoutine, models.PriorityRoutine, ""},
		{5, models.SourcePatient, models.PriorityRoutine, models.PriorityRoutine, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d requests not opened by alerts in the queue, want %d: %+v", len(got), len(want), got)
	}
	for k, w := range want {
		it, d := got[k], demoTriageRequests[w.n-1]
		if it.ID != demoID(kindTriage, w.n) {
			t.Errorf("queue place %d: request %s, want demo request %d", k, it.ID, w.n)
			continue
		}
		if it.Source != w.source || it.Priority != w.priority || it.QueuePriority != w.queue || it.RaisedByWaiting != (w.priority != w.queue) {
			t.Errorf("demo request %d: source %s, priority %s, in the queue %s (raised %v); want %s, %s, %s",
				w.n, it.Source, it.Priority, it.QueuePriority, it.RaisedByWaiting, w.source, w.priority, w.queue)
		}
		if w.reason != "" && !slices.Contains(it.PriorityReasons, w.reason) {
			t.Errorf("demo request %d: reasons %v, want %s among them", w.n, it.PriorityReasons, w.reason)
		}
		if it.Redirect != "" {
			t.Errorf("demo request %d redirects to %s", w.n, it.Redirect)
		}
		if it.WaitingSeconds != int64(d.ago/time.Second) {
			t.Errorf("demo request %d has waited %d s, want %d", w.n, it.WaitingSeconds, int64(d.ago/time.Second))
		}
		if it.Adjustments != d.adjustments || it.Availability != d.availability || len(it.Symptoms) != len(d.symptoms) {
			t.Errorf("demo request %d: adjustments %+v, availability %q, symptoms %v", w.n, it.Adjustments, it.Availability, it.Symptoms)
		}
	}
	// Every urgent request stands before the soon ones: the alerts' own among them.
	for k := 1; k < len(all); k++ {
		if all[k].QueuePriority.Rank() < all[k-1].QueuePriority.Rank() {
			t.Errorf("queue place %d (%s) after a %s request", k, all[k].QueuePriority, all[k-1].QueuePriority)
		}
	}

	clock = now.Add(2 * time.Hour)
	if again, err := seedDemoTriage(ctx, p, clock); err != nil || again != 0 {
		t.Errorf("second start stored %d (%v), want 0", again, err)
	}
	if after := queue(); len(after) != len(all) {
		t.Errorf("after a second start the queue holds %d requests, want %d", len(after), len(all))
	}
}
