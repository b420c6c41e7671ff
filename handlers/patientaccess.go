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
	if err := s.refusalAudited(c, string(act), p.ID, "", auth.Can(actorOf(c), act, p, s.now())); err != nil {
		return nil, err
	}
	return p, nil
}

// refusalAudited writes a refusal of the policy to the audit trail and passes it on; nil passes
// as nil. Every policy decision in the handlers goes through here or patientFor.
func (s *server) refusalAudited(c *fiber.Ctx, action string, patient models.PatientID, resource string, refusal error) error {
	if refusal == nil {
		return nil
	}
	if err := s.record(c, action, patient, resource, models.OutcomeDenied, models.ErrorCode(refusal)); err != nil {
		return err
	}
	return refusal
}

// listed keeps the patients of a list that the caller may see (auth.Can, ActReadPatient) and
// audits each one shown as a "patient.list" access under resource. A list is as much an access
// to each record in it as a read is.
func (s *server) listed(c *fiber.Ctx, pats []*models.Patient, resource string) ([]*models.Patient, error) {
	a, now := actorOf(c), s.now()
	shown := make([]*models.Patient, 0, len(pats))
	for _, p := range pats {
		if auth.Can(a, auth.ActReadPatient, p, now) != nil {
			continue
		}
		if err := s.record(c, "patient.list", p.ID, resource, models.OutcomeSuccess, ""); err != nil {
			return nil, err
		}
		shown = append(shown, p)
	}
	return shown, nil
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
