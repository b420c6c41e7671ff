package models

import (
	"context"
	"time"
)

// Invitation statuses.
const (
	InvitationOpen = "open"
	InvitationUsed = "used"
)

// BookingInvitation lets a patient (or their proxy) book one appointment of a service type in a
// date window, as a triage outcome of "see face to face" asks. Using it is a claim: open → used
// by one appointment id.
type BookingInvitation struct {
	ID              string            `json:"id"`
	PatientID       PatientID         `json:"patientId"`
	PracticeID      PracticeID        `json:"practiceId"`
	TriageRequestID TriageRequestID   `json:"triageRequestId,omitempty"`
	ServiceType     ServiceType       `json:"serviceType"`
	Modes           []AppointmentMode `json:"modes"` // the modes the patient may choose
	From            time.Time         `json:"from"`
	To              time.Time         `json:"to"`
	Adjustments     Adjustments       `json:"adjustments"` // from the triage request; travel to the booking
	Status          string            `json:"status"`
	AppointmentID   AppointmentID     `json:"appointmentId,omitempty"`
	CreatedBy       UserID            `json:"createdBy"`
	CreatedAt       time.Time         `json:"createdAt"`
}

// Fits reports whether slot s may be booked with the invitation in mode m.
func (i *BookingInvitation) Fits(s *Slot, m AppointmentMode) bool {
	if s.ServiceType != i.ServiceType || s.PracticeID != i.PracticeID || s.Start.Before(i.From) || !s.Start.Before(i.To) {
		return false
	}
	for _, v := range i.Modes {
		if v == m {
			return true
		}
	}
	return false
}

// InvitationStore keeps booking invitations.
type InvitationStore interface {
	// CreateInvitation stores an invitation. Returns ECONFLICT if the id exists.
	CreateInvitation(ctx context.Context, i *BookingInvitation) error
	// InvitationByID returns ENOTFOUND if there is none.
	InvitationByID(ctx context.Context, id string) (*BookingInvitation, error)
	// ListInvitations lists a patient's invitations, newest first.
	ListInvitations(ctx context.Context, patient PatientID, p Page) (items []*BookingInvitation, nextCursor string, err error)
	// UseInvitation marks an open invitation used by appt (or confirms appt uses it already).
	// Returns ENOTFOUND; ECONFLICT if another appointment used it.
	UseInvitation(ctx context.Context, id string, appt AppointmentID) error
	// ReopenInvitation undoes UseInvitation by appt (its booking failed); otherwise nothing.
	ReopenInvitation(ctx context.Context, id string, appt AppointmentID) error
}
