package handlers

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"careway/auth"
	"careway/booking"
	"careway/models"
)

type appointmentRequest struct {
	ID          string                 `json:"id"`
	SlotID      models.SlotID          `json:"slotId"`
	PatientID   models.PatientID       `json:"patientId"`
	Mode        models.AppointmentMode `json:"mode"`
	Reason      string                 `json:"reason"`
	Adjustments models.Adjustments     `json:"adjustments"`
	// InvitationID completes a booking invitation: the slot must fit it.
	InvitationID string `json:"invitationId"`
}

// bookingActor is who the booking engine sees: practice staff (a clinician or administrator the
// policy has let act for this patient) are free of the patient-facing notice and cut-offs.
func bookingActor(a auth.Actor) booking.Actor {
	return booking.Actor{UserID: a.UserID, Role: a.Role, Practice: a.Role == models.RoleClinician || a.Role == models.RoleAdmin}
}

// handleAppointmentCreate books a slot: by the patient, practice staff for any patient of the
// practice, care-home staff for a resident within the book_appointments scope. The id is the
// client's: a retry answers with the first booking. 409 when the slot is gone.
func (s *server) handleAppointmentCreate(c *fiber.Ctx) error {
	var req appointmentRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	r := booking.Request{ID: models.AppointmentID(req.ID), SlotID: req.SlotID, Mode: req.Mode, Reason: req.Reason, Adjustments: req.Adjustments}
	err := r.Validate()
	if !models.IsUUID(string(req.PatientID)) {
		var probs models.Problems
		if me, ok := err.(*models.Error); ok {
			probs = me.Fields
		}
		probs.Add("patientId", "must be the id of a patient")
		err = probs.Err()
	}
	if err != nil {
		return err
	}
	p, err := s.authorizePatient(c, auth.ActBook, req.PatientID)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return fieldError("patientId", "no patient has this id")
	} else if err != nil {
		return err
	}
	r.Patient, r.By = p, bookingActor(actorOf(c))
	var a *models.Appointment
	if req.InvitationID != "" {
		a, _, err = s.booking.BookInvited(c.UserContext(), r, req.InvitationID)
	} else {
		a, _, err = s.booking.Book(c.UserContext(), r)
	}
	if err != nil {
		return conflictOn(err, "slotId", "this slot is no longer free")
	}
	if err := s.record(c, string(auth.ActBook), p.ID, string(a.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(a)
}

// appointmentFor loads the appointment of the route and authorises act on its patient.
func (s *server) appointmentFor(c *fiber.Ctx, act auth.Action) (*models.Appointment, *models.Patient, error) {
	id := models.AppointmentID(utils.CopyString(c.Params("appointmentId")))
	a, err := s.appointments.AppointmentByID(c.UserContext(), id)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.authorizePatient(c, act, a.PatientID)
	if err != nil {
		return nil, nil, err
	}
	return a, p, nil
}

// handleAppointmentGet returns one appointment with its history.
func (s *server) handleAppointmentGet(c *fiber.Ctx) error {
	a, p, err := s.appointmentFor(c, auth.ActReadAppointments)
	if err != nil {
		return err
	}
	if err := s.record(c, string(auth.ActReadAppointments), p.ID, string(a.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(a)
}

// handleAppointmentCancel cancels: the patient or proxy until the practice's cut-off, the
// practice at any time. The slot is free again at once.
func (s *server) handleAppointmentCancel(c *fiber.Ctx) error {
	var req reasonRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	a, p, err := s.appointmentFor(c, auth.ActBook)
	if err != nil {
		return err
	}
	a, err = s.booking.Cancel(c.UserContext(), a, req.Reason, bookingActor(actorOf(c)))
	if err != nil {
		return err
	}
	if err := s.record(c, "appointment.cancel", p.ID, string(a.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(a)
}

type rescheduleRequest struct {
	SlotID models.SlotID          `json:"slotId"`
	Mode   models.AppointmentMode `json:"mode"`
}

// handleAppointmentReschedule moves an appointment to another slot: the new one is booked first,
// and if it is gone (409) the old booking stands.
func (s *server) handleAppointmentReschedule(c *fiber.Ctx) error {
	var req rescheduleRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var probs models.Problems
	if req.SlotID == "" {
		probs.Add("slotId", "is required")
	}
	if req.Mode != "" && !req.Mode.Valid() {
		probs.Add("mode", "must be face_to_face, video or phone")
	}
	if err := probs.Err(); err != nil {
		return err
	}
	a, p, err := s.appointmentFor(c, auth.ActBook)
	if err != nil {
		return err
	}
	a, err = s.booking.Reschedule(c.UserContext(), a, p, req.SlotID, req.Mode, bookingActor(actorOf(c)))
	if err != nil {
		return conflictOn(err, "slotId", "this slot is no longer free")
	}
	if err := s.record(c, "appointment.reschedule", p.ID, string(a.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(a)
}

type attendanceRequest struct {
	Status string `json:"status"`
}

// handleAppointmentAttendance records arrived, fulfilled or noshow (the practice's clinicians and
// administrators).
func (s *server) handleAppointmentAttendance(c *fiber.Ctx) error {
	var req attendanceRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	a, p, err := s.appointmentFor(c, auth.ActReadAppointments)
	if err != nil {
		return err
	}
	actor := actorOf(c)
	if err := s.refusalAudited(c, "appointment.attendance", p.ID, string(a.ID), auth.CanManageSessions(actor, a.PracticeID)); err != nil {
		return err
	}
	a, err = s.booking.Attend(c.UserContext(), a, req.Status, bookingActor(actor))
	if err != nil {
		return err
	}
	if err := s.record(c, "appointment.attendance", p.ID, string(a.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(a)
}

// handlePatientAppointments lists a patient's appointments by start: ?from&to&status.
func (s *server) handlePatientAppointments(c *fiber.Ctx) error {
	page, from, to, err := pageInRange(c)
	if err != nil {
		return err
	}
	f := models.AppointmentFilter{From: from, To: to}
	if st := c.Query("status"); st != "" {
		switch st {
		case models.ApptBooked, models.ApptArrived, models.ApptFulfilled, models.ApptCancelled, models.ApptNoShow, models.ApptNeedsRebooking:
			f.Statuses = []string{utils.CopyString(st)}
		default:
			return fieldError("status", "must be booked, arrived, fulfilled, cancelled, noshow or needs_rebooking")
		}
	}
	p, err := s.patientFor(c, auth.ActReadAppointments)
	if err != nil {
		return err
	}
	f.PatientID = p.ID
	items, next, err := s.appointments.ListAppointments(c.UserContext(), f, page)
	if err != nil {
		return err
	}
	if err := s.record(c, string(auth.ActReadAppointments), p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(newList(items, next))
}

// handleNotificationList is the caller's inbox, newest first (a patient also sees what was sent
// to their record). A carer's copy about a resident is shown only while the policy still lets
// the caller read the resident's appointments (consent withdrawn or the resident moved: it
// disappears), and each resident shown is audited as that read.
func (s *server) handleNotificationList(c *fiber.Ctx) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	a := actorOf(c)
	items, next, err := s.notifications.ListNotifications(c.UserContext(), a.UserID, a.PatientID, page)
	if err != nil {
		return err
	}
	allowed := map[models.PatientID]bool{}
	shown := items[:0]
	for _, n := range items {
		if n.ResidentID != "" {
			ok, seen := allowed[n.ResidentID]
			if !seen {
				if ok, err = s.mayHearAbout(c, n.ResidentID); err != nil {
					return err
				}
				allowed[n.ResidentID] = ok
			}
			if !ok {
				continue
			}
		}
		shown = append(shown, n)
	}
	return c.JSON(newList(shown, next))
}

// mayHearAbout decides with the policy whether the caller may see notifications about a
// resident's appointments now, and audits the read when so.
func (s *server) mayHearAbout(c *fiber.Ctx, resident models.PatientID) (bool, error) {
	p, err := s.patients.PatientByID(c.UserContext(), resident)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if auth.Can(actorOf(c), auth.ActReadAppointments, p, s.now()) != nil {
		return false, nil
	}
	return true, s.record(c, string(auth.ActReadAppointments), p.ID, "notifications", models.OutcomeSuccess, "")
}

// handleNotificationRead marks one notification of the caller's inbox read. A carer's copy about
// a resident the caller may no longer act for answers 404, as if it were not there.
func (s *server) handleNotificationRead(c *fiber.Ctx) error {
	a := actorOf(c)
	n, err := s.notifications.MarkNotificationRead(c.UserContext(), models.NotificationID(utils.CopyString(c.Params("notificationId"))), a.UserID, a.PatientID, s.now())
	if err != nil {
		return err
	}
	if n.ResidentID != "" {
		ok, err := s.mayHearAbout(c, n.ResidentID)
		if err != nil {
			return err
		}
		if !ok {
			return models.Errorf(models.ENOTFOUND, "Notification not found.")
		}
	}
	return c.JSON(n)
}
