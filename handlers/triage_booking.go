package handlers

import (
	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/booking"
	"careway/models"
)

// From triage to the chair: a triage request whose outcome is face_to_face is booked directly by
// the clinician, or the patient (or proxy) is sent an invitation limited to a service type and a
// date window, which they complete by booking a slot with invitationId.

// faceToFaceRequest loads the triage request of the route for a clinician who may handle it and
// book for its patient, and checks that its outcome is face_to_face.
func (s *server) faceToFaceRequest(c *fiber.Ctx) (*models.TriageRequest, *models.Patient, error) {
	r, err := s.triageFor(c, auth.ActHandleTriage)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.authorizePatient(c, auth.ActBook, r.PatientID)
	if err != nil {
		return nil, nil, err
	}
	if r.Outcome == nil || r.Outcome.Kind != models.OutcomeFaceToFace {
		return nil, nil, models.Errorf(models.ECONFLICT, "The triage request's outcome is not face_to_face; record that outcome first.")
	}
	return r, p, nil
}

type triageAppointmentRequest struct {
	ID     string                 `json:"id"`
	SlotID models.SlotID          `json:"slotId"`
	Mode   models.AppointmentMode `json:"mode"`
	Reason string                 `json:"reason"`
}

// handleTriageAppointment books a slot for a face_to_face triage outcome; the request's
// reasonable adjustments travel with the booking.
func (s *server) handleTriageAppointment(c *fiber.Ctx) error {
	var req triageAppointmentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	r, p, err := s.faceToFaceRequest(c)
	if err != nil {
		return err
	}
	reason := req.Reason
	if reason == "" {
		reason = "Triage: seen face to face"
	}
	a, _, err := s.booking.Book(c.UserContext(), booking.Request{ID: models.AppointmentID(req.ID), Patient: p, SlotID: req.SlotID, Mode: req.Mode,
		Reason: reason, Adjustments: r.Adjustments, TriageRequestID: r.ID, By: bookingActor(actorOf(c))})
	if err != nil {
		return conflictOn(err, "slotId", "this slot is no longer free")
	}
	if err := s.record(c, string(auth.ActBook), p.ID, string(a.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(a)
}

type invitationRequest struct {
	ServiceType models.ServiceType       `json:"serviceType"`
	Modes       []models.AppointmentMode `json:"modes"`
	From        jsonTime                 `json:"from"`
	To          jsonTime                 `json:"to"`
}

// handleTriageInvitation sends the patient (and their proxy) an invitation to book a slot of a
// service type within a date window.
func (s *server) handleTriageInvitation(c *fiber.Ctx) error {
	var req invitationRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	r, p, err := s.faceToFaceRequest(c)
	if err != nil {
		return err
	}
	inv := &models.BookingInvitation{PatientID: p.ID, PracticeID: p.PracticeID, TriageRequestID: r.ID, ServiceType: req.ServiceType,
		Modes: req.Modes, From: req.From.Time, To: req.To.Time, Adjustments: r.Adjustments, CreatedBy: actorOf(c).UserID, CreatedAt: s.now().UTC()}
	if err := s.booking.Invite(c.UserContext(), inv); err != nil {
		return err
	}
	if err := s.record(c, "appointment.invite", p.ID, inv.ID, models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(inv)
}

// handlePatientInvitations lists a patient's booking invitations, newest first.
func (s *server) handlePatientInvitations(c *fiber.Ctx) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActReadAppointments)
	if err != nil {
		return err
	}
	items, next, err := s.invitations.ListInvitations(c.UserContext(), p.ID, page)
	if err != nil {
		return err
	}
	if err := s.record(c, string(auth.ActReadAppointments), p.ID, "invitations", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(newList(items, next))
}
