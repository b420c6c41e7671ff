package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

// accessEntry is one line of a patient's access log: who touched the record, when, and how.
// The caller's address and request id stay in the audit trail for investigators.
type accessEntry struct {
	ID        string        `json:"id"`
	At        string        `json:"at"`
	ActorID   models.UserID `json:"actorId,omitempty"`
	ActorRole models.Role   `json:"actorRole,omitempty"`
	ActorName string        `json:"actorName,omitempty"`
	Action    string        `json:"action"`
	Outcome   string        `json:"outcome"`
}

// handleAccessLog shows a patient who has accessed their record, newest first (UK GDPR).
func (s *server) handleAccessLog(c *fiber.Ctx) error {
	p, err := s.patientFor(c, auth.ActReadAccessLog)
	if err != nil {
		return err
	}
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	events, next, err := s.audit.ListAuditByPatient(c.UserContext(), p.ID, page)
	if err != nil {
		return err
	}
	items := make([]accessEntry, 0, len(events))
	for _, e := range events {
		items = append(items, accessEntry{ID: e.ID, At: e.At.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
			ActorID: e.ActorID, ActorRole: e.ActorRole, ActorName: s.staffName(c.UserContext(), e),
			Action: e.Action, Outcome: e.Outcome})
	}
	if err := s.record(c, "audit.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(newList(items, next))
}

// staffName returns the name of the member of staff behind an event, for the patient to read.
// Other patients stay anonymous: a patient refused access to someone else's record must not
// have their own name shown to that person.
func (s *server) staffName(ctx context.Context, e *models.AuditEvent) string {
	if e.ActorID == "" || e.ActorRole == models.RolePatient || e.ActorRole == "" {
		return ""
	}
	now := s.now()
	if name, ok := s.names.get(e.ActorID, now); ok {
		return name
	}
	u, err := s.users.UserByID(ctx, e.ActorID)
	if err != nil {
		return "" // a name is a courtesy; the id is always shown
	}
	s.names.put(e.ActorID, u.Name, now)
	return u.Name
}
