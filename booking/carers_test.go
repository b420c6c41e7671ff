package booking_test

import (
	"context"
	"testing"
	"time"

	"careway/booking"
	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// TestRemindersReachCarersOnce: a resident's reminder also reaches the staff of the resident's
// home whom the policy allows (book_appointments), once across runs and restarts; staff of
// another home, and staff without that scope, get nothing.
func TestRemindersReachCarersOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pats, users := store.NewPatientStore(f.db), store.NewUserStore(f.db)
	resident := &models.Patient{ID: models.PatientID(models.NewID()), Name: "R", DateOfBirth: "1940-01-01", PracticeID: "practice-1", CareHomeID: "home-1",
		Proxy: &models.ProxyConsent{CareHomeID: "home-1", Scopes: []models.ProxyScope{models.ScopeBookAppointments}, Basis: models.BasisPatientConsent,
			From: f.now.Add(-24 * time.Hour)}, CreatedAt: f.now, UpdatedAt: f.now}
	viewOnly := &models.Patient{ID: models.PatientID(models.NewID()), Name: "V", DateOfBirth: "1940-01-01", PracticeID: "practice-1", CareHomeID: "home-1",
		Proxy: &models.ProxyConsent{CareHomeID: "home-1", Scopes: []models.ProxyScope{models.ScopeViewPlan}, Basis: models.BasisPatientConsent,
			From: f.now.Add(-24 * time.Hour)}, CreatedAt: f.now, UpdatedAt: f.now}
	for _, p := range []*models.Patient{resident, viewOnly} {
		if err := pats.CreatePatient(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	staff := func(home models.CareHomeID) models.UserID {
		u := &models.User{ID: models.UserID(models.NewID()), Role: models.RoleCareHomeStaff, CareHomeID: home, PracticeID: "practice-1",
			Name: "Carer", PasswordHash: "x", CreatedAt: f.now, UpdatedAt: f.now}
		u.Email = string(u.ID) + "@test.careway.test"
		if err := users.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	carer, elsewhere := staff("home-1"), staff("home-2")
	a, err := f.book(resident, 0, models.Adjustments{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.book(viewOnly, 2, models.Adjustments{})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(int64(30 * time.Minute)) // both inside the 24 h reminder window
	now := func() time.Time { return time.Unix(0, f.clock.Load()).UTC() }
	var d countingDeliverer
	run := func() int {
		r := booking.NewReminders(booking.ReminderParams{Appointments: f.appts, Leases: store.NewLeaseStore(f.db), Node: "node-1", Now: now,
			Notifier: &booking.Notifier{Store: f.notes, Deliver: &d, Logger: storetest.Logger(), Now: now,
				Carers: booking.HomeStaff{Patients: pats, Users: users, Now: now}}})
		sent, _, err := r.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return sent
	}
	if sent := run(); sent != 2 || d.n.Load() != 3 { // two patients' reminders, one carer copy
		t.Fatalf("first run: sent %d, delivered %d; want 2 and 3", sent, d.n.Load())
	}
	if sent := run(); sent != 0 || d.n.Load() != 3 { // a restarted scheduler
		t.Fatalf("second run: sent %d, delivered %d; want 0 and 3", sent, d.n.Load())
	}
	inbox, _, err := f.notes.ListNotifications(ctx, carer, "", models.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inbox) != 1 || inbox[0].Kind != booking.KindReminder24h || inbox[0].ResidentID != resident.ID || inbox[0].AppointmentID != a.ID || inbox[0].PatientID != "" {
		t.Fatalf("carer's inbox: %+v", inbox)
	}
	for _, n := range inbox {
		if n.AppointmentID == b.ID {
			t.Error("carer got a copy for a resident without book_appointments")
		}
	}
	if other, _, _ := f.notes.ListNotifications(ctx, elsewhere, "", models.Page{}); len(other) != 0 {
		t.Errorf("staff of another home got %d", len(other))
	}
	// The resident's own inbox holds the patient's wording, not the copy.
	own, _, _ := f.notes.ListNotifications(ctx, "", resident.ID, models.Page{})
	for _, n := range own {
		if n.ResidentID != "" || n.UserID != "" {
			t.Errorf("resident's inbox holds a carer copy: %+v", n)
		}
	}
}
