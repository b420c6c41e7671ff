package handlers

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/auth"
	"careway/models"
)

// handlePatientExport answers GET /api/v1/patients/{patientId}/export: the patient's whole
// record as one FHIR R4 Bundle, for a subject-access request (UK GDPR), audited as
// patient.export. The Bundle is of type collection: FHIR's searchset is the result of a
// search, document needs a Composition and attestation, and collection is "a set of resources
// collected into a single package for ease of distribution", which is what an export is.
//
// It holds the Patient, every Condition, every reading (with those entered in error, flagged)
// and derived BMI, every version of every plan (CarePlan, one entry per version with its
// meta.versionId) and the current plans' Goals, every Appointment, every triage request
// (ServiceRequest), every video consultation (Encounter) and the record's access log
// (AuditEvent, as GET /access-log shows it).
func (s *server) handlePatientExport(c *fiber.Ctx) error {
	p, err := s.patientFor(c, auth.ActExport)
	if err != nil {
		return err
	}
	calls, ok := s.calls.(callLister)
	if s.observations == nil || s.plans == nil || s.appointments == nil || s.triage == nil || !ok {
		return models.Errorf(models.EINTERNAL, "the export needs every store")
	}
	ctx := c.UserContext()
	res, err := s.patientResource(c, p)
	if err != nil {
		return err
	}
	entries := []fhirEntry{{"Patient", string(p.ID), res}}

	conds, err := s.conditions.ListConditions(ctx, p.ID)
	if err != nil {
		return err
	}
	for _, cond := range conds {
		entries = append(entries, fhirEntry{"Condition", cond.ID, fhirCondition(cond)})
	}
	condRefs := conditionRefs(conds)

	if err := eachPage(ctx, func(pg models.Page) (string, error) {
		items, next, err := s.observations.ListObservations(ctx, models.ObservationFilter{PatientID: p.ID, IncludeEnteredInError: true, Ascending: true}, pg)
		for _, o := range items {
			entries = append(entries, fhirObservations(o)...)
		}
		return next, err
	}); err != nil {
		return err
	}

	plans, err := s.plans.ListPlans(ctx, p.ID)
	if err != nil {
		return err
	}
	for _, plan := range plans {
		versions, err := s.plans.PlanVersions(ctx, p.ID, plan.ID)
		if err != nil {
			return err
		}
		for _, v := range versions {
			entries = append(entries, fhirEntry{"CarePlan", string(v.ID), fhirCarePlan(v, condRefs)})
		}
		for i := range plan.Goals {
			entries = append(entries, fhirEntry{"Goal", goalID(plan.ID, i), fhirGoal(plan, i, condRefs)})
		}
	}

	if err := eachPage(ctx, func(pg models.Page) (string, error) {
		items, next, err := s.appointments.ListAppointments(ctx, models.AppointmentFilter{PatientID: p.ID}, pg)
		for _, a := range items {
			entries = append(entries, fhirEntry{"Appointment", string(a.ID), fhirAppointment(a)})
		}
		return next, err
	}); err != nil {
		return err
	}
	if err := eachPage(ctx, func(pg models.Page) (string, error) {
		items, next, err := s.triage.ListTriageForPatient(ctx, p.ID, pg)
		for _, r := range items {
			entries = append(entries, fhirEntry{"ServiceRequest", string(r.ID), fhirServiceRequest(r)})
		}
		return next, err
	}); err != nil {
		return err
	}
	if err := eachPage(ctx, func(pg models.Page) (string, error) {
		items, next, err := calls.ListCallsForPatient(ctx, p.ID, pg)
		for _, call := range items {
			entries = append(entries, fhirEntry{"Encounter", string(call.ID), fhirEncounter(call)})
		}
		return next, err
	}); err != nil {
		return err
	}
	if err := eachPage(ctx, func(pg models.Page) (string, error) {
		items, next, err := s.audit.ListAuditByPatient(ctx, p.ID, pg)
		for _, e := range items {
			entries = append(entries, fhirEntry{"AuditEvent", e.ID, fhirAuditEvent(e, s.staffName(ctx, e))})
		}
		return next, err
	}); err != nil {
		return err
	}

	b := fhir.Bundle{Type: fhir.BundleTypeCollection, Timestamp: ptr(s.now().UTC().Format(time.RFC3339)),
		Identifier: &fhir.Identifier{System: ptr("urn:ietf:rfc:3986"), Value: ptr("urn:uuid:" + models.NewID())}}
	base := c.BaseURL() + fhirBase + "/"
	for _, e := range entries {
		raw, err := json.Marshal(e.resource)
		if err != nil {
			return err
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullUrl: ptr(base + e.resourceType + "/" + e.id), Resource: raw})
	}
	if err := s.record(c, string(auth.ActExport), p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="careway-record-`+string(p.ID)+`.json"`)
	return fhirJSON(c, b)
}

// eachPage calls list with successive pages of the largest size until it returns no cursor.
func eachPage(ctx context.Context, list func(models.Page) (string, error)) error {
	pg := models.Page{Limit: models.MaxPageLimit}
	for {
		if err := ctx.Err(); err != nil {
			return models.Errorf(models.EUNAVAILABLE, "The export was interrupted; try again.")
		}
		next, err := list(pg)
		if err != nil || next == "" {
			return err
		}
		pg.Cursor = next
	}
}
