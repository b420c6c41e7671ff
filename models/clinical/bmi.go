package clinical

// BMI computes the body mass index from a weight in kg and a height in metres, and gives its band
// (CLINICAL.md, "Diabetes and weight"; NICE CG189): below 18.5 underweight, 18.5–24.9 healthy,
// 25–29.9 overweight, 30–34.9 obesity I, 35–39.9 obesity II, 40 and over obesity III.
//
// With lowerCutPoints (South Asian, Chinese, other Asian, Middle Eastern, Black African and
// African-Caribbean backgrounds) overweight is 23–27.4 and obesity starts at 27.5. CLINICAL.md
// gives only the start of obesity; its classes II and III follow NICE's rule of lowering each cut
// point by 2.5 (32.5 and 37.5), which is the safer reading (an earlier, higher band).
//
// The value is compared unrounded against each band's lower edge ("18.5–24.9" read as
// 18.5 ≤ BMI < 25), so there is no gap between 24.9 and 25. Rule "bmi.band"; Result.Measure is
// the value, also returned. Level: healthy normal; every other band amber. BMI is not in the
// level table; weight outside the healthy range is a reason to act on the plan and review, never
// to call the same day, so the safer reading is amber rather than normal.
//
// A weight or height that is not a positive number gives value 0 and a Result with an empty
// Level: check the measures with CheckMeasure first.
func BMI(weightKg, heightM float64, lowerCutPoints bool) (float64, Result) {
	if !finite(weightKg) || !finite(heightM) || weightKg <= 0 || heightM <= 0 {
		return 0, Result{}
	}
	v := weightKg / (heightM * heightM)
	over, obese := 25.0, 30.0
	if lowerCutPoints {
		over, obese = 23, 27.5
	}
	r := Result{RuleID: "bmi.band", Measure: floatp(v), Level: LevelAmber}
	switch {
	case v < 18.5:
		r.Band = "underweight"
		r.Advice = "Your BMI is below the healthy range. Follow your plan and talk to the practice about it at your next review."
	case v < over:
		r.Level, r.Band = LevelNormal, "healthy"
		r.Advice = "Your BMI is in the healthy range. Carry on with your plan."
	case v < obese:
		r.Band = "overweight"
		r.Advice = "Your BMI is in the overweight range. Follow your plan; the practice can help with weight management."
	case v < obese+5:
		r.Band = "obesity-1"
		r.Advice = "Your BMI is in the obesity range. Follow your plan; the practice can refer you to weight management support."
	case v < obese+10:
		r.Band = "obesity-2"
		r.Advice = "Your BMI is in the obesity range. Follow your plan; the practice can refer you to weight management support."
	default:
		r.Band = "obesity-3"
		r.Advice = "Your BMI is in the obesity range. Follow your plan; the practice can refer you to weight management support."
	}
	return v, r
}
