package handlers

import (
	"strconv"
	"strings"
	"time"

	"careway/models"
	"careway/models/clinical"
)

// Limits on uploaded readings.
const (
	maxBatch        = 500                       // readings per request (DESIGN.md)
	futureTolerance = 5 * time.Minute           // clock skew allowed on effectiveAt
	maxReadingAge   = 10 * 365 * time.Hour * 24 // older is a broken clock, not a reading
	maxSymptomText  = 2000
)

// readingInput is one reading as the client sends it (DESIGN.md "Shapes fixed by the
// contract"). Every value field is optional here; which are required and which are refused
// depends on the code, checked by parseReading.
type readingInput struct {
	ID          string    `json:"id"`
	Code        string    `json:"code"`
	EffectiveAt *jsonTime `json:"effectiveAt"`

	Value       *float64 `json:"value"`
	Unit        *string  `json:"unit"`
	Systolic    *float64 `json:"systolic"`
	Diastolic   *float64 `json:"diastolic"`
	Symptomatic *bool    `json:"symptomatic"`

	Answers []int `json:"answers"`
	Total   *int  `json:"total"` // ignored: the server computes the total

	SmokingStatus *string  `json:"smokingStatus"`
	Text          *string  `json:"text"`
	SoftSigns     []string `json:"softSigns"`

	RespiratoryRate  *float64 `json:"respiratoryRate"`
	OxygenSaturation *float64 `json:"oxygenSaturation"`
	OnOxygen         *bool    `json:"onOxygen"`
	Pulse            *float64 `json:"pulse"`
	Consciousness    *string  `json:"consciousness"`
	Temperature      *float64 `json:"temperature"`
	Pregnant         *bool    `json:"pregnant"`
}

// present lists the value fields a reading carries, by JSON name.
func (in *readingInput) present() map[string]bool {
	f := map[string]bool{}
	set := func(name string, ok bool) {
		if ok {
			f[name] = true
		}
	}
	set("value", in.Value != nil)
	set("unit", in.Unit != nil)
	set("systolic", in.Systolic != nil)
	set("diastolic", in.Diastolic != nil)
	set("symptomatic", in.Symptomatic != nil)
	set("answers", in.Answers != nil)
	set("total", in.Total != nil)
	set("smokingStatus", in.SmokingStatus != nil)
	set("text", in.Text != nil)
	set("softSigns", in.SoftSigns != nil)
	set("respiratoryRate", in.RespiratoryRate != nil)
	set("oxygenSaturation", in.OxygenSaturation != nil)
	set("onOxygen", in.OnOxygen != nil)
	set("pulse", in.Pulse != nil)
	set("consciousness", in.Consciousness != nil)
	set("temperature", in.Temperature != nil)
	set("pregnant", in.Pregnant != nil)
	return f
}

// readingFields lists, per code, the value fields a reading may carry.
var readingFields = map[models.ObservationCode][]string{
	models.CodeBloodPressure:    {"systolic", "diastolic", "unit", "symptomatic"},
	models.CodeHeartRate:        {"value", "unit"},
	models.CodeRespiratoryRate:  {"value", "unit"},
	models.CodeOxygenSaturation: {"value", "unit", "onOxygen"},
	models.CodeBodyTemperature:  {"value", "unit"},
	models.CodeBodyWeight:       {"value", "unit"},
	models.CodeBodyHeight:       {"value", "unit"},
	models.CodeBloodGlucose:     {"value", "unit"},
	models.CodeHbA1c:            {"value", "unit"},
	models.CodePeakFlow:         {"value", "unit"},
	models.CodePHQ9:             {"answers", "total"},
	models.CodeGAD7:             {"answers", "total"},
	models.CodeCAT:              {"answers", "total"},
	models.CodeSmokingStatus:    {"smokingStatus"},
	models.CodeSymptom:          {"text", "softSigns"},
	models.CodeVitalSigns:       {"respiratoryRate", "oxygenSaturation", "onOxygen", "systolic", "pulse", "consciousness", "temperature", "pregnant"},
}

// decodeReading decodes one reading strictly (unknown fields, wrong JSON types refused, naming
// the field).
func decodeReading(raw []byte) (*readingInput, error) {
	var in readingInput
	if err := decodeJSON(raw, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// readingContext is what checking a reading needs to know beyond the reading itself.
type readingContext struct {
	patient *models.Patient
	now     time.Time
	actor   models.UserID
	role    models.Role
}

// parseReading checks one reading and turns it into an Observation (without interpretation).
// Errors are EINVALID naming each bad field by its JSON name.
func parseReading(in *readingInput, rc *readingContext) (*models.Observation, error) {
	var p models.Problems
	o := &models.Observation{Status: models.ObservationFinal, PatientID: rc.patient.ID, RecordedBy: rc.actor,
		RecordedByRole: rc.role, RecordedAt: rc.now, UpdatedAt: rc.now}

	switch {
	case in.ID == "":
		p.Add("id", "is required: a UUID chosen by the app, so a retried upload stores nothing twice")
	case !models.IsUUID(in.ID):
		p.Add("id", "must be a UUID (8-4-4-4-12 hexadecimal digits)")
	default:
		o.ID = models.ObservationID(strings.ToLower(in.ID))
	}
	o.Code = models.ObservationCode(in.Code)
	allowed, known := readingFields[o.Code]
	if !known {
		if in.Code == "" {
			p.Add("code", "is required")
		} else {
			p.Add("code", "is not a reading code; use one of "+codeList())
		}
	}
	switch {
	case in.EffectiveAt == nil || in.EffectiveAt.IsZero():
		p.Add("effectiveAt", "is required: when the reading was taken (RFC 3339)")
	case in.EffectiveAt.After(rc.now.Add(futureTolerance)):
		p.Add("effectiveAt", "is in the future; check the device's clock")
	case bornAfter(rc.patient, in.EffectiveAt.Time):
		p.Add("effectiveAt", "is before the patient was born; check the device's clock")
	case in.EffectiveAt.Before(rc.now.Add(-maxReadingAge)):
		p.Add("effectiveAt", "is more than 10 years ago; check the device's clock")
	default:
		o.EffectiveAt = in.EffectiveAt.Time.UTC().Truncate(time.Millisecond)
	}
	if !known {
		return nil, p.Err()
	}
	present := in.present()
	for _, f := range allowed {
		delete(present, f)
	}
	for f := range present {
		p.Add(f, "is not a field of a "+string(o.Code)+" reading")
	}
	if len(p) > 0 {
		return nil, p.Err()
	}
	if err := parseValues(in, o); err != nil {
		return nil, err
	}
	o.Fingerprint = o.ComputeFingerprint()
	return o, nil
}

// bornAfter reports whether t is before the patient's date of birth.
func bornAfter(p *models.Patient, t time.Time) bool {
	dob, err := time.Parse(time.DateOnly, p.DateOfBirth)
	return err == nil && t.Before(dob)
}

func codeList() string {
	names := make([]string, len(models.ObservationCodes))
	for i, c := range models.ObservationCodes {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// parseValues checks the value fields of a reading whose code and fields are known to match.
func parseValues(in *readingInput, o *models.Observation) error {
	var p models.Problems
	unit := ""
	if in.Unit != nil {
		unit = *in.Unit
	}
	code := string(o.Code)
	switch o.Code {
	case models.CodeBloodPressure:
		requireNum(&p, "systolic", in.Systolic)
		requireNum(&p, "diastolic", in.Diastolic)
		if len(p) > 0 {
			return p.Err()
		}
		if err := clinical.CheckBloodPressure(*in.Systolic, *in.Diastolic, unit); err != nil {
			return err
		}
		o.Systolic, o.Diastolic, o.Symptomatic = in.Systolic, in.Diastolic, in.Symptomatic
		o.Unit = "mm[Hg]"
	case models.CodePHQ9, models.CodeGAD7, models.CodeCAT:
		if in.Answers == nil {
			q, _ := clinical.QuestionnaireFor(code)
			p.Add("answers", "is required: the "+strconv.Itoa(q.Items)+" item scores in order")
			return p.Err()
		}
		o.Answers = in.Answers // checked and totalled by the rule; a client total is ignored
	case models.CodeSmokingStatus:
		if in.SmokingStatus == nil {
			p.Add("smokingStatus", "is required: never, former or current")
			return p.Err()
		}
		if _, err := clinical.SmokingStatus(*in.SmokingStatus); err != nil {
			return err
		}
		o.SmokingStatus = *in.SmokingStatus
	case models.CodeSymptom:
		text := ""
		if in.Text != nil {
			text = strings.TrimSpace(*in.Text)
		}
		if text == "" && len(in.SoftSigns) == 0 {
			p.Add("text", "a symptom needs a description (text) or at least one soft sign (softSigns)")
		}
		if len([]rune(text)) > maxSymptomText {
			p.Add("text", "must be at most 2000 characters")
		}
		seen := map[string]bool{}
		for i, s := range in.SoftSigns {
			field := "softSigns[" + strconv.Itoa(i) + "]"
			switch {
			case !clinical.ValidSoftSign(s):
				p.Add(field, "is not a RESTORE2 soft sign; use one of "+strings.Join(clinical.SoftSigns, ", "))
			case seen[s]:
				p.Add(field, "is listed twice")
			}
			seen[s] = true
		}
		o.Text, o.SoftSigns = text, in.SoftSigns
	case models.CodeVitalSigns:
		for _, f := range []struct {
			name string
			v    *float64
		}{{"respiratoryRate", in.RespiratoryRate}, {"oxygenSaturation", in.OxygenSaturation}, {"systolic", in.Systolic},
			{"pulse", in.Pulse}, {"temperature", in.Temperature}} {
			if requireNum(&p, f.name, f.v) {
				if _, err := clinical.CheckMeasure(code, f.name, "", *f.v); err != nil {
					p = append(p, fieldsOf(err)...)
				}
			}
		}
		// Air or oxygen changes the score by 2: it must be said, never assumed.
		if in.OnOxygen == nil {
			p.Add("onOxygen", "is required: true if the person is on supplemental oxygen, false on air")
		}
		switch {
		case in.Consciousness == nil:
			p.Add("consciousness", "is required: one of A, C, V, P, U (ACVPU)")
		case !clinical.ValidConsciousness(*in.Consciousness):
			p.Add("consciousness", "must be one of A, C, V, P, U (ACVPU)")
		default:
			o.Consciousness = *in.Consciousness
		}
		o.RespiratoryRate, o.OxygenSaturation, o.OnOxygen = in.RespiratoryRate, in.OxygenSaturation, in.OnOxygen
		o.Systolic, o.Pulse, o.Temperature, o.Pregnant = in.Systolic, in.Pulse, in.Temperature, in.Pregnant
	default: // single-value codes
		if !requireNum(&p, "value", in.Value) {
			return p.Err()
		}
		v, err := clinical.CheckMeasure(code, "value", unit, *in.Value)
		if err != nil {
			return err
		}
		o.Value, o.Unit = &v, clinical.UnitOf(code)
		if o.Code == models.CodeOxygenSaturation {
			o.OnOxygen = in.OnOxygen
		}
	}
	return p.Err()
}

// requireNum adds a problem when a required number is missing and reports whether it is there.
func requireNum(p *models.Problems, field string, v *float64) bool {
	if v == nil {
		p.Add(field, "is required")
		return false
	}
	return true
}

// prefixed returns err's field errors with each field put under prefix, e.g. "value" under
// "observations[3]" becomes "observations[3].value".
func prefixed(err error, prefix string) []models.FieldError {
	fs := fieldsOf(err)
	out := make([]models.FieldError, len(fs))
	for i, f := range fs {
		name := f.Field
		switch {
		case name == "" || name == "body":
			name = prefix
		case strings.HasPrefix(name, "["):
			name = prefix + name
		default:
			name = prefix + "." + name
		}
		out[i] = models.FieldError{Field: name, Message: f.Message}
	}
	return out
}
