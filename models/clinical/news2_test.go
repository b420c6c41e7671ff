package clinical

import (
	"errors"
	"math"
	"testing"

	"careway/models"
)

// fieldsOf returns the field names of an EINVALID error, failing the test for anything else.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var e *models.Error
	if !errors.As(err, &e) || e.Code != models.EINVALID {
		t.Fatalf("error = %v, want EINVALID", err)
	}
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Field)
	}
	return names
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	for _, f := range fieldsOf(t, err) {
		if f == field {
			return
		}
	}
	t.Errorf("error %v does not name field %q", err, field)
}

// Every band edge of every NEWS2 row, and values just either side (compared as given, no rounding).
func TestNEWS2Rows(t *testing.T) {
	type row struct {
		v    float64
		want int
	}
	rows := map[string]struct {
		score func(float64) int
		cases []row
	}{
		"respiratoryRate": {respiratoryRateScore, []row{
			{2, 3}, {8, 3}, {8.05, 1}, {9, 1}, {11, 1}, {11.05, 0}, {12, 0}, {20, 0}, {20.05, 2},
			{21, 2}, {24, 2}, {24.05, 3}, {25, 3}, {80, 3}}},
		"spo2 scale 1": {func(v float64) int { return spo2Score(v, false, false) }, []row{
			{50, 3}, {91, 3}, {91.05, 2}, {92, 2}, {93, 2}, {93.05, 1}, {94, 1}, {95, 1}, {95.05, 0}, {96, 0}, {100, 0}}},
		"spo2 scale 1 on oxygen": {func(v float64) int { return spo2Score(v, false, true) }, []row{
			{91, 3}, {92, 2}, {95, 1}, {96, 0}, {100, 0}}},
		"spo2 scale 2 on air": {func(v float64) int { return spo2Score(v, true, false) }, []row{
			{83, 3}, {83.05, 2}, {84, 2}, {85, 2}, {85.05, 1}, {86, 1}, {87, 1}, {87.05, 0}, {88, 0},
			{92, 0}, {92.05, 0}, {93, 0}, {97, 0}, {100, 0}}},
		"spo2 scale 2 on oxygen": {func(v float64) int { return spo2Score(v, true, true) }, []row{
			{83, 3}, {84, 2}, {85, 2}, {86, 1}, {87, 1}, {88, 0}, {92, 0}, {92.05, 1}, {93, 1},
			{94, 1}, {94.05, 2}, {95, 2}, {96, 2}, {96.05, 3}, {97, 3}, {100, 3}}},
		"systolic": {systolicScore, []row{
			{40, 3}, {90, 3}, {90.05, 2}, {91, 2}, {100, 2}, {100.05, 1}, {101, 1}, {110, 1},
			{110.05, 0}, {111, 0}, {219, 0}, {219.05, 3}, {220, 3}, {300, 3}}},
		"pulse": {pulseScore, []row{
			{20, 3}, {40, 3}, {40.05, 1}, {41, 1}, {50, 1}, {50.05, 0}, {51, 0}, {90, 0}, {90.05, 1},
			{91, 1}, {110, 1}, {110.05, 2}, {111, 2}, {130, 2}, {130.05, 3}, {131, 3}, {300, 3}}},
		"temperature": {temperatureScore, []row{
			{25, 3}, {35.0, 3}, {35.05, 1}, {35.1, 1}, {36.0, 1}, {36.05, 0}, {36.1, 0}, {38.0, 0},
			{38.05, 1}, {38.1, 1}, {39.0, 1}, {39.05, 2}, {39.1, 2}, {45, 2}}},
	}
	for name, r := range rows {
		for _, c := range r.cases {
			if got := r.score(c.v); got != c.want {
				t.Errorf("%s(%v) = %d, want %d", name, c.v, got, c.want)
			}
		}
	}
	for c, want := range map[string]int{"A": 0, "C": 3, "V": 3, "P": 3, "U": 3} {
		if got := consciousnessScore(c); got != want {
			t.Errorf("consciousness %s = %d, want %d", c, got, want)
		}
	}
	if oxygenScore(true) != 2 || oxygenScore(false) != 0 {
		t.Errorf("air/oxygen row: oxygen %d air %d, want 2 and 0", oxygenScore(true), oxygenScore(false))
	}
}

// normalVitals scores 0 in every parameter.
func normalVitals() VitalSigns {
	return VitalSigns{RespiratoryRate: 16, OxygenSaturation: 97, Systolic: 125, Pulse: 72, Consciousness: "A", Temperature: 36.8}
}

func TestNEWS2Levels(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*VitalSigns)
		scale2    bool
		wantTotal int
		wantLevel Level
		wantRule  string
		wantBand  string
	}{
		{"all normal", func(*VitalSigns) {}, false, 0, LevelNormal, "news2.total", "low"},
		{"total 1", func(v *VitalSigns) { v.Temperature = 35.05 }, false, 1, LevelAmber, "news2.total", "low"},
		{"total 4 without a 3", func(v *VitalSigns) { v.OnOxygen = true; v.Pulse = 111 }, false, 4, LevelAmber, "news2.total", "low"},
		{"single 3, total 3", func(v *VitalSigns) { v.Consciousness = "C" }, false, 3, LevelRed, "news2.single-parameter", "low-medium"},
		{"single 3, total 4", func(v *VitalSigns) { v.Temperature = 35.0; v.Pulse = 95 }, false, 4, LevelRed, "news2.single-parameter", "low-medium"},
		{"total 5 without a 3", func(v *VitalSigns) { v.OnOxygen = true; v.Pulse = 111; v.Temperature = 38.5 }, false, 5, LevelRed, "news2.total", "medium"},
		{"total 6", func(v *VitalSigns) { v.OnOxygen = true; v.Pulse = 111; v.RespiratoryRate = 21 }, false, 6, LevelRed, "news2.total", "medium"},
		{"total 7", func(v *VitalSigns) { v.OnOxygen = true; v.Pulse = 111; v.RespiratoryRate = 25 }, false, 7, LevelEmergency, "news2.total", "high"},
		{"everything wrong", func(v *VitalSigns) {
			*v = VitalSigns{RespiratoryRate: 30, OxygenSaturation: 85, OnOxygen: true, Systolic: 85, Pulse: 140, Consciousness: "U", Temperature: 34}
		}, false, 20, LevelEmergency, "news2.total", "high"},
		{"scale 2: 90% on air scores 0", func(v *VitalSigns) { v.OxygenSaturation = 90 }, true, 0, LevelNormal, "news2.total", "low"},
		{"scale 1: 90% scores 3", func(v *VitalSigns) { v.OxygenSaturation = 90 }, false, 3, LevelRed, "news2.single-parameter", "low-medium"},
		{"scale 2: 97% on oxygen 3+2", func(v *VitalSigns) { v.OxygenSaturation = 97; v.OnOxygen = true }, true, 5, LevelRed, "news2.total", "medium"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := normalVitals()
			tt.edit(&v)
			r, err := NEWS2(v, tt.scale2, 40, false)
			if err != nil {
				t.Fatal(err)
			}
			if r.Score == nil || *r.Score != tt.wantTotal {
				t.Errorf("total = %v, want %d", r.Score, tt.wantTotal)
			}
			if r.Level != tt.wantLevel || r.RuleID != tt.wantRule || r.Band != tt.wantBand {
				t.Errorf("got %s/%s/%s, want %s/%s/%s", r.Level, r.RuleID, r.Band, tt.wantLevel, tt.wantRule, tt.wantBand)
			}
			sum := 0
			for _, k := range []string{"respiratoryRate", "oxygenSaturation", "onOxygen", "systolic", "pulse", "consciousness", "temperature"} {
				s, ok := r.SubScores[k]
				if !ok {
					t.Errorf("sub-score %q missing", k)
				}
				sum += s
			}
			if len(r.SubScores) != 7 || sum != tt.wantTotal {
				t.Errorf("sub-scores %v do not add up to %d", r.SubScores, tt.wantTotal)
			}
			if r.Advice == "" {
				t.Error("no advice")
			}
		})
	}
}

func TestNEWS2Refuses(t *testing.T) {
	v := normalVitals()
	if _, err := NEWS2(v, false, 15, false); err == nil {
		t.Error("age 15 scored")
	} else {
		wantField(t, err, "age")
	}
	if _, err := NEWS2(v, false, 16, false); err != nil {
		t.Errorf("age 16: %v", err)
	}
	if _, err := NEWS2(v, false, 30, true); err == nil {
		t.Error("pregnancy scored")
	} else {
		wantField(t, err, "pregnant")
	}
	bad := []struct {
		field string
		edit  func(*VitalSigns)
	}{
		{"consciousness", func(v *VitalSigns) { v.Consciousness = "a" }},
		{"consciousness", func(v *VitalSigns) { v.Consciousness = "" }},
		{"oxygenSaturation", func(v *VitalSigns) { v.OxygenSaturation = 100.5 }},
		{"oxygenSaturation", func(v *VitalSigns) { v.OxygenSaturation = 0.97 }},
		{"temperature", func(v *VitalSigns) { v.Temperature = 98.6 }},
		{"systolic", func(v *VitalSigns) { v.Systolic = math.NaN() }},
		{"pulse", func(v *VitalSigns) { v.Pulse = 0 }},
		{"respiratoryRate", func(v *VitalSigns) { v.RespiratoryRate = math.Inf(1) }},
	}
	for _, b := range bad {
		v := normalVitals()
		b.edit(&v)
		_, err := NEWS2(v, false, 40, false)
		if err == nil {
			t.Errorf("%s: scored %+v", b.field, v)
			continue
		}
		wantField(t, err, b.field)
	}
	// Several bad fields are all named at once.
	v.Pulse, v.Consciousness = 0, "X"
	_, err := NEWS2(v, false, 40, false)
	if got := fieldsOf(t, err); len(got) != 2 {
		t.Errorf("fields = %v, want pulse and consciousness", got)
	}
}

func TestSingleParameterReadings(t *testing.T) {
	tests := []struct {
		name  string
		r     Result
		key   string
		score int
		level Level
		rule  string
	}{
		{"pulse 131", HeartRateAlone(131), "pulse", 3, LevelRed, "news2.pulse"},
		{"pulse 130", HeartRateAlone(130), "pulse", 2, LevelAmber, "news2.pulse"},
		{"pulse 91", HeartRateAlone(91), "pulse", 1, LevelAmber, "news2.pulse"},
		{"pulse 90", HeartRateAlone(90), "pulse", 0, LevelNormal, "news2.pulse"},
		{"pulse 40", HeartRateAlone(40), "pulse", 3, LevelRed, "news2.pulse"},
		{"rr 25", RespiratoryRateAlone(25), "respiratoryRate", 3, LevelRed, "news2.respiratory-rate"},
		{"rr 12", RespiratoryRateAlone(12), "respiratoryRate", 0, LevelNormal, "news2.respiratory-rate"},
		{"temp 35.0", TemperatureAlone(35.0), "temperature", 3, LevelRed, "news2.temperature"},
		{"temp 35.05", TemperatureAlone(35.05), "temperature", 1, LevelAmber, "news2.temperature"},
		{"temp 39.05", TemperatureAlone(39.05), "temperature", 2, LevelAmber, "news2.temperature"},
		{"spo2 91", SpO2Alone(91, false, false), "oxygenSaturation", 3, LevelRed, "news2.oxygen-saturation"},
		{"spo2 94", SpO2Alone(94, false, false), "oxygenSaturation", 1, LevelAmber, "news2.oxygen-saturation"},
		{"spo2 96", SpO2Alone(96, false, false), "oxygenSaturation", 0, LevelNormal, "news2.oxygen-saturation"},
		{"spo2 scale 2, 97 on oxygen", SpO2Alone(97, true, true), "oxygenSaturation", 3, LevelRed, "news2.oxygen-saturation"},
		{"spo2 scale 2, 97 on air", SpO2Alone(97, true, false), "oxygenSaturation", 0, LevelNormal, "news2.oxygen-saturation"},
		{"spo2 scale 2, 88", SpO2Alone(88, true, false), "oxygenSaturation", 0, LevelNormal, "news2.oxygen-saturation"},
	}
	for _, tt := range tests {
		if tt.r.SubScores[tt.key] != tt.score || len(tt.r.SubScores) != 1 || tt.r.Level != tt.level || tt.r.RuleID != tt.rule || tt.r.Score != nil || tt.r.Advice == "" {
			t.Errorf("%s: got %+v, want %s=%d %s %s", tt.name, tt.r, tt.key, tt.score, tt.level, tt.rule)
		}
	}
}

func TestLevel(t *testing.T) {
	if LevelAmber.Worse(LevelRed) != LevelRed || LevelEmergency.Worse(LevelNormal) != LevelEmergency || Level("x").Worse(LevelNormal) != LevelNormal {
		t.Error("Worse does not order normal < amber < red < emergency")
	}
	if !LevelRed.Alerts() || !LevelEmergency.Alerts() || LevelAmber.Alerts() || LevelNormal.Alerts() {
		t.Error("only red and emergency alert")
	}
	if Level("green").Valid() || !LevelNormal.Valid() {
		t.Error("Valid")
	}
}
