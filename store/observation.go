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

var _ models.ObservationStore = (*ObservationStore)(nil)

// ObservationStore keeps readings in the observations collection, _id the client's UUID. A
// reading is inserted once and afterwards changes only to be marked entered-in-error.
type ObservationStore struct {
	db *DB
	c  *mongo.Collection
}

// NewObservationStore returns the ObservationStore of db.
func NewObservationStore(db *DB) *ObservationStore {
	return &ObservationStore{db: db, c: db.collection(collObservations)}
}

type interpretationDoc struct {
	Level     string         `bson:"level"`
	Score     *int           `bson:"score,omitempty"`
	SubScores map[string]int `bson:"subScores,omitempty"`
	Band      string         `bson:"band,omitempty"`
	RuleID    string         `bson:"ruleId"`
	Advice    string         `bson:"advice"`
}

type correctionDoc struct {
	Reason string    `bson:"reason"`
	By     string    `bson:"by"`
	At     time.Time `bson:"at"`
}

// observationDoc is the stored form of a models.Observation.
type observationDoc struct {
	ID          string    `bson:"_id"`
	PatientID   string    `bson:"patientId"`
	Code        string    `bson:"code"`
	EffectiveAt time.Time `bson:"effectiveAt"`

	Value     *float64 `bson:"value,omitempty"`
	Unit      string   `bson:"unit,omitempty"`
	Systolic  *float64 `bson:"systolic,omitempty"`
	Diastolic *float64 `bson:"diastolic,omitempty"`
	Symptom   *bool    `bson:"symptomatic,omitempty"`
	Answers   []int    `bson:"answers,omitempty"`
	Total     *int     `bson:"total,omitempty"`

	SmokingStatus string   `bson:"smokingStatus,omitempty"`
	Text          string   `bson:"text,omitempty"`
	SoftSigns     []string `bson:"softSigns,omitempty"`

	RespiratoryRate  *float64 `bson:"respiratoryRate,omitempty"`
	OxygenSaturation *float64 `bson:"oxygenSaturation,omitempty"`
	OnOxygen         *bool    `bson:"onOxygen,omitempty"`
	Pulse            *float64 `bson:"pulse,omitempty"`
	Consciousness    string   `bson:"consciousness,omitempty"`
	Temperature      *float64 `bson:"temperature,omitempty"`
	Pregnant         *bool    `bson:"pregnant,omitempty"`
	BMI              *float64 `bson:"bmi,omitempty"`

	Interpretation interpretationDoc `bson:"interpretation"`
	PlanID         string            `bson:"planId,omitempty"`
	PlanVersion    int               `bson:"planVersion,omitempty"`

	Status     string         `bson:"status"`
	Correction *correctionDoc `bson:"correction,omitempty"`

	RecordedBy     string    `bson:"recordedBy"`
	RecordedByRole string    `bson:"recordedByRole"`
	RecordedAt     time.Time `bson:"recordedAt"`
	UpdatedAt      time.Time `bson:"updatedAt"`
	Fingerprint    string    `bson:"fingerprint"`
}

func toObservationDoc(o *models.Observation) *observationDoc {
	d := &observationDoc{
		ID: string(o.ID), PatientID: string(o.PatientID), Code: string(o.Code), EffectiveAt: o.EffectiveAt.UTC(),
		Value: o.Value, Unit: o.Unit, Systolic: o.Systolic, Diastolic: o.Diastolic, Symptom: o.Symptomatic, Answers: o.Answers, Total: o.Total,
		SmokingStatus: o.SmokingStatus, Text: o.Text, SoftSigns: o.SoftSigns,
		RespiratoryRate: o.RespiratoryRate, OxygenSaturation: o.OxygenSaturation, OnOxygen: o.OnOxygen, Pulse: o.Pulse,
		Consciousness: o.Consciousness, Temperature: o.Temperature, Pregnant: o.Pregnant, BMI: o.BMI,
		Interpretation: interpretationDoc{Level: string(o.Interpretation.Level), Score: o.Interpretation.Score,
			SubScores: o.Interpretation.SubScores, Band: o.Interpretation.Band, RuleID: o.Interpretation.RuleID,
			Advice: o.Interpretation.Advice},
		PlanID: string(o.PlanID), PlanVersion: o.PlanVersion, Status: o.Status,
		RecordedBy: string(o.RecordedBy), RecordedByRole: string(o.RecordedByRole), RecordedAt: o.RecordedAt.UTC(),
		UpdatedAt: o.UpdatedAt.UTC(), Fingerprint: o.Fingerprint,
	}
	if o.Correction != nil {
		d.Correction = &correctionDoc{Reason: o.Correction.Reason, By: string(o.Correction.By), At: o.Correction.At.UTC()}
	}
	return d
}

func (d *observationDoc) model() *models.Observation {
	o := &models.Observation{
		ID: models.ObservationID(d.ID), PatientID: models.PatientID(d.PatientID), Code: models.ObservationCode(d.Code),
		EffectiveAt: d.EffectiveAt.UTC(), Value: d.Value, Unit: d.Unit, Systolic: d.Systolic, Diastolic: d.Diastolic, Symptomatic: d.Symptom,
		Answers: d.Answers, Total: d.Total, SmokingStatus: d.SmokingStatus, Text: d.Text, SoftSigns: d.SoftSigns,
		RespiratoryRate: d.RespiratoryRate, OxygenSaturation: d.OxygenSaturation, OnOxygen: d.OnOxygen, Pulse: d.Pulse,
		Consciousness: d.Consciousness, Temperature: d.Temperature, Pregnant: d.Pregnant, BMI: d.BMI,
		Interpretation: models.Interpretation{Level: models.Level(d.Interpretation.Level), Score: d.Interpretation.Score,
			SubScores: d.Interpretation.SubScores, Band: d.Interpretation.Band, RuleID: d.Interpretation.RuleID,
			Advice: d.Interpretation.Advice},
		PlanID: models.PlanID(d.PlanID), PlanVersion: d.PlanVersion, Status: d.Status,
		RecordedBy: models.UserID(d.RecordedBy), RecordedByRole: models.Role(d.RecordedByRole), RecordedAt: d.RecordedAt.UTC(),
		UpdatedAt: d.UpdatedAt.UTC(), Fingerprint: d.Fingerprint,
	}
	if d.Correction != nil {
		o.Correction = &models.Correction{Reason: d.Correction.Reason, By: models.UserID(d.Correction.By), At: d.Correction.At.UTC()}
	}
	return o
}

// duplicateKeyCode is the server's code for a unique-index violation.
const duplicateKeyCode = 11000

// InsertObservations stores a batch with one unordered insertMany, so one duplicate does not
// stop the rest. The server reports each failed document by its index in the batch; those with
// a duplicate _id answer ECONFLICT. A failure that names no document (the server gone) fails
// the whole call.
func (s *ObservationStore) InsertObservations(ctx context.Context, obs []*models.Observation) ([]error, error) {
	perItem := make([]error, len(obs))
	if len(obs) == 0 {
		return perItem, nil
	}
	docs := make([]any, len(obs))
	for i, o := range obs {
		docs[i] = toObservationDoc(o)
	}
	_, err := s.c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return perItem, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return nil, wrapErr("observations.insertMany", err)
	}
	for _, we := range bwe.WriteErrors {
		if we.Index < 0 || we.Index >= len(obs) {
			return nil, wrapErr("observations.insertMany", err)
		}
		if we.Code == duplicateKeyCode {
			perItem[we.Index] = models.Errorf(models.ECONFLICT, "A reading with this id exists already.")
		} else {
			perItem[we.Index] = models.Wrap(models.EINTERNAL, &driverError{op: "observations.insertMany", err: err}, msgInternal)
		}
	}
	return perItem, nil
}

// ObservationsByID returns the stored readings with the given ids, whoever they belong to.
func (s *ObservationStore) ObservationsByID(ctx context.Context, ids []models.ObservationID) (map[models.ObservationID]*models.Observation, error) {
	out := make(map[models.ObservationID]*models.Observation, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = string(id)
	}
	cur, err := s.c.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}})
	if err != nil {
		return nil, wrapErr("observations.find", err)
	}
	var docs []observationDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrapErr("observations.find", err)
	}
	for i := range docs {
		out[models.ObservationID(docs[i].ID)] = docs[i].model()
	}
	return out, nil
}

// ObservationByID returns one reading of a patient; ENOTFOUND if there is none.
func (s *ObservationStore) ObservationByID(ctx context.Context, patient models.PatientID, id models.ObservationID) (*models.Observation, error) {
	var d observationDoc
	err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: string(id)}}).Decode(&d)
	if err == nil && d.PatientID != string(patient) {
		err = mongo.ErrNoDocuments // another patient's reading is not this patient's to see
	}
	if err != nil {
		return nil, notFound("observations.findOne", err, "No reading of this patient has this id.")
	}
	return d.model(), nil
}

// ListObservations lists readings by effectiveAt and id, newest first unless f.Ascending. The
// cursor holds the last item's time and id, so paging is stable while readings arrive.
func (s *ObservationStore) ListObservations(ctx context.Context, f models.ObservationFilter, p models.Page) ([]*models.Observation, string, error) {
	if f.PatientID == "" {
		return nil, "", invalid("patientId", "is required")
	}
	filter := bson.D{{Key: "patientId", Value: string(f.PatientID)}}
	if f.Code != "" {
		filter = append(filter, bson.E{Key: "code", Value: string(f.Code)})
	}
	if !f.IncludeEnteredInError {
		filter = append(filter, bson.E{Key: "status", Value: models.ObservationFinal})
	}
	rng := bson.D{}
	if !f.From.IsZero() {
		rng = append(rng, bson.E{Key: "$gte", Value: f.From.UTC()})
	}
	if !f.To.IsZero() {
		rng = append(rng, bson.E{Key: "$lt", Value: f.To.UTC()})
	}
	if len(rng) > 0 {
		filter = append(filter, bson.E{Key: "effectiveAt", Value: rng})
	}
	return listByTime(ctx, s.c, filter, "effectiveAt", f.Ascending, p,
		func(d *observationDoc) (time.Time, string) { return d.EffectiveAt, d.ID }, (*observationDoc).model)
}

// LatestObservation returns the most recent final reading of a code at or before before.
func (s *ObservationStore) LatestObservation(ctx context.Context, patient models.PatientID, code models.ObservationCode, before time.Time) (*models.Observation, error) {
	filter := bson.D{{Key: "patientId", Value: string(patient)}, {Key: "code", Value: string(code)},
		{Key: "status", Value: models.ObservationFinal}}
	if !before.IsZero() {
		filter = append(filter, bson.E{Key: "effectiveAt", Value: bson.D{{Key: "$lte", Value: before.UTC()}}})
	}
	var d observationDoc
	err := s.c.FindOne(ctx, filter, options.FindOne().SetSort(bson.D{{Key: "effectiveAt", Value: -1}, {Key: "_id", Value: -1}})).Decode(&d)
	if err != nil {
		return nil, notFound("observations.findOne", err, "No such reading is on record.")
	}
	return d.model(), nil
}

// MarkEnteredInError flags a final reading as entered in error; the reading stays.
func (s *ObservationStore) MarkEnteredInError(ctx context.Context, patient models.PatientID, id models.ObservationID, c models.Correction) (*models.Observation, error) {
	defer s.db.lockWrites(collObservations)()
	filter := bson.D{{Key: "_id", Value: string(id)}, {Key: "patientId", Value: string(patient)},
		{Key: "status", Value: models.ObservationFinal}}
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: "status", Value: models.ObservationEnteredInError},
		{Key: "correction", Value: correctionDoc{Reason: c.Reason, By: string(c.By), At: c.At.UTC()}},
		{Key: "updatedAt", Value: c.At.UTC()},
	}}}
	var d observationDoc
	err := s.c.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		if _, gerr := s.ObservationByID(ctx, patient, id); gerr != nil {
			return nil, gerr
		}
		return nil, models.Errorf(models.ECONFLICT, "This reading is already marked entered in error.")
	}
	if err != nil {
		return nil, wrapErr("observations.update", err)
	}
	return d.model(), nil
}
