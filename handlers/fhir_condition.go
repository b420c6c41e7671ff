package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/auth"
	"careway/models"
)

// handleFHIRConditionSearch answers GET /fhir/r4/Condition?patient=&code=: the patient's
// long-term conditions (ActReadClinical, as GET /api/v1/patients/{id}/conditions).
func (s *server) handleFHIRConditionSearch(c *fiber.Ctx) error {
	q, err := fhirQuery(c, "patient", "code")
	if err != nil {
		return err
	}
	id, err := q.patient("patient")
	if err != nil {
		return err
	}
	codes, err := q.tokens("code")
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
	all, err := s.conditions.ListConditions(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	var matched []*models.Condition
	for _, cond := range all {
		if matchesAny(codes, systemSNOMED, cond.SNOMED) {
			matched = append(matched, cond)
		}
	}
	items, next, err := pageSlice(matched, page)
	if err != nil {
		return err
	}
	entries := mapItems(items, func(cond *models.Condition) fhirEntry {
		return fhirEntry{"Condition", cond.ID, fhirCondition(cond)}
	})
	b, err := s.searchBundle(c, q, "Condition", entries, next)
	if err != nil {
		return err
	}
	if err := s.record(c, "condition.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return fhirJSON(c, b)
}

// matchesAny reports whether a code matches one of the tokens of a search (no tokens: all do).
func matchesAny(tokens []token, system, code string) bool {
	if len(tokens) == 0 {
		return true
	}
	for _, t := range tokens {
		if t.matches(system, code) {
			return true
		}
	}
	return false
}

// pageSlice pages a short list held in memory (a patient's conditions or plans: a handful). Its
// cursor is the offset of the next item.
func pageSlice[T any](items []T, page models.Page) ([]T, string, error) {
	start := 0
	if page.Cursor != "" {
		n, err := strconv.Atoi(page.Cursor)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", fieldError("cursor", "is not a cursor this server issued")
		}
		start = n
	}
	end := min(start+page.Limit, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

// fhirCondition maps a long-term condition to a FHIR Condition on the patient's problem list.
func fhirCondition(cond *models.Condition) fhir.Condition {
	status := "active"
	if cond.Status == "resolved" {
		status = "resolved"
	}
	res := fhir.Condition{
		Id:             ptr(cond.ID),
		ClinicalStatus: ptr(concept("", coding("http://terminology.hl7.org/CodeSystem/condition-clinical", status, ""))),
		VerificationStatus: ptr(concept("", coding("http://terminology.hl7.org/CodeSystem/condition-ver-status",
			"confirmed", "Confirmed"))),
		Category: []fhir.CodeableConcept{concept("", coding("http://terminology.hl7.org/CodeSystem/condition-category",
			"problem-list-item", "Problem List Item"))},
		Code:    ptr(concept(cond.Display, coding(systemSNOMED, cond.SNOMED, cond.Display))),
		Subject: reference("Patient", string(cond.PatientID)),
	}
	if cond.Onset != "" {
		res.OnsetDateTime = ptr(cond.Onset)
	}
	if !cond.RecordedAt.IsZero() {
		res.RecordedDate = ptr(fhirInstant(cond.RecordedAt))
	}
	return res
}
