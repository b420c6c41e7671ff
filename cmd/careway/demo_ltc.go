package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

// demoID kinds of the long-term-condition demo data.
const (
	kindPlan    = 30
	kindReading = 31
)

// demoLTCParams is what seeding plans and readings needs. Readings go through the API itself
// (in memory, no network), posted by the patients and by care-home staff, so they are checked,
// interpreted, escalated and audited exactly like an app's.
type demoLTCParams struct {
	App          *fiber.App
	Tokens       *auth.Tokens
	Plans        models.PlanStore
	Observations models.ObservationStore
	Weeks        int // of readings, ending now
}

// demoPlanFor is the plan a clinician wrote for each condition, for the i-th demo person.
func demoPlanFor(code models.ConditionCode, i int, resident bool) models.Plan {
	f := func(v float64) *float64 { return &v }
	p := models.Plan{Condition: code, Status: models.PlanActive, Goals: []models.Goal{}, Actions: []string{}}
	switch code {
	case models.ConditionHypertension:
		p.Goals = []models.Goal{{Description: "Home blood pressure below 135/85", Code: models.CodeBloodPressure, High: f(135), Unit: "mm[Hg]"}}
		if i%3 == 0 {
			// Diabetes and kidney disease: a clinician's tighter target.
			p.Thresholds.BPTarget = &models.BPTarget{Systolic: 130, Diastolic: 80}
			p.Goals[0].Description, p.Goals[0].High = "Home blood pressure below 130/80", f(130)
		}
		p.Monitoring = []models.Schedule{{Code: models.CodeBloodPressure, Times: 2, Per: "week"}}
		p.Actions = []string{"Take your blood pressure tablets every morning", "Cut down on salt; aim for 30 minutes' walking a day"}
		p.IfWorse = "If your home readings stay above target for two weeks, book a review. If you get a reading of 180/120 or more, contact the practice today; call 999 with chest pain, a severe headache or weakness."
	case models.ConditionType2Diabetes:
		p.Goals = []models.Goal{{Description: "HbA1c at or below 53 mmol/mol", Code: models.CodeHbA1c, High: f(53), Unit: "mmol/mol"}}
		p.Thresholds.HbA1cTarget = f(53) // on a sulfonylurea: NICE's target for drugs that can cause a hypo
		p.Monitoring = []models.Schedule{{Code: models.CodeBloodGlucose, Times: 3, Per: "week"}}
		p.Actions = []string{"Take metformin with breakfast and your evening meal", "Carry glucose tablets"}
		p.IfWorse = "If your sugar is under 4, treat the hypo now (glucose tablets, then a snack). If it is over 15 on more than two days, contact the practice."
	case models.ConditionAsthma:
		p.Goals = []models.Goal{{Description: "Peak flow in the green zone most days", Code: models.CodePeakFlow, Low: f(400), Unit: "L/min"}}
		p.Thresholds.PeakFlowPersonalBest = f(float64(460 + 20*(i%4)))
		p.Monitoring = []models.Schedule{{Code: models.CodePeakFlow, Times: 1, Per: "day"}}
		p.Actions = []string{"Preventer inhaler two puffs morning and evening", "Reliever when needed; note how often"}
		p.IfWorse = "Amber zone: double the preventer for a week and contact the practice if not better. Red zone: reliever every 4 hours and see a clinician today. Below 40 %: call 999."
	case models.ConditionCOPD:
		p.Goals = []models.Goal{{Description: "Stay out of hospital this winter"}}
		if resident {
			// Known hypercapnic respiratory failure: target 88–92 %, NEWS2 scale 2.
			p.Thresholds.SpO2Scale2 = true
		}
		p.Monitoring = []models.Schedule{{Code: models.CodeOxygenSaturation, Times: 1, Per: "day"}, {Code: models.CodeCAT, Times: 1, Per: "month"}}
		p.Actions = []string{"Use the rescue pack if sputum changes colour and breathlessness worsens", "Pulmonary rehabilitation on Tuesdays"}
		p.IfWorse = "Start the rescue pack and tell the practice the same day. Call 999 if you are too breathless to speak."
	case models.ConditionDepression:
		p.Goals = []models.Goal{{Description: "PHQ-9 below 10", Code: models.CodePHQ9, High: f(9)}}
		p.Monitoring = []models.Schedule{{Code: models.CodePHQ9, Times: 2, Per: "month"}}
		p.Actions = []string{"Sertraline 50 mg daily", "Talking therapies appointment on Thursdays"}
		p.IfWorse = "If you have thoughts of ending your life, call 999, Samaritans on 116 123, or NHS 111 option 2."
	case models.ConditionAnxiety:
		p.Goals = []models.Goal{{Description: "GAD-7 below 10", Code: models.CodeGAD7, High: f(9)}}
		p.Monitoring = []models.Schedule{{Code: models.CodeGAD7, Times: 2, Per: "month"}}
		p.Actions = []string{"Practise the breathing exercise twice a day"}
		p.IfWorse = "If worry stops you going out or sleeping for more than a week, book a review."
	case models.ConditionHeartFailure:
		p.Goals = []models.Goal{{Description: "Weight steady within 2 kg", Code: models.CodeBodyWeight}}
		p.Monitoring = []models.Schedule{{Code: models.CodeBodyWeight, Times: 1, Per: "day"}}
		p.Actions = []string{"Weigh every morning after the toilet, before breakfast", "Furosemide 40 mg each morning"}
		p.IfWorse = "A gain of 2 kg in three days, or more breathless or swollen ankles: contact the practice today."
	case models.ConditionObesity:
		p.Goals = []models.Goal{{Description: "Lose 5 % of body weight in six months", Code: models.CodeBodyWeight}}
		p.Monitoring = []models.Schedule{{Code: models.CodeBodyWeight, Times: 1, Per: "week"}}
		p.Actions = []string{"Weight management group on Mondays"}
		p.IfWorse = "If your weight goes up for a month, book a review with the nurse."
	}
	return p
}

// seedDemoLTC writes a plan for each demo person's conditions and a few weeks of their
// readings, ending now: mostly normal, some amber, and a few red ones (a very high blood
// pressure, a PHQ-9 with item 9 above zero, a resident's NEWS2 of 5) so that alerts and
// urgent triage requests show. Plans have fixed ids; readings have fixed ids and go through
// the API, so a second start (or one after an interrupted seed) stores nothing twice. It
// returns how many readings were stored now.
func seedDemoLTC(ctx context.Context, p demoLTCParams, now time.Time) (int, error) {
	now = now.UTC().Truncate(time.Minute)
	people := append(append([]demoPerson{}, demoPatients...), demoResidents...)
	created := 0
	readingN := 0
	gp := models.UserID(demoID(kindUser, 2))
	staff := &models.User{ID: models.UserID(demoID(kindUser, 2+3)), Role: models.RoleCareHomeStaff,
		CareHomeID: models.CareHomeID(demoID(kindHome, 1)), PracticeID: models.PracticeID(demoID(kindPractice, 1))}
	for i, person := range people {
		if err := ctx.Err(); err != nil {
			return created, err
		}
		resident := i >= len(demoPatients)
		id := models.PatientID(demoID(kindPatient, i+1))
		poster := &models.User{ID: models.UserID(demoID(kindUser, 100+i+1)), Role: models.RolePatient, PatientID: id}
		if resident {
			id = models.PatientID(demoID(kindResident, i-len(demoPatients)+1))
			poster = staff
		}
		for k, code := range person.conditions {
			pl := demoPlanFor(code, i, resident)
			pl.ID, pl.PatientID, pl.Version, pl.AuthorID = models.PlanID(demoID(kindPlan, i*10+k+1)), id, 1, gp
			pl.CreatedAt = now.AddDate(0, 0, -7*p.Weeks-3)
			pl.ReviewDate = now.AddDate(0, 6, 0).Format(time.DateOnly)
			if err := ignoreConflict(p.Plans.CreatePlan(ctx, &pl)); err != nil {
				return created, err
			}
		}
		if p.Weeks <= 0 {
			continue
		}
		readings := demoReadings(person, i, resident, now, p.Weeks)
		for _, r := range readings {
			readingN++
			r["id"] = demoID(kindReading, readingN)
		}
		if len(readings) == 0 {
			continue
		}
		// A person whose last reading is stored was seeded completely before.
		last := models.ObservationID(readings[len(readings)-1]["id"].(string))
		_, err := p.Observations.ObservationByID(ctx, id, last)
		switch models.ErrorCode(err) {
		case "":
			continue
		case models.ENOTFOUND:
		default:
			return created, err
		}
		n, err := postDemoReadings(p, poster, id, readings)
		if err != nil {
			return created, fmt.Errorf("readings of demo person %d: %w", i+1, err)
		}
		created += n
	}
	return created, nil
}

// postDemoReadings posts readings as poster through the app, in batches of up to 500, and
// counts those stored now. A 409 means an earlier seed stored that reading (with times
// computed from an earlier now): it stays as it was.
func postDemoReadings(p demoLTCParams, poster *models.User, patient models.PatientID, readings []map[string]any) (int, error) {
	created := 0
	for start := 0; start < len(readings); start += 500 {
		end := min(start+500, len(readings))
		status, b, err := demoPost(p.App, p.Tokens, poster, "/api/v1/patients/"+string(patient)+"/observations",
			map[string]any{"observations": readings[start:end]})
		if err != nil {
			return created, err
		}
		var out struct {
			Created int
			Items   []struct {
				Status int
				Errors []models.FieldError
			}
		}
		if status != 200 || json.Unmarshal(b, &out) != nil {
			return created, fmt.Errorf("POST answered %d", status)
		}
		for k, it := range out.Items {
			if it.Status == 400 {
				return created, fmt.Errorf("reading %d refused: %v", start+k, it.Errors)
			}
		}
		created += out.Created
	}
	return created, nil
}

// demoReadings makes a person's readings for the monitoring their conditions call for, over
// weeks weeks ending now, deterministic for the person (no randomness, so a resumed seed
// makes the same readings).
func demoReadings(person demoPerson, i int, resident bool, now time.Time, weeks int) []map[string]any {
	var out []map[string]any
	days := 7 * weeks
	at := func(day, hour int) string {
		return now.AddDate(0, 0, -(days - day)).Truncate(24 * time.Hour).Add(time.Duration(hour)*time.Hour + time.Duration(i)*time.Minute).Format(time.RFC3339)
	}
	add := func(day, hour int, code string, fields map[string]any) {
		if t, _ := time.Parse(time.RFC3339, at(day, hour)); t.After(now) {
			return
		}
		r := map[string]any{"code": code, "effectiveAt": at(day, hour)}
		for k, v := range fields {
			r[k] = v
		}
		out = append(out, r)
	}
	// wave is a deterministic wobble in [-1, 1].
	wave := func(day int) float64 { return math.Sin(float64(day*7+i*3) / 2.3) }
	round1 := func(v float64) float64 { return math.Round(v*10) / 10 }
	has := map[models.ConditionCode]bool{}
	for _, c := range person.conditions {
		has[c] = true
	}
	if resident {
		// RESTORE2: care-home staff take a full set of observations every morning.
		for d := 0; d < days; d++ {
			v := map[string]any{"respiratoryRate": 16 + int(2*wave(d)), "oxygenSaturation": 96 + int(wave(d+1)), "onOxygen": false,
				"systolic": 128 + int(8*wave(d+2)), "pulse": 76 + int(6*wave(d+3)), "consciousness": "A", "temperature": round1(36.8 + 0.3*wave(d+4))}
			if has[models.ConditionCOPD] {
				v["oxygenSaturation"] = 90 + int(wave(d+1)) // lives at 88–92 % on scale 2
			}
			if i == len(demoPatients)+1 && d == days-2 {
				// A chest infection: NEWS2 5 (red), the alert and triage request show.
				v = map[string]any{"respiratoryRate": 23, "oxygenSaturation": 86, "onOxygen": false, "systolic": 118, "pulse": 104, "consciousness": "A", "temperature": 38.4}
			}
			if i == len(demoPatients) && d == days-3 {
				add(d, 7, "symptom", map[string]any{"softSigns": []string{"not_eating", "more_sleepy"}, "text": "Off her breakfast and sleepier than usual"})
			}
			add(d, 8, "vital_signs", v)
			if has[models.ConditionHeartFailure] {
				add(d, 7, "body_weight", map[string]any{"value": round1(68 + 0.4*wave(d))})
			}
		}
		return out
	}
	if has[models.ConditionHeartFailure] || has[models.ConditionObesity] {
		add(0, 9, "body_height", map[string]any{"value": 160 + i%25})
	}
	for d := 0; d < days; d++ {
		if has[models.ConditionHypertension] && (d%3 == 0 || (i == 1 && d == days-3)) {
			sys, dia := 132+int(9*wave(d)), 82+int(5*wave(d+1))
			if i == 1 && d == days-3 {
				sys, dia = 184, 106 // a very high reading: red, the practice is alerted
			}
			add(d, 8, "blood_pressure", map[string]any{"systolic": sys, "diastolic": dia})
		}
		if has[models.ConditionType2Diabetes] && d%2 == 0 {
			add(d, 7, "blood_glucose", map[string]any{"value": round1(7.2 + 2.5*wave(d)), "unit": "mmol/L"})
		}
		if has[models.ConditionAsthma] {
			add(d, 9, "peak_flow", map[string]any{"value": 430 + int(50*wave(d))})
		}
		if has[models.ConditionCOPD] {
			add(d, 9, "oxygen_saturation", map[string]any{"value": 94 + int(wave(d)), "onOxygen": false})
			if d%28 == 3 {
				add(d, 10, "cat", map[string]any{"answers": []int{2, 2, 1, 3, 2, 1, 2, 2}})
			}
		}
		if has[models.ConditionHeartFailure] {
			add(d, 7, "body_weight", map[string]any{"value": round1(82 + 0.6*wave(d))})
		}
		if has[models.ConditionObesity] && d%7 == 1 {
			add(d, 7, "body_weight", map[string]any{"value": round1(104 - 0.2*float64(d))})
		}
		if has[models.ConditionDepression] && d%14 == 2 {
			answers := []int{2, 1, 2, 2, 1, 1, 1, 1, 0}
			if i == 12 && d >= days-14 {
				answers = []int{2, 2, 2, 2, 1, 2, 1, 1, 1} // item 9 above zero: crisis advice, alert
			}
			add(d, 20, "phq9", map[string]any{"answers": answers})
		}
		if has[models.ConditionAnxiety] && d%14 == 5 {
			add(d, 20, "gad7", map[string]any{"answers": []int{2, 1, 2, 1, 1, 2, 1}})
		}
	}
	if i%4 == 0 {
		add(days-1, 12, "smoking_status", map[string]any{"smokingStatus": []string{"never", "former", "current"}[i%3]})
	}
	return out
}
