package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"careway/models"
)

// The change feed's sources (see models.ChangeSource and docs/architecture.md, "Sync"): each
// reads one collection by patient and the time of each document's last change, then _id, with
// an index on exactly those fields.
//
//   - observations: updatedAt, set when a reading is stored and again when it is marked
//     entered-in-error;
//   - plans: createdAt of each version (a version is never changed; a change is a new one);
//   - alerts: updatedAt, set on every change (raise, attach, take, resolve, detach);
//   - appointments: updatedAt, bumped by every change (book, cancel, reschedule, attendance).

var (
	_ models.ChangeSource = (*ObservationStore)(nil)
	_ models.ChangeSource = (*PlanStore)(nil)
	_ models.ChangeSource = (*AlertStore)(nil)
	_ models.ChangeSource = (*AppointmentStore)(nil)
)

// changedAfter returns at most limit documents of a patient with (field, _id) greater than
// (after, afterID) and field at or before until, in (field, _id) order.
func changedAfter[D any](ctx context.Context, c *mongo.Collection, patient models.PatientID, field string,
	after time.Time, afterID string, until time.Time, limit int) ([]D, error) {
	if limit <= 0 || until.Before(after) {
		return nil, nil
	}
	after, until = after.UTC().Truncate(time.Millisecond), until.UTC()
	filter := bson.D{
		{Key: "patientId", Value: string(patient)},
		{Key: field, Value: bson.D{{Key: "$gte", Value: after}, {Key: "$lte", Value: until}}},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: field, Value: bson.D{{Key: "$gt", Value: after}}}},
			bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: afterID}}}},
		}},
	}
	docs, _, err := findPage[D](ctx, c, filter, bson.D{{Key: field, Value: 1}, {Key: "_id", Value: 1}}, limit)
	return docs, err
}

// Kind is models.ChangeObservation.
func (s *ObservationStore) Kind() models.ChangeKind { return models.ChangeObservation }

// ChangesAfter returns the patient's readings stored or corrected in the range, entered-in-error
// ones included (a correction is a change the app must see).
func (s *ObservationStore) ChangesAfter(ctx context.Context, patient models.PatientID, after time.Time, afterID string, until time.Time, limit int) ([]models.Change, error) {
	docs, err := changedAfter[observationDoc](ctx, s.c, patient, "updatedAt", after, afterID, until, limit)
	if err != nil {
		return nil, err
	}
	out := make([]models.Change, len(docs))
	for i := range docs {
		out[i] = models.Change{Key: models.ChangeKey{At: docs[i].UpdatedAt.UTC(), Kind: models.ChangeObservation, ID: docs[i].ID},
			Observation: docs[i].model()}
	}
	return out, nil
}

// Kind is models.ChangePlan.
func (s *PlanStore) Kind() models.ChangeKind { return models.ChangePlan }

// ChangesAfter returns the plan versions of the patient written in the range; each version is
// one change, keyed by its stored id "<planId>#<version>".
func (s *PlanStore) ChangesAfter(ctx context.Context, patient models.PatientID, after time.Time, afterID string, until time.Time, limit int) ([]models.Change, error) {
	docs, err := changedAfter[planDoc](ctx, s.c, patient, "createdAt", after, afterID, until, limit)
	if err != nil {
		return nil, err
	}
	out := make([]models.Change, len(docs))
	for i := range docs {
		out[i] = models.Change{Key: models.ChangeKey{At: docs[i].CreatedAt.UTC(), Kind: models.ChangePlan, ID: docs[i].ID},
			Plan: docs[i].model()}
	}
	return out, nil
}

// Kind is models.ChangeAlert.
func (s *AlertStore) Kind() models.ChangeKind { return models.ChangeAlert }

// ChangesAfter returns the patient's alerts raised or changed in the range, as they are now.
func (s *AlertStore) ChangesAfter(ctx context.Context, patient models.PatientID, after time.Time, afterID string, until time.Time, limit int) ([]models.Change, error) {
	docs, err := changedAfter[alertDoc](ctx, s.c, patient, "updatedAt", after, afterID, until, limit)
	if err != nil {
		return nil, err
	}
	out := make([]models.Change, len(docs))
	for i := range docs {
		out[i] = models.Change{Key: models.ChangeKey{At: docs[i].UpdatedAt.UTC(), Kind: models.ChangeAlert, ID: docs[i].ID},
			Alert: docs[i].model()}
	}
	return out, nil
}

// Kind is models.ChangeAppointment.
func (s *AppointmentStore) Kind() models.ChangeKind { return models.ChangeAppointment }

// ChangesAfter returns the patient's appointments booked or changed in the range, as they are
// now.
func (s *AppointmentStore) ChangesAfter(ctx context.Context, patient models.PatientID, after time.Time, afterID string, until time.Time, limit int) ([]models.Change, error) {
	docs, err := changedAfter[appointmentDoc](ctx, s.c, patient, "updatedAt", after, afterID, until, limit)
	if err != nil {
		return nil, err
	}
	out := make([]models.Change, len(docs))
	for i := range docs {
		out[i] = models.Change{Key: models.ChangeKey{At: docs[i].UpdatedAt.UTC(), Kind: models.ChangeAppointment, ID: docs[i].ID},
			Appointment: docs[i].model()}
	}
	return out, nil
}
