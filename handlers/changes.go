package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"careway/auth"
	"careway/models"
)

// The change feed: GET /api/v1/patients/{patientId}/changes?since=&limit=
//
// An app that was offline for days asks for everything of its patient that changed since its
// cursor, page by page, and must neither miss nor repeat a change. The feed orders documents by
// the time of their last change (millisecond), then kind, then id (models.ChangeKey) and hands
// out only changes at or before a read watermark (changeWatermark): the watermark stays behind
// every write still in progress, so a write that commits late always lands after the cursor of
// anyone who could have read past it. A cursor is the key of the last change handed out, or,
// once a reader has caught up, "everything up to the watermark": the next read starts strictly
// after it. A document that changes again reappears once, at its new time, as it is then.
// docs/architecture.md ("Sync") has the reasoning in full.

// DefaultChangesSettle is how far the feed's watermark stays behind now when no write is in
// progress in this process, for writes in progress on other nodes sharing the database.
const DefaultChangesSettle = 5 * time.Second

// changeItem is one item of the feed: its kind, when it changed, and the document as it is now
// in the shape the rest of the API gives it.
type changeItem struct {
	Kind        models.ChangeKind   `json:"kind"`
	ChangedAt   time.Time           `json:"changedAt"`
	Observation *models.Observation `json:"observation,omitempty"`
	Plan        *models.Plan        `json:"plan,omitempty"`
	Alert       *models.Alert       `json:"alert,omitempty"`
	Appointment *models.Appointment `json:"appointment,omitempty"`
}

type changesAnswer struct {
	Items []changeItem `json:"items"`
	// NextCursor is where to continue: always set, also when the reader has caught up.
	NextCursor string `json:"nextCursor"`
	// HasMore says whether more changes are ready now; if false, ask again later with
	// NextCursor.
	HasMore bool `json:"hasMore"`
	// Watermark is the latest change time this answer covers.
	Watermark time.Time `json:"watermark"`
	// Kinds lists the kinds the caller may see and this feed includes. If it differs from the
	// kinds of an earlier sync (a proxy's scope changed), the app should sync again from the
	// start.
	Kinds []models.ChangeKind `json:"kinds"`
}

// handleChanges answers the change feed of one patient. It needs ActReadClinical (readings and
// alerts); plan versions are included only with ActReadPlan and appointments only with
// ActReadAppointments, so a care-home proxy sees exactly its scope.
func (s *server) handleChanges(c *fiber.Ctx) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	since, err := models.DecodeChangeCursor("since", utils.CopyString(c.Query("since")))
	if err != nil {
		return err
	}
	if c.Query("cursor") != "" {
		return fieldError("cursor", "the changes feed takes its cursor as since")
	}
	p, err := s.patientFor(c, auth.ActReadClinical)
	if err != nil {
		return err
	}
	a, now := actorOf(c), s.now()
	var sources []models.ChangeSource
	kinds := []models.ChangeKind{}
	for _, src := range s.changeSources {
		switch src.Kind() {
		case models.ChangePlan:
			if auth.Can(a, auth.ActReadPlan, p, now) != nil {
				continue
			}
		case models.ChangeAppointment:
			if auth.Can(a, auth.ActReadAppointments, p, now) != nil {
				continue
			}
		}
		sources = append(sources, src)
		kinds = append(kinds, src.Kind())
	}

	until := s.changeWatermark()
	lists := make([][]models.Change, len(sources))
	for i, src := range sources {
		at, id := since.After(src.Kind())
		if lists[i], err = src.ChangesAfter(c.UserContext(), p.ID, at, id, until, page.Limit+1); err != nil {
			return err
		}
	}
	changes, more := models.MergeChanges(lists, page.Limit)

	next := since
	if len(changes) > 0 {
		next = changes[len(changes)-1].Key
	}
	if caughtUp := (models.ChangeKey{At: until}); !more && next.Less(caughtUp) {
		// Everything up to the watermark has been handed out.
		next = caughtUp
	}
	items := make([]changeItem, len(changes))
	for i, ch := range changes {
		items[i] = changeItem{Kind: ch.Key.Kind, ChangedAt: ch.Key.At, Observation: ch.Observation, Plan: ch.Plan,
			Alert: ch.Alert, Appointment: ch.Appointment}
	}
	if err := s.record(c, "changes.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(changesAnswer{Items: items, NextCursor: models.EncodeChangeCursor(next), HasMore: more,
		Watermark: until, Kinds: kinds})
}
