package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// TestBookingWritesTakeTurns runs the writes of many bookings at once (claims, confirms,
// appointment inserts, notifications, audit events), which on the embedded server take turns
// in the process (DB.writeOne) instead of in SQLite: every write lands, each slot is claimed
// once, and nothing waits on anything else for ever.
func TestBookingWritesTakeTurns(t *testing.T) {
	db := storetest.MustOpen(t)
	ss, sl := store.NewSessionStore(db), store.NewSlotStore(db)
	appts, notes, audit := store.NewAppointmentStore(db), store.NewNotificationStore(db), store.NewAuditStore(db)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	s := &models.Session{PracticeID: "pr", SiteID: "s", ClinicianID: "c1", ServiceType: models.ServiceGP, Modes: []models.AppointmentMode{models.ModeFaceToFace},
		Start: at, End: at.Add(100 * time.Minute), SlotMinutes: 10, CreatedAt: t0, UpdatedAt: t0}
	MustNoErr(t, ss.CreateSession(ctx, s, true))
	const workers = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[models.SlotID]int{}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot := store.SlotIDFor(s.ID, w%10) // two workers per slot
			id := models.AppointmentID(models.NewID())
			if _, err := sl.ClaimSlot(ctx, slot, id, t0); err != nil {
				if models.ErrorCode(err) != models.ECONFLICT {
					t.Errorf("claim: %v", err)
				}
				return
			}
			a := &models.Appointment{ID: id, PatientID: models.PatientID(fmt.Sprint("p", w)), PracticeID: "pr", SlotID: slot, SlotIDs: []models.SlotID{slot},
				SessionID: s.ID, Mode: models.ModeFaceToFace, Start: at, End: at.Add(10 * time.Minute), Status: models.ApptBooked, CreatedAt: t0, UpdatedAt: t0}
			for _, err := range []error{appts.CreateAppointment(ctx, a), sl.ConfirmSlot(ctx, slot, id),
				notes.CreateNotification(ctx, &models.Notification{PatientID: a.PatientID, Kind: "booking_confirmed", AppointmentID: id, CreatedAt: t0}),
				audit.AppendAudit(ctx, &models.AuditEvent{At: t0, ActorID: "u", Action: "appointment.book", PatientID: a.PatientID, Outcome: models.OutcomeSuccess})} {
				if err != nil {
					t.Errorf("booking %d: %v", w, err)
				}
			}
			mu.Lock()
			won[slot]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(won) != 10 {
		t.Fatalf("%d slots booked, want all 10", len(won))
	}
	for slot, n := range won {
		if n != 1 {
			t.Errorf("slot %s booked %d times", slot, n)
		}
		got, err := sl.SlotByID(ctx, slot)
		MustNoErr(t, err)
		if got.Status != models.SlotBooked {
			t.Errorf("slot %s is %s, want booked", slot, got.Status)
		}
	}
	for _, c := range []string{"appointments", "notifications", "audit"} {
		if n, err := db.Database().Collection(c).CountDocuments(ctx, map[string]any{}); err != nil || n != 10 {
			t.Errorf("%s: %d documents, %v; want 10", c, n, err)
		}
	}
}
