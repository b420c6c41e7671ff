package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"careway/models"
	"careway/models/clinical"
)

// reading builds a reading body with a fresh id, taken a minute ago, plus the given fields.
func reading(code string, fields map[string]any) map[string]any {
	r := map[string]any{"id": models.NewID(), "code": code, "effectiveAt": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)}
	for k, v := range fields {
		r[k] = v
	}
	return r
}

func obsPath(p *models.Patient) string { return "/api/v1/patients/" + string(p.ID) + "/observations" }

type observationBody struct {
	ID             string                `json:"id"`
	Code           string                `json:"code"`
	Value          *float64              `json:"value"`
	Total          *int                  `json:"total"`
	BMI            *float64              `json:"bmi"`
	Status         string                `json:"status"`
	PlanID         string                `json:"planId"`
	Interpretation models.Interpretation `json:"interpretation"`
	Correction     *models.Correction    `json:"correction"`
}

type batchBody struct {
	Items []struct {
		Index       int                 `json:"index"`
		ID          string              `json:"id"`
		Status      int                 `json:"status"`
		AlertID     string              `json:"alertId"`
		Observation *observationBody    `json:"observation"`
		Errors      []models.FieldError `json:"errors"`
	} `json:"items"`
	Created, Existing, Rejected int
}

// postOne posts one reading and decodes the stored observation.
func (h *harness) postOne(t *testing.T, token string, p *models.Patient, body any, want int) observationBody {
	t.Helper()
	var o observationBody
	r := h.do("POST", obsPath(p), token, body).want(t, want)
	if want < 300 {
		r.decode(t, &o)
	}
	return o
}

func (h *harness) postBatch(t *testing.T, token string, p *models.Patient, items []map[string]any) batchBody {
	t.Helper()
	var b batchBody
	h.do("POST", obsPath(p), token, map[string]any{"observations": items}).want(t, 200).decode(t, &b)
	if len(b.Items) != len(items) {
		t.Fatalf("%d results for %d readings", len(b.Items), len(items))
	}
	return b
}

// countReadings counts the stored readings of a patient (every status).
func (h *harness) countReadings(t *testing.T, p models.PatientID) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		items, next, err := h.obs.ListObservations(context.Background(), models.ObservationFilter{PatientID: p, IncludeEnteredInError: true}, models.Page{Limit: 200, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		n += len(items)
		if next == "" {
			return n
		}
		cursor = next
	}
}

func TestObservationEveryCode(t *testing.T) {
	h := newHarness(t)
	tok, p := h.w.patient.token, h.w.patientA
	tests := []struct {
		code   string
		fields map[string]any
		level  models.Level
		rule   string
	}{
		{"blood_pressure", map[string]any{"systolic": 128, "diastolic": 78}, models.LevelNormal, "bp.target"},
		{"blood_pressure", map[string]any{"systolic": 150, "diastolic": 80, "unit": "mmHg"}, models.LevelAmber, "bp.target"},
		{"blood_pressure", map[string]any{"systolic": 185, "diastolic": 100}, models.LevelRed, "bp.crisis"},
		{"blood_pressure", map[string]any{"systolic": 85, "diastolic": 50, "symptomatic": true}, models.LevelRed, "bp.low"},
		{"heart_rate", map[string]any{"value": 72}, models.LevelNormal, "news2.pulse"},
		{"respiratory_rate", map[string]any{"value": 26, "unit": "/min"}, models.LevelRed, "news2.respiratory-rate"},
		{"oxygen_saturation", map[string]any{"value": 95, "onOxygen": false}, models.LevelAmber, "news2.oxygen-saturation"},
		{"body_temperature", map[string]any{"value": 37.0, "unit": "Cel"}, models.LevelNormal, "news2.temperature"},
		{"body_height", map[string]any{"value": 170, "unit": "cm"}, models.LevelNormal, "height.recorded"},
		{"body_weight", map[string]any{"value": 95}, models.LevelAmber, "bmi.band"},
		{"blood_glucose", map[string]any{"value": 3.5, "unit": "mmol/L"}, models.LevelRed, "glucose.hypo"},
		{"hba1c", map[string]any{"value": 60}, models.LevelAmber, "hba1c.review"},
		{"peak_flow", map[string]any{"value": 400}, models.LevelAmber, "peakflow.no-personal-best"},
		{"phq9", map[string]any{"answers": []int{1, 1, 1, 1, 1, 1, 1, 1, 0}, "total": 0}, models.LevelNormal, "phq9.total"},
		{"gad7", map[string]any{"answers": []int{2, 2, 2, 2, 2, 1, 1}}, models.LevelAmber, "gad7.total"},
		{"cat", map[string]any{"answers": []int{1, 1, 1, 1, 1, 1, 1, 1}}, models.LevelNormal, "cat.total"},
		{"smoking_status", map[string]any{"smokingStatus": "current"}, models.LevelAmber, "smoking.current"},
		{"symptom", map[string]any{"text": "Ankles more swollen than usual"}, models.LevelAmber, "symptom.reported"},
		{"symptom", map[string]any{"softSigns": []string{"not_eating", "more_sleepy"}}, models.LevelAmber, "restore2.soft-signs"},
		{"vital_signs", map[string]any{"respiratoryRate": 18, "oxygenSaturation": 97, "onOxygen": false, "systolic": 125, "pulse": 80, "consciousness": "A", "temperature": 37.1}, models.LevelNormal, "news2.total"},
	}
	for _, tt := range tests {
		t.Run(tt.code+"/"+tt.rule, func(t *testing.T) {
			o := h.postOne(t, tok, p, reading(tt.code, tt.fields), 201)
			if o.Interpretation.Level != tt.level || o.Interpretation.RuleID != tt.rule || o.Interpretation.Advice == "" {
				t.Errorf("interpretation = %+v, want %s by %s", o.Interpretation, tt.level, tt.rule)
			}
		})
	}
	t.Run("questionnaire total computed, client total ignored", func(t *testing.T) {
		o := h.postOne(t, tok, p, reading("phq9", map[string]any{"answers": []int{3, 3, 3, 3, 3, 3, 2, 2, 0}, "total": 1}), 201)
		if o.Total == nil || *o.Total != 22 || o.Interpretation.Level != models.LevelRed {
			t.Errorf("total %v level %s, want 22 red", o.Total, o.Interpretation.Level)
		}
	})
	t.Run("PHQ-9 item 9 above zero is crisis advice whatever the total", func(t *testing.T) {
		o := h.postOne(t, tok, p, reading("phq9", map[string]any{"answers": []int{0, 0, 0, 0, 0, 0, 0, 0, 1}}), 201)
		if o.Interpretation.Level != models.LevelRed || o.Interpretation.RuleID != "phq9.item9" || o.Interpretation.Advice != clinical.CrisisAdvice {
			t.Errorf("interpretation = %+v", o.Interpretation)
		}
		if !strings.Contains(o.Interpretation.Advice, "116 123") {
			t.Errorf("crisis advice lacks Samaritans: %q", o.Interpretation.Advice)
		}
	})
	t.Run("BMI from the latest height", func(t *testing.T) {
		// Height 170 cm was recorded above; a later height of 180 cm in the same batch as the
		// weight wins over it.
		b := h.postBatch(t, tok, p, []map[string]any{
			reading("body_weight", map[string]any{"value": 81}),
			reading("body_height", map[string]any{"value": 180, "effectiveAt": time.Now().UTC().Add(-10 * time.Second).Format(time.RFC3339)}),
		})
		o := b.Items[0].Observation
		if o == nil || o.BMI == nil || fmt.Sprintf("%.1f", *o.BMI) != "25.0" {
			t.Fatalf("weight result = %+v", b.Items[0])
		}
	})
}

func TestObservationBadInput(t *testing.T) {
	h := newHarness(t)
	tok, p := h.w.patient.token, h.w.patientA
	now := time.Now().UTC()
	tests := []struct {
		name  string
		body  any
		field string
		hint  string
	}{
		{"glucose in mg/dL", reading("blood_glucose", map[string]any{"value": 90}), "value", "mmol/L"},
		{"glucose with a mg/dL unit", reading("blood_glucose", map[string]any{"value": 90, "unit": "mg/dL"}), "unit", "mmol/L"},
		{"temperature in Fahrenheit", reading("body_temperature", map[string]any{"value": 98.6}), "value", "°F"},
		{"weight in pounds", reading("body_weight", map[string]any{"value": 180, "unit": "lb"}), "unit", "kg"},
		{"height in metres", reading("body_height", map[string]any{"value": 1.75}), "value", "cm"},
		{"HbA1c as a percentage", reading("hba1c", map[string]any{"value": 7}), "value", "mmol/mol"},
		{"SpO2 as a fraction", reading("oxygen_saturation", map[string]any{"value": 0.97}), "value", "percentage"},
		{"text for a number", reading("heart_rate", map[string]any{"value": "seventy"}), "value", "number"},
		{"object for a number", reading("heart_rate", map[string]any{"value": map[string]any{"$gt": 0}}), "value", "number"},
		{"string systolic", reading("blood_pressure", map[string]any{"systolic": "120", "diastolic": 80}), "systolic", "number"},
		{"text answers", reading("phq9", map[string]any{"answers": []string{"a"}}), "answers[0]", ""},
		{"answers not a list", reading("gad7", map[string]any{"answers": "1,2,3"}), "answers", ""},
		{"too few answers", reading("phq9", map[string]any{"answers": []int{1, 2}}), "answers", ""},
		{"answer out of range", reading("gad7", map[string]any{"answers": []int{0, 0, 0, 4, 0, 0, 0}}), "answers[3]", ""},
		{"diastolic above systolic", reading("blood_pressure", map[string]any{"systolic": 80, "diastolic": 120}), "diastolic", ""},
		{"missing diastolic", reading("blood_pressure", map[string]any{"systolic": 120}), "diastolic", ""},
		{"value on blood pressure", reading("blood_pressure", map[string]any{"systolic": 120, "diastolic": 80, "value": 1}), "value", ""},
		{"unknown field", reading("heart_rate", map[string]any{"value": 70, "colour": "red"}), "colour", ""},
		{"unknown code", reading("cholesterol", map[string]any{"value": 5}), "code", ""},
		{"no id", map[string]any{"code": "heart_rate", "value": 70, "effectiveAt": now.Format(time.RFC3339)}, "id", ""},
		{"id not a UUID", map[string]any{"id": "abc", "code": "heart_rate", "value": 70, "effectiveAt": now.Format(time.RFC3339)}, "id", "UUID"},
		{"no time", map[string]any{"id": models.NewID(), "code": "heart_rate", "value": 70}, "effectiveAt", ""},
		{"time as a number", reading("heart_rate", map[string]any{"value": 70, "effectiveAt": 1700000000}), "effectiveAt", ""},
		{"six minutes in the future", reading("heart_rate", map[string]any{"value": 70, "effectiveAt": now.Add(6 * time.Minute).Format(time.RFC3339)}), "effectiveAt", "future"},
		{"ancient", reading("heart_rate", map[string]any{"value": 70, "effectiveAt": "1970-01-01T00:00:00Z"}), "effectiveAt", ""},
		{"before birth", reading("heart_rate", map[string]any{"value": 70, "effectiveAt": "1950-01-01T00:00:00Z"}), "effectiveAt", "born"},
		{"bad consciousness", reading("vital_signs", map[string]any{"respiratoryRate": 18, "oxygenSaturation": 97, "onOxygen": false, "systolic": 125, "pulse": 80, "consciousness": "X", "temperature": 37.1}), "consciousness", ""},
		{"air or oxygen not said", reading("vital_signs", map[string]any{"respiratoryRate": 18, "oxygenSaturation": 97, "systolic": 125, "pulse": 80, "consciousness": "A", "temperature": 37.1}), "onOxygen", ""},
		{"NEWS2 in pregnancy", reading("vital_signs", map[string]any{"respiratoryRate": 18, "oxygenSaturation": 97, "onOxygen": false, "systolic": 125, "pulse": 80, "consciousness": "A", "temperature": 37.1, "pregnant": true}), "pregnant", "pregnancy"},
		{"impossible pulse in vital signs", reading("vital_signs", map[string]any{"respiratoryRate": 18, "oxygenSaturation": 97, "onOxygen": false, "systolic": 125, "pulse": 400, "consciousness": "A", "temperature": 37.1}), "pulse", ""},
		{"unknown soft sign", reading("symptom", map[string]any{"softSigns": []string{"grumpy"}}), "softSigns[0]", ""},
		{"empty symptom", reading("symptom", map[string]any{"text": "  "}), "text", ""},
		{"bad smoking status", reading("smoking_status", map[string]any{"smokingStatus": "sometimes"}), "smokingStatus", ""},
		{"not an object", `[1,2]`, "body", ""},
	}
	before := h.countReadings(t, p.ID)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := h.do("POST", obsPath(p), tok, tt.body).want(t, 400).problem(t)
			if !hasFieldError(pr, tt.field) {
				t.Fatalf("problem does not name %s: %+v", tt.field, pr)
			}
			if tt.hint != "" && !strings.Contains(fmt.Sprint(pr.Errors), tt.hint) {
				t.Errorf("errors %v lack the hint %q", pr.Errors, tt.hint)
			}
		})
	}
	if after := h.countReadings(t, p.ID); after != before {
		t.Errorf("%d readings stored by refused requests", after-before)
	}
	t.Run("four minutes ahead is clock skew, accepted", func(t *testing.T) {
		h.postOne(t, tok, p, reading("heart_rate", map[string]any{"value": 70, "effectiveAt": now.Add(4 * time.Minute).Format(time.RFC3339)}), 201)
	})
}

// TestObservationLimits posts every single-value code at its plausibility limits and just
// beyond them, in one batch: the limits are stored, the values beyond are refused by index.
func TestObservationLimits(t *testing.T) {
	h := newHarness(t)
	var items []map[string]any
	var want []int
	for _, code := range []string{"heart_rate", "respiratory_rate", "oxygen_saturation", "body_temperature", "body_weight",
		"body_height", "blood_glucose", "hba1c", "peak_flow"} {
		m, ok := clinical.MeasureFor(code, "value")
		if !ok {
			t.Fatalf("no measure for %s", code)
		}
		for _, c := range []struct {
			v      float64
			status int
		}{{m.Min, 201}, {m.Max, 201}, {m.Min - 0.01, 400}, {m.Max + 0.01, 400}} {
			if code == "oxygen_saturation" && c.v > 100 && c.status == 400 {
				c.v = 100.01
			}
			items = append(items, reading(code, map[string]any{"value": c.v}))
			want = append(want, c.status)
		}
	}
	for _, bp := range []struct {
		sys, dia float64
		status   int
	}{{40, 20, 201}, {300, 200, 201}, {39.99, 20, 400}, {300.01, 100, 400}, {120, 19.99, 400}, {250, 200.01, 400}} {
		items = append(items, reading("blood_pressure", map[string]any{"systolic": bp.sys, "diastolic": bp.dia}))
		want = append(want, bp.status)
	}
	b := h.postBatch(t, h.w.clinicianA.token, h.w.patientA, items)
	for i, r := range b.Items {
		if r.Status != want[i] {
			t.Errorf("item %d (%v): status %d, want %d; errors %v", i, items[i], r.Status, want[i], r.Errors)
		}
		if r.Status == 400 && (len(r.Errors) == 0 || !strings.HasPrefix(r.Errors[0].Field, fmt.Sprintf("observations[%d].", i))) {
			t.Errorf("item %d: errors %v do not name observations[%d].<field>", i, r.Errors, i)
		}
	}
}

func TestObservationBatch(t *testing.T) {
	h := newHarness(t)
	tok, p := h.w.patient.token, h.w.patientA
	good1 := reading("heart_rate", map[string]any{"value": 70})
	bad := reading("heart_rate", map[string]any{"value": "x"})
	good2 := reading("blood_glucose", map[string]any{"value": 6.1})
	dup := map[string]any{}
	for k, v := range good1 {
		dup[k] = v
	}
	b := h.postBatch(t, tok, p, []map[string]any{good1, bad, good2, dup, {"code": 5}})
	wantStatus := []int{201, 400, 201, 409, 400}
	for i, r := range b.Items {
		if r.Status != wantStatus[i] || r.Index != i {
			t.Errorf("item %d: status %d index %d, want %d; %+v", i, r.Status, r.Index, wantStatus[i], r.Errors)
		}
	}
	if len(b.Items[1].Errors) == 0 || b.Items[1].Errors[0].Field != "observations[1].value" {
		t.Errorf("bad item errors = %+v, want observations[1].value", b.Items[1].Errors)
	}
	if len(b.Items[3].Errors) == 0 || b.Items[3].Errors[0].Field != "observations[3].id" || !strings.Contains(b.Items[3].Errors[0].Message, "observations[0]") {
		t.Errorf("duplicate errors = %+v", b.Items[3].Errors)
	}
	if b.Created != 2 || b.Rejected != 3 {
		t.Errorf("created %d rejected %d", b.Created, b.Rejected)
	}
	if n := h.countReadings(t, p.ID); n != 2 {
		t.Fatalf("%d readings stored, want 2", n)
	}

	t.Run("retry stores nothing twice", func(t *testing.T) {
		changed := map[string]any{}
		for k, v := range good2 {
			changed[k] = v
		}
		changed["value"] = 9.9
		b := h.postBatch(t, tok, p, []map[string]any{good1, good2, changed, reading("heart_rate", map[string]any{"value": 71})})
		want := []int{200, 200, 409, 201}
		for i, r := range b.Items {
			if r.Status != want[i] {
				t.Errorf("item %d: %d, want %d (%v)", i, r.Status, want[i], r.Errors)
			}
		}
		if b.Items[0].Observation == nil || b.Items[0].Observation.ID != good1["id"] {
			t.Errorf("retried item does not return the stored reading: %+v", b.Items[0])
		}
		if n := h.countReadings(t, p.ID); n != 3 {
			t.Errorf("%d readings stored, want 3", n)
		}
		// A single retry answers 200 with the stored reading; other content, 409.
		o := h.postOne(t, tok, p, good1, 200)
		if o.ID != good1["id"] {
			t.Errorf("single retry returned %s", o.ID)
		}
		h.do("POST", obsPath(p), tok, changed).want(t, 409).problem(t)
	})
	t.Run("an id used by another patient", func(t *testing.T) {
		again := map[string]any{}
		for k, v := range good1 {
			again[k] = v
		}
		pr := h.do("POST", obsPath(h.w.patientA2), h.w.patient2.token, again).want(t, 409).problem(t)
		if strings.Contains(string(fmt.Sprint(pr)), string(p.ID)) {
			t.Errorf("the conflict reveals the other patient: %+v", pr)
		}
	})
	t.Run("concurrent retries of one reading store it once", func(t *testing.T) {
		r := reading("heart_rate", map[string]any{"value": 66})
		statuses := h.concurrentlyAs(tok, "POST", obsPath(p), r, 10)
		if statuses[201] != 1 || statuses[200] != 9 {
			t.Errorf("statuses %v, want one 201 and nine 200", statuses)
		}
	})
	t.Run("batch shape", func(t *testing.T) {
		many := make([]map[string]any, 501)
		for i := range many {
			many[i] = reading("heart_rate", map[string]any{"value": 70})
		}
		pr := h.do("POST", obsPath(p), tok, map[string]any{"observations": many}).want(t, 400).problem(t)
		if !hasFieldError(pr, "observations") {
			t.Errorf("501 readings: %+v", pr)
		}
		h.do("POST", obsPath(p), tok, `{"observations": []}`).want(t, 400)
		h.do("POST", obsPath(p), tok, `{"observations": {"a": 1}}`).want(t, 400)
		pr = h.do("POST", obsPath(p), tok, `{"observations": [], "extra": 1}`).want(t, 400).problem(t)
		if !hasFieldError(pr, "extra") {
			t.Errorf("extra field: %+v", pr)
		}
	})
	t.Run("500 readings in one batch", func(t *testing.T) {
		many := make([]map[string]any, 500)
		for i := range many {
			many[i] = reading("heart_rate", map[string]any{"value": 60 + i%30, "effectiveAt": time.Now().UTC().Add(-time.Duration(i) * time.Minute).Format(time.RFC3339)})
		}
		b := h.postBatch(t, h.w.patient2.token, h.w.patientA2, many)
		if b.Created != 500 {
			t.Errorf("created %d of 500", b.Created)
		}
	})
}

// concurrentlyAs sends the same request n times at once with a token and counts the statuses.
func (h *harness) concurrentlyAs(token, method, path string, body any, n int) map[int]int {
	h.t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.do(method, path, token, body)
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return statuses
}

func TestObservationPolicy(t *testing.T) {
	h := newHarness(t)
	w := h.w
	hr := func() map[string]any { return reading("heart_rate", map[string]any{"value": 70}) }
	tests := []struct {
		name    string
		who     *person
		patient *models.Patient
		want    int
	}{
		{"patient, own record", w.patient, w.patientA, 201},
		{"patient, another patient's record", w.patient, w.patientA2, 403},
		{"clinician of the practice", w.clinicianA, w.patientA2, 201},
		{"clinician of another practice", w.clinicianB, w.patientA, 403},
		{"staff, resident with record_observations", w.staff1, w.resident1, 201},
		{"staff, resident with view_plan only", w.staff1, w.resident2, 403},
		{"staff, resident without consent", w.staff1, w.resident3, 403},
		{"staff of another home", w.staff2, w.resident1, 403},
		{"staff, own home's resident from another home", w.staff1, w.resident4, 403},
		{"admin (no clinical data)", w.adminA, w.patientA, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.countReadings(t, tt.patient.ID)
			h.do("POST", obsPath(tt.patient), tt.who.token, hr()).want(t, tt.want)
			h.do("POST", obsPath(tt.patient), tt.who.token, map[string]any{"observations": []any{hr()}}).want(t, map[bool]int{true: 200, false: 403}[tt.want == 201])
			after := h.countReadings(t, tt.patient.ID)
			if tt.want == 403 && after != before {
				t.Errorf("a refused request stored %d readings", after-before)
			}
			h.do("GET", obsPath(tt.patient), tt.who.token, nil).want(t, map[bool]int{true: 200, false: 403}[tt.want == 201])
		})
	}
	if n := h.auditCount(w.patientA2.ID, "observation.write", models.OutcomeDenied); n < 1 {
		t.Errorf("refusals not audited: %d", n)
	}
	h.do("POST", "/api/v1/patients/"+models.NewID()+"/observations", w.clinicianA.token, hr()).want(t, 404)
	h.do("POST", obsPath(w.patientA), "", hr()).want(t, 401)
}

func TestObservationUnder16AndPlanThresholds(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	now := time.Now().UTC()
	child := &models.Patient{ID: models.PatientID(models.NewID()), NHSNumber: nextNHSNumber(), Name: "Young Person",
		DateOfBirth: now.AddDate(-15, 0, 0).Format(time.DateOnly), PracticeID: h.w.practiceA.ID, CreatedAt: now, UpdatedAt: now}
	if err := h.patients.CreatePatient(ctx, child); err != nil {
		t.Fatal(err)
	}
	vitals := map[string]any{"respiratoryRate": 18, "oxygenSaturation": 97, "onOxygen": false, "systolic": 125, "pulse": 80, "consciousness": "A", "temperature": 37.1}
	pr := h.do("POST", obsPath(child), h.w.clinicianA.token, reading("vital_signs", vitals)).want(t, 400).problem(t)
	if !hasFieldError(pr, "code") || !strings.Contains(pr.Errors[0].Message, "16") {
		t.Errorf("under 16: %+v", pr)
	}

	// The plan's thresholds drive the rules.
	tok, p := h.w.clinicianA.token, h.w.patientA
	bp := map[string]any{"systolic": 132, "diastolic": 78}
	if o := h.postOne(t, h.w.patient.token, p, reading("blood_pressure", bp), 201); o.Interpretation.Level != models.LevelNormal {
		t.Fatalf("132/78 at home against the default 135/85: %s", o.Interpretation.Level)
	}
	h.do("POST", "/api/v1/patients/"+string(p.ID)+"/conditions", tok, map[string]any{"code": "hypertension"}).want(t, 201)
	h.do("POST", "/api/v1/patients/"+string(p.ID)+"/conditions", tok, map[string]any{"code": "asthma"}).want(t, 201)
	h.do("POST", "/api/v1/patients/"+string(p.ID)+"/conditions", tok, map[string]any{"code": "copd"}).want(t, 201)
	var plan struct{ ID string }
	h.do("POST", "/api/v1/patients/"+string(p.ID)+"/plans", tok, planBody("hypertension", map[string]any{"bpTarget": map[string]any{"systolic": 130, "diastolic": 80}})).want(t, 201).decode(t, &plan)
	o := h.postOne(t, h.w.patient.token, p, reading("blood_pressure", bp), 201)
	if o.Interpretation.Level != models.LevelAmber || o.PlanID != plan.ID {
		t.Errorf("132/78 against the plan's 130/80: %s (plan %q)", o.Interpretation.Level, o.PlanID)
	}
	h.do("POST", "/api/v1/patients/"+string(p.ID)+"/plans", tok, planBody("asthma", map[string]any{"peakFlowPersonalBest": 500})).want(t, 201)
	if o := h.postOne(t, h.w.patient.token, p, reading("peak_flow", map[string]any{"value": 250}), 201); o.Interpretation.Level != models.LevelRed || o.Interpretation.Band != "red" {
		t.Errorf("250 of 500: %+v", o.Interpretation)
	}
	if o := h.postOne(t, h.w.patient.token, p, reading("peak_flow", map[string]any{"value": 190}), 201); o.Interpretation.Level != models.LevelEmergency {
		t.Errorf("190 of 500: %+v", o.Interpretation)
	}
	// SpO2 90 % on air: scale 1 scores 3 (red); scale 2 scores 0.
	spo2 := reading("oxygen_saturation", map[string]any{"value": 90, "onOxygen": false})
	if o := h.postOne(t, tok, p, spo2, 201); o.Interpretation.Level != models.LevelRed {
		t.Errorf("SpO2 90 on scale 1: %s", o.Interpretation.Level)
	}
	h.do("POST", "/api/v1/patients/"+string(p.ID)+"/plans", tok, planBody("copd", map[string]any{"spo2Scale2": true})).want(t, 201)
	if o := h.postOne(t, tok, p, reading("oxygen_saturation", map[string]any{"value": 90, "onOxygen": false}), 201); o.Interpretation.Level != models.LevelNormal {
		t.Errorf("SpO2 90 on scale 2: %s", o.Interpretation.Level)
	}
}

func TestObservationListAndCorrection(t *testing.T) {
	h := newHarness(t)
	tok, p := h.w.patient.token, h.w.patientA
	base := time.Now().UTC().Add(-time.Hour)
	var ids []string
	for i := 0; i < 5; i++ {
		r := reading("heart_rate", map[string]any{"value": 60 + i, "effectiveAt": base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)})
		ids = append(ids, r["id"].(string))
		h.postOne(t, tok, p, r, 201)
	}
	h.postOne(t, tok, p, reading("blood_glucose", map[string]any{"value": 5}), 201)
	var page struct {
		Items      []observationBody
		NextCursor *string
	}
	h.do("GET", obsPath(p)+"?code=heart_rate&limit=2", tok, nil).want(t, 200).decode(t, &page)
	if len(page.Items) != 2 || page.Items[0].ID != ids[4] || page.NextCursor == nil {
		t.Fatalf("first page = %+v", page)
	}
	h.do("GET", obsPath(p)+"?code=heart_rate&limit=2&cursor="+*page.NextCursor, tok, nil).want(t, 200).decode(t, &page)
	if len(page.Items) != 2 || page.Items[0].ID != ids[2] {
		t.Fatalf("second page = %+v", page)
	}
	from, to := base.Add(time.Minute).Format(time.RFC3339), base.Add(3*time.Minute).Format(time.RFC3339)
	h.do("GET", obsPath(p)+"?code=heart_rate&order=asc&from="+from+"&to="+to, tok, nil).want(t, 200).decode(t, &page)
	if len(page.Items) != 2 || page.Items[0].ID != ids[1] || page.Items[1].ID != ids[2] {
		t.Fatalf("range = %+v", page)
	}
	for _, q := range []string{"?code=nope", "?from=yesterday", "?order=up", "?from=" + to + "&to=" + from, "?includeEnteredInError=maybe", "?cursor=zzz"} {
		h.do("GET", obsPath(p)+q, tok, nil).want(t, 400)
	}

	path := obsPath(p) + "/" + ids[4] + "/entered-in-error"
	h.do("POST", path, tok, map[string]any{"reason": " "}).want(t, 400)
	h.do("POST", path, h.w.patient2.token, map[string]any{"reason": "typo"}).want(t, 403)
	h.do("POST", obsPath(p)+"/"+models.NewID()+"/entered-in-error", tok, map[string]any{"reason": "typo"}).want(t, 404)
	var o observationBody
	h.do("POST", path, tok, map[string]any{"reason": "typed 64 for 46"}).want(t, 200).decode(t, &o)
	if o.Status != models.ObservationEnteredInError || o.Correction == nil || o.Correction.Reason != "typed 64 for 46" || o.Correction.By != h.w.patient.user.ID {
		t.Errorf("corrected = %+v", o)
	}
	h.do("POST", path, tok, map[string]any{"reason": "again"}).want(t, 409)
	h.do("GET", obsPath(p)+"?code=heart_rate", tok, nil).want(t, 200).decode(t, &page)
	if len(page.Items) != 4 {
		t.Errorf("%d readings listed after a correction, want 4", len(page.Items))
	}
	h.do("GET", obsPath(p)+"?code=heart_rate&includeEnteredInError=true", tok, nil).want(t, 200).decode(t, &page)
	if len(page.Items) != 5 || page.Items[0].Status != models.ObservationEnteredInError {
		t.Errorf("with corrections: %+v", page.Items)
	}
	h.do("GET", obsPath(p)+"/"+ids[4], tok, nil).want(t, 200).decode(t, &o)
	if o.Status != models.ObservationEnteredInError {
		t.Errorf("GET one: %+v", o)
	}
	h.do("GET", obsPath(h.w.patientA2)+"/"+ids[4], h.w.clinicianA.token, nil).want(t, 404)
	if n := h.auditCount(p.ID, "observation.correct", models.OutcomeSuccess); n != 1 {
		t.Errorf("%d correction audit events", n)
	}
}
