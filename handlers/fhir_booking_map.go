package handlers

import (
	"strings"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/models"
)

// Booking as FHIR: a session is a Schedule, its slots are Slots (free or busy), a booking is an
// Appointment. References to clinicians and sites are logical (an identifier in Careway's own
// systems): Careway serves no Practitioner or Location resources.

const (
	systemCarewayUser = "https://careway.example/Id/user"
	systemCarewaySite = "https://careway.example/Id/site"

	// extDeliveryChannel carries how an appointment (or a slot) is delivered. FHIR R4 has no
	// element for it (R5 added Appointment.virtualService); NHS GP Connect made it an extension
	// with the codes In-person, Telephone and Video, which Careway uses under its own URL
	// rather than claim conformance to an NHS profile it has not been assessed against.
	extDeliveryChannel = "https://careway.example/fhir/StructureDefinition/appointment-delivery-channel"
)

// deliveryChannel maps a mode to its delivery channel code.
func deliveryChannel(m models.AppointmentMode) (string, bool) {
	switch m {
	case models.ModeFaceToFace:
		return "In-person", true
	case models.ModePhone:
		return "Telephone", true
	case models.ModeVideo:
		return "Video", true
	}
	return "", false
}

func deliveryExtensions(modes ...models.AppointmentMode) []fhir.Extension {
	var out []fhir.Extension
	for _, m := range modes {
		if code, ok := deliveryChannel(m); ok {
			out = append(out, fhir.Extension{Url: extDeliveryChannel, ValueCode: ptr(code)})
		}
	}
	return out
}

// serviceTypeCodes maps service types to FHIR's service-type codes where one fits; a blood test
// has none that does (no "phlebotomy"), so it is text only.
var serviceTypeCodes = map[models.ServiceType]fhir.Coding{
	models.ServiceGP:         coding("http://terminology.hl7.org/CodeSystem/service-type", "124", "General Practice"),
	models.ServiceNurse:      coding("http://terminology.hl7.org/CodeSystem/service-type", "59", "Nursing"),
	models.ServiceLTCReview:  coding("http://terminology.hl7.org/CodeSystem/service-type", "554", "Chronic Disease Management"),
	models.ServiceMedication: coding("http://terminology.hl7.org/CodeSystem/service-type", "537", "Medication Reviews"),
	models.ServiceVaccine:    coding("http://terminology.hl7.org/CodeSystem/service-type", "57", "Immunization"),
}

var serviceTypeText = map[models.ServiceType]string{
	models.ServiceGP: "GP", models.ServiceNurse: "Nurse", models.ServiceBloodTest: "Blood test",
	models.ServiceLTCReview: "Long-term condition review", models.ServiceMedication: "Medication review",
	models.ServiceVaccine: "Vaccination",
}

// serviceCategoryGP is "General Practice" (service-category 17): every Careway session is one.
func serviceCategoryGP() []fhir.CodeableConcept {
	return []fhir.CodeableConcept{concept("", coding("http://terminology.hl7.org/CodeSystem/service-category", "17", "General Practice"))}
}

func serviceType(t models.ServiceType) []fhir.CodeableConcept {
	text := serviceTypeText[t]
	if text == "" {
		text = string(t)
	}
	if c, ok := serviceTypeCodes[t]; ok {
		return []fhir.CodeableConcept{concept(text, c)}
	}
	return []fhir.CodeableConcept{concept(text)}
}

// logicalRef refers to something Careway does not serve as a FHIR resource, by its Careway id.
func logicalRef(resourceType, system, id string) fhir.Reference {
	return fhir.Reference{Type: ptr(resourceType), Identifier: &fhir.Identifier{System: ptr(system), Value: ptr(id)}}
}

// fhirSchedule maps a session.
func fhirSchedule(s *models.Session) fhir.Schedule {
	res := fhir.Schedule{
		Id:              ptr(string(s.ID)),
		Meta:            fhirMeta(s.UpdatedAt),
		Active:          ptr(s.Status == models.SessionActive),
		ServiceCategory: serviceCategoryGP(),
		ServiceType:     serviceType(s.ServiceType),
		Actor: []fhir.Reference{logicalRef("Practitioner", systemCarewayUser, string(s.ClinicianID)),
			logicalRef("Location", systemCarewaySite, string(s.SiteID))},
		PlanningHorizon: &fhir.Period{Start: ptr(fhirInstant(s.Start)), End: ptr(fhirInstant(s.End))},
		Extension:       deliveryExtensions(s.Modes...),
	}
	if s.Status == models.SessionCancelled {
		text := "Cancelled"
		if strings.TrimSpace(s.CancelNote) != "" {
			text += ": " + s.CancelNote
		}
		res.Comment = ptr(text)
	}
	return res
}

// slotStatus maps a slot's status: held (being booked) and booked are busy; a slot of a
// cancelled session is busy-unavailable.
func slotStatus(status string) fhir.SlotStatus {
	switch status {
	case models.SlotFree:
		return fhir.SlotStatusFree
	case models.SlotCancelled:
		return fhir.SlotStatusBusyUnavailable
	}
	return fhir.SlotStatusBusy
}

// fhirSlot maps a slot. Only free or busy is shown, never who holds it.
func fhirSlot(s *models.Slot) fhir.Slot {
	return fhir.Slot{
		Id:              ptr(string(s.ID)),
		ServiceCategory: serviceCategoryGP(),
		ServiceType:     serviceType(s.ServiceType),
		Schedule:        reference("Schedule", string(s.SessionID)),
		Status:          slotStatus(s.Status),
		Start:           fhirInstant(s.Start),
		End:             fhirInstant(s.End),
		Extension:       deliveryExtensions(s.Modes...),
	}
}

// appointmentStatus maps a booking's status (CLINICAL.md lists FHIR's). An appointment that
// needs rebooking (its session was cancelled) will not happen at its time: cancelled, with the
// reason saying so, is the safe reading; waitlist would suggest the old time still stands.
func appointmentStatus(status string) fhir.AppointmentStatus {
	switch status {
	case models.ApptBooked:
		return fhir.AppointmentStatusBooked
	case models.ApptArrived:
		return fhir.AppointmentStatusArrived
	case models.ApptFulfilled:
		return fhir.AppointmentStatusFulfilled
	case models.ApptNoShow:
		return fhir.AppointmentStatusNoshow
	}
	return fhir.AppointmentStatusCancelled
}

// fhirAppointment maps a booking.
func fhirAppointment(a *models.Appointment) fhir.Appointment {
	res := fhir.Appointment{
		Id:              ptr(string(a.ID)),
		Meta:            fhirMeta(a.UpdatedAt),
		Extension:       deliveryExtensions(a.Mode),
		Status:          appointmentStatus(a.Status),
		ServiceCategory: serviceCategoryGP(),
		ServiceType:     serviceType(a.ServiceType),
		Start:           ptr(fhirInstant(a.Start)),
		End:             ptr(fhirInstant(a.End)),
		MinutesDuration: ptr(int(a.End.Sub(a.Start) / time.Minute)),
		Participant: []fhir.AppointmentParticipant{
			{Actor: ptr(reference("Patient", string(a.PatientID))), Required: ptr(fhir.ParticipantRequiredRequired), Status: fhir.ParticipationStatusAccepted},
			{Actor: ptr(logicalRef("Practitioner", systemCarewayUser, string(a.ClinicianID))), Required: ptr(fhir.ParticipantRequiredRequired), Status: fhir.ParticipationStatusAccepted},
		},
	}
	if a.Mode == models.ModeFaceToFace && a.SiteID != "" {
		res.Participant = append(res.Participant, fhir.AppointmentParticipant{
			Actor: ptr(logicalRef("Location", systemCarewaySite, string(a.SiteID))), Status: fhir.ParticipationStatusAccepted})
	}
	if !a.CreatedAt.IsZero() {
		res.Created = ptr(fhirInstant(a.CreatedAt))
	}
	for _, id := range a.SlotIDs {
		res.Slot = append(res.Slot, reference("Slot", string(id)))
	}
	if strings.TrimSpace(a.Reason) != "" {
		res.ReasonCode = []fhir.CodeableConcept{concept(a.Reason)}
	}
	switch {
	case a.Status == models.ApptNeedsRebooking:
		res.CancelationReason = ptr(concept("The practice cancelled the session; the appointment needs rebooking."))
	case a.Status == models.ApptCancelled && strings.TrimSpace(a.CancelReason) != "":
		res.CancelationReason = ptr(concept(a.CancelReason))
	}
	if adj := adjustmentsText(a.Adjustments); adj != "" {
		res.Comment = ptr(adj)
	}
	if a.TriageRequestID != "" {
		res.BasedOn = []fhir.Reference{reference("ServiceRequest", string(a.TriageRequestID))}
	}
	return res
}

// adjustmentsText writes the reasonable adjustments in words (R4 has no element for them).
func adjustmentsText(a models.Adjustments) string {
	var parts []string
	if a.Interpreter {
		parts = append(parts, "interpreter ("+a.Language+")")
	}
	if a.BSL {
		parts = append(parts, "British Sign Language interpreter")
	}
	if a.StepFree {
		parts = append(parts, "step-free access")
	}
	if a.Longer {
		parts = append(parts, "longer appointment")
	}
	if a.CarerAttending {
		parts = append(parts, "a carer attending")
	}
	if strings.TrimSpace(a.Notes) != "" {
		parts = append(parts, a.Notes)
	}
	if len(parts) == 0 {
		return ""
	}
	return "Reasonable adjustments: " + strings.Join(parts, "; ") + "."
}
