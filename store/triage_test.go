package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

func newTriage(id string, patient models.PatientID, at time.Time, prio models.TriagePriority) *models.TriageRequest {
	return &models.TriageRequest{ID: models.TriageRequestID(id), PatientID: patient, PracticeID: "pr-1",
		Description: "cough", PreferredMode: models.ModeVideo, RedFlags: []models.RedFlag{models.FlagChestPain},
		Source: models.SourcePatient, Priority: prio, Reasons: []string{"red_flag"}, Redirect: "999", Advice: "call",
		Status: models.TriageWaiting, CreatedAt: at, UpdatedAt: at}
}

func TestTriageStore_CreateIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewTriageStore(storetest.MustOpen(t))
	id := models.NewID()
	r := newTriage(id, "p1", t0, models.PriorityEmergency)
	got, created, err := s.CreateTriageRequest(ctx, r)
	MustNoErr(t, err)
	if !created || got.ID != r.ID {
		t.Fatalf("first create = %v, %v; want created", got, created)
	}
	retry := newTriage(id, "p1", t0.Add(time.Minute), models.PriorityRoutine)
	retry.Description = "changed"
	got, created, err = s.CreateTriageRequest(ctx, retry)
	MustNoErr(t, err)
	if created || got.Description != "cough" || got.Priority != models.PriorityEmergency || !got.CreatedAt.Equal(ms(t0)) {
		t.Errorf("retry = %+v, created %v; want the stored request unchanged", got, created)
	}
	_, _, err = s.CreateTriageRequest(ctx, newTriage(id, "p2", t0, models.PriorityRoutine))
	MustCode(t, err, models.ECONFLICT)

	back, err := s.TriageRequestByID(ctx, r.ID)
	MustNoErr(t, err)
	if back.RedFlags[0] != models.FlagChestPain || back.Redirect != "999" || back.Symptoms == nil {
		t.Errorf("read back %+v", back)
	}
	_, err = s.TriageRequestByID(ctx, "nope")
	MustCode(t, err, models.ENOTFOUND)
}

func TestTriageStore_TakeRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewTriageStore(storetest.MustOpen(t))
	r := newTriage(models.NewID(), "p1", t0, models.PriorityUrgent)
	_, _, err := s.CreateTriageRequest(ctx, r)
	MustNoErr(t, err)

	const takers = 20
	var wg sync.WaitGroup
	codes := make([]string, takers)
	for i := range takers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.TakeTriageRequest(ctx, r.ID, models.UserID("c"+string(rune('a'+i))), t0.Add(time.Minute))
			codes[i] = models.ErrorCode(err)
		}()
	}
	wg.Wait()
	wins := 0
	for _, c := range codes {
		switch c {
		case "":
			wins++
		case models.ECONFLICT:
		default:
			t.Errorf("a taker got %q", c)
		}
	}
	if wins != 1 {
		t.Fatalf("%d takers won, want exactly 1 (%v)", wins, codes)
	}
	got, err := s.TriageRequestByID(ctx, r.ID)
	MustNoErr(t, err)
	if got.Status != models.TriageInProgress || got.TakenBy == "" || got.TakenAt == nil {
		t.Fatalf("after take: %+v", got)
	}
	// The winner may take again (a retry); the outcome is theirs only.
	again, err := s.TakeTriageRequest(ctx, r.ID, got.TakenBy, t0.Add(2*time.Minute))
	MustNoErr(t, err)
	if !again.TakenAt.Equal(*got.TakenAt) {
		t.Errorf("retake moved takenAt to %v", again.TakenAt)
	}
	other := models.UserID("someone-else")
	_, err = s.SetTriageOutcome(ctx, r.ID, &models.TriageOutcome{Kind: models.OutcomeSelfCare, DecidedBy: other, DecidedAt: t0})
	MustCode(t, err, models.ECONFLICT)
	done, err := s.SetTriageOutcome(ctx, r.ID, &models.TriageOutcome{Kind: models.OutcomeVideoConsultation, CallID: "call-1",
		Note: "see you", DecidedBy: got.TakenBy, DecidedAt: t0.Add(3 * time.Minute)})
	MustNoErr(t, err)
	if done.Status != models.TriageCompleted || done.Outcome == nil || done.Outcome.CallID != "call-1" || done.Outcome.DecidedBy != got.TakenBy {
		t.Fatalf("after outcome: %+v", done)
	}
	_, err = s.SetTriageOutcome(ctx, r.ID, &models.TriageOutcome{Kind: models.OutcomeSelfCare, DecidedBy: got.TakenBy, DecidedAt: t0})
	MustCode(t, err, models.ECONFLICT)
	_, err = s.TakeTriageRequest(ctx, r.ID, got.TakenBy, t0)
	MustCode(t, err, models.ECONFLICT)
	_, err = s.TakeTriageRequest(ctx, "nope", got.TakenBy, t0)
	MustCode(t, err, models.ENOTFOUND)

	// An outcome before anyone took the request is refused.
	w := newTriage(models.NewID(), "p1", t0, models.PriorityUrgent)
	_, _, err = s.CreateTriageRequest(ctx, w)
	MustNoErr(t, err)
	_, err = s.SetTriageOutcome(ctx, w.ID, &models.TriageOutcome{Kind: models.OutcomeSelfCare, DecidedBy: "c1", DecidedAt: t0})
	MustCode(t, err, models.ECONFLICT)
	_, err = s.SetTriageOutcome(ctx, "nope", &models.TriageOutcome{Kind: models.OutcomeSelfCare, DecidedBy: "c1", DecidedAt: t0})
	MustCode(t, err, models.ENOTFOUND)
}

func TestTriageStore_QueueAndPatientList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewTriageStore(storetest.MustOpen(t))
	var ids []models.TriageRequestID
	for i := range 5 {
		r := newTriage(models.NewID(), "p1", t0.Add(time.Duration(i)*time.Minute), models.PriorityRoutine)
		if i == 4 {
			r.PracticeID = "pr-2"
		}
		_, _, err := s.CreateTriageRequest(ctx, r)
		MustNoErr(t, err)
		ids = append(ids, r.ID)
	}
	_, err := s.TakeTriageRequest(ctx, ids[1], "c1", t0)
	MustNoErr(t, err)
	_, err = s.TakeTriageRequest(ctx, ids[2], "c1", t0)
	MustNoErr(t, err)
	_, err = s.SetTriageOutcome(ctx, ids[2], &models.TriageOutcome{Kind: models.OutcomePharmacy, DecidedBy: "c1", DecidedAt: t0})
	MustNoErr(t, err)

	q, err := s.TriageQueue(ctx, "pr-1", 0)
	MustNoErr(t, err)
	var got []models.TriageRequestID
	for _, r := range q {
		got = append(got, r.ID)
	}
	if want := []models.TriageRequestID{ids[0], ids[1], ids[3]}; !equalIDs(got, want) {
		t.Errorf("queue = %v, want %v (open requests of pr-1, oldest first)", got, want)
	}

	var all []models.TriageRequestID
	cursor := ""
	for range 10 {
		items, next, err := s.ListTriageForPatient(ctx, "p1", models.Page{Limit: 2, Cursor: cursor})
		MustNoErr(t, err)
		for _, r := range items {
			all = append(all, r.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []models.TriageRequestID{ids[4], ids[3], ids[2], ids[1], ids[0]}; !equalIDs(all, want) {
		t.Errorf("patient list = %v, want %v (newest first)", all, want)
	}
	_, _, err = s.ListTriageForPatient(ctx, "p1", models.Page{Cursor: "garbage"})
	MustCode(t, err, models.EINVALID)
}

func equalIDs[T comparable](a, b []T) bool {
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
