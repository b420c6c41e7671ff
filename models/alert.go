package models

import (
	"context"
	"time"
)

// Alert statuses. An alert is open until a clinician takes it, and stays taken until resolved.
const (
	AlertOpen     = "open"
	AlertTaken    = "taken"
	AlertResolved = "resolved"
)

// Alert tells a practice that a patient's readings need same-day attention. There is at most
// one unresolved alert per patient and rule: further red readings update it (count, latest
// reading, highest level) rather than raise another.
type Alert struct {
	ID                  AlertID         `json:"id"`
	PatientID           PatientID       `json:"patientId"`
	PracticeID          PracticeID      `json:"practiceId"`
	RuleID              string          `json:"ruleId"`
	Code                ObservationCode `json:"code"`        // of the reading that opened it
	Level               Level           `json:"level"`       // the highest level seen while unresolved
	LatestLevel         Level           `json:"latestLevel"` // of the latest reading
	Count               int             `json:"count"`       // readings attached (less any entered in error)
	FirstObservationID  ObservationID   `json:"firstObservationId"`
	LatestObservationID ObservationID   `json:"latestObservationId"`
	ObservationIDs      []ObservationID `json:"observationIds"`
	Status              string          `json:"status"`
	OpenedAt            time.Time       `json:"openedAt"`
	UpdatedAt           time.Time       `json:"updatedAt"`
	TakenBy             UserID          `json:"takenBy,omitempty"`
	TakenAt             *time.Time      `json:"takenAt,omitempty"`
	ResolvedBy          UserID          `json:"resolvedBy,omitempty"`
	ResolvedAt          *time.Time      `json:"resolvedAt,omitempty"`
	Resolution          string          `json:"resolution,omitempty"`
	// TriageRequestID is the urgent triage request opened with the alert, once it exists.
	TriageRequestID TriageRequestID `json:"triageRequestId,omitempty"`
}

// AlertFilter narrows ListAlerts: a practice or a patient (at least one), and statuses (none
// means every status).
type AlertFilter struct {
	PracticeID PracticeID
	PatientID  PatientID
	Statuses   []string
}

// AlertStore keeps alerts.
type AlertStore interface {
	// RaiseAlert attaches a red or emergency reading to the patient's unresolved alert for
	// a.RuleID, or opens a new alert from a when there is none. It returns the alert as it is
	// now and whether it was opened by this call. Concurrent raises for one patient and rule
	// give one alert.
	RaiseAlert(ctx context.Context, a *Alert) (alert *Alert, opened bool, err error)
	// AlertByID returns ENOTFOUND if there is no such alert.
	AlertByID(ctx context.Context, id AlertID) (*Alert, error)
	// ListAlerts lists alerts, newest opened first. Returns EINVALID without a practice or
	// patient, or for a cursor this list did not issue.
	ListAlerts(ctx context.Context, f AlertFilter, p Page) (items []*Alert, nextCursor string, err error)
	// TakeAlert marks an open alert as taken by a clinician. Exactly one of several
	// concurrent takers wins. Returns ENOTFOUND; ECONFLICT if it is not open.
	TakeAlert(ctx context.Context, id AlertID, by UserID, now time.Time) (*Alert, error)
	// ResolveAlert closes an open or taken alert with a note. Returns ENOTFOUND; ECONFLICT if
	// it is resolved already.
	ResolveAlert(ctx context.Context, id AlertID, by UserID, resolution string, now time.Time) (*Alert, error)
	// SetAlertTriage records the triage request opened for an alert (a change at now).
	// Returns ENOTFOUND.
	SetAlertTriage(ctx context.Context, id AlertID, triage TriageRequestID, now time.Time) error
	// DetachObservation removes a reading marked entered-in-error from the unresolved alerts
	// it was attached to; an alert left with no reading is resolved with the reason "all
	// readings entered in error", by by. Returns the alerts changed.
	DetachObservation(ctx context.Context, patient PatientID, obs ObservationID, by UserID, now time.Time) ([]*Alert, error)
}
