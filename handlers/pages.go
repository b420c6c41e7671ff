package handlers

import "careway/models"

// everyPage gathers every item of a paged list by following its cursors, reading at most
// maxPages pages of the largest size. complete is false when more pages were left unread.
func everyPage[T any](maxPages int, list func(models.Page) ([]T, string, error)) (all []T, complete bool, err error) {
	page := models.Page{Limit: models.MaxPageLimit}
	for range maxPages {
		items, next, err := list(page)
		if err != nil {
			return nil, false, err
		}
		all = append(all, items...)
		if next == "" {
			return all, true, nil
		}
		page.Cursor = next
	}
	return all, false, nil
}
