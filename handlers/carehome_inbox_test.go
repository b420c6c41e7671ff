package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"careway/models"
	"careway/store"
)

type inboxPage struct {
	Items []models.Notification `json:"items"`
}

func inboxOf(t *testing.T, h *harness, who *person) []models.Notification {
	t.Helper()
	var page inboxPage
	h.do("GET", "/api/v1/me/notifications?limit=200", who.token, nil).want(t, 200).decode(t, &page)
	return page.Items
}

// aboutResident returns the notifications of an inbox about resident's appointment appt.
func aboutResident(items []models.Notification, resident models.PatientID, appt models.AppointmentID) []models.Notification {
	var out []models.Notification
	for _, n := range items {
		if n.ResidentID == resident && n.AppointmentID == appt {
			out = append(out, n)
		}
	}
	return out
}

// newStaff adds a care-home staff account to home (with a token).
func newStaff(t *testing.T, h *harness, home models.CareHomeID, practice models.PracticeID, disabled bool) *person {
	t.Helper()
	now := time.Now().UTC()
	u := models.User{ID: models.UserID(models.NewID()), Role: models.RoleCareHomeStaff, CareHomeID: home, PracticeID: practice,
		Name: "Carer", PasswordHash: testHash, Disabled: disabled, CreatedAt: now, UpdatedAt: now}
	u.Email = fmt.Sprintf("%s@test.careway.test", u.ID)
	if err := h.users.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	tok, _, err := h.tokens.Issue(&u)
	if err != nil {
		t.Fatal(err)
	}
	return &person{user: &u, token: tok}
}

// TestCareHomeInboxes: notifications about a resident's bookings reach the staff of the
// resident's own home whom the policy lets act on them, and nobody else.
func TestCareHomeInboxes(t *testing.T) {
	h := newHarness(t)
	w := h.w
	bw := newBookingWorld(t, h)
	colleague := newStaff(t, h, w.home1.ID, w.practiceA.ID, false)
	leaver := newStaff(t, h, w.home1.ID, w.practiceA.ID, true) // disabled account

	// Resident 1 (home 1, every scope): booked by the practice, so the carers hear of it.
	var a1 models.Appointment
	h.do("POST", "/api/v1/appointments", w.clinicianA.token, bookBody(bw.slots[0].ID, w.resident1.ID, nil)).want(t, 201).decode(t, &a1)
	for _, who := range []*person{w.staff1, colleague} {
		got := aboutResident(inboxOf(t, h, who), w.resident1.ID, a1.ID)
		if len(got) != 1 || got[0].Kind != "booking_confirmed" || got[0].UserID != who.user.ID || got[0].PatientID != "" {
			t.Fatalf("home 1 carer's inbox about resident 1: %+v", got)
		}
		if strings.Contains(got[0].Body, w.resident1.Name) || !strings.Contains(got[0].Body, "resident") {
			t.Errorf("carer's text: %q", got[0].Body)
		}
	}
	if n := h.auditCount(w.resident1.ID, "appointment.read", models.OutcomeSuccess); n < 2 {
		t.Errorf("%d inbox reads audited for resident 1, want at least 2", n)
	}
	// Staff of another home, a disabled colleague, patients and clinicians get no copy.
	for _, who := range []*person{w.staff2, w.patient, w.clinicianA} {
		if got := aboutResident(inboxOf(t, h, who), w.resident1.ID, a1.ID); len(got) != 0 {
			t.Errorf("%s sees %d notifications about resident 1", who.user.Role, len(got))
		}
	}
	if n, _, err := store.NewNotificationStore(h.db).ListNotifications(context.Background(), leaver.user.ID, "", models.Page{Limit: 50}); err != nil || len(n) != 0 {
		t.Errorf("disabled carer's inbox: %d, %v", len(n), err)
	}

	// Resident 2 (home 1, view_plan only) and resident 3 (no consent): no copies for home 1.
	var a2, a3 models.Appointment
	h.do("POST", "/api/v1/appointments", w.clinicianA.token, bookBody(bw.slots[2].ID, w.resident2.ID, nil)).want(t, 201).decode(t, &a2)
	h.do("POST", "/api/v1/appointments", w.adminA.token, bookBody(bw.slots[3].ID, w.resident3.ID, nil)).want(t, 201).decode(t, &a3)
	// Resident 4 (home 2, every scope): home 2 hears of it, home 1 does not.
	var a4 models.Appointment
	h.do("POST", "/api/v1/appointments", w.staff2.token, bookBody(bw.slots[4].ID, w.resident4.ID, nil)).want(t, 201).decode(t, &a4)
	in1 := inboxOf(t, h, w.staff1)
	if len(aboutResident(in1, w.resident2.ID, a2.ID))+len(aboutResident(in1, w.resident3.ID, a3.ID))+len(aboutResident(in1, w.resident4.ID, a4.ID)) != 0 {
		t.Errorf("home 1 carer sees residents outside scope or home: %+v", in1)
	}
	if got := aboutResident(inboxOf(t, h, w.staff2), w.resident4.ID, a4.ID); len(got) != 1 {
		t.Errorf("home 2 carer about resident 4: %+v", got)
	}

	// A change reaches the carers too.
	h.do("POST", "/api/v1/appointments/"+string(a1.ID)+"/cancel", w.staff1.token, map[string]any{"reason": "unwell"}).want(t, 200)
	if got := aboutResident(inboxOf(t, h, colleague), w.resident1.ID, a1.ID); len(got) != 2 || got[0].Kind != "booking_cancelled" {
		t.Errorf("after cancelling: %+v", got)
	}

	// Marking read: the carer's own copy only.
	copyID := aboutResident(inboxOf(t, h, w.staff1), w.resident1.ID, a1.ID)[0].ID
	h.do("POST", "/api/v1/me/notifications/"+string(copyID)+"/read", w.staff2.token, nil).want(t, 404)
	var n models.Notification
	h.do("POST", "/api/v1/me/notifications/"+string(copyID)+"/read", w.staff1.token, nil).want(t, 200).decode(t, &n)
	if n.ReadAt == nil {
		t.Error("not marked read")
	}
	if got := aboutResident(inboxOf(t, h, colleague), w.resident1.ID, a1.ID); got[0].ReadAt != nil {
		t.Error("one carer's read marked a colleague's copy read")
	}

	// Consent withdrawn: the copies disappear from the inbox, and cannot be read.
	if _, err := h.patients.SetProxyConsent(context.Background(), w.resident1.ID, w.practiceA.ID, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := aboutResident(inboxOf(t, h, w.staff1), w.resident1.ID, a1.ID); len(got) != 0 {
		t.Errorf("after consent was withdrawn the carer still sees %d", len(got))
	}
	h.do("POST", "/api/v1/me/notifications/"+string(copyID)+"/read", w.staff1.token, nil).want(t, 404)
}
