package handlers

import (
	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

// handleConditionList returns a patient's long-term conditions, oldest first, as one page.
func (s *server) handleConditionList(c *fiber.Ctx) error {
	p, err := s.patientFor(c, auth.ActReadClinical)
	if err != nil {
		return err
	}
	items, err := s.conditions.ListConditions(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	if err := s.record(c, "condition.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(newList(items, ""))
}
