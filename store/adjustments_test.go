package store_test

import (
	"context"
	"sync"
	"testing"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

func TestPatientStore_SetAdjustments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewPatientStore(storetest.MustOpen(t))
	MustCreatePatient(t, s, &models.Patient{ID: "adj1", PracticeID: "p1", CareHomeID: "home1", Proxy: consent("home1")})
	rec := func(v int, adj models.Adjustments) *models.RecordedAdjustments {
		return &models.RecordedAdjustments{Adjustments: adj, Version: v, UpdatedBy: "u1", UpdatedAt: t0}
	}

	t.Run("first version, read back", func(t *testing.T) {
		p, err := s.SetAdjustments(ctx, "adj1", "p1", "home1", rec(1, models.Adjustments{StepFree: true, Interpreter: true, Language: "Polish"}))
		MustNoErr(t, err)
		got, err := s.PatientByID(ctx, "adj1")
		MustNoErr(t, err)
		for _, q := range []*models.Patient{p, got} {
			if q.Adjustments == nil || !q.Adjustments.StepFree || q.Adjustments.Language != "Polish" || q.Adjustments.Version != 1 || q.Adjustments.UpdatedBy != "u1" {
				t.Fatalf("adjustments = %+v", q.Adjustments)
			}
			if q.Proxy == nil || q.CareHomeID != "home1" {
				t.Errorf("the rest of the record changed: %+v", q)
			}
		}
	})
	t.Run("stale version", func(t *testing.T) {
		_, err := s.SetAdjustments(ctx, "adj1", "p1", "home1", rec(1, models.Adjustments{}))
		MustCode(t, err, models.ECONFLICT)
		_, err = s.SetAdjustments(ctx, "adj1", "p1", "home1", rec(3, models.Adjustments{}))
		MustCode(t, err, models.ECONFLICT)
		_, err = s.SetAdjustments(ctx, "adj1", "p1", "home1", rec(0, models.Adjustments{}))
		MustCode(t, err, models.EINVALID)
	})
	t.Run("registration changed", func(t *testing.T) {
		_, err := s.SetAdjustments(ctx, "adj1", "p2", "home1", rec(2, models.Adjustments{}))
		MustCode(t, err, models.ECONFLICT)
		_, err = s.SetAdjustments(ctx, "adj1", "p1", "", rec(2, models.Adjustments{}))
		MustCode(t, err, models.ECONFLICT)
		_, err = s.SetAdjustments(ctx, "nobody", "p1", "", rec(1, models.Adjustments{}))
		MustCode(t, err, models.ENOTFOUND)
	})
	t.Run("concurrent edits: exactly one wins", func(t *testing.T) {
		const n = 12
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = s.SetAdjustments(ctx, "adj1", "p1", "home1", rec(2, models.Adjustments{Longer: i%2 == 0, BSL: true}))
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if models.ErrorCode(err) != models.ECONFLICT {
				t.Errorf("loser: %v, want ECONFLICT", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d edits based on version 1 won, want exactly 1", won)
		}
		got, err := s.PatientByID(ctx, "adj1")
		MustNoErr(t, err)
		if got.Adjustments.Version != 2 || !got.Adjustments.BSL || got.Adjustments.StepFree {
			t.Errorf("after the race: %+v", got.Adjustments)
		}
	})
}
