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
