package store

import (
	"context"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"careway/models"
)

var _ models.SlotStore = (*SlotStore)(nil)

// SlotStore keeps slots in the slots collection, _id the slot id. A slot is claimed by a
// single-document conditional update (status free → held, with the appointment id), which
// MongoDB applies atomically and FerretDB does under the collection's write lock: of many
// concurrent claims exactly one matches.
type SlotStore struct {
	db *DB
	c  *mongo.Collection
}

// NewSlotStore returns the SlotStore of db.
func NewSlotStore(db *DB) *SlotStore { return &SlotStore{db: db, c: db.collection(collSlots)} }

type slotDoc struct {
	ID            string     `bson:"_id"`
	SessionID     string     `bson:"sessionId"`
	PracticeID    string     `bson:"practiceId"`
	SiteID        string     `bson:"siteId"`
	ClinicianID   string     `bson:"clinicianId"`
	ServiceType   string     `bson:"serviceType"`
	Modes         []string   `bson:"modes"`
	Start         time.Time  `bson:"start"`
	End           time.Time  `bson:"end"`
	StepFree      bool       `bson:"stepFree"`
	Status        string     `bson:"status"`
	AppointmentID string     `bson:"appointmentId,omitempty"`
	HeldAt        *time.Time `bson:"heldAt,omitempty"`
}

func (d *slotDoc) model() *models.Slot {
	s := &models.Slot{ID: models.SlotID(d.ID), SessionID: models.SessionID(d.SessionID), PracticeID: models.PracticeID(d.PracticeID),
		SiteID: models.SiteID(d.SiteID), ClinicianID: models.UserID(d.ClinicianID), ServiceType: models.ServiceType(d.ServiceType),
		Start: d.Start.UTC(), End: d.End.UTC(), StepFree: d.StepFree, Status: d.Status, AppointmentID: models.AppointmentID(d.AppointmentID)}
	for _, m := range d.Modes {
		s.Modes = append(s.Modes, models.AppointmentMode(m))
	}
	if len(s.Modes) > 0 {
		s.Mode = s.Modes[0]
	}
	if d.HeldAt != nil {
		s.HeldAt = d.HeldAt.UTC()
	}
	return s
}

// SlotIDFor returns the id of slot n of a session: derived, so generating a session's slots
// again (after a crash part-way) makes the same ids and inserts only the missing ones.
func SlotIDFor(session models.SessionID, n int) models.SlotID {
	return models.SlotID(models.DerivedID("slot", string(session), strconv.Itoa(n)))
}

// slotsOf cuts a session into its slot documents.
func slotsOf(s *models.Session, stepFree bool) []any {
	modes := make([]string, len(s.Modes))
	for i, m := range s.Modes {
		modes[i] = string(m)
	}
	step := time.Duration(s.SlotMinutes) * time.Minute
	var docs []any
	for n, t := 0, s.Start.UTC(); t.Before(s.End); n, t = n+1, t.Add(step) {
		docs = append(docs, &slotDoc{ID: string(SlotIDFor(s.ID, n)), SessionID: string(s.ID), PracticeID: string(s.PracticeID),
			SiteID: string(s.SiteID), ClinicianID: string(s.ClinicianID), ServiceType: string(s.ServiceType), Modes: modes,
			Start: t, End: t.Add(step), StepFree: stepFree, Status: models.SlotFree})
	}
	return docs
}

// SlotByID returns ENOTFOUND if there is no such slot.
func (s *SlotStore) SlotByID(ctx context.Context, id models.SlotID) (*models.Slot, error) {
	d, err := findByID[slotDoc](ctx, s.c, string(id), "Slot not found.")
	if err != nil {
		return nil, err
	}
	return d.model(), nil
}

// SearchSlots lists free slots matching q by start then id. The slot's Mode is q.Mode when set.
// Returns EINVALID without a practice or for a cursor this search did not return.
func (s *SlotStore) SearchSlots(ctx context.Context, q models.SlotQuery, p models.Page) ([]*models.Slot, string, error) {
	if q.PracticeID == "" {
		return nil, "", invalid("practiceId", "is required")
	}
	if s.db.serialWrites { // FerretDB: the query below would be a scan of every slot
		return s.searchBySessions(ctx, q, p)
	}
	return s.searchByQuery(ctx, q, p)
}

// searchByQuery is SearchSlots as one query, which MongoDB answers from the index
// (practiceId, status, start, _id).
func (s *SlotStore) searchByQuery(ctx context.Context, q models.SlotQuery, p models.Page) ([]*models.Slot, string, error) {
	start := bson.D{{Key: "$gte", Value: q.NotBefore.UTC()}}
	if !q.Before.IsZero() {
		start = append(start, bson.E{Key: "$lt", Value: q.Before.UTC()})
	}
	filter := bson.D{{Key: "practiceId", Value: string(q.PracticeID)}, {Key: "status", Value: models.SlotFree}, {Key: "start", Value: start}}
	filter = withEqual(filter, "siteId", string(q.SiteID), "clinicianId", string(q.ClinicianID), "modes", string(q.Mode),
		"serviceType", string(q.ServiceType))
	if q.StepFreeOnly {
		filter = append(filter, bson.E{Key: "stepFree", Value: true})
	}
	items, next, err := listByTime(ctx, s.c, filter, "start", true, p, func(d *slotDoc) (time.Time, string) { return d.Start, d.ID }, (*slotDoc).model)
	if err == nil && q.Mode != "" {
		for _, it := range items {
			it.Mode = q.Mode
		}
	}
	return items, next, err
}

// NextSlot returns the slot of the same session that starts when id ends. Returns ENOTFOUND.
func (s *SlotStore) NextSlot(ctx context.Context, id models.SlotID) (*models.Slot, error) {
	first, err := s.SlotByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.db.serialWrites { // FerretDB: the query below would be a scan of every slot
		return s.nextByID(ctx, first)
	}
	return s.nextByQuery(ctx, first)
}

// nextByQuery is NextSlot as one query, which MongoDB answers from the index (sessionId, start).
func (s *SlotStore) nextByQuery(ctx context.Context, first *models.Slot) (*models.Slot, error) {
	var d slotDoc
	err := s.c.FindOne(ctx, bson.D{{Key: "sessionId", Value: string(first.SessionID)}, {Key: "start", Value: first.End}}).Decode(&d)
	if err != nil {
		return nil, notFound("slots.findOne", err, "The session has no slot after this one.")
	}
	return d.model(), nil
}

// ClaimSlot holds a free slot for appt, or returns it unchanged if appt holds it already (a
// retried booking). Returns ENOTFOUND; ECONFLICT if another appointment holds it or it is
// cancelled.
func (s *SlotStore) ClaimSlot(ctx context.Context, id models.SlotID, appt models.AppointmentID, now time.Time) (*models.Slot, error) {
	defer s.db.lockWrites(collSlots)()
	d, ok, err := guardedUpdate(ctx, s.db, s.c, string(id), bson.D{{Key: "status", Value: models.SlotFree}},
		func(d *slotDoc) bool { return d.Status == models.SlotFree },
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: models.SlotHeld}, {Key: "appointmentId", Value: string(appt)}, {Key: "heldAt", Value: now.UTC()}}}})
	if err != nil {
		return nil, wrapErr("slots.claim", err)
	}
	if ok {
		return d.model(), nil
	}
	cur, err := s.SlotByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if cur.AppointmentID == appt && (cur.Status == models.SlotHeld || cur.Status == models.SlotBooked) {
		return cur, nil
	}
	return nil, models.Errorf(models.ECONFLICT, "This slot is no longer free.")
}

// ConfirmSlot marks a slot held by appt as booked. Returns ECONFLICT if appt does not hold it
// (the reconciler freed it, or its session was cancelled).
func (s *SlotStore) ConfirmSlot(ctx context.Context, id models.SlotID, appt models.AppointmentID) error {
	defer s.db.lockWrites(collSlots)()
	_, ok, err := s.updateHeldBy(ctx, id, appt, bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: models.SlotBooked}}}})
	if err != nil {
		return wrapErr("slots.confirm", err)
	}
	if !ok {
		return models.Errorf(models.ECONFLICT, "This slot is no longer held for the appointment.")
	}
	return nil
}

// ReleaseSlot frees a slot held or booked by appt; anything else is left alone, so releasing
// twice is harmless and a slot that has passed to another appointment is never taken from it.
func (s *SlotStore) ReleaseSlot(ctx context.Context, id models.SlotID, appt models.AppointmentID) error {
	defer s.db.lockWrites(collSlots)()
	_, _, err := s.updateHeldBy(ctx, id, appt, bson.D{
		{Key: "$set", Value: bson.D{{Key: "status", Value: models.SlotFree}}},
		{Key: "$unset", Value: bson.D{{Key: "appointmentId", Value: ""}, {Key: "heldAt", Value: ""}}}})
	return wrapErr("slots.release", err)
}

// updateHeldBy applies update to a slot that appt holds (held or booked). The caller holds the
// write lock.
func (s *SlotStore) updateHeldBy(ctx context.Context, id models.SlotID, appt models.AppointmentID, update bson.D) (*slotDoc, bool, error) {
	return guardedUpdate(ctx, s.db, s.c, string(id),
		bson.D{{Key: "appointmentId", Value: string(appt)}, {Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{models.SlotHeld, models.SlotBooked}}}}},
		func(d *slotDoc) bool {
			return d.AppointmentID == string(appt) && (d.Status == models.SlotHeld || d.Status == models.SlotBooked)
		}, update)
}

// claimedPage is the reconciler's page of claimed slots. It is not bound by the API's page
// limit: on the embedded server each page is a scan of every slot, so fewer, larger pages make
// a pass over a busy practice's bookings several times cheaper.
const claimedPage = 2000

// ListClaimedSlots lists held or booked slots claimed before heldBefore, by id, up to
// claimedPage at a time (p.Limit is not used).
func (s *SlotStore) ListClaimedSlots(ctx context.Context, heldBefore time.Time, p models.Page) ([]*models.Slot, string, error) {
	filter := bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{models.SlotHeld, models.SlotBooked}}}},
		{Key: "heldAt", Value: bson.D{{Key: "$lt", Value: heldBefore.UTC()}}}}
	return listByIDUpTo(ctx, s.c, filter, p, claimedPage, func(d *slotDoc) string { return d.ID }, (*slotDoc).model)
}
