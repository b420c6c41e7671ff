package handlers

import (
	"strconv"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/models"
)

// Self-management plans as FHIR CarePlan, and their goals as Goal. A plan is versioned; the
// CarePlan is its current version (meta.versionId). Goals have no id of their own in Careway:
// a Goal's id is the plan's id, "-goal-" and the goal's place in the plan (1-based), which
// stays put within a version.

const goalInfix = "-goal-"

// goalID returns the FHIR id of a plan's i-th goal (0-based i).
func goalID(plan models.PlanID, i int) string {
	return string(plan) + goalInfix + strconv.Itoa(i+1)
}

// parseGoalID splits a Goal id into its plan and the goal's index (0-based).
func parseGoalID(id string) (models.PlanID, int, bool) {
	plan, n, ok := strings.Cut(id, goalInfix)
	if !ok || !models.IsUUID(plan) {
		return "", 0, false
	}
	i, err := strconv.Atoi(n)
	if err != nil || i < 1 || strconv.Itoa(i) != n {
		return "", 0, false
	}
	return models.PlanID(plan), i - 1, true
}

// conditionRefs maps a patient's condition codes to their Condition ids, so that a plan can say
// which condition it addresses.
func conditionRefs(conds []*models.Condition) map[models.ConditionCode]string {
	m := map[models.ConditionCode]string{}
	for _, c := range conds {
		if _, seen := m[c.Code]; !seen || c.Status != "resolved" {
			m[c.Code] = c.ID
		}
	}
	return m
}

// fhirCarePlan maps the current version of a plan.
func fhirCarePlan(p *models.Plan, conditions map[models.ConditionCode]string) fhir.CarePlan {
	status, activity := fhir.RequestStatusActive, fhir.CarePlanActivityStatusInProgress
	if p.Status == models.PlanEnded {
		status, activity = fhir.RequestStatusCompleted, fhir.CarePlanActivityStatusCompleted
	}
	cond := conditionDisplay(p.Condition)
	res := fhir.CarePlan{
		Id:      ptr(string(p.ID)),
		Status:  status,
		Intent:  fhir.CarePlanIntentPlan,
		Title:   ptr("Self-management plan: " + cond),
		Subject: reference("Patient", string(p.PatientID)),
	}
	if !p.CreatedAt.IsZero() {
		res.Meta = &fhir.Meta{VersionId: ptr(strconv.Itoa(p.Version)), LastUpdated: ptr(fhirInstant(p.CreatedAt))}
	}
	if p.ReviewDate != "" {
		res.Description = ptr("Review by " + p.ReviewDate + ".")
	}
	if id, ok := conditions[p.Condition]; ok {
		ref := reference("Condition", id)
		ref.Display = ptr(cond)
		res.Addresses = []fhir.Reference{ref}
	}
	for i := range p.Goals {
		res.Goal = append(res.Goal, reference("Goal", goalID(p.ID, i)))
	}
	for _, m := range p.Monitoring {
		mc := readingCodes[m.Code]
		detail := fhir.CarePlanActivityDetail{
			Status:      activity,
			Code:        ptr(mc.concept(string(m.Code))),
			Description: ptr("Record " + strings.ToLower(mc.display) + " " + strconv.Itoa(m.Times) + " time(s) per " + m.Per + "."),
		}
		if unit, ok := timingUnit(m.Per); ok && m.Times > 0 {
			detail.ScheduledTiming = &fhir.Timing{Repeat: &fhir.TimingRepeat{Frequency: ptr(m.Times), Period: ptr(jsonNumber(1)), PeriodUnit: &unit}}
		}
		res.Activity = append(res.Activity, fhir.CarePlanActivity{Detail: &detail})
	}
	for _, a := range p.Actions {
		if strings.TrimSpace(a) == "" {
			continue
		}
		res.Activity = append(res.Activity, fhir.CarePlanActivity{Detail: &fhir.CarePlanActivityDetail{Status: activity, Description: ptr(a)}})
	}
	if note := thresholdNote(p.Thresholds); note != "" {
		res.Note = append(res.Note, fhir.Annotation{Text: note})
	}
	if strings.TrimSpace(p.IfWorse) != "" {
		res.Note = append(res.Note, fhir.Annotation{Text: "If things get worse: " + p.IfWorse})
	}
	return res
}

// conditionDisplay names a condition code for people.
func conditionDisplay(c models.ConditionCode) string {
	if info, ok := models.Conditions[c]; ok {
		return info.Display
	}
	return string(c)
}

// timingUnit maps a schedule period to its UCUM units-of-time code.
func timingUnit(per string) (string, bool) {
	switch per {
	case "day":
		return "d", true
	case "week":
		return "wk", true
	case "month":
		return "mo", true
	}
	return "", false
}

// thresholdNote says in words which of the default rules the clinician personalised.
func thresholdNote(t models.Thresholds) string {
	var parts []string
	if t.BPTarget != nil {
		parts = append(parts, "blood pressure target below "+jsonNumber(t.BPTarget.Systolic).String()+"/"+jsonNumber(t.BPTarget.Diastolic).String()+" mm[Hg]")
	}
	if t.PeakFlowPersonalBest != nil {
		parts = append(parts, "peak flow personal best "+jsonNumber(*t.PeakFlowPersonalBest).String()+" L/min")
	}
	if t.SpO2Scale2 {
		parts = append(parts, "SpO2 target 88-92 % (NEWS2 scale 2)")
	}
	if t.HbA1cTarget != nil {
		parts = append(parts, "HbA1c target "+jsonNumber(*t.HbA1cTarget).String()+" mmol/mol")
	}
	if len(parts) == 0 {
		return ""
	}
	return "Personalised thresholds: " + strings.Join(parts, "; ") + "."
}

// fhirGoal maps the i-th goal of a plan.
func fhirGoal(p *models.Plan, i int, conditions map[models.ConditionCode]string) fhir.Goal {
	g := p.Goals[i]
	status := fhir.GoalLifecycleStatusActive
	if p.Status == models.PlanEnded {
		status = fhir.GoalLifecycleStatusCompleted // no longer being sought (R4 goal-status)
	}
	res := fhir.Goal{
		Id:              ptr(goalID(p.ID, i)),
		LifecycleStatus: status,
		Description:     concept(g.Description),
		Subject:         reference("Patient", string(p.PatientID)),
	}
	if !p.CreatedAt.IsZero() {
		res.Meta = &fhir.Meta{LastUpdated: ptr(fhirInstant(p.CreatedAt))}
	}
	if id, ok := conditions[p.Condition]; ok {
		res.Addresses = []fhir.Reference{reference("Condition", id)}
	}
	if g.Code != "" || g.By != "" {
		t := fhir.GoalTarget{}
		if g.Code != "" {
			m := readingCodes[g.Code]
			t.Measure = ptr(m.concept(string(g.Code)))
			// A range needs one unit: a blood pressure goal has two numbers (the panel), so its
			// target stays in the description.
			unit := m.unit
			if unit == "" {
				unit = g.Unit
			}
			if g.Code != models.CodeBloodPressure && unit != "" && (g.Low != nil || g.High != nil) {
				r := &fhir.Range{}
				if g.Low != nil {
					r.Low = quantity(*g.Low, unit)
				}
				if g.High != nil {
					r.High = quantity(*g.High, unit)
				}
				t.DetailRange = r
			}
		}
		if g.By != "" {
			t.DueDate = ptr(g.By)
		}
		res.Target = []fhir.GoalTarget{t}
	}
	return res
}
