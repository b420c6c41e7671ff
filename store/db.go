// Package store implements the models store interfaces on MongoDB through the official driver.
// The same code runs against a MongoDB replica set in production and against the embedded
// FerretDB server (see store/embedded), so it uses only what FerretDB v1.24 supports:
// single-document updates with the guard in the filter, unique and compound indexes, and no
// transactions, change streams, TTL, partial or sparse indexes.
package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readconcern"
	"go.mongodb.org/mongo-driver/mongo/readpref"
	"go.mongodb.org/mongo-driver/mongo/writeconcern"

	"careway/models"
)

// Defaults applied when the connection string does not set them. Server selection is short so
// that /readyz answers quickly when the database has gone.
const (
	serverSelectionTimeout = 5 * time.Second
	connectTimeout         = 5 * time.Second
	pingTimeout            = 5 * time.Second
)

// DB is a connection to one database. It is safe for concurrent use.
type DB struct {
	client *mongo.Client
	db     *mongo.Database
	logger *slog.Logger

	// serialWrites is set when the server is FerretDB. FerretDB v1 runs an update as a query,
	// a filter in Go and a replacement of the whole document by _id, with nothing in between
	// to stop a second update: of 20 concurrent findOneAndUpdate calls with the same guard,
	// several succeed, and concurrent updates of one document can lose each other's changes.
	// The embedded server is reachable only by this process (its socket is in a private
	// directory), so taking a per-collection lock around updates and deletes restores the
	// single-document atomicity that MongoDB gives for free.
	serialWrites bool
	writeLocks   sync.Map   // collection name → *sync.Mutex
	writer       sync.Mutex // writeOne

	// sessions is the slot search's index of active sessions on FerretDB (slotsearch.go).
	sessions sessionIndex
	// policies holds the booking policies read so far on FerretDB (BookingPolicyStore).
	policies sync.Map // models.PracticeID → *models.BookingPolicy
}

// Open connects to the MongoDB (or FerretDB) server at uri, checks that it answers, and creates
// the indexes of every collection (doing nothing for those that exist). Unless the connection
// string says otherwise, reads and writes use majority concern and server selection gives up
// after five seconds. Returns EUNAVAILABLE if the server does not answer.
func Open(ctx context.Context, uri, dbName string, logger *slog.Logger) (*DB, error) {
	if dbName == "" {
		return nil, models.Errorf(models.EINVALID, "The database name is empty.")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := options.Client().ApplyURI(uri).SetAppName("careway")
	if opts.ServerSelectionTimeout == nil {
		opts.SetServerSelectionTimeout(serverSelectionTimeout)
	}
	if opts.ConnectTimeout == nil {
		opts.SetConnectTimeout(connectTimeout)
	}
	// Majority concern: an acknowledged write survives a primary failover, and a read never
	// returns data that could be rolled back. FerretDB accepts and ignores both.
	if opts.ReadConcern == nil {
		opts.SetReadConcern(readconcern.Majority())
	}
	if opts.WriteConcern == nil {
		opts.SetWriteConcern(writeconcern.Majority())
	}
	client, err := mongo.Connect(ctx, opts)
	if err != nil {
		// The driver's parse errors name the faulty part (never the password) and help the
		// operator; the message shown stays generic.
		return nil, models.Wrap(models.EINVALID, err, "The MongoDB connection string is not valid.")
	}

	db := &DB{client: client, db: client.Database(dbName), logger: logger}
	if err := db.Ping(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	if db.serialWrites, err = isFerretDB(ctx, db.db); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, wrapErr("buildInfo", err)
	}
	if err := db.ensureIndexes(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	logger.Info("database open", "db", dbName, "ferretdb", db.serialWrites)
	return db, nil
}

// isFerretDB reports whether the server is FerretDB, which adds its own version to buildInfo.
func isFerretDB(ctx context.Context, db *mongo.Database) (bool, error) {
	raw, err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Raw()
	if err != nil {
		return false, err
	}
	_, err = raw.LookupErr("ferretdbVersion")
	return err == nil, nil
}

// Ping checks that the server answers, giving up after five seconds when ctx has no earlier
// deadline. Returns EUNAVAILABLE if it does not.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := db.client.Ping(ctx, readpref.Primary()); err != nil {
		return models.Wrap(models.EUNAVAILABLE, &driverError{op: "ping", err: err}, msgUnavailable)
	}
	return nil
}

// Close disconnects from the server, waiting (until ctx ends) for operations in progress.
func (db *DB) Close(ctx context.Context) error {
	if err := db.client.Disconnect(ctx); err != nil && !errors.Is(err, mongo.ErrClientDisconnected) {
		return wrapErr("disconnect", err)
	}
	return nil
}

// Database returns the underlying database, for tests and for stores outside this package.
func (db *DB) Database() *mongo.Database { return db.db }

// collection returns the named collection of the database.
func (db *DB) collection(name string) *mongo.Collection { return db.db.Collection(name) }

// writeOne runs one write on the database. On FerretDB the writes of the booking path take
// turns here rather than in SQLite, whose busy handler makes a writer that finds the database
// locked sleep 1, 2, 5 … 100 ms before it tries again. Hold nothing else while in it.
func (db *DB) writeOne(f func() error) error {
	if db.serialWrites {
		db.writer.Lock()
		defer db.writer.Unlock()
	}
	return f()
}

// lockWrites serialises updates and deletes of one collection within this process when the
// server is FerretDB (see DB.serialWrites); on MongoDB it does nothing. Call it as
// defer db.lockWrites(name)().
func (db *DB) lockWrites(collection string) (unlock func()) {
	if !db.serialWrites {
		return func() {}
	}
	mu, _ := db.writeLocks.LoadOrStore(collection, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}
