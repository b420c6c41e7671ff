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

var _ models.TriageStore = (*TriageStore)(nil)

// TriageStore keeps triage requests in the triageRequests collection, _id the client-chosen id.
type TriageStore struct {
	db *DB
	c  *mongo.Collection
}

// NewTriageStore returns the TriageStore of db.
func NewTriageStore(db *DB) *TriageStore {
	return &TriageStore{db: db, c: db.collection(collTriage)}
}

type triageOutcomeDoc struct {
	Kind      string    `bson:"kind"`
	Note      string    `bson:"note,omitempty"`
	CallID    string    `bson:"callId,omitempty"`
	DecidedBy string    `bson:"decidedBy"`
	DecidedAt time.Time `bson:"decidedAt"`
}

type triageDoc struct {
	ID            string            `bson:"_id"`
	PatientID     string            `bson:"patientId"`
	PracticeID    string            `bson:"practiceId"`
	Description   string            `bson:"description"`
	PreferredMode string            `bson:"preferredMode"`
	RedFlags      []string          `bson:"redFlags"`
	Symptoms      []string          `bson:"symptoms"`
	Availability  string            `bson:"availability,omitempty"`
	Adjustments   adjustmentsDoc    `bson:"adjustments"`
	Source        string            `bson:"source"`
	SubmittedBy   string            `bson:"submittedBy,omitempty"`
	ObservationID string            `bson:"observationId,omitempty"`
	AlertID       string            `bson:"alertId,omitempty"`
	Priority      string            `bson:"priority"`
	Reasons       []string          `bson:"reasons"`
	Redirect      string            `bson:"redirect,omitempty"`
	Advice        string            `bson:"advice,omitempty"`
	Status        string            `bson:"status"`
	TakenBy       string            `bson:"takenBy,omitempty"`
	TakenAt       *time.Time        `bson:"takenAt,omitempty"`
	Outcome       *triageOutcomeDoc `bson:"outcome,omitempty"`
	CreatedAt     time.Time         `bson:"createdAt"`
	UpdatedAt     time.Time         `bson:"updatedAt"`
}

func toTriageDoc(r *models.TriageRequest) *triageDoc {
	d := &triageDoc{
		ID: string(r.ID), PatientID: string(r.PatientID), PracticeID: string(r.PracticeID),
		Description: r.Description, PreferredMode: string(r.PreferredMode), RedFlags: strs(r.RedFlags),
		Symptoms: nonNil(r.Symptoms), Availability: r.Availability, Adjustments: adjustmentsDoc(r.Adjustments),
		Source: string(r.Source), SubmittedBy: string(r.SubmittedBy), ObservationID: string(r.ObservationID),
		AlertID: string(r.AlertID), Priority: string(r.Priority), Reasons: nonNil(r.Reasons), Redirect: r.Redirect,
		Advice: r.Advice, Status: string(r.Status), TakenBy: string(r.TakenBy), TakenAt: utcPtr(r.TakenAt),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.Outcome != nil {
		d.Outcome = toOutcomeDoc(r.Outcome)
	}
	return d
}

func toOutcomeDoc(o *models.TriageOutcome) *triageOutcomeDoc {
	return &triageOutcomeDoc{Kind: string(o.Kind), Note: o.Note, CallID: string(o.CallID),
		DecidedBy: string(o.DecidedBy), DecidedAt: o.DecidedAt.UTC()}
}

func (d *triageDoc) model() *models.TriageRequest {
	r := &models.TriageRequest{
		ID: models.TriageRequestID(d.ID), PatientID: models.PatientID(d.PatientID), PracticeID: models.PracticeID(d.PracticeID),
		Description: d.Description, PreferredMode: models.AppointmentMode(d.PreferredMode), Symptoms: nonNil(d.Symptoms),
		Availability: d.Availability, Adjustments: models.Adjustments(d.Adjustments), Source: models.TriageSource(d.Source),
		SubmittedBy: models.UserID(d.SubmittedBy), ObservationID: models.ObservationID(d.ObservationID),
		AlertID: models.AlertID(d.AlertID), Priority: models.TriagePriority(d.Priority), Reasons: nonNil(d.Reasons),
		Redirect: d.Redirect, Advice: d.Advice, Status: models.TriageStatus(d.Status), TakenBy: models.UserID(d.TakenBy),
		TakenAt: utcPtr(d.TakenAt), CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		RedFlags: make([]models.RedFlag, len(d.RedFlags)),
	}
	for i, f := range d.RedFlags {
		r.RedFlags[i] = models.RedFlag(f)
	}
	if o := d.Outcome; o != nil {
		r.Outcome = &models.TriageOutcome{Kind: models.OutcomeKind(o.Kind), Note: o.Note, CallID: models.CallID(o.CallID),
			DecidedBy: models.UserID(o.DecidedBy), DecidedAt: o.DecidedAt.UTC()}
	}
	return r
}

func strs[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CreateTriageRequest stores a new request. A request with the same id for the same patient is
// a retry: the stored request comes back with created false and nothing changes. Returns
// ECONFLICT if the id belongs to another patient's request.
func (s *TriageStore) CreateTriageRequest(ctx context.Context, r *models.TriageRequest) (*models.TriageRequest, bool, error) {
	_, err := s.c.InsertOne(ctx, toTriageDoc(r))
	if err == nil {
		return r, true, nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return nil, false, wrapErr("triageRequests.insert", err)
	}
	old, err := s.TriageRequestByID(ctx, r.ID)
	if err != nil {
		return nil, false, err
	}
	if old.PatientID != r.PatientID {
		return nil, false, models.Errorf(models.ECONFLICT, "This id is already used by another request; choose a new UUID.")
	}
	return old, false, nil
}

// TriageRequestByID returns ENOTFOUND if there is no such request.
func (s *TriageStore) TriageRequestByID(ctx context.Context, id models.TriageRequestID) (*models.TriageRequest, error) {
	var d triageDoc
	if err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: string(id)}}).Decode(&d); err != nil {
		return nil, notFound("triageRequests.findOne", err, "Triage request not found.")
	}
	return d.model(), nil
}

// TriageQueue returns the waiting and in-progress requests of a practice, oldest first, at most
// max (1000 when max is not positive).
func (s *TriageStore) TriageQueue(ctx context.Context, practice models.PracticeID, max int) ([]*models.TriageRequest, error) {
	if max <= 0 {
		max = 1000
	}
	filter := bson.D{
		{Key: "practiceId", Value: string(practice)},
		{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{string(models.TriageWaiting), string(models.TriageInProgress)}}}},
	}
	docs, _, err := findPage[triageDoc](ctx, s.c, filter, bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}, max)
	if err != nil {
		return nil, err
	}
	out := make([]*models.TriageRequest, len(docs))
	for i := range docs {
		out[i] = docs[i].model()
	}
	return out, nil
}

// TakeTriageRequest marks a waiting request in progress for clinician: one findOneAndUpdate
// guarded by status waiting (under the FerretDB write lock), so exactly one of many concurrent
// takers wins. Taking one's own request again succeeds and changes nothing. Returns ENOTFOUND;
// ECONFLICT if another clinician has it or it is completed.
func (s *TriageStore) TakeTriageRequest(ctx context.Context, id models.TriageRequestID, clinician models.UserID, now time.Time) (*models.TriageRequest, error) {
	now = now.UTC()
	filter := bson.D{{Key: "_id", Value: string(id)}, {Key: "status", Value: string(models.TriageWaiting)}}
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: "status", Value: string(models.TriageInProgress)}, {Key: "takenBy", Value: string(clinician)},
		{Key: "takenAt", Value: now}, {Key: "updatedAt", Value: now},
	}}}
	r, err := s.update(ctx, filter, update)
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return r, err
	}
	old, err := s.TriageRequestByID(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case old.Status == models.TriageInProgress && old.TakenBy == clinician:
		return old, nil
	case old.Status == models.TriageCompleted:
		return nil, models.Errorf(models.ECONFLICT, "This request has already been completed.")
	}
	return nil, models.Errorf(models.ECONFLICT, "Another clinician has taken this request.")
}

// SetTriageOutcome completes a request in progress with o, guarded by the status and the
// clinician who took it (o.DecidedBy). Returns ENOTFOUND; ECONFLICT otherwise.
func (s *TriageStore) SetTriageOutcome(ctx context.Context, id models.TriageRequestID, o *models.TriageOutcome) (*models.TriageRequest, error) {
	filter := bson.D{{Key: "_id", Value: string(id)}, {Key: "status", Value: string(models.TriageInProgress)},
		{Key: "takenBy", Value: string(o.DecidedBy)}}
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: "status", Value: string(models.TriageCompleted)}, {Key: "outcome", Value: toOutcomeDoc(o)},
		{Key: "updatedAt", Value: o.DecidedAt.UTC()},
	}}}
	r, err := s.update(ctx, filter, update)
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return r, err
	}
	old, err := s.TriageRequestByID(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case old.Status == models.TriageWaiting:
		return nil, models.Errorf(models.ECONFLICT, "Take this request before recording its outcome.")
	case old.Status == models.TriageCompleted:
		return nil, models.Errorf(models.ECONFLICT, "This request already has an outcome.")
	}
	return nil, models.Errorf(models.ECONFLICT, "Another clinician has taken this request.")
}

// update applies a guarded update under the write lock and returns the request as changed;
// mongo.ErrNoDocuments comes back unmapped for the caller to explain.
func (s *TriageStore) update(ctx context.Context, filter, update bson.D) (*models.TriageRequest, error) {
	defer s.db.lockWrites(collTriage)()
	var d triageDoc
	err := s.c.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return nil, err
	case err != nil:
		return nil, wrapErr("triageRequests.update", err)
	}
	return d.model(), nil
}

// ListTriageForPatient lists a patient's requests, newest first.
func (s *TriageStore) ListTriageForPatient(ctx context.Context, patient models.PatientID, p models.Page) ([]*models.TriageRequest, string, error) {
	return listByTime(ctx, s.c, bson.D{{Key: "patientId", Value: string(patient)}}, "createdAt", false, p,
		func(d *triageDoc) (time.Time, string) { return d.CreatedAt, d.ID }, (*triageDoc).model)
}

// adjustmentsDoc is the stored form of models.Adjustments (the same fields, so the two convert).
type adjustmentsDoc struct {
	Interpreter    bool   `bson:"interpreter,omitempty"`
	Language       string `bson:"language,omitempty"`
	BSL            bool   `bson:"bsl,omitempty"`
	StepFree       bool   `bson:"stepFree,omitempty"`
	Longer         bool   `bson:"longerAppointment,omitempty"`
	CarerAttending bool   `bson:"carerAttending,omitempty"`
	Notes          string `bson:"notes,omitempty"`
}
