package store_test

import (
	"context"
	"testing"
	"time"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

func TestFHIRLookups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.MustOpen(t)
	now := time.Now().UTC().Truncate(time.Millisecond)

	t.Run("plan patient", func(t *testing.T) {
		plans := store.NewPlanStore(db)
		p := &models.Plan{ID: models.PlanID(models.NewID()), PatientID: "p1", Condition: models.ConditionAsthma, Version: 1,
			Status: models.PlanActive, AuthorID: "u1", CreatedAt: now}
		if err := plans.CreatePlan(ctx, p); err != nil {
			t.Fatal(err)
		}
		v2 := *p
		v2.Version = 2
		if err := plans.AddPlanVersion(ctx, &v2); err != nil {
			t.Fatal(err)
		}
		got, err := plans.PlanPatient(ctx, p.ID)
		if err != nil || got != "p1" {
			t.Fatalf("PlanPatient = %q, %v; want p1", got, err)
		}
		if _, err := plans.PlanPatient(ctx, models.PlanID(models.NewID())); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("unknown plan: %v, want ENOTFOUND", err)
		}
	})
	t.Run("calls of a patient, newest first, paged", func(t *testing.T) {
		calls := store.NewCallStore(db)
		var want []models.CallID
		for i := 0; i < 5; i++ {
			c := &models.Call{ID: models.CallID(models.NewID()), PatientID: "p2", PracticeID: "pr", CreatedBy: "u1",
				Status: models.CallOpen, CreatedAt: now.Add(time.Duration(i) * time.Minute)}
			if err := calls.CreateCall(ctx, c); err != nil {
				t.Fatal(err)
			}
			want = append([]models.CallID{c.ID}, want...)
		}
		other := &models.Call{ID: models.CallID(models.NewID()), PatientID: "p3", PracticeID: "pr", CreatedBy: "u1", Status: models.CallOpen, CreatedAt: now}
		if err := calls.CreateCall(ctx, other); err != nil {
			t.Fatal(err)
		}
		var got []models.CallID
		page := models.Page{Limit: 2}
		for {
			items, next, err := calls.ListCallsForPatient(ctx, "p2", page)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range items {
				got = append(got, c.ID)
			}
			if next == "" {
				break
			}
			page.Cursor = next
		}
		if len(got) != len(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
	})
	t.Run("patient by verified NHS number", func(t *testing.T) {
		pats := store.NewPatientStore(db)
		verified := &models.Patient{ID: models.PatientID(models.NewID()), NHSNumber: "9434765919", Name: "V", DateOfBirth: "1950-01-01",
			PracticeID: "pr", CreatedAt: now, UpdatedAt: now}
		claimed := &models.Patient{ID: models.PatientID(models.NewID()), ClaimedNHSNumber: "9990000018", Name: "C", DateOfBirth: "1950-01-01",
			CreatedAt: now, UpdatedAt: now}
		for _, p := range []*models.Patient{verified, claimed} {
			if err := pats.CreatePatient(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		got, err := pats.PatientByNHSNumber(ctx, "9434765919")
		if err != nil || got.ID != verified.ID {
			t.Fatalf("PatientByNHSNumber = %v, %v", got, err)
		}
		for _, n := range []string{"9990000018", "9990000026"} {
			if _, err := pats.PatientByNHSNumber(ctx, n); models.ErrorCode(err) != models.ENOTFOUND {
				t.Errorf("%s: %v, want ENOTFOUND", n, err)
			}
		}
	})
	t.Run("slots of a session", func(t *testing.T) {
		sessions, slots := store.NewSessionStore(db), store.NewSlotStore(db)
		start := now.Add(72 * time.Hour).Truncate(time.Hour)
		s := &models.Session{ID: models.SessionID(models.NewID()), PracticeID: "pr", SiteID: "s1", ClinicianID: "c1",
			ServiceType: models.ServiceNurse, Modes: []models.AppointmentMode{models.ModeFaceToFace}, Start: start,
			End: start.Add(30 * time.Minute), SlotMinutes: 10, CreatedBy: "c1", CreatedAt: now, UpdatedAt: now}
		if err := sessions.CreateSession(ctx, s, false); err != nil {
			t.Fatal(err)
		}
		got, err := slots.ListSessionSlots(ctx, s.ID)
		if err != nil || len(got) != 3 || !got[0].Start.Equal(start) || !got[2].Start.Equal(start.Add(20*time.Minute)) {
			t.Fatalf("slots = %v, %v", got, err)
		}
		if none, err := slots.ListSessionSlots(ctx, models.SessionID(models.NewID())); err != nil || len(none) != 0 {
			t.Fatalf("unknown session: %v, %v", none, err)
		}
	})
}
