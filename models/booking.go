package models

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
)

// DerivedID returns a UUID-shaped id computed from parts: the same parts always give the same id,
// so a write repeated after a crash (a session's slots, a reminder) collides with the first
// instead of making a second.
func DerivedID(parts ...string) string {
	h := sha256.Sum256([]byte("careway\x00" + strings.Join(parts, "\x00")))
	h[6] = (h[6] & 0x0f) | 0x50 // name-based (version 5 layout)
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// AppointmentMode is how a patient is seen.
type AppointmentMode string

// The modes of the API contract.
const (
	ModeFaceToFace AppointmentMode = "face_to_face"
	ModeVideo      AppointmentMode = "video"
	ModePhone      AppointmentMode = "phone"
)

// Valid reports whether m is one of the three modes.
func (m AppointmentMode) Valid() bool {
	return m == ModeFaceToFace || m == ModeVideo || m == ModePhone
}

// ServiceType is what a session offers.
type ServiceType string

// The service types a practice can publish.
const (
	ServiceGP         ServiceType = "gp"
	ServiceNurse      ServiceType = "nurse"
	ServiceBloodTest  ServiceType = "blood_test"
	ServiceLTCReview  ServiceType = "ltc_review" // long-term-condition review
	ServiceMedication ServiceType = "medication_review"
	ServiceVaccine    ServiceType = "vaccination"
)

// ServiceTypes lists every service type in a stable order.
var ServiceTypes = []ServiceType{ServiceGP, ServiceNurse, ServiceBloodTest, ServiceLTCReview, ServiceMedication, ServiceVaccine}

// Valid reports whether t is a known service type.
func (t ServiceType) Valid() bool {
	for _, v := range ServiceTypes {
		if t == v {
			return true
		}
	}
	return false
}

// Session statuses.
const (
	SessionActive    = "active"
	SessionCancelled = "cancelled"
)

// Limits on sessions.
const (
	MinSlotMinutes    = 5
	MaxSlotMinutes    = 120
	MaxSessionLength  = 12 * time.Hour
	MaxSessionAheadBy = 366 * 24 * time.Hour // how far ahead a session may be published
)

// Session is a clinician's published block of time at a site, cut into slots of SlotMinutes.
type Session struct {
	ID          SessionID         `json:"id"`
	PracticeID  PracticeID        `json:"practiceId"`
	SiteID      SiteID            `json:"siteId"`
	ClinicianID UserID            `json:"clinicianId"`
	ServiceType ServiceType       `json:"serviceType"`
	Modes       []AppointmentMode `json:"modes"`
	Start       time.Time         `json:"start"`
	End         time.Time         `json:"end"`
	SlotMinutes int               `json:"slotMinutes"`
	SlotCount   int               `json:"slotCount"`
	Status      string            `json:"status"` // active | cancelled
	CancelNote  string            `json:"cancelReason,omitempty"`
	CreatedBy   UserID            `json:"createdBy"`
	CreatedAt   time.Time         `json:"createdAt"`
	UpdatedAt   time.Time         `json:"updatedAt"`
}

// Validate checks a session before it is stored (times must be whole minutes, the session a
// whole number of slots, and in the future).
func (s *Session) Validate(now time.Time) error {
	var p Problems
	if s.SiteID == "" {
		p.Add("siteId", "is required")
	}
	if s.ClinicianID == "" {
		p.Add("clinicianId", "is required")
	}
	if !s.ServiceType.Valid() {
		p.Add("serviceType", "must be one of gp, nurse, blood_test, ltc_review, medication_review, vaccination")
	}
	if len(s.Modes) == 0 {
		p.Add("modes", "must name at least one of face_to_face, video, phone")
	}
	seen := map[AppointmentMode]bool{}
	for _, m := range s.Modes {
		if !m.Valid() {
			p.Add("modes", "unknown mode "+quote(string(m))+"; use face_to_face, video or phone")
		} else if seen[m] {
			p.Add("modes", "mode "+string(m)+" is listed twice")
		}
		seen[m] = true
	}
	if s.SlotMinutes < MinSlotMinutes || s.SlotMinutes > MaxSlotMinutes {
		p.Add("slotMinutes", "must be from 5 to 120")
	}
	switch {
	case s.Start.IsZero():
		p.Add("start", "is required")
	case s.Start.Truncate(time.Minute) != s.Start:
		p.Add("start", "must be a whole minute")
	case !s.Start.After(now):
		p.Add("start", "must be in the future")
	case s.Start.Sub(now) > MaxSessionAheadBy:
		p.Add("start", "must be within a year")
	}
	switch {
	case s.End.IsZero():
		p.Add("end", "is required")
	case !s.End.After(s.Start):
		p.Add("end", "must be after start")
	case s.End.Sub(s.Start) > MaxSessionLength:
		p.Add("end", "a session lasts at most 12 hours")
	case s.SlotMinutes >= MinSlotMinutes && s.End.Sub(s.Start)%(time.Duration(s.SlotMinutes)*time.Minute) != 0:
		p.Add("end", "the session must be a whole number of slots")
	}
	return p.Err()
}

// Slot statuses. A slot is free, held (claimed by an appointment that is being written),
// booked, or cancelled with its session.
const (
	SlotFree      = "free"
	SlotHeld      = "held"
	SlotBooked    = "booked"
	SlotCancelled = "cancelled"
)

// Slot is one bookable time of a session. Mode is the mode asked for in a search (or the first
// the session allows); Modes are all it allows.
type Slot struct {
	ID            SlotID            `json:"id"`
	SessionID     SessionID         `json:"sessionId"`
	PracticeID    PracticeID        `json:"practiceId"`
	SiteID        SiteID            `json:"siteId"`
	ClinicianID   UserID            `json:"clinicianId"`
	ServiceType   ServiceType       `json:"serviceType"`
	Mode          AppointmentMode   `json:"mode"`
	Modes         []AppointmentMode `json:"modes"`
	Start         time.Time         `json:"start"`
	End           time.Time         `json:"end"`
	StepFree      bool              `json:"stepFreeAccess"` // the site's, copied for search
	Status        string            `json:"status"`
	AppointmentID AppointmentID     `json:"-"` // the holder while held or booked; never shown
	HeldAt        time.Time         `json:"-"`
}

// Allows reports whether the slot may be booked in mode m.
func (s *Slot) Allows(m AppointmentMode) bool {
	for _, v := range s.Modes {
		if v == m {
			return true
		}
	}
	return false
}

// Appointment statuses.
const (
	ApptBooked         = "booked"
	ApptArrived        = "arrived"
	ApptFulfilled      = "fulfilled"
	ApptCancelled      = "cancelled"
	ApptNoShow         = "noshow"
	ApptNeedsRebooking = "needs_rebooking" // its session was cancelled, or its slot was lost
)

// Adjustments are the reasonable adjustments that travel with a booking.
type Adjustments struct {
	Interpreter    bool   `json:"interpreter,omitempty"`
	Language       string `json:"language,omitempty"` // with Interpreter: the language, e.g. "Polish"
	BSL            bool   `json:"bsl,omitempty"`      // a British Sign Language interpreter
	StepFree       bool   `json:"stepFree,omitempty"` // step-free access is needed
	Longer         bool   `json:"longerAppointment,omitempty"`
	CarerAttending bool   `json:"carerAttending,omitempty"`
	Notes          string `json:"notes,omitempty"`
}

// Validate checks adjustments, with field names under prefix ("" for none).
func (a *Adjustments) Validate(prefix string, p *Problems) {
	field := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "." + name
	}
	a.Language = strings.TrimSpace(a.Language)
	if a.Interpreter && a.Language == "" {
		p.Add(field("language"), "is required with an interpreter")
	}
	if !a.Interpreter && a.Language != "" {
		p.Add(field("language"), "is given only with interpreter: true")
	}
	if len(a.Language) > 60 {
		p.Add(field("language"), "must be at most 60 characters")
	}
	if len(a.Notes) > 500 {
		p.Add(field("notes"), "must be at most 500 characters")
	}
}

// AppointmentChange is one entry of an appointment's history.
type AppointmentChange struct {
	At     time.Time `json:"at"`
	By     UserID    `json:"by,omitempty"` // empty for the system (reconciler, session cancelled)
	Role   Role      `json:"role,omitempty"`
	Action string    `json:"action"` // booked, cancelled, rescheduled, arrived, fulfilled, noshow, needs_rebooking
	From   string    `json:"from,omitempty"`
	To     string    `json:"to"`
	Note   string    `json:"note,omitempty"`
}

// Appointment is a booking of one slot, or two consecutive slots of the same clinician for a
// longer appointment. SlotIDs lists them in time order; SlotID is the first.
type Appointment struct {
	ID              AppointmentID       `json:"id"`
	PatientID       PatientID           `json:"patientId"`
	PracticeID      PracticeID          `json:"practiceId"`
	SlotID          SlotID              `json:"slotId"`
	SlotIDs         []SlotID            `json:"slotIds"`
	SessionID       SessionID           `json:"sessionId"`
	SiteID          SiteID              `json:"siteId"`
	ClinicianID     UserID              `json:"clinicianId"`
	ServiceType     ServiceType         `json:"serviceType"`
	Mode            AppointmentMode     `json:"mode"`
	Start           time.Time           `json:"start"`
	End             time.Time           `json:"end"`
	Reason          string              `json:"reason"`
	Adjustments     Adjustments         `json:"adjustments"`
	Status          string              `json:"status"`
	CancelReason    string              `json:"cancelReason,omitempty"`
	CallID          CallID              `json:"callId,omitempty"`
	TriageRequestID TriageRequestID     `json:"triageRequestId,omitempty"`
	BookedBy        UserID              `json:"bookedBy"`
	BookedByRole    Role                `json:"bookedByRole"`
	History         []AppointmentChange `json:"history"`
	CreatedAt       time.Time           `json:"createdAt"`
	UpdatedAt       time.Time           `json:"updatedAt"`
}

// Holds reports whether the appointment, in its current state, keeps slot id taken: a cancelled
// or rebooking-needed appointment holds nothing.
func (a *Appointment) Holds(id SlotID) bool {
	if a.Status == ApptCancelled || a.Status == ApptNeedsRebooking {
		return false
	}
	for _, s := range a.SlotIDs {
		if s == id {
			return true
		}
	}
	return false
}

// BookingPolicy is what a practice sets for booking: how much notice a booking needs and until
// when before the start a patient or proxy may cancel themselves.
type BookingPolicy struct {
	PracticeID         PracticeID `json:"practiceId"`
	MinNoticeMinutes   int        `json:"minNoticeMinutes"`
	CancelCutoffMinute int        `json:"cancelCutoffMinutes"`
	UpdatedAt          time.Time  `json:"updatedAt"`
}

// DefaultBookingPolicy applies to a practice that has not set its own.
func DefaultBookingPolicy(p PracticeID) *BookingPolicy {
	return &BookingPolicy{PracticeID: p, MinNoticeMinutes: 60, CancelCutoffMinute: 120}
}

// Validate checks a policy (both at most 14 days).
func (b *BookingPolicy) Validate() error {
	var p Problems
	if b.MinNoticeMinutes < 0 || b.MinNoticeMinutes > 14*24*60 {
		p.Add("minNoticeMinutes", "must be from 0 to 20160 (14 days)")
	}
	if b.CancelCutoffMinute < 0 || b.CancelCutoffMinute > 14*24*60 {
		p.Add("cancelCutoffMinutes", "must be from 0 to 20160 (14 days)")
	}
	return p.Err()
}

// SessionFilter narrows ListSessions; PracticeID is required.
type SessionFilter struct {
	PracticeID  PracticeID
	ClinicianID UserID
	From, To    time.Time // sessions starting in [From, To); zero: open
}

// SlotQuery is a search for free slots. PracticeID is required; NotBefore is the earliest start
// (now plus the practice's minimum notice, or a later From).
type SlotQuery struct {
	PracticeID   PracticeID
	SiteID       SiteID
	ClinicianID  UserID
	Mode         AppointmentMode
	ServiceType  ServiceType
	NotBefore    time.Time
	Before       time.Time // zero: open
	StepFreeOnly bool
}

// SessionStore keeps sessions and generates their slots.
type SessionStore interface {
	// CreateSession stores a session and its slots (status free). Returns ECONFLICT if the
	// clinician has an active session overlapping it, or if the id exists.
	CreateSession(ctx context.Context, s *Session, stepFree bool) error
	// SessionByID returns ENOTFOUND if there is no such session.
	SessionByID(ctx context.Context, id SessionID) (*Session, error)
	// ListSessions lists a practice's sessions by start. Returns EINVALID for a bad cursor.
	ListSessions(ctx context.Context, f SessionFilter, p Page) (items []*Session, nextCursor string, err error)
	// CancelSession marks an active session cancelled and every slot of it cancelled, and
	// returns the ids of the appointments that held its slots. Cancelling a cancelled session
	// repeats the slot step (so a crash part-way is repaired by cancelling again). Returns
	// ENOTFOUND.
	CancelSession(ctx context.Context, id SessionID, reason string, now time.Time) (*Session, []AppointmentID, error)
}

// SlotStore keeps slots and their atomic claims. A claim is a single-document conditional
// update: the slot goes from free to held by one appointment id, or the call fails.
type SlotStore interface {
	// SlotByID returns ENOTFOUND if there is no such slot.
	SlotByID(ctx context.Context, id SlotID) (*Slot, error)
	// SearchSlots lists free slots matching q by start then id. Returns EINVALID for a bad cursor.
	SearchSlots(ctx context.Context, q SlotQuery, p Page) (items []*Slot, nextCursor string, err error)
	// NextSlot returns the slot of the same session that starts when id ends. Returns ENOTFOUND.
	NextSlot(ctx context.Context, id SlotID) (*Slot, error)
	// ClaimSlot holds a free slot for appt (or confirms that appt already holds it). Returns
	// ENOTFOUND; ECONFLICT if another appointment holds it or it is cancelled.
	ClaimSlot(ctx context.Context, id SlotID, appt AppointmentID, now time.Time) (*Slot, error)
	// ConfirmSlot marks a slot held by appt as booked. Returns ECONFLICT if appt does not hold it.
	ConfirmSlot(ctx context.Context, id SlotID, appt AppointmentID) error
	// ReleaseSlot frees a slot held or booked by appt; a slot appt does not hold is left alone
	// (no error), so a release can be repeated.
	ReleaseSlot(ctx context.Context, id SlotID, appt AppointmentID) error
	// ListClaimedSlots lists held or booked slots claimed before heldBefore, by id, for the
	// reconciler, in pages of the store's choosing (p.Cursor is used, p.Limit is not).
	ListClaimedSlots(ctx context.Context, heldBefore time.Time, p Page) (items []*Slot, nextCursor string, err error)
}

// AppointmentFilter narrows ListAppointments. One of PatientID, PracticeID, ClinicianID or
// Statuses is required (Statuses alone: the reconciler and the reminder scheduler).
type AppointmentFilter struct {
	PatientID    PatientID
	PracticeID   PracticeID
	ClinicianID  UserID
	Statuses     []string  // empty: all
	From, To     time.Time // appointments starting in [From, To)
	UpdatedSince time.Time // for change feeds: appointments updated at or after this (sorted by updatedAt)
}

// AppointmentStore keeps appointments.
type AppointmentStore interface {
	// CreateAppointment stores a new appointment. Returns ECONFLICT if the id exists.
	CreateAppointment(ctx context.Context, a *Appointment) error
	// AppointmentByID returns ENOTFOUND if there is no such appointment.
	AppointmentByID(ctx context.Context, id AppointmentID) (*Appointment, error)
	// AppointmentsByIDs returns the appointments with the given ids that exist, by id (the
	// reconciler's bulk read). Ids with no appointment, and empty ids, are simply absent.
	AppointmentsByIDs(ctx context.Context, ids []AppointmentID) (map[AppointmentID]*Appointment, error)
	// ListAppointments lists appointments by start then id (by updatedAt then id when
	// UpdatedSince is set). Returns EINVALID without a filter or for a bad cursor.
	ListAppointments(ctx context.Context, f AppointmentFilter, p Page) (items []*Appointment, nextCursor string, err error)
	// UpdateAppointment applies ch to an appointment whose status is one of ifStatus, setting
	// Status to ch.To, appending ch to its history and applying set (nil: nothing more).
	// Returns ENOTFOUND; ECONFLICT if its status is not one of ifStatus.
	UpdateAppointment(ctx context.Context, id AppointmentID, ifStatus []string, ch AppointmentChange, set *AppointmentUpdate) (*Appointment, error)
}

// AppointmentUpdate lists the fields an UpdateAppointment may change besides the status.
type AppointmentUpdate struct {
	CancelReason *string
	CallID       *CallID
	// A reschedule: the new slots and their times.
	Slots *Reslot
}

// Reslot moves an appointment to other slots.
type Reslot struct {
	SlotIDs     []SlotID
	SessionID   SessionID
	SiteID      SiteID
	ClinicianID UserID
	Mode        AppointmentMode
	Start, End  time.Time
	// Adjustments, when set, replace the appointment's (needs recorded on the patient since
	// the booking are added when it moves).
	Adjustments *Adjustments
}

// BookingPolicyStore keeps the practices' booking policies.
type BookingPolicyStore interface {
	// BookingPolicy returns the practice's policy, or DefaultBookingPolicy if it has none.
	BookingPolicy(ctx context.Context, p PracticeID) (*BookingPolicy, error)
	// SetBookingPolicy stores a policy.
	SetBookingPolicy(ctx context.Context, b *BookingPolicy) error
}

// Notification is one message in a user's inbox: to one account (UserID), or to a patient
// (PatientID: every account of that patient sees it). A copy for a care-home carer is to the
// carer's account and names the resident it is about (ResidentID), by id only.
type Notification struct {
	ID            NotificationID `json:"id"`
	UserID        UserID         `json:"userId,omitempty"`
	PatientID     PatientID      `json:"patientId,omitempty"`
	ResidentID    PatientID      `json:"residentId,omitempty"`
	Kind          string         `json:"kind"` // booking_confirmed, booking_changed, booking_cancelled, needs_rebooking, reminder_24h, reminder_2h, booking_invitation
	Title         string         `json:"title"`
	Body          string         `json:"body"`
	AppointmentID AppointmentID  `json:"appointmentId,omitempty"`
	CreatedAt     time.Time      `json:"createdAt"`
	ReadAt        *time.Time     `json:"readAt,omitempty"`
}

// NotificationStore keeps inboxes.
type NotificationStore interface {
	// CreateNotification stores a notification. With a non-empty ID that exists already it does
	// nothing and returns ECONFLICT (reminders use fixed ids so each is sent once).
	CreateNotification(ctx context.Context, n *Notification) error
	// ListNotifications lists the inbox of a user (and of the patient the user is), newest first.
	ListNotifications(ctx context.Context, user UserID, patient PatientID, p Page) (items []*Notification, nextCursor string, err error)
	// MarkNotificationRead marks one read. Returns ENOTFOUND if it is not in that inbox.
	MarkNotificationRead(ctx context.Context, id NotificationID, user UserID, patient PatientID, now time.Time) (*Notification, error)
}

// LeaseStore hands out named leases, held by one holder until they expire: one node at a time
// runs a scheduler.
type LeaseStore interface {
	// AcquireLease takes or renews the lease name for holder until now+ttl. It returns false
	// (and no error) while another holder has it.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseLease gives a lease up if holder has it.
	ReleaseLease(ctx context.Context, name, holder string) error
}
