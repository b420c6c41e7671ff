package handlers

import (
	"context"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

// FHIR reads and searches of long-term-condition data: Observation (readings), CarePlan and
// Goal (self-management plans). Each goes through the same policy actions and audit names as
// the API's own routes for the same data.

// handleFHIRObservationSearch answers GET /fhir/r4/Observation?patient=&code=&date=: the
// patient's readings, newest first, including those entered in error (flagged by status, as
// FHIR expects a consumer to see a withdrawal).
func (s *server) handleFHIRObservationSearch(c *fiber.Ctx) error {
	q, err := fhirQuery(c, "patient", "code", "date")
	if err != nil {
		return err
	}
	id, err := q.patient("patient")
	if err != nil {
		return err
	}
	tokens, err := q.tokens("code")
	if err != nil {
		return err
	}
	from, to, err := q.dateRange("date")
	if err != nil {
		return err
	}
	page, err := q.page()
	if err != nil {
		return err
	}
	p, err := s.fhirPatientFor(c, auth.ActReadClinical, string(id))
	if err != nil {
		return err
	}
	var entries []fhirEntry
	next := ""
	codes, bmi := readingCodesFor(tokens)
	stored := slices.Clone(codes)
	if bmi && !slices.Contains(stored, models.CodeBodyWeight) {
		stored = append(stored, models.CodeBodyWeight)
	}
	// A code that names nothing Careway records matches nothing: no need to ask the store.
	if tokens == nil || len(stored) > 0 {
		f := models.ObservationFilter{PatientID: p.ID, From: from, To: to, IncludeEnteredInError: true}
		if len(stored) == 1 {
			f.Code = stored[0]
		}
		var items []*models.Observation
		items, next, err = s.observations.ListObservations(c.UserContext(), f, page)
		if err != nil {
			return err
		}
		for _, o := range items {
			for _, e := range fhirObservations(o) {
				isBMI := strings.HasSuffix(e.id, bmiSuffix)
				if tokens == nil || (isBMI && bmi) || (!isBMI && slices.Contains(codes, o.Code)) {
					entries = append(entries, e)
				}
			}
		}
	}
	b, err := s.searchBundle(c, q, "Observation", entries, next)
	if err != nil {
		return err
	}
	if err := s.record(c, "observation.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return fhirJSON(c, b)
}

// handleFHIRObservationRead answers GET /fhir/r4/Observation/{id}: a reading, or the BMI
// derived from a weight ({id}-bmi).
func (s *server) handleFHIRObservationRead(c *fiber.Ctx) error {
	id := c.Params("id")
	readingID, isBMI := strings.CutSuffix(id, bmiSuffix)
	notFound := models.Errorf(models.ENOTFOUND, "No observation has this id.")
	if !models.IsUUID(readingID) {
		return notFound
	}
	found, err := s.observations.ObservationsByID(c.UserContext(), []models.ObservationID{models.ObservationID(readingID)})
	if err != nil {
		return err
	}
	o, ok := found[models.ObservationID(readingID)]
	if !ok {
		return notFound
	}
	p, err := s.authorizePatient(c, auth.ActReadClinical, o.PatientID)
	if err != nil {
		return err
	}
	var res any = fhirObservation(o)
	if isBMI {
		if o.Code != models.CodeBodyWeight || o.BMI == nil {
			return notFound
		}
		res = fhirBMI(o)
	}
	if err := s.record(c, "observation.read", p.ID, readingID, models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return fhirJSON(c, res)
}

// planLocator finds the patient of a plan from its id alone (store.PlanStore has it).
type planLocator interface {
	PlanPatient(ctx context.Context, id models.PlanID) (models.PatientID, error)
}

// fhirPlanFor loads a plan named by id alone and authorises act on its patient. ENOTFOUND for
// an unknown plan, or when the plan store cannot look plans up by id.
func (s *server) fhirPlanFor(c *fiber.Ctx, id models.PlanID) (*models.Plan, *models.Patient, error) {
	loc, ok := s.plans.(planLocator)
	if !ok || !models.IsUUID(string(id)) {
		return nil, nil, models.Errorf(models.ENOTFOUND, "No plan has this id.")
	}
	pid, err := loc.PlanPatient(c.UserContext(), id)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.authorizePatient(c, auth.ActReadPlan, pid)
	if err != nil {
		return nil, nil, err
	}
	plan, err := s.plans.PlanByID(c.UserContext(), pid, id)
	if err != nil {
		return nil, nil, err
	}
	return plan, p, nil
}

// conditionsOf returns the map from condition codes to Condition ids of a patient. Plans refer
// to their condition with it; failing to read it only drops those references.
func (s *server) conditionsOf(ctx context.Context, p models.PatientID) map[models.ConditionCode]string {
	conds, err := s.conditions.ListConditions(ctx, p)
	if err != nil {
		return nil
	}
	return conditionRefs(conds)
}

// handleFHIRCarePlanRead answers GET /fhir/r4/CarePlan/{id}: the current version of a plan.
func (s *server) handleFHIRCarePlanRead(c *fiber.Ctx) error {
	plan, p, err := s.fhirPlanFor(c, models.PlanID(c.Params("id")))
	if err != nil {
		return err
	}
	res := fhirCarePlan(plan, s.conditionsOf(c.UserContext(), p.ID))
	if err := s.record(c, "plan.read", p.ID, string(plan.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return fhirJSON(c, res)
}

// handleFHIRGoalRead answers GET /fhir/r4/Goal/{id}: one goal of a plan's current version.
func (s *server) handleFHIRGoalRead(c *fiber.Ctx) error {
	planID, i, ok := parseGoalID(c.Params("id"))
	if !ok {
		return models.Errorf(models.ENOTFOUND, "No goal has this id.")
	}
	plan, p, err := s.fhirPlanFor(c, planID)
	if err != nil {
		return err
	}
	if i >= len(plan.Goals) {
		return models.Errorf(models.ENOTFOUND, "No goal has this id.")
	}
	res := fhirGoal(plan, i, s.conditionsOf(c.UserContext(), p.ID))
	if err := s.record(c, "plan.read", p.ID, string(plan.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return fhirJSON(c, res)
}

// handleFHIRCarePlanSearch answers GET /fhir/r4/CarePlan?patient=.
func (s *server) handleFHIRCarePlanSearch(c *fiber.Ctx) error {
	return s.planSearch(c, "CarePlan", func(plan *models.Plan, conds map[models.ConditionCode]string) []fhirEntry {
		return []fhirEntry{{"CarePlan", string(plan.ID), fhirCarePlan(plan, conds)}}
	})
}

// handleFHIRGoalSearch answers GET /fhir/r4/Goal?patient=: the goals of every current plan.
func (s *server) handleFHIRGoalSearch(c *fiber.Ctx) error {
	return s.planSearch(c, "Goal", func(plan *models.Plan, conds map[models.ConditionCode]string) []fhirEntry {
		out := make([]fhirEntry, 0, len(plan.Goals))
		for i := range plan.Goals {
			out = append(out, fhirEntry{"Goal", goalID(plan.ID, i), fhirGoal(plan, i, conds)})
		}
		return out
	})
}

// planSearch is the search of CarePlan and Goal: a patient's current plans, each mapped to
// resources, paged in memory (a patient has one plan per condition).
func (s *server) planSearch(c *fiber.Ctx, resourceType string, mapPlan func(*models.Plan, map[models.ConditionCode]string) []fhirEntry) error {
	q, err := fhirQuery(c, "patient")
	if err != nil {
		return err
	}
	id, err := q.patient("patient")
	if err != nil {
		return err
	}
	page, err := q.page()
	if err != nil {
		return err
	}
	p, err := s.fhirPatientFor(c, auth.ActReadPlan, string(id))
	if err != nil {
		return err
	}
	plans, err := s.plans.ListPlans(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	conds := s.conditionsOf(c.UserContext(), p.ID)
	var all []fhirEntry
	for _, plan := range plans {
		all = append(all, mapPlan(plan, conds)...)
	}
	entries, next, err := pageSlice(all, page)
	if err != nil {
		return err
	}
	b, err := s.searchBundle(c, q, resourceType, entries, next)
	if err != nil {
		return err
	}
	if err := s.record(c, "plan.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return fhirJSON(c, b)
}
