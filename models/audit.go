package models

import (
	"context"
	"time"
)

// AuditEvent records one access to patient data, one sign-in attempt, or one refusal. It holds
// ids, never names, NHS numbers or readings.
type AuditEvent struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	ActorID    UserID    `json:"actorId,omitempty"` // empty for an unknown caller (failed sign-in)
	ActorRole  Role      `json:"actorRole,omitempty"`
	Action     string    `json:"action"` // e.g. "patient.read", "auth.login", "observation.create"
	PatientID  PatientID `json:"patientId,omitempty"`
	Resource   string    `json:"resource,omitempty"` // id of the thing touched, when not the patient
	Outcome    string    `json:"outcome"`            // see the Outcome constants
	Reason     string    `json:"reason,omitempty"`   // why a refusal or failure happened (a code, not data)
	RequestID  string    `json:"requestId,omitempty"`
	ClientAddr string    `json:"clientAddr,omitempty"`
}

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure" // e.g. a wrong password
	OutcomeDenied  = "denied"  // the policy refused
)

// AuditStore keeps the audit trail. Events are appended, never changed.
type AuditStore interface {
	// AppendAudit stores one event (its ID and At are set by the caller).
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// ListAuditByPatient lists the events about one patient, newest first.
	ListAuditByPatient(ctx context.Context, patient PatientID, p Page) (items []*AuditEvent, nextCursor string, err error)
	// ListAuditByActor lists the events caused by one user, newest first.
	ListAuditByActor(ctx context.Context, actor UserID, p Page) (items []*AuditEvent, nextCursor string, err error)
}
