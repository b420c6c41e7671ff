package booking

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"careway/models"
)

// Notification kinds.
const (
	KindConfirmed      = "booking_confirmed"
	KindChanged        = "booking_changed"
	KindCancelled      = "booking_cancelled"
	KindNeedsRebooking = "needs_rebooking"
	KindReminder24h    = "reminder_24h"
	KindReminder2h     = "reminder_2h"
	KindInvitation     = "booking_invitation"
)

// Deliverer sends a notification beyond the inbox (push, SMS gateway, email relay).
type Deliverer interface {
	Deliver(ctx context.Context, n *models.Notification) error
}

// LogDeliverer writes one log line per notification, with ids and kind only (never the text,
// which may name a clinic or a time a patient would rather keep private).
type LogDeliverer struct{ Logger *slog.Logger }

// Deliver logs n.
func (d LogDeliverer) Deliver(_ context.Context, n *models.Notification) error {
	d.Logger.Info("notification", "id", string(n.ID), "kind", n.Kind, "patientId", string(n.PatientID), "userId", string(n.UserID),
		"residentId", string(n.ResidentID), "appointmentId", string(n.AppointmentID))
	return nil
}

// WebhookDeliverer POSTs each notification as JSON to URL, giving up after Timeout.
type WebhookDeliverer struct {
	URL     string
	Timeout time.Duration
	Client  *http.Client // default: http.DefaultClient
}

// Deliver posts n; a status other than 2xx is an error.
func (d WebhookDeliverer) Deliver(ctx context.Context, n *models.Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	c := d.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}

// Notifier puts notifications in inboxes and hands them to a Deliverer.
type Notifier struct {
	Store   models.NotificationStore
	Deliver Deliverer
	Logger  *slog.Logger
	Now     func() time.Time
	// Carers finds who besides the patient gets a copy of what is sent about the patient's
	// bookings (care-home staff acting for a resident). Nil: nobody.
	Carers Carers
}

// Carers finds the accounts, other than the patient's own, that may act on a patient's
// bookings and so should hear about them.
type Carers interface {
	// CarersOf returns those accounts' ids (none for most patients). Returns ENOTFOUND for an
	// unknown patient.
	CarersOf(ctx context.Context, patient models.PatientID) ([]models.UserID, error)
}

// Send stores n (ECONFLICT if its id exists: already sent, and not delivered again) and then
// delivers it; a delivery failure is logged, the inbox copy stands.
func (n *Notifier) Send(ctx context.Context, msg *models.Notification) error {
	if msg.CreatedAt.IsZero() {
		msg.CreatedAt = n.Now().UTC()
	}
	if err := n.Store.CreateNotification(ctx, msg); err != nil {
		return err
	}
	if n.Deliver != nil {
		if err := n.Deliver.Deliver(ctx, msg); err != nil {
			n.Logger.Warn("notification delivery failed", "id", string(msg.ID), "kind", msg.Kind, "err", err)
		}
	}
	return nil
}

// Text is a notification's title and body.
type Text struct{ Title, Body string }

// SendAbout sends msg to the patient it names (msg.PatientID) and, the first time only (not
// when msg's id exists already), a copy with the third-person text carer to each of the
// patient's Carers: to the carer's own account, naming the patient as ResidentID. A copy that
// fails is logged; the patient's notification stands. Returns as Send for msg.
//
// Copies are made after the patient's notification, so a crash between the two loses the
// copies of that one notification (the patient's inbox is the record; a carer sees the
// appointment on the care-home dashboard too); doing it the other way round would redo the
// carer look-up on every reminder run for every reminder already sent.
func (n *Notifier) SendAbout(ctx context.Context, msg *models.Notification, carer Text) error {
	if err := n.Send(ctx, msg); err != nil {
		return err
	}
	if n.Carers == nil || msg.PatientID == "" {
		return nil
	}
	users, err := n.Carers.CarersOf(ctx, msg.PatientID)
	if err != nil {
		n.Logger.Warn("carers not found; no copies sent", "id", string(msg.ID), "patientId", string(msg.PatientID), "err", err)
		return nil
	}
	for _, u := range users {
		cp := &models.Notification{ID: models.NotificationID(models.DerivedID("carer-copy", string(msg.ID), string(u))), UserID: u,
			ResidentID: msg.PatientID, Kind: msg.Kind, Title: carer.Title, Body: carer.Body, AppointmentID: msg.AppointmentID, CreatedAt: msg.CreatedAt}
		if err := n.Send(ctx, cp); err != nil && models.ErrorCode(err) != models.ECONFLICT {
			n.Logger.Warn("carer copy not stored", "id", string(cp.ID), "userId", string(u), "err", err)
		}
	}
	return nil
}

// AppointmentEvent tells the patient (every account of the patient) and the patient's carers
// about a change to an appointment. Failures are logged: the change stands.
func (n *Notifier) AppointmentEvent(ctx context.Context, a *models.Appointment, kind string) {
	msg := appointmentMessage(a, kind)
	if err := n.SendAbout(context.WithoutCancel(ctx), msg, describe(a, kind, true)); err != nil {
		n.Logger.Warn("notification not stored", "kind", kind, "appointmentId", string(a.ID), "err", err)
	}
}

// appointmentMessage is the patient's notification of kind about a.
func appointmentMessage(a *models.Appointment, kind string) *models.Notification {
	t := describe(a, kind, false)
	return &models.Notification{PatientID: a.PatientID, Kind: kind, Title: t.Title, Body: t.Body, AppointmentID: a.ID}
}

// describe words a notification of kind about a, to the patient or (forCarer) to a carer of a
// resident. Neither names the patient: the carer's copy carries the resident's id, which the
// care-home console resolves from its resident list.
func describe(a *models.Appointment, kind string, forCarer bool) Text {
	when := a.Start.UTC().Format("Mon 2 Jan 2006 15:04 UTC")
	how := map[models.AppointmentMode]string{models.ModeFaceToFace: "in person", models.ModeVideo: "by video", models.ModePhone: "by phone"}[a.Mode]
	whose, ask := "your", "Please choose another time or call the practice."
	if forCarer {
		whose, ask = "a resident's", "Please choose another time for them or call the practice."
	}
	appt := whose + " appointment"
	Appt := strings.ToUpper(appt[:1]) + appt[1:]
	switch kind {
	case KindConfirmed:
		return Text{"Appointment booked", Appt + " " + how + " is booked for " + when + "."}
	case KindChanged:
		return Text{"Appointment changed", Appt + " is now " + how + " on " + when + "."}
	case KindCancelled:
		return Text{"Appointment cancelled", Appt + " on " + when + " has been cancelled."}
	case KindNeedsRebooking:
		return Text{"Please rebook " + appt, Appt + " on " + when + " cannot go ahead. " + ask}
	case KindReminder24h:
		return Text{"Appointment tomorrow", "Reminder: " + appt + " " + how + " is at " + when + "."}
	case KindReminder2h:
		return Text{"Appointment soon", "Reminder: " + appt + " " + how + " is at " + when + "."}
	}
	return Text{"Appointment update", "There is news about " + appt + " on " + when + "."}
}

// reminderID is the fixed id of one reminder of one appointment at one start time: a second
// sending (another node, a restart) collides with the first and is dropped. A rescheduled
// appointment has a new start and so new reminders.
func reminderID(a *models.Appointment, kind string) models.NotificationID {
	return models.NotificationID(models.DerivedID("reminder", string(a.ID), kind, strconv.FormatInt(a.Start.UnixMilli(), 10)))
}
