package handlers

import (
	"careway/models"
	"careway/models/clinical"
)

// thresholds are a patient's personalised thresholds gathered from the current versions of
// their active plans, with the plan each came from (recorded on the readings it interprets).
type thresholds struct {
	bp          *models.BPTarget
	bpPlan      *models.Plan
	peakBest    *float64
	peakPlan    *models.Plan
	scale2      bool
	scale2Plan  *models.Plan
	hba1c       *float64
	hba1cPlan   *models.Plan
	lowerBMI    bool
	lowerBMIPln *models.Plan
}

// gatherThresholds merges the thresholds of active plans. Two plans rarely set the same one;
// when they do, the stricter wins, the safer side: the lower BP and HbA1c targets (flagging
// sooner) and the higher personal best (a reading is a lower share of it); scale 2 and the
// lower BMI cut points apply when any plan sets them, as a clinician chose them for this patient.
func gatherThresholds(plans []*models.Plan) thresholds {
	var t thresholds
	for _, p := range plans {
		if p.Status != models.PlanActive {
			continue
		}
		th := p.Thresholds
		if b := th.BPTarget; b != nil {
			if t.bp == nil {
				t.bp, t.bpPlan = &models.BPTarget{Systolic: b.Systolic, Diastolic: b.Diastolic}, p
			} else {
				t.bp.Systolic, t.bp.Diastolic = min(t.bp.Systolic, b.Systolic), min(t.bp.Diastolic, b.Diastolic)
			}
		}
		if v := th.PeakFlowPersonalBest; v != nil && (t.peakBest == nil || *v > *t.peakBest) {
			t.peakBest, t.peakPlan = v, p
		}
		if th.SpO2Scale2 && !t.scale2 {
			t.scale2, t.scale2Plan = true, p
		}
		if v := th.HbA1cTarget; v != nil && (t.hba1c == nil || *v < *t.hba1c) {
			t.hba1c, t.hba1cPlan = v, p
		}
		if th.BMILowerCutPoints && !t.lowerBMI {
			t.lowerBMI, t.lowerBMIPln = true, p
		}
	}
	return t
}

// interpretation is what interpret needs beyond the reading.
type interpretation struct {
	th     thresholds
	age    int
	hasAge bool
	// heightCM is the latest height on record (0 when none), for BMI.
	heightCM float64
}

// interpret scores a checked reading with the rules of models/clinical and the patient's plan
// thresholds, and stores the result (and the plan that drove it) on the reading. It returns
// EINVALID naming a field when the rules refuse to score (NEWS2 under 16 or in pregnancy,
// questionnaire answers out of range).
func interpret(o *models.Observation, ic *interpretation) error {
	var (
		r    clinical.Result
		err  error
		plan *models.Plan
	)
	switch o.Code {
	case models.CodeBloodPressure:
		target := clinical.DefaultBPTarget(ic.age, o.RecordedByRole != models.RoleClinician)
		if ic.th.bp != nil {
			target, plan = clinical.BPTarget{Systolic: ic.th.bp.Systolic, Diastolic: ic.th.bp.Diastolic}, ic.th.bpPlan
		}
		r = clinical.BloodPressure(*o.Systolic, *o.Diastolic, target, o.Symptomatic != nil && *o.Symptomatic)
	case models.CodeHeartRate:
		r = clinical.HeartRateAlone(*o.Value)
	case models.CodeRespiratoryRate:
		r = clinical.RespiratoryRateAlone(*o.Value)
	case models.CodeBodyTemperature:
		r = clinical.TemperatureAlone(*o.Value)
	case models.CodeOxygenSaturation:
		r = clinical.SpO2Alone(*o.Value, ic.th.scale2, o.OnOxygen != nil && *o.OnOxygen)
		if ic.th.scale2 {
			plan = ic.th.scale2Plan
		}
	case models.CodeBloodGlucose:
		r = clinical.Glucose(*o.Value)
	case models.CodeHbA1c:
		target := 0.0 // the rule's default, 48 mmol/mol
		if ic.th.hba1c != nil {
			target, plan = *ic.th.hba1c, ic.th.hba1cPlan
		}
		r = clinical.HbA1c(*o.Value, target)
	case models.CodePeakFlow:
		if ic.th.peakBest == nil {
			// No zone without a personal best. The safer side: not "normal", and told to
			// act on symptoms, not on the number.
			r = clinical.Result{Level: clinical.LevelAmber, Band: "no-personal-best", RuleID: "peakflow.no-personal-best",
				Advice: "Your peak flow is recorded, but your plan has no personal best yet, so Careway cannot tell your zone. " +
					"Ask the practice to add it. If you are breathless or your reliever is not helping, follow your plan; call 999 if you are struggling to breathe."}
			break
		}
		plan = ic.th.peakPlan
		r, err = clinical.PeakFlow(*o.Value, *ic.th.peakBest)
	case models.CodeBodyWeight:
		if ic.heightCM <= 0 {
			r = clinical.Result{Level: clinical.LevelNormal, Band: "no-height", RuleID: "weight.recorded",
				Advice: "Your weight is recorded. Add your height once so Careway can work out your BMI."}
			break
		}
		var bmi float64
		bmi, r = clinical.BMI(*o.Value, ic.heightCM/100, ic.th.lowerBMI)
		o.BMI = &bmi
		if ic.th.lowerBMI {
			plan = ic.th.lowerBMIPln
		}
	case models.CodeBodyHeight:
		r = clinical.Result{Level: clinical.LevelNormal, RuleID: "height.recorded", Advice: "Your height is recorded."}
	case models.CodePHQ9:
		r, err = clinical.PHQ9(o.Answers)
	case models.CodeGAD7:
		r, err = clinical.GAD7(o.Answers)
	case models.CodeCAT:
		r, err = clinical.CAT(o.Answers)
	case models.CodeSmokingStatus:
		r, err = clinical.SmokingStatus(o.SmokingStatus)
	case models.CodeSymptom:
		r = clinical.Symptom(o.SoftSigns, o.Text)
	case models.CodeVitalSigns:
		if !ic.hasAge {
			return fieldError("code", "NEWS2 needs the patient's date of birth, which is not on record; ask the practice to add it")
		}
		v := clinical.VitalSigns{RespiratoryRate: *o.RespiratoryRate, OxygenSaturation: *o.OxygenSaturation,
			OnOxygen: *o.OnOxygen, Systolic: *o.Systolic, Pulse: *o.Pulse, Consciousness: o.Consciousness, Temperature: *o.Temperature}
		r, err = clinical.NEWS2(v, ic.th.scale2, ic.age, o.Pregnant != nil && *o.Pregnant)
		if ic.th.scale2 {
			plan = ic.th.scale2Plan
		}
		if models.ErrorCode(err) == models.EINVALID && ic.age < 16 {
			return fieldError("code", "NEWS2 is not validated under 16, so Careway does not score it; record the single measurements instead and seek clinical advice if worried")
		}
	}
	if err != nil {
		return err
	}
	o.Interpretation = models.Interpretation{Level: models.Level(r.Level), Score: r.Score, SubScores: r.SubScores,
		Band: r.Band, RuleID: r.RuleID, Advice: r.Advice}
	if o.Code == models.CodePHQ9 || o.Code == models.CodeGAD7 || o.Code == models.CodeCAT {
		o.Total = r.Score
	}
	if plan != nil {
		o.PlanID, o.PlanVersion = plan.ID, plan.Version
	}
	return nil
}
