package clinical

import (
	"errors"
	"math"
	"strings"
	"testing"

	"careway/models"
)

func messageOf(err error) string {
	var e *models.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		return e.Fields[0].Message
	}
	return ""
}

func TestCheckMeasureLimits(t *testing.T) {
	// Every limit is accepted and the value just beyond it refused, naming the field.
	for _, m := range measures {
		step := 0.1
		if m.Max-m.Min < 10 {
			step = 0.01
		}
		for _, v := range []float64{m.Min, m.Max, (m.Min + m.Max) / 2} {
			got, err := CheckMeasure(m.Code, m.Field, "", v)
			if err != nil || got != v {
				t.Errorf("%s.%s %v: %v, %v", m.Code, m.Field, v, got, err)
			}
			if _, err := CheckMeasure(m.Code, m.Field, m.Unit, v); err != nil {
				t.Errorf("%s.%s %v %s: %v", m.Code, m.Field, v, m.Unit, err)
			}
		}
		for _, v := range []float64{m.Min - step, m.Max + step, math.NaN(), math.Inf(-1)} {
			_, err := CheckMeasure(m.Code, m.Field, "", v)
			if err == nil {
				t.Errorf("%s.%s %v accepted", m.Code, m.Field, v)
				continue
			}
			wantField(t, err, m.Field)
		}
	}
}

func TestCheckMeasureUnits(t *testing.T) {
	tests := []struct {
		code, field, unit string
		value             float64
		field2            string // the field the error names; "" means accepted
		hint              string // a part of the message
	}{
		{"blood_glucose", "value", "", 90, "value", "Careway takes mmol/L; 90 looks like mg/dL (≈5.0 mmol/L)"},
		{"blood_glucose", "value", "mmol/L", 180, "value", "180 looks like mg/dL (≈10.0 mmol/L)"},
		{"blood_glucose", "value", "mg/dL", 90, "unit", "90 mg/dL is ≈5.0 mmol/L"},
		{"blood_glucose", "value", "mmol/l", 5.5, "", ""},
		{"blood_glucose", "value", "", 35.1, "value", "looks like mg/dL"},
		{"body_temperature", "value", "", 98.6, "value", "Careway takes °C; 98.6 looks like °F (≈37.0 °C)"},
		{"body_temperature", "value", "[degF]", 98.6, "unit", "98.6 °F is ≈37.0 °C"},
		{"body_temperature", "value", "°C", 37, "", ""},
		{"vital_signs", "temperature", "", 100.4, "temperature", "looks like °F (≈38.0 °C)"},
		{"body_weight", "value", "[lb_av]", 154, "unit", "154 lb is ≈69.9 kg"},
		{"body_weight", "value", "lb", 154, "unit", "lb is"},
		{"body_weight", "value", "", 450, "value", "looks like pounds (≈204.1 kg)"},
		{"body_weight", "value", "kg", 70, "", ""},
		{"body_height", "value", "", 1.75, "value", "looks like metres (175 cm)"},
		{"body_height", "value", "m", 1.75, "unit", "1.75 m is 175 cm"},
		{"body_height", "value", "[in_i]", 69, "unit", "≈175 cm"},
		{"hba1c", "value", "", 7, "value", "looks like a DCCT percentage (≈53 mmol/mol)"},
		{"hba1c", "value", "%", 7, "unit", "7 % (DCCT) is ≈53 mmol/mol"},
		{"oxygen_saturation", "value", "", 0.97, "value", "looks like a fraction (97 %)"},
		{"oxygen_saturation", "value", "", 101, "value", "outside the possible range 50–100 %"},
		{"blood_pressure", "systolic", "mmHg", 120, "", ""},
		{"blood_pressure", "systolic", "kPa", 16, "unit", "Careway takes blood_pressure in mm[Hg]"},
		{"heart_rate", "value", "bpm", 70, "", ""},
		{"peak_flow", "value", "L/min", 450, "", ""},
		{"peak_flow", "value", "l/min", 450, "", ""},
		{"phq9", "value", "", 5, "value", "no numeric field"},
		{"blood_pressure", "value", "", 120, "value", "no numeric field"},
		{"nonsense", "value", "", 1, "value", "no numeric field"},
	}
	for _, tt := range tests {
		_, err := CheckMeasure(tt.code, tt.field, tt.unit, tt.value)
		if tt.field2 == "" {
			if err != nil {
				t.Errorf("%s %v %s: %v", tt.code, tt.value, tt.unit, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s %v %s accepted", tt.code, tt.value, tt.unit)
			continue
		}
		wantField(t, err, tt.field2)
		if msg := messageOf(err); !strings.Contains(msg, tt.hint) {
			t.Errorf("%s %v %s: message %q lacks %q", tt.code, tt.value, tt.unit, msg, tt.hint)
		}
	}
}

func TestCheckBloodPressure(t *testing.T) {
	tests := []struct {
		sys, dia float64
		unit     string
		fields   string
	}{
		{120, 80, "", ""},
		{120, 80, "mmHg", ""},
		{40, 20, "", ""},
		{300, 200, "mm[Hg]", ""},
		{120, 120, "", "diastolic"},
		{80, 120, "", "diastolic"},
		{39, 20, "", "systolic"},
		{120, 201, "", "diastolic"},
		{301, 19, "", "systolic,diastolic"},
		{16, 10, "kPa", "unit"},
	}
	for _, tt := range tests {
		err := CheckBloodPressure(tt.sys, tt.dia, tt.unit)
		if tt.fields == "" {
			if err != nil {
				t.Errorf("%v/%v: %v", tt.sys, tt.dia, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%v/%v %s accepted", tt.sys, tt.dia, tt.unit)
			continue
		}
		if got := strings.Join(fieldsOf(t, err), ","); got != tt.fields {
			t.Errorf("%v/%v: fields %s, want %s", tt.sys, tt.dia, got, tt.fields)
		}
	}
}

func TestCodes(t *testing.T) {
	if len(Codes) != 16 {
		t.Errorf("%d codes, want the contract's 16", len(Codes))
	}
	for _, c := range Codes {
		if !ValidCode(c) {
			t.Errorf("ValidCode(%q) = false", c)
		}
	}
	if ValidCode("BLOOD_PRESSURE") || ValidCode("") {
		t.Error("codes are exact")
	}
	want := map[string]string{"blood_glucose": "mmol/L", "body_temperature": "Cel", "peak_flow": "L/min", "hba1c": "mmol/mol",
		"body_weight": "kg", "body_height": "cm", "oxygen_saturation": "%", "heart_rate": "/min", "phq9": "", "blood_pressure": ""}
	for code, unit := range want {
		if got := UnitOf(code); got != unit {
			t.Errorf("UnitOf(%q) = %q, want %q", code, got, unit)
		}
	}
}
