package booking

import (
	"context"
	"strconv"
	"time"

	"careway/models"
)

// StoreCalls gives video appointments their call through the CallStore: one open call per
// appointment (and start time), ready for the waiting room, created by the appointment's
// clinician. Its id is derived from the appointment, so a retry or a second node finds the
// call rather than making another.
type StoreCalls struct {
	Calls models.CallStore
	Now   func() time.Time
}

var _ CallCreator = StoreCalls{}

// CreateAppointmentCall returns the open call of the appointment, creating it if there is none.
func (c StoreCalls) CreateAppointmentCall(ctx context.Context, a *models.Appointment) (models.CallID, error) {
	if open, err := c.Calls.OpenCallFor(ctx, a.ID, ""); err == nil {
		return open.ID, nil
	} else if models.ErrorCode(err) != models.ENOTFOUND {
		return "", err
	}
	call := &models.Call{ID: models.CallID(models.DerivedID("appointment-call", string(a.ID), strconv.FormatInt(a.Start.UnixMilli(), 10))),
		PatientID: a.PatientID, PracticeID: a.PracticeID, AppointmentID: a.ID, CreatedBy: a.ClinicianID, Status: models.CallOpen,
		Participants: []models.CallParticipant{}, CreatedAt: c.Now().UTC()}
	err := c.Calls.CreateCall(ctx, call)
	if models.ErrorCode(err) == models.ECONFLICT {
		return call.ID, nil // made by a concurrent retry
	}
	return call.ID, err
}
