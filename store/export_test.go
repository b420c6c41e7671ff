package store

import (
	"context"

	"careway/models"
)

// SearchSlotsByQuery is SearchSlots as the one query MongoDB answers, run on any server: the
// reference the FerretDB search is tested against.
func (s *SlotStore) SearchSlotsByQuery(ctx context.Context, q models.SlotQuery, p models.Page) ([]*models.Slot, string, error) {
	return s.searchByQuery(ctx, q, p)
}

// NextSlotByQuery is NextSlot as the one query MongoDB answers, run on any server.
func (s *SlotStore) NextSlotByQuery(ctx context.Context, id models.SlotID) (*models.Slot, error) {
	first, err := s.SlotByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.nextByQuery(ctx, first)
}

// SetAppointmentsByIDsChunk sets how many ids one query of AppointmentsByIDs names, until the
// test ends.
func SetAppointmentsByIDsChunk(tb interface{ Cleanup(func()) }, n int) {
	old := appointmentsByIDsChunk
	appointmentsByIDsChunk = n
	tb.Cleanup(func() { appointmentsByIDsChunk = old })
}
