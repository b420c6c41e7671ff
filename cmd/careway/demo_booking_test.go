package main

import (
	"context"
	"testing"
	"time"

	"careway/booking"
	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// The demo's sessions cover the next 14 days' weekdays with free face-to-face and video slots,
// a few appointments are booked, and a second start (or one a day later) books nothing twice.
func TestDemoBookingSeed(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	orgs := mustSeedDemo(t, db).Orgs
	sessions, slots, appts := store.NewSessionStore(db), store.NewSlotStore(db), store.NewAppointmentStore(db)
	now := time.Date(2026, 3, 4, 7, 0, 0, 0, time.UTC) // a Wednesday
	svc := booking.New(booking.Params{Sessions: sessions, Slots: slots, Appointments: appts, Policies: store.NewBookingPolicyStore(db),
		Now: func() time.Time { return now }})
	made, err := seedDemoBooking(ctx, svc, sessions, orgs, now)
	if err != nil {
		t.Fatal(err)
	}
	if made != 10*len(demoSessionPlans) {
		t.Fatalf("%d sessions, want %d (10 weekdays)", made, 10*len(demoSessionPlans))
	}
	practice := models.PracticeID(demoID(kindPractice, 1))
	for _, m := range []models.AppointmentMode{models.ModeFaceToFace, models.ModeVideo} {
		items, _, err := slots.SearchSlots(ctx, models.SlotQuery{PracticeID: practice, Mode: m, NotBefore: now}, models.Page{Limit: 200})
		if err != nil || len(items) < 100 {
			t.Fatalf("%s: %d free slots (%v)", m, len(items), err)
		}
	}
	booked, _, err := appts.ListAppointments(ctx, models.AppointmentFilter{PracticeID: practice}, models.Page{})
	if err != nil || len(booked) != 4 {
		t.Fatalf("%d demo appointments (%v), want 4", len(booked), err)
	}
	again, err := seedDemoBooking(ctx, svc, sessions, orgs, now.Add(24*time.Hour))
	if err != nil || again != len(demoSessionPlans) { // one new weekday came into the window
		t.Fatalf("second run made %d sessions (%v), want %d", again, err, len(demoSessionPlans))
	}
	booked, _, _ = appts.ListAppointments(ctx, models.AppointmentFilter{PracticeID: practice}, models.Page{})
	if len(booked) != 4 {
		t.Fatalf("%d demo appointments after a second start, want 4", len(booked))
	}
}
