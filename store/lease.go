package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"careway/models"
)

var _ models.LeaseStore = (*LeaseStore)(nil)

// LeaseStore keeps named leases in the leases collection, _id the lease name. A lease is taken
// without upserts (whose unique-key violations FerretDB reports as internal errors): a guarded
// update renews or takes over an expired lease, and failing that an insert creates it; a
// duplicate key on the insert means another holder has it.
type LeaseStore struct {
	db *DB
	c  *mongo.Collection
}

// NewLeaseStore returns the LeaseStore of db.
func NewLeaseStore(db *DB) *LeaseStore { return &LeaseStore{db: db, c: db.collection(collLeases)} }

type leaseDoc struct {
	ID     string    `bson:"_id"`
	Holder string    `bson:"holder"`
	Until  time.Time `bson:"until"`
}

// AcquireLease takes or renews the lease name for holder until now+ttl. It returns false while
// another holder's lease has not expired.
func (s *LeaseStore) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	defer s.db.lockWrites(collLeases)()
	now = now.UTC()
	filter := bson.D{{Key: "_id", Value: name}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "holder", Value: holder}},
		bson.D{{Key: "until", Value: bson.D{{Key: "$lte", Value: now}}}},
	}}}
	res, err := s.c.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "holder", Value: holder}, {Key: "until", Value: now.Add(ttl)}}}})
	if err != nil {
		return false, wrapErr("leases.update", err)
	}
	if res.MatchedCount == 1 {
		return true, nil
	}
	_, err = s.c.InsertOne(ctx, &leaseDoc{ID: name, Holder: holder, Until: now.Add(ttl)})
	if mongo.IsDuplicateKeyError(err) {
		return false, nil
	}
	if err != nil {
		return false, wrapErr("leases.insert", err)
	}
	return true, nil
}

// ReleaseLease gives the lease up if holder has it (it expires at once).
func (s *LeaseStore) ReleaseLease(ctx context.Context, name, holder string) error {
	defer s.db.lockWrites(collLeases)()
	_, err := s.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "holder", Value: holder}})
	return wrapErr("leases.delete", err)
}
