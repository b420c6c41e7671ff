package booking_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"careway/booking"
	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// BenchmarkReconcile times one Reconcile pass over a practice with reconcileBenchSlots booked
// slots, each with its appointment (booked two days ago, so pass 2, which looks back a day,
// has nothing to check), on the embedded database. Besides ns/op it reports the process's CPU
// per pass (the embedded server runs in the process). Nothing needs repairing, so every pass
// does the same work.
//
//	go test -run '^$' -bench Reconcile -benchtime 3x ./booking
func BenchmarkReconcile(b *testing.B) {
	const slotsPerSession = 30
	// A server of its own, with the _id index a started Careway gives its collections
	// (embedded.IndexIDs; without it every lookup by id is a scan).
	ctx := context.Background()
	srv := storetest.MustStartServer(b)
	db := storetest.MustOpenURI(b, srv.URI())
	if _, err := srv.IndexIDs(ctx, db.Database().Name()); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	booked := now.Add(-48 * time.Hour)
	slots, appts := store.NewSlotStore(db), store.NewAppointmentStore(db)
	sessions := store.NewSessionStore(db)
	seedStart := time.Now()
	for n := 0; n < reconcileBenchSlots; n += slotsPerSession {
		start := now.Add(time.Duration(n/slotsPerSession) * 24 * time.Hour)
		s := &models.Session{PracticeID: "practice-1", SiteID: "site-1", ClinicianID: models.UserID(fmt.Sprintf("clin-%d", n/slotsPerSession%10)),
			ServiceType: models.ServiceGP, Modes: []models.AppointmentMode{models.ModeFaceToFace}, Start: start,
			End: start.Add(slotsPerSession * 10 * time.Minute), SlotMinutes: 10, CreatedAt: booked, UpdatedAt: booked}
		if err := sessions.CreateSession(ctx, s, true); err != nil {
			b.Fatal(err)
		}
		for i := range slotsPerSession {
			id := store.SlotIDFor(s.ID, i)
			appt := models.AppointmentID(models.NewID())
			sl, err := slots.ClaimSlot(ctx, id, appt, booked)
			if err != nil {
				b.Fatal(err)
			}
			a := &models.Appointment{ID: appt, PatientID: models.PatientID(fmt.Sprintf("patient-%d", n+i)), PracticeID: "practice-1",
				SlotIDs: []models.SlotID{id}, SessionID: s.ID, SiteID: s.SiteID, ClinicianID: s.ClinicianID, ServiceType: s.ServiceType,
				Mode: models.ModeFaceToFace, Start: sl.Start, End: sl.End, Reason: "cough", Status: models.ApptBooked,
				BookedBy: "admin-1", BookedByRole: models.RoleAdmin, CreatedAt: booked, UpdatedAt: booked}
			if err := appts.CreateAppointment(ctx, a); err != nil {
				b.Fatal(err)
			}
			if err := slots.ConfirmSlot(ctx, id, appt); err != nil {
				b.Fatal(err)
			}
		}
	}
	svc := booking.New(booking.Params{Sessions: sessions, Slots: slots, Appointments: appts,
		Policies: store.NewBookingPolicyStore(db), Now: func() time.Time { return now }})
	b.Logf("seeded %d booked slots in %s", reconcileBenchSlots, time.Since(seedStart).Round(time.Millisecond))
	cpu0 := cpuTime(b)
	for b.Loop() {
		r, err := svc.Reconcile(ctx, 24*time.Hour)
		if err != nil || r != (booking.Repairs{}) {
			b.Fatalf("reconcile: %+v %v", r, err)
		}
	}
	b.ReportMetric(float64((cpuTime(b)-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(reconcileBenchSlots, "slots")
}

// reconcileBenchSlots is the number of booked slots BenchmarkReconcile seeds (the slots
// helper's measurement had 3,426).
const reconcileBenchSlots = 3000

// cpuTime is the user+system CPU the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
