package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"careway/models"
)

// unclaimedWindow bounds how old a record DeleteUnclaimedPatient may remove: only one created
// moments ago by the request that is now undoing it.
const unclaimedWindow = 10 * time.Minute

// DeleteUnclaimedPatient removes a patient record created within the last ten minutes, to undo
// a self-registration whose account could not be created. Older records are clinical history
// and are never deleted. Returns ENOTFOUND if there is no such recent record.
func (s *PatientStore) DeleteUnclaimedPatient(ctx context.Context, id models.PatientID) error {
	defer s.db.lockWrites(collPatients)()
	res, err := s.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: string(id)},
		{Key: "createdAt", Value: bson.D{{Key: "$gte", Value: time.Now().Add(-unclaimedWindow).UTC()}}}})
	if err != nil {
		return wrapErr("patients.delete", err)
	}
	if res.DeletedCount == 0 {
		return models.Errorf(models.ENOTFOUND, "No recent unclaimed patient record has this id.")
	}
	return nil
}
