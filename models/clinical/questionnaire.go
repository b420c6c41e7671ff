package clinical

import (
	"fmt"
	"strconv"

	"careway/models"
)

// CrisisAdvice is shown whenever PHQ-9 item 9 (thoughts of self-harm) is above zero, whatever the
// total (CLINICAL.md, "Questionnaires").
const CrisisAdvice = "You said you have had thoughts that you would be better off dead or of hurting yourself. " +
	"If you are in danger now, call 999. You can talk to Samaritans any time on 116 123 (free), " +
	"or call NHS 111 and choose option 2 for the mental health crisis line. Your practice has been alerted and will contact you today."

// Questionnaire describes one instrument's items.
type Questionnaire struct {
	Code     string // the reading code: "phq9", "gad7", "cat"
	Items    int    // how many answers, in order
	MaxScore int    // each answer is 0..MaxScore
}

// The three questionnaires Careway scores.
var (
	PHQ9Items = Questionnaire{Code: CodePHQ9, Items: 9, MaxScore: 3}
	GAD7Items = Questionnaire{Code: CodeGAD7, Items: 7, MaxScore: 3}
	CATItems  = Questionnaire{Code: CodeCAT, Items: 8, MaxScore: 5}
)

// QuestionnaireFor returns the items of the questionnaire with the given reading code.
func QuestionnaireFor(code string) (Questionnaire, bool) {
	switch code {
	case CodePHQ9:
		return PHQ9Items, true
	case CodeGAD7:
		return GAD7Items, true
	case CodeCAT:
		return CATItems, true
	}
	return Questionnaire{}, false
}

// Total checks the answers and returns their sum. A wrong count is EINVALID naming "answers";
// an answer out of range is EINVALID naming each one, e.g. "answers[3]". The total is always
// computed here: a client-sent total is ignored.
func (q Questionnaire) Total(answers []int) (int, error) {
	if len(answers) != q.Items {
		return 0, invalid("answers", "%s needs exactly %d answers, got %d", q.Code, q.Items, len(answers))
	}
	var p models.Problems
	total := 0
	for i, a := range answers {
		if a < 0 || a > q.MaxScore {
			p.Add("answers["+strconv.Itoa(i)+"]", fmt.Sprintf("must be a whole number from 0 to %d", q.MaxScore))
			continue
		}
		total += a
	}
	if err := p.Err(); err != nil {
		return 0, err
	}
	return total, nil
}

// PHQ9 scores the Patient Health Questionnaire (9 items, 0–3 each; total 0–27). Bands: 0–4
// minimal, 5–9 mild, 10–14 moderate, 15–19 moderately severe, 20–27 severe.
//
// Levels: item 9 above zero is red whatever the total (rule "phq9.item9"), with CrisisAdvice;
// otherwise 20–27 red, 10–19 amber, 0–9 normal (rule "phq9.total"). The level table lists only
// the amber and red cases, so 0–9 (minimal and mild) are normal. Errors as for Total.
func PHQ9(answers []int) (Result, error) {
	total, err := PHQ9Items.Total(answers)
	if err != nil {
		return Result{}, err
	}
	r := Result{Score: intp(total), RuleID: "phq9.total"}
	switch {
	case total >= 20:
		r.Band = "severe"
	case total >= 15:
		r.Band = "moderately-severe"
	case total >= 10:
		r.Band = "moderate"
	case total >= 5:
		r.Band = "mild"
	default:
		r.Band = "minimal"
	}
	switch {
	case answers[8] > 0:
		r.Level, r.RuleID, r.Advice = LevelRed, "phq9.item9", CrisisAdvice
	case total >= 20:
		r.Level = LevelRed
		r.Advice = "Your score suggests severe depression. Please contact the practice today; your practice has been alerted. If you feel unable to keep yourself safe, call 999 or Samaritans on 116 123."
	case total >= 10:
		r.Level = LevelAmber
		r.Advice = "Your score suggests " + bandWords(r.Band) + " depression. Follow your plan and book a routine appointment to talk it through. If things get worse, contact the practice sooner."
	default:
		r.Level = LevelNormal
		r.Advice = "Your score suggests " + bandWords(r.Band) + " symptoms of depression. Carry on with your plan and contact the practice if things get worse."
	}
	return r, nil
}

// GAD7 scores the Generalised Anxiety Disorder questionnaire (7 items, 0–3 each; total 0–21).
// Bands: 0–4 minimal, 5–9 mild, 10–14 moderate, 15–21 severe.
//
// GAD-7 is not in CLINICAL.md's level table, so it takes the safer reading, by analogy with PHQ-9:
// ≥10 "suggests further assessment", so 10–14 is amber; severe (15–21) is red, as severe PHQ-9 is;
// 0–9 normal. Rule "gad7.total". Errors as for Total.
func GAD7(answers []int) (Result, error) {
	total, err := GAD7Items.Total(answers)
	if err != nil {
		return Result{}, err
	}
	r := Result{Score: intp(total), RuleID: "gad7.total"}
	switch {
	case total >= 15:
		r.Level, r.Band = LevelRed, "severe"
		r.Advice = "Your score suggests severe anxiety. Please contact the practice today; your practice has been alerted. If you feel unable to keep yourself safe, call 999 or Samaritans on 116 123."
	case total >= 10:
		r.Level, r.Band = LevelAmber, "moderate"
		r.Advice = "Your score suggests moderate anxiety, which is worth a further assessment. Follow your plan and book a routine appointment."
	case total >= 5:
		r.Level, r.Band = LevelNormal, "mild"
		r.Advice = "Your score suggests mild anxiety. Carry on with your plan and contact the practice if things get worse."
	default:
		r.Level, r.Band = LevelNormal, "minimal"
		r.Advice = "Your score suggests minimal anxiety. Carry on with your plan."
	}
	return r, nil
}

// CAT scores the COPD Assessment Test (8 items, 0–5 each; total 0–40). Bands: <10 low, 10–20
// medium (sources differ on exactly 10: CLINICAL.md treats 10 as medium, the safer reading),
// 21–30 high, >30 very high.
//
// CAT is not in CLINICAL.md's level table; it measures the impact of COPD on daily life rather
// than an acute change, so the safer reading is: low normal; medium and high amber (act on the
// plan, routine review); very high red (same-day contact, since the impact is so great that an
// exacerbation may be under way). Rule "cat.total". Errors as for Total.
func CAT(answers []int) (Result, error) {
	total, err := CATItems.Total(answers)
	if err != nil {
		return Result{}, err
	}
	r := Result{Score: intp(total), RuleID: "cat.total"}
	switch {
	case total > 30:
		r.Level, r.Band = LevelRed, "very-high"
		r.Advice = "Your COPD is having a very high impact on your life. Start the steps in your plan for a flare-up and contact the practice today; your practice has been alerted."
	case total > 20:
		r.Level, r.Band = LevelAmber, "high"
		r.Advice = "Your COPD is having a high impact on your life. Follow your plan and book a review with the practice."
	case total >= 10:
		r.Level, r.Band = LevelAmber, "medium"
		r.Advice = "Your COPD is having a medium impact on your life. Follow your plan and mention it at your next review, or sooner if it gets worse."
	default:
		r.Level, r.Band = LevelNormal, "low"
		r.Advice = "Your COPD is having a low impact on your life. Carry on with your plan."
	}
	return r, nil
}

func bandWords(band string) string {
	switch band {
	case "moderately-severe":
		return "moderately severe"
	}
	return band
}
