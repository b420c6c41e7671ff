package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// searchAll pages through a search and returns every slot id in order, with each page's size
// and cursor presence, so two implementations can be compared page by page.
func searchAll(t *testing.T, search func(context.Context, models.SlotQuery, models.Page) ([]*models.Slot, string, error), q models.SlotQuery, limit int) []string {
	t.Helper()
	var out []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 200 {
			t.Fatal("search does not end")
		}
		items, next, err := search(context.Background(), q, models.Page{Limit: limit, Cursor: cursor})
		MustNoErr(t, err)
		for _, it := range items {
			out = append(out, fmt.Sprintf("%s@%s/%s", it.ID, it.Start.Format("15:04"), it.Mode))
		}
		out = append(out, fmt.Sprintf("| %d more=%v", len(items), next != ""))
		if next == "" {
			return out
		}
		cursor = next
	}
}

// TestSearchBySessionsMatchesQuery checks that on FerretDB the session-driven search gives
// exactly the pages the MongoDB query gives (the same query run on FerretDB as a scan), over
// filters, notice times inside slots, windows, page sizes, ties in start, held, booked and
// cancelled slots, a cancelled session, a session whose slots were never all inserted, a
// session published after the index was loaded and another practice.
func TestSearchBySessionsMatchesQuery(t *testing.T) {
	db := storetest.MustOpen(t)
	ss, sl := store.NewSessionStore(db), store.NewSlotStore(db)
	ctx := context.Background()
	day := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	mk := func(practice models.PracticeID, clin models.UserID, site models.SiteID, svc models.ServiceType, at time.Time, minutes, slots int, stepFree bool, modes ...models.AppointmentMode) *models.Session {
		t.Helper()
		s := &models.Session{PracticeID: practice, SiteID: site, ClinicianID: clin, ServiceType: svc, Modes: modes, Start: at,
			End: at.Add(time.Duration(minutes*slots) * time.Minute), SlotMinutes: minutes, CreatedAt: t0, UpdatedAt: t0}
		MustNoErr(t, ss.CreateSession(ctx, s, stepFree))
		return s
	}
	f2f, video, phone := models.ModeFaceToFace, models.ModeVideo, models.ModePhone
	a := mk("pr", "c1", "step", models.ServiceGP, day.Add(9*time.Hour), 10, 6, true, f2f, video)
	b := mk("pr", "c2", "stairs", models.ServiceGP, day.Add(9*time.Hour), 15, 4, false, f2f)                 // same start as a
	c := mk("pr", "c3", "step", models.ServiceNurse, day.Add(9*time.Hour+5*time.Minute), 10, 5, true, phone) // between a's slots
	d := mk("pr", "c1", "step", models.ServiceGP, day.Add(24*time.Hour+9*time.Hour), 10, 3, true, video)
	cancelled := mk("pr", "c4", "stairs", models.ServiceGP, day.Add(10*time.Hour), 10, 3, false, f2f)
	mk("other", "c9", "x", models.ServiceGP, day.Add(9*time.Hour), 10, 3, true, f2f)

	// Held, booked and freed-again slots.
	for _, id := range []models.SlotID{store.SlotIDFor(a.ID, 1), store.SlotIDFor(b.ID, 0), store.SlotIDFor(c.ID, 2)} {
		_, err := sl.ClaimSlot(ctx, id, "appt-"+models.AppointmentID(id), t0)
		MustNoErr(t, err)
	}
	MustNoErr(t, sl.ConfirmSlot(ctx, store.SlotIDFor(b.ID, 0), "appt-"+models.AppointmentID(store.SlotIDFor(b.ID, 0))))
	MustNoErr(t, sl.ReleaseSlot(ctx, store.SlotIDFor(c.ID, 2), "appt-"+models.AppointmentID(store.SlotIDFor(c.ID, 2))))
	_, _, err := ss.CancelSession(ctx, cancelled.ID, "ill", t0)
	MustNoErr(t, err)
	// A session whose last slot was never inserted (a crash between the session and its slots).
	_, err = db.Database().Collection("slots").DeleteOne(ctx, bson.D{{Key: "_id", Value: string(store.SlotIDFor(d.ID, 2))}})
	MustNoErr(t, err)

	queries := []models.SlotQuery{{}, {Mode: f2f}, {Mode: video}, {Mode: phone}, {StepFreeOnly: true}, {SiteID: "stairs"},
		{ClinicianID: "c1"}, {ServiceType: models.ServiceNurse}, {ServiceType: models.ServiceGP, Mode: f2f, StepFreeOnly: true},
		{NotBefore: day.Add(9*time.Hour + 12*time.Minute)}, {NotBefore: day.Add(9*time.Hour + 15*time.Minute)},
		{NotBefore: day.Add(9 * time.Hour), Before: day.Add(9*time.Hour + 30*time.Minute)},
		{NotBefore: day.Add(9*time.Hour + 1*time.Millisecond), Before: day.Add(33 * time.Hour)},
		{NotBefore: day.Add(48 * time.Hour)}, {SiteID: "nowhere"}}
	check := func(label string) {
		t.Helper()
		for i, q := range queries {
			for _, limit := range []int{1, 2, 3, 7, 100} {
				q.PracticeID = "pr"
				want := searchAll(t, sl.SearchSlotsByQuery, q, limit)
				got := searchAll(t, sl.SearchSlots, q, limit)
				if !slices.Equal(got, want) {
					t.Errorf("%s: query %d %+v limit %d:\n got  %s\n want %s", label, i, q, limit, strings.Join(got, " "), strings.Join(want, " "))
				}
			}
		}
	}
	check("first")
	// Published after the index was loaded: found at once.
	e := mk("pr", "c5", "step", models.ServiceGP, day.Add(9*time.Hour), 10, 2, true, f2f, video)
	check("after a new session")
	if items, _, err := sl.SearchSlots(ctx, models.SlotQuery{PracticeID: "pr", ClinicianID: "c5"}, models.Page{}); err != nil || len(items) != 2 {
		t.Fatalf("new session's slots: %d, %v", len(items), err)
	}
	_, _, err = ss.CancelSession(ctx, e.ID, "", t0)
	MustNoErr(t, err)
	check("after cancelling it")

	// A cursor from another search is refused as the query's is.
	_, _, err = sl.SearchSlots(ctx, models.SlotQuery{PracticeID: "pr"}, models.Page{Cursor: "garbage"})
	MustCode(t, err, models.EINVALID)
}

// TestSlotSearchRacesBooking runs searches while bookers claim, confirm and release slots:
// a search never returns a slot whose claim had returned before the search began (and was not
// released since), and never leaves out a slot that nobody touched.
func TestSlotSearchRacesBooking(t *testing.T) {
	db := storetest.MustOpen(t)
	ss, sl := store.NewSessionStore(db), store.NewSlotStore(db)
	ctx := context.Background()
	day := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	var all []models.SlotID
	for c := 0; c < 4; c++ {
		s := &models.Session{PracticeID: "pr", SiteID: "s", ClinicianID: models.UserID(fmt.Sprint("c", c)), ServiceType: models.ServiceGP,
			Modes: []models.AppointmentMode{models.ModeFaceToFace}, Start: day, End: day.Add(2 * time.Hour), SlotMinutes: 10, CreatedAt: t0, UpdatedAt: t0}
		MustNoErr(t, ss.CreateSession(ctx, s, true))
		for n := 0; n < 12; n++ {
			all = append(all, store.SlotIDFor(s.ID, n))
		}
	}
	// Bookers work on the first 36 slots; the last 12 (one session's) are never touched.
	touched := all[:36]
	untouched := all[36:]

	// taken: slot → the time its claim returned (zero when released).
	var mu sync.Mutex
	taken := map[models.SlotID]time.Time{}
	stop := make(chan struct{})
	var bookers sync.WaitGroup
	var claims atomic.Int32
	for w := 0; w < 3; w++ {
		bookers.Add(1)
		go func() {
			defer bookers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; i < 60; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := touched[rng.IntN(len(touched))]
				appt := models.AppointmentID(fmt.Sprint("a", w, "-", i))
				if _, err := sl.ClaimSlot(ctx, id, appt, t0); err != nil {
					continue
				}
				claims.Add(1)
				mu.Lock()
				taken[id] = time.Now()
				mu.Unlock()
				if err := sl.ConfirmSlot(ctx, id, appt); err != nil {
					t.Errorf("confirm: %v", err)
					return
				}
				if rng.IntN(2) == 0 {
					// Release: mark it untaken first, so a search that began before the
					// release returned may still (rightly) leave it out.
					mu.Lock()
					taken[id] = time.Time{}
					mu.Unlock()
					if err := sl.ReleaseSlot(ctx, id, appt); err != nil {
						t.Errorf("release: %v", err)
						return
					}
				}
			}
		}()
	}
	var once sync.Once
	stopBookers := func() { once.Do(func() { close(stop); bookers.Wait() }) }
	defer stopBookers() // also when a check below fails: no booker outlives the test

	searches := 0
	deadline := time.Now().Add(20 * time.Second)
	for searches < 25 && time.Now().Before(deadline) {
		began := time.Now()
		mu.Lock()
		before := map[models.SlotID]bool{}
		for id, at := range taken {
			if !at.IsZero() && at.Before(began) {
				before[id] = true
			}
		}
		mu.Unlock()
		seen := map[models.SlotID]bool{}
		cursor := ""
		for {
			items, next, err := sl.SearchSlots(ctx, models.SlotQuery{PracticeID: "pr"}, models.Page{Limit: 7, Cursor: cursor})
			MustNoErr(t, err)
			for _, it := range items {
				if it.Status != models.SlotFree || seen[it.ID] {
					t.Fatalf("search %d: slot %s status %s, seen before %v", searches, it.ID, it.Status, seen[it.ID])
				}
				seen[it.ID] = true
				mu.Lock()
				at := taken[it.ID]
				mu.Unlock()
				// Taken before the search began and still taken now: it must not be shown.
				if before[it.ID] && !at.IsZero() && at.Before(began) {
					t.Fatalf("search %d returned slot %s, booked before the search began", searches, it.ID)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		for _, id := range untouched {
			if !seen[id] {
				t.Fatalf("search %d left out the free slot %s", searches, id)
			}
		}
		searches++
	}
	stopBookers()
	if claims.Load() == 0 || searches == 0 {
		t.Fatalf("nothing raced: %d claims, %d searches", claims.Load(), searches)
	}
}

// TestNextSlotByIDMatchesQuery checks that on FerretDB NextSlot (derived id) answers as the
// MongoDB query does: the next slot of the session, ENOTFOUND after the last one and for a
// slot never inserted, whatever its status.
func TestNextSlotByIDMatchesQuery(t *testing.T) {
	db := storetest.MustOpen(t)
	ss, sl := store.NewSessionStore(db), store.NewSlotStore(db)
	ctx := context.Background()
	at := time.Date(2026, 4, 1, 9, 0, 0, 987654321, time.UTC) // sub-millisecond start, as a client may send
	s := &models.Session{PracticeID: "pr", SiteID: "s", ClinicianID: "c1", ServiceType: models.ServiceGP, Modes: []models.AppointmentMode{models.ModeVideo},
		Start: at, End: at.Add(35 * time.Minute), SlotMinutes: 10, CreatedAt: t0, UpdatedAt: t0} // 4 slots, the last one ending after End
	MustNoErr(t, ss.CreateSession(ctx, s, false))
	_, err := sl.ClaimSlot(ctx, store.SlotIDFor(s.ID, 2), "appt", t0)
	MustNoErr(t, err)
	_, err = db.Database().Collection("slots").DeleteOne(ctx, bson.D{{Key: "_id", Value: string(store.SlotIDFor(s.ID, 3))}})
	MustNoErr(t, err)
	for n := 0; n < 4; n++ {
		id := store.SlotIDFor(s.ID, n)
		got, gerr := sl.NextSlot(ctx, id)
		want, werr := sl.NextSlotByQuery(ctx, id)
		if models.ErrorCode(gerr) != models.ErrorCode(werr) || (gerr == nil && (got.ID != want.ID || got.Status != want.Status)) {
			t.Errorf("slot %d: NextSlot = %+v, %v; query = %+v, %v", n, got, gerr, want, werr)
		}
		if n < 2 && (gerr != nil || got.ID != store.SlotIDFor(s.ID, n+1)) {
			t.Errorf("slot %d: next = %v, %v; want slot %d", n, got, gerr, n+1)
		}
	}
}
