package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"careway/models"
)

var _ models.ConditionStore = (*ConditionStore)(nil)

// ConditionStore keeps patients' long-term conditions in the conditions collection.
type ConditionStore struct {
	db *DB
	c  *mongo.Collection
}

// NewConditionStore returns the ConditionStore of db.
func NewConditionStore(db *DB) *ConditionStore {
	return &ConditionStore{db: db, c: db.collection(collConditions)}
}

type conditionDoc struct {
	ID         string     `bson:"_id"`
	PatientID  string     `bson:"patientId"`
	Code       string     `bson:"code"`
	SNOMED     string     `bson:"snomed"`
	Display    string     `bson:"display"`
	Onset      string     `bson:"onset,omitempty"`
	Status     string     `bson:"status"`
	RecordedBy string     `bson:"recordedBy,omitempty"`
	RecordedAt time.Time  `bson:"recordedAt"`
	UpdatedBy  string     `bson:"updatedBy,omitempty"`
	UpdatedAt  *time.Time `bson:"updatedAt,omitempty"`
}

func (d *conditionDoc) model() *models.Condition {
	c := &models.Condition{ID: d.ID, PatientID: models.PatientID(d.PatientID), Code: models.ConditionCode(d.Code),
		SNOMED: d.SNOMED, Display: d.Display, Onset: d.Onset, Status: d.Status, RecordedBy: models.UserID(d.RecordedBy),
		RecordedAt: d.RecordedAt.UTC(), UpdatedBy: models.UserID(d.UpdatedBy)}
	if d.UpdatedAt != nil {
		t := d.UpdatedAt.UTC()
		c.UpdatedAt = &t
	}
	return c
}

// AddCondition stores a condition. Returns ECONFLICT if the id is taken, or if the patient has
// an active condition with the same code. The second check runs under the write lock on
// FerretDB; on MongoDB two concurrent adds of one code could both pass it, leaving a duplicate
// entry that a clinician resolves (no clinical value is lost either way).
func (s *ConditionStore) AddCondition(ctx context.Context, c *models.Condition) error {
	defer s.db.lockWrites(collConditions)()
	if c.Status == models.ConditionActive {
		if err := s.checkNoActive(ctx, c.PatientID, c.Code, c.ID); err != nil {
			return err
		}
	}
	d := conditionDoc{ID: c.ID, PatientID: string(c.PatientID), Code: string(c.Code), SNOMED: c.SNOMED,
		Display: c.Display, Onset: c.Onset, Status: c.Status, RecordedBy: string(c.RecordedBy), RecordedAt: c.RecordedAt.UTC()}
	_, err := s.c.InsertOne(ctx, d)
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "A condition with this id already exists.")
	}
	return wrapErr("conditions.insert", err)
}

// ListConditions returns every condition of a patient, oldest first. A patient has a handful,
// so there is no paging.
func (s *ConditionStore) ListConditions(ctx context.Context, patient models.PatientID) ([]*models.Condition, error) {
	cur, err := s.c.Find(ctx, bson.D{{Key: "patientId", Value: string(patient)}},
		options.Find().SetSort(bson.D{{Key: "recordedAt", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(500))
	if err != nil {
		return nil, wrapErr("conditions.find", err)
	}
	var docs []conditionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrapErr("conditions.find", err)
	}
	out := make([]*models.Condition, 0, len(docs))
	for i := range docs {
		out = append(out, docs[i].model())
	}
	return out, nil
}

// checkNoActive returns ECONFLICT if the patient has an active condition with code other than
// the one with id except.
func (s *ConditionStore) checkNoActive(ctx context.Context, patient models.PatientID, code models.ConditionCode, except string) error {
	n, err := s.c.CountDocuments(ctx, bson.D{{Key: "patientId", Value: string(patient)}, {Key: "code", Value: string(code)},
		{Key: "status", Value: models.ConditionActive}, {Key: "_id", Value: bson.D{{Key: "$ne", Value: except}}}})
	if err != nil {
		return wrapErr("conditions.count", err)
	}
	if n > 0 {
		return models.Errorf(models.ECONFLICT, "The patient already has this condition recorded as active.")
	}
	return nil
}

// UpdateCondition changes a condition's status and onset, recording who and when.
func (s *ConditionStore) UpdateCondition(ctx context.Context, patient models.PatientID, id string, u models.ConditionUpdate) (*models.Condition, error) {
	defer s.db.lockWrites(collConditions)()
	var cur conditionDoc
	if err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "patientId", Value: string(patient)}}).Decode(&cur); err != nil {
		return nil, notFound("conditions.findOne", err, "This patient has no condition with this id.")
	}
	if u.Status == models.ConditionActive && cur.Status != models.ConditionActive {
		if err := s.checkNoActive(ctx, patient, models.ConditionCode(cur.Code), id); err != nil {
			return nil, err
		}
	}
	set := bson.D{{Key: "status", Value: u.Status}, {Key: "updatedBy", Value: string(u.By)}, {Key: "updatedAt", Value: u.At.UTC()}}
	if u.Onset != "" {
		set = append(set, bson.E{Key: "onset", Value: u.Onset})
	}
	var d conditionDoc
	err := s.c.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}, {Key: "patientId", Value: string(patient)}},
		bson.D{{Key: "$set", Value: set}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if err != nil {
		return nil, notFound("conditions.update", err, "This patient has no condition with this id.")
	}
	return d.model(), nil
}
