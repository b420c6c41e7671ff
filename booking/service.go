// Package booking is Careway's booking engine: it books, cancels, reschedules and records
// attendance on top of the models store interfaces, keeps the write order that makes a booking
// safe without transactions, repairs what a crash between writes leaves (Reconcile), and sends
// notifications and reminders.
//
// # Write order of a booking
//
//  1. Claim each slot (in time order) for the appointment id: a single-document conditional
//     update, free → held. A failed claim releases the slots already claimed and answers 409.
//  2. Insert the appointment (status booked).
//  3. Confirm each slot: held → booked.
//
// A crash after 1 leaves slots held by an appointment that does not exist; after 2, held slots
// of an existing appointment. Reconcile frees the first (once Grace has passed, so a booking in
// progress is never disturbed) and confirms the second. A cancellation updates the appointment
// first and then frees its slots; a reschedule claims the new slots, moves the appointment, and
// only then frees the old ones. In every case a slot is freed only when no live appointment
// lists it, which is the one rule Reconcile applies.
package booking

import (
	"context"
	"log/slog"
	"time"

	"careway/models"
)

// Hooks are fault seams for tests: each runs between two writes and, if it returns an error,
// the operation stops there as if the process had died.
type Hooks struct {
	AfterClaim  func(models.AppointmentID) error // slots claimed, appointment not yet inserted
	AfterInsert func(models.AppointmentID) error // appointment inserted, slots not yet confirmed
}

// CallCreator creates the video call of a video appointment (item 9). Nil: no calls are made.
type CallCreator interface {
	CreateAppointmentCall(ctx context.Context, a *models.Appointment) (models.CallID, error)
}

// Params holds a Service's dependencies. Zero values get the defaults noted.
type Params struct {
	Sessions     models.SessionStore
	Slots        models.SlotStore
	Appointments models.AppointmentStore
	Policies     models.BookingPolicyStore
	Invitations  models.InvitationStore // booking invitations from triage (nil: none)
	Notifier     *Notifier              // nil: no notifications
	Calls        CallCreator            // nil: video appointments get no call
	Hooks        Hooks
	Grace        time.Duration // how long a held slot may wait for its appointment; default 2 minutes
	Logger       *slog.Logger  // default: discard
	Now          func() time.Time
}

// Service books appointments. It is safe for concurrent use.
type Service struct {
	p Params
}

// New returns a Service.
func New(p Params) *Service {
	if p.Grace <= 0 {
		p.Grace = 2 * time.Minute
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return &Service{p: p}
}

// Actor is who is changing an appointment, as the history records it.
type Actor struct {
	UserID   models.UserID
	Role     models.Role
	Practice bool // practice staff (clinician or admin of the patient's practice): no cut-offs
}

func (s *Service) change(a Actor, action, from, to, note string) models.AppointmentChange {
	return models.AppointmentChange{At: s.p.Now().UTC().Truncate(time.Millisecond), By: a.UserID, Role: a.Role, Action: action, From: from, To: to, Note: note}
}

func (s *Service) notify(ctx context.Context, a *models.Appointment, kind string) {
	if s.p.Notifier != nil {
		s.p.Notifier.AppointmentEvent(ctx, a, kind)
	}
}
