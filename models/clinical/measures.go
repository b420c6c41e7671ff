package clinical

import (
	"fmt"
	"math"
	"strings"
)

// Reading codes (DESIGN.md, "Shapes fixed by the contract").
const (
	CodeBloodPressure    = "blood_pressure"
	CodeHeartRate        = "heart_rate"
	CodeRespiratoryRate  = "respiratory_rate"
	CodeOxygenSaturation = "oxygen_saturation"
	CodeBodyTemperature  = "body_temperature"
	CodeBodyWeight       = "body_weight"
	CodeBodyHeight       = "body_height"
	CodeBloodGlucose     = "blood_glucose"
	CodeHbA1c            = "hba1c"
	CodePeakFlow         = "peak_flow"
	CodePHQ9             = "phq9"
	CodeGAD7             = "gad7"
	CodeCAT              = "cat"
	CodeSmokingStatus    = "smoking_status"
	CodeSymptom          = "symptom"
	CodeVitalSigns       = "vital_signs"
)

// Codes lists every reading code, in the contract's order.
var Codes = []string{
	CodeBloodPressure, CodeHeartRate, CodeRespiratoryRate, CodeOxygenSaturation,
	CodeBodyTemperature, CodeBodyWeight, CodeBodyHeight, CodeBloodGlucose, CodeHbA1c,
	CodePeakFlow, CodePHQ9, CodeGAD7, CodeCAT, CodeSmokingStatus, CodeSymptom, CodeVitalSigns,
}

// ValidCode reports whether code is a reading code.
func ValidCode(code string) bool {
	for _, c := range Codes {
		if c == code {
			return true
		}
	}
	return false
}

// Measure is one numeric field of a reading: its unit and the limits outside which a value is
// impossible (a typing slip, a wrong unit, a broken device) and refused rather than scored. The
// limits are deliberately wide: a value that is dangerous but possible must be stored and
// escalated, never refused, so each limit sits beyond what a living patient's measurement (or the
// device that takes it at home) can show.
type Measure struct {
	Code  string  // reading code
	Field string  // "value", or the field of a multi-value reading ("systolic", "pulse", ...)
	Unit  string  // the one unit Careway accepts, as UCUM (CLINICAL.md "Codes")
	Min   float64 // inclusive
	Max   float64 // inclusive
}

// The limits, with why. Each single-value code uses field "value"; blood_pressure and
// vital_signs name their fields.
var measures = []Measure{
	// Systolic 40–300 mmHg: below 40 a home cuff cannot read a pulse; above 300 no cuff inflates.
	{CodeBloodPressure, "systolic", "mm[Hg]", 40, 300},
	// Diastolic 20–200 mmHg: the same reasoning for the lower number.
	{CodeBloodPressure, "diastolic", "mm[Hg]", 20, 200},
	// Heart rate 20–300 /min: beyond profound bradycardia and the fastest tachyarrhythmias.
	{CodeHeartRate, "value", "/min", 20, 300},
	// Respiratory rate 2–80 /min: agonal breathing to the fastest recorded adult rates.
	{CodeRespiratoryRate, "value", "/min", 2, 80},
	// SpO2 50–100 %: pulse oximeters are not calibrated below about 70 % and read nothing useful
	// below 50; a saturation cannot exceed 100.
	{CodeOxygenSaturation, "value", "%", 50, 100},
	// Temperature 25–45 °C: severe hypothermia to beyond survivable hyperthermia.
	{CodeBodyTemperature, "value", "Cel", 25, 45},
	// Weight 1–400 kg: a baby to beyond the heaviest person a home or clinic scale can weigh.
	{CodeBodyWeight, "value", "kg", 1, 400},
	// Height 40–250 cm: a newborn to beyond the tallest living people.
	{CodeBodyHeight, "value", "cm", 40, 250},
	// Capillary glucose 0.5–35 mmol/L: home meters read "LO" below about 1.1 and "HI" above 33.3,
	// so no meter shows more than 35. The cap is lower than the laboratory's range on purpose: it
	// catches mg/dL values (a hypo of 36–72 mg/dL would otherwise pass as a dangerous high).
	{CodeBloodGlucose, "value", "mmol/L", 0.5, 35},
	// HbA1c 15–200 mmol/mol (IFCC): about 3.5 % to 20.5 % DCCT, the assays' reporting range.
	{CodeHbA1c, "value", "mmol/mol", 15, 200},
	// Peak flow 30–1000 L/min: below the lowest mark of a low-range meter, above a standard one's
	// top mark (800–900).
	{CodePeakFlow, "value", "L/min", 30, 1000},
	// vital_signs (NEWS2) reuses the limits of the single codes.
	{CodeVitalSigns, "respiratoryRate", "/min", 2, 80},
	{CodeVitalSigns, "oxygenSaturation", "%", 50, 100},
	{CodeVitalSigns, "systolic", "mm[Hg]", 40, 300},
	{CodeVitalSigns, "pulse", "/min", 20, 300},
	{CodeVitalSigns, "temperature", "Cel", 25, 45},
}

// MeasureFor returns the measure of a reading's numeric field, or false if the code has no such
// numeric field.
func MeasureFor(code, field string) (Measure, bool) {
	for _, m := range measures {
		if m.Code == code && m.Field == field {
			return m, true
		}
	}
	return Measure{}, false
}

// UnitOf returns the unit Careway accepts for a single-value reading code ("" when the code has
// no "value": questionnaires, smoking_status, symptom, blood_pressure and vital_signs).
func UnitOf(code string) string {
	if m, ok := MeasureFor(code, "value"); ok {
		return m.Unit
	}
	return ""
}

// CheckMeasure checks one numeric field of a reading given in unit ("" means the accepted unit)
// and returns the value to store. A unit other than the accepted one is EINVALID naming "unit"
// (with a conversion hint for the usual mistakes: mg/dL, °F, lb, DCCT %); a value that is not a
// number or is outside the measure's limits is EINVALID naming the field, with a hint when it
// looks like a wrong unit ("Careway takes mmol/L; 90 looks like mg/dL (≈5.0 mmol/L)"). A code or
// field without a measure is EINVALID naming the field.
func CheckMeasure(code, field, unit string, value float64) (float64, error) {
	m, ok := MeasureFor(code, field)
	if !ok {
		return 0, invalid(field, "%s has no numeric field %q", code, field)
	}
	if unit != "" && unit != m.Unit && unitAliases[unit] != m.Unit {
		msg := fmt.Sprintf("Careway takes %s in %s", code, m.Unit)
		if hint := wrongUnitHint(m, unit, value); hint != "" {
			msg += "; " + hint
		}
		return 0, invalid("unit", "%s", msg)
	}
	if !finite(value) {
		return 0, invalid(field, "must be a number")
	}
	if value < m.Min || value > m.Max {
		msg := fmt.Sprintf("%s is outside the possible range %s–%s %s", num(value), num(m.Min), num(m.Max), m.Unit)
		if hint := UnitHint(code, field, value); hint != "" {
			msg = hint
		}
		return 0, invalid(field, "%s", msg)
	}
	return value, nil
}

// UnitHint returns a sentence for the patient when a value given in Careway's unit looks like
// another unit, or "" when it does not. It is used for values outside the limits, where the
// hint replaces the bare "out of range".
func UnitHint(code, field string, value float64) string {
	switch {
	case code == CodeBloodGlucose && value > 35 && value <= 1000:
		return fmt.Sprintf("Careway takes mmol/L; %s looks like mg/dL (≈%s mmol/L)", num(value), num1(value/mgdlPerMmol))
	case isTemperature(code, field) && value >= 77 && value <= 113:
		return fmt.Sprintf("Careway takes °C; %s looks like °F (≈%s °C)", num(value), num1((value-32)*5/9))
	case code == CodeHbA1c && value >= 3 && value < 15:
		return fmt.Sprintf("Careway takes HbA1c in mmol/mol (IFCC); %s looks like a DCCT percentage (≈%s mmol/mol)", num(value), num0(dcctToIFCC(value)))
	case code == CodeBodyHeight && value >= 0.4 && value <= 2.5:
		return fmt.Sprintf("Careway takes height in cm; %s looks like metres (%s cm)", num(value), num0(value*100))
	case code == CodeBodyWeight && value > 400 && value <= 900:
		return fmt.Sprintf("Careway takes weight in kg; %s looks like pounds (≈%s kg)", num(value), num1(value*kgPerLb))
	case isSpO2(code, field) && value > 0 && value <= 1:
		return fmt.Sprintf("Careway takes oxygen saturation as a percentage; %s looks like a fraction (%s %%)", num(value), num0(value*100))
	}
	return ""
}

// wrongUnitHint converts a value given in a recognised wrong unit.
func wrongUnitHint(m Measure, unit string, value float64) string {
	u := strings.ToLower(strings.Trim(unit, "[] "))
	if !finite(value) {
		return ""
	}
	switch {
	case m.Unit == "mmol/L" && (u == "mg/dl" || u == "mg/100ml"):
		return fmt.Sprintf("%s mg/dL is ≈%s mmol/L", num(value), num1(value/mgdlPerMmol))
	case m.Unit == "Cel" && (u == "degf" || u == "f" || u == "°f" || u == "fahrenheit"):
		return fmt.Sprintf("%s °F is ≈%s °C", num(value), num1((value-32)*5/9))
	case m.Unit == "kg" && (u == "lb_av" || u == "lb" || u == "lbs"):
		return fmt.Sprintf("%s lb is ≈%s kg", num(value), num1(value*kgPerLb))
	case m.Unit == "cm" && u == "m":
		return fmt.Sprintf("%s m is %s cm", num(value), num0(value*100))
	case m.Unit == "cm" && (u == "in_i" || u == "in"):
		return fmt.Sprintf("%s in is ≈%s cm", num(value), num0(value*2.54))
	case m.Unit == "mmol/mol" && u == "%":
		return fmt.Sprintf("%s %% (DCCT) is ≈%s mmol/mol", num(value), num0(dcctToIFCC(value)))
	}
	return ""
}

// unitAliases are the everyday spellings of the accepted UCUM units; they mean the same unit.
var unitAliases = map[string]string{
	"mmHg": "mm[Hg]", "bpm": "/min", "beats/min": "/min", "breaths/min": "/min",
	"°C": "Cel", "degC": "Cel", "C": "Cel", "mmol/l": "mmol/L", "l/min": "L/min",
}

const (
	mgdlPerMmol = 18.016 // glucose: mg/dL per mmol/L
	kgPerLb     = 0.45359237
)

// dcctToIFCC converts an HbA1c percentage (DCCT/NGSP) to mmol/mol (IFCC) by the master equation.
func dcctToIFCC(pct float64) float64 { return (pct - 2.152) * 10.929 }

func isTemperature(code, field string) bool {
	return code == CodeBodyTemperature || (code == CodeVitalSigns && field == "temperature")
}

func isSpO2(code, field string) bool {
	return code == CodeOxygenSaturation || (code == CodeVitalSigns && field == "oxygenSaturation")
}

// num prints a value as given (shortest form); num1 and num0 round for hints.
func num(v float64) string  { return fmt.Sprintf("%g", v) }
func num1(v float64) string { return fmt.Sprintf("%.1f", math.Round(v*10)/10) }
func num0(v float64) string { return fmt.Sprintf("%.0f", math.Round(v)) }

// CheckBloodPressure checks both numbers of a blood pressure reading (in mm[Hg]; unit "" means
// mm[Hg]) and that the diastolic is below the systolic, which a real reading always is (equal or
// reversed numbers are a typing slip). Errors are EINVALID naming "unit", "systolic" or
// "diastolic", all of them at once.
func CheckBloodPressure(systolic, diastolic float64, unit string) error {
	var fields []error
	if _, err := CheckMeasure(CodeBloodPressure, "systolic", unit, systolic); err != nil {
		fields = append(fields, err)
	}
	if unit == "" || unit == "mm[Hg]" || unitAliases[unit] == "mm[Hg]" {
		if _, err := CheckMeasure(CodeBloodPressure, "diastolic", unit, diastolic); err != nil {
			fields = append(fields, err)
		} else if len(fields) == 0 && diastolic >= systolic {
			fields = append(fields, invalid("diastolic", "must be below the systolic (the first, larger number)"))
		}
	}
	return joinInvalid(fields)
}
