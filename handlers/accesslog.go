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
			ActorID: e.ActorID, ActorRole: e.ActorRole, ActorName: s.nameOf(c.UserContext(), e.ActorID),
			Action: e.Action, Outcome: e.Outcome})
	}
	if err := s.record(c, "audit.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(newList(items, next))
}

// nameOf returns a user's name for display, "" when unknown.
func (s *server) nameOf(ctx context.Context, id models.UserID) string {
	if id == "" {
		return ""
	}
	now := s.now()
	if u, ok := s.profiles.get(id, now); ok {
		return u.Name
	}
	u, err := s.users.UserByID(ctx, id)
	if err != nil {
		return ""
	}
	s.profiles.put(id, u, now)
	return u.Name
}
