package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/auth"
	"careway/models"
	"careway/models/clinical"
)

// handleFHIRPatientRead answers GET /fhir/r4/Patient/{id}: the patient's demographics as a FHIR
// Patient, under the same policy (ActReadPatient) and audit as GET /api/v1/patients/{id}.
func (s *server) handleFHIRPatientRead(c *fiber.Ctx) error {
	p, err := s.fhirPatientFor(c, auth.ActReadPatient, c.Params("id"))
	if err != nil {
		return err
	}
	res, err := s.patientResource(c, p)
	if err != nil {
		return err
	}
	if err := s.record(c, string(auth.ActReadPatient), p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return fhirJSON(c, res)
}

// fhirPatientFor authorises act on the patient with the given id (from a FHIR path or search
// parameter): an id that is not a UUID names no patient.
func (s *server) fhirPatientFor(c *fiber.Ctx, act auth.Action, id string) (*models.Patient, error) {
	if !models.IsUUID(id) {
		return nil, models.Errorf(models.ENOTFOUND, "No patient has this id.")
	}
	return s.authorizePatient(c, act, models.PatientID(id))
}

// practiceOf returns the patient's practice, or nil when there is none (a self-registered
// patient not yet accepted) or it cannot be read: the practice only decorates the record.
func (s *server) practiceOf(ctx context.Context, p *models.Patient) *models.Practice {
	if p.PracticeID == "" {
		return nil
	}
	pr, err := s.orgs.PracticeByID(ctx, p.PracticeID)
	if err != nil {
		return nil
	}
	return pr
}

// fhirPatient maps a patient record to a FHIR Patient. Only an NHS number the practice has
// verified becomes an identifier: a number a patient typed when registering is a claim, and
// FHIR consumers treat an nhs-number identifier as the person's identity. Careway keeps one
// name string, so it goes in HumanName.text rather than being split by guesswork.
func fhirPatient(p *models.Patient, practice *models.Practice) fhir.Patient {
	res := fhir.Patient{Id: ptr(string(p.ID)), Meta: fhirMeta(p.UpdatedAt)}
	if p.NHSNumber != "" {
		res.Identifier = []fhir.Identifier{{System: ptr(systemNHSNumber), Value: ptr(p.NHSNumber)}}
	}
	if p.Name != "" {
		res.Name = []fhir.HumanName{{Use: ptr(fhir.NameUseOfficial), Text: ptr(p.Name)}}
	}
	if g, ok := fhirGender(p.Sex); ok {
		res.Gender = &g
	}
	if p.DateOfBirth != "" {
		res.BirthDate = ptr(p.DateOfBirth)
	}
	if practice != nil {
		res.GeneralPractitioner = []fhir.Reference{practiceReference(practice)}
	}
	return res
}

// extInterpreterRequired is FHIR R4's core extension saying that the patient needs an
// interpreter to communicate with the practice.
const extInterpreterRequired = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"

// patientResource maps p to a FHIR Patient for the caller. The interpreter needs recorded on the
// patient (a spoken-language interpreter, BSL) have a natural place in FHIR's Patient
// (communication, and the interpreterRequired extension), and are added when the policy lets the
// caller read the patient's adjustments (audited as that read); the other adjustments (step-free
// access, a longer appointment, a carer attending) travel on each Appointment instead.
func (s *server) patientResource(c *fiber.Ctx, p *models.Patient) (fhir.Patient, error) {
	res := fhirPatient(p, s.practiceOf(c.UserContext(), p))
	adj := p.CurrentAdjustments()
	if (!adj.Interpreter && !adj.BSL) || auth.Can(actorOf(c), auth.ActReadAdjustments, p, s.now()) != nil {
		return res, nil
	}
	if adj.Interpreter {
		// Careway keeps the language as the words the practice typed, so it goes in the text
		// (the binding of Patient.communication.language is only preferred).
		res.Communication = append(res.Communication, fhir.PatientCommunication{Language: fhir.CodeableConcept{Text: ptr(adj.Language)}, Preferred: ptr(true)})
	}
	if adj.BSL {
		// Text only: BSL's language tag (bfi) is outside FHIR's Common Languages value set.
		res.Communication = append(res.Communication, fhir.PatientCommunication{Language: fhir.CodeableConcept{Text: ptr("British Sign Language")},
			Preferred: ptr(!adj.Interpreter)})
	}
	res.Extension = append(res.Extension, fhir.Extension{Url: extInterpreterRequired, ValueBoolean: ptr(true)})
	return res, s.record(c, string(auth.ActReadAdjustments), p.ID, "fhir", models.OutcomeSuccess, "")
}

// practiceReference refers to a practice by its ODS code (the identifier every NHS system
// resolves) with its name; Careway does not serve Organization resources.
func practiceReference(pr *models.Practice) fhir.Reference {
	ref := fhir.Reference{Type: ptr("Organization"), Display: ptr(pr.Name)}
	if pr.ODSCode != "" {
		ref.Identifier = &fhir.Identifier{System: ptr(systemODS), Value: ptr(pr.ODSCode)}
	}
	return ref
}

// fhirGender maps the record's sex (already FHIR administrative-gender codes) to the type.
func fhirGender(sex string) (fhir.AdministrativeGender, bool) {
	switch sex {
	case "female":
		return fhir.AdministrativeGenderFemale, true
	case "male":
		return fhir.AdministrativeGenderMale, true
	case "other":
		return fhir.AdministrativeGenderOther, true
	case "unknown":
		return fhir.AdministrativeGenderUnknown, true
	}
	return 0, false
}

// fhirMeta gives lastUpdated when the time is known.
func fhirMeta(updated time.Time) *fhir.Meta {
	if updated.IsZero() {
		return nil
	}
	return &fhir.Meta{LastUpdated: ptr(fhirInstant(updated))}
}

// fhirInstant formats a time as a FHIR instant (UTC, milliseconds).
func fhirInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// patientFinder finds a patient by verified NHS number (store.PatientStore has it).
type patientFinder interface {
	PatientByNHSNumber(ctx context.Context, nhs string) (*models.Patient, error)
}

// handleFHIRPatientSearch answers GET /fhir/r4/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{n}:
// the patient with that verified NHS number, if the caller may see them. A patient the caller
// may not see is left out (and the refusal audited) rather than refused with 403: a 403 would
// tell anyone with an account whether a number belongs to a Careway patient.
func (s *server) handleFHIRPatientSearch(c *fiber.Ctx) error {
	q, err := fhirQuery(c, "identifier")
	if err != nil {
		return err
	}
	tokens, err := q.tokens("identifier")
	if err != nil {
		return err
	}
	if len(tokens) != 1 || (tokens[0].HasSystem && tokens[0].System != systemNHSNumber) {
		return fieldError("identifier", "is required: one NHS number, as "+systemNHSNumber+"|{10 digits}")
	}
	nhs, ok := clinical.ParseNHSNumber(tokens[0].Code)
	if !ok {
		return fieldError("identifier", "is not a valid NHS number (10 digits with a Modulus 11 check digit)")
	}
	if _, err := q.page(); err != nil {
		return err
	}
	finder, ok := s.patients.(patientFinder)
	if !ok {
		return models.Errorf(models.EINTERNAL, "the patient store cannot find patients by NHS number")
	}
	var entries []fhirEntry
	p, err := finder.PatientByNHSNumber(c.UserContext(), nhs)
	switch {
	case models.ErrorCode(err) == models.ENOTFOUND:
	case err != nil:
		return err
	default:
		refusal := auth.Can(actorOf(c), auth.ActReadPatient, p, s.now())
		if refusal != nil {
			if err := s.record(c, string(auth.ActReadPatient), p.ID, "", models.OutcomeDenied, models.ErrorCode(refusal)); err != nil {
				return err
			}
			break
		}
		if err := s.record(c, string(auth.ActReadPatient), p.ID, "", models.OutcomeSuccess, ""); err != nil {
			return err
		}
		res, err := s.patientResource(c, p)
		if err != nil {
			return err
		}
		entries = append(entries, fhirEntry{"Patient", string(p.ID), res})
	}
	b, err := s.searchBundle(c, q, "Patient", entries, "")
	if err != nil {
		return err
	}
	return fhirJSON(c, b)
}
