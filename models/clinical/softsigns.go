package clinical

import "strings"

// RESTORE2 soft signs (Hampshire and Isle of Wight RESTORE2, "soft signs of deterioration"):
// what care-home staff notice before the numbers change. The coded values of a symptom reading.
var SoftSigns = []string{
	"new_confusion",       // new or worse confusion, or agitation
	"more_sleepy",         // drowsier or harder to wake than usual
	"reduced_mobility",    // less able to move, or new unsteadiness
	"fall",                // a fall
	"not_eating",          // eating less than usual
	"not_drinking",        // drinking less than usual
	"reduced_urine",       // passing less urine
	"new_pain",            // new pain, or pain worse
	"breathing_change",    // breathing looks different
	"skin_change",         // new mottling, pallor, rash or wound change
	"behaviour_change",    // not their usual self
	"diarrhoea_vomiting",  // diarrhoea or vomiting
	"feels_unwell",        // says they feel unwell
	"new_incontinence",    // new incontinence
	"reduced_interaction", // withdrawn, less responsive to people
}

// ValidSoftSign reports whether s is one of SoftSigns.
func ValidSoftSign(s string) bool {
	for _, v := range SoftSigns {
		if v == s {
			return true
		}
	}
	return false
}

// Symptom interprets a symptom reading: free text and/or RESTORE2 soft signs. CLINICAL.md says
// soft signs "raise concern even when NEWS2 is low" but gives them no level of their own. The
// safer reading: any soft sign is amber (act now: take a full set of observations, rule
// "restore2.soft-signs"), and a free-text symptom alone is amber too (rule "symptom.reported"),
// because Careway cannot read free text and a reported symptom must never look "normal". Neither
// raises an alert by itself; the NEWS2 taken next does if it is red.
func Symptom(softSigns []string, text string) Result {
	if len(softSigns) > 0 {
		return Result{Level: LevelAmber, Band: "soft-signs", RuleID: "restore2.soft-signs",
			Advice: "Soft signs of deterioration noted (" + strings.ReplaceAll(strings.Join(softSigns, ", "), "_", " ") + "). " +
				"Take a full set of observations (NEWS2) now and hand over to the practice using SBARD if the score or your concern is raised. " +
				"Call 999 if the person is seriously unwell."}
	}
	return Result{Level: LevelAmber, Band: "reported", RuleID: "symptom.reported",
		Advice: "Your symptom has been recorded for your practice to see; it is not read straight away. " +
			"If you are worried, contact the practice or NHS 111. Call 999 in an emergency."}
}

// Smoking statuses of a smoking_status reading.
var SmokingStatuses = []string{"never", "former", "current"}

// SmokingStatus interprets a smoking_status reading. Not a level in CLINICAL.md; smoking is a
// reason to offer help, never an urgent one, so a current smoker is amber (act on the plan:
// stop-smoking support, rule "smoking.current") and anyone else normal (rule "smoking.status").
// An unknown status is EINVALID naming "smokingStatus".
func SmokingStatus(status string) (Result, error) {
	switch status {
	case "current":
		return Result{Level: LevelAmber, Band: status, RuleID: "smoking.current",
			Advice: "Stopping smoking is the best thing you can do for your health. Your practice or NHS Smokefree (0300 123 1044) can help you stop."}, nil
	case "never", "former":
		return Result{Level: LevelNormal, Band: status, RuleID: "smoking.status", Advice: "Thank you; your smoking status is recorded."}, nil
	}
	return Result{}, invalid("smokingStatus", "must be never, former or current")
}
