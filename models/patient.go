package models

import (
	"context"
	"time"
)

// Patient is a person registered with a practice. A patient may have an account (User with
// PatientID) or not: care-home residents often do not, and are looked after through proxies.
type Patient struct {
	ID        PatientID `json:"id"`
	NHSNumber string    `json:"nhsNumber,omitempty"` // 10 digits, no spaces; verified by the practice
	// ClaimedNHSNumber is the number a patient gave when registering themselves: checked with
	// Modulus 11 but not verified, so it is neither unique nor trusted until the practice
	// confirms it (it then becomes NHSNumber).
	ClaimedNHSNumber string     `json:"claimedNhsNumber,omitempty"`
	Name             string     `json:"name"`
	DateOfBirth      string     `json:"dateOfBirth"` // YYYY-MM-DD
	Sex              string     `json:"sex,omitempty"`
	PracticeID       PracticeID `json:"practiceId,omitempty"`
	// RequestedPracticeID is the practice a self-registered patient asked to join. Until that
	// practice's administrators accept (setting PracticeID), its clinicians cannot see the
	// record.
	RequestedPracticeID PracticeID    `json:"requestedPracticeId,omitempty"`
	CareHomeID          CareHomeID    `json:"careHomeId,omitempty"`
	Proxy               *ProxyConsent `json:"proxyConsent,omitempty"` // what the care home's staff may do
	// Adjustments are the reasonable adjustments recorded on the record (nil: none yet). They
	// are read and written only through their own policy actions (ActReadAdjustments,
	// ActWriteAdjustments), so they never ride along with the demographics.
	Adjustments *RecordedAdjustments `json:"-"`
	CreatedAt   time.Time            `json:"createdAt"`
	UpdatedAt   time.Time            `json:"updatedAt"`
}

// ProxyScope is one thing a proxy may do for a patient.
type ProxyScope string

// The proxy scopes of CLINICAL.md ("Proxy access").
const (
	ScopeBookAppointments   ProxyScope = "book_appointments"
	ScopeRecordObservations ProxyScope = "record_observations"
	ScopeViewPlan           ProxyScope = "view_plan"
	ScopeJoinCalls          ProxyScope = "join_calls"
)

// AllProxyScopes lists every scope, in a stable order.
var AllProxyScopes = []ProxyScope{ScopeBookAppointments, ScopeRecordObservations, ScopeViewPlan, ScopeJoinCalls}

// Valid reports whether s is a known scope.
func (s ProxyScope) Valid() bool {
	for _, v := range AllProxyScopes {
		if s == v {
			return true
		}
	}
	return false
}

// Bases on which a proxy consent can rest.
const (
	BasisPatientConsent = "patient_consent"
	BasisBestInterests  = "best_interests"
)

// ProxyConsent records what the staff of the patient's care home may do for the patient, on what
// basis, who recorded it and for which dates. It lapses at Until (exclusive) when Until is set.
type ProxyConsent struct {
	CareHomeID CareHomeID   `json:"careHomeId"`
	Scopes     []ProxyScope `json:"scopes"`
	Basis      string       `json:"basis"`
	From       time.Time    `json:"from"`
	Until      *time.Time   `json:"until,omitempty"`
	RecordedBy UserID       `json:"recordedBy"`
	RecordedAt time.Time    `json:"recordedAt"`
}

// Allows reports whether the consent lets staff of home act in scope at time now.
func (c *ProxyConsent) Allows(home CareHomeID, scope ProxyScope, now time.Time) bool {
	if c == nil || home == "" || c.CareHomeID != home {
		return false
	}
	if now.Before(c.From) || (c.Until != nil && !now.Before(*c.Until)) {
		return false
	}
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Validate checks a consent before it is recorded.
func (c *ProxyConsent) Validate() error {
	var p Problems
	if c.CareHomeID == "" {
		p.Add("careHomeId", "is required")
	}
	if len(c.Scopes) == 0 {
		p.Add("scopes", "must name at least one scope")
	}
	seen := map[ProxyScope]bool{}
	for _, s := range c.Scopes {
		if !s.Valid() {
			p.Add("scopes", "unknown scope "+quote(string(s))+"; use book_appointments, record_observations, view_plan or join_calls")
		} else if seen[s] {
			p.Add("scopes", "scope "+string(s)+" is listed twice")
		}
		seen[s] = true
	}
	if c.Basis != BasisPatientConsent && c.Basis != BasisBestInterests {
		p.Add("basis", "must be patient_consent or best_interests")
	}
	if c.From.IsZero() {
		p.Add("from", "is required")
	}
	if c.Until != nil && !c.Until.After(c.From) {
		p.Add("until", "must be after from")
	}
	return p.Err()
}

// Age returns the patient's age in whole years on the given day, and false if DateOfBirth does
// not parse.
func (p *Patient) Age(on time.Time) (int, bool) {
	dob, err := time.Parse(time.DateOnly, p.DateOfBirth)
	if err != nil {
		return 0, false
	}
	on = on.UTC()
	age := on.Year() - dob.Year()
	if on.Month() < dob.Month() || (on.Month() == dob.Month() && on.Day() < dob.Day()) {
		age--
	}
	return age, true
}

// PatientStore keeps patient records.
type PatientStore interface {
	// CreatePatient stores a new record. Returns ECONFLICT if the NHS number is already
	// registered.
	CreatePatient(ctx context.Context, p *Patient) error
	// PatientByID returns ENOTFOUND if there is no such patient.
	PatientByID(ctx context.Context, id PatientID) (*Patient, error)
	// UpdateRegistration sets the practice and care home of a patient, and answers any request
	// to join a practice. It applies only while the patient is still registered with
	// ifPractice (the practice the caller was authorised against; "" for none). Moving a
	// patient out of a care home clears its proxy consent. Returns ENOTFOUND, or ECONFLICT if
	// the registration changed meanwhile.
	UpdateRegistration(ctx context.Context, id PatientID, ifPractice, practice PracticeID, home CareHomeID, now time.Time) (*Patient, error)
	// SetProxyConsent records (or with nil, withdraws) the care-home proxy consent, while the
	// patient is still registered with ifPractice. Returns ENOTFOUND; ECONFLICT if the
	// registration changed meanwhile; EINVALID if the consent names another care home.
	SetProxyConsent(ctx context.Context, id PatientID, ifPractice PracticeID, c *ProxyConsent, now time.Time) (*Patient, error)
	// DeleteUnclaimedPatient removes a record created moments ago (within ten minutes) that no
	// account refers to, to undo a self-registration whose second write failed. Nothing older
	// is ever deleted. Returns ENOTFOUND.
	DeleteUnclaimedPatient(ctx context.Context, id PatientID) error
	// SetNHSNumber records the NHS number the practice has verified, replacing any claim, while
	// the patient is registered with ifPractice. Returns ENOTFOUND; ECONFLICT if another
	// record has the number or the registration changed meanwhile.
	SetNHSNumber(ctx context.Context, id PatientID, ifPractice PracticeID, nhs string, now time.Time) (*Patient, error)
	// SetAdjustments records rec as the patient's standing reasonable adjustments. rec.Version
	// must be one more than the version recorded now (1 when none is), and the patient must
	// still be registered with ifPractice and live in ifHome ("" for none): the guard of an
	// edit made on what the caller last read and was authorised against. Returns ENOTFOUND;
	// ECONFLICT if the adjustments or the registration changed meanwhile.
	SetAdjustments(ctx context.Context, id PatientID, ifPractice PracticeID, ifHome CareHomeID, rec *RecordedAdjustments) (*Patient, error)
	// ListPatients lists patients of a practice or care home (one filter set), by id.
	ListPatients(ctx context.Context, f PatientFilter, p Page) (items []*Patient, nextCursor string, err error)
}

// PatientFilter narrows ListPatients; at least one field must be set.
type PatientFilter struct {
	PracticeID          PracticeID
	CareHomeID          CareHomeID
	RequestedPracticeID PracticeID // self-registered patients waiting for this practice
}

func quote(s string) string { return "\"" + s + "\"" }
