package clinical

// PeakFlow interprets a peak expiratory flow reading as a percentage of the personal best on the
// patient's plan (CLINICAL.md, "Asthma"): ≥80 % green (normal), 60–79 % amber, 40–59 % red, <40 %
// emergency. Rule "peakflow.zone"; Result.Measure holds the percentage.
//
// The percentage is compared as computed, without rounding, so 79.99 % is amber and 39.99 % is an
// emergency. It is computed as litres×100/best, which is exact for whole numbers that divide, so a
// reading exactly on an edge lands on the edge.
//
// Without a personal best there is no zone: a best that is missing (0), negative or not a number
// is EINVALID naming "personalBest"; a reading that is not a positive number is EINVALID naming
// "value".
func PeakFlow(litresPerMin, personalBest float64) (Result, error) {
	if !finite(personalBest) || personalBest <= 0 {
		return Result{}, invalid("personalBest", "no personal best peak flow is set on the plan, so the reading cannot be given a zone")
	}
	if !finite(litresPerMin) || litresPerMin <= 0 {
		return Result{}, invalid("value", "must be a positive number of litres per minute")
	}
	pct := litresPerMin * 100 / personalBest
	r := Result{RuleID: "peakflow.zone", Measure: floatp(pct)}
	switch {
	case pct >= 80:
		r.Level, r.Band = LevelNormal, "green"
		r.Advice = "Your peak flow is in your green zone (80% or more of your best). Carry on with your plan."
	case pct >= 60:
		r.Level, r.Band = LevelAmber, "amber"
		r.Advice = "Your peak flow is in your amber zone (60–79% of your best). Follow your plan: increase your preventer as it says, and contact the practice if you are not improving."
	case pct >= 40:
		r.Level, r.Band = LevelRed, "red"
		r.Advice = "Your peak flow is in your red zone (40–59% of your best). Start the rescue steps in your plan now and contact the practice today. Your practice has been alerted."
	default:
		r.Level, r.Band = LevelEmergency, "emergency"
		r.Advice = "Your peak flow is below 40% of your best. This is an emergency: call 999 now and use your reliever inhaler as your plan says."
	}
	return r, nil
}
