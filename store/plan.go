package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"careway/models"
)

var _ models.PlanStore = (*PlanStore)(nil)

// PlanStore keeps every version of every plan in the plans collection, one document per
// version with _id "<planId>#<version>". A version is only ever inserted, so the unique _id
// decides between two clinicians saving the same next version at once: exactly one insert
// succeeds, the other gets a duplicate key (ECONFLICT) and nothing is overwritten. This needs
// no update, no lock and no transaction, on MongoDB and FerretDB alike.
//
// One plan per patient and condition: version 1 carries createKey "<patientId>:<condition>",
// later versions "id:<_id>", under a unique index (FerretDB has no partial indexes).
type PlanStore struct {
	c *mongo.Collection
}

// NewPlanStore returns the PlanStore of db.
func NewPlanStore(db *DB) *PlanStore { return &PlanStore{c: db.collection(collPlans)} }

type bpTargetDoc struct {
	Systolic  float64 `bson:"systolic"`
	Diastolic float64 `bson:"diastolic"`
}

type thresholdsDoc struct {
	BPTarget             *bpTargetDoc `bson:"bpTarget,omitempty"`
	PeakFlowPersonalBest *float64     `bson:"peakFlowPersonalBest,omitempty"`
	SpO2Scale2           bool         `bson:"spo2Scale2,omitempty"`
	HbA1cTarget          *float64     `bson:"hba1cTarget,omitempty"`
	BMILowerCutPoints    bool         `bson:"bmiLowerCutPoints,omitempty"`
}

type goalDoc struct {
	Description string   `bson:"description"`
	Code        string   `bson:"code,omitempty"`
	Low         *float64 `bson:"low,omitempty"`
	High        *float64 `bson:"high,omitempty"`
	Unit        string   `bson:"unit,omitempty"`
	By          string   `bson:"by,omitempty"`
}

type scheduleDoc struct {
	Code  string `bson:"code"`
	Times int    `bson:"times"`
	Per   string `bson:"per"`
}

type planDoc struct {
	ID         string        `bson:"_id"`
	PlanID     string        `bson:"planId"`
	CreateKey  string        `bson:"createKey"`
	PatientID  string        `bson:"patientId"`
	Condition  string        `bson:"condition"`
	Version    int           `bson:"version"`
	Status     string        `bson:"status"`
	Goals      []goalDoc     `bson:"goals"`
	Thresholds thresholdsDoc `bson:"thresholds"`
	Monitoring []scheduleDoc `bson:"monitoring"`
	Actions    []string      `bson:"actions"`
	IfWorse    string        `bson:"ifWorse"`
	ReviewDate string        `bson:"reviewDate"`
	AuthorID   string        `bson:"authorId"`
	CreatedAt  time.Time     `bson:"createdAt"`
}

func planVersionID(id models.PlanID, version int) string { return fmt.Sprintf("%s#%d", id, version) }

func toPlanDoc(p *models.Plan) *planDoc {
	d := &planDoc{ID: planVersionID(p.ID, p.Version), PlanID: string(p.ID), PatientID: string(p.PatientID),
		Condition: string(p.Condition), Version: p.Version, Status: p.Status, Actions: p.Actions, IfWorse: p.IfWorse,
		ReviewDate: p.ReviewDate, AuthorID: string(p.AuthorID), CreatedAt: p.CreatedAt.UTC(),
		Goals: make([]goalDoc, len(p.Goals)), Monitoring: make([]scheduleDoc, len(p.Monitoring))}
	d.CreateKey = "id:" + d.ID
	if p.Version == 1 {
		d.CreateKey = string(p.PatientID) + ":" + string(p.Condition)
	}
	if d.Actions == nil {
		d.Actions = []string{}
	}
	for i, g := range p.Goals {
		d.Goals[i] = goalDoc{Description: g.Description, Code: string(g.Code), Low: g.Low, High: g.High, Unit: g.Unit, By: g.By}
	}
	for i, m := range p.Monitoring {
		d.Monitoring[i] = scheduleDoc{Code: string(m.Code), Times: m.Times, Per: m.Per}
	}
	t := p.Thresholds
	d.Thresholds = thresholdsDoc{PeakFlowPersonalBest: t.PeakFlowPersonalBest, SpO2Scale2: t.SpO2Scale2, HbA1cTarget: t.HbA1cTarget, BMILowerCutPoints: t.BMILowerCutPoints}
	if t.BPTarget != nil {
		d.Thresholds.BPTarget = &bpTargetDoc{Systolic: t.BPTarget.Systolic, Diastolic: t.BPTarget.Diastolic}
	}
	return d
}

func (d *planDoc) model() *models.Plan {
	p := &models.Plan{ID: models.PlanID(d.PlanID), PatientID: models.PatientID(d.PatientID),
		Condition: models.ConditionCode(d.Condition), Version: d.Version, Status: d.Status, Actions: d.Actions,
		IfWorse: d.IfWorse, ReviewDate: d.ReviewDate, AuthorID: models.UserID(d.AuthorID), CreatedAt: d.CreatedAt.UTC(),
		Goals: make([]models.Goal, len(d.Goals)), Monitoring: make([]models.Schedule, len(d.Monitoring))}
	if p.Actions == nil {
		p.Actions = []string{}
	}
	for i, g := range d.Goals {
		p.Goals[i] = models.Goal{Description: g.Description, Code: models.ObservationCode(g.Code), Low: g.Low, High: g.High, Unit: g.Unit, By: g.By}
	}
	for i, m := range d.Monitoring {
		p.Monitoring[i] = models.Schedule{Code: models.ObservationCode(m.Code), Times: m.Times, Per: m.Per}
	}
	t := d.Thresholds
	p.Thresholds = models.Thresholds{PeakFlowPersonalBest: t.PeakFlowPersonalBest, SpO2Scale2: t.SpO2Scale2, HbA1cTarget: t.HbA1cTarget, BMILowerCutPoints: t.BMILowerCutPoints}
	if t.BPTarget != nil {
		p.Thresholds.BPTarget = &models.BPTarget{Systolic: t.BPTarget.Systolic, Diastolic: t.BPTarget.Diastolic}
	}
	return p
}

// CreatePlan stores version 1 of a new plan.
func (s *PlanStore) CreatePlan(ctx context.Context, p *models.Plan) error {
	if p.Version != 1 {
		return invalid("version", "a new plan starts at version 1")
	}
	_, err := s.c.InsertOne(ctx, toPlanDoc(p))
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "The patient already has a plan for this condition; change that plan instead.")
	}
	return wrapErr("plans.insert", err)
}

// AddPlanVersion inserts the next version of a plan; the unique _id lets only one writer of a
// version in.
func (s *PlanStore) AddPlanVersion(ctx context.Context, p *models.Plan) error {
	if p.Version < 2 {
		return invalid("version", "a change makes version 2 or later")
	}
	if _, err := s.version(ctx, p.PatientID, p.ID, p.Version-1); err != nil {
		return err
	}
	_, err := s.c.InsertOne(ctx, toPlanDoc(p))
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "Someone else changed this plan first (version %d exists); reload it and make the change again.", p.Version)
	}
	return wrapErr("plans.insert", err)
}

func (s *PlanStore) version(ctx context.Context, patient models.PatientID, id models.PlanID, v int) (*models.Plan, error) {
	var d planDoc
	err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: planVersionID(id, v)}}).Decode(&d)
	if err == nil && d.PatientID != string(patient) {
		err = mongo.ErrNoDocuments
	}
	if err != nil {
		return nil, notFound("plans.findOne", err, "This patient has no plan with this id.")
	}
	return d.model(), nil
}

// PlanByID returns the current version of a patient's plan.
func (s *PlanStore) PlanByID(ctx context.Context, patient models.PatientID, id models.PlanID) (*models.Plan, error) {
	var d planDoc
	err := s.c.FindOne(ctx, bson.D{{Key: "patientId", Value: string(patient)}, {Key: "planId", Value: string(id)}},
		options.FindOne().SetSort(bson.D{{Key: "version", Value: -1}})).Decode(&d)
	if err != nil {
		return nil, notFound("plans.findOne", err, "This patient has no plan with this id.")
	}
	return d.model(), nil
}

// PlanVersions returns every version of a patient's plan, oldest first.
func (s *PlanStore) PlanVersions(ctx context.Context, patient models.PatientID, id models.PlanID) ([]*models.Plan, error) {
	out, err := s.find(ctx, bson.D{{Key: "patientId", Value: string(patient)}, {Key: "planId", Value: string(id)}})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, models.Errorf(models.ENOTFOUND, "This patient has no plan with this id.")
	}
	return out, nil
}

// ListPlans returns the current version of each of a patient's plans, ordered by condition. A
// patient has a handful of plans with a few versions each, so the latest is picked in Go.
func (s *PlanStore) ListPlans(ctx context.Context, patient models.PatientID) ([]*models.Plan, error) {
	all, err := s.find(ctx, bson.D{{Key: "patientId", Value: string(patient)}})
	if err != nil {
		return nil, err
	}
	out := make([]*models.Plan, 0, len(all))
	for i, p := range all {
		if i+1 < len(all) && all[i+1].ID == p.ID {
			continue // a later version follows
		}
		out = append(out, p)
	}
	return out, nil
}

// find returns the versions matching filter sorted by condition, plan and version.
func (s *PlanStore) find(ctx context.Context, filter bson.D) ([]*models.Plan, error) {
	cur, err := s.c.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "condition", Value: 1}, {Key: "planId", Value: 1}, {Key: "version", Value: 1}}).SetLimit(10_000))
	if err != nil {
		return nil, wrapErr("plans.find", err)
	}
	var docs []planDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrapErr("plans.find", err)
	}
	out := make([]*models.Plan, len(docs))
	for i := range docs {
		out[i] = docs[i].model()
	}
	return out, nil
}
