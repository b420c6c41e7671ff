package clinical

// BPTarget is a blood pressure target: a reading is at target when its systolic is below
// Systolic and its diastolic below Diastolic (NICE NG136 targets read "below 135/85").
type BPTarget struct {
	Systolic, Diastolic float64
}

// Blood pressure thresholds (CLINICAL.md, "Blood pressure", NICE NG136).
const (
	bpCrisisSystolic  = 180 // ≥180 systolic: urgent, same-day review
	bpCrisisDiastolic = 120 // ≥120 diastolic: urgent, same-day review
	bpLowSystolic     = 90  // <90 systolic with symptoms: urgent
)

// DefaultBPTarget returns NICE NG136's target for a person of this age, for home (or ambulatory)
// readings or clinic readings: under 80 clinic <140/90, home <135/85; 80 and over clinic <150/90,
// home <145/85. A clinician can override it on the plan.
func DefaultBPTarget(age int, home bool) BPTarget {
	switch {
	case age < 80 && home:
		return BPTarget{Systolic: 135, Diastolic: 85}
	case age < 80:
		return BPTarget{Systolic: 140, Diastolic: 90}
	case home:
		return BPTarget{Systolic: 145, Diastolic: 85}
	}
	return BPTarget{Systolic: 150, Diastolic: 90}
}

// BloodPressure interprets one blood pressure reading against a target, in this order:
//   - ≥180 systolic or ≥120 diastolic: red, rule "bp.crisis" (same-day review), whatever the target;
//   - systolic <90 with symptoms (dizziness, fainting): red, rule "bp.low";
//   - systolic <90 without symptoms: amber, rule "bp.low". CLINICAL.md makes only the symptomatic
//     case urgent and says nothing of the rest; the safer reading is not to call a systolic under
//     90 normal, so the patient is told to act on the plan and report symptoms;
//   - at or above the target in either number: amber, rule "bp.target", band "above-target";
//   - otherwise normal, rule "bp.target", band "at-target".
//
// Values are compared as given. The target is the plan's (or DefaultBPTarget); a zero target puts
// every reading above target, which errs on the safe side.
func BloodPressure(systolic, diastolic float64, target BPTarget, symptomatic bool) Result {
	switch {
	case systolic >= bpCrisisSystolic || diastolic >= bpCrisisDiastolic:
		return Result{Level: LevelRed, Band: "crisis", RuleID: "bp.crisis",
			Advice: "Your blood pressure is very high (180/120 or above). Contact the practice today, or call NHS 111 if it is closed. " +
				"Call 999 if you have chest pain, a severe headache, confusion, blurred vision or weakness. Your practice has been alerted."}
	case systolic < bpLowSystolic && symptomatic:
		return Result{Level: LevelRed, Band: "low", RuleID: "bp.low",
			Advice: "Your blood pressure is low and you have symptoms. Sit or lie down, and contact the practice today, or call NHS 111 if it is closed. " +
				"Call 999 if you faint or feel very unwell. Your practice has been alerted."}
	case systolic < bpLowSystolic:
		return Result{Level: LevelAmber, Band: "low", RuleID: "bp.low",
			Advice: "Your blood pressure is low. If you feel dizzy, faint or unwell, contact the practice today; otherwise mention it at your next review."}
	case systolic >= target.Systolic || diastolic >= target.Diastolic:
		return Result{Level: LevelAmber, Band: "above-target", RuleID: "bp.target",
			Advice: "Your blood pressure is above your target. Follow your plan and check again; contact the practice if it stays above target."}
	}
	return Result{Level: LevelNormal, Band: "at-target", RuleID: "bp.target",
		Advice: "Your blood pressure is at your target. Carry on with your plan."}
}

// AtTarget reports whether a reading is at (below) the target in both numbers. The population
// view uses it for "latest BP at target".
func (t BPTarget) AtTarget(systolic, diastolic float64) bool {
	return systolic < t.Systolic && diastolic < t.Diastolic
}
