package booking

import (
	"context"
	"log/slog"
	"time"

	"careway/models"
)

// ReminderParams configures a Reminders scheduler.
type ReminderParams struct {
	Appointments models.AppointmentStore
	Leases       models.LeaseStore
	Notifier     *Notifier
	Node         string        // this node's lease holder name (unique per process)
	Interval     time.Duration // default one minute
	Logger       *slog.Logger
	Now          func() time.Time
}

// Reminders sends the 24-hour and 2-hour reminders of booked appointments. Only the node that
// holds the "reminders" lease sends; each reminder has a fixed id, so it is stored and delivered
// once even if two nodes or a restart send it again.
type Reminders struct{ p ReminderParams }

const reminderLease = "reminders"

// NewReminders returns a scheduler.
func NewReminders(p ReminderParams) *Reminders {
	if p.Interval <= 0 {
		p.Interval = time.Minute
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return &Reminders{p: p}
}

// RunOnce takes (or renews) the lease and, if this node holds it, sends every reminder that is
// due and not yet sent. It returns how many it sent and whether it held the lease.
func (r *Reminders) RunOnce(ctx context.Context) (sent int, leader bool, err error) {
	now := r.p.Now()
	ok, err := r.p.Leases.AcquireLease(ctx, reminderLease, r.p.Node, now, 3*r.p.Interval)
	if err != nil || !ok {
		return 0, false, err
	}
	page := models.Page{Limit: models.MaxPageLimit}
	for {
		appts, next, err := r.p.Appointments.ListAppointments(ctx, models.AppointmentFilter{Statuses: []string{models.ApptBooked},
			From: now, To: now.Add(24 * time.Hour)}, page)
		if err != nil {
			return sent, true, err
		}
		for _, a := range appts {
			kind := KindReminder24h
			if a.Start.Sub(now) <= 2*time.Hour {
				kind = KindReminder2h
			}
			msg := appointmentMessage(a, kind)
			msg.ID = reminderID(a, kind)
			err := r.p.Notifier.SendAbout(ctx, msg, describe(a, kind, true))
			switch models.ErrorCode(err) {
			case "":
				sent++
			case models.ECONFLICT: // sent before
			default:
				return sent, true, err
			}
		}
		if next == "" {
			return sent, true, nil
		}
		page.Cursor = next
	}
}

// Run calls RunOnce every interval until ctx ends, then gives the lease up.
func (r *Reminders) Run(ctx context.Context) {
	t := time.NewTicker(r.p.Interval)
	defer t.Stop()
	for {
		if n, _, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.p.Logger.Warn("reminders failed", "err", err)
		} else if n > 0 {
			r.p.Logger.Info("reminders sent", "count", n)
		}
		select {
		case <-ctx.Done():
			_ = r.p.Leases.ReleaseLease(context.WithoutCancel(ctx), reminderLease, r.p.Node)
			return
		case <-t.C:
		}
	}
}
