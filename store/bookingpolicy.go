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

var _ models.BookingPolicyStore = (*BookingPolicyStore)(nil)

// BookingPolicyStore keeps each practice's booking policy in the bookingPolicies collection,
// _id the practice id.
type BookingPolicyStore struct {
	db *DB
	c  *mongo.Collection
}

// NewBookingPolicyStore returns the BookingPolicyStore of db.
func NewBookingPolicyStore(db *DB) *BookingPolicyStore {
	return &BookingPolicyStore{db: db, c: db.collection(collBookingPolicies)}
}

type bookingPolicyDoc struct {
	ID           string    `bson:"_id"`
	MinNotice    int       `bson:"minNoticeMinutes"`
	CancelCutoff int       `bson:"cancelCutoffMinutes"`
	UpdatedAt    time.Time `bson:"updatedAt"`
}

// BookingPolicy returns the practice's policy, or the default if it has none.
//
// Every slot search and every patient's booking asks for it, so on FerretDB (one process: see
// store/slotsearch.go) it is kept in memory after the first read: filled under the collection's
// write lock and replaced by SetBookingPolicy under the same lock, so a change is seen by every
// request that starts after SetBookingPolicy returned. On MongoDB, where another node may change
// it, every call reads the database.
func (s *BookingPolicyStore) BookingPolicy(ctx context.Context, p models.PracticeID) (*models.BookingPolicy, error) {
	if !s.db.serialWrites {
		return s.read(ctx, p)
	}
	if pol, ok := s.db.policies.Load(p); ok {
		cp := *pol.(*models.BookingPolicy)
		return &cp, nil
	}
	defer s.db.lockWrites(collBookingPolicies)()
	if pol, ok := s.db.policies.Load(p); ok { // filled while this call waited for the lock
		cp := *pol.(*models.BookingPolicy)
		return &cp, nil
	}
	pol, err := s.read(ctx, p)
	if err != nil {
		return nil, err
	}
	cp := *pol
	s.db.policies.Store(p, &cp)
	return pol, nil
}

func (s *BookingPolicyStore) read(ctx context.Context, p models.PracticeID) (*models.BookingPolicy, error) {
	var d bookingPolicyDoc
	err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: string(p)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return models.DefaultBookingPolicy(p), nil
	}
	if err != nil {
		return nil, wrapErr("bookingPolicies.findOne", err)
	}
	return &models.BookingPolicy{PracticeID: p, MinNoticeMinutes: d.MinNotice, CancelCutoffMinute: d.CancelCutoff, UpdatedAt: d.UpdatedAt.UTC()}, nil
}

// SetBookingPolicy stores (replaces) a practice's policy.
func (s *BookingPolicyStore) SetBookingPolicy(ctx context.Context, b *models.BookingPolicy) error {
	defer s.db.lockWrites(collBookingPolicies)()
	_, err := s.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: string(b.PracticeID)}},
		&bookingPolicyDoc{ID: string(b.PracticeID), MinNotice: b.MinNoticeMinutes, CancelCutoff: b.CancelCutoffMinute, UpdatedAt: b.UpdatedAt.UTC()},
		options.Replace().SetUpsert(true))
	if s.db.serialWrites {
		if err == nil {
			cp := *b
			s.db.policies.Store(b.PracticeID, &cp)
		} else {
			s.db.policies.Delete(b.PracticeID) // unknown whether it was stored: read it again next time
		}
	}
	return wrapErr("bookingPolicies.replace", err)
}
