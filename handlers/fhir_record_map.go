package handlers

import (
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/models"
)

// Video consultations as Encounter, triage requests as ServiceRequest, and the audit trail as
// AuditEvent.

// fhirEncounter maps a call: a virtual encounter (class VR, CLINICAL.md). An open call nobody
// has joined yet is planned; an open call with participants is in progress; an ended one is
// finished.
func fhirEncounter(call *models.Call) fhir.Encounter {
	status := fhir.EncounterStatusInProgress
	switch {
	case call.Status == models.CallEnded:
		status = fhir.EncounterStatusFinished
	case len(call.Participants) == 0:
		status = fhir.EncounterStatusPlanned
	}
	res := fhir.Encounter{
		Id:      ptr(string(call.ID)),
		Status:  status,
		Class:   coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "VR", "virtual"),
		Subject: ptr(reference("Patient", string(call.PatientID))),
		Period:  &fhir.Period{Start: ptr(fhirInstant(call.CreatedAt))},
	}
	if call.EndedAt != nil {
		res.Period.End = ptr(fhirInstant(*call.EndedAt))
	}
	if call.AppointmentID != "" {
		res.Appointment = []fhir.Reference{reference("Appointment", string(call.AppointmentID))}
	}
	if call.TriageRequestID != "" {
		res.BasedOn = []fhir.Reference{reference("ServiceRequest", string(call.TriageRequestID))}
	}
	for _, p := range call.Participants {
		part := fhir.EncounterParticipant{Period: &fhir.Period{Start: ptr(fhirInstant(p.FirstAt))}}
		switch p.Kind {
		case models.KindPatient:
			continue // the patient is the subject
		case models.KindClinician:
			part.Type = []fhir.CodeableConcept{participationType("PPRF", "primary performer")}
			part.Individual = ptr(logicalRef("Practitioner", systemCarewayUser, string(p.UserID)))
		case models.KindCareStaff:
			part.Type = []fhir.CodeableConcept{participationType("PART", "Participation")}
			part.Individual = ptr(logicalRef("RelatedPerson", systemCarewayUser, string(p.UserID)))
		case models.KindGuest:
			// A carer or interpreter joined from a link: no account, so a name only.
			part.Type = []fhir.CodeableConcept{participationType("PART", "Participation")}
			ref := fhir.Reference{Type: ptr("RelatedPerson")}
			if strings.TrimSpace(p.Name) != "" {
				ref.Display = ptr(p.Name)
			}
			part.Individual = &ref
		default:
			continue
		}
		res.Participant = append(res.Participant, part)
	}
	return res
}

func participationType(code, display string) fhir.CodeableConcept {
	return concept("", coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code, display))
}

// triagePriority maps a triage priority onto FHIR's request priorities, which run routine <
// urgent < asap < stat: routine → routine, soon → urgent, urgent → asap, emergency → stat.
func triagePriority(p models.TriagePriority) fhir.RequestPriority {
	switch p {
	case models.PriorityRoutine:
		return fhir.RequestPriorityRoutine
	case models.PrioritySoon:
		return fhir.RequestPriorityUrgent
	case models.PriorityEmergency:
		return fhir.RequestPriorityStat
	}
	return fhir.RequestPriorityAsap // urgent, and (the safer side) anything unknown
}

// fhirServiceRequest maps a triage request. It is the patient's (or a proxy's) request for care,
// which is what R4's ServiceRequest with intent "proposal" describes: a request by someone who
// cannot order it, with a priority, reasons and the clinician's outcome. Communication would
// lose the priority and status; QuestionnaireResponse would need a Questionnaire Careway does
// not publish.
func fhirServiceRequest(r *models.TriageRequest) fhir.ServiceRequest {
	status := fhir.RequestStatusActive
	if r.Status == models.TriageCompleted {
		status = fhir.RequestStatusCompleted
	}
	res := fhir.ServiceRequest{
		Id:         ptr(string(r.ID)),
		Meta:       fhirMeta(r.UpdatedAt),
		Status:     status,
		Intent:     fhir.RequestIntentProposal,
		Priority:   ptr(triagePriority(r.Priority)),
		Code:       ptr(concept("Online consultation (triage) request")),
		Subject:    reference("Patient", string(r.PatientID)),
		AuthoredOn: ptr(fhirInstant(r.CreatedAt)),
	}
	if r.Source == models.SourcePatient {
		res.Requester = ptr(reference("Patient", string(r.PatientID)))
	}
	if mode := strings.TrimSpace(string(r.PreferredMode)); mode != "" {
		res.OrderDetail = []fhir.CodeableConcept{concept("Preferred: " + strings.ReplaceAll(mode, "_", " "))}
	}
	for _, f := range r.RedFlags {
		res.ReasonCode = append(res.ReasonCode, concept("Red flag: "+strings.ReplaceAll(string(f), "_", " ")))
	}
	for _, s := range r.Symptoms {
		if strings.TrimSpace(s) != "" {
			res.ReasonCode = append(res.ReasonCode, concept(s))
		}
	}
	if r.ObservationID != "" {
		res.ReasonReference = []fhir.Reference{reference("Observation", string(r.ObservationID))}
	}
	if strings.TrimSpace(r.Description) != "" {
		res.Note = append(res.Note, fhir.Annotation{Text: r.Description, Time: ptr(fhirInstant(r.CreatedAt))})
	}
	if strings.TrimSpace(r.Availability) != "" {
		res.PatientInstruction = ptr("Availability: " + r.Availability)
	}
	if o := r.Outcome; o != nil {
		text := "Outcome: " + strings.ReplaceAll(string(o.Kind), "_", " ")
		if strings.TrimSpace(o.Note) != "" {
			text += ". " + o.Note
		}
		res.Note = append(res.Note, fhir.Annotation{Text: text, Time: ptr(fhirInstant(o.DecidedAt))})
	}
	return res
}

// auditAction gives the FHIR action and RESTful interaction of an audit action name, by its
// verb.
func auditAction(action string) (fhir.AuditEventAction, string) {
	verb := action[strings.LastIndexByte(action, '.')+1:]
	switch verb {
	case "read", "queue", "waiting":
		return fhir.AuditEventActionR, "read"
	case "list":
		return fhir.AuditEventActionR, "search-type"
	case "create", "register", "book":
		return fhir.AuditEventActionC, "create"
	case "export":
		return fhir.AuditEventActionE, "operation"
	}
	return fhir.AuditEventActionU, "update"
}

// fhirAuditEvent maps one entry of a patient's access log: who (id, role and, for staff, name),
// what, when and the outcome. The caller's address and request id stay in Careway's audit trail
// for investigators, as in GET /api/v1/patients/{id}/access-log.
func fhirAuditEvent(e *models.AuditEvent, actorName string) fhir.AuditEvent {
	outcome := fhir.AuditEventOutcome0
	if e.Outcome != models.OutcomeSuccess {
		outcome = fhir.AuditEventOutcome4
	}
	who := fhir.Reference{Display: ptr("unknown")}
	if e.ActorID != "" {
		who = logicalRef(auditActorType(e.ActorRole), systemCarewayUser, string(e.ActorID))
		if actorName != "" {
			who.Display = ptr(actorName)
		}
	}
	agent := fhir.AuditEventAgent{Who: &who, Requestor: true}
	if e.ActorRole != "" {
		agent.Role = []fhir.CodeableConcept{concept(string(e.ActorRole))}
	}
	action, interaction := auditAction(e.Action)
	res := fhir.AuditEvent{
		Id:       ptr(e.ID),
		Type:     coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation"),
		Subtype:  []fhir.Coding{coding("http://hl7.org/fhir/restful-interaction", interaction, "")},
		Action:   &action,
		Recorded: fhirInstant(e.At),
		Outcome:  &outcome,
		Agent:    []fhir.AuditEventAgent{agent},
		Source:   fhir.AuditEventSource{Observer: fhir.Reference{Display: ptr("Careway")}},
	}
	if e.Outcome != models.OutcomeSuccess {
		desc := e.Outcome
		if e.Reason != "" {
			desc += ": " + e.Reason
		}
		res.OutcomeDesc = ptr(desc)
	}
	// Careway's own name for what was done (e.g. observation.read) is the entity's description.
	// Not entity.detail: fhir-models v0.3.2 writes AuditEventEntityDetail.valueBase64Binary
	// without omitempty, so every detail would carry an empty second value (invalid FHIR; the
	// validator harness caught it).
	entity := fhir.AuditEventEntity{Description: ptr(e.Action)}
	if e.PatientID != "" {
		entity.What = ptr(reference("Patient", string(e.PatientID)))
	}
	res.Entity = []fhir.AuditEventEntity{entity}
	return res
}

// auditActorType is the FHIR type an actor of a role would be.
func auditActorType(r models.Role) string {
	switch r {
	case models.RolePatient:
		return "Patient"
	case models.RoleCareHomeStaff:
		return "RelatedPerson"
	}
	return "Practitioner"
}
