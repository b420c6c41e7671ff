package booking

import (
	"context"
	"time"

	"careway/auth"
	"careway/models"
)

// HomeStaff finds the care-home staff who may act on a resident's appointments: the accounts of
// the resident's own home whom the access policy (auth.Can, ActReadAppointments: the home's
// current proxy consent with book_appointments) allows now. It is the Carers of a Notifier.
type HomeStaff struct {
	Patients models.PatientStore
	Users    models.UserStore
	Now      func() time.Time // default time.Now
}

var _ Carers = HomeStaff{}

// CarersOf returns the ids of the staff of the patient's care home whom the policy lets read the
// patient's appointments (none when the patient lives in no home). Disabled accounts are left
// out. Returns ENOTFOUND for an unknown patient.
func (h HomeStaff) CarersOf(ctx context.Context, id models.PatientID) ([]models.UserID, error) {
	p, err := h.Patients.PatientByID(ctx, id)
	if err != nil || p.CareHomeID == "" {
		return nil, err
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	var out []models.UserID
	page := models.Page{Limit: models.MaxPageLimit}
	for {
		users, next, err := h.Users.ListUsers(ctx, models.UserFilter{Role: models.RoleCareHomeStaff, CareHomeID: p.CareHomeID}, page)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if !u.Disabled && auth.Can(auth.ActorOfUser(u), auth.ActReadAppointments, p, now) == nil {
				out = append(out, u.ID)
			}
		}
		if next == "" {
			return out, nil
		}
		page.Cursor = next
	}
}
