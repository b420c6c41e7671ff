package booking_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"careway/booking"
	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

type countingDeliverer struct{ n atomic.Int32 }

func (d *countingDeliverer) Deliver(context.Context, *models.Notification) error {
	d.n.Add(1)
	return nil
}

func (f *fixture) reminders(node string, d booking.Deliverer) *booking.Reminders {
	now := func() time.Time { return time.Unix(0, f.clock.Load()).UTC() }
	return booking.NewReminders(booking.ReminderParams{Appointments: f.appts, Leases: store.NewLeaseStore(f.db), Node: node,
		Notifier: &booking.Notifier{Store: f.notes, Deliver: d, Logger: storetest.Logger(), Now: now}, Now: now})
}

// Two schedulers racing send each reminder once; a restarted scheduler sends nothing again;
// the 2-hour reminder follows later.
func TestRemindersOnceAcrossNodesAndRestarts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, err := f.book(f.patient, 0, models.Adjustments{}) // 24 h after the fixture's now
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(int64(time.Minute)) // now 23:59 before
	var d countingDeliverer
	n1, n2 := f.reminders("node-1", &d), f.reminders("node-2", &d)
	var wg sync.WaitGroup
	var leaders atomic.Int32
	for _, r := range []*booking.Reminders{n1, n2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, leader, err := r.RunOnce(ctx)
			if err != nil {
				t.Error(err)
			}
			if leader {
				leaders.Add(1)
			}
		}()
	}
	wg.Wait()
	if leaders.Load() != 1 || d.n.Load() != 1 {
		t.Fatalf("leaders %d deliveries %d, want 1 and 1", leaders.Load(), d.n.Load())
	}
	// node-1 "restarts" (a new scheduler, same node name, lease kept) and node-2 takes over
	// once the lease expires: neither sends the 24 h reminder again.
	if sent, _, err := f.reminders("node-1", &d).RunOnce(ctx); err != nil || sent != 0 {
		t.Fatalf("restart sent %d (%v)", sent, err)
	}
	f.clock.Add(int64(10 * time.Minute))
	if sent, leader, err := n2.RunOnce(ctx); err != nil || sent != 0 || !leader {
		t.Fatalf("takeover: sent %d leader %v (%v)", sent, leader, err)
	}
	f.clock.Store(a.Start.Add(-2 * time.Hour).UnixNano())
	if sent, _, err := n2.RunOnce(ctx); err != nil || sent != 1 {
		t.Fatalf("2 h reminder: sent %d (%v)", sent, err)
	}
	items, _, _ := f.notes.ListNotifications(ctx, "", f.patient.ID, models.Page{})
	kinds := map[string]int{}
	for _, n := range items {
		kinds[n.Kind]++
	}
	if kinds[booking.KindReminder24h] != 1 || kinds[booking.KindReminder2h] != 1 || d.n.Load() != 2 {
		t.Fatalf("inbox kinds %v deliveries %d", kinds, d.n.Load())
	}
	// A cancelled appointment gets no reminder.
	if _, err := f.svc.Cancel(ctx, a, "x", booking.Actor{Practice: true}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(int64(time.Hour))
	if sent, _, _ := n2.RunOnce(ctx); sent != 0 {
		t.Fatalf("reminder for a cancelled appointment")
	}
}
