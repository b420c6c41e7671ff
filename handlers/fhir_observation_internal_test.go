package handlers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/handlers/handlerstest"
	"careway/models"
)

func f64(v float64) *float64 { return &v }

// sampleReadings returns one reading of every code, as the ltc handlers store them.
func sampleReadings() []*models.Observation {
	at := time.Date(2026, 3, 4, 9, 30, 0, 0, time.UTC)
	pat := models.PatientID("6f1c2b1e-0000-4000-8000-000000000001")
	score := func(n int) *int { return &n }
	mk := func(code models.ObservationCode, level models.Level, set func(o *models.Observation)) *models.Observation {
		o := &models.Observation{ID: models.ObservationID(models.NewID()), PatientID: pat, Code: code, EffectiveAt: at,
			Status: models.ObservationFinal, RecordedAt: at.Add(time.Minute), UpdatedAt: at.Add(time.Minute),
			Interpretation: models.Interpretation{Level: level, RuleID: string(code), Advice: "advice"}}
		set(o)
		return o
	}
	yes := true
	return []*models.Observation{
		mk(models.CodeBloodPressure, models.LevelRed, func(o *models.Observation) { o.Systolic, o.Diastolic = f64(182), f64(95) }),
		mk(models.CodeHeartRate, models.LevelNormal, func(o *models.Observation) { o.Value, o.Unit = f64(72), "/min" }),
		mk(models.CodeRespiratoryRate, models.LevelNormal, func(o *models.Observation) { o.Value, o.Unit = f64(16), "/min" }),
		mk(models.CodeOxygenSaturation, models.LevelAmber, func(o *models.Observation) { o.Value, o.Unit = f64(94), "%" }),
		mk(models.CodeBodyTemperature, models.LevelNormal, func(o *models.Observation) { o.Value, o.Unit = f64(36.8), "Cel" }),
		mk(models.CodeBodyWeight, models.LevelAmber, func(o *models.Observation) {
			o.Value, o.Unit, o.BMI = f64(82.5), "kg", f64(27.4)
			o.Interpretation.RuleID = "bmi.band"
		}),
		mk(models.CodeBodyHeight, models.LevelNormal, func(o *models.Observation) { o.Value, o.Unit = f64(173.5), "cm" }),
		mk(models.CodeBloodGlucose, models.LevelRed, func(o *models.Observation) { o.Value, o.Unit = f64(3.6), "mmol/L" }),
		mk(models.CodeHbA1c, models.LevelAmber, func(o *models.Observation) { o.Value, o.Unit = f64(60), "mmol/mol" }),
		mk(models.CodePeakFlow, models.LevelAmber, func(o *models.Observation) { o.Value, o.Unit = f64(320), "L/min" }),
		mk(models.CodePHQ9, models.LevelRed, func(o *models.Observation) {
			o.Answers, o.Total = []int{1, 2, 1, 0, 3, 1, 0, 1, 1}, score(10)
		}),
		mk(models.CodeGAD7, models.LevelNormal, func(o *models.Observation) { o.Answers, o.Total = []int{0, 1, 0, 1, 0, 1, 0}, score(3) }),
		mk(models.CodeCAT, models.LevelAmber, func(o *models.Observation) { o.Answers, o.Total = []int{2, 2, 1, 3, 2, 1, 2, 2}, score(15) }),
		mk(models.CodeSmokingStatus, models.LevelAmber, func(o *models.Observation) { o.SmokingStatus = "current" }),
		mk(models.CodeSymptom, models.LevelAmber, func(o *models.Observation) {
			o.Text, o.SoftSigns = "More tired than usual", []string{"reduced_mobility", "not_eating"}
		}),
		mk(models.CodeVitalSigns, models.LevelRed, func(o *models.Observation) {
			o.RespiratoryRate, o.OxygenSaturation, o.OnOxygen, o.Systolic = f64(22), f64(95), &yes, f64(105)
			o.Pulse, o.Consciousness, o.Temperature = f64(95), "A", f64(38.3)
			o.Interpretation.Score = score(8)
			o.Interpretation.SubScores = map[string]int{"respiratoryRate": 2, "oxygenSaturation": 1, "onOxygen": 2,
				"systolic": 1, "pulse": 1, "consciousness": 0, "temperature": 1}
		}),
		mk(models.CodeHeartRate, models.LevelNormal, func(o *models.Observation) {
			o.Value, o.Unit = f64(150), "/min"
			o.Status = models.ObservationEnteredInError
			o.Correction = &models.Correction{Reason: "Wrong patient's device", By: "u1", At: at.Add(time.Hour)}
		}),
	}
}

// TestFHIRObservationMapping maps a reading of every code and checks the result with the FHIR
// validator and against the codes and units of CLINICAL.md.
func TestFHIRObservationMapping(t *testing.T) {
	batch := handlerstest.NewFHIRBatch(t)
	byCode := map[string]fhir.Observation{}
	for _, o := range sampleReadings() {
		for _, e := range fhirObservations(o) {
			b, err := json.Marshal(e.resource)
			if err != nil {
				t.Fatal(err)
			}
			batch.Add("reading "+string(o.Code)+" "+e.id, b)
			var back fhir.Observation
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			key := string(o.Code)
			if strings.HasSuffix(e.id, bmiSuffix) {
				key = "bmi"
			}
			if o.EnteredInError() {
				key = "error"
			}
			byCode[key] = back
		}
	}
	has := func(cc fhir.CodeableConcept, system, code string) bool {
		for _, c := range cc.Coding {
			if *c.System == system && *c.Code == code {
				return true
			}
		}
		return false
	}
	qty := func(t *testing.T, q *fhir.Quantity, value, unit string) {
		t.Helper()
		if q == nil || q.Value.String() != value || *q.Code != unit || *q.Unit != unit || *q.System != "http://unitsofmeasure.org" {
			t.Errorf("quantity = %+v, want %s %s (UCUM)", q, value, unit)
		}
	}
	// CLINICAL.md "Codes (for FHIR export)", row by row.
	for _, tc := range []struct {
		key, loinc, snomed, value, unit string
	}{
		{"heart_rate", "8867-4", "364075005", "72", "/min"},
		{"respiratory_rate", "9279-1", "86290005", "16", "/min"},
		{"oxygen_saturation", "59408-5", "431314004", "94", "%"},
		{"body_temperature", "8310-5", "386725007", "36.8", "Cel"},
		{"body_weight", "29463-7", "27113001", "82.5", "kg"},
		{"bmi", "39156-5", "60621009", "27.4", "kg/m2"},
		{"blood_glucose", "14743-9", "", "3.6", "mmol/L"},
		{"hba1c", "59261-8", "999791000000106", "60", "mmol/mol"},
		{"peak_flow", "19935-6", "", "320", "L/min"},
		{"phq9", "44261-6", "720433000", "10", "{score}"},
		{"gad7", "70274-6", "445455005", "3", "{score}"},
		{"vital_signs", "", "1104051000000101", "8", "{score}"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			o := byCode[tc.key]
			if tc.loinc != "" && !has(o.Code, "http://loinc.org", tc.loinc) {
				t.Errorf("code %+v lacks LOINC %s", o.Code, tc.loinc)
			}
			if tc.snomed != "" && !has(o.Code, "http://snomed.info/sct", tc.snomed) {
				t.Errorf("code %+v lacks SNOMED %s", o.Code, tc.snomed)
			}
			qty(t, o.ValueQuantity, tc.value, tc.unit)
			if o.Status != fhir.ObservationStatusFinal {
				t.Errorf("status = %v", o.Status)
			}
		})
	}
	t.Run("SpO2 also carries 2708-6", func(t *testing.T) {
		if !has(byCode["oxygen_saturation"].Code, "http://loinc.org", "2708-6") {
			t.Error("no 2708-6")
		}
	})
	t.Run("blood pressure is a panel with components", func(t *testing.T) {
		o := byCode["blood_pressure"]
		if !has(o.Code, "http://loinc.org", "85354-9") || o.ValueQuantity != nil || len(o.Component) != 2 {
			t.Fatalf("panel = %+v", o)
		}
		if !has(o.Component[0].Code, "http://loinc.org", "8480-6") || !has(o.Component[0].Code, "http://snomed.info/sct", "72313002") {
			t.Errorf("systolic code = %+v", o.Component[0].Code)
		}
		qty(t, o.Component[0].ValueQuantity, "182", "mm[Hg]")
		if !has(o.Component[1].Code, "http://loinc.org", "8462-4") || !has(o.Component[1].Code, "http://snomed.info/sct", "271650006") {
			t.Errorf("diastolic code = %+v", o.Component[1].Code)
		}
		qty(t, o.Component[1].ValueQuantity, "95", "mm[Hg]")
		if !has(o.Interpretation[0], "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "AA") {
			t.Errorf("red reading interpretation = %+v", o.Interpretation)
		}
	})
	t.Run("NEWS2 has its parameters and sub-scores", func(t *testing.T) {
		o := byCode["vital_signs"]
		var acvpu, subs int
		for _, c := range o.Component {
			if has(c.Code, "http://snomed.info/sct", "1104441000000107") {
				acvpu++
				if !has(*c.ValueCodeableConcept, "http://snomed.info/sct", "248234008") {
					t.Errorf("ACVPU alert coded %+v", c.ValueCodeableConcept)
				}
			}
			if strings.HasPrefix(*c.Code.Coding[0].Code, "news2-subscore-") {
				subs++
			}
		}
		if acvpu != 1 || subs != 7 {
			t.Errorf("ACVPU components %d, sub-scores %d; want 1 and 7", acvpu, subs)
		}
	})
	t.Run("questionnaire items", func(t *testing.T) {
		o := byCode["phq9"]
		if len(o.Component) != 9 || *o.Component[8].ValueInteger != 1 {
			t.Errorf("PHQ-9 components = %+v", o.Component)
		}
	})
	t.Run("smoking status coded", func(t *testing.T) {
		o := byCode["smoking_status"]
		if !has(o.Code, "http://loinc.org", "72166-2") || !has(*o.ValueCodeableConcept, "http://snomed.info/sct", "77176002") {
			t.Errorf("smoking = %+v", o)
		}
	})
	t.Run("entered in error", func(t *testing.T) {
		o := byCode["error"]
		if o.Status != fhir.ObservationStatusEnteredInError || len(o.Note) != 1 {
			t.Errorf("status %v, notes %+v", o.Status, o.Note)
		}
	})
	t.Run("BMI derived from the weight", func(t *testing.T) {
		o := byCode["bmi"]
		if len(o.DerivedFrom) != 1 || !strings.HasPrefix(*o.DerivedFrom[0].Reference, "Observation/") {
			t.Errorf("derivedFrom = %+v", o.DerivedFrom)
		}
	})
	if batch.Len() != 18 {
		t.Errorf("%d resources validated, want 18 (17 readings and one BMI)", batch.Len())
	}
}

func TestReadingCodesForSearch(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want []models.ObservationCode
		bmi  bool
	}{
		{"http://loinc.org|8867-4", []models.ObservationCode{models.CodeHeartRate}, false},
		{"8867-4", []models.ObservationCode{models.CodeHeartRate}, false},
		{"http://snomed.info/sct|364075005", []models.ObservationCode{models.CodeHeartRate}, false},
		{"http://snomed.info/sct|8867-4", nil, false},
		{"85354-9", []models.ObservationCode{models.CodeBloodPressure}, false},
		{"8480-6", nil, false}, // a component code: component-code, not code
		{"2708-6,8310-5", []models.ObservationCode{models.CodeOxygenSaturation, models.CodeBodyTemperature}, false},
		{"http://loinc.org|39156-5", nil, true},
		{"1104051000000101", []models.ObservationCode{models.CodeVitalSigns}, false},
		{"https://careway.example/fhir/CodeSystem/observation|cat", []models.ObservationCode{models.CodeCAT}, false},
	} {
		q := fhirParams{"code": {tc.q}}
		toks, err := q.tokens("code")
		if err != nil {
			t.Fatal(err)
		}
		got, bmi := readingCodesFor(toks)
		if strings.Join(codeStrings(got), ",") != strings.Join(codeStrings(tc.want), ",") || bmi != tc.bmi {
			t.Errorf("%s: codes %v bmi %v, want %v %v", tc.q, got, bmi, tc.want, tc.bmi)
		}
	}
}

func codeStrings(cs []models.ObservationCode) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// TestFHIRCapabilityStatementMatchesRoutes checks that every /fhir/r4 route is in the
// CapabilityStatement and every capability has its route.
func TestFHIRCapabilityStatementMatchesRoutes(t *testing.T) {
	app := NewApp(Params{})
	routes := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if r.Method == "GET" && strings.HasPrefix(r.Path, fhirBase+"/") && r.Path != fhirBase+"/metadata" {
			routes[strings.TrimPrefix(r.Path, fhirBase+"/")] = true
		}
	}
	want := map[string]bool{}
	for _, c := range fhirCapabilities {
		if c.read {
			want[c.resource+"/:id"] = true
		}
		if len(c.search) > 0 {
			want[c.resource] = true
		}
	}
	for r := range routes {
		if !want[r] {
			t.Errorf("route %s is not in the CapabilityStatement", r)
		}
	}
	for r := range want {
		if !routes[r] {
			t.Errorf("the CapabilityStatement offers %s, which has no route", r)
		}
	}
}
