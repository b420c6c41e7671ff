package models

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"time"
)

// ObservationCode names what a reading measures (DESIGN.md fixes the list).
type ObservationCode string

// The reading codes of DESIGN.md.
const (
	CodeBloodPressure    ObservationCode = "blood_pressure"
	CodeHeartRate        ObservationCode = "heart_rate"
	CodeRespiratoryRate  ObservationCode = "respiratory_rate"
	CodeOxygenSaturation ObservationCode = "oxygen_saturation"
	CodeBodyTemperature  ObservationCode = "body_temperature"
	CodeBodyWeight       ObservationCode = "body_weight"
	CodeBodyHeight       ObservationCode = "body_height"
	CodeBloodGlucose     ObservationCode = "blood_glucose"
	CodeHbA1c            ObservationCode = "hba1c"
	CodePeakFlow         ObservationCode = "peak_flow"
	CodePHQ9             ObservationCode = "phq9"
	CodeGAD7             ObservationCode = "gad7"
	CodeCAT              ObservationCode = "cat"
	CodeSmokingStatus    ObservationCode = "smoking_status"
	CodeSymptom          ObservationCode = "symptom"
	CodeVitalSigns       ObservationCode = "vital_signs"
)

// ObservationCodes lists every code in a stable order.
var ObservationCodes = []ObservationCode{
	CodeBloodPressure, CodeHeartRate, CodeRespiratoryRate, CodeOxygenSaturation, CodeBodyTemperature,
	CodeBodyWeight, CodeBodyHeight, CodeBloodGlucose, CodeHbA1c, CodePeakFlow, CodePHQ9, CodeGAD7,
	CodeCAT, CodeSmokingStatus, CodeSymptom, CodeVitalSigns,
}

// Valid reports whether c is one of the codes above.
func (c ObservationCode) Valid() bool {
	for _, v := range ObservationCodes {
		if c == v {
			return true
		}
	}
	return false
}

// Level is how worrying a reading is (CLINICAL.md, "From a rule to an interpretation level").
type Level string

// The four interpretation levels, least to most urgent.
const (
	LevelNormal    Level = "normal"
	LevelAmber     Level = "amber"
	LevelRed       Level = "red"
	LevelEmergency Level = "emergency"
)

// Rank orders levels: normal 0, amber 1, red 2, emergency 3; an unknown level ranks -1.
func (l Level) Rank() int {
	switch l {
	case LevelNormal:
		return 0
	case LevelAmber:
		return 1
	case LevelRed:
		return 2
	case LevelEmergency:
		return 3
	}
	return -1
}

// Escalates reports whether a reading at this level alerts the practice (red and emergency).
func (l Level) Escalates() bool { return l.Rank() >= LevelRed.Rank() }

// Interpretation is what the rules made of a reading when it was stored.
type Interpretation struct {
	Level     Level          `json:"level"`
	Score     *int           `json:"score,omitempty"`     // NEWS2 total, questionnaire total
	SubScores map[string]int `json:"subScores,omitempty"` // NEWS2 parameters
	Band      string         `json:"band,omitempty"`      // e.g. "moderate", "amber zone", "obesity_1"
	RuleID    string         `json:"ruleId"`              // the rule that fired, e.g. "news2", "phq9.item9"
	Advice    string         `json:"advice"`              // written for the patient
}

// Observation statuses (the FHIR names).
const (
	ObservationFinal          = "final"
	ObservationEnteredInError = "entered-in-error"
)

// Correction records who marked a reading entered-in-error, when and why. The reading itself
// stays, flagged: nothing clinical is ever deleted.
type Correction struct {
	Reason string    `json:"reason"`
	By     UserID    `json:"by"`
	At     time.Time `json:"at"`
}

// Observation is one reading of a patient. Which value fields are set depends on Code:
//
//   - blood_pressure: Systolic, Diastolic (mmHg), Symptomatic when said
//   - heart_rate, respiratory_rate, oxygen_saturation, body_temperature, body_weight,
//     body_height, blood_glucose, hba1c, peak_flow: Value and Unit (the unit as stored after
//     conversion to Careway's one unit per code; see the handler's unit table)
//   - phq9, gad7, cat: Answers (item scores in order) and Total (computed by the server)
//   - smoking_status: SmokingStatus
//   - symptom: Text and/or SoftSigns (RESTORE2 soft signs)
//   - vital_signs: RespiratoryRate, OxygenSaturation, OnOxygen, Systolic, Pulse, Consciousness,
//     Temperature (scored as NEWS2), and Pregnant when the person recording says so
//
// body_weight also gets BMI when a height is on record.
type Observation struct {
	ID          ObservationID   `json:"id"`
	PatientID   PatientID       `json:"patientId"`
	Code        ObservationCode `json:"code"`
	EffectiveAt time.Time       `json:"effectiveAt"`

	Value *float64 `json:"value,omitempty"`
	Unit  string   `json:"unit,omitempty"`

	Systolic  *float64 `json:"systolic,omitempty"`
	Diastolic *float64 `json:"diastolic,omitempty"`
	// Symptomatic says a blood pressure reading came with dizziness or fainting (a low
	// pressure with symptoms is urgent).
	Symptomatic *bool `json:"symptomatic,omitempty"`

	Answers []int `json:"answers,omitempty"`
	Total   *int  `json:"total,omitempty"`

	SmokingStatus string   `json:"smokingStatus,omitempty"`
	Text          string   `json:"text,omitempty"`
	SoftSigns     []string `json:"softSigns,omitempty"`

	RespiratoryRate  *float64 `json:"respiratoryRate,omitempty"`
	OxygenSaturation *float64 `json:"oxygenSaturation,omitempty"`
	OnOxygen         *bool    `json:"onOxygen,omitempty"`
	Pulse            *float64 `json:"pulse,omitempty"`
	Consciousness    string   `json:"consciousness,omitempty"`
	Temperature      *float64 `json:"temperature,omitempty"`
	Pregnant         *bool    `json:"pregnant,omitempty"`

	BMI *float64 `json:"bmi,omitempty"` // derived from a body_weight and the latest height

	Interpretation Interpretation `json:"interpretation"`
	PlanID         PlanID         `json:"planId,omitempty"`      // the plan whose thresholds applied
	PlanVersion    int            `json:"planVersion,omitempty"` // and its version

	Status     string      `json:"status"` // final or entered-in-error
	Correction *Correction `json:"correction,omitempty"`

	RecordedBy     UserID    `json:"recordedBy"`
	RecordedByRole Role      `json:"recordedByRole"`
	RecordedAt     time.Time `json:"recordedAt"`
	UpdatedAt      time.Time `json:"updatedAt"` // changes with a correction; for sync

	// Fingerprint identifies what the client sent (see Fingerprint), so a retry with the same
	// id and the same content is recognised and one with other content refused.
	Fingerprint string `json:"-"`
}

// ComputeFingerprint returns a hash of the client-supplied content of a reading: code, time and every
// value field, not the server's interpretation or bookkeeping. Two uploads of the same reading
// give the same fingerprint.
func (o *Observation) ComputeFingerprint() string {
	h := sha256.New()
	var buf [8]byte
	str := func(s string) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(s)))
		h.Write(buf[:])
		h.Write([]byte(s))
	}
	num := func(f *float64) {
		if f == nil {
			h.Write([]byte{0})
			return
		}
		h.Write([]byte{1})
		binary.BigEndian.PutUint64(buf[:], math.Float64bits(*f))
		h.Write(buf[:])
	}
	flag := func(b *bool) {
		switch {
		case b == nil:
			h.Write([]byte{0})
		case *b:
			h.Write([]byte{2})
		default:
			h.Write([]byte{1})
		}
	}
	str(string(o.PatientID))
	str(string(o.Code))
	binary.BigEndian.PutUint64(buf[:], uint64(o.EffectiveAt.UnixMilli()))
	h.Write(buf[:])
	num(o.Value)
	str(o.Unit)
	num(o.Systolic)
	num(o.Diastolic)
	flag(o.Symptomatic)
	binary.BigEndian.PutUint64(buf[:], uint64(len(o.Answers)))
	h.Write(buf[:])
	for _, a := range o.Answers {
		binary.BigEndian.PutUint64(buf[:], uint64(a))
		h.Write(buf[:])
	}
	str(o.SmokingStatus)
	str(o.Text)
	binary.BigEndian.PutUint64(buf[:], uint64(len(o.SoftSigns)))
	h.Write(buf[:])
	for _, s := range o.SoftSigns {
		str(s)
	}
	num(o.RespiratoryRate)
	num(o.OxygenSaturation)
	flag(o.OnOxygen)
	num(o.Pulse)
	str(o.Consciousness)
	num(o.Temperature)
	flag(o.Pregnant)
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// EnteredInError reports whether the reading has been withdrawn as entered in error.
func (o *Observation) EnteredInError() bool { return o.Status == ObservationEnteredInError }

// ObservationFilter narrows ListObservations. PatientID is required.
type ObservationFilter struct {
	PatientID PatientID
	Code      ObservationCode // "" for every code
	From, To  time.Time       // effectiveAt in [From, To); zero for open ends
	// IncludeEnteredInError lists withdrawn readings too (flagged); trends and alerts leave
	// them out.
	IncludeEnteredInError bool
	Ascending             bool // oldest first; the default is newest first
}

// ObservationStore keeps readings. Nothing is ever deleted: a wrong reading is marked
// entered-in-error.
type ObservationStore interface {
	// InsertObservations stores a batch of new readings with one write. It answers per item, in
	// order: nil when stored, ECONFLICT when a reading with that id exists already (the caller
	// decides whether it is a retry: see ObservationsByID), or another error for that item. err
	// is set only when the batch as a whole failed (EUNAVAILABLE, EINTERNAL); then nothing can
	// be assumed stored or not, and the client retries with the same ids.
	InsertObservations(ctx context.Context, obs []*Observation) (perItem []error, err error)
	// ObservationsByID returns the stored readings with the given ids, whichever patient they
	// belong to (for duplicate checks); missing ids are absent from the map.
	ObservationsByID(ctx context.Context, ids []ObservationID) (map[ObservationID]*Observation, error)
	// ObservationByID returns one reading of a patient. Returns ENOTFOUND if there is none
	// (also when the id belongs to another patient).
	ObservationByID(ctx context.Context, patient PatientID, id ObservationID) (*Observation, error)
	// ListObservations lists readings by effectiveAt (then id), newest first unless
	// f.Ascending. Returns EINVALID for a cursor this list did not issue.
	ListObservations(ctx context.Context, f ObservationFilter, p Page) (items []*Observation, nextCursor string, err error)
	// LatestObservation returns the most recent reading of a code taken at or before before
	// (zero: any time), leaving out readings entered in error. Returns ENOTFOUND if none.
	LatestObservation(ctx context.Context, patient PatientID, code ObservationCode, before time.Time) (*Observation, error)
	// MarkEnteredInError flags a reading as entered in error with c, and returns it as
	// changed. Returns ENOTFOUND; ECONFLICT if it is flagged already.
	MarkEnteredInError(ctx context.Context, patient PatientID, id ObservationID, c Correction) (*Observation, error)
}
