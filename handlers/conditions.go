package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

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

type conditionRequest struct {
	Code  string `json:"code"`
	Onset string `json:"onset"`
}

// handleConditionCreate records a long-term condition on a patient's record (clinicians of the
// practice: the same permission as writing the plan). 409 if it is active already.
func (s *server) handleConditionCreate(c *fiber.Ctx) error {
	var req conditionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var probs models.Problems
	info, ok := models.Conditions[models.ConditionCode(req.Code)]
	if !ok {
		probs.Add("code", "must be one of hypertension, type2_diabetes, asthma, copd, depression, anxiety, heart_failure, obesity")
	}
	now := s.now().UTC()
	checkOnset(&probs, req.Onset, now)
	if err := probs.Err(); err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActWritePlan)
	if err != nil {
		return err
	}
	cond := &models.Condition{ID: models.NewID(), PatientID: p.ID, Code: models.ConditionCode(req.Code), SNOMED: info.SNOMED,
		Display: info.Display, Onset: req.Onset, Status: models.ConditionActive, RecordedBy: actorOf(c).UserID, RecordedAt: now}
	if err := s.conditions.AddCondition(c.UserContext(), cond); err != nil {
		return conflictOn(err, "code", "is already an active condition of this patient")
	}
	if err := s.record(c, "condition.create", p.ID, cond.ID, models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(cond)
}

func checkOnset(probs *models.Problems, onset string, now time.Time) {
	if onset == "" {
		return
	}
	t, err := time.Parse(time.DateOnly, onset)
	switch {
	case err != nil:
		probs.Add("onset", "must be a date (YYYY-MM-DD)")
	case t.After(now):
		probs.Add("onset", "is in the future")
	}
}

type conditionUpdateRequest struct {
	Status string `json:"status"`
	Onset  string `json:"onset"`
}

// handleConditionUpdate changes a condition's status (active or resolved) and onset. A
// condition that no longer applies is resolved, never deleted.
func (s *server) handleConditionUpdate(c *fiber.Ctx) error {
	var req conditionUpdateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var probs models.Problems
	if req.Status != models.ConditionActive && req.Status != models.ConditionResolved {
		probs.Add("status", "must be active or resolved")
	}
	now := s.now().UTC()
	checkOnset(&probs, req.Onset, now)
	if err := probs.Err(); err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActWritePlan)
	if err != nil {
		return err
	}
	id := utils.CopyString(c.Params("conditionId"))
	cond, err := s.conditions.UpdateCondition(c.UserContext(), p.ID, id,
		models.ConditionUpdate{Status: req.Status, Onset: req.Onset, By: actorOf(c).UserID, At: now})
	if err != nil {
		return conflictOn(err, "status", "the condition is active in another entry")
	}
	if err := s.record(c, "condition.update", p.ID, cond.ID, models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(cond)
}
