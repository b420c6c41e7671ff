package handlers

import (
	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

// The reasonable adjustments recorded on a patient's record (interpreter and language, BSL,
// step-free access, a longer appointment, a carer attending). Every booking for the patient
// carries them (booking.Service.Book merges them in) and a slot search that names the patient
// shows only step-free sites when step-free access is recorded.

// adjustmentsView is the answer of both routes: the adjustments with their version (also the
// ETag) and who changed them last.
type adjustmentsView struct {
	PatientID models.PatientID `json:"patientId"`
	models.RecordedAdjustments
}

// adjustmentsRequest replaces the recorded adjustments. Version (or If-Match) is the version the
// change was based on: 0 when none have been recorded yet.
type adjustmentsRequest struct {
	models.Adjustments
	Version *int `json:"version"`
}

// handleAdjustmentsGet returns the adjustments recorded on the patient (version 0 and no needs
// when none are), with the version as the ETag.
func (s *server) handleAdjustmentsGet(c *fiber.Ctx) error {
	p, err := s.patientFor(c, auth.ActReadAdjustments)
	if err != nil {
		return err
	}
	if err := s.record(c, string(auth.ActReadAdjustments), p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return s.adjustmentsAnswer(c, p)
}

// handleAdjustmentsSet replaces the adjustments recorded on the patient. The change names the
// version it was based on; if someone changed them since, it is refused with 409 and nothing is
// overwritten.
func (s *server) handleAdjustmentsSet(c *fiber.Ctx) error {
	var req adjustmentsRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var probs models.Problems
	req.Adjustments.Validate("", &probs)
	based, verr := versionBasis(c, req.Version, "adjustments", 0)
	if me, ok := verr.(*models.Error); ok {
		probs = append(probs, me.Fields...)
	}
	if err := probs.Err(); err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActWriteAdjustments)
	if err != nil {
		return err
	}
	rec := &models.RecordedAdjustments{Adjustments: req.Adjustments, Version: based + 1, UpdatedBy: actorOf(c).UserID, UpdatedAt: s.now().UTC()}
	// The guard is the registration the caller was authorised against: staff of a home lose the
	// right to write when the resident moves out, even mid-request.
	p, err = s.patients.SetAdjustments(c.UserContext(), p.ID, p.PracticeID, p.CareHomeID, rec)
	if err != nil {
		return err
	}
	if err := s.record(c, string(auth.ActWriteAdjustments), p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return s.adjustmentsAnswer(c, p)
}

func (s *server) adjustmentsAnswer(c *fiber.Ctx, p *models.Patient) error {
	rec := p.CurrentAdjustments()
	setVersionTag(c, rec.Version)
	return c.JSON(adjustmentsView{PatientID: p.ID, RecordedAdjustments: rec})
}
