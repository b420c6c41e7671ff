package signaling

import (
	"encoding/json"
	"time"

	"github.com/pion/webrtc/v3"
)

// Envelope is every message on the socket, in both directions: {"type": "...", "data": {...}}.
type Envelope struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Message types the client sends.
const (
	TypeJoin       = "join"
	TypeAnswer     = "answer"
	TypeCandidate  = "candidate" // both directions
	TypeRestartICE = "restartIce"
	TypeMute       = "mute"
	TypeAudioOnly  = "audioOnly"
	TypeAdmit      = "admit"
	TypeRemove     = "remove"
	TypeMessage    = "message" // both directions
	TypeEnd        = "end"
	TypeLeave      = "leave"
)

// Message types the server sends.
const (
	TypeJoined             = "joined"
	TypeOffer              = "offer"
	TypeAdmitted           = "admitted"
	TypeParticipantJoined  = "participantJoined"
	TypeParticipantUpdated = "participantUpdated"
	TypeParticipantLeft    = "participantLeft"
	TypeQuality            = "quality"
	TypeCheckResult        = "checkResult"
	TypeRemoved            = "removed"
	TypeEnded              = "ended"
	TypeError              = "error"
)

// Error codes carried by an "error" message.
const (
	ErrBadJSON       = "bad_json"       // not an envelope, or data of the wrong shape
	ErrTooLarge      = "too_large"      // the message is over Limits.MaxMessageBytes
	ErrRateLimited   = "rate_limited"   // too many messages; the extra ones were dropped
	ErrUnknownType   = "unknown_type"   // no such message type
	ErrInvalid       = "invalid"        // a field is missing or out of range
	ErrBadSDP        = "bad_sdp"        // the answer could not be applied
	ErrBadCandidate  = "bad_candidate"  // the candidate could not be added
	ErrOutOfOrder    = "out_of_order"   // e.g. an answer with no offer outstanding, or join twice
	ErrForbidden     = "forbidden"      // the role may not do this (a patient trying to admit)
	ErrNotFound      = "not_found"      // no such participant in this call
	ErrRoomFull      = "room_full"      // the call already has Limits.MaxParticipants
	ErrResumeExpired = "resume_expired" // the resume token is unknown or too old
	ErrClosed        = "closed"         // the call has ended
	ErrInternal      = "internal"
)

// Role is what a participant is in a call. The socket handler decides it; nothing the client
// sends can change it.
type Role string

// Roles in a call. Clinicians are admitted at once; everyone else waits to be admitted.
const (
	RoleClinician     Role = "clinician"
	RolePatient       Role = "patient"
	RoleCareHomeStaff Role = "carehome_staff"
	RoleGuest         Role = "guest"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleClinician, RolePatient, RoleCareHomeStaff, RoleGuest:
		return true
	}
	return false
}

// JoinData is the client's first message. ResumeToken, when set, asks to take back a place
// held since a dropped socket (within Limits.ResumeGrace); NewPeer says the client lost its
// peer connection too, so media starts afresh instead of by ICE restart.
type JoinData struct {
	ResumeToken string `json:"resumeToken,omitempty"`
	NewPeer     bool   `json:"newPeer,omitempty"` // resuming with a new peer connection (the old one was lost)
	AudioOnly   bool   `json:"audioOnly,omitempty"`
}

// JoinedData answers join (and resume).
type JoinedData struct {
	ParticipantID      string             `json:"participantId"`
	Role               Role               `json:"role"`
	Admitted           bool               `json:"admitted"`
	Resumed            bool               `json:"resumed"`
	ResumeToken        string             `json:"resumeToken"`
	ResumeGraceSeconds int                `json:"resumeGraceSeconds"`
	ICEServers         []webrtc.ICEServer `json:"iceServers"`
	Participants       []ParticipantInfo  `json:"participants"`
	Check              bool               `json:"check,omitempty"` // true in a pre-call check room
}

// SDPData carries an offer (server → client) or an answer (client → server).
type SDPData struct {
	SDP string `json:"sdp"`
}

// MuteData says the sender muted or unmuted its microphone ("audio") or camera ("video").
type MuteData struct {
	Kind  string `json:"kind"`
	Muted bool   `json:"muted"`
}

// AudioOnlyData switches audio-only mode: the server stops forwarding video to the sender.
type AudioOnlyData struct {
	Enabled bool `json:"enabled"`
}

// TargetData names another participant (admit, remove).
type TargetData struct {
	ParticipantID string `json:"participantId"`
}

// MessageData is a text message. The client sends {to, text}; the server delivers
// {from, fromRole, text, sentAt}.
type MessageData struct {
	To       string    `json:"to,omitempty"`
	From     string    `json:"from,omitempty"`
	FromRole Role      `json:"fromRole,omitempty"`
	Text     string    `json:"text"`
	SentAt   time.Time `json:"sentAt,omitzero"`
}

// Participant states.
const (
	StateConnecting   = "connecting"   // joined, media not yet flowing
	StateConnected    = "connected"    // media connected
	StateReconnecting = "reconnecting" // socket or media lost; the place is held for the grace period
)

// ParticipantInfo is what others see of a participant.
type ParticipantInfo struct {
	ID         string `json:"id"`
	Role       Role   `json:"role"`
	Name       string `json:"name"`
	Admitted   bool   `json:"admitted"`
	State      string `json:"state"`
	AudioMuted bool   `json:"audioMuted"`
	VideoMuted bool   `json:"videoMuted"`
	AudioOnly  bool   `json:"audioOnly"`
}

// ParticipantEvent carries one participant (participantJoined, participantUpdated).
type ParticipantEvent struct {
	Participant ParticipantInfo `json:"participant"`
}

// Reasons a participant left.
const (
	LeftLeft    = "left"    // said leave, or its socket closed normally
	LeftRemoved = "removed" // a clinician removed it
	LeftTimeout = "timeout" // it did not come back within the grace period
	LeftEnded   = "ended"
)

// LeftData says a participant left.
type LeftData struct {
	ParticipantID string `json:"participantId"`
	Reason        string `json:"reason"`
}

// EndedData says the call ended; By is the participant id of the clinician who ended it (empty
// when the server ended it).
type EndedData struct {
	By string `json:"by,omitempty"`
}

// ErrorData is an error message: the request was refused and nothing changed.
type ErrorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	For     string `json:"for,omitempty"` // the type of the message refused
}

// QualityData is pushed every Limits.QualityInterval: to clinicians with everyone, to other
// participants with media with their own entry only.
type QualityData struct {
	Participants []Quality `json:"participants"`
}

// Quality is one participant's media quality over the last interval, as the server sees it.
// Up is what the participant sends to the server, down what the server sends to it.
type Quality struct {
	ParticipantID string  `json:"participantId"`
	UpKbps        float64 `json:"upKbps"`
	DownKbps      float64 `json:"downKbps"`
	UpLossPct     float64 `json:"upLossPct"`   // from gaps in the sequence numbers received
	DownLossPct   float64 `json:"downLossPct"` // from the participant's receiver reports
	JitterMs      float64 `json:"jitterMs"`    // interarrival jitter of its audio (video if none)
	RTTMs         float64 `json:"rttMs"`       // from its receiver reports; 0 until known
}

// CheckResultData reports a pre-call check: the same measures as Quality, for the caller.
type CheckResultData struct {
	Quality
	AudioPackets uint64 `json:"audioPackets"` // packets received from the client so far
	VideoPackets uint64 `json:"videoPackets"`
}
