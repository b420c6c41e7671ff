package models

import (
	"crypto/rand"
	"fmt"
	"regexp"
)

// Typed identifiers keep one kind of id from being passed where another belongs.
type (
	UserID     string
	PatientID  string
	PracticeID string
	SiteID     string
	CareHomeID string

	ObservationID   string // chosen by the client (a UUID) so a retried upload stores nothing twice
	PlanID          string
	AlertID         string
	TriageRequestID string
	CallID          string
	SessionID       string // a clinician's published session of slots
	SlotID          string
	AppointmentID   string
	NotificationID  string
)

// NewID returns a random (version 4) UUID string. It is used for ids the server chooses.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("careway: crypto/rand failed: " + err.Error()) // rand.Read never fails on supported platforms
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hex form.
func IsUUID(s string) bool { return uuidPattern.MatchString(s) }

// Page asks for one page of a list. Limit is clamped by NormalLimit; Cursor is an opaque string
// returned as NextCursor by the previous page ("" for the first).
type Page struct {
	Limit  int
	Cursor string
}

// Limits on list pages (DESIGN.md: default 50, max 200).
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 200
)

// NormalLimit returns the page size to use for a requested limit.
func NormalLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageLimit
	case limit > MaxPageLimit:
		return MaxPageLimit
	}
	return limit
}
