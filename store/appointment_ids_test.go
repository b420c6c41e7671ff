package store_test

import (
	"context"
	"fmt"
	"testing"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// AppointmentsByIDs returns exactly the appointments that exist among the ids, however the ids
// fall into chunks, and leaves out missing, empty and repeated ids.
func TestAppointmentsByIDs(t *testing.T) {
	store.SetAppointmentsByIDsChunk(t, 2)
	db := storetest.MustOpen(t)
	as := store.NewAppointmentStore(db)
	ctx := context.Background()
	var stored []models.AppointmentID
	for i := range 5 {
		a := &models.Appointment{ID: models.AppointmentID(fmt.Sprintf("appt-%d", i)), PatientID: models.PatientID(fmt.Sprintf("p%d", i)),
			PracticeID: "pr", SlotIDs: []models.SlotID{models.SlotID(fmt.Sprintf("slot-%d", i))}, Status: models.ApptBooked,
			Start: t0, End: t0.Add(10 * 60e9), CreatedAt: t0, UpdatedAt: t0}
		MustNoErr(t, as.CreateAppointment(ctx, a))
		stored = append(stored, a.ID)
	}
	got, err := as.AppointmentsByIDs(ctx, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("no ids: %v %v", got, err)
	}
	ids := []models.AppointmentID{"missing-1", stored[4], "", stored[0], stored[4], "missing-2", stored[2], stored[1], "appt-"}
	got, err = as.AppointmentsByIDs(ctx, ids)
	MustNoErr(t, err)
	want := []models.AppointmentID{stored[0], stored[1], stored[2], stored[4]}
	if len(got) != len(want) {
		t.Fatalf("got %d appointments, want %d: %v", len(got), len(want), got)
	}
	for _, id := range want {
		a := got[id]
		if a == nil || a.ID != id || a.Status != models.ApptBooked || len(a.SlotIDs) != 1 || a.SlotID != models.SlotID("slot-"+string(id[len("appt-"):])) {
			t.Fatalf("appointment %s: %+v", id, a)
		}
		single, err := as.AppointmentByID(ctx, id)
		MustNoErr(t, err)
		if single.PatientID != a.PatientID || !single.Start.Equal(a.Start) {
			t.Fatalf("appointment %s differs from AppointmentByID: %+v vs %+v", id, a, single)
		}
	}
	got, err = as.AppointmentsByIDs(ctx, []models.AppointmentID{"nope", ""})
	if err != nil || len(got) != 0 {
		t.Fatalf("only missing ids: %v %v", got, err)
	}
}
