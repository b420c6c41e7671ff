package booking

import (
	"context"
	"strings"
	"time"

	"careway/models"
)

// Cancel cancels an appointment and frees its slots at once. Patients and proxies may cancel
// only until the practice's cut-off before the start; the practice at any time. Returns
// ENOTFOUND; EFORBIDDEN inside the cut-off; ECONFLICT if it is not booked (or awaiting
// rebooking) any more; EINVALID without a reason.
func (s *Service) Cancel(ctx context.Context, a *models.Appointment, reason string, by Actor) (*models.Appointment, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return nil, invalid("reason", "is required, at most 500 characters")
	}
	if err := s.withinCutoff(ctx, a, by); err != nil {
		return nil, err
	}
	upd, err := s.p.Appointments.UpdateAppointment(ctx, a.ID, []string{models.ApptBooked, models.ApptNeedsRebooking},
		s.change(by, "cancelled", a.Status, models.ApptCancelled, reason), &models.AppointmentUpdate{CancelReason: &reason})
	if err != nil {
		return nil, err
	}
	s.release(context.WithoutCancel(ctx), upd.SlotIDs, upd.ID)
	s.notify(ctx, upd, KindCancelled)
	return upd, nil
}

// withinCutoff refuses a patient's or proxy's change inside the practice's cut-off.
func (s *Service) withinCutoff(ctx context.Context, a *models.Appointment, by Actor) error {
	if by.Practice {
		return nil
	}
	pol, err := s.p.Policies.BookingPolicy(ctx, a.PracticeID)
	if err != nil {
		return err
	}
	if s.p.Now().After(a.Start.Add(-time.Duration(pol.CancelCutoffMinute) * time.Minute)) {
		return models.Errorf(models.EFORBIDDEN, "It is too close to the appointment to change it here; please call the practice.")
	}
	return nil
}

// Reschedule moves a booked appointment to another slot (and its successor for a longer
// appointment): it claims the new slots first, moves the appointment, and only then frees the
// old ones, so if the new slot is gone the old booking stands. Returns as Book, plus ECONFLICT
// if the appointment is not booked and EFORBIDDEN inside the cut-off for patients and proxies.
func (s *Service) Reschedule(ctx context.Context, a *models.Appointment, p *models.Patient, slot models.SlotID, mode models.AppointmentMode, by Actor) (*models.Appointment, error) {
	if a.Status != models.ApptBooked && a.Status != models.ApptNeedsRebooking {
		return nil, models.Errorf(models.ECONFLICT, "Only a booked appointment can be rescheduled.")
	}
	if err := s.withinCutoff(ctx, a, by); err != nil && a.Status == models.ApptBooked {
		return nil, err
	}
	if mode == "" {
		mode = a.Mode
	}
	// Needs recorded on the patient since the booking travel with the move (a longer
	// appointment recorded meanwhile takes two slots at the new time), as they would with a new
	// booking; the appointment's own needs are never dropped.
	adj := a.Adjustments.Merge(p.CurrentAdjustments().Adjustments)
	slots, mode, err := s.bookable(ctx, a.ID, p, slot, mode, adj, by)
	if err != nil {
		return nil, err
	}
	for _, sl := range slots {
		for _, old := range a.SlotIDs {
			if sl.ID == old {
				return nil, invalid("slotId", "the appointment is in this slot already")
			}
		}
	}
	if err := s.claim(ctx, slots, a.ID, s.p.Now().UTC()); err != nil {
		return nil, err
	}
	if err := s.hook(s.p.Hooks.AfterClaim, a.ID); err != nil {
		return nil, err
	}
	first, last := slots[0], slots[len(slots)-1]
	re := &models.Reslot{SessionID: first.SessionID, SiteID: first.SiteID, ClinicianID: first.ClinicianID, Mode: mode, Start: first.Start, End: last.End}
	if adj != a.Adjustments {
		re.Adjustments = &adj
	}
	newIDs := make([]models.SlotID, len(slots))
	for i, sl := range slots {
		re.SlotIDs = append(re.SlotIDs, sl.ID)
		newIDs[i] = sl.ID
	}
	note := "from " + a.Start.UTC().Format(time.RFC3339) + " to " + first.Start.UTC().Format(time.RFC3339)
	upd, err := s.p.Appointments.UpdateAppointment(ctx, a.ID, []string{a.Status},
		s.change(by, "rescheduled", a.Status, models.ApptBooked, note), &models.AppointmentUpdate{Slots: re})
	if err != nil {
		s.release(context.WithoutCancel(ctx), newIDs, a.ID) // the old booking stands
		return nil, err
	}
	if err := s.hook(s.p.Hooks.AfterInsert, a.ID); err != nil {
		return nil, err
	}
	if err := s.confirm(ctx, upd); err != nil {
		return nil, err
	}
	s.release(context.WithoutCancel(ctx), a.SlotIDs, a.ID)
	if upd.Mode == models.ModeVideo && upd.CallID == "" {
		upd = s.attachCall(ctx, upd)
	}
	s.notify(ctx, upd, KindChanged)
	return upd, nil
}

// Attend records attendance (practice staff): booked → arrived, booked or arrived → fulfilled,
// booked → noshow. Returns EINVALID for another status; ECONFLICT if the appointment's status
// does not allow it.
func (s *Service) Attend(ctx context.Context, a *models.Appointment, status string, by Actor) (*models.Appointment, error) {
	var from []string
	switch status {
	case models.ApptArrived, models.ApptNoShow:
		from = []string{models.ApptBooked}
	case models.ApptFulfilled:
		from = []string{models.ApptBooked, models.ApptArrived}
	default:
		return nil, invalid("status", "must be arrived, fulfilled or noshow")
	}
	return s.p.Appointments.UpdateAppointment(ctx, a.ID, from, s.change(by, status, a.Status, status, ""), nil)
}

// CancelSession cancels a session and its slots, and flags each appointment that held one as
// needing rebooking, telling the patient. Running it again finishes a cancellation a crash
// interrupted. Returns ENOTFOUND.
func (s *Service) CancelSession(ctx context.Context, id models.SessionID, reason string, by Actor) (*models.Session, int, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return nil, 0, invalid("reason", "is required, at most 500 characters")
	}
	sess, appts, err := s.p.Sessions.CancelSession(ctx, id, reason, s.p.Now())
	if err != nil {
		return nil, 0, err
	}
	flagged := 0
	for _, aid := range appts {
		ok, err := s.flagRebooking(ctx, aid, by, "session cancelled: "+reason)
		if err != nil {
			return nil, flagged, err
		}
		if ok {
			flagged++
		}
	}
	return sess, flagged, nil
}

// flagRebooking moves a booked appointment to needs_rebooking and tells the patient. It reports
// false if the appointment was not booked (gone, cancelled or flagged already).
func (s *Service) flagRebooking(ctx context.Context, id models.AppointmentID, by Actor, note string) (bool, error) {
	upd, err := s.p.Appointments.UpdateAppointment(ctx, id, []string{models.ApptBooked},
		s.change(by, "needs_rebooking", models.ApptBooked, models.ApptNeedsRebooking, note), nil)
	switch models.ErrorCode(err) {
	case "":
		s.notify(ctx, upd, KindNeedsRebooking)
		return true, nil
	case models.ENOTFOUND, models.ECONFLICT:
		return false, nil
	}
	return false, err
}
