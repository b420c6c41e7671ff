package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

// dashboardResident is one line of a care home's dashboard. Each part is present only when the
// policy lets the caller see it for this resident (clinical parts need record_observations,
// appointments book_appointments); can says what the caller may do for the resident now.
type dashboardResident struct {
	PatientID        models.PatientID      `json:"patientId"`
	Name             string                `json:"name"`
	DateOfBirth      string                `json:"dateOfBirth"`
	LatestNEWS2      *dashboardNEWS2       `json:"latestNews2,omitempty"`
	OpenAlerts       []dashboardAlert      `json:"openAlerts,omitempty"`
	NextAppointments []*models.Appointment `json:"nextAppointments,omitempty"`
	Adjustments      *models.Adjustments   `json:"adjustments,omitempty"` // recorded on the resident, with book_appointments
	Can              dashboardActions      `json:"can"`
}

type dashboardNEWS2 struct {
	ObservationID models.ObservationID `json:"observationId"`
	EffectiveAt   time.Time            `json:"effectiveAt"`
	Score         *int                 `json:"score,omitempty"`
	Level         models.Level         `json:"level"`
}

type dashboardAlert struct {
	ID       models.AlertID `json:"id"`
	RuleID   string         `json:"ruleId"`
	Level    models.Level   `json:"level"`
	Status   string         `json:"status"`
	OpenedAt time.Time      `json:"openedAt"`
}

type dashboardActions struct {
	Book   bool `json:"book"`
	Record bool `json:"record"`
	Join   bool `json:"join"`
}

// handleCareHomeDashboard shows a home's residents with each one's latest NEWS2, open alerts
// and next appointments, for the home's staff (each resident within their recorded scope) and
// the clinicians of its practice. Every part shown is audited as the access it is.
func (s *server) handleCareHomeDashboard(c *fiber.Ctx) error {
	h, err := s.careHomeFor(c)
	if err != nil {
		return err
	}
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	pats, next, err := s.patients.ListPatients(c.UserContext(), models.PatientFilter{CareHomeID: h.ID}, page)
	if err != nil {
		return err
	}
	if pats, err = s.listed(c, pats, string(h.ID)); err != nil {
		return err
	}
	a, now := actorOf(c), s.now()
	out := make([]dashboardResident, 0, len(pats))
	for _, p := range pats {
		r := dashboardResident{PatientID: p.ID, Name: p.Name, DateOfBirth: p.DateOfBirth, Can: dashboardActions{
			Book: auth.Can(a, auth.ActBook, p, now) == nil, Record: auth.Can(a, auth.ActWriteObservation, p, now) == nil,
			Join: auth.Can(a, auth.ActJoinCall, p, now) == nil}}
		if auth.Can(a, auth.ActReadClinical, p, now) == nil {
			if err := s.dashboardClinical(c, p, &r, now); err != nil {
				return err
			}
		}
		if auth.Can(a, auth.ActReadAppointments, p, now) == nil {
			appts, _, err := s.appointments.ListAppointments(c.UserContext(), models.AppointmentFilter{PatientID: p.ID,
				Statuses: []string{models.ApptBooked, models.ApptNeedsRebooking}, From: now}, models.Page{Limit: 3})
			if err != nil {
				return err
			}
			r.NextAppointments = appts
			if err := s.record(c, string(auth.ActReadAppointments), p.ID, string(h.ID), models.OutcomeSuccess, ""); err != nil {
				return err
			}
		}
		if p.Adjustments != nil && auth.Can(a, auth.ActReadAdjustments, p, now) == nil {
			r.Adjustments = &p.Adjustments.Adjustments
			if err := s.record(c, string(auth.ActReadAdjustments), p.ID, string(h.ID), models.OutcomeSuccess, ""); err != nil {
				return err
			}
		}
		out = append(out, r)
	}
	return c.JSON(newList(out, next))
}

// dashboardClinical adds a resident's latest NEWS2 and open alerts, and audits the read.
func (s *server) dashboardClinical(c *fiber.Ctx, p *models.Patient, r *dashboardResident, now time.Time) error {
	obs, err := s.observations.LatestObservation(c.UserContext(), p.ID, models.CodeVitalSigns, now)
	switch {
	case err == nil:
		r.LatestNEWS2 = &dashboardNEWS2{ObservationID: obs.ID, EffectiveAt: obs.EffectiveAt, Score: obs.Interpretation.Score, Level: obs.Interpretation.Level}
	case models.ErrorCode(err) != models.ENOTFOUND:
		return err
	}
	alerts, _, err := s.alerts.ListAlerts(c.UserContext(), models.AlertFilter{PatientID: p.ID, Statuses: []string{models.AlertOpen, models.AlertTaken}}, models.Page{Limit: 20})
	if err != nil {
		return err
	}
	for _, al := range alerts {
		r.OpenAlerts = append(r.OpenAlerts, dashboardAlert{ID: al.ID, RuleID: al.RuleID, Level: al.Level, Status: al.Status, OpenedAt: al.OpenedAt})
	}
	return s.record(c, string(auth.ActReadClinical), p.ID, "carehome.dashboard", models.OutcomeSuccess, "")
}
