package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
	"careway/models/clinical"
)

type triageCreateRequest struct {
	ID            models.TriageRequestID `json:"id"`
	PatientID     models.PatientID       `json:"patientId"`
	Description   string                 `json:"description"`
	PreferredMode models.AppointmentMode `json:"preferredMode"`
	RedFlags      []models.RedFlag       `json:"redFlags"`
	Symptoms      []string               `json:"symptoms"`
	Availability  string                 `json:"availability"`
	Adjustments   models.Adjustments     `json:"adjustments"`
}

// adviceNoPractice is added to the advice when the patient has no practice yet: the request is
// stored, but no clinician's queue shows it, and the patient must know that.
const adviceNoPractice = " You are not yet registered with a practice in Careway, so no clinician will see this " +
	"request: contact your GP surgery by phone, or NHS 111."

// handleTriageCreate stores a patient's request for care (the patient, or care-home staff with
// the resident's book_appointments scope, or a clinician for a patient who phoned). Red flags
// answer 201 with priority emergency, redirect "999" and advice, and the request is stored and
// heads the practice's queue: it is never refused or dropped. A retry with the same id returns
// the stored request and stores nothing.
func (s *server) handleTriageCreate(c *fiber.Ctx) error {
	var req triageCreateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Millisecond) // as stored: a retry answers the same times
	r := &models.TriageRequest{ID: req.ID, PatientID: req.PatientID, Description: req.Description,
		PreferredMode: req.PreferredMode, RedFlags: req.RedFlags, Symptoms: req.Symptoms, Availability: req.Availability,
		Adjustments: req.Adjustments, Status: models.TriageWaiting, CreatedAt: now, UpdatedAt: now}
	if r.RedFlags == nil {
		r.RedFlags = []models.RedFlag{}
	}
	if r.Symptoms == nil {
		r.Symptoms = []string{}
	}
	if err := r.Validate(); err != nil {
		return err
	}
	p, err := s.authorizePatient(c, auth.ActCreateTriage, r.PatientID)
	if err != nil {
		return err
	}
	a := actorOf(c)
	r.SubmittedBy, r.PracticeID = a.UserID, p.PracticeID
	switch a.Role {
	case models.RoleCareHomeStaff:
		r.Source = models.SourceProxy
	case models.RoleClinician:
		r.Source = models.SourceStaff
	default:
		r.Source = models.SourcePatient
	}
	sig, err := s.triageSignals(c.UserContext(), p.ID, now)
	if err != nil {
		return err
	}
	sig.RedFlags, sig.Source = r.RedFlags, r.Source
	as := clinical.AssessTriage(sig)
	r.Priority, r.Reasons, r.Redirect, r.Advice = as.Priority, as.Reasons, as.Redirect, as.Advice
	if r.PracticeID == "" {
		r.Advice += adviceNoPractice
	}
	stored, created, err := s.triage.CreateTriageRequest(c.UserContext(), r)
	if err != nil {
		return conflictOn(err, "id", "is the id of another patient's request; choose a new UUID")
	}
	if created && stored.Priority == models.PriorityEmergency {
		// Ids only: the practice's queue shows the request at its head.
		s.log.Warn("emergency triage request", "triageRequestId", stored.ID, "practiceId", stored.PracticeID,
			"requestId", requestID(c))
	}
	if err := s.record(c, "triage.create", p.ID, string(stored.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(stored)
}

// triageSignals reads what the triage rule weighs from the patient's record: the highest level
// of their unresolved alerts and the level of their latest NEWS2 within clinical.RecentNEWS2.
// Either store may be absent (nil), and then that signal is simply not weighed.
func (s *server) triageSignals(ctx context.Context, patient models.PatientID, now time.Time) (clinical.TriageSignals, error) {
	var sig clinical.TriageSignals
	if s.alerts != nil {
		alerts, _, err := s.alerts.ListAlerts(ctx, models.AlertFilter{PatientID: patient,
			Statuses: []string{models.AlertOpen, models.AlertTaken}}, models.Page{Limit: models.MaxPageLimit})
		if err != nil {
			return sig, err
		}
		for _, a := range alerts {
			sig.OpenAlertLevel = sig.OpenAlertLevel.Worse(clinical.Level(a.Level))
		}
	}
	if s.observations != nil {
		o, err := s.observations.LatestObservation(ctx, patient, models.CodeVitalSigns, now)
		switch {
		case models.ErrorCode(err) == models.ENOTFOUND:
		case err != nil:
			return sig, err
		case o.Interpretation.Level != "" && now.Sub(o.EffectiveAt) <= clinical.RecentNEWS2:
			sig.NEWS2Level = clinical.Level(o.Interpretation.Level)
		}
	}
	return sig, nil
}

// triageFor loads the request named by the route's :triageRequestId and authorises act on its
// patient (auditing a refusal). Returns ENOTFOUND for an unknown or malformed id.
func (s *server) triageFor(c *fiber.Ctx, act auth.Action) (*models.TriageRequest, error) {
	id := models.TriageRequestID(c.Params("triageRequestId"))
	if !models.IsUUID(string(id)) {
		return nil, models.Errorf(models.ENOTFOUND, "No triage request has this id.")
	}
	r, err := s.triage.TriageRequestByID(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	if _, err := s.authorizePatient(c, act, r.PatientID); err != nil {
		return nil, err
	}
	return r, nil
}

// handleTriageGet shows one request with its status and outcome (the patient, their proxy with
// the book_appointments scope, clinicians of the patient's practice).
func (s *server) handleTriageGet(c *fiber.Ctx) error {
	r, err := s.triageFor(c, auth.ActReadTriage)
	if err != nil {
		return err
	}
	if err := s.record(c, "triage.read", r.PatientID, string(r.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(r)
}

// handlePatientTriageList lists a patient's requests, newest first.
func (s *server) handlePatientTriageList(c *fiber.Ctx) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActReadTriage)
	if err != nil {
		return err
	}
	items, next, err := s.triage.ListTriageForPatient(c.UserContext(), p.ID, page)
	if err != nil {
		return err
	}
	if err := s.record(c, "triage.list", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(newList(items, next))
}

// handleTriageTake gives a waiting request to the calling clinician (of the patient's
// practice). Exactly one of several clinicians taking at once wins; the others get 409.
func (s *server) handleTriageTake(c *fiber.Ctx) error {
	r, err := s.triageFor(c, auth.ActHandleTriage)
	if err != nil {
		return err
	}
	a := actorOf(c)
	taken, err := s.triage.TakeTriageRequest(c.UserContext(), r.ID, a.UserID, s.now())
	if err != nil {
		if models.ErrorCode(err) == models.ECONFLICT {
			if aerr := s.record(c, "triage.take", r.PatientID, string(r.ID), models.OutcomeFailure, models.ECONFLICT); aerr != nil {
				return aerr
			}
		}
		return err
	}
	if err := s.record(c, "triage.take", r.PatientID, string(r.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(taken)
}

type triageOutcomeRequest struct {
	Kind models.OutcomeKind `json:"kind"`
	Note string             `json:"note"`
}

// handleTriageOutcome records the decision of the clinician who took a request and completes
// it. A video consultation creates the call (its id is in outcome.callId); face_to_face records
// the decision for booking to act on (the request's preferred mode and adjustments travel with
// it).
func (s *server) handleTriageOutcome(c *fiber.Ctx) error {
	var req triageOutcomeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	a := actorOf(c)
	o := &models.TriageOutcome{Kind: req.Kind, Note: req.Note, DecidedBy: a.UserID, DecidedAt: s.now().UTC()}
	if err := o.Validate(); err != nil {
		return err
	}
	r, err := s.triageFor(c, auth.ActHandleTriage)
	if err != nil {
		return err
	}
	// Checked again, atomically, by the store; checking first avoids creating a call that the
	// outcome could then not refer to.
	if r.Status != models.TriageInProgress || r.TakenBy != a.UserID {
		return s.triageOutcomeConflict(c, r, nil)
	}
	var call *models.Call
	if o.Kind == models.OutcomeVideoConsultation {
		call = &models.Call{PatientID: r.PatientID, PracticeID: r.PracticeID, TriageRequestID: r.ID,
			CreatedBy: a.UserID, Status: models.CallOpen, Participants: []models.CallParticipant{}, CreatedAt: o.DecidedAt}
		if err := s.calls.CreateCall(c.UserContext(), call); err != nil {
			return err
		}
		o.CallID = call.ID
	}
	done, err := s.triage.SetTriageOutcome(c.UserContext(), r.ID, o)
	if err != nil {
		if call != nil { // nobody will ever join it
			_, _ = s.calls.EndCall(context.WithoutCancel(c.UserContext()), call.ID, nil, s.now())
		}
		if models.ErrorCode(err) == models.ECONFLICT {
			return s.triageOutcomeConflict(c, r, err)
		}
		return err
	}
	if call != nil {
		if err := s.record(c, "call.create", r.PatientID, string(call.ID), models.OutcomeSuccess, ""); err != nil {
			return err
		}
	}
	if err := s.record(c, "triage.outcome", r.PatientID, string(r.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(done)
}

// triageOutcomeConflict audits and returns the refusal of an outcome: the store's conflict when
// there is one, else why r (as read) cannot take an outcome from the caller.
func (s *server) triageOutcomeConflict(c *fiber.Ctx, r *models.TriageRequest, conflict error) error {
	if err := s.record(c, "triage.outcome", r.PatientID, string(r.ID), models.OutcomeFailure, models.ECONFLICT); err != nil {
		return err
	}
	if conflict != nil {
		return conflict
	}
	msg := "Take this request before recording its outcome."
	switch {
	case r.Status == models.TriageCompleted:
		msg = "This request already has an outcome."
	case r.Status == models.TriageInProgress:
		msg = "Another clinician has taken this request."
	}
	return models.Errorf(models.ECONFLICT, "%s", msg)
}
