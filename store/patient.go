package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"careway/models"
)

var _ models.PatientStore = (*PatientStore)(nil)

// PatientStore keeps patient records in the patients collection, _id the patient's id.
//
// An NHS number must be unique, but many patients (new-borns, visitors, some residents) have
// none. MongoDB would use a partial unique index on nhsNumber; FerretDB v1.24 has neither
// partial nor sparse indexes, and a plain unique index would let only one patient lack a
// number (MongoDB indexes a missing field as null). So each document carries nhsKey, which is
// "nhs:" + the NHS number when there is one and "id:" + the patient id otherwise, with a
// unique index on it: numbers collide, numberless patients never do.
type PatientStore struct {
	db *DB
	c  *mongo.Collection
}

// NewPatientStore returns the PatientStore of db.
func NewPatientStore(db *DB) *PatientStore {
	return &PatientStore{db: db, c: db.collection(collPatients)}
}

// nhsKey returns the value of the uniquely indexed nhsKey field.
func nhsKey(id models.PatientID, nhsNumber string) string {
	return optionalUniqueKey("nhs", nhsNumber, string(id))
}

// optionalUniqueKey is the always-set stand-in for an optional value that must be unique when
// present (FerretDB has no partial or sparse indexes): kind + ":" + the value when there is one,
// and "id:" + the document's own id otherwise, which can never collide.
func optionalUniqueKey(kind, value, id string) string {
	if value != "" {
		return kind + ":" + value
	}
	return "id:" + id
}

// CreatePatient stores a new record, giving it a new id if p.ID is empty. A proxy consent, if
// any, must name the patient's care home. Returns ECONFLICT if the NHS number is already
// registered or the id exists, EINVALID if the consent names another home.
func (s *PatientStore) CreatePatient(ctx context.Context, p *models.Patient) error {
	if p.Proxy != nil && (p.CareHomeID == "" || p.Proxy.CareHomeID != p.CareHomeID) {
		return invalid("proxyConsent.careHomeId", "must be the patient's care home")
	}
	if p.ID == "" {
		p.ID = models.PatientID(models.NewID())
	}
	_, err := s.c.InsertOne(ctx, toPatientDoc(p))
	if mongo.IsDuplicateKeyError(err) {
		if exists(ctx, s.c, string(p.ID)) {
			return models.Errorf(models.ECONFLICT, "A patient with this id already exists.")
		}
		return models.Errorf(models.ECONFLICT, "A patient with this NHS number is already registered.")
	}
	return wrapErr("patients.insert", err)
}

// PatientByID returns ENOTFOUND if there is no such patient.
func (s *PatientStore) PatientByID(ctx context.Context, id models.PatientID) (*models.Patient, error) {
	var d patientDoc
	if err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: string(id)}}).Decode(&d); err != nil {
		return nil, notFound("patients.findOne", err, "Patient not found.")
	}
	return d.model(), nil
}

// UpdateRegistration sets the practice and care home of a patient (an empty id removes it)
// and returns the record as changed. It applies only while the patient is still registered
// with ifPractice, the practice the caller was authorised against. A proxy consent survives only
// if it names the new care home: moving out of a home, or to another, withdraws it. Returns
// ENOTFOUND, or ECONFLICT if the registration changed meanwhile.
func (s *PatientStore) UpdateRegistration(ctx context.Context, id models.PatientID, ifPractice, practice models.PracticeID, home models.CareHomeID, now time.Time) (*models.Patient, error) {
	defer s.db.lockWrites(collPatients)()
	set := bson.D{{Key: "updatedAt", Value: now.UTC()}}
	unset := bson.D{{Key: "requestedPracticeId", Value: ""}} // a request is answered by registering
	for _, f := range []struct{ name, value string }{{"practiceId", string(practice)}, {"careHomeId", string(home)}} {
		if f.value == "" {
			unset = append(unset, bson.E{Key: f.name, Value: ""})
		} else {
			set = append(set, bson.E{Key: f.name, Value: f.value})
		}
	}
	guard := bson.D{{Key: "_id", Value: string(id)}, practiceGuard(ifPractice)}
	// Without transactions, each update must leave the document consistent on its own. The
	// first keeps the consent, and matches only when the consent names the new home; the
	// second clears it. A consent recorded between the two is cleared too: the safe side.
	if home != "" {
		filter := append(append(bson.D{}, guard...), bson.E{Key: "proxyConsent.careHomeId", Value: string(home)})
		p, err := s.findOneAndUpdate(ctx, filter, operators(set, unset))
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return p, notFound("patients.update", err, "Patient not found.")
		}
	}
	unset = append(unset, bson.E{Key: "proxyConsent", Value: ""})
	p, err := s.findOneAndUpdate(ctx, guard, operators(set, unset))
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, s.explainMiss(ctx, id, ifPractice, "")
	}
	return p, notFound("patients.update", err, "Patient not found.")
}

// SetProxyConsent records c as the care-home proxy consent of a patient, or withdraws it when c
// is nil, and returns the record as changed. It applies only while the patient is still
// registered with ifPractice. A consent must name the care home the patient lives in, and both
// checks are part of the update's filter so that a concurrent move cannot slip between them. A
// zero RecordedAt is set to now. Returns ENOTFOUND; ECONFLICT if the registration changed
// meanwhile; EINVALID if the patient does not live in c.CareHomeID.
func (s *PatientStore) SetProxyConsent(ctx context.Context, id models.PatientID, ifPractice models.PracticeID, c *models.ProxyConsent, now time.Time) (*models.Patient, error) {
	defer s.db.lockWrites(collPatients)()
	filter := bson.D{{Key: "_id", Value: string(id)}, practiceGuard(ifPractice)}
	set := bson.D{{Key: "updatedAt", Value: now.UTC()}}
	var unset bson.D
	home := models.CareHomeID("")
	if c == nil {
		unset = bson.D{{Key: "proxyConsent", Value: ""}}
	} else {
		if c.CareHomeID == "" {
			return nil, invalid("careHomeId", "is required")
		}
		d := toProxyDoc(c)
		if d.RecordedAt.IsZero() {
			d.RecordedAt = now.UTC()
		}
		home = c.CareHomeID
		filter = append(filter, bson.E{Key: "careHomeId", Value: string(c.CareHomeID)})
		set = append(set, bson.E{Key: "proxyConsent", Value: d})
	}
	p, err := s.findOneAndUpdate(ctx, filter, operators(set, unset))
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, s.explainMiss(ctx, id, ifPractice, home)
	}
	return p, notFound("patients.update", err, "Patient not found.")
}

// SetNHSNumber records the NHS number the practice has verified, replacing any claim, while the
// patient is registered with ifPractice. nhsKey changes with it, so the unique index refuses a
// number that another record holds. Returns ENOTFOUND; ECONFLICT if another record has the
// number or the registration changed meanwhile.
func (s *PatientStore) SetNHSNumber(ctx context.Context, id models.PatientID, ifPractice models.PracticeID, nhs string, now time.Time) (*models.Patient, error) {
	defer s.db.lockWrites(collPatients)()
	// FerretDB reports a unique-index violation inside findAndModify as a generic internal
	// error, not as a duplicate key, so look for a holder of the number first. Under the write
	// lock only an insert can race with this, and the unique index still stops it; on MongoDB
	// the index's own duplicate-key error covers the race.
	holders, err := s.c.CountDocuments(ctx, bson.D{{Key: "nhsKey", Value: nhsKey(id, nhs)}, {Key: "_id", Value: bson.D{{Key: "$ne", Value: string(id)}}}})
	if err != nil {
		return nil, wrapErr("patients.count", err)
	}
	if holders > 0 {
		return nil, models.Errorf(models.ECONFLICT, "Another patient record has this NHS number.")
	}
	update := operators(
		bson.D{{Key: "nhsNumber", Value: nhs}, {Key: "nhsKey", Value: nhsKey(id, nhs)}, {Key: "updatedAt", Value: now.UTC()}},
		bson.D{{Key: "claimedNhsNumber", Value: ""}})
	p, err := s.findOneAndUpdate(ctx, bson.D{{Key: "_id", Value: string(id)}, practiceGuard(ifPractice)}, update)
	switch {
	case mongo.IsDuplicateKeyError(err):
		return nil, models.Errorf(models.ECONFLICT, "Another patient record has this NHS number.")
	case errors.Is(err, mongo.ErrNoDocuments):
		return nil, s.explainMiss(ctx, id, ifPractice, "")
	}
	return p, notFound("patients.update", err, "Patient not found.")
}

// SetAdjustments records rec as the patient's standing adjustments, while the recorded version
// is rec.Version-1 (no adjustments at all for version 1) and the patient is still registered
// with ifPractice and lives in ifHome. Of several concurrent edits based on one version exactly
// one wins: the guard and the update are one findOneAndUpdate on MongoDB, and one read and
// update under the collection's write lock on FerretDB (guardedUpdate). Returns ENOTFOUND;
// ECONFLICT if the adjustments or the registration changed meanwhile; EINVALID for a version
// below 1.
func (s *PatientStore) SetAdjustments(ctx context.Context, id models.PatientID, ifPractice models.PracticeID, ifHome models.CareHomeID, rec *models.RecordedAdjustments) (*models.Patient, error) {
	if rec.Version < 1 {
		return nil, invalid("version", "must be 1 or more")
	}
	defer s.db.lockWrites(collPatients)()
	based := rec.Version - 1
	filter := bson.D{practiceGuard(ifPractice), homeGuard(ifHome)}
	if based == 0 {
		filter = append(filter, bson.E{Key: "adjustments", Value: bson.D{{Key: "$exists", Value: false}}})
	} else {
		filter = append(filter, bson.E{Key: "adjustments.version", Value: based})
	}
	check := func(d *patientDoc) bool {
		v := 0
		if d.Adjustments != nil {
			v = d.Adjustments.Version
		}
		return v == based && d.PracticeID == string(ifPractice) && d.CareHomeID == string(ifHome)
	}
	now := rec.UpdatedAt.UTC()
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "adjustments", Value: toRecordedAdjustmentsDoc(rec)}, {Key: "updatedAt", Value: now}}}}
	d, ok, err := guardedUpdate(ctx, s.db, s.c, string(id), filter, check, update)
	if err != nil {
		return nil, wrapErr("patients.update", err)
	}
	if !ok {
		p, err := s.PatientByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if p.PracticeID != ifPractice || p.CareHomeID != ifHome {
			return nil, models.Errorf(models.ECONFLICT, "The patient's registration changed while this was being done; reload the record and try again.")
		}
		return nil, &models.Error{Code: models.ECONFLICT,
			Message: fmt.Sprintf("The adjustments have changed since version %d (they are at version %d); reload them and make the change again.", based, p.CurrentAdjustments().Version),
			Fields:  []models.FieldError{{Field: "version", Message: fmt.Sprintf("is not the current version (%d)", p.CurrentAdjustments().Version)}}}
	}
	return d.model(), nil
}

// homeGuard matches a patient living in home, or in none when home is empty (the store never
// keeps an empty careHomeId: it unsets it).
func homeGuard(home models.CareHomeID) bson.E {
	if home == "" {
		return bson.E{Key: "careHomeId", Value: bson.D{{Key: "$exists", Value: false}}}
	}
	return bson.E{Key: "careHomeId", Value: string(home)}
}

// practiceGuard matches a patient registered with practice, or with none when practice is
// empty (the store never keeps an empty practiceId: it unsets it).
func practiceGuard(practice models.PracticeID) bson.E {
	if practice == "" {
		return bson.E{Key: "practiceId", Value: bson.D{{Key: "$exists", Value: false}}}
	}
	return bson.E{Key: "practiceId", Value: string(practice)}
}

// explainMiss says why a guarded update of a patient matched nothing: no such patient
// (ENOTFOUND), the registration changed since the caller was authorised (ECONFLICT), or the
// patient does not live in the care home the update names (EINVALID).
func (s *PatientStore) explainMiss(ctx context.Context, id models.PatientID, ifPractice models.PracticeID, home models.CareHomeID) error {
	p, err := s.PatientByID(ctx, id)
	if err != nil {
		return err
	}
	if p.PracticeID != ifPractice {
		return models.Errorf(models.ECONFLICT, "The patient's registration changed while this was being done; reload the record and try again.")
	}
	if home != "" && p.CareHomeID != home {
		return invalid("careHomeId", "the patient does not live in this care home")
	}
	return models.Errorf(models.ECONFLICT, "The record changed while this was being done; reload it and try again.")
}

// ListPatients lists the patients of a practice, of a care home, or of both when both are set,
// by id. Returns EINVALID if neither is set (a list of every patient is never wanted) or for a
// cursor that this list did not return.
func (s *PatientStore) ListPatients(ctx context.Context, f models.PatientFilter, p models.Page) ([]*models.Patient, string, error) {
	filter := bson.D{}
	if f.PracticeID != "" {
		filter = append(filter, bson.E{Key: "practiceId", Value: string(f.PracticeID)})
	}
	if f.CareHomeID != "" {
		filter = append(filter, bson.E{Key: "careHomeId", Value: string(f.CareHomeID)})
	}
	if f.RequestedPracticeID != "" {
		filter = append(filter, bson.E{Key: "requestedPracticeId", Value: string(f.RequestedPracticeID)})
	}
	if len(filter) == 0 {
		return nil, "", invalid("practiceId", "a practice or a care home is required")
	}
	return listByID(ctx, s.c, filter, p, func(d *patientDoc) string { return d.ID }, (*patientDoc).model)
}

// findOneAndUpdate applies update to the document matching filter and returns it as changed.
// It returns mongo.ErrNoDocuments unmapped, for the caller to explain.
func (s *PatientStore) findOneAndUpdate(ctx context.Context, filter, update bson.D) (*models.Patient, error) {
	var d patientDoc
	err := s.c.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if err != nil {
		return nil, err
	}
	return d.model(), nil
}

// operators builds an update from $set and $unset fields, leaving out an empty operator
// (older servers reject one).
func operators(set, unset bson.D) bson.D {
	u := bson.D{}
	if len(set) > 0 {
		u = append(u, bson.E{Key: "$set", Value: set})
	}
	if len(unset) > 0 {
		u = append(u, bson.E{Key: "$unset", Value: unset})
	}
	return u
}
