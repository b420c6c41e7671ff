package models

import (
	"context"
	"time"
)

// CallStatus is where a video consultation is in its life.
type CallStatus string

// Call statuses: open (created; people may join) and ended (nobody may join again).
const (
	CallOpen  CallStatus = "open"
	CallEnded CallStatus = "ended"
)

// ParticipantKind is the part someone plays in a call. It decides what they may do there:
// only clinicians admit, remove and end.
type ParticipantKind string

// Participant kinds.
const (
	KindClinician ParticipantKind = "clinician"
	KindPatient   ParticipantKind = "patient"
	KindCareStaff ParticipantKind = "carehome_staff" // staff of the patient's home, with the join_calls scope
	KindGuest     ParticipantKind = "guest"          // a carer or interpreter invited by a clinician
)

// GuestRole says why a guest is in a call.
type GuestRole string

// Guest roles.
const (
	GuestCarer       GuestRole = "carer"
	GuestInterpreter GuestRole = "interpreter"
)

// Valid reports whether r is carer or interpreter.
func (r GuestRole) Valid() bool { return r == GuestCarer || r == GuestInterpreter }

// Call is a video consultation with one patient, run by Careway's media server.
type Call struct {
	ID              CallID          `json:"id"`
	PatientID       PatientID       `json:"patientId"`
	PracticeID      PracticeID      `json:"practiceId"`
	TriageRequestID TriageRequestID `json:"triageRequestId,omitempty"`
	AppointmentID   AppointmentID   `json:"appointmentId,omitempty"`
	CreatedBy       UserID          `json:"createdBy"`
	Status          CallStatus      `json:"status"`
	// Participants lists everyone who has been given a ticket to the call, once per person.
	Participants []CallParticipant `json:"participants"`
	Quality      *CallQuality      `json:"quality,omitempty"` // set when the call ends
	CreatedAt    time.Time         `json:"createdAt"`
	EndedAt      *time.Time        `json:"endedAt,omitempty"`
}

// CallParticipant is one person who was let into a call (given a ticket).
type CallParticipant struct {
	UserID  UserID          `json:"userId"` // for a guest, "guest:" + the invite's id
	Kind    ParticipantKind `json:"kind"`
	Name    string          `json:"name"`
	FirstAt time.Time       `json:"firstAt"` // first ticket
}

// CallQuality is the media server's record of a call when its room closed: who took part,
// when, and how the media was for each of them.
type CallQuality struct {
	StartedAt    time.Time            `json:"startedAt"`
	EndedAt      time.Time            `json:"endedAt"`
	EndedBy      UserID               `json:"endedBy,omitempty"` // the clinician who ended it, if one did
	Participants []ParticipantQuality `json:"participants"`
}

// ParticipantQuality is one participant's part in a call and the averages and worst values of
// their media ("up" is what they sent, "down" what they received).
type ParticipantQuality struct {
	UserID         UserID          `json:"userId"`
	Kind           ParticipantKind `json:"kind"`
	JoinedAt       time.Time       `json:"joinedAt"`
	LeftAt         time.Time       `json:"leftAt"`
	LeftReason     string          `json:"leftReason,omitempty"`
	Admitted       bool            `json:"admitted"`
	Samples        int             `json:"samples"`
	AvgUpKbps      float64         `json:"avgUpKbps"`
	AvgDownKbps    float64         `json:"avgDownKbps"`
	AvgUpLossPct   float64         `json:"avgUpLossPct"`
	MaxUpLossPct   float64         `json:"maxUpLossPct"`
	AvgDownLossPct float64         `json:"avgDownLossPct"`
	MaxDownLossPct float64         `json:"maxDownLossPct"`
	AvgRTTMs       float64         `json:"avgRttMs"`
	MaxRTTMs       float64         `json:"maxRttMs"`
	AvgJitterMs    float64         `json:"avgJitterMs"`
	MaxJitterMs    float64         `json:"maxJitterMs"`
}

// CallInvite is a single-use link for a guest to join a call without an account. Only a hash
// of its secret is stored.
type CallInvite struct {
	ID         string     `json:"id"`
	CallID     CallID     `json:"callId"`
	Hash       string     `json:"-"` // hex SHA-256 of the secret in the link
	Role       GuestRole  `json:"role"`
	Name       string     `json:"name"` // shown to the others in the call
	CreatedBy  UserID     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	RedeemedAt *time.Time `json:"redeemedAt,omitempty"`
	// GuestHash is the hex SHA-256 of the guest token handed out at redemption: it lets the
	// guest fetch further socket tickets for this call only (after a network change), until
	// GuestUntil or the call's end.
	GuestHash  string     `json:"-"`
	GuestUntil *time.Time `json:"-"`
}

// GuestUserID is the participant id of the guest who redeems an invite.
func (i *CallInvite) GuestUserID() UserID { return UserID("guest:" + i.ID) }

// CallTicket lets one participant open the signaling socket of one call, once, within its
// short life. Only a hash of the ticket is stored.
type CallTicket struct {
	Hash      string          // hex SHA-256 of the ticket; the key
	CallID    CallID          //
	UserID    UserID          // who it was issued to
	Kind      ParticipantKind //
	Name      string          // display name in the call
	IssuedAt  time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// CallStore keeps calls, their guest invites and their socket tickets.
type CallStore interface {
	// CreateCall stores a new call. Returns ECONFLICT if the id exists.
	CreateCall(ctx context.Context, c *Call) error
	// CallByID returns ENOTFOUND if there is no such call.
	CallByID(ctx context.Context, id CallID) (*Call, error)
	// OpenCallFor returns the open call created for an appointment or a triage request (set
	// exactly one), the most recent if several. Returns ENOTFOUND if there is none.
	OpenCallFor(ctx context.Context, appointment AppointmentID, request TriageRequestID) (*Call, error)
	// ListOpenCalls returns the open calls of a practice, newest first, at most max.
	ListOpenCalls(ctx context.Context, practice PracticeID, max int) ([]*Call, error)
	// AddCallParticipant records that p was given a ticket (once per UserID; later calls
	// change nothing). Returns ENOTFOUND; ECONFLICT if the call has ended.
	AddCallParticipant(ctx context.Context, id CallID, p CallParticipant) error
	// SaveCallQuality records the summary of a room that closed without the call ending
	// (everyone left, or the server stopped); the call stays open. Returns ENOTFOUND.
	SaveCallQuality(ctx context.Context, id CallID, q *CallQuality) error
	// EndCall marks an open call ended at now with its quality summary (q may be nil).
	// Returns ENOTFOUND; ECONFLICT if it had already ended.
	EndCall(ctx context.Context, id CallID, q *CallQuality, now time.Time) (*Call, error)

	// CreateCallInvite stores an invite. Returns ECONFLICT if the id or hash exists.
	CreateCallInvite(ctx context.Context, i *CallInvite) error
	// ListCallInvites returns a call's invites, oldest first.
	ListCallInvites(ctx context.Context, call CallID) ([]*CallInvite, error)
	// RedeemCallInvite marks the invite with this hash redeemed at now, binds the guest token
	// (its hash, valid until guestUntil) to it, and returns it. Of any number of concurrent
	// calls exactly one succeeds. Returns ENOTFOUND if no invite has the hash or it has
	// expired; ECONFLICT if it was redeemed already.
	RedeemCallInvite(ctx context.Context, hash, guestHash string, guestUntil, now time.Time) (*CallInvite, error)
	// CallInviteByGuest returns the redeemed invite whose guest token has this hash. Returns
	// ENOTFOUND if there is none or the guest token has expired at now.
	CallInviteByGuest(ctx context.Context, guestHash string, now time.Time) (*CallInvite, error)

	// CreateCallTicket stores a ticket. Returns ECONFLICT if the hash exists.
	CreateCallTicket(ctx context.Context, t *CallTicket) error
	// ConsumeCallTicket marks the unused, unexpired ticket with this hash for this call used
	// at now and returns it. Of any number of concurrent calls exactly one succeeds. Returns
	// ENOTFOUND if no ticket of this call has the hash or it has expired; ECONFLICT if it was
	// used already.
	ConsumeCallTicket(ctx context.Context, hash string, call CallID, now time.Time) (*CallTicket, error)
	// DeleteExpiredCallTickets removes tickets that expired before the given time.
	DeleteExpiredCallTickets(ctx context.Context, before time.Time) (int64, error)
}
