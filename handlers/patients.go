package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

type patientRequest struct {
	Name        string            `json:"name"`
	DateOfBirth string            `json:"dateOfBirth"`
	NHSNumber   string            `json:"nhsNumber"`
	Sex         string            `json:"sex"`
	PracticeID  models.PracticeID `json:"practiceId"`
	CareHomeID  models.CareHomeID `json:"careHomeId"`
}

// handlePatientCreate registers a patient record with a practice, with no account: how a
// practice adds a care-home resident or anyone who does not use the app.
func (s *server) handlePatientCreate(c *fiber.Ctx) error {
	var req patientRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	now := s.now().UTC()
	p := &models.Patient{ID: models.PatientID(models.NewID()), Name: strings.TrimSpace(req.Name),
		DateOfBirth: req.DateOfBirth, Sex: req.Sex, PracticeID: req.PracticeID, CareHomeID: req.CareHomeID,
		CreatedAt: now, UpdatedAt: now}
	probs := p.ValidatePerson(now)
	p.NHSNumber = nhsNumberField(req.NHSNumber, "nhsNumber", &probs)
	if p.PracticeID == "" {
		probs.Add("practiceId", "is required")
	}
	if err := probs.Err(); err != nil {
		return err
	}
	if err := s.canManageOrg(c, p.PracticeID); err != nil {
		return err
	}
	if err := s.checkRegistration(c, p.PracticeID, p.CareHomeID); err != nil {
		return err
	}
	if err := s.patients.CreatePatient(c.UserContext(), p); err != nil {
		return conflictOn(err, "nhsNumber", "is already registered")
	}
	if err := s.record(c, "patient.create", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

// checkRegistration checks that a practice exists and that a care home, if given, exists.
func (s *server) checkRegistration(c *fiber.Ctx, practice models.PracticeID, home models.CareHomeID) error {
	if _, err := s.bodyPractice(c, practice); err != nil {
		return err
	}
	if home != "" {
		if _, err := s.bodyCareHome(c, home); err != nil {
			return err
		}
	}
	return nil
}

// handlePatientGet returns a patient's record (demographics, registration, proxy consent).
func (s *server) handlePatientGet(c *fiber.Ctx) error {
	p, err := s.patientFor(c, auth.ActReadPatient)
	if err != nil {
		return err
	}
	if err := s.record(c, "patient.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(p)
}

type registrationRequest struct {
	PracticeID models.PracticeID `json:"practiceId"`
	CareHomeID models.CareHomeID `json:"careHomeId"`
	NHSNumber  string            `json:"nhsNumber"`
}

// handleRegistrationUpdate registers a patient with a practice and (or out of) a care home: a
// move, or the acceptance of a patient who registered themselves and asked to join. With
// nhsNumber the caller also records the number as verified (replacing any claim). The caller
// must administer both the patient's current practice (or the one they asked to join) and the
// new one. Leaving a care home withdraws its staff's proxy consent.
func (s *server) handleRegistrationUpdate(c *fiber.Ctx) error {
	var req registrationRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var probs models.Problems
	if req.PracticeID == "" {
		probs.Add("practiceId", "is required")
	}
	digits := nhsNumberField(req.NHSNumber, "nhsNumber", &probs)
	if err := probs.Err(); err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActManageRegistration)
	if err != nil {
		return err
	}
	if err := s.canManageOrg(c, req.PracticeID); err != nil {
		return err
	}
	if err := s.checkRegistration(c, req.PracticeID, req.CareHomeID); err != nil {
		return err
	}
	ctx, now := c.UserContext(), s.now().UTC()
	// The number first: if another record holds it, nothing has changed yet.
	if digits != "" && digits != p.NHSNumber {
		if _, err := s.patients.SetNHSNumber(ctx, p.ID, p.PracticeID, digits, now); err != nil {
			return conflictOn(err, "nhsNumber", "is held by another patient record, or the record changed")
		}
	}
	p, err = s.patients.UpdateRegistration(ctx, p.ID, p.PracticeID, req.PracticeID, req.CareHomeID, now)
	if err != nil {
		return err
	}
	if err := s.record(c, "patient.registration", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(p)
}

type consentRequest struct {
	CareHomeID models.CareHomeID   `json:"careHomeId"`
	Scopes     []models.ProxyScope `json:"scopes"`
	Basis      string              `json:"basis"`
	From       *jsonTime           `json:"from"`
	Until      *jsonTime           `json:"until"`
}

// handleProxyConsentSet records what the staff of the patient's care home may do for them. It
// replaces any earlier consent; the audit trail keeps the history of who recorded what.
func (s *server) handleProxyConsentSet(c *fiber.Ctx) error {
	var req consentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActRecordConsent)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	consent := &models.ProxyConsent{CareHomeID: req.CareHomeID, Scopes: req.Scopes, Basis: req.Basis,
		From: now, RecordedBy: actorOf(c).UserID, RecordedAt: now}
	if consent.CareHomeID == "" {
		consent.CareHomeID = p.CareHomeID
	}
	if from := req.From.ptr(); from != nil {
		consent.From = *from
	}
	consent.Until = req.Until.ptr()
	if err := consent.Validate(); err != nil {
		return err
	}
	if p.CareHomeID == "" || consent.CareHomeID != p.CareHomeID {
		return fieldError("careHomeId", "must be the care home the patient lives in; register the patient with the home first")
	}
	if p, err = s.patients.SetProxyConsent(c.UserContext(), p.ID, p.PracticeID, consent, now); err != nil {
		return err
	}
	if err := s.record(c, "patient.consent.set", p.ID, string(consent.CareHomeID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(p)
}

// handleProxyConsentDelete withdraws the care home's proxy consent.
func (s *server) handleProxyConsentDelete(c *fiber.Ctx) error {
	p, err := s.patientFor(c, auth.ActRecordConsent)
	if err != nil {
		return err
	}
	if p, err = s.patients.SetProxyConsent(c.UserContext(), p.ID, p.PracticeID, nil, s.now().UTC()); err != nil {
		return err
	}
	if err := s.record(c, "patient.consent.withdraw", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(p)
}

// handleRegistrationRequests lists the patients who registered themselves and asked to join a
// practice, for its administrators to verify and accept. Each patient listed is audited.
func (s *server) handleRegistrationRequests(c *fiber.Ctx) error {
	practice := models.PracticeID(c.Params("practiceId"))
	if err := s.canManageOrg(c, practice); err != nil {
		return err
	}
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	pats, next, err := s.patients.ListPatients(c.UserContext(), models.PatientFilter{RequestedPracticeID: practice}, page)
	if err != nil {
		return err
	}
	if pats, err = s.listed(c, pats, string(practice)); err != nil {
		return err
	}
	return c.JSON(newList(pats, next))
}
