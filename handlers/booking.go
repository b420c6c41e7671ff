package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"careway/auth"
	"careway/booking"
	"careway/models"
)

// Sessions, slots and booking policy: the practice side of booking.

type sessionRequest struct {
	ID          string                   `json:"id"` // optional client-chosen UUID
	SiteID      models.SiteID            `json:"siteId"`
	ClinicianID models.UserID            `json:"clinicianId"`
	ServiceType models.ServiceType       `json:"serviceType"`
	Modes       []models.AppointmentMode `json:"modes"`
	Start       jsonTime                 `json:"start"`
	End         jsonTime                 `json:"end"`
	SlotMinutes int                      `json:"slotMinutes"`
}

// handleSessionCreate publishes a session (a clinician their own, an administrator anyone's of
// the practice) and its slots. 409 if it overlaps another of the clinician's sessions.
func (s *server) handleSessionCreate(c *fiber.Ctx) error {
	practice := models.PracticeID(utils.CopyString(c.Params("practiceId")))
	var req sessionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	now := s.now().UTC()
	sess := &models.Session{ID: models.SessionID(req.ID), PracticeID: practice, SiteID: req.SiteID, ClinicianID: req.ClinicianID,
		ServiceType: req.ServiceType, Modes: req.Modes, Start: req.Start.Time, End: req.End.Time, SlotMinutes: req.SlotMinutes,
		CreatedBy: actorOf(c).UserID, CreatedAt: now, UpdatedAt: now}
	if req.ID != "" && !models.IsUUID(req.ID) {
		return fieldError("id", "must be a UUID")
	}
	if err := sess.Validate(now); err != nil {
		return err
	}
	if err := s.refusalAudited(c, "session.create", "", string(practice), auth.CanPublishSession(actorOf(c), practice, req.ClinicianID)); err != nil {
		return err
	}
	site, err := s.orgs.SiteByID(c.UserContext(), req.SiteID)
	if models.ErrorCode(err) == models.ENOTFOUND || (err == nil && site.PracticeID != practice) {
		return fieldError("siteId", "no site of this practice has this id")
	} else if err != nil {
		return err
	}
	clin, err := s.users.UserByID(c.UserContext(), req.ClinicianID)
	if models.ErrorCode(err) == models.ENOTFOUND || (err == nil && (clin.Role != models.RoleClinician || clin.PracticeID != practice || clin.Disabled)) {
		return fieldError("clinicianId", "no clinician of this practice has this id")
	} else if err != nil {
		return err
	}
	if err := s.sessions.CreateSession(c.UserContext(), sess, site.StepFreeAccess); err != nil {
		return conflictOn(err, "start", "overlaps another session of this clinician")
	}
	if err := s.record(c, "session.create", "", string(sess.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(sess)
}

// handleSessionList lists a practice's sessions (its clinicians and administrators).
func (s *server) handleSessionList(c *fiber.Ctx) error {
	practice := models.PracticeID(utils.CopyString(c.Params("practiceId")))
	page, from, to, err := pageInRange(c)
	if err != nil {
		return err
	}
	if err := s.refusalAudited(c, "session.list", "", string(practice), auth.CanManageSessions(actorOf(c), practice)); err != nil {
		return err
	}
	items, next, err := s.sessions.ListSessions(c.UserContext(), models.SessionFilter{PracticeID: practice,
		ClinicianID: models.UserID(utils.CopyString(c.Query("clinicianId"))), From: from, To: to}, page)
	if err != nil {
		return err
	}
	return c.JSON(newList(items, next))
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

// handleSessionCancel cancels a session: its slots go, and each booked appointment is flagged
// needs_rebooking and its patient told.
func (s *server) handleSessionCancel(c *fiber.Ctx) error {
	var req reasonRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	sess, err := s.sessions.SessionByID(c.UserContext(), models.SessionID(c.Params("sessionId")))
	if err != nil {
		return err
	}
	a := actorOf(c)
	if err := s.refusalAudited(c, "session.cancel", "", string(sess.ID), auth.CanManageSessions(a, sess.PracticeID)); err != nil {
		return err
	}
	sess, flagged, err := s.booking.CancelSession(c.UserContext(), sess.ID, req.Reason, booking.Actor{UserID: a.UserID, Role: a.Role, Practice: true})
	if err != nil {
		return err
	}
	if err := s.record(c, "session.cancel", "", string(sess.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"session": sess, "appointmentsToRebook": flagged})
}

// handleBookingPolicyGet returns a practice's booking policy (minimum notice, cancel cut-off).
func (s *server) handleBookingPolicyGet(c *fiber.Ctx) error {
	practice := models.PracticeID(c.Params("practiceId"))
	if _, err := s.orgs.PracticeByID(c.UserContext(), practice); err != nil {
		return err
	}
	pol, err := s.policies.BookingPolicy(c.UserContext(), practice)
	if err != nil {
		return err
	}
	return c.JSON(pol)
}

type bookingPolicyRequest struct {
	MinNoticeMinutes    int `json:"minNoticeMinutes"`
	CancelCutoffMinutes int `json:"cancelCutoffMinutes"`
}

// handleBookingPolicySet sets a practice's booking policy (its administrators).
func (s *server) handleBookingPolicySet(c *fiber.Ctx) error {
	practice := models.PracticeID(utils.CopyString(c.Params("practiceId")))
	var req bookingPolicyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	pol := &models.BookingPolicy{PracticeID: practice, MinNoticeMinutes: req.MinNoticeMinutes, CancelCutoffMinute: req.CancelCutoffMinutes, UpdatedAt: s.now().UTC()}
	if err := pol.Validate(); err != nil {
		return err
	}
	if err := s.canManageOrg(c, practice); err != nil {
		return err
	}
	if _, err := s.orgs.PracticeByID(c.UserContext(), practice); err != nil {
		return err
	}
	if err := s.policies.SetBookingPolicy(c.UserContext(), pol); err != nil {
		return err
	}
	if err := s.record(c, "booking_policy.set", "", string(practice), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(pol)
}

// handleSlotSearch lists free future slots, sorted by start: ?practiceId= (default: the
// caller's own or their patient's practice) &siteId &clinicianId &mode &serviceType &from &to
// &stepFree=true (only sites with step-free access) &patientId (whom the search is for: staff
// and proxies name a patient they may book for; a patient's own search is always for
// themself). A search for a patient whose record says they need step-free access shows only
// step-free sites, whatever stepFree says. Patients, proxies and anyone outside the practice
// see only slots beyond the practice's minimum notice.
func (s *server) handleSlotSearch(c *fiber.Ctx) error {
	page, from, to, err := pageInRange(c)
	if err != nil {
		return err
	}
	a := actorOf(c)
	q := models.SlotQuery{PracticeID: models.PracticeID(utils.CopyString(c.Query("practiceId"))), SiteID: models.SiteID(utils.CopyString(c.Query("siteId"))),
		ClinicianID: models.UserID(utils.CopyString(c.Query("clinicianId"))), Mode: models.AppointmentMode(utils.CopyString(c.Query("mode"))),
		ServiceType: models.ServiceType(utils.CopyString(c.Query("serviceType"))), Before: to}
	var probs models.Problems
	if q.Mode != "" && !q.Mode.Valid() {
		probs.Add("mode", "must be face_to_face, video or phone")
	}
	if q.ServiceType != "" && !q.ServiceType.Valid() {
		probs.Add("serviceType", "is not a known service type")
	}
	switch c.Query("stepFree") {
	case "", "false":
	case "true":
		q.StepFreeOnly = true
	default:
		probs.Add("stepFree", "must be true or false")
	}
	forID := models.PatientID(utils.CopyString(c.Query("patientId")))
	if forID != "" && !models.IsUUID(string(forID)) {
		probs.Add("patientId", "must be the id of a patient")
	}
	if err := probs.Err(); err != nil {
		return err
	}
	if err := s.searchFor(c, a, forID, &q); err != nil {
		return err
	}
	if q.PracticeID == "" {
		if q.PracticeID, err = s.defaultPractice(c, a); err != nil {
			return err
		}
	}
	pol, err := s.policies.BookingPolicy(c.UserContext(), q.PracticeID)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	q.NotBefore = now
	if auth.CanManageSessions(a, q.PracticeID) != nil {
		q.NotBefore = now.Add(time.Duration(pol.MinNoticeMinutes) * time.Minute)
	}
	if from.After(q.NotBefore) {
		q.NotBefore = from
	}
	items, next, err := s.slots.SearchSlots(c.UserContext(), q, page)
	if err != nil {
		return err
	}
	return c.JSON(newList(items, next))
}

// searchFor applies the adjustments recorded on the patient a slot search is for (the caller
// for a patient; the patientId query for anyone else, who must be allowed to book for them):
// a recorded step-free need keeps only step-free sites in a search that may return face-to-face
// slots, and the patient's practice is the default. The access is audited. A search for nobody
// in particular (staff browsing) is left as asked.
func (s *server) searchFor(c *fiber.Ctx, a auth.Actor, id models.PatientID, q *models.SlotQuery) error {
	if a.Role == models.RolePatient && id == "" {
		id = a.PatientID
	}
	if id == "" {
		return nil
	}
	p, err := s.authorizePatient(c, auth.ActBook, id)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return fieldError("patientId", "no patient has this id")
	} else if err != nil {
		return err
	}
	if q.PracticeID == "" {
		q.PracticeID = p.PracticeID
	}
	if p.CurrentAdjustments().StepFree && q.Mode != models.ModeVideo && q.Mode != models.ModePhone {
		q.StepFreeOnly = true
	}
	return s.record(c, "slot.search", p.ID, "", models.OutcomeSuccess, "")
}

// defaultPractice is the practice a slot search means when it names none: the caller's own, or
// for a patient the practice on their record.
func (s *server) defaultPractice(c *fiber.Ctx, a auth.Actor) (models.PracticeID, error) {
	if a.PracticeID != "" {
		return a.PracticeID, nil
	}
	if a.PatientID != "" {
		p, err := s.patients.PatientByID(c.UserContext(), a.PatientID)
		if err != nil {
			return "", err
		}
		if p.PracticeID != "" {
			return p.PracticeID, nil
		}
	}
	return "", fieldError("practiceId", "is required")
}

// pageInRange reads the page (?limit, ?cursor) and the time range (?from, ?to) of a list.
func pageInRange(c *fiber.Ctx) (models.Page, time.Time, time.Time, error) {
	page, err := pageOf(c)
	if err != nil {
		return page, time.Time{}, time.Time{}, err
	}
	from, to, err := timeRangeQuery(c)
	return page, from, to, err
}

// timeRangeQuery reads ?from= and ?to= (RFC 3339).
func timeRangeQuery(c *fiber.Ctx) (from, to time.Time, err error) {
	var probs models.Problems
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := c.Query(f.name); v != "" {
			t, perr := time.Parse(time.RFC3339, v)
			if perr != nil {
				probs.Add(f.name, "must be an RFC 3339 time such as 2026-03-01T09:30:00Z")
			}
			*f.t = t.UTC()
		}
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		probs.Add("to", "must be after from")
	}
	return from, to, probs.Err()
}
