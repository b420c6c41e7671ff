// Package storetest gives tests a real database: a fresh database on an embedded FerretDB
// server. Nothing is mocked.
//
// A package whose tests open many databases shares one server between them by running its
// tests through Main:
//
//	func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
//
// Without Main, MustOpen starts a server per test in the test's temporary directory, which
// works the same and costs a few milliseconds more.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"careway/store"
	"careway/store/embedded"
)

// shared is the server that Main starts lazily and stops after the tests. It is package state
// because Main and MustOpen meet only through it, and test binaries are the only users.
var shared struct {
	mu      sync.Mutex
	enabled bool // Main is running the tests
	dir     string
	srv     *embedded.Server
	err     error
}

// Main runs the tests of a package with one embedded server shared by every MustOpen, and
// stops the server and removes its files afterwards. It returns m.Run's exit code.
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.enabled = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	closePool()
	if shared.srv != nil {
		if err := shared.srv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "storetest: stop shared server:", err)
		}
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	shared.enabled, shared.srv, shared.dir, shared.err = false, nil, "", nil
	return code
}

// sharedServer returns the shared server, starting it on first use, or nil when Main is not
// in use.
func sharedServer() (*embedded.Server, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.enabled {
		return nil, nil
	}
	if shared.srv == nil && shared.err == nil {
		shared.dir, shared.err = os.MkdirTemp("", "careway-storetest-")
		if shared.err == nil {
			shared.srv, shared.err = embedded.Start(context.Background(), embedded.Params{
				DataDir: shared.dir,
				Logger:  Logger(),
			})
		}
	}
	return shared.srv, shared.err
}

// MustStartServer starts an embedded server with its files in a new temporary directory of
// tb, and stops it when tb's test ends.
func MustStartServer(tb testing.TB) *embedded.Server {
	tb.Helper()
	// A directory that Start creates is private from the start; tb.TempDir itself is not, and
	// Start would log a warning as it tightens it.
	return MustStartServerIn(tb, filepath.Join(tb.TempDir(), "data"))
}

// MustStartServerIn starts an embedded server with its files in dir, and stops it when tb's
// test ends (Close may be called earlier; a second Close does nothing).
func MustStartServerIn(tb testing.TB, dir string) *embedded.Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx, embedded.Params{DataDir: dir, Logger: Logger()})
	if err != nil {
		tb.Fatalf("start embedded server: %v", err)
	}
	tb.Cleanup(func() {
		if err := srv.Close(); err != nil {
			tb.Errorf("stop embedded server: %v", err)
		}
	})
	return srv
}

// MustOpen returns a store.DB on an empty database of the shared server (or of a server of
// its own when Main is not in use), with every index created. When tb's test ends the database
// is emptied and kept for a later MustOpen of the same test binary: creating every index costs
// about sixty commands on FerretDB, emptying the collections a few. A database that cannot be
// emptied, or that no longer answers, is dropped instead.
func MustOpen(tb testing.TB) *store.DB {
	tb.Helper()
	srv, err := sharedServer()
	if err != nil {
		tb.Fatalf("start shared embedded server: %v", err)
	}
	if srv == nil {
		return MustOpenURI(tb, MustStartServer(tb).URI())
	}
	db := takePooled()
	if db == nil {
		ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
		defer cancel()
		if db, err = store.Open(ctx, srv.URI(), DBName(tb), Logger()); err != nil {
			tb.Fatalf("open database: %v", err)
		}
	}
	tb.Cleanup(func() {
		if err := recycle(db); err != nil {
			tb.Errorf("recycle test database: %v", err)
		}
	})
	return db
}

// openTimeout bounds opening a test database. It is generous because the tests run on shared,
// noisy machines and each open creates every index; it is not a performance assertion.
const openTimeout = 2 * time.Minute

// pool holds emptied databases of the shared server, ready for the next MustOpen.
var pool struct {
	mu  sync.Mutex
	dbs []*store.DB
}

const maxPooled = 16

func takePooled() *store.DB {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if n := len(pool.dbs); n > 0 {
		db := pool.dbs[n-1]
		pool.dbs = pool.dbs[:n-1]
		return db
	}
	return nil
}

// recycle empties every collection of db and keeps it for reuse, or drops it when that fails
// or the pool is full. Indexes stay: no test drops one (the store creates them only at open).
func recycle(db *store.DB) error {
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	err := empty(ctx, db)
	pool.mu.Lock()
	if err == nil && len(pool.dbs) < maxPooled {
		pool.dbs = append(pool.dbs, db)
		pool.mu.Unlock()
		return nil
	}
	pool.mu.Unlock()
	if derr := db.Database().Drop(ctx); derr != nil && err == nil {
		err = fmt.Errorf("drop: %w", derr)
	}
	if cerr := db.Close(ctx); cerr != nil && err == nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	return err
}

// empty deletes every document of every collection of db, and what db remembers of them.
func empty(ctx context.Context, db *store.DB) error {
	defer db.ForgetCaches()
	names, err := db.Database().ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return err
	}
	for _, name := range names {
		if _, err := db.Database().Collection(name).DeleteMany(ctx, bson.D{}); err != nil {
			return fmt.Errorf("empty %s: %w", name, err)
		}
	}
	return nil
}

// closePool closes the pooled databases (Main removes the server's files afterwards).
func closePool() {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	for _, db := range pool.dbs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = db.Close(ctx)
		cancel()
	}
	pool.dbs = nil
}

// MustOpenURI opens a new database with a random name on the server at uri, and drops it and
// closes the connection when tb's test ends.
func MustOpenURI(tb testing.TB, uri string) *store.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	db, err := store.Open(ctx, uri, DBName(tb), Logger())
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
		defer cancel()
		if err := db.Database().Drop(ctx); err != nil {
			tb.Errorf("drop test database: %v", err)
		}
		if err := db.Close(ctx); err != nil {
			tb.Errorf("close database: %v", err)
		}
	})
	return db
}

// DBName returns a new database name, unique for the run, short enough for every server.
func DBName(tb testing.TB) string {
	tb.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("random database name: %v", err)
	}
	return "test_" + hex.EncodeToString(b[:])
}

// Logger returns the logger the test servers and databases use: warnings and errors to
// standard error, so a failing test shows what the server complained about.
func Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
