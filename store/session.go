package store

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"careway/models"
)

var _ models.SessionStore = (*SessionStore)(nil)

// SessionStore keeps sessions in the sessions collection and writes their slots to the slots
// collection.
//
// Refusing a clinician's overlapping sessions needs a check and an insert that nothing can
// slip between; without transactions, creation is serialised per clinician by a short lease
// ("session:" + clinician id) in the leases collection, which works on MongoDB across nodes
// and on FerretDB alike. A crash while holding it blocks that clinician's publishing for at
// most sessionLeaseTTL.
type SessionStore struct {
	db     *DB
	c      *mongo.Collection
	slots  *mongo.Collection
	leases *LeaseStore
}

const sessionLeaseTTL = 30 * time.Second

// NewSessionStore returns the SessionStore of db.
func NewSessionStore(db *DB) *SessionStore {
	return &SessionStore{db: db, c: db.collection(collSessions), slots: db.collection(collSlots), leases: NewLeaseStore(db)}
}

type sessionDoc struct {
	ID          string    `bson:"_id"`
	PracticeID  string    `bson:"practiceId"`
	SiteID      string    `bson:"siteId"`
	ClinicianID string    `bson:"clinicianId"`
	ServiceType string    `bson:"serviceType"`
	Modes       []string  `bson:"modes"`
	Start       time.Time `bson:"start"`
	End         time.Time `bson:"end"`
	SlotMinutes int       `bson:"slotMinutes"`
	SlotCount   int       `bson:"slotCount"`
	Status      string    `bson:"status"`
	CancelNote  string    `bson:"cancelReason,omitempty"`
	CreatedBy   string    `bson:"createdBy"`
	CreatedAt   time.Time `bson:"createdAt"`
	UpdatedAt   time.Time `bson:"updatedAt"`
}

func (d *sessionDoc) model() *models.Session {
	s := &models.Session{ID: models.SessionID(d.ID), PracticeID: models.PracticeID(d.PracticeID), SiteID: models.SiteID(d.SiteID),
		ClinicianID: models.UserID(d.ClinicianID), ServiceType: models.ServiceType(d.ServiceType), Start: d.Start.UTC(), End: d.End.UTC(),
		SlotMinutes: d.SlotMinutes, SlotCount: d.SlotCount, Status: d.Status, CancelNote: d.CancelNote,
		CreatedBy: models.UserID(d.CreatedBy), CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	for _, m := range d.Modes {
		s.Modes = append(s.Modes, models.AppointmentMode(m))
	}
	return s
}

// CreateSession stores an active session and then its slots (stepFree copied from the site
// onto each slot for search). Returns ECONFLICT if the clinician has an active session
// overlapping it, if another session of the clinician is being published at this moment, or if
// the id exists.
//
// Write order: the session first, then its slots (derived ids, inserted unordered). A crash in
// between leaves a session with fewer slots than SlotCount, never a bookable slot without a
// session; EnsureSlots repairs it.
func (s *SessionStore) CreateSession(ctx context.Context, sess *models.Session, stepFree bool) error {
	if sess.ID == "" {
		sess.ID = models.SessionID(models.NewID())
	}
	holder := models.NewID()
	lease := "session:" + string(sess.ClinicianID)
	ok, err := s.leases.AcquireLease(ctx, lease, holder, time.Now(), sessionLeaseTTL)
	if err != nil {
		return err
	}
	if !ok {
		return models.Errorf(models.ECONFLICT, "Another session of this clinician is being published; try again.")
	}
	defer s.leases.ReleaseLease(context.WithoutCancel(ctx), lease, holder)

	n, err := s.c.CountDocuments(ctx, bson.D{{Key: "clinicianId", Value: string(sess.ClinicianID)}, {Key: "status", Value: models.SessionActive},
		{Key: "start", Value: bson.D{{Key: "$lt", Value: sess.End.UTC()}}}, {Key: "end", Value: bson.D{{Key: "$gt", Value: sess.Start.UTC()}}}})
	if err != nil {
		return wrapErr("sessions.count", err)
	}
	if n > 0 {
		return models.Errorf(models.ECONFLICT, "The clinician already has a session at this time.")
	}
	slots := slotsOf(sess, stepFree)
	sess.SlotCount, sess.Status = len(slots), models.SessionActive
	modes := make([]string, len(sess.Modes))
	for i, m := range sess.Modes {
		modes[i] = string(m)
	}
	doc := &sessionDoc{ID: string(sess.ID), PracticeID: string(sess.PracticeID), SiteID: string(sess.SiteID),
		ClinicianID: string(sess.ClinicianID), ServiceType: string(sess.ServiceType), Modes: modes, Start: sess.Start.UTC(), End: sess.End.UTC(),
		SlotMinutes: sess.SlotMinutes, SlotCount: sess.SlotCount, Status: sess.Status, CreatedBy: string(sess.CreatedBy),
		CreatedAt: sess.CreatedAt.UTC(), UpdatedAt: sess.UpdatedAt.UTC()}
	_, err = s.c.InsertOne(ctx, doc)
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "A session with this id already exists.")
	}
	if err != nil {
		return wrapErr("sessions.insert", err)
	}
	// Known to the slot search before its slots exist: a slot not yet inserted is skipped, and
	// each one is found as soon as it is.
	s.db.sessions.add(doc)
	return s.insertSlots(ctx, slots)
}

// insertSlots inserts slot documents, ignoring those that exist already.
func (s *SessionStore) insertSlots(ctx context.Context, slots []any) error {
	_, err := s.slots.InsertMany(ctx, slots, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil {
		for _, we := range bwe.WriteErrors {
			if we.Code != 11000 {
				return wrapErr("slots.insert", err)
			}
		}
		return nil
	}
	return wrapErr("slots.insert", err)
}

// EnsureSlots inserts any slot an active session is missing (a crash between the session's
// insert and its slots'), returning how many it added.
func (s *SessionStore) EnsureSlots(ctx context.Context, id models.SessionID, stepFree bool) (int, error) {
	sess, err := s.SessionByID(ctx, id)
	if err != nil || sess.Status != models.SessionActive {
		return 0, err
	}
	have, err := s.slots.CountDocuments(ctx, bson.D{{Key: "sessionId", Value: string(id)}})
	if err != nil {
		return 0, wrapErr("slots.count", err)
	}
	if int(have) >= sess.SlotCount {
		return 0, nil
	}
	return sess.SlotCount - int(have), s.insertSlots(ctx, slotsOf(sess, stepFree))
}

// SessionByID returns ENOTFOUND if there is no such session.
func (s *SessionStore) SessionByID(ctx context.Context, id models.SessionID) (*models.Session, error) {
	d, err := findByID[sessionDoc](ctx, s.c, string(id), "Session not found.")
	if err != nil {
		return nil, err
	}
	return d.model(), nil
}

// ListSessions lists a practice's sessions (optionally one clinician's, in a time range) by
// start then id. Returns EINVALID without a practice or for a bad cursor.
func (s *SessionStore) ListSessions(ctx context.Context, f models.SessionFilter, p models.Page) ([]*models.Session, string, error) {
	if f.PracticeID == "" {
		return nil, "", invalid("practiceId", "is required")
	}
	filter := withEqual(bson.D{}, "practiceId", string(f.PracticeID), "clinicianId", string(f.ClinicianID))
	if r := timeRange(f.From, f.To); r != nil {
		filter = append(filter, bson.E{Key: "start", Value: r})
	}
	return listByTime(ctx, s.c, filter, "start", true, p, func(d *sessionDoc) (time.Time, string) { return d.Start, d.ID }, (*sessionDoc).model)
}

// timeRange is the filter of times in [from, to), nil when both are zero.
func timeRange(from, to time.Time) bson.D {
	var r bson.D
	if !from.IsZero() {
		r = append(r, bson.E{Key: "$gte", Value: from.UTC()})
	}
	if !to.IsZero() {
		r = append(r, bson.E{Key: "$lt", Value: to.UTC()})
	}
	return r
}

// CancelSession marks an active session cancelled, then every slot of it cancelled, and returns
// the appointments that held slots of it. Slots are cancelled before they are read, so a claim
// racing with the cancellation either lands first (and its appointment is listed) or fails.
// Cancelling a cancelled session repeats the slot step. Returns ENOTFOUND.
func (s *SessionStore) CancelSession(ctx context.Context, id models.SessionID, reason string, now time.Time) (*models.Session, []models.AppointmentID, error) {
	sess, err := s.cancelDoc(ctx, id, reason, now)
	if err != nil {
		return nil, nil, err
	}
	unlock := s.db.lockWrites(collSlots)
	_, err = s.slots.UpdateMany(ctx, bson.D{{Key: "sessionId", Value: string(id)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: models.SlotCancelled}}}})
	unlock()
	if err != nil {
		return nil, nil, wrapErr("slots.cancel", err)
	}
	cur, err := s.slots.Find(ctx, bson.D{{Key: "sessionId", Value: string(id)}, {Key: "appointmentId", Value: bson.D{{Key: "$exists", Value: true}}}})
	if err != nil {
		return nil, nil, wrapErr("slots.find", err)
	}
	var docs []slotDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, nil, wrapErr("slots.find", err)
	}
	var appts []models.AppointmentID
	seen := map[string]bool{}
	for _, d := range docs {
		if !seen[d.AppointmentID] {
			seen[d.AppointmentID] = true
			appts = append(appts, models.AppointmentID(d.AppointmentID))
		}
	}
	return sess, appts, nil
}

func (s *SessionStore) cancelDoc(ctx context.Context, id models.SessionID, reason string, now time.Time) (*models.Session, error) {
	defer s.db.lockWrites(collSessions)()
	var d sessionDoc
	err := s.c.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: string(id)}, {Key: "status", Value: models.SessionActive}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: models.SessionCancelled}, {Key: "cancelReason", Value: reason}, {Key: "updatedAt", Value: now.UTC()}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		// Already cancelled: hand it back so the slot step runs again (a crash between the
		// two writes is repaired by cancelling again).
		return s.SessionByID(ctx, id)
	}
	if err != nil {
		return nil, wrapErr("sessions.cancel", err)
	}
	s.db.sessions.remove(d.PracticeID, d.ID)
	return d.model(), nil
}
