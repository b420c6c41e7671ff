package main

import (
	"context"
	"log/slog"
	"time"

	"careway/booking"
	"careway/models"
	"careway/store"
)

// bookingParts are the booking stores and engine, wired once for the HTTP layer and the
// background jobs.
type bookingParts struct {
	sessions      *store.SessionStore
	slots         *store.SlotStore
	appointments  *store.AppointmentStore
	policies      *store.BookingPolicyStore
	notifications *store.NotificationStore
	invitations   *store.InvitationStore
	notifier      *booking.Notifier
	service       *booking.Service
}

func newBookingParts(cfg *Config, db *store.DB, log *slog.Logger) *bookingParts {
	b := &bookingParts{sessions: store.NewSessionStore(db), slots: store.NewSlotStore(db), appointments: store.NewAppointmentStore(db),
		policies: store.NewBookingPolicyStore(db), notifications: store.NewNotificationStore(db),
		invitations: store.NewInvitationStore(db)}
	var d booking.Deliverer = booking.LogDeliverer{Logger: log}
	if cfg.NotifyWebhookURL != "" {
		d = booking.WebhookDeliverer{URL: cfg.NotifyWebhookURL, Timeout: cfg.NotifyWebhookTimeout}
	}
	// Copies of what is sent about a resident go to the staff of their home whom the policy
	// lets act on the resident's appointments.
	b.notifier = &booking.Notifier{Store: b.notifications, Deliver: d, Logger: log, Now: time.Now,
		Carers: booking.HomeStaff{Patients: store.NewPatientStore(db), Users: store.NewUserStore(db), Now: time.Now}}
	b.service = booking.New(booking.Params{Sessions: b.sessions, Slots: b.slots, Appointments: b.appointments, Policies: b.policies,
		Invitations: b.invitations,
		Notifier:    b.notifier, Calls: booking.StoreCalls{Calls: store.NewCallStore(db), Now: time.Now}, Logger: log})
	return b
}

// run starts the booking reconciler (at once, then every five minutes, looking back a day) and
// the reminder scheduler (every minute, one node at a time through a lease), until ctx ends.
func (b *bookingParts) run(ctx context.Context, db *store.DB, log *slog.Logger) {
	go b.service.RunReconciler(ctx, 5*time.Minute, 24*time.Hour)
	r := booking.NewReminders(booking.ReminderParams{Appointments: b.appointments, Leases: store.NewLeaseStore(db),
		Notifier: b.notifier, Node: models.NewID(), Logger: log})
	go r.Run(ctx)
}
