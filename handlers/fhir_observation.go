package handlers

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/models"
)

// Readings as FHIR Observations. Codes and UCUM units are those of CLINICAL.md ("Codes (for
// FHIR export)"). Where CLINICAL.md gives no code (body height, the CAT total, symptoms, the
// NEWS2 sub-scores, questionnaire items, air or oxygen) Careway does not guess one: it uses its
// own code system, systemCareway, and says what it is in the text. Body height is the one
// exception: 8302-2 is the code FHIR R4's own vital-signs profile requires for it.

// systemCareway is Careway's local code system for what has no published code here.
const systemCareway = "https://careway.example/fhir/CodeSystem/observation"

// measureCode is how one measure is coded.
type measureCode struct {
	loinc    []string // the first is the primary code
	snomed   string
	display  string
	unit     string // UCUM
	category string // observation-category code
}

// The codes of CLINICAL.md, per reading code (blood pressure: the panel; its parts below).
var (
	codeSystolic  = measureCode{loinc: []string{"8480-6"}, snomed: "72313002", display: "Systolic blood pressure", unit: "mm[Hg]"}
	codeDiastolic = measureCode{loinc: []string{"8462-4"}, snomed: "271650006", display: "Diastolic blood pressure", unit: "mm[Hg]"}
	codeBMI       = measureCode{loinc: []string{"39156-5"}, snomed: "60621009", display: "Body mass index", unit: "kg/m2", category: "vital-signs"}
	codeACVPU     = measureCode{snomed: "1104441000000107", display: "ACVPU (alert, new confusion, voice, pain, unresponsive) scale score"}

	readingCodes = map[models.ObservationCode]measureCode{
		models.CodeBloodPressure:    {loinc: []string{"85354-9"}, display: "Blood pressure panel", category: "vital-signs"},
		models.CodeHeartRate:        {loinc: []string{"8867-4"}, snomed: "364075005", display: "Heart rate", unit: "/min", category: "vital-signs"},
		models.CodeRespiratoryRate:  {loinc: []string{"9279-1"}, snomed: "86290005", display: "Respiratory rate", unit: "/min", category: "vital-signs"},
		models.CodeOxygenSaturation: {loinc: []string{"59408-5", "2708-6"}, snomed: "431314004", display: "Oxygen saturation", unit: "%", category: "vital-signs"},
		models.CodeBodyTemperature:  {loinc: []string{"8310-5"}, snomed: "386725007", display: "Body temperature", unit: "Cel", category: "vital-signs"},
		models.CodeBodyWeight:       {loinc: []string{"29463-7"}, snomed: "27113001", display: "Body weight", unit: "kg", category: "vital-signs"},
		models.CodeBodyHeight:       {loinc: []string{"8302-2"}, display: "Body height", unit: "cm", category: "vital-signs"},
		models.CodeBloodGlucose:     {loinc: []string{"14743-9"}, display: "Capillary blood glucose", unit: "mmol/L", category: "laboratory"},
		models.CodeHbA1c:            {loinc: []string{"59261-8"}, snomed: "999791000000106", display: "Haemoglobin A1c (IFCC)", unit: "mmol/mol", category: "laboratory"},
		models.CodePeakFlow:         {loinc: []string{"19935-6"}, display: "Peak expiratory flow", unit: "L/min", category: "exam"},
		models.CodePHQ9:             {loinc: []string{"44261-6"}, snomed: "720433000", display: "PHQ-9 total score", unit: "{score}", category: "survey"},
		models.CodeGAD7:             {loinc: []string{"70274-6"}, snomed: "445455005", display: "GAD-7 total score", unit: "{score}", category: "survey"},
		models.CodeCAT:              {display: "COPD Assessment Test (CAT) total score", unit: "{score}", category: "survey"},
		models.CodeSmokingStatus:    {loinc: []string{"72166-2"}, display: "Tobacco smoking status", category: "social-history"},
		models.CodeSymptom:          {display: "Symptoms and soft signs (RESTORE2)", category: "exam"},
		models.CodeVitalSigns:       {snomed: "1104051000000101", display: "NEWS2 (National Early Warning Score 2) total", unit: "{score}", category: "survey"},
	}

	// The NEWS2 parameters as measured, for the components of a NEWS2 Observation.
	news2Measures = []struct {
		key  string // the sub-score key of the rules (clinical.News2*)
		code measureCode
	}{
		{"respiratoryRate", measureCode{loinc: []string{"9279-1"}, snomed: "86290005", display: "Respiratory rate", unit: "/min"}},
		{"oxygenSaturation", measureCode{loinc: []string{"59408-5", "2708-6"}, snomed: "431314004", display: "Oxygen saturation", unit: "%"}},
		{"onOxygen", measureCode{display: "Air or oxygen (NEWS2)"}},
		{"systolic", codeSystolic},
		{"pulse", measureCode{loinc: []string{"8867-4"}, snomed: "364075005", display: "Heart rate", unit: "/min"}},
		{"consciousness", codeACVPU},
		{"temperature", measureCode{loinc: []string{"8310-5"}, snomed: "386725007", display: "Body temperature", unit: "Cel"}},
	}

	// ACVPU answers (CLINICAL.md).
	acvpuCodes = map[string]fhir.Coding{
		"A": coding(systemSNOMED, "248234008", "Mentally alert"),
		"C": coding(systemSNOMED, "130987000", "Acute confusion"),
		"V": coding(systemSNOMED, "300202002", "Responds to voice"),
		"P": coding(systemSNOMED, "450847001", "Responds to pain"),
		"U": coding(systemSNOMED, "422768004", "Unresponsive"),
	}

	// Smoking status answers: the SNOMED CT concepts FHIR's smoking-status examples use.
	smokingCodes = map[string]fhir.Coding{
		"never":   coding(systemSNOMED, "266919005", "Never smoked tobacco"),
		"former":  coding(systemSNOMED, "8517006", "Ex-smoker"),
		"current": coding(systemSNOMED, "77176002", "Smoker"),
	}
)

// codings returns the code's LOINC, SNOMED CT and (for what has neither) Careway codings.
func (m measureCode) codings(local string) []fhir.Coding {
	var out []fhir.Coding
	for _, l := range m.loinc {
		out = append(out, coding(systemLOINC, l, m.display))
	}
	if m.snomed != "" {
		out = append(out, coding(systemSNOMED, m.snomed, m.display))
	}
	if len(out) == 0 {
		out = append(out, coding(systemCareway, local, m.display))
	}
	return out
}

// concept returns the code as a CodeableConcept.
func (m measureCode) concept(local string) fhir.CodeableConcept {
	return concept(m.display, m.codings(local)...)
}

// matches reports whether a token of a code search names this code.
func (m measureCode) matches(t token, local string) bool {
	for _, c := range m.codings(local) {
		if t.matches(*c.System, *c.Code) {
			return true
		}
	}
	return false
}

// quantity returns a UCUM quantity.
func quantity(v float64, unit string) *fhir.Quantity {
	n := jsonNumber(v)
	return &fhir.Quantity{Value: &n, Unit: ptr(unit), System: ptr(systemUCUM), Code: ptr(unit)}
}

// jsonNumber writes a float the shortest way that reads back the same (72, not 72.000000).
func jsonNumber(v float64) json.Number {
	return json.Number(strconv.FormatFloat(v, 'f', -1, 64))
}

// bmiSuffix makes the id of the BMI Observation derived from a body weight reading.
const bmiSuffix = "-bmi"

// fhirObservations maps one reading to its FHIR Observations: one, or two for a body weight with
// a BMI (the BMI is its own Observation, derived from the weight).
func fhirObservations(o *models.Observation) []fhirEntry {
	out := []fhirEntry{{"Observation", string(o.ID), fhirObservation(o)}}
	if o.Code == models.CodeBodyWeight && o.BMI != nil {
		out = append(out, fhirEntry{"Observation", string(o.ID) + bmiSuffix, fhirBMI(o)})
	}
	return out
}

// observationBase fills what every Observation of a reading shares: status, category, subject,
// times and the interpretation.
func observationBase(o *models.Observation, id string, m measureCode) fhir.Observation {
	res := fhir.Observation{
		Id:                ptr(id),
		Meta:              fhirMeta(o.UpdatedAt),
		Status:            fhir.ObservationStatusFinal,
		Subject:           ptr(reference("Patient", string(o.PatientID))),
		EffectiveDateTime: ptr(fhirInstant(o.EffectiveAt)),
	}
	if m.category != "" {
		res.Category = []fhir.CodeableConcept{concept("", coding("http://terminology.hl7.org/CodeSystem/observation-category", m.category, ""))}
	}
	if !o.RecordedAt.IsZero() {
		res.Issued = ptr(fhirInstant(o.RecordedAt))
	}
	if o.EnteredInError() {
		res.Status = fhir.ObservationStatusEnteredInError
		if o.Correction != nil && strings.TrimSpace(o.Correction.Reason) != "" {
			res.Note = []fhir.Annotation{{Text: "Entered in error: " + o.Correction.Reason, Time: ptr(fhirInstant(o.Correction.At))}}
		}
	}
	if in := fhirInterpretation(o.Interpretation.Level); in != nil {
		res.Interpretation = []fhir.CodeableConcept{*in}
	}
	return res
}

// fhirInterpretation codes a level with the v3 ObservationInterpretation code that fits (normal
// N, amber A abnormal, red and emergency AA critical) and Careway's own level, which keeps red
// and emergency apart.
func fhirInterpretation(l models.Level) *fhir.CodeableConcept {
	var v3, display string
	switch l {
	case models.LevelNormal:
		v3, display = "N", "Normal"
	case models.LevelAmber:
		v3, display = "A", "Abnormal"
	case models.LevelRed, models.LevelEmergency:
		v3, display = "AA", "Critical abnormal"
	default:
		return nil
	}
	cc := concept(string(l),
		coding("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", v3, display),
		coding("https://careway.example/fhir/CodeSystem/interpretation-level", string(l), ""))
	return &cc
}

// fhirObservation maps a reading to its main Observation.
func fhirObservation(o *models.Observation) fhir.Observation {
	m := readingCodes[o.Code]
	if m.display == "" {
		m = measureCode{display: string(o.Code)}
	}
	res := observationBase(o, string(o.ID), m)
	res.Code = m.concept(string(o.Code))
	switch o.Code {
	case models.CodeBloodPressure:
		// A panel: the values are its components, the panel itself has none (obs-7).
		if o.Systolic != nil {
			res.Component = append(res.Component, fhir.ObservationComponent{Code: codeSystolic.concept("systolic"), ValueQuantity: quantity(*o.Systolic, "mm[Hg]")})
		}
		if o.Diastolic != nil {
			res.Component = append(res.Component, fhir.ObservationComponent{Code: codeDiastolic.concept("diastolic"), ValueQuantity: quantity(*o.Diastolic, "mm[Hg]")})
		}
	case models.CodePHQ9, models.CodeGAD7, models.CodeCAT:
		total := o.Total
		if total == nil {
			total = o.Interpretation.Score
		}
		if total != nil {
			res.ValueQuantity = quantity(float64(*total), "{score}")
		}
		for i, a := range o.Answers {
			item := string(o.Code) + "-item-" + strconv.Itoa(i+1)
			res.Component = append(res.Component, fhir.ObservationComponent{
				Code:         concept(strings.ToUpper(string(o.Code))+" item "+strconv.Itoa(i+1), coding(systemCareway, item, "")),
				ValueInteger: ptr(a),
			})
		}
	case models.CodeSmokingStatus:
		if c, ok := smokingCodes[o.SmokingStatus]; ok {
			res.ValueCodeableConcept = ptr(concept(o.SmokingStatus, c))
		}
	case models.CodeSymptom:
		if strings.TrimSpace(o.Text) != "" {
			res.ValueString = ptr(o.Text)
		}
		for _, sign := range o.SoftSigns {
			res.Component = append(res.Component, fhir.ObservationComponent{
				Code: concept("Soft sign", coding(systemCareway, "soft-sign", "")), ValueString: ptr(sign)})
		}
	case models.CodeVitalSigns:
		fillNEWS2(&res, o)
	default:
		if o.Value != nil {
			unit := m.unit
			if unit == "" {
				unit = o.Unit
			}
			res.ValueQuantity = quantity(*o.Value, unit)
		}
	}
	if res.ValueQuantity == nil && res.ValueCodeableConcept == nil && res.ValueString == nil && len(res.Component) == 0 {
		// Nothing to show (a reading withdrawn before it had a value, say): FHIR wants a reason.
		res.DataAbsentReason = ptr(concept("", coding("http://terminology.hl7.org/CodeSystem/data-absent-reason", "unknown", "Unknown")))
	}
	return res
}

// fillNEWS2 gives a NEWS2 Observation its total, the measured parameters and each parameter's
// sub-score as components. The sub-scores have no published codes; they carry Careway's own.
func fillNEWS2(res *fhir.Observation, o *models.Observation) {
	if o.Interpretation.Score != nil {
		res.ValueQuantity = quantity(float64(*o.Interpretation.Score), "{score}")
	}
	values := map[string]*float64{
		"respiratoryRate": o.RespiratoryRate, "oxygenSaturation": o.OxygenSaturation, "systolic": o.Systolic,
		"pulse": o.Pulse, "temperature": o.Temperature,
	}
	for _, p := range news2Measures {
		comp := fhir.ObservationComponent{Code: p.code.concept("news2-" + p.key)}
		switch p.key {
		case "onOxygen":
			if o.OnOxygen == nil {
				continue
			}
			comp.ValueBoolean = ptr(*o.OnOxygen)
			comp.Code = concept("On supplemental oxygen (NEWS2: air or oxygen)", coding(systemCareway, "news2-on-oxygen", ""))
		case "consciousness":
			c, ok := acvpuCodes[o.Consciousness]
			if !ok {
				continue
			}
			comp.ValueCodeableConcept = ptr(concept(o.Consciousness, c))
		default:
			v := values[p.key]
			if v == nil {
				continue
			}
			comp.ValueQuantity = quantity(*v, p.code.unit)
		}
		res.Component = append(res.Component, comp)
	}
	keys := make([]string, 0, len(o.Interpretation.SubScores))
	for k := range o.Interpretation.SubScores {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		res.Component = append(res.Component, fhir.ObservationComponent{
			Code:          concept("NEWS2 sub-score: "+k, coding(systemCareway, "news2-subscore-"+k, "")),
			ValueQuantity: quantity(float64(o.Interpretation.SubScores[k]), "{score}"),
		})
	}
}

// fhirBMI maps the BMI derived from a body weight reading.
func fhirBMI(o *models.Observation) fhir.Observation {
	res := observationBase(o, string(o.ID)+bmiSuffix, codeBMI)
	res.Code = codeBMI.concept("bmi")
	res.ValueQuantity = quantity(*o.BMI, "kg/m2")
	res.DerivedFrom = []fhir.Reference{reference("Observation", string(o.ID))}
	if !strings.HasPrefix(o.Interpretation.RuleID, "bmi") {
		res.Interpretation = nil // the reading's level came from another rule than the BMI bands
	}
	return res
}

// readingCodesFor returns the reading codes a code search names, and whether it names the BMI
// (derived from body weight readings).
func readingCodesFor(tokens []token) (codes []models.ObservationCode, bmi bool) {
	for _, t := range tokens {
		for _, c := range models.ObservationCodes {
			if m, ok := readingCodes[c]; ok && m.matches(t, string(c)) && !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
		}
		if codeBMI.matches(t, "bmi") {
			bmi = true
		}
	}
	return codes, bmi
}
