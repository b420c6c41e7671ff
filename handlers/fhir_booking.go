package handlers

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

// FHIR reads and searches of booking data. Schedules and slots carry no patient data (a slot is
// only free or busy, never whose), and any signed-in user may search free slots through the API
// (GET /api/v1/slots), so the same holds here. Appointments are the patient's: ActReadAppointments.

// sessionSlots lists all the slots of a session (store.SlotStore has it).
type sessionSlots interface {
	ListSessionSlots(ctx context.Context, session models.SessionID) ([]*models.Slot, error)
}

// callLister lists a patient's calls (store.CallStore has it).
type callLister interface {
	ListCallsForPatient(ctx context.Context, patient models.PatientID, p models.Page) ([]*models.Call, string, error)
}

// handleFHIRScheduleRead answers GET /fhir/r4/Schedule/{id}: a session.
func (s *server) handleFHIRScheduleRead(c *fiber.Ctx) error {
	id := c.Params("id")
	if !models.IsUUID(id) {
		return models.Errorf(models.ENOTFOUND, "No schedule has this id.")
	}
	sess, err := s.sessions.SessionByID(c.UserContext(), models.SessionID(id))
	if err != nil {
		return err
	}
	return fhirJSON(c, fhirSchedule(sess))
}

// handleFHIRSlotRead answers GET /fhir/r4/Slot/{id}.
func (s *server) handleFHIRSlotRead(c *fiber.Ctx) error {
	id := c.Params("id")
	if !models.IsUUID(id) {
		return models.Errorf(models.ENOTFOUND, "No slot has this id.")
	}
	slot, err := s.slots.SlotByID(c.UserContext(), models.SlotID(id))
	if err != nil {
		return err
	}
	return fhirJSON(c, fhirSlot(slot))
}

// handleFHIRSlotSearch answers GET /fhir/r4/Slot?schedule=&status=&start=: the slots of one
// schedule (session), optionally only free or busy ones, optionally by start time.
func (s *server) handleFHIRSlotSearch(c *fiber.Ctx) error {
	q, err := fhirQuery(c, "schedule", "status", "start")
	if err != nil {
		return err
	}
	var probs models.Problems
	sched := strings.TrimPrefix(q.one("schedule", &probs), "Schedule/")
	if err := probs.Err(); err != nil {
		return err
	}
	if !models.IsUUID(sched) {
		return fieldError("schedule", "is required: Schedule/{id} of a session")
	}
	statuses, err := q.tokens("status")
	if err != nil {
		return err
	}
	for _, t := range statuses {
		switch t.Code {
		case "free", "busy", "busy-unavailable", "busy-tentative", "entered-in-error":
		default:
			return fieldError("status", "must be free, busy, busy-unavailable, busy-tentative or entered-in-error")
		}
	}
	from, to, err := q.dateRange("start")
	if err != nil {
		return err
	}
	page, err := q.page()
	if err != nil {
		return err
	}
	lister, ok := s.slots.(sessionSlots)
	if !ok {
		return models.Errorf(models.EINTERNAL, "the slot store cannot list a session's slots")
	}
	if _, err := s.sessions.SessionByID(c.UserContext(), models.SessionID(sched)); err != nil {
		return err
	}
	all, err := lister.ListSessionSlots(c.UserContext(), models.SessionID(sched))
	if err != nil {
		return err
	}
	var matched []fhirEntry
	for _, sl := range all {
		if (!from.IsZero() && sl.Start.Before(from)) || (!to.IsZero() && !sl.Start.Before(to)) {
			continue
		}
		if !matchesAny(statuses, "http://hl7.org/fhir/slotstatus", slotStatus(sl.Status).Code()) {
			continue
		}
		matched = append(matched, fhirEntry{"Slot", string(sl.ID), fhirSlot(sl)})
	}
	entries, next, err := pageSlice(matched, page)
	if err != nil {
		return err
	}
	b, err := s.searchBundle(c, q, "Slot", entries, next)
	if err != nil {
		return err
	}
	return fhirJSON(c, b)
}

// handleFHIRAppointmentRead answers GET /fhir/r4/Appointment/{id}.
func (s *server) handleFHIRAppointmentRead(c *fiber.Ctx) error {
	id := c.Params("id")
	if !models.IsUUID(id) {
		return models.Errorf(models.ENOTFOUND, "No appointment has this id.")
	}
	a, err := s.appointments.AppointmentByID(c.UserContext(), models.AppointmentID(id))
	if err != nil {
		return err
	}
	p, err := s.authorizePatient(c, auth.ActReadAppointments, a.PatientID)
	if err != nil {
		return err
	}
	if err := s.record(c, string(auth.ActReadAppointments), p.ID, string(a.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return fhirJSON(c, fhirAppointment(a))
}

// handleFHIRAppointmentSearch answers GET /fhir/r4/Appointment?patient=&date=&status=: the
// patient's appointments by start time.
func (s *server) handleFHIRAppointmentSearch(c *fiber.Ctx) error {
	q, err := fhirQuery(c, "patient", "date", "status")
	if err != nil {
		return err
	}
	id, err := q.patient("patient")
	if err != nil {
		return err
	}
	from, to, err := q.dateRange("date")
	if err != nil {
		return err
	}
	statuses, err := q.tokens("status")
	if err != nil {
		return err
	}
	var want []string
	for _, t := range statuses {
		matched := false
		for _, st := range []string{models.ApptBooked, models.ApptArrived, models.ApptFulfilled, models.ApptCancelled, models.ApptNoShow, models.ApptNeedsRebooking} {
			if appointmentStatus(st).Code() == t.Code {
				want, matched = append(want, st), true
			}
		}
		if !matched && !validAppointmentStatus(t.Code) {
			return fieldError("status", "must be an appointment status: proposed, pending, booked, arrived, fulfilled, cancelled, noshow, entered-in-error, checked-in or waitlist")
		}
	}
	page, err := q.page()
	if err != nil {
		return err
	}
	p, err := s.fhirPatientFor(c, auth.ActReadAppointments, string(id))
	if err != nil {
		return err
	}
	var entries []fhirEntry
	next := ""
	// A status Careway never uses (proposed, waitlist…) matches nothing.
	if statuses == nil || len(want) > 0 {
		items, n, err := s.appointments.ListAppointments(c.UserContext(),
			models.AppointmentFilter{PatientID: p.ID, Statuses: want, From: from, To: to}, page)
		if err != nil {
			return err
		}
		next = n
		entries = mapItems(items, func(a *models.Appointment) fhirEntry {
			return fhirEntry{"Appointment", string(a.ID), fhirAppointment(a)}
		})
	}
	b, err := s.searchBundle(c, q, "Appointment", entries, next)
	if err != nil {
		return err
	}
	if err := s.record(c, string(auth.ActReadAppointments), p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return fhirJSON(c, b)
}

// validAppointmentStatus reports whether code is one of R4's appointment statuses (CLINICAL.md).
func validAppointmentStatus(code string) bool {
	switch code {
	case "proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error", "checked-in", "waitlist":
		return true
	}
	return false
}

// handleFHIREncounterRead answers GET /fhir/r4/Encounter/{id}: a video consultation (a call),
// for those who may take part in the patient's calls (ActJoinCall, as GET /api/v1/calls/{id}).
func (s *server) handleFHIREncounterRead(c *fiber.Ctx) error {
	id := c.Params("id")
	if !models.IsUUID(id) {
		return models.Errorf(models.ENOTFOUND, "No encounter has this id.")
	}
	call, err := s.calls.CallByID(c.UserContext(), models.CallID(id))
	if err != nil {
		return err
	}
	p, err := s.authorizePatient(c, auth.ActJoinCall, call.PatientID)
	if err != nil {
		return err
	}
	if err := s.record(c, "call.read", p.ID, string(call.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return fhirJSON(c, fhirEncounter(call))
}

// handleFHIREncounterSearch answers GET /fhir/r4/Encounter?patient=: the patient's video
// consultations, newest first.
func (s *server) handleFHIREncounterSearch(c *fiber.Ctx) error {
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
	lister, ok := s.calls.(callLister)
	if !ok {
		return models.Errorf(models.EINTERNAL, "the call store cannot list a patient's calls")
	}
	p, err := s.fhirPatientFor(c, auth.ActJoinCall, string(id))
	if err != nil {
		return err
	}
	calls, next, err := lister.ListCallsForPatient(c.UserContext(), p.ID, page)
	if err != nil {
		return err
	}
	entries := mapItems(calls, func(call *models.Call) fhirEntry { return fhirEntry{"Encounter", string(call.ID), fhirEncounter(call)} })
	b, err := s.searchBundle(c, q, "Encounter", entries, next)
	if err != nil {
		return err
	}
	if err := s.record(c, "call.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return fhirJSON(c, b)
}
