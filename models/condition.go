package models

import (
	"context"
	"time"
)

// ConditionCode names a long-term condition that Careway tracks.
type ConditionCode string

// The long-term conditions of the partnership's programme.
const (
	ConditionHypertension  ConditionCode = "hypertension"
	ConditionType2Diabetes ConditionCode = "type2_diabetes"
	ConditionAsthma        ConditionCode = "asthma"
	ConditionCOPD          ConditionCode = "copd"
	ConditionDepression    ConditionCode = "depression"
	ConditionAnxiety       ConditionCode = "anxiety"
	ConditionHeartFailure  ConditionCode = "heart_failure"
	ConditionObesity       ConditionCode = "obesity"
)

// ConditionInfo gives a condition's SNOMED CT concept and display name.
type ConditionInfo struct {
	SNOMED  string
	Display string
}

// Conditions maps each tracked condition to its SNOMED CT concept.
var Conditions = map[ConditionCode]ConditionInfo{
	ConditionHypertension:  {"38341003", "Hypertensive disorder"},
	ConditionType2Diabetes: {"44054006", "Type 2 diabetes mellitus"},
	ConditionAsthma:        {"195967001", "Asthma"},
	ConditionCOPD:          {"13645005", "Chronic obstructive pulmonary disease"},
	ConditionDepression:    {"35489007", "Depressive disorder"},
	ConditionAnxiety:       {"197480006", "Anxiety disorder"},
	ConditionHeartFailure:  {"84114007", "Heart failure"},
	ConditionObesity:       {"414916001", "Obesity"},
}

// Condition is one long-term condition on a patient's record.
type Condition struct {
	ID         string        `json:"id"`
	PatientID  PatientID     `json:"patientId"`
	Code       ConditionCode `json:"code"`
	SNOMED     string        `json:"snomed"`
	Display    string        `json:"display"`
	Onset      string        `json:"onset,omitempty"` // YYYY-MM-DD, when known
	Status     string        `json:"status"`          // active or resolved
	RecordedBy UserID        `json:"recordedBy,omitempty"`
	RecordedAt time.Time     `json:"recordedAt"`
	UpdatedBy  UserID        `json:"updatedBy,omitempty"`
	UpdatedAt  *time.Time    `json:"updatedAt,omitempty"`
}

// Condition statuses: a condition that no longer applies is resolved, never deleted.
const (
	ConditionActive   = "active"
	ConditionResolved = "resolved"
)

// ConditionUpdate is a change to a condition: its status and, when not empty, its onset.
type ConditionUpdate struct {
	Status string
	Onset  string
	By     UserID
	At     time.Time
}

// ConditionStore keeps patients' conditions.
type ConditionStore interface {
	// AddCondition stores a condition. Returns ECONFLICT if the id is taken, or if the patient
	// already has an active condition with the same code.
	AddCondition(ctx context.Context, c *Condition) error
	// UpdateCondition changes the status (active or resolved) and onset of a patient's
	// condition, recording who changed it and when; nothing is deleted. Returns ENOTFOUND (also
	// for another patient's condition); ECONFLICT when reactivating a condition whose code is
	// active in another entry.
	UpdateCondition(ctx context.Context, patient PatientID, id string, u ConditionUpdate) (*Condition, error)
	// ListConditions returns every condition of a patient, oldest first.
	ListConditions(ctx context.Context, patient PatientID) ([]*Condition, error)
}
