package main

import (
	"context"
	"time"

	"careway/booking"
	"careway/models"
	"careway/store"
)

const kindAppointment = 20 // demoID kind of the demo appointments

func slotOf(s *models.Session, n int) models.SlotID { return store.SlotIDFor(s.ID, n) }

// demoSessionPlan is one clinician's weekday session in the demo: staff index (demoStaffList),
// site, service, hours (UTC), slot length and modes.
type demoSessionPlan struct {
	staff       int
	site        int
	service     models.ServiceType
	from, until int // hours
	slotMinutes int
	modes       []models.AppointmentMode
}

var demoSessionPlans = []demoSessionPlan{
	{0, 1, models.ServiceGP, 9, 12, 10, []models.AppointmentMode{models.ModeFaceToFace, models.ModeVideo}},
	{1, 2, models.ServiceGP, 14, 17, 10, []models.AppointmentMode{models.ModeFaceToFace, models.ModeVideo, models.ModePhone}},
	{2, 1, models.ServiceBloodTest, 9, 12, 15, []models.AppointmentMode{models.ModeFaceToFace}},
	{2, 2, models.ServiceLTCReview, 13, 16, 20, []models.AppointmentMode{models.ModeFaceToFace, models.ModeVideo}},
}

// seedDemoBooking keeps the demo practice's sessions published for the next 14 days (weekdays)
// and a few appointments booked. It runs at every demo start: session ids derive from the date,
// so sessions that exist are left alone (a 409 from the store), and the appointments have fixed
// ids, so a second start books nothing twice.
func seedDemoBooking(ctx context.Context, svc *booking.Service, sessions models.SessionStore, orgs models.OrgStore, now time.Time) (int, error) {
	practice := models.PracticeID(demoID(kindPractice, 1))
	if _, err := orgs.PracticeByID(ctx, practice); err != nil {
		return 0, nil // not the demo database
	}
	stepFree := map[int]bool{}
	for _, n := range []int{1, 2} {
		site, err := orgs.SiteByID(ctx, models.SiteID(demoID(kindSite, n)))
		if err != nil {
			return 0, err
		}
		stepFree[n] = site.StepFreeAccess
	}
	made := 0
	var first []*models.Session // tomorrow's (or the next weekday's) sessions, for the bookings
	today := now.UTC().Truncate(24 * time.Hour)
	for d := 1; d <= 14; d++ {
		day := today.AddDate(0, 0, d)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for i, pl := range demoSessionPlans {
			clin := models.UserID(demoID(kindUser, 2+pl.staff))
			s := &models.Session{ID: models.SessionID(models.DerivedID("demo-session", day.Format(time.DateOnly), string(rune('a'+i)))),
				PracticeID: practice, SiteID: models.SiteID(demoID(kindSite, pl.site)), ClinicianID: clin, ServiceType: pl.service,
				Modes: pl.modes, Start: day.Add(time.Duration(pl.from) * time.Hour), End: day.Add(time.Duration(pl.until) * time.Hour),
				SlotMinutes: pl.slotMinutes, CreatedBy: models.UserID(demoID(kindUser, 1)), CreatedAt: now, UpdatedAt: now}
			// At a restart most sessions exist: a lookup by id (which the embedded server answers
			// from its key) saves the publish path's lease and overlap scan for each of them.
			if have, err := sessions.SessionByID(ctx, s.ID); err == nil {
				if len(first) < len(demoSessionPlans) {
					first = append(first, have)
				}
				continue
			} else if models.ErrorCode(err) != models.ENOTFOUND {
				return made, err
			}
			err := sessions.CreateSession(ctx, s, stepFree[pl.site])
			switch models.ErrorCode(err) {
			case "":
				made++
			case models.ECONFLICT:
				if s, err = sessions.SessionByID(ctx, s.ID); err != nil {
					continue // another session of the clinician is there: leave it
				}
			default:
				return made, err
			}
			if len(first) < len(demoSessionPlans) {
				first = append(first, s)
			}
		}
	}
	if len(first) < 3 {
		return made, nil
	}
	admin := booking.Actor{UserID: models.UserID(demoID(kindUser, 1)), Role: models.RoleAdmin, Practice: true}
	bookings := []struct {
		patient models.PatientID
		session *models.Session
		slot    int
		mode    models.AppointmentMode
		reason  string
		adj     models.Adjustments
	}{
		{models.PatientID(demoID(kindPatient, 1)), first[0], 0, models.ModeFaceToFace, "Asthma review", models.Adjustments{}},
		{models.PatientID(demoID(kindPatient, 2)), first[0], 2, models.ModeFaceToFace, "Knee pain",
			models.Adjustments{Interpreter: true, Language: "Urdu", Longer: true}},
		{models.PatientID(demoID(kindResident, 1)), first[1], 0, models.ModeVideo, "Medication review", models.Adjustments{CarerAttending: true}},
		{models.PatientID(demoID(kindPatient, 3)), first[2], 1, models.ModeFaceToFace, "Blood test (HbA1c)", models.Adjustments{StepFree: true}},
	}
	for i, b := range bookings {
		p := &models.Patient{ID: b.patient, PracticeID: practice}
		_, _, err := svc.Book(ctx, booking.Request{ID: models.AppointmentID(demoID(kindAppointment, i+1)), Patient: p,
			SlotID: slotOf(b.session, b.slot), Mode: b.mode, Reason: b.reason, Adjustments: b.adj, By: admin})
		if err != nil && models.ErrorCode(err) != models.ECONFLICT {
			return made, err
		}
	}
	return made, nil
}
