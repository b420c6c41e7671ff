package store

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// guardedUpdate applies update to the document with _id id if it matches guard, and returns it
// as changed, or ok false when there is no such document or it does not match.
//
// On MongoDB this is one findOneAndUpdate whose filter is _id plus filter: atomic on the server.
// FerretDB v1.24 pushes only a filter of _id alone down to SQLite and scans the whole collection
// for anything more (measured: ~1 s per update on 8,000 slots on a loaded machine), so there it
// reads by _id, checks check (the same condition as filter, in Go) and updates by _id: atomic
// because the caller holds the collection's write lock (db.lockWrites), as every conditional
// update on FerretDB must.
func guardedUpdate[D any](ctx context.Context, db *DB, c *mongo.Collection, id string, filter bson.D, check func(*D) bool, update bson.D) (*D, bool, error) {
	after := options.FindOneAndUpdate().SetReturnDocument(options.After)
	byID := bson.D{{Key: "_id", Value: id}}
	if !db.serialWrites {
		var d D
		err := c.FindOneAndUpdate(ctx, append(byID, filter...), update, after).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, false, nil
		}
		return &d, err == nil, err
	}
	var cur D
	err := c.FindOne(ctx, byID).Decode(&cur)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !check(&cur) {
		return nil, false, nil
	}
	var d D
	if err := db.writeOne(func() error { return c.FindOneAndUpdate(ctx, byID, update, after).Decode(&d) }); err != nil {
		return nil, false, err
	}
	return &d, true, nil
}

// findByID decodes the document with _id id, or returns ENOTFOUND with message.
func findByID[D any](ctx context.Context, c *mongo.Collection, id, message string) (*D, error) {
	var d D
	if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return nil, notFound(c.Name()+".findOne", err, message)
	}
	return &d, nil
}

// withEqual appends field = value to filter for each pair whose value is set (optional filters).
func withEqual(filter bson.D, pairs ...string) bson.D {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			filter = append(filter, bson.E{Key: pairs[i], Value: pairs[i+1]})
		}
	}
	return filter
}
