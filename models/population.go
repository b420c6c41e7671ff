package models

import (
	"context"
	"time"
)

// PopulationStore answers the bulk questions of a practice's population view, for a list of
// patients at once (the caller lists the practice's patients first).
type PopulationStore interface {
	// ActiveConditions returns the codes of each patient's active conditions; patients with
	// none are absent.
	ActiveConditions(ctx context.Context, patients []PatientID) (map[PatientID][]ConditionCode, error)
	// CurrentPlans returns the current (highest) version of each plan of each patient.
	CurrentPlans(ctx context.Context, patients []PatientID) (map[PatientID][]*Plan, error)
	// LatestReadings returns each patient's latest final reading of code taken at or after
	// since ("" code: of any code); patients with none are absent.
	LatestReadings(ctx context.Context, patients []PatientID, code ObservationCode, since time.Time) (map[PatientID]*Observation, error)
}
