package clinical

// Single readings of a vital sign (heart_rate, respiratory_rate, oxygen_saturation,
// body_temperature) are scored with that parameter's NEWS2 row.
//
// CLINICAL.md's level table does not list single vital-sign readings, so they take the safer
// reading of the NEWS2 response rules that do apply to one parameter: a row score of 3 is "3 in
// any single parameter", urgent, so red; a row score of 1 or 2 is part of a "low" NEWS2 (1–4), so
// amber; 0 is normal. A lone reading can never reach NEWS2's emergency (≥7), because one row
// scores at most 3; the advice tells the patient to record a full set of vital signs if they can.
//
// These helpers take values already checked with CheckMeasure (they return no error); each fills
// Result.SubScores with its own key only and leaves Score nil, since a lone row is not a NEWS2
// total.

// SpO2Alone scores a single oxygen_saturation reading with NEWS2's SpO2 row (scale 1, or scale 2
// when the plan sets it; onOxygen matters only on scale 2). The air-or-oxygen row is not added:
// it is a separate NEWS2 parameter, scored only within a full vital_signs set.
func SpO2Alone(percent float64, scale2, onOxygen bool) Result {
	return single(News2OxygenSaturation, "news2.oxygen-saturation", "oxygen level", spo2Score(percent, scale2, onOxygen))
}

// HeartRateAlone scores a single heart_rate reading (beats per minute) with NEWS2's pulse row.
func HeartRateAlone(bpm float64) Result {
	return single(News2Pulse, "news2.pulse", "pulse", pulseScore(bpm))
}

// RespiratoryRateAlone scores a single respiratory_rate reading (breaths per minute) with
// NEWS2's respiration row.
func RespiratoryRateAlone(perMin float64) Result {
	return single(News2RespiratoryRate, "news2.respiratory-rate", "breathing rate", respiratoryRateScore(perMin))
}

// TemperatureAlone scores a single body_temperature reading (°C) with NEWS2's temperature row.
func TemperatureAlone(celsius float64) Result {
	return single(News2Temperature, "news2.temperature", "temperature", temperatureScore(celsius))
}

func single(key, ruleID, what string, score int) Result {
	r := Result{SubScores: map[string]int{key: score}, RuleID: ruleID}
	switch {
	case score >= 3:
		r.Level, r.Band = LevelRed, "far-from-normal"
		r.Advice = "Your " + what + " is far from normal. Contact the practice today, or call NHS 111 if it is closed; call 999 if you feel very unwell. Your practice has been alerted."
	case score >= 1:
		r.Level, r.Band = LevelAmber, "outside-normal"
		r.Advice = "Your " + what + " is a little outside the normal range. Follow your plan, check again later, and record a full set of vital signs if you can."
	default:
		r.Level, r.Band = LevelNormal, "normal"
		r.Advice = "Your " + what + " is in the normal range."
	}
	return r
}
