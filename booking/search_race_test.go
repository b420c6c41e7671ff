package booking_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"careway/booking"
	"careway/models"
	"careway/store"
)

// TestSearchNeverShowsABookedSlot runs slot searches while bookings and cancellations go on:
// a search that begins after a booking returned never shows its slot (unless it was cancelled
// since), and a session nobody books from is always shown whole.
func TestSearchNeverShowsABookedSlot(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	busy := []*models.Session{f.session, f.publish("clin-2", f.now.Add(24*time.Hour), 8, true), f.publish("clin-3", f.now.Add(24*time.Hour+5*time.Minute), 8, false)}
	quiet := f.publish("clin-4", f.now.Add(24*time.Hour), 8, true)
	var targets []models.SlotID
	for _, s := range busy {
		for n := 0; n < s.SlotCount; n++ {
			targets = append(targets, store.SlotIDFor(s.ID, n))
		}
	}
	staff := booking.Actor{UserID: "admin", Role: models.RoleAdmin, Practice: true}

	var mu sync.Mutex
	booked := map[models.SlotID]time.Time{} // slot → when its booking returned; absent once cancelled
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bookings, cancels int
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for i := 0; i < 40; i++ {
				select {
				case <-stop:
					return
				default:
				}
				slot := targets[rng.IntN(len(targets))]
				a, _, err := f.svc.Book(ctx, booking.Request{ID: models.AppointmentID(models.NewID()), Patient: f.patient, SlotID: slot, Reason: "race", By: staff})
				if models.ErrorCode(err) == models.ECONFLICT {
					continue
				} else if err != nil {
					t.Errorf("book: %v", err)
					return
				}
				mu.Lock()
				booked[slot] = time.Now()
				bookings++
				mu.Unlock()
				if rng.IntN(3) == 0 {
					mu.Lock()
					delete(booked, slot) // from here on a search may show it again
					cancels++
					mu.Unlock()
					if _, err := f.svc.Cancel(ctx, a, "race", staff); err != nil {
						t.Errorf("cancel: %v", err)
						return
					}
				}
			}
		}()
	}

	var once sync.Once
	stopBookers := func() { once.Do(func() { close(stop); wg.Wait() }) }
	defer stopBookers() // also when a check below fails: no booker outlives the test

	searches := 0
	for deadline := time.Now().Add(15 * time.Second); searches < 30 && time.Now().Before(deadline); searches++ {
		began := time.Now()
		mu.Lock()
		before := map[models.SlotID]time.Time{}
		for id, at := range booked {
			if at.Before(began) {
				before[id] = at
			}
		}
		mu.Unlock()
		shown := map[models.SlotID]bool{}
		cursor := ""
		for {
			items, next, err := f.slots.SearchSlots(ctx, models.SlotQuery{PracticeID: "practice-1", NotBefore: f.now}, models.Page{Limit: 5, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				shown[it.ID] = true
				mu.Lock()
				at, still := booked[it.ID]
				mu.Unlock()
				if b, ok := before[it.ID]; ok && still && at.Equal(b) {
					t.Fatalf("search %d showed slot %s, whose booking returned before the search began", searches, it.ID)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		for n := 0; n < quiet.SlotCount; n++ {
			if id := store.SlotIDFor(quiet.ID, n); !shown[id] {
				t.Fatalf("search %d left out the free slot %d of an untouched session", searches, n)
			}
		}
	}
	stopBookers()
	if bookings == 0 || searches == 0 {
		t.Fatalf("nothing raced: %d bookings, %d searches", bookings, searches)
	}
	t.Logf("%d searches, %d bookings, %d cancelled", searches, bookings, cancels)
}
