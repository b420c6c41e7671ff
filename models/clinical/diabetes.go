package clinical

// Diabetes thresholds (CLINICAL.md, "Diabetes", NICE NG28).
const (
	GlucoseHypo = 4.0 // mmol/L: below is a hypo, treat it now
	GlucoseHigh = 15  // mmol/L: above, contact the practice if it keeps happening

	HbA1cDefaultTarget   = 48 // mmol/mol
	HbA1cHypoDrugTarget  = 53 // mmol/mol, on a drug that can cause hypoglycaemia
	HbA1cReviewAtOrAbove = 58 // mmol/mol: review (intensify treatment)
)

// Glucose interprets a capillary blood glucose in mmol/L: below 4.0 is a hypo, red (rule
// "glucose.hypo": treat it now, and the practice is alerted); above 15 amber (rule
// "glucose.high"); otherwise normal (rule "glucose.range"). Values are compared as given, so 3.99
// is a hypo and 15 is not high, 15.01 is.
//
// CLINICAL.md says ">15 repeatedly: contact practice"; a single reading cannot know "repeatedly",
// so each high reading is amber (act on the plan, routine contact if it persists), which is the
// level table's own example.
func Glucose(mmolPerL float64) Result {
	switch {
	case mmolPerL < GlucoseHypo:
		return Result{Level: LevelRed, Band: "hypo", RuleID: "glucose.hypo",
			Advice: "Your blood glucose is below 4.0: this is a hypo. Treat it now with a sugary drink or glucose tablets as your plan says, " +
				"then check again in 15 minutes. Call 999 if you cannot treat it or feel very unwell. Your practice has been alerted."}
	case mmolPerL > GlucoseHigh:
		return Result{Level: LevelAmber, Band: "high", RuleID: "glucose.high",
			Advice: "Your blood glucose is above 15. Follow your plan, drink water and check again; if it stays above 15, contact the practice."}
	}
	return Result{Level: LevelNormal, Band: "in-range", RuleID: "glucose.range",
		Advice: "Your blood glucose is in range. Carry on with your plan."}
}

// HbA1c interprets an HbA1c (IFCC, mmol/mol) against the plan's target: 48 by default, 53 for
// someone on a drug that can cause hypoglycaemia (a target ≤0 means "none set" and uses 48).
// At or below the target is normal (rule "hba1c.target"): NICE NG28 asks people to "reach and
// maintain" the target, so the target itself is met. Above the target amber (rule
// "hba1c.target"); 58 or more amber with band "review" (rule "hba1c.review"), whatever the
// plan's target, because NICE's review point does not move with the target (the safer reading).
//
// HbA1c is not in CLINICAL.md's level table. It reflects about three months of control, so it
// never calls for same-day contact: the highest level is amber (act on the plan, routine review).
func HbA1c(mmolPerMol float64, target float64) Result {
	if !(target > 0) {
		target = HbA1cDefaultTarget
	}
	switch {
	case mmolPerMol >= HbA1cReviewAtOrAbove:
		return Result{Level: LevelAmber, Band: "review", RuleID: "hba1c.review",
			Advice: "Your HbA1c is 58 mmol/mol or more. Your treatment needs a review: book a routine appointment with the practice."}
	case mmolPerMol > target:
		return Result{Level: LevelAmber, Band: "above-target", RuleID: "hba1c.target",
			Advice: "Your HbA1c is above your target. Follow your plan and talk it through at your next review."}
	}
	return Result{Level: LevelNormal, Band: "at-target", RuleID: "hba1c.target",
		Advice: "Your HbA1c is at your target. Carry on with your plan."}
}
