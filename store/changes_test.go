package store_test

import (
	"context"
	"testing"
	"time"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// readFeed pages through one source with a small page size, as the handler does, and returns
// the ids seen in order.
func readFeed(t *testing.T, src models.ChangeSource, patient models.PatientID, from models.ChangeKey, until time.Time, limit int) ([]string, models.ChangeKey) {
	t.Helper()
	var ids []string
	k := from
	for i := 0; i < 100; i++ {
		at, id := k.After(src.Kind())
		got, err := src.ChangesAfter(context.Background(), patient, at, id, until, limit)
		MustNoErr(t, err)
		for _, c := range got {
			if c.Key.Kind != src.Kind() || !k.Less(c.Key) {
				t.Fatalf("change %v does not follow %v", c.Key, k)
			}
			ids = append(ids, c.Key.ID)
			k = c.Key
		}
		if len(got) < limit {
			return ids, k
		}
	}
	t.Fatal("feed does not end")
	return nil, k
}

func TestChangeSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.MustOpen(t)
	obs, plans, alerts := store.NewObservationStore(db), store.NewPlanStore(db), store.NewAlertStore(db)

	// Five readings in the same millisecond and two later; one of another patient.
	var batch []*models.Observation
	for _, id := range []string{"o5", "o1", "o3", "o2", "o4"} {
		batch = append(batch, reading("p1", id, t0, 70))
	}
	later := reading("p1", "o6", t0, 70)
	later.UpdatedAt = t0.Add(time.Second)
	other := reading("p2", "o7", t0, 70)
	batch = append(batch, later, other)
	_, err := obs.InsertObservations(ctx, batch)
	MustNoErr(t, err)

	until := t0.Add(time.Hour)
	ids, last := readFeed(t, obs, "p1", models.ChangeKey{}, until, 2)
	if want := "o1 o2 o3 o4 o5 o6"; join(ids) != want {
		t.Fatalf("feed = %s, want %s", join(ids), want)
	}
	// Nothing more after the last key; a correction brings the reading back, once.
	if again, _ := readFeed(t, obs, "p1", last, until, 2); len(again) != 0 {
		t.Fatalf("repeated %v", again)
	}
	_, err = obs.MarkEnteredInError(ctx, "p1", "o2", models.Correction{Reason: "wrong arm", By: "u1", At: t0.Add(2 * time.Second)})
	MustNoErr(t, err)
	if again, _ := readFeed(t, obs, "p1", last, until, 2); join(again) != "o2" {
		t.Fatalf("after correction = %v", again)
	}
	// until bounds the range: nothing after it is given.
	if early, _ := readFeed(t, obs, "p1", models.ChangeKey{}, t0, 10); join(early) != "o1 o3 o4 o5" {
		t.Fatalf("until t0 = %v", early)
	}
	// A key in the middle of the tie resumes after it.
	if rest, _ := readFeed(t, obs, "p1", models.ChangeKey{At: t0, Kind: models.ChangeObservation, ID: "o3"}, until, 10); join(rest) != "o4 o5 o6 o2" {
		t.Fatalf("after o3 = %v", rest)
	}
	// A caught-up key at t0 skips everything at t0.
	if rest, _ := readFeed(t, obs, "p1", models.ChangeKey{At: t0}, until, 10); join(rest) != "o6 o2" {
		t.Fatalf("after t0 = %v", rest)
	}

	// Plans: each version is a change.
	p := &models.Plan{ID: "plan1", PatientID: "p1", Condition: models.ConditionAsthma, Version: 1, Status: models.PlanActive,
		ReviewDate: "2027-01-01", AuthorID: "c1", CreatedAt: t0}
	MustNoErr(t, plans.CreatePlan(ctx, p))
	p2 := *p
	p2.Version, p2.CreatedAt = 2, t0.Add(time.Minute)
	MustNoErr(t, plans.AddPlanVersion(ctx, &p2))
	if got, _ := readFeed(t, plans, "p1", models.ChangeKey{}, until, 1); join(got) != "plan1#1 plan1#2" {
		t.Fatalf("plan versions = %v", got)
	}
	if got, _ := readFeed(t, plans, "p2", models.ChangeKey{}, until, 1); len(got) != 0 {
		t.Fatalf("another patient's plans = %v", got)
	}

	// Alerts: raised, then taken: one document, seen again after it changes.
	a, _, err := alerts.RaiseAlert(ctx, &models.Alert{ID: "a1", PatientID: "p1", PracticeID: "pr", RuleID: "bp.crisis",
		Code: models.CodeBloodPressure, Level: models.LevelRed, LatestLevel: models.LevelRed, FirstObservationID: "o1",
		LatestObservationID: "o1", ObservationIDs: []models.ObservationID{"o1"}, UpdatedAt: t0})
	MustNoErr(t, err)
	got, k := readFeed(t, alerts, "p1", models.ChangeKey{}, until, 5)
	if join(got) != string(a.ID) {
		t.Fatalf("alerts = %v", got)
	}
	_, err = alerts.TakeAlert(ctx, a.ID, "c1", t0.Add(3*time.Second))
	MustNoErr(t, err)
	if got, _ := readFeed(t, alerts, "p1", k, until, 5); join(got) != string(a.ID) {
		t.Fatalf("taken alert = %v", got)
	}
}

func TestAppointmentChangeSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	appts := store.NewAppointmentStore(storetest.MustOpen(t))
	mk := func(id string, patient models.PatientID, at time.Time) *models.Appointment {
		return &models.Appointment{ID: models.AppointmentID(id), PatientID: patient, PracticeID: "pr", SlotID: "s-" + models.SlotID(id),
			SlotIDs: []models.SlotID{"s-" + models.SlotID(id)}, Mode: models.ModeFaceToFace, Start: t0.Add(48 * time.Hour),
			End: t0.Add(49 * time.Hour), Status: models.ApptBooked, BookedBy: "u", CreatedAt: at, UpdatedAt: at}
	}
	for _, a := range []*models.Appointment{mk("b", "p1", t0), mk("a", "p1", t0), mk("c", "p1", t0.Add(time.Second)), mk("d", "p2", t0)} {
		MustNoErr(t, appts.CreateAppointment(ctx, a))
	}
	until := t0.Add(time.Hour)
	got, last := readFeed(t, appts, "p1", models.ChangeKey{}, until, 2)
	if join(got) != "a b c" {
		t.Fatalf("appointments = %v", got)
	}
	_, err := appts.UpdateAppointment(ctx, "a", []string{models.ApptBooked},
		models.AppointmentChange{At: t0.Add(2 * time.Second), By: "u", Action: "cancel", From: models.ApptBooked, To: models.ApptCancelled}, nil)
	MustNoErr(t, err)
	if got, _ := readFeed(t, appts, "p1", last, until, 2); join(got) != "a" {
		t.Fatalf("after cancel = %v", got)
	}
}

func join(ids []string) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += " "
		}
		out += id
	}
	return out
}
