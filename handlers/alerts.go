package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"careway/auth"
	"careway/models"
	"careway/models/clinical"
)

// escalateReadings raises an alert to the practice for every red or emergency reading just
// stored (fresh), in the order they were taken, and opens an urgent triage request with each
// new alert. For readings stored by an earlier attempt of this upload (retried) it finishes
// what that attempt may not have: a reading with no alert gets one, an alert with no triage
// request gets one. So a failure after the readings were stored is repaired by the client's
// retry, never left as a silent red reading.
func (s *server) escalateReadings(ctx context.Context, p *models.Patient, results []readingResult, fresh, retried []int) error {
	var raise []int
	for _, i := range fresh {
		if results[i].Observation.Interpretation.Level.Escalates() {
			raise = append(raise, i)
		}
	}
	var redRetries []int
	for _, i := range retried {
		if results[i].Observation.Interpretation.Level.Escalates() {
			redRetries = append(redRetries, i)
		}
	}
	if len(redRetries) > 0 {
		known, err := s.alertsByObservation(ctx, p.ID)
		if err != nil {
			return err
		}
		for _, i := range redRetries {
			a, ok := known[results[i].Observation.ID]
			if !ok {
				raise = append(raise, i)
				continue
			}
			results[i].AlertID = a.ID
			if a.TriageRequestID == "" && a.Status != models.AlertResolved {
				if err := s.openAlertTriage(ctx, p, a, results[i].Observation); err != nil {
					return err
				}
			}
		}
	}
	sortByTime(raise, results)
	for _, i := range raise {
		o := results[i].Observation
		a, _, err := s.alerts.RaiseAlert(ctx, &models.Alert{PatientID: p.ID, PracticeID: p.PracticeID, RuleID: o.Interpretation.RuleID,
			Code: o.Code, LatestLevel: o.Interpretation.Level, LatestObservationID: o.ID, UpdatedAt: s.now().UTC()})
		if err != nil {
			return err
		}
		results[i].AlertID = a.ID
		// A new alert gets its triage request; so does an older one whose request could not
		// be opened at the time.
		if a.TriageRequestID == "" {
			if err := s.openAlertTriage(ctx, p, a, o); err != nil {
				return err
			}
		}
		s.log.Info("alert raised", "alertId", a.ID, "patientId", p.ID, "ruleId", a.RuleID, "count", a.Count)
	}
	return nil
}

// alertsByObservation maps each reading attached to one of the patient's alerts (any status)
// to that alert.
func (s *server) alertsByObservation(ctx context.Context, patient models.PatientID) (map[models.ObservationID]*models.Alert, error) {
	out := map[models.ObservationID]*models.Alert{}
	page := models.Page{Limit: models.MaxPageLimit}
	for {
		items, next, err := s.alerts.ListAlerts(ctx, models.AlertFilter{PatientID: patient}, page)
		if err != nil {
			return nil, err
		}
		for _, a := range items {
			for _, id := range a.ObservationIDs {
				out[id] = a
			}
		}
		if next == "" {
			return out, nil
		}
		page.Cursor = next
	}
}

// openAlertTriage opens the urgent triage request that goes with an alert, linked to the
// reading, and records it on the alert. Its id is derived from the alert's, so opening it again
// (after a failure half-way) finds the same request instead of a second one. A patient with no
// practice has no queue to join: the alert alone stands, and the reading's advice told them
// where to go.
func (s *server) openAlertTriage(ctx context.Context, p *models.Patient, a *models.Alert, o *models.Observation) error {
	if s.alertTriage == nil || p.PracticeID == "" {
		return nil
	}
	now := s.now().UTC()
	sig := clinical.TriageSignals{Source: models.SourceAlert, OpenAlertLevel: clinical.Level(a.Level)}
	if o.Code == models.CodeVitalSigns {
		sig.NEWS2Level = clinical.Level(o.Interpretation.Level)
	}
	as := clinical.AssessTriage(sig)
	r := &models.TriageRequest{ID: alertTriageID(a.ID), PatientID: p.ID, PracticeID: p.PracticeID,
		Description: fmt.Sprintf("Opened by a %s %s reading (rule %s). See the alert and the reading.",
			o.Interpretation.Level, strings.ReplaceAll(string(o.Code), "_", " "), a.RuleID),
		PreferredMode: models.ModePhone, RedFlags: []models.RedFlag{}, Symptoms: []string{},
		Source: models.SourceAlert, SubmittedBy: o.RecordedBy, ObservationID: o.ID, AlertID: a.ID,
		Priority: as.Priority, Reasons: as.Reasons, Redirect: as.Redirect, Advice: as.Advice,
		Status: models.TriageWaiting, CreatedAt: now, UpdatedAt: now}
	tr, _, err := s.alertTriage.CreateTriageRequest(ctx, r)
	if err != nil {
		return err
	}
	return s.alerts.SetAlertTriage(ctx, a.ID, tr.ID, now)
}

// alertTriageID is the id of the triage request of an alert, derived from the alert's id so
// that it is the same at every attempt.
func alertTriageID(id models.AlertID) models.TriageRequestID {
	return models.TriageRequestID(models.DerivedID("alert-triage", string(id)))
}

// handlePracticeAlertList lists the alerts raised to a practice, newest first: unresolved ones
// (open and taken) unless ?status= names others (comma-separated). Clinicians of the practice
// only; each patient shown is an audited access.
func (s *server) handlePracticeAlertList(c *fiber.Ctx) error {
	practice := models.PracticeID(utils.CopyString(c.Params("practiceId")))
	statuses, err := alertStatuses(c.Query("status"))
	if err != nil {
		return err
	}
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	if err := s.refusalAudited(c, "alert.list", "", string(practice), auth.CanListPracticeAlerts(actorOf(c), practice)); err != nil {
		return err
	}
	items, next, err := s.alerts.ListAlerts(c.UserContext(), models.AlertFilter{PracticeID: practice, Statuses: statuses}, page)
	if err != nil {
		return err
	}
	seen := map[models.PatientID]bool{}
	for _, a := range items {
		if seen[a.PatientID] {
			continue
		}
		seen[a.PatientID] = true
		if err := s.record(c, "alert.list", a.PatientID, string(practice), models.OutcomeSuccess, ""); err != nil {
			return err
		}
	}
	return c.JSON(newList(items, next))
}

// handlePatientAlertList lists a patient's alerts, newest first (every status unless ?status=).
func (s *server) handlePatientAlertList(c *fiber.Ctx) error {
	statuses, err := alertStatuses(c.Query("status"))
	if err != nil {
		return err
	}
	if c.Query("status") == "" {
		statuses = nil
	}
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActReadClinical)
	if err != nil {
		return err
	}
	items, next, err := s.alerts.ListAlerts(c.UserContext(), models.AlertFilter{PatientID: p.ID, Statuses: statuses}, page)
	if err != nil {
		return err
	}
	if err := s.record(c, "alert.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(newList(items, next))
}

// alertStatuses reads ?status=: a comma-separated list; empty means the unresolved ones.
func alertStatuses(q string) ([]string, error) {
	if q == "" {
		return []string{models.AlertOpen, models.AlertTaken}, nil
	}
	var out []string
	for _, st := range strings.Split(q, ",") {
		switch st {
		case models.AlertOpen, models.AlertTaken, models.AlertResolved:
			out = append(out, st)
		default:
			return nil, fieldError("status", "must be open, taken or resolved (comma-separated)")
		}
	}
	return out, nil
}

// alertFor loads the alert named by :alertId and checks that the caller may manage it (a
// clinician of the patient's practice).
func (s *server) alertFor(c *fiber.Ctx) (*models.Alert, error) {
	id := models.AlertID(utils.CopyString(c.Params("alertId")))
	if !models.IsUUID(string(id)) {
		return nil, models.Errorf(models.ENOTFOUND, "No alert has this id.")
	}
	a, err := s.alerts.AlertByID(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	if _, err := s.authorizePatient(c, auth.ActManageAlert, a.PatientID); err != nil {
		return nil, err
	}
	return a, nil
}

// handleAlertTake lets one clinician take an open alert; a second gets 409.
func (s *server) handleAlertTake(c *fiber.Ctx) error {
	a, err := s.alertFor(c)
	if err != nil {
		return err
	}
	a, err = s.alerts.TakeAlert(c.UserContext(), a.ID, actorOf(c).UserID, s.now().UTC())
	if err != nil {
		return err
	}
	if err := s.record(c, "alert.take", a.PatientID, string(a.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(a)
}

type resolveRequest struct {
	Resolution string `json:"resolution"`
}

// handleAlertResolve closes an open or taken alert with a note of what was done.
func (s *server) handleAlertResolve(c *fiber.Ctx) error {
	var req resolveRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	note, err := requiredText("resolution", req.Resolution, 2000, "what was done")
	if err != nil {
		return err
	}
	a, err := s.alertFor(c)
	if err != nil {
		return err
	}
	a, err = s.alerts.ResolveAlert(c.UserContext(), a.ID, actorOf(c).UserID, note, s.now().UTC())
	if err != nil {
		return err
	}
	if err := s.record(c, "alert.resolve", a.PatientID, string(a.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(a)
}
