package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

// patientFor is the one way a handler reaches a patient's record: it loads the patient named by
// the route's :patientId, asks auth.Can whether the caller may do act, and writes a refusal to
// the audit trail. The handler audits its own success with s.record once the work is done.
// Returns ENOTFOUND for an unknown patient and EFORBIDDEN when the policy refuses.
func (s *server) patientFor(c *fiber.Ctx, act auth.Action) (*models.Patient, error) {
	id := models.PatientID(c.Params("patientId"))
	if !models.IsUUID(string(id)) {
		return nil, models.Errorf(models.ENOTFOUND, "No patient has this id.")
	}
	return s.authorizePatient(c, act, id)
}

// authorizePatient is patientFor for a patient id that came from somewhere other than the path
// (a body field or a query parameter).
func (s *server) authorizePatient(c *fiber.Ctx, act auth.Action, id models.PatientID) (*models.Patient, error) {
	p, err := s.patients.PatientByID(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	if err := auth.Can(actorOf(c), act, p, s.now()); err != nil {
		if aerr := s.record(c, string(act), p.ID, "", models.OutcomeDenied, models.ErrorCode(err)); aerr != nil {
			return nil, aerr
		}
		return nil, err
	}
	return p, nil
}

// record appends one audit event for the current request. Reads and writes of patient data are
// audited before the answer is sent; if the audit trail cannot be written the request fails
// (503/500) rather than leave an access unrecorded.
func (s *server) record(c *fiber.Ctx, action string, patient models.PatientID, resource, outcome, reason string) error {
	a := actorOf(c)
	return s.appendAudit(c.UserContext(), &models.AuditEvent{
		ActorID: a.UserID, ActorRole: a.Role, Action: action, PatientID: patient,
		Resource: resource, Outcome: outcome, Reason: reason,
		RequestID: requestID(c), ClientAddr: s.clientAddr(c),
	})
}

// appendAudit stamps and stores an event. Its context is detached from the request's, so a
// client that hangs up cannot stop its own access from being recorded.
func (s *server) appendAudit(ctx context.Context, e *models.AuditEvent) error {
	e.ID = models.NewID()
	e.At = s.now().UTC()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.audit.AppendAudit(ctx, e); err != nil {
		s.log.Error("audit write failed", "requestId", e.RequestID, "action", e.Action, "err", err)
		return err
	}
	return nil
}
