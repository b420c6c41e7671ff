package models

import (
	"context"
	"time"
)

// Plan statuses.
const (
	PlanActive = "active"
	PlanEnded  = "ended"
)

// Plan is one version of a self-management plan that a clinician wrote for one of a patient's
// conditions. Every change is a new version with the next number; old versions are kept and
// readable. The plan's thresholds override the default clinical rules for this patient.
type Plan struct {
	ID         PlanID        `json:"id"`
	PatientID  PatientID     `json:"patientId"`
	Condition  ConditionCode `json:"condition"`
	Version    int           `json:"version"` // 1 for a new plan, then +1 per change
	Status     string        `json:"status"`  // active or ended
	Goals      []Goal        `json:"goals"`
	Thresholds Thresholds    `json:"thresholds"`
	Monitoring []Schedule    `json:"monitoring"`
	Actions    []string      `json:"actions"`
	IfWorse    string        `json:"ifWorse"`
	ReviewDate string        `json:"reviewDate"` // YYYY-MM-DD
	AuthorID   UserID        `json:"authorId"`   // who wrote this version
	CreatedAt  time.Time     `json:"createdAt"`  // when this version was written
}

// Goal is one aim of a plan, with a measurable target where there is one: the patient's
// readings of Code should lie at or above Low and at or below High (either may be absent).
type Goal struct {
	Description string          `json:"description"`
	Code        ObservationCode `json:"code,omitempty"`
	Low         *float64        `json:"low,omitempty"`
	High        *float64        `json:"high,omitempty"`
	Unit        string          `json:"unit,omitempty"`
	By          string          `json:"by,omitempty"` // YYYY-MM-DD
}

// BPTarget is a blood pressure target: readings below both numbers are at target.
type BPTarget struct {
	Systolic  float64 `json:"systolic"`
	Diastolic float64 `json:"diastolic"`
}

// Thresholds are a clinician's personalised overrides of the default rules. Unset fields keep
// the defaults of CLINICAL.md.
type Thresholds struct {
	BPTarget             *BPTarget `json:"bpTarget,omitempty"`             // replaces the NICE target by age
	PeakFlowPersonalBest *float64  `json:"peakFlowPersonalBest,omitempty"` // L/min; needed for peak flow zones
	SpO2Scale2           bool      `json:"spo2Scale2,omitempty"`           // 88–92 % target (NEWS2 scale 2)
	HbA1cTarget          *float64  `json:"hba1cTarget,omitempty"`          // mmol/mol; default 48
	// BMILowerCutPoints applies the lower BMI cut points for South Asian, Chinese, other
	// Asian, Middle Eastern, Black African and African-Caribbean backgrounds.
	BMILowerCutPoints bool `json:"bmiLowerCutPoints,omitempty"`
}

// Schedule says how often the patient should record one code: Times per Per.
type Schedule struct {
	Code  ObservationCode `json:"code"`
	Times int             `json:"times"`
	Per   string          `json:"per"` // day, week or month
}

// Schedule periods.
var SchedulePeriods = map[string]time.Duration{
	"day":   24 * time.Hour,
	"week":  7 * 24 * time.Hour,
	"month": 30 * 24 * time.Hour,
}

// PlanStore keeps plans. Versions are only ever added, never changed or deleted.
type PlanStore interface {
	// CreatePlan stores version 1 of a new plan. Returns ECONFLICT if the id is taken or the
	// patient already has a plan for that condition.
	CreatePlan(ctx context.Context, p *Plan) error
	// AddPlanVersion stores p as a new version of an existing plan; p.Version must be the
	// current version + 1. Exactly one of several concurrent writers of the same version wins;
	// the others get ECONFLICT, so no change is silently lost.
	AddPlanVersion(ctx context.Context, p *Plan) error
	// PlanByID returns the current (highest) version of a patient's plan. Returns ENOTFOUND
	// (also for another patient's plan).
	PlanByID(ctx context.Context, patient PatientID, id PlanID) (*Plan, error)
	// PlanVersions returns every version of a patient's plan, oldest first. Returns ENOTFOUND.
	PlanVersions(ctx context.Context, patient PatientID, id PlanID) ([]*Plan, error)
	// ListPlans returns the current version of each of a patient's plans, by condition.
	ListPlans(ctx context.Context, patient PatientID) ([]*Plan, error)
}
