package clinical

import (
	"math"
	"testing"
)

func TestPeakFlow(t *testing.T) {
	tests := []struct {
		litres, best float64
		band         string
		level        Level
	}{
		{600, 500, "green", LevelNormal},
		{400, 500, "green", LevelNormal},           // 80 %
		{399.95, 500, "amber", LevelAmber},         // 79.99 %
		{300, 500, "amber", LevelAmber},            // 60 %
		{299.95, 500, "red", LevelRed},             // 59.99 %
		{200, 500, "red", LevelRed},                // 40 %
		{199.95, 500, "emergency", LevelEmergency}, // 39.99 %
		{50, 500, "emergency", LevelEmergency},     // 10 %
		{360, 450, "green", LevelNormal},           // 80 % of an uneven best
		{359.9, 450, "amber", LevelAmber},          // 79.98 %
	}
	for _, tt := range tests {
		r, err := PeakFlow(tt.litres, tt.best)
		if err != nil {
			t.Fatal(err)
		}
		if r.Band != tt.band || r.Level != tt.level || r.RuleID != "peakflow.zone" || r.Measure == nil || r.Advice == "" {
			t.Errorf("PeakFlow(%v, %v) = %+v, want %s %s", tt.litres, tt.best, r, tt.band, tt.level)
		}
	}
	if r, _ := PeakFlow(400, 500); *r.Measure != 80 {
		t.Errorf("measure = %v, want 80", *r.Measure)
	}
	for _, best := range []float64{0, -300, math.NaN(), math.Inf(1)} {
		_, err := PeakFlow(400, best)
		if err == nil {
			t.Errorf("best %v accepted", best)
			continue
		}
		wantField(t, err, "personalBest")
	}
	for _, v := range []float64{0, -1, math.NaN()} {
		_, err := PeakFlow(v, 500)
		if err == nil {
			t.Errorf("value %v accepted", v)
			continue
		}
		wantField(t, err, "value")
	}
}

func TestDefaultBPTarget(t *testing.T) {
	tests := []struct {
		age  int
		home bool
		want BPTarget
	}{
		{40, false, BPTarget{140, 90}}, {79, false, BPTarget{140, 90}}, {80, false, BPTarget{150, 90}}, {95, false, BPTarget{150, 90}},
		{40, true, BPTarget{135, 85}}, {79, true, BPTarget{135, 85}}, {80, true, BPTarget{145, 85}}, {95, true, BPTarget{145, 85}},
	}
	for _, tt := range tests {
		if got := DefaultBPTarget(tt.age, tt.home); got != tt.want {
			t.Errorf("DefaultBPTarget(%d, home %v) = %v, want %v", tt.age, tt.home, got, tt.want)
		}
	}
}

func TestBloodPressure(t *testing.T) {
	type c struct {
		sys, dia    float64
		symptomatic bool
		level       Level
		rule, band  string
	}
	at := func(s, d float64) c { return c{s, d, false, LevelNormal, "bp.target", "at-target"} }
	above := func(s, d float64) c { return c{s, d, false, LevelAmber, "bp.target", "above-target"} }
	crisis := func(s, d float64) c { return c{s, d, false, LevelRed, "bp.crisis", "crisis"} }
	byTarget := map[string]struct {
		target BPTarget
		cases  []c
	}{
		"under 80 home 135/85": {DefaultBPTarget(79, true), []c{
			at(134, 84), at(134.9, 84.9), above(135, 84), above(134, 85), above(135, 85), above(179, 119)}},
		"under 80 clinic 140/90": {DefaultBPTarget(79, false), []c{
			at(139, 89), at(139.9, 89.9), above(140, 89), above(139, 90)}},
		"80 and over home 145/85": {DefaultBPTarget(80, true), []c{
			at(144, 84), above(145, 84), above(144, 85), at(140, 80)}},
		"80 and over clinic 150/90": {DefaultBPTarget(80, false), []c{
			at(149, 89), above(150, 89), above(149, 90), at(145, 85)}},
		"plan override 130/80": {BPTarget{130, 80}, []c{at(129, 79), above(130, 79), above(129, 80)}},
		"crisis whatever the target": {DefaultBPTarget(40, true), []c{
			above(179, 119), above(179.9, 119.9), crisis(180, 80), crisis(180, 119), crisis(120, 120), crisis(179, 120), crisis(220, 130),
			crisis(180, 90)}},
		"low systolic": {DefaultBPTarget(40, true), []c{
			{89, 60, true, LevelRed, "bp.low", "low"},
			{89.9, 60, true, LevelRed, "bp.low", "low"},
			{89, 60, false, LevelAmber, "bp.low", "low"},
			{90, 60, true, LevelNormal, "bp.target", "at-target"},
			{90, 60, false, LevelNormal, "bp.target", "at-target"},
			// symptoms do not matter once the systolic is 90 or above
			{150, 95, true, LevelAmber, "bp.target", "above-target"},
			{185, 95, true, LevelRed, "bp.crisis", "crisis"}}},
	}
	for name, tt := range byTarget {
		for _, x := range tt.cases {
			r := BloodPressure(x.sys, x.dia, tt.target, x.symptomatic)
			if r.Level != x.level || r.RuleID != x.rule || r.Band != x.band || r.Advice == "" {
				t.Errorf("%s: %v/%v symptomatic %v = %s %s %s, want %s %s %s", name, x.sys, x.dia, x.symptomatic, r.Level, r.RuleID, r.Band, x.level, x.rule, x.band)
			}
			if x.rule == "bp.target" && tt.target.AtTarget(x.sys, x.dia) != (x.level == LevelNormal) {
				t.Errorf("%s: AtTarget(%v, %v) disagrees with the level", name, x.sys, x.dia)
			}
		}
	}
	if r := BloodPressure(120, 70, BPTarget{}, false); r.Level != LevelAmber {
		t.Errorf("a zero target must put a reading above target, got %s", r.Level)
	}
}

func TestGlucose(t *testing.T) {
	tests := []struct {
		v     float64
		level Level
		rule  string
	}{
		{0.5, LevelRed, "glucose.hypo"}, {3.99, LevelRed, "glucose.hypo"}, {4.0, LevelNormal, "glucose.range"},
		{7, LevelNormal, "glucose.range"}, {15, LevelNormal, "glucose.range"}, {15.01, LevelAmber, "glucose.high"},
		{33.3, LevelAmber, "glucose.high"},
	}
	for _, tt := range tests {
		if r := Glucose(tt.v); r.Level != tt.level || r.RuleID != tt.rule || r.Advice == "" {
			t.Errorf("Glucose(%v) = %s %s, want %s %s", tt.v, r.Level, r.RuleID, tt.level, tt.rule)
		}
	}
}

func TestHbA1c(t *testing.T) {
	tests := []struct {
		v, target float64
		level     Level
		rule      string
		band      string
	}{
		{40, 48, LevelNormal, "hba1c.target", "at-target"},
		{48, 48, LevelNormal, "hba1c.target", "at-target"},
		{48.1, 48, LevelAmber, "hba1c.target", "above-target"},
		{57.9, 48, LevelAmber, "hba1c.target", "above-target"},
		{58, 48, LevelAmber, "hba1c.review", "review"},
		{120, 48, LevelAmber, "hba1c.review", "review"},
		{53, 53, LevelNormal, "hba1c.target", "at-target"},
		{53.5, 53, LevelAmber, "hba1c.target", "above-target"},
		{48, 0, LevelNormal, "hba1c.target", "at-target"}, // no target: 48
		{49, 0, LevelAmber, "hba1c.target", "above-target"},
		{58, 64, LevelAmber, "hba1c.review", "review"}, // review point does not move with the target
	}
	for _, tt := range tests {
		if r := HbA1c(tt.v, tt.target); r.Level != tt.level || r.RuleID != tt.rule || r.Band != tt.band || r.Advice == "" {
			t.Errorf("HbA1c(%v, %v) = %s %s %s, want %s %s %s", tt.v, tt.target, r.Level, r.RuleID, r.Band, tt.level, tt.rule, tt.band)
		}
	}
}

func TestBMI(t *testing.T) {
	tests := []struct {
		bmi   float64
		lower bool
		band  string
	}{
		{18.49, false, "underweight"}, {18.5, false, "healthy"}, {24.9, false, "healthy"}, {24.99, false, "healthy"},
		{25, false, "overweight"}, {29.99, false, "overweight"}, {30, false, "obesity-1"}, {34.99, false, "obesity-1"},
		{35, false, "obesity-2"}, {39.99, false, "obesity-2"}, {40, false, "obesity-3"},
		{18.49, true, "underweight"}, {18.5, true, "healthy"}, {22.99, true, "healthy"}, {23, true, "overweight"},
		{27.49, true, "overweight"}, {27.5, true, "obesity-1"}, {32.49, true, "obesity-1"}, {32.5, true, "obesity-2"},
		{37.49, true, "obesity-2"}, {37.5, true, "obesity-3"},
	}
	for _, tt := range tests {
		// With a height of 1 m the BMI is the weight.
		v, r := BMI(tt.bmi, 1, tt.lower)
		wantLevel := LevelAmber
		if tt.band == "healthy" {
			wantLevel = LevelNormal
		}
		if v != tt.bmi || r.Band != tt.band || r.Level != wantLevel || r.RuleID != "bmi.band" || *r.Measure != v {
			t.Errorf("BMI %v (lower %v) = %v %s %s, want %s %s", tt.bmi, tt.lower, v, r.Band, r.Level, tt.band, wantLevel)
		}
	}
	if v, r := BMI(70, 1.75, false); math.Abs(v-22.857) > 0.001 || r.Band != "healthy" {
		t.Errorf("BMI(70, 1.75) = %v %s", v, r.Band)
	}
	if v, r := BMI(70, 0, false); v != 0 || r.Level != "" {
		t.Errorf("BMI with no height = %v %+v", v, r)
	}
}
