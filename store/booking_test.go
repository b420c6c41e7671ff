package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

func newSession(clin models.UserID, site models.SiteID, start time.Time, slots int, modes ...models.AppointmentMode) *models.Session {
	return &models.Session{PracticeID: "pr", SiteID: site, ClinicianID: clin, ServiceType: models.ServiceGP, Modes: modes,
		Start: start, End: start.Add(time.Duration(slots) * 15 * time.Minute), SlotMinutes: 15, CreatedAt: t0, UpdatedAt: t0}
}

func TestSessionOverlapRefused(t *testing.T) {
	db := storetest.MustOpen(t)
	ss := store.NewSessionStore(db)
	ctx := context.Background()
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	MustNoErr(t, ss.CreateSession(ctx, newSession("c1", "s1", start, 4, models.ModeFaceToFace), true))
	MustCode(t, ss.CreateSession(ctx, newSession("c1", "s2", start.Add(59*time.Minute), 2, models.ModeVideo), false), models.ECONFLICT)
	MustCode(t, ss.CreateSession(ctx, newSession("c1", "s2", start.Add(-15*time.Minute), 2, models.ModeVideo), false), models.ECONFLICT)
	MustNoErr(t, ss.CreateSession(ctx, newSession("c1", "s2", start.Add(time.Hour), 2, models.ModeVideo), false))      // touching is fine
	MustNoErr(t, ss.CreateSession(ctx, newSession("c2", "s1", start, 4, models.ModeFaceToFace), true))                 // another clinician
	MustNoErr(t, ss.CreateSession(ctx, newSession("c1", "s1", start.Add(-time.Hour), 4, models.ModeFaceToFace), true)) // ends at start

	// Concurrent overlapping publications: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ss.CreateSession(ctx, newSession("c3", "s1", start.Add(time.Duration(i)*time.Minute), 4, models.ModePhone), false) == nil {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d overlapping sessions stored, want 1", wins.Load())
	}
}

func TestSearchSlots(t *testing.T) {
	db := storetest.MustOpen(t)
	ss, sl := store.NewSessionStore(db), store.NewSlotStore(db)
	ctx := context.Background()
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	a := newSession("c1", "step", start, 4, models.ModeFaceToFace, models.ModeVideo)
	b := newSession("c2", "stairs", start, 4, models.ModeFaceToFace)
	MustNoErr(t, ss.CreateSession(ctx, a, true))
	MustNoErr(t, ss.CreateSession(ctx, b, false))
	if _, err := sl.ClaimSlot(ctx, store.SlotIDFor(a.ID, 0), "appt", t0); err != nil {
		t.Fatal(err)
	}
	count := func(q models.SlotQuery) int {
		t.Helper()
		q.PracticeID = "pr"
		n, cursor := 0, ""
		var last time.Time
		for {
			items, next, err := sl.SearchSlots(ctx, q, models.Page{Limit: 3, Cursor: cursor})
			MustNoErr(t, err)
			for _, it := range items {
				if it.Start.Before(last) || it.Status != models.SlotFree {
					t.Fatalf("out of order or not free: %+v", it)
				}
				if q.Mode != "" && it.Mode != q.Mode {
					t.Fatalf("mode %s, want %s", it.Mode, q.Mode)
				}
				last = it.Start
			}
			n += len(items)
			if next == "" {
				return n
			}
			cursor = next
		}
	}
	cases := []struct {
		name string
		q    models.SlotQuery
		want int
	}{
		{"all free", models.SlotQuery{}, 7},
		{"video", models.SlotQuery{Mode: models.ModeVideo}, 3},
		{"step-free only", models.SlotQuery{StepFreeOnly: true}, 3},
		{"site", models.SlotQuery{SiteID: "stairs"}, 4},
		{"clinician", models.SlotQuery{ClinicianID: "c1"}, 3},
		{"service", models.SlotQuery{ServiceType: models.ServiceNurse}, 0},
		{"notice", models.SlotQuery{NotBefore: start.Add(30 * time.Minute)}, 4},
		{"window", models.SlotQuery{NotBefore: start, Before: start.Add(15 * time.Minute)}, 1},
	}
	for _, c := range cases {
		if got := count(c.q); got != c.want {
			t.Errorf("%s: %d slots, want %d", c.name, got, c.want)
		}
	}
	_, _, err := sl.SearchSlots(ctx, models.SlotQuery{PracticeID: "pr"}, models.Page{Cursor: "garbage"})
	MustCode(t, err, models.EINVALID)
}

func TestLease(t *testing.T) {
	db := storetest.MustOpen(t)
	ls := store.NewLeaseStore(db)
	ctx := context.Background()
	ok := func(holder string, at time.Time) bool {
		got, err := ls.AcquireLease(ctx, "job", holder, at, time.Minute)
		MustNoErr(t, err)
		return got
	}
	if !ok("a", t0) || ok("b", t0.Add(30*time.Second)) || !ok("a", t0.Add(50*time.Second)) {
		t.Fatal("a takes and renews; b is refused while it is held")
	}
	if !ok("b", t0.Add(2*time.Minute)) || ok("a", t0.Add(2*time.Minute)) {
		t.Fatal("b takes an expired lease")
	}
	MustNoErr(t, ls.ReleaseLease(ctx, "job", "a")) // not a's: nothing happens
	if ok("a", t0.Add(2*time.Minute)) {
		t.Fatal("a released b's lease")
	}
	MustNoErr(t, ls.ReleaseLease(ctx, "job", "b"))
	if !ok("a", t0.Add(2*time.Minute)) {
		t.Fatal("a cannot take a released lease")
	}
}

func TestNotificationsInbox(t *testing.T) {
	db := storetest.MustOpen(t)
	ns := store.NewNotificationStore(db)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		MustNoErr(t, ns.CreateNotification(ctx, &models.Notification{PatientID: "p1", Kind: "k", Title: "t", Body: "b", CreatedAt: t0.Add(time.Duration(i) * time.Second)}))
	}
	MustNoErr(t, ns.CreateNotification(ctx, &models.Notification{UserID: "u1", Kind: "k", Title: "t", Body: "b", CreatedAt: t0}))
	MustNoErr(t, ns.CreateNotification(ctx, &models.Notification{PatientID: "p2", Kind: "k", Title: "t", Body: "b", CreatedAt: t0}))
	dup := &models.Notification{ID: "fixed", UserID: "u1", Kind: "k", CreatedAt: t0}
	MustNoErr(t, ns.CreateNotification(ctx, dup))
	MustCode(t, ns.CreateNotification(ctx, dup), models.ECONFLICT)
	var all []*models.Notification
	cursor := ""
	for {
		items, next, err := ns.ListNotifications(ctx, "u1", "p1", models.Page{Limit: 2, Cursor: cursor})
		MustNoErr(t, err)
		all = append(all, items...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 7 {
		t.Fatalf("inbox has %d, want 7", len(all))
	}
	other, _, _ := ns.ListNotifications(ctx, "u2", "p2", models.Page{})
	if len(other) != 1 {
		t.Fatalf("p2's inbox has %d", len(other))
	}
	_, err := ns.MarkNotificationRead(ctx, all[0].ID, "u2", "p2", t0)
	MustCode(t, err, models.ENOTFOUND)
	n, err := ns.MarkNotificationRead(ctx, all[0].ID, "u1", "p1", t0)
	MustNoErr(t, err)
	if n.ReadAt == nil {
		t.Fatal("not marked read")
	}
}
