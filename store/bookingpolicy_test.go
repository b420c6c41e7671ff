package store_test

import (
	"context"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/bson"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// TestBookingPolicyKeptUpToDate checks the booking policy a store answers (read once, then kept
// in memory on the embedded server): the default until one is set, a change seen at once by
// another store on the same database, a caller's change to the answer not kept, concurrent
// setters and readers ending on the last value set, and ForgetCaches after a write behind the
// store's back.
func TestBookingPolicyKeptUpToDate(t *testing.T) {
	db := storetest.MustOpen(t)
	a, b := store.NewBookingPolicyStore(db), store.NewBookingPolicyStore(db)
	ctx := context.Background()
	get := func(s *store.BookingPolicyStore) *models.BookingPolicy {
		t.Helper()
		p, err := s.BookingPolicy(ctx, "pr")
		MustNoErr(t, err)
		return p
	}
	def := models.DefaultBookingPolicy("pr")
	if p := get(a); p.MinNoticeMinutes != def.MinNoticeMinutes || p.CancelCutoffMinute != def.CancelCutoffMinute {
		t.Fatalf("no policy set: %+v, want the default %+v", p, def)
	}
	MustNoErr(t, b.SetBookingPolicy(ctx, &models.BookingPolicy{PracticeID: "pr", MinNoticeMinutes: 60, CancelCutoffMinute: 120, UpdatedAt: t0}))
	p := get(a)
	if p.MinNoticeMinutes != 60 || p.CancelCutoffMinute != 120 {
		t.Fatalf("after a set: %+v", p)
	}
	p.MinNoticeMinutes = 1 // the caller's copy
	if get(a).MinNoticeMinutes != 60 {
		t.Fatal("a caller's change to the answer was kept")
	}

	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				MustNoErr(t, b.SetBookingPolicy(ctx, &models.BookingPolicy{PracticeID: "pr", MinNoticeMinutes: w*100 + i, UpdatedAt: t0}))
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := a.BookingPolicy(ctx, "pr"); err != nil {
					t.Error(err)
				}
				db.ForgetCaches() // readers refill it while setters write
			}
		}()
	}
	wg.Wait()
	MustNoErr(t, b.SetBookingPolicy(ctx, &models.BookingPolicy{PracticeID: "pr", MinNoticeMinutes: 999, UpdatedAt: t0}))
	if got := get(a).MinNoticeMinutes; got != 999 {
		t.Fatalf("after the last set: %d, want 999", got)
	}

	_, err := db.Database().Collection("bookingPolicies").UpdateOne(ctx, bson.D{{Key: "_id", Value: "pr"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "minNoticeMinutes", Value: 5}}}})
	MustNoErr(t, err)
	db.ForgetCaches()
	if got := get(a).MinNoticeMinutes; got != 5 {
		t.Fatalf("after ForgetCaches: %d, want the stored 5", got)
	}
}
