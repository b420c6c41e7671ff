package booking

import (
	"context"
	"time"

	"careway/models"
)

// Repairs counts what one Reconcile pass changed.
type Repairs struct {
	Freed     int // slots held by no live appointment, freed
	Confirmed int // held slots of an existing appointment, marked booked
	Reclaimed int // appointments whose slot claim was missing, given their slot again
	Flagged   int // appointments whose slot was lost to another, flagged needs_rebooking
}

// Reconcile repairs what a crash between two writes leaves, in two passes:
//
//   - every slot held or booked since before now-Grace: if no live appointment lists it (the
//     appointment was never inserted, was cancelled, or moved to another slot) it is freed; if
//     its appointment exists and lists it but it is still only held, it is confirmed (the
//     appointments are read in bulk per batch of slots, and again one by one for the slots
//     that look as if they need a repair, just before it is made);
//   - every booked appointment changed within the last lookback: if a slot it lists is not
//     held by it, the slot is claimed again when free, and otherwise (taken by another booking
//     or cancelled with its session) the appointment is flagged needs_rebooking and the
//     patient told. Never is one patient's slot taken for another.
func (s *Service) Reconcile(ctx context.Context, lookback time.Duration) (Repairs, error) {
	var r Repairs
	now := s.p.Now()
	page := models.Page{Limit: models.MaxPageLimit}
	var batch []*models.Slot
	for {
		slots, next, err := s.p.Slots.ListClaimedSlots(ctx, now.Add(-s.p.Grace), page)
		if err != nil {
			return r, err
		}
		batch = append(batch, slots...)
		if next == "" || len(batch) >= reconcileBatch {
			if err := s.reconcileSlots(ctx, batch, &r); err != nil {
				return r, err
			}
			batch = batch[:0]
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	page = models.Page{Limit: models.MaxPageLimit}
	for {
		appts, next, err := s.p.Appointments.ListAppointments(ctx, models.AppointmentFilter{Statuses: []string{models.ApptBooked},
			UpdatedSince: now.Add(-lookback)}, page)
		if err != nil {
			return r, err
		}
		for _, a := range appts {
			if a.UpdatedAt.After(now.Add(-s.p.Grace)) {
				continue // a booking or reschedule may still be writing
			}
			if err := s.reconcileAppointment(ctx, a, &r); err != nil {
				return r, err
			}
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	if r != (Repairs{}) {
		s.p.Logger.Info("booking reconciled", "freed", r.Freed, "confirmed", r.Confirmed, "reclaimed", r.Reclaimed, "flagged", r.Flagged)
	}
	return r, nil
}

// reconcileBatch is how many claimed slots pass 1 checks against one bulk read of their
// appointments.
const reconcileBatch = 1000

// reconcileSlots checks slots listed as claimed. Their appointments are read in bulk, after
// the slots were listed; a booked slot whose appointment lists it needs nothing. Every other
// slot goes through reconcileSlot, which reads its appointment again just before it acts, so
// what is freed or confirmed is decided exactly as by a read per slot.
func (s *Service) reconcileSlots(ctx context.Context, slots []*models.Slot, r *Repairs) error {
	ids := make([]models.AppointmentID, len(slots))
	for i, sl := range slots {
		ids[i] = sl.AppointmentID
	}
	appts, err := s.p.Appointments.AppointmentsByIDs(ctx, ids)
	if err != nil {
		return err
	}
	for _, sl := range slots {
		if a := appts[sl.AppointmentID]; a != nil && a.Holds(sl.ID) && sl.Status != models.SlotHeld {
			continue
		}
		if err := s.reconcileSlot(ctx, sl, r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) reconcileSlot(ctx context.Context, sl *models.Slot, r *Repairs) error {
	a, err := s.p.Appointments.AppointmentByID(ctx, sl.AppointmentID)
	switch {
	case models.ErrorCode(err) == models.ENOTFOUND || (err == nil && !a.Holds(sl.ID)):
		if err := s.p.Slots.ReleaseSlot(ctx, sl.ID, sl.AppointmentID); err != nil {
			return err
		}
		r.Freed++
	case err != nil:
		return err
	case sl.Status == models.SlotHeld:
		if err := s.p.Slots.ConfirmSlot(ctx, sl.ID, a.ID); err != nil && models.ErrorCode(err) != models.ECONFLICT {
			return err
		}
		r.Confirmed++
	}
	return nil
}

func (s *Service) reconcileAppointment(ctx context.Context, a *models.Appointment, r *Repairs) error {
	for _, id := range a.SlotIDs {
		sl, err := s.p.Slots.SlotByID(ctx, id)
		if err != nil && models.ErrorCode(err) != models.ENOTFOUND {
			return err
		}
		if err == nil && sl.AppointmentID == a.ID && (sl.Status == models.SlotHeld || sl.Status == models.SlotBooked) {
			if sl.Status == models.SlotHeld {
				if err := s.p.Slots.ConfirmSlot(ctx, id, a.ID); err != nil && models.ErrorCode(err) != models.ECONFLICT {
					return err
				}
			}
			continue
		}
		if err == nil && sl.Status == models.SlotFree {
			if _, cerr := s.p.Slots.ClaimSlot(ctx, id, a.ID, s.p.Now()); cerr == nil {
				if err := s.p.Slots.ConfirmSlot(ctx, id, a.ID); err != nil && models.ErrorCode(err) != models.ECONFLICT {
					return err
				}
				r.Reclaimed++
				continue
			}
		}
		ok, err := s.flagRebooking(ctx, a.ID, Actor{}, "the appointment's slot was lost; please choose another")
		if err != nil {
			return err
		}
		if ok {
			r.Flagged++
			s.release(ctx, a.SlotIDs, a.ID) // its other slot, if any, goes back too
		}
		return nil
	}
	return nil
}

// RunReconciler reconciles at once and then every interval until ctx ends, logging failures.
func (s *Service) RunReconciler(ctx context.Context, interval, lookback time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Reconcile(ctx, lookback); err != nil && ctx.Err() == nil {
			s.p.Logger.Warn("booking reconcile failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
