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
	c *mongo.Collection
}

// NewConditionStore returns the ConditionStore of db.
func NewConditionStore(db *DB) *ConditionStore {
	return &ConditionStore{c: db.collection(collConditions)}
}

type conditionDoc struct {
	ID         string    `bson:"_id"`
	PatientID  string    `bson:"patientId"`
	Code       string    `bson:"code"`
	SNOMED     string    `bson:"snomed"`
	Display    string    `bson:"display"`
	Onset      string    `bson:"onset,omitempty"`
	Status     string    `bson:"status"`
	RecordedBy string    `bson:"recordedBy,omitempty"`
	RecordedAt time.Time `bson:"recordedAt"`
}

// AddCondition stores a condition. Returns ECONFLICT if the id is taken.
func (s *ConditionStore) AddCondition(ctx context.Context, c *models.Condition) error {
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
	for _, d := range docs {
		out = append(out, &models.Condition{ID: d.ID, PatientID: models.PatientID(d.PatientID), Code: models.ConditionCode(d.Code),
			SNOMED: d.SNOMED, Display: d.Display, Onset: d.Onset, Status: d.Status, RecordedBy: models.UserID(d.RecordedBy),
			RecordedAt: d.RecordedAt.UTC()})
	}
	return out, nil
}
