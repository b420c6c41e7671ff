package clinical

import "strconv"

// VitalSigns is one set of observations scored as NEWS2 (a `vital_signs` reading). Temperature is
// in °C, SpO2 in %, rates per minute, systolic in mmHg.
type VitalSigns struct {
	RespiratoryRate  float64
	OxygenSaturation float64
	OnOxygen         bool
	Systolic         float64
	Pulse            float64
	Consciousness    string // ACVPU: one of "A", "C", "V", "P", "U"
	Temperature      float64
}

// NEWS2 sub-score keys, as used in Result.SubScores.
const (
	News2RespiratoryRate  = "respiratoryRate"
	News2OxygenSaturation = "oxygenSaturation"
	News2OnOxygen         = "onOxygen"
	News2Systolic         = "systolic"
	News2Pulse            = "pulse"
	News2Consciousness    = "consciousness"
	News2Temperature      = "temperature"
)

// NEWS2 scores a set of vital signs with the Royal College of Physicians' National Early Warning
// Score 2 (CLINICAL.md, "NEWS2"). scale2 selects SpO2 scale 2, which only a clinician sets on the
// plan (an 88–92 % target in hypercapnic respiratory failure).
//
// Each value is compared as given, without rounding, against each band's upper edge in turn, so
// 35.05 °C scores 1 (not 0, as an integer-range implementation would). The level is:
// a total ≥7 emergency; 5–6 red; 3 in any single parameter red even when the total is lower
// ("urgent, treat as 5–6"); 1–4 amber; 0 normal.
//
// NEWS2 is not validated under 16 or in pregnancy, so it refuses to score rather than give a
// misleading answer: EINVALID naming "age" or "pregnant". A value outside the plausible range of
// its measure (see CheckMeasure) or a consciousness that is not one of A, C, V, P, U is EINVALID
// naming the field (e.g. "oxygenSaturation").
func NEWS2(v VitalSigns, scale2 bool, age int, pregnant bool) (Result, error) {
	if age < 16 {
		return Result{}, invalid("age", "NEWS2 is not validated under 16; it cannot be scored for this patient")
	}
	if pregnant {
		return Result{}, invalid("pregnant", "NEWS2 is not validated in pregnancy; it cannot be scored for this patient")
	}
	if err := v.validate(); err != nil {
		return Result{}, err
	}
	sub := map[string]int{
		News2RespiratoryRate:  respiratoryRateScore(v.RespiratoryRate),
		News2OxygenSaturation: spo2Score(v.OxygenSaturation, scale2, v.OnOxygen),
		News2OnOxygen:         oxygenScore(v.OnOxygen),
		News2Systolic:         systolicScore(v.Systolic),
		News2Pulse:            pulseScore(v.Pulse),
		News2Consciousness:    consciousnessScore(v.Consciousness),
		News2Temperature:      temperatureScore(v.Temperature),
	}
	total, single := 0, false
	for _, s := range sub {
		total += s
		if s == 3 {
			single = true
		}
	}
	r := Result{Score: intp(total), SubScores: sub}
	switch {
	case total >= 7:
		r.Level, r.Band, r.RuleID = LevelEmergency, "high", "news2.total"
		r.Advice = "Your early warning score is " + strconv.Itoa(total) + ", which is high. Call 999 now."
	case total >= 5:
		r.Level, r.Band, r.RuleID = LevelRed, "medium", "news2.total"
		r.Advice = "Your early warning score is " + strconv.Itoa(total) + ". A clinician needs to see you within the hour: contact the practice now, or call NHS 111 if it is closed. Your practice has been alerted."
	case single:
		// RCP: a score of 3 in any one parameter is an urgent ward-based response; CLINICAL.md
		// says treat it as 5–6, hence red even though the total is 1–4.
		r.Level, r.Band, r.RuleID = LevelRed, "low-medium", "news2.single-parameter"
		r.Advice = "One of your readings is far from normal. Contact the practice today, or call NHS 111 if it is closed. Your practice has been alerted."
	case total >= 1:
		r.Level, r.Band, r.RuleID = LevelAmber, "low", "news2.total"
		r.Advice = "Your early warning score is " + strconv.Itoa(total) + ". Follow your plan and check again later; contact the practice if you feel worse or the score rises."
	default:
		r.Level, r.Band, r.RuleID = LevelNormal, "low", "news2.total"
		r.Advice = "Your early warning score is 0. Carry on with your plan."
	}
	return r, nil
}

// validate checks every vital sign against the plausible range of its measure.
func (v VitalSigns) validate() error {
	var errs []error
	check := func(field string, value float64) {
		if _, err := CheckMeasure(CodeVitalSigns, field, "", value); err != nil {
			errs = append(errs, err)
		}
	}
	check(News2RespiratoryRate, v.RespiratoryRate)
	check(News2OxygenSaturation, v.OxygenSaturation)
	check(News2Systolic, v.Systolic)
	check(News2Pulse, v.Pulse)
	check(News2Temperature, v.Temperature)
	if !ValidConsciousness(v.Consciousness) {
		errs = append(errs, invalid(News2Consciousness, "must be one of A, C, V, P, U (ACVPU)"))
	}
	return joinInvalid(errs)
}

// ValidConsciousness reports whether c is an ACVPU level: "A" (alert), "C" (new confusion),
// "V" (responds to voice), "P" (to pain) or "U" (unresponsive).
func ValidConsciousness(c string) bool {
	switch c {
	case "A", "C", "V", "P", "U":
		return true
	}
	return false
}

// The NEWS2 rows. Each compares the value as given against each band's upper edge in turn.

func respiratoryRateScore(rate float64) int {
	switch {
	case rate <= 8:
		return 3
	case rate <= 11:
		return 1
	case rate <= 20:
		return 0
	case rate <= 24:
		return 2
	}
	return 3
}

// spo2Score is the SpO2 row. Scale 2 scores 88–92 % as 0 and, on air, anything at or above 93 %
// as 0 too; on oxygen 93–94 scores 1, 95–96 scores 2 and ≥97 scores 3 (over-oxygenation is a
// danger in hypercapnic respiratory failure).
func spo2Score(percent float64, scale2, onOxygen bool) int {
	if !scale2 {
		switch {
		case percent <= 91:
			return 3
		case percent <= 93:
			return 2
		case percent <= 95:
			return 1
		}
		return 0
	}
	switch {
	case percent <= 83:
		return 3
	case percent <= 85:
		return 2
	case percent <= 87:
		return 1
	case percent <= 92 || !onOxygen:
		return 0
	case percent <= 94:
		return 1
	case percent <= 96:
		return 2
	}
	return 3
}

func oxygenScore(onOxygen bool) int {
	if onOxygen {
		return 2
	}
	return 0
}

func systolicScore(sys float64) int {
	switch {
	case sys <= 90:
		return 3
	case sys <= 100:
		return 2
	case sys <= 110:
		return 1
	case sys <= 219:
		return 0
	}
	return 3
}

func pulseScore(bpm float64) int {
	switch {
	case bpm <= 40:
		return 3
	case bpm <= 50:
		return 1
	case bpm <= 90:
		return 0
	case bpm <= 110:
		return 1
	case bpm <= 130:
		return 2
	}
	return 3
}

func consciousnessScore(c string) int {
	if c == "A" {
		return 0
	}
	return 3 // new confusion, voice, pain or unresponsive
}

func temperatureScore(celsius float64) int {
	switch {
	case celsius <= 35.0:
		return 3
	case celsius <= 36.0:
		return 1
	case celsius <= 38.0:
		return 0
	case celsius <= 39.0:
		return 1
	}
	return 2
}
