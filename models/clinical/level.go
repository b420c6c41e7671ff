package clinical

import (
	"errors"
	"fmt"
	"math"

	"careway/models"
)

// Level is the interpretation level every stored reading gets (CLINICAL.md, "From a rule to an
// interpretation level"). Red and emergency readings also alert the practice.
type Level string

// The four levels, from least to most urgent.
const (
	LevelNormal    Level = "normal"    // at or within target
	LevelAmber     Level = "amber"     // act on the plan; routine contact if it persists
	LevelRed       Level = "red"       // same-day clinical contact; the practice is alerted
	LevelEmergency Level = "emergency" // call 999 now; the practice is alerted
)

// Valid reports whether l is one of the four levels.
func (l Level) Valid() bool { return l.rank() >= 0 }

// Alerts reports whether a reading at this level must alert the practice (red and emergency).
func (l Level) Alerts() bool { return l == LevelRed || l == LevelEmergency }

// Worse returns the more urgent of l and o (an unknown level counts as less urgent than normal).
func (l Level) Worse(o Level) Level {
	if o.rank() > l.rank() {
		return o
	}
	return l
}

func (l Level) rank() int {
	switch l {
	case LevelNormal:
		return 0
	case LevelAmber:
		return 1
	case LevelRed:
		return 2
	case LevelEmergency:
		return 3
	}
	return -1
}

// Result is what a rule says about one reading.
type Result struct {
	Level Level
	// Score is the instrument's total where there is one (NEWS2, PHQ-9, GAD-7, CAT); nil otherwise.
	Score *int
	// SubScores holds NEWS2's score per parameter (keys: respiratoryRate, oxygenSaturation,
	// onOxygen, systolic, pulse, consciousness, temperature). The single-parameter helpers fill in
	// only their own key.
	SubScores map[string]int
	// Band names the instrument's or table's band, e.g. "moderate", "green", "overweight".
	Band string
	// RuleID is the stable dotted id of the rule that decided the level, e.g. "news2.total",
	// "phq9.item9", "bp.crisis", "peakflow.zone". It is stored with the reading and names the
	// alert ("one open alert per patient and rule"), so it never changes once published.
	RuleID string
	// Advice is plain English for the patient, shown at once.
	Advice string
	// Measure is a value the rule derived from its inputs, where there is one: the percentage of
	// personal best for peak flow, the BMI for BMI. Nil otherwise.
	Measure *float64
}

func intp(n int) *int { return &n }

func floatp(f float64) *float64 { return &f }

// finite reports whether f is an ordinary number (not NaN or ±Inf). JSON cannot carry NaN, but
// the rules are pure functions and must not score one as if it were a reading.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// invalid returns an EINVALID *models.Error naming one field.
func invalid(field, format string, args ...any) error {
	var p models.Problems
	p.Add(field, fmt.Sprintf(format, args...))
	return p.Err()
}

// joinInvalid merges the fields of several EINVALID errors into one (nil when there are none).
func joinInvalid(errs []error) error {
	var p models.Problems
	for _, err := range errs {
		var e *models.Error
		if errors.As(err, &e) {
			p = append(p, e.Fields...)
		}
	}
	return p.Err()
}
