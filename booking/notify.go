package booking

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
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
	d.Logger.Info("notification", "id", string(n.ID), "kind", n.Kind, "patientId", string(n.PatientID), "userId", string(n.UserID), "appointmentId", string(n.AppointmentID))
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

// AppointmentEvent tells the patient (every account of the patient, and so their proxies'
// inbox view) about a change to an appointment. Failures are logged: the change stands.
func (n *Notifier) AppointmentEvent(ctx context.Context, a *models.Appointment, kind string) {
	title, body := describe(a, kind)
	msg := &models.Notification{PatientID: a.PatientID, Kind: kind, Title: title, Body: body, AppointmentID: a.ID}
	if err := n.Send(context.WithoutCancel(ctx), msg); err != nil {
		n.Logger.Warn("notification not stored", "kind", kind, "appointmentId", string(a.ID), "err", err)
	}
}

func describe(a *models.Appointment, kind string) (string, string) {
	when := a.Start.UTC().Format("Mon 2 Jan 2006 15:04 UTC")
	how := map[models.AppointmentMode]string{models.ModeFaceToFace: "in person", models.ModeVideo: "by video", models.ModePhone: "by phone"}[a.Mode]
	switch kind {
	case KindConfirmed:
		return "Appointment booked", "Your appointment " + how + " is booked for " + when + "."
	case KindChanged:
		return "Appointment changed", "Your appointment is now " + how + " on " + when + "."
	case KindCancelled:
		return "Appointment cancelled", "Your appointment on " + when + " has been cancelled."
	case KindNeedsRebooking:
		return "Please rebook your appointment", "Your appointment on " + when + " cannot go ahead. Please choose another time or call the practice."
	case KindReminder24h:
		return "Appointment tomorrow", "Reminder: your appointment " + how + " is at " + when + "."
	case KindReminder2h:
		return "Appointment soon", "Reminder: your appointment " + how + " is at " + when + "."
	}
	return "Appointment update", "There is news about your appointment on " + when + "."
}

// reminderID is the fixed id of one reminder of one appointment at one start time: a second
// sending (another node, a restart) collides with the first and is dropped. A rescheduled
// appointment has a new start and so new reminders.
func reminderID(a *models.Appointment, kind string) models.NotificationID {
	return models.NotificationID(models.DerivedID("reminder", string(a.ID), kind, strconv.FormatInt(a.Start.UnixMilli(), 10)))
}
