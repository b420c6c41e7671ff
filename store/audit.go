package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"careway/models"
)

var _ models.AuditStore = (*AuditStore)(nil)

// AuditStore keeps the audit trail in the audit collection. It only inserts and reads: no
// method changes or deletes an event.
type AuditStore struct {
	db *DB
	c  *mongo.Collection
}

// NewAuditStore returns the AuditStore of db.
func NewAuditStore(db *DB) *AuditStore { return &AuditStore{db: db, c: db.collection(collAudit)} }

type auditDoc struct {
	ID         string    `bson:"_id"`
	At         time.Time `bson:"at"`
	ActorID    string    `bson:"actorId,omitempty"`
	ActorRole  string    `bson:"actorRole,omitempty"`
	Action     string    `bson:"action"`
	PatientID  string    `bson:"patientId,omitempty"`
	Resource   string    `bson:"resource,omitempty"`
	Outcome    string    `bson:"outcome"`
	Reason     string    `bson:"reason,omitempty"`
	RequestID  string    `bson:"requestId,omitempty"`
	ClientAddr string    `bson:"clientAddr,omitempty"`
}

func (d *auditDoc) model() *models.AuditEvent {
	return &models.AuditEvent{
		ID: d.ID, At: d.At, ActorID: models.UserID(d.ActorID), ActorRole: models.Role(d.ActorRole),
		Action: d.Action, PatientID: models.PatientID(d.PatientID), Resource: d.Resource,
		Outcome: d.Outcome, Reason: d.Reason, RequestID: d.RequestID, ClientAddr: d.ClientAddr,
	}
}

// AppendAudit stores one event. The caller sets At; an empty ID is filled with a new one.
// At is kept to the millisecond, the precision of a BSON date. Returns ECONFLICT if an event
// with that id exists.
func (s *AuditStore) AppendAudit(ctx context.Context, e *models.AuditEvent) error {
	if e.ID == "" {
		e.ID = models.NewID()
	}
	doc := &auditDoc{
		ID: e.ID, At: e.At.UTC(), ActorID: string(e.ActorID), ActorRole: string(e.ActorRole),
		Action: e.Action, PatientID: string(e.PatientID), Resource: e.Resource, Outcome: e.Outcome,
		Reason: e.Reason, RequestID: e.RequestID, ClientAddr: e.ClientAddr,
	}
	err := s.db.writeOne(func() error { _, err := s.c.InsertOne(ctx, doc); return err })
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "An audit event with this id already exists.")
	}
	return wrapErr("audit.insert", err)
}

// ListAuditByPatient lists the events about one patient, newest first. Returns EINVALID for a
// cursor this list did not return.
func (s *AuditStore) ListAuditByPatient(ctx context.Context, patient models.PatientID, p models.Page) ([]*models.AuditEvent, string, error) {
	return s.list(ctx, "patientId", string(patient), p)
}

// ListAuditByActor lists the events caused by one user, newest first. Returns EINVALID for a
// cursor this list did not return.
func (s *AuditStore) ListAuditByActor(ctx context.Context, actor models.UserID, p models.Page) ([]*models.AuditEvent, string, error) {
	return s.list(ctx, "actorId", string(actor), p)
}

// list pages through the events whose field equals value, ordered by at then _id, both
// descending. Many events can share a millisecond, so the cursor holds both keys and the next
// page starts strictly after the pair; the index {field, at: -1, _id: -1} serves the query.
func (s *AuditStore) list(ctx context.Context, field, value string, p models.Page) ([]*models.AuditEvent, string, error) {
	return listByTime(ctx, s.c, bson.D{{Key: field, Value: value}}, "at", false, p,
		func(d *auditDoc) (time.Time, string) { return d.At, d.ID }, (*auditDoc).model)
}
