package booking

import (
	"context"
	"time"

	"careway/models"
)

// Invite stores a booking invitation (a triage outcome of "see face to face" that leaves the
// choice of slot to the patient) and tells the patient. Returns EINVALID for a bad window or
// service type; ECONFLICT if the id exists.
func (s *Service) Invite(ctx context.Context, inv *models.BookingInvitation) error {
	var p models.Problems
	if !inv.ServiceType.Valid() {
		p.Add("serviceType", "is not a known service type")
	}
	if inv.From.IsZero() || inv.To.IsZero() || !inv.To.After(inv.From) {
		p.Add("to", "the window needs from and to, to after from")
	} else if inv.To.Sub(inv.From) > 60*24*time.Hour {
		p.Add("to", "the window is at most 60 days")
	}
	if len(inv.Modes) == 0 {
		inv.Modes = []models.AppointmentMode{models.ModeFaceToFace}
	}
	for _, m := range inv.Modes {
		if !m.Valid() {
			p.Add("modes", "must be face_to_face, video or phone")
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	inv.Status = models.InvitationOpen
	if err := s.p.Invitations.CreateInvitation(ctx, inv); err != nil {
		return err
	}
	if s.p.Notifier != nil {
		window := " appointment between " + inv.From.UTC().Format("2 Jan") + " and " + inv.To.UTC().Format("2 Jan 2006") + "."
		msg := &models.Notification{PatientID: inv.PatientID, Kind: KindInvitation, Title: "Please book an appointment",
			Body: "Your practice asks you to book a " + string(inv.ServiceType) + window + " Choose a time in the app or call the practice."}
		carer := Text{"Please book an appointment for a resident", "The practice asks that a resident book a " + string(inv.ServiceType) + window +
			" Choose a time for them in the app or call the practice."}
		if err := s.p.Notifier.SendAbout(context.WithoutCancel(ctx), msg, carer); err != nil {
			s.p.Logger.Warn("invitation notification not stored", "patientId", string(inv.PatientID), "err", err)
		}
	}
	return nil
}

// BookInvited books r through invitation id: the slot must be of the invitation's service type,
// practice and window, in one of its modes, for its patient. The invitation is claimed first
// (open → used by r.ID) and reopened if the booking fails, so it is used at most once and never
// lost. Returns EINVALID for an unknown invitation, a slot that does not fit, or another
// patient's invitation; ECONFLICT if it was used by another booking; else as Book.
func (s *Service) BookInvited(ctx context.Context, r Request, id string) (*models.Appointment, bool, error) {
	inv, err := s.p.Invitations.InvitationByID(ctx, id)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return nil, false, invalid("invitationId", "no invitation has this id")
	} else if err != nil {
		return nil, false, err
	}
	if inv.PatientID != r.Patient.ID {
		return nil, false, invalid("invitationId", "this invitation is for another patient")
	}
	slot, err := s.p.Slots.SlotByID(ctx, r.SlotID)
	if err != nil {
		return nil, false, fieldErr(err, "slotId")
	}
	mode := r.Mode
	if mode == "" {
		mode = inv.Modes[0]
	}
	if !inv.Fits(slot, mode) {
		return nil, false, invalid("slotId", "the invitation is for a "+string(inv.ServiceType)+" appointment between "+
			inv.From.UTC().Format(time.RFC3339)+" and "+inv.To.UTC().Format(time.RFC3339)+" ("+modesText(inv.Modes)+")")
	}
	r.Mode = mode
	if r.Adjustments == (models.Adjustments{}) {
		r.Adjustments = inv.Adjustments
	}
	if r.TriageRequestID == "" {
		r.TriageRequestID = inv.TriageRequestID
	}
	if err := s.p.Invitations.UseInvitation(ctx, inv.ID, r.ID); err != nil {
		return nil, false, err
	}
	a, created, err := s.Book(ctx, r)
	if err != nil {
		if rerr := s.p.Invitations.ReopenInvitation(context.WithoutCancel(ctx), inv.ID, r.ID); rerr != nil {
			s.p.Logger.Warn("invitation not reopened", "invitationId", inv.ID, "err", rerr)
		}
		return nil, false, err
	}
	return a, created, nil
}
