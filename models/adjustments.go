package models

import "time"

// RecordedAdjustments are a patient's standing reasonable adjustments, kept on the patient
// record so that every booking carries them without anyone having to remember (issue 5: "as
// part of the booking, not a note"). Version counts the changes: 0 means nothing has been
// recorded yet, and a change must name the version it was based on.
type RecordedAdjustments struct {
	Adjustments
	Version   int       `json:"version"`
	UpdatedBy UserID    `json:"updatedBy,omitempty"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// CurrentAdjustments returns the adjustments recorded on p (the zero value when there are none).
func (p *Patient) CurrentAdjustments() RecordedAdjustments {
	if p == nil || p.Adjustments == nil {
		return RecordedAdjustments{}
	}
	return *p.Adjustments
}

// Merge returns a booking's adjustments with the patient's standing ones added: every need
// recorded on the patient holds for the booking too (a booking can add needs, never drop a
// recorded one). An interpreter language given for the booking wins over the recorded one
// (the patient may bring a different relative this time, say); notes are joined.
func (a Adjustments) Merge(rec Adjustments) Adjustments {
	out := a
	out.Interpreter = a.Interpreter || rec.Interpreter
	if !a.Interpreter {
		out.Language = rec.Language
	}
	out.BSL = a.BSL || rec.BSL
	out.StepFree = a.StepFree || rec.StepFree
	out.Longer = a.Longer || rec.Longer
	out.CarerAttending = a.CarerAttending || rec.CarerAttending
	switch {
	case rec.Notes == "" || rec.Notes == a.Notes:
	case a.Notes == "":
		out.Notes = rec.Notes
	default:
		out.Notes = rec.Notes + " / " + a.Notes
	}
	return out
}
