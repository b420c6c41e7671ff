package booking

import (
	"context"
	"strings"
	"time"

	"careway/models"
)

// Request is a booking: the appointment id is chosen by the client (a UUID), so a retry finds
// the first result.
type Request struct {
	ID              models.AppointmentID
	Patient         *models.Patient
	SlotID          models.SlotID
	Mode            models.AppointmentMode // empty: the slot's first mode
	Reason          string
	Adjustments     models.Adjustments
	TriageRequestID models.TriageRequestID
	By              Actor
}

// Validate checks a request's own fields.
func (r *Request) Validate() error {
	var p models.Problems
	if !models.IsUUID(string(r.ID)) {
		p.Add("id", "must be a UUID chosen by the client")
	}
	if r.SlotID == "" {
		p.Add("slotId", "is required")
	}
	if r.Mode != "" && !r.Mode.Valid() {
		p.Add("mode", "must be face_to_face, video or phone")
	}
	r.Reason = strings.TrimSpace(r.Reason)
	if len(r.Reason) > 1000 {
		p.Add("reason", "must be at most 1000 characters")
	}
	r.Adjustments.Validate("adjustments", &p)
	return p.Err()
}

// Book books the slot (two consecutive slots for a longer appointment) for the patient, in the
// write order of the package comment. It returns the appointment and whether this call created
// it: a retry with the same id returns the first result. Returns EINVALID for a slot of another
// practice, a mode the slot does not offer, a site without step-free access when it is needed,
// or a slot inside the practice's minimum notice (patients and proxies only); ENOTFOUND for an
// unknown slot; ECONFLICT when a slot is no longer free or the id names another booking.
func (s *Service) Book(ctx context.Context, r Request) (*models.Appointment, bool, error) {
	if err := r.Validate(); err != nil {
		return nil, false, err
	}
	// The patient's recorded adjustments hold for every booking: a booking may add needs, never
	// drop one (the appointment carries the union, so the practice sees them all).
	r.Adjustments = r.Adjustments.Merge(r.Patient.CurrentAdjustments().Adjustments)
	if a, err := s.p.Appointments.AppointmentByID(ctx, r.ID); err == nil {
		return s.replay(a, r)
	} else if models.ErrorCode(err) != models.ENOTFOUND {
		return nil, false, err
	}
	slots, mode, err := s.bookable(ctx, r.ID, r.Patient, r.SlotID, r.Mode, r.Adjustments, r.By)
	if err != nil {
		return nil, false, err
	}
	now := s.p.Now().UTC().Truncate(time.Millisecond) // as stored, so a replay answers byte for byte the same
	if err := s.claim(ctx, slots, r.ID, now); err != nil {
		return nil, false, err
	}
	if err := s.hook(s.p.Hooks.AfterClaim, r.ID); err != nil {
		return nil, false, err
	}
	first, last := slots[0], slots[len(slots)-1]
	a := &models.Appointment{ID: r.ID, PatientID: r.Patient.ID, PracticeID: first.PracticeID, SessionID: first.SessionID,
		SiteID: first.SiteID, ClinicianID: first.ClinicianID, ServiceType: first.ServiceType, Mode: mode, Start: first.Start, End: last.End,
		Reason: r.Reason, Adjustments: r.Adjustments, Status: models.ApptBooked, TriageRequestID: r.TriageRequestID,
		BookedBy: r.By.UserID, BookedByRole: r.By.Role, CreatedAt: now, UpdatedAt: now,
		History: []models.AppointmentChange{s.change(r.By, "booked", "", models.ApptBooked, "")}}
	for _, sl := range slots {
		a.SlotIDs = append(a.SlotIDs, sl.ID)
	}
	a.SlotID = a.SlotIDs[0]
	if err := s.p.Appointments.CreateAppointment(ctx, a); err != nil {
		if models.ErrorCode(err) == models.ECONFLICT { // a retry with this id got there first
			if prev, gerr := s.p.Appointments.AppointmentByID(ctx, r.ID); gerr == nil {
				return s.replay(prev, r)
			}
		}
		s.release(context.WithoutCancel(ctx), a.SlotIDs, r.ID)
		return nil, false, err
	}
	if err := s.hook(s.p.Hooks.AfterInsert, r.ID); err != nil {
		return nil, false, err
	}
	if err := s.confirm(ctx, a); err != nil {
		return nil, false, err
	}
	if a.Mode == models.ModeVideo {
		a = s.attachCall(ctx, a)
	}
	s.notify(ctx, a, KindConfirmed)
	return a, true, nil
}

// replay answers a retried booking with the first result, or ECONFLICT if the id was used for
// another booking.
func (s *Service) replay(a *models.Appointment, r Request) (*models.Appointment, bool, error) {
	if a.PatientID != r.Patient.ID || len(a.History) == 0 || a.History[0].Action != "booked" || !firstSlot(a, r.SlotID) {
		return nil, false, models.Errorf(models.ECONFLICT, "This appointment id is already used for another booking.")
	}
	return a, false, nil
}

// firstSlot reports whether the appointment was booked on slot (rescheduling moves it, so the
// booked history entry is not enough; a replay after a reschedule still matches its first slot
// if unchanged).
func firstSlot(a *models.Appointment, slot models.SlotID) bool {
	for _, id := range a.SlotIDs {
		if id == slot {
			return true
		}
	}
	return a.Status != models.ApptBooked // moved or ended since: the id is this booking's anyway
}

// bookable loads the slot (and its successor for a longer appointment) and checks that the
// patient may have it in the mode asked for.
func (s *Service) bookable(ctx context.Context, appt models.AppointmentID, p *models.Patient, id models.SlotID, mode models.AppointmentMode, adj models.Adjustments, by Actor) ([]*models.Slot, models.AppointmentMode, error) {
	slot, err := s.p.Slots.SlotByID(ctx, id)
	if err != nil {
		return nil, "", fieldErr(err, "slotId")
	}
	if slot.PracticeID != p.PracticeID {
		return nil, "", invalid("slotId", "the slot belongs to another practice than the patient's")
	}
	if mode == "" {
		mode = slot.Mode
	}
	if !slot.Allows(mode) {
		return nil, "", invalid("mode", "this slot offers "+modesText(slot.Modes))
	}
	if mode == models.ModeFaceToFace && !slot.StepFree {
		// A need recorded on the patient is checked here too (not only through adj), so that a
		// reschedule honours a need recorded after the booking was made.
		if p.CurrentAdjustments().StepFree {
			return nil, "", &models.Error{Code: models.ECONFLICT, Message: "The patient's record says they need step-free access, and this slot's site has none.",
				Fields: []models.FieldError{{Field: "slotId", Message: "is at a site without step-free access, which the patient's recorded adjustments need; choose a slot at a step-free site"}}}
		}
		if adj.StepFree {
			return nil, "", invalid("adjustments.stepFree", "this slot's site has no step-free access; choose a slot at a step-free site")
		}
	}
	if !claimable(slot, appt) {
		return nil, "", models.Errorf(models.ECONFLICT, "This slot is no longer free.")
	}
	now := s.p.Now()
	if !slot.Start.After(now) {
		return nil, "", invalid("slotId", "the slot has started or passed")
	}
	if !by.Practice {
		pol, err := s.p.Policies.BookingPolicy(ctx, slot.PracticeID)
		if err != nil {
			return nil, "", err
		}
		if slot.Start.Before(now.Add(time.Duration(pol.MinNoticeMinutes) * time.Minute)) {
			return nil, "", invalid("slotId", "the practice needs more notice than this; choose a later slot or call the practice")
		}
	}
	slots := []*models.Slot{slot}
	if adj.Longer {
		next, err := s.p.Slots.NextSlot(ctx, slot.ID)
		if err != nil {
			if models.ErrorCode(err) == models.ENOTFOUND {
				return nil, "", invalid("adjustments.longerAppointment", "a longer appointment (asked for, or recorded on the patient's record) needs the next slot of the same clinician, and this is the session's last")
			}
			return nil, "", err
		}
		if !claimable(next, appt) {
			return nil, "", models.Errorf(models.ECONFLICT, "The next slot, needed for a longer appointment, is no longer free.")
		}
		slots = append(slots, next)
	}
	return slots, mode, nil
}

// claimable reports whether appt may claim the slot: it is free, or appt holds it already (a
// retry after a crash part-way).
func claimable(s *models.Slot, appt models.AppointmentID) bool {
	return s.Status == models.SlotFree || (s.AppointmentID == appt && (s.Status == models.SlotHeld || s.Status == models.SlotBooked))
}

// claim holds every slot for appt, in order, or none: on a refusal it frees those it took.
func (s *Service) claim(ctx context.Context, slots []*models.Slot, appt models.AppointmentID, now time.Time) error {
	for i, sl := range slots {
		if _, err := s.p.Slots.ClaimSlot(ctx, sl.ID, appt, now); err != nil {
			taken := make([]models.SlotID, i)
			for j := range i {
				taken[j] = slots[j].ID
			}
			s.release(context.WithoutCancel(ctx), taken, appt)
			return err
		}
	}
	return nil
}

// confirm marks the appointment's slots booked. If one was lost meanwhile (its session was
// cancelled, or the reconciler freed it after a long stall) the appointment cannot stand: it is
// cancelled, its other slots freed, and the booking answers ECONFLICT.
func (s *Service) confirm(ctx context.Context, a *models.Appointment) error {
	for _, id := range a.SlotIDs {
		err := s.p.Slots.ConfirmSlot(ctx, id, a.ID)
		if err == nil {
			continue
		}
		if models.ErrorCode(err) != models.ECONFLICT {
			return err // the reconciler finishes the job
		}
		reason := "the slot was withdrawn while it was being booked"
		ctx = context.WithoutCancel(ctx)
		if _, uerr := s.p.Appointments.UpdateAppointment(ctx, a.ID, []string{models.ApptBooked},
			s.change(Actor{}, "cancelled", models.ApptBooked, models.ApptCancelled, reason), &models.AppointmentUpdate{CancelReason: &reason}); uerr != nil {
			return uerr
		}
		s.release(ctx, a.SlotIDs, a.ID)
		return models.Errorf(models.ECONFLICT, "This slot is no longer available.")
	}
	return nil
}

// release frees slots held by appt, logging (not returning) failures: the reconciler frees
// whatever is left.
func (s *Service) release(ctx context.Context, ids []models.SlotID, appt models.AppointmentID) {
	for _, id := range ids {
		if err := s.p.Slots.ReleaseSlot(ctx, id, appt); err != nil {
			s.p.Logger.Warn("slot release failed; the reconciler will free it", "slotId", string(id), "appointmentId", string(appt), "err", err)
		}
	}
}

func (s *Service) hook(h func(models.AppointmentID) error, id models.AppointmentID) error {
	if h == nil {
		return nil
	}
	return h(id)
}

// attachCall creates the call of a video appointment; a failure is logged and left for the
// clinician to start the call by hand (the booking stands).
func (s *Service) attachCall(ctx context.Context, a *models.Appointment) *models.Appointment {
	if s.p.Calls == nil {
		return a
	}
	id, err := s.p.Calls.CreateAppointmentCall(ctx, a)
	if err != nil {
		s.p.Logger.Warn("call for video appointment not created", "appointmentId", string(a.ID), "err", err)
		return a
	}
	upd, err := s.p.Appointments.UpdateAppointment(ctx, a.ID, []string{models.ApptBooked},
		s.change(Actor{}, "call_created", a.Status, a.Status, ""), &models.AppointmentUpdate{CallID: &id})
	if err != nil {
		s.p.Logger.Warn("call id not recorded on appointment", "appointmentId", string(a.ID), "err", err)
		return a
	}
	return upd
}

func modesText(ms []models.AppointmentMode) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = string(m)
	}
	return strings.Join(parts, ", ")
}

func invalid(field, msg string) error {
	var p models.Problems
	p.Add(field, msg)
	return p.Err()
}

// fieldErr turns a missing slot into a 404 that names the field; other errors pass.
func fieldErr(err error, field string) error {
	if models.ErrorCode(err) == models.ENOTFOUND {
		return &models.Error{Code: models.ENOTFOUND, Message: "No slot has this id.", Fields: []models.FieldError{{Field: field, Message: "no such slot"}}}
	}
	return err
}
