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

// MustOpen returns a store.DB on a new, empty database of the shared server (or of a server of
// its own when Main is not in use), with every index created. The database is dropped and
// the connection closed when tb's test ends.
func MustOpen(tb testing.TB) *store.DB {
	tb.Helper()
	srv, err := sharedServer()
	if err != nil {
		tb.Fatalf("start shared embedded server: %v", err)
	}
	if srv == nil {
		srv = MustStartServer(tb)
	}
	return MustOpenURI(tb, srv.URI())
}

// MustOpenURI opens a new database with a random name on the server at uri, and drops it and
// closes the connection when tb's test ends.
func MustOpenURI(tb testing.TB, uri string) *store.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	db, err := store.Open(ctx, uri, DBName(tb), Logger())
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
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
