package handlers

import (
	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

type callCreateRequest struct {
	PatientID       models.PatientID       `json:"patientId"`
	TriageRequestID models.TriageRequestID `json:"triageRequestId"`
	AppointmentID   models.AppointmentID   `json:"appointmentId"`
}

// callAnswer is a call as its participants see it; clinicians also see its guest invites.
type callAnswer struct {
	*models.Call
	Invites []*models.CallInvite `json:"invites,omitempty"`
}

// handleCallCreate opens a video consultation for a patient (clinicians of the patient's
// practice): directly, from a triage request or from a video appointment. For a request or an
// appointment that already has an open call, that call is returned (200) and nothing is created,
// so a retry or a second click gives one call.
func (s *server) handleCallCreate(c *fiber.Ctx) error {
	var req callCreateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var probs models.Problems
	if !models.IsUUID(string(req.PatientID)) {
		probs.Add("patientId", "must be a patient id")
	}
	if req.TriageRequestID != "" && req.AppointmentID != "" {
		probs.Add("appointmentId", "give a triage request or an appointment, not both")
	}
	if err := probs.Err(); err != nil {
		return err
	}
	p, err := s.authorizePatient(c, auth.ActManageCall, req.PatientID)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if req.TriageRequestID != "" {
		r, err := s.triage.TriageRequestByID(ctx, req.TriageRequestID)
		if models.ErrorCode(err) == models.ENOTFOUND || (err == nil && r.PatientID != p.ID) {
			return fieldError("triageRequestId", "is not a triage request of this patient")
		} else if err != nil {
			return err
		}
	}
	if req.AppointmentID != "" {
		if err := s.checkCallAppointment(c, p.ID, req.AppointmentID); err != nil {
			return err
		}
	}
	if req.TriageRequestID != "" || req.AppointmentID != "" {
		existing, err := s.calls.OpenCallFor(ctx, req.AppointmentID, req.TriageRequestID)
		if err == nil {
			if err := s.record(c, "call.read", p.ID, string(existing.ID), models.OutcomeSuccess, ""); err != nil {
				return err
			}
			return c.JSON(callAnswer{Call: existing})
		} else if models.ErrorCode(err) != models.ENOTFOUND {
			return err
		}
	}
	call := &models.Call{PatientID: p.ID, PracticeID: p.PracticeID, TriageRequestID: req.TriageRequestID,
		AppointmentID: req.AppointmentID, CreatedBy: actorOf(c).UserID, Status: models.CallOpen,
		Participants: []models.CallParticipant{}, CreatedAt: s.now().UTC()}
	if err := s.calls.CreateCall(ctx, call); err != nil {
		return err
	}
	if err := s.record(c, "call.create", p.ID, string(call.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(callAnswer{Call: call})
}

// checkCallAppointment checks that an appointment named for a call is the patient's, and not
// cancelled (when the booking store is wired).
func (s *server) checkCallAppointment(c *fiber.Ctx, patient models.PatientID, id models.AppointmentID) error {
	if s.appointments == nil {
		return nil
	}
	a, err := s.appointments.AppointmentByID(c.UserContext(), id)
	switch {
	case models.ErrorCode(err) == models.ENOTFOUND || (err == nil && a.PatientID != patient):
		return fieldError("appointmentId", "is not an appointment of this patient")
	case err != nil:
		return err
	case a.Status == models.ApptCancelled:
		return fieldError("appointmentId", "is cancelled")
	}
	return nil
}

// callFor loads the call named by the route's :callId and authorises act on its patient
// (auditing a refusal). Returns ENOTFOUND for an unknown or malformed id.
func (s *server) callFor(c *fiber.Ctx, act auth.Action) (*models.Call, *models.Patient, error) {
	id := models.CallID(c.Params("callId"))
	if !models.IsUUID(string(id)) {
		return nil, nil, models.Errorf(models.ENOTFOUND, "No call has this id.")
	}
	call, err := s.calls.CallByID(c.UserContext(), id)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.authorizePatient(c, act, call.PatientID)
	if err != nil {
		return nil, nil, err
	}
	return call, p, nil
}

// handleCallGet shows a call to its participants; clinicians also see its invites.
func (s *server) handleCallGet(c *fiber.Ctx) error {
	call, p, err := s.callFor(c, auth.ActJoinCall)
	if err != nil {
		return err
	}
	ans := callAnswer{Call: call}
	if auth.Can(actorOf(c), auth.ActManageCall, p, s.now()) == nil {
		if ans.Invites, err = s.calls.ListCallInvites(c.UserContext(), call.ID); err != nil {
			return err
		}
	}
	if err := s.record(c, "call.read", call.PatientID, string(call.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(ans)
}

// openCall refuses a call that has ended: nobody may join or be invited any more.
func openCall(call *models.Call) error {
	if call.Status != models.CallOpen {
		return models.Errorf(models.ECONFLICT, "This call has ended.")
	}
	return nil
}
