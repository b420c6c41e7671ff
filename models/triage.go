package models

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// RedFlag is an emergency answer on a triage request (CLINICAL.md "Triage red flags").
type RedFlag string

// The red flags of the API contract.
const (
	FlagChestPain            RedFlag = "chest_pain"
	FlagSevereBreathlessness RedFlag = "severe_breathlessness"
	FlagStrokeSymptoms       RedFlag = "stroke_symptoms"
	FlagHeavyBleeding        RedFlag = "heavy_bleeding"
	FlagAnaphylaxis          RedFlag = "anaphylaxis"
	FlagSuicidalIntent       RedFlag = "suicidal_intent"
	FlagCollapse             RedFlag = "collapse"
)

// AllRedFlags lists every red flag, in a stable order.
var AllRedFlags = []RedFlag{FlagChestPain, FlagSevereBreathlessness, FlagStrokeSymptoms, FlagHeavyBleeding,
	FlagAnaphylaxis, FlagSuicidalIntent, FlagCollapse}

// Valid reports whether f is a known red flag.
func (f RedFlag) Valid() bool {
	for _, v := range AllRedFlags {
		if f == v {
			return true
		}
	}
	return false
}

// TriagePriority is how soon a request needs a clinician.
type TriagePriority string

// Priorities, most pressing first.
const (
	PriorityEmergency TriagePriority = "emergency"
	PriorityUrgent    TriagePriority = "urgent"
	PrioritySoon      TriagePriority = "soon"
	PriorityRoutine   TriagePriority = "routine"
)

// Rank orders priorities: 0 for emergency up to 3 for routine; an unknown value ranks with
// urgent, the safer side (it is never hidden at the bottom of a queue).
func (p TriagePriority) Rank() int {
	switch p {
	case PriorityEmergency:
		return 0
	case PriorityUrgent:
		return 1
	case PrioritySoon:
		return 2
	case PriorityRoutine:
		return 3
	}
	return 1
}

// TriageStatus is where a request is in its life.
type TriageStatus string

// Statuses: waiting in the queue, taken by one clinician, completed with an outcome.
const (
	TriageWaiting    TriageStatus = "waiting"
	TriageInProgress TriageStatus = "in_progress"
	TriageCompleted  TriageStatus = "completed"
)

// TriageSource says who opened a request.
type TriageSource string

// Sources of a triage request.
const (
	SourcePatient TriageSource = "patient" // the patient, in the app
	SourceProxy   TriageSource = "proxy"   // care-home staff for a resident, within the proxy consent
	SourceAlert   TriageSource = "alert"   // opened by a red or emergency reading (ObservationID, AlertID)
	SourceStaff   TriageSource = "staff"   // a clinician or receptionist, for a patient who phoned
)

// OutcomeKind is what a clinician decided for a request.
type OutcomeKind string

// Outcomes of triage (issue 4).
const (
	OutcomeSelfCare          OutcomeKind = "self_care"
	OutcomePhoneCall         OutcomeKind = "phone_call"
	OutcomeVideoConsultation OutcomeKind = "video_consultation" // creates a call (Outcome.CallID)
	OutcomeFaceToFace        OutcomeKind = "face_to_face"       // hands to booking
	OutcomeUrgentSameDay     OutcomeKind = "urgent_same_day"
	OutcomeEmergency         OutcomeKind = "emergency_999_111"
	OutcomePharmacy          OutcomeKind = "pharmacy"
)

// AllOutcomeKinds lists every outcome kind, in a stable order.
var AllOutcomeKinds = []OutcomeKind{OutcomeSelfCare, OutcomePhoneCall, OutcomeVideoConsultation, OutcomeFaceToFace,
	OutcomeUrgentSameDay, OutcomeEmergency, OutcomePharmacy}

// Valid reports whether k is a known outcome kind.
func (k OutcomeKind) Valid() bool {
	for _, v := range AllOutcomeKinds {
		if k == v {
			return true
		}
	}
	return false
}

// TriageOutcome is a clinician's decision on a request.
type TriageOutcome struct {
	Kind      OutcomeKind `json:"kind"`
	Note      string      `json:"note,omitempty"`   // shown to the patient
	CallID    CallID      `json:"callId,omitempty"` // with video_consultation
	DecidedBy UserID      `json:"decidedBy"`
	DecidedAt time.Time   `json:"decidedAt"`
}

// TriageRequest is a patient's request for care online, and what the practice did with it.
type TriageRequest struct {
	ID            TriageRequestID `json:"id"` // chosen by the client (a UUID): a retry stores nothing twice
	PatientID     PatientID       `json:"patientId"`
	PracticeID    PracticeID      `json:"practiceId"` // the patient's practice when submitted
	Description   string          `json:"description"`
	PreferredMode AppointmentMode `json:"preferredMode"`
	RedFlags      []RedFlag       `json:"redFlags"`
	Symptoms      []string        `json:"symptoms"`
	Availability  string          `json:"availability,omitempty"`
	Adjustments   Adjustments     `json:"adjustments"` // reasonable adjustments; they travel to a booking
	Source        TriageSource    `json:"source"`
	SubmittedBy   UserID          `json:"submittedBy,omitempty"`
	ObservationID ObservationID   `json:"observationId,omitempty"` // with source alert
	AlertID       AlertID         `json:"alertId,omitempty"`       // with source alert

	// Priority is the priority computed when the request was stored (clinical.AssessTriage);
	// the queue raises it for waiting time (clinical.QueuePriority). Reasons say why, as
	// codes (e.g. "red_flag", "open_red_alert").
	Priority TriagePriority `json:"priority"`
	Reasons  []string       `json:"priorityReasons"`
	Redirect string         `json:"redirect,omitempty"` // "999" for an emergency
	Advice   string         `json:"advice,omitempty"`   // shown to the patient at once

	Status    TriageStatus   `json:"status"`
	TakenBy   UserID         `json:"takenBy,omitempty"`
	TakenAt   *time.Time     `json:"takenAt,omitempty"`
	Outcome   *TriageOutcome `json:"outcome,omitempty"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
}

// Limits on the free-text parts of a triage request.
const (
	MaxTriageDescription = 4000 // characters
	MaxTriageListItems   = 20
	MaxTriageItem        = 200
	MaxTriageAvailable   = 500
	MaxOutcomeNote       = 2000
)

// Validate checks what the submitter wrote: id, description, mode, red flags, symptoms,
// availability and adjustments. Red flags are deduplicated in place.
func (r *TriageRequest) Validate() error {
	var p Problems
	if !IsUUID(string(r.ID)) {
		p.Add("id", "must be a UUID chosen by the client")
	}
	if r.PatientID == "" {
		p.Add("patientId", "is required")
	}
	checkText(&p, "description", r.Description, MaxTriageDescription, true)
	if !r.PreferredMode.Valid() {
		p.Add("preferredMode", "must be video, phone or face_to_face")
	}
	seen := map[RedFlag]bool{}
	flags := r.RedFlags[:0:0]
	for i, f := range r.RedFlags {
		if !f.Valid() {
			p.Add(indexed("redFlags", i), "unknown red flag "+quote(string(f))+"; use chest_pain, severe_breathlessness, stroke_symptoms, heavy_bleeding, anaphylaxis, suicidal_intent or collapse")
			continue
		}
		if !seen[f] {
			flags = append(flags, f)
		}
		seen[f] = true
	}
	r.RedFlags = flags
	checkList(&p, "symptoms", r.Symptoms)
	r.Adjustments.Validate("adjustments", &p)
	checkText(&p, "availability", r.Availability, MaxTriageAvailable, false)
	return p.Err()
}

// Validate checks an outcome's kind and note.
func (o *TriageOutcome) Validate() error {
	var p Problems
	if !o.Kind.Valid() {
		p.Add("kind", "must be self_care, phone_call, video_consultation, face_to_face, urgent_same_day, emergency_999_111 or pharmacy")
	}
	checkText(&p, "note", o.Note, MaxOutcomeNote, false)
	return p.Err()
}

func checkList(p *Problems, field string, items []string) {
	if len(items) > MaxTriageListItems {
		p.Add(field, "must have at most 20 items")
		return
	}
	for i, s := range items {
		checkText(p, indexed(field, i), s, MaxTriageItem, true)
	}
}

// checkText checks free text: valid UTF-8, at most max characters, no control characters but
// line breaks and tabs, and not blank when required.
func checkText(p *Problems, field, s string, max int, required bool) {
	switch {
	case !utf8.ValidString(s):
		p.Add(field, "must be valid UTF-8 text")
		return
	case required && strings.TrimSpace(s) == "":
		p.Add(field, "is required")
		return
	case utf8.RuneCountInString(s) > max:
		p.Add(field, "must be at most "+itoa(max)+" characters")
		return
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			p.Add(field, "must not contain control characters")
			return
		}
	}
}

func indexed(field string, i int) string { return field + "[" + itoa(i) + "]" }

func itoa(i int) string { return strconv.Itoa(i) }

// TriageStore keeps triage requests.
type TriageStore interface {
	// CreateTriageRequest stores a new request. It is idempotent on r.ID: if a request with
	// that id exists for the same patient, it returns the stored one and created false, and
	// stores nothing. Returns ECONFLICT if the id belongs to another patient's request.
	CreateTriageRequest(ctx context.Context, r *TriageRequest) (stored *TriageRequest, created bool, err error)
	// TriageRequestByID returns ENOTFOUND if there is no such request.
	TriageRequestByID(ctx context.Context, id TriageRequestID) (*TriageRequest, error)
	// TriageQueue returns the open (waiting or in progress) requests of a practice, oldest
	// first, at most max of them (the caller orders them by clinical.QueuePriority).
	TriageQueue(ctx context.Context, practice PracticeID, max int) ([]*TriageRequest, error)
	// TakeTriageRequest marks a waiting request in progress for clinician. Of any number of
	// concurrent takers exactly one succeeds; taking again one's own request succeeds and
	// changes nothing. Returns ENOTFOUND; ECONFLICT if another clinician has it or it is
	// completed.
	TakeTriageRequest(ctx context.Context, id TriageRequestID, clinician UserID, now time.Time) (*TriageRequest, error)
	// SetTriageOutcome completes a request in progress with the outcome, which must be
	// recorded by the clinician who took it (o.DecidedBy). Returns ENOTFOUND; ECONFLICT if the
	// request is not in progress with that clinician (waiting, taken by another, completed).
	SetTriageOutcome(ctx context.Context, id TriageRequestID, o *TriageOutcome) (*TriageRequest, error)
	// ListTriageForPatient lists a patient's requests, newest first.
	ListTriageForPatient(ctx context.Context, patient PatientID, p Page) (items []*TriageRequest, nextCursor string, err error)
}
