package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"careway/models"
)

// Reads the FHIR endpoints need beyond the stores' own interfaces: a FHIR read names a resource
// by its id alone, while the stores look plans up within a patient, and a patient's calls are
// listed only here (for Encounter search and the subject-access export).

// PlanPatient returns the patient a plan belongs to. Version 1 of every plan has the _id
// "<planId>#1", so this is one _id lookup. Returns ENOTFOUND.
func (s *PlanStore) PlanPatient(ctx context.Context, id models.PlanID) (models.PatientID, error) {
	var d struct {
		PatientID string `bson:"patientId"`
	}
	err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: string(id) + "#1"}},
		options.FindOne().SetProjection(bson.D{{Key: "patientId", Value: 1}})).Decode(&d)
	if err != nil {
		return "", notFound("plans.findOne", err, "No plan has this id.")
	}
	return models.PatientID(d.PatientID), nil
}

// ListCallsForPatient lists a patient's calls, newest first, cursor-paged. Returns EINVALID for
// a cursor it did not issue.
func (s *CallStore) ListCallsForPatient(ctx context.Context, patient models.PatientID, p models.Page) ([]*models.Call, string, error) {
	return listByTime(ctx, s.calls, bson.D{{Key: "patientId", Value: string(patient)}}, "createdAt", false, p,
		func(d *callDoc) (time.Time, string) { return d.CreatedAt, d.ID }, (*callDoc).model)
}

// ListSessionSlots returns every slot of a session (free, held, booked or cancelled), by start.
// A session is at most 12 hours of slots of at least 5 minutes, so there is no paging.
func (s *SlotStore) ListSessionSlots(ctx context.Context, session models.SessionID) ([]*models.Slot, error) {
	cur, err := s.c.Find(ctx, bson.D{{Key: "sessionId", Value: string(session)}},
		options.Find().SetSort(bson.D{{Key: "start", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(1000))
	if err != nil {
		return nil, wrapErr("slots.find", err)
	}
	var docs []slotDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrapErr("slots.find", err)
	}
	out := make([]*models.Slot, len(docs))
	for i := range docs {
		out[i] = docs[i].model()
	}
	return out, nil
}

// PatientByNHSNumber returns the patient whose verified NHS number is nhs (10 digits), through
// the unique nhsKey index; a number only claimed at self-registration does not match. Returns
// ENOTFOUND.
func (s *PatientStore) PatientByNHSNumber(ctx context.Context, nhs string) (*models.Patient, error) {
	var d patientDoc
	if err := s.c.FindOne(ctx, bson.D{{Key: "nhsKey", Value: nhsKey("", nhs)}}).Decode(&d); err != nil {
		return nil, notFound("patients.findOne", err, "Patient not found.")
	}
	return d.model(), nil
}
