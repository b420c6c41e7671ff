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

var _ models.AlertStore = (*AlertStore)(nil)

// AlertStore keeps alerts in the alerts collection.
//
// One unresolved alert per patient and rule: every alert carries openKey, which is
// "open:<patientId>:<ruleId>" while it is open or taken and "id:<_id>" once resolved, under a
// unique index (FerretDB has no partial indexes). A second insert for the same patient and rule
// fails on that index, and the raiser attaches its reading to the winner instead.
type AlertStore struct {
	db *DB
	c  *mongo.Collection
}

// NewAlertStore returns the AlertStore of db.
func NewAlertStore(db *DB) *AlertStore { return &AlertStore{db: db, c: db.collection(collAlerts)} }

type alertDoc struct {
	ID                  string     `bson:"_id"`
	OpenKey             string     `bson:"openKey"`
	PatientID           string     `bson:"patientId"`
	PracticeID          string     `bson:"practiceId"`
	RuleID              string     `bson:"ruleId"`
	Code                string     `bson:"code"`
	Level               string     `bson:"level"`
	LevelRank           int        `bson:"levelRank"`
	LatestLevel         string     `bson:"latestLevel"`
	Count               int        `bson:"count"`
	FirstObservationID  string     `bson:"firstObservationId"`
	LatestObservationID string     `bson:"latestObservationId"`
	ObservationIDs      []string   `bson:"observationIds"`
	Status              string     `bson:"status"`
	OpenedAt            time.Time  `bson:"openedAt"`
	UpdatedAt           time.Time  `bson:"updatedAt"`
	TakenBy             string     `bson:"takenBy,omitempty"`
	TakenAt             *time.Time `bson:"takenAt,omitempty"`
	ResolvedBy          string     `bson:"resolvedBy,omitempty"`
	ResolvedAt          *time.Time `bson:"resolvedAt,omitempty"`
	Resolution          string     `bson:"resolution,omitempty"`
	TriageRequestID     string     `bson:"triageRequestId,omitempty"`
}

func openKey(patient models.PatientID, rule string) string {
	return "open:" + string(patient) + ":" + rule
}

func (d *alertDoc) model() *models.Alert {
	a := &models.Alert{ID: models.AlertID(d.ID), PatientID: models.PatientID(d.PatientID), PracticeID: models.PracticeID(d.PracticeID),
		RuleID: d.RuleID, Code: models.ObservationCode(d.Code), Level: models.Level(d.Level), LatestLevel: models.Level(d.LatestLevel),
		Count: d.Count, FirstObservationID: models.ObservationID(d.FirstObservationID),
		LatestObservationID: models.ObservationID(d.LatestObservationID), ObservationIDs: make([]models.ObservationID, len(d.ObservationIDs)),
		Status: d.Status, OpenedAt: d.OpenedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), TakenBy: models.UserID(d.TakenBy),
		ResolvedBy: models.UserID(d.ResolvedBy), Resolution: d.Resolution, TriageRequestID: models.TriageRequestID(d.TriageRequestID)}
	for i, id := range d.ObservationIDs {
		a.ObservationIDs[i] = models.ObservationID(id)
	}
	if d.TakenAt != nil {
		t := d.TakenAt.UTC()
		a.TakenAt = &t
	}
	if d.ResolvedAt != nil {
		t := d.ResolvedAt.UTC()
		a.ResolvedAt = &t
	}
	return a
}

// RaiseAlert attaches a's reading to the patient's unresolved alert for the rule, or opens one.
// Under the write lock (FerretDB) the two steps cannot interleave with another raise; on
// MongoDB each step is a single-document atomic operation and the unique openKey turns a lost
// race to open into an attach.
func (s *AlertStore) RaiseAlert(ctx context.Context, a *models.Alert) (*models.Alert, bool, error) {
	defer s.db.lockWrites(collAlerts)()
	key := openKey(a.PatientID, a.RuleID)
	for attempt := 0; attempt < 3; attempt++ {
		got, err := s.attach(ctx, key, a)
		if err == nil {
			return got, false, nil
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return nil, false, wrapErr("alerts.update", err)
		}
		if a.ID == "" {
			a.ID = models.AlertID(models.NewID())
		}
		d := alertDoc{ID: string(a.ID), OpenKey: key, PatientID: string(a.PatientID), PracticeID: string(a.PracticeID),
			RuleID: a.RuleID, Code: string(a.Code), Level: string(a.LatestLevel), LevelRank: a.LatestLevel.Rank(),
			LatestLevel: string(a.LatestLevel), Count: 1, FirstObservationID: string(a.LatestObservationID),
			LatestObservationID: string(a.LatestObservationID), ObservationIDs: []string{string(a.LatestObservationID)},
			Status: models.AlertOpen, OpenedAt: a.UpdatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
		_, err = s.c.InsertOne(ctx, d)
		if err == nil {
			return d.model(), true, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return nil, false, wrapErr("alerts.insert", err)
		}
		// Someone opened it between our two steps: attach to theirs.
	}
	return nil, false, models.Errorf(models.EUNAVAILABLE, "The alert is changing too fast; try again.")
}

// attach adds a reading to the unresolved alert with key, raising its level when the reading's
// is higher. Returns mongo.ErrNoDocuments when there is no such alert.
func (s *AlertStore) attach(ctx context.Context, key string, a *models.Alert) (*models.Alert, error) {
	filter := bson.D{{Key: "openKey", Value: key}}
	update := bson.D{
		{Key: "$inc", Value: bson.D{{Key: "count", Value: 1}}},
		{Key: "$set", Value: bson.D{{Key: "latestObservationId", Value: string(a.LatestObservationID)},
			{Key: "latestLevel", Value: string(a.LatestLevel)}, {Key: "updatedAt", Value: a.UpdatedAt.UTC()}}},
		{Key: "$push", Value: bson.D{{Key: "observationIds", Value: string(a.LatestObservationID)}}},
	}
	var d alertDoc
	if err := s.c.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d); err != nil {
		return nil, err
	}
	if rank := a.LatestLevel.Rank(); rank > d.LevelRank {
		// The guard on levelRank makes this a "max" without $max: a concurrent higher level
		// is never lowered.
		_, err := s.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "levelRank", Value: bson.D{{Key: "$lt", Value: rank}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "level", Value: string(a.LatestLevel)}, {Key: "levelRank", Value: rank}}}})
		if err != nil {
			return nil, wrapErr("alerts.update", err)
		}
		d.Level, d.LevelRank = string(a.LatestLevel), rank
	}
	return d.model(), nil
}

// AlertByID returns ENOTFOUND if there is no such alert.
func (s *AlertStore) AlertByID(ctx context.Context, id models.AlertID) (*models.Alert, error) {
	var d alertDoc
	if err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: string(id)}}).Decode(&d); err != nil {
		return nil, notFound("alerts.findOne", err, "No alert has this id.")
	}
	return d.model(), nil
}

// ListAlerts lists alerts of a practice or a patient, newest opened first.
func (s *AlertStore) ListAlerts(ctx context.Context, f models.AlertFilter, p models.Page) ([]*models.Alert, string, error) {
	filter := bson.D{}
	if f.PracticeID != "" {
		filter = append(filter, bson.E{Key: "practiceId", Value: string(f.PracticeID)})
	}
	if f.PatientID != "" {
		filter = append(filter, bson.E{Key: "patientId", Value: string(f.PatientID)})
	}
	if len(filter) == 0 {
		return nil, "", invalid("practiceId", "a practice or a patient is required")
	}
	if len(f.Statuses) > 0 {
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: f.Statuses}}})
	}
	return listByTime(ctx, s.c, filter, "openedAt", false, p,
		func(d *alertDoc) (time.Time, string) { return d.OpenedAt, d.ID }, (*alertDoc).model)
}

// TakeAlert marks an open alert taken; the status guard lets one taker win.
func (s *AlertStore) TakeAlert(ctx context.Context, id models.AlertID, by models.UserID, now time.Time) (*models.Alert, error) {
	set := bson.D{{Key: "status", Value: models.AlertTaken}, {Key: "takenBy", Value: string(by)},
		{Key: "takenAt", Value: now.UTC()}, {Key: "updatedAt", Value: now.UTC()}}
	return s.transition(ctx, id, []string{models.AlertOpen}, set, "This alert has been taken or resolved already.")
}

// ResolveAlert closes an unresolved alert, freeing its openKey for the next alert of the rule.
func (s *AlertStore) ResolveAlert(ctx context.Context, id models.AlertID, by models.UserID, resolution string, now time.Time) (*models.Alert, error) {
	set := bson.D{{Key: "status", Value: models.AlertResolved}, {Key: "openKey", Value: "id:" + string(id)},
		{Key: "resolvedBy", Value: string(by)}, {Key: "resolvedAt", Value: now.UTC()},
		{Key: "resolution", Value: resolution}, {Key: "updatedAt", Value: now.UTC()}}
	return s.transition(ctx, id, []string{models.AlertOpen, models.AlertTaken}, set, "This alert is resolved already.")
}

func (s *AlertStore) transition(ctx context.Context, id models.AlertID, from []string, set bson.D, conflict string) (*models.Alert, error) {
	defer s.db.lockWrites(collAlerts)()
	var d alertDoc
	err := s.c.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: string(id)}, {Key: "status", Value: bson.D{{Key: "$in", Value: from}}}},
		bson.D{{Key: "$set", Value: set}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		if _, gerr := s.AlertByID(ctx, id); gerr != nil {
			return nil, gerr
		}
		return nil, models.Errorf(models.ECONFLICT, "%s", conflict)
	}
	if err != nil {
		return nil, wrapErr("alerts.update", err)
	}
	return d.model(), nil
}

// SetAlertTriage records the triage request opened for an alert.
func (s *AlertStore) SetAlertTriage(ctx context.Context, id models.AlertID, triage models.TriageRequestID, now time.Time) error {
	defer s.db.lockWrites(collAlerts)()
	res, err := s.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: string(id)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "triageRequestId", Value: string(triage)}, {Key: "updatedAt", Value: now.UTC()}}}})
	if err != nil {
		return wrapErr("alerts.update", err)
	}
	if res.MatchedCount == 0 {
		return models.Errorf(models.ENOTFOUND, "No alert has this id.")
	}
	return nil
}

// DetachObservation takes a reading marked entered-in-error off the unresolved alerts it is
// attached to, resolving an alert that has no reading left.
func (s *AlertStore) DetachObservation(ctx context.Context, patient models.PatientID, obs models.ObservationID, by models.UserID, now time.Time) ([]*models.Alert, error) {
	defer s.db.lockWrites(collAlerts)()
	cur, err := s.c.Find(ctx, bson.D{{Key: "patientId", Value: string(patient)},
		{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{models.AlertOpen, models.AlertTaken}}}}})
	if err != nil {
		return nil, wrapErr("alerts.find", err)
	}
	var docs []alertDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrapErr("alerts.find", err)
	}
	var changed []*models.Alert
	for _, d := range docs {
		keep := make([]string, 0, len(d.ObservationIDs))
		for _, id := range d.ObservationIDs {
			if id != string(obs) {
				keep = append(keep, id)
			}
		}
		if len(keep) == len(d.ObservationIDs) {
			continue
		}
		set := bson.D{{Key: "observationIds", Value: keep}, {Key: "count", Value: len(keep)}, {Key: "updatedAt", Value: now.UTC()}}
		if len(keep) == 0 {
			set = append(set, bson.E{Key: "status", Value: models.AlertResolved}, bson.E{Key: "openKey", Value: "id:" + d.ID},
				bson.E{Key: "resolvedBy", Value: string(by)}, bson.E{Key: "resolvedAt", Value: now.UTC()},
				bson.E{Key: "resolution", Value: "all readings entered in error"})
		} else {
			set = append(set, bson.E{Key: "latestObservationId", Value: keep[len(keep)-1]})
		}
		// Guarded by the list read, so a reading attached meanwhile (MongoDB, no lock) makes
		// this update miss rather than drop it; the alert then keeps the withdrawn reading,
		// which errs on the side of attention.
		var nd alertDoc
		err := s.c.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "count", Value: d.Count}, {Key: "updatedAt", Value: d.UpdatedAt}},
			bson.D{{Key: "$set", Value: set}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&nd)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, wrapErr("alerts.update", err)
		}
		changed = append(changed, nd.model())
	}
	return changed, nil
}
