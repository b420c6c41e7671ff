// Package embedded runs FerretDB (a MongoDB-compatible server on SQLite) inside the Careway
// process, so that Careway works with no database to install. The server has no
// authentication, so it listens only on a Unix socket in a directory that only the owner can
// enter (mode 0700), never on TCP.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// startTimeout bounds how long Start waits for the socket to accept connections.
const startTimeout = 10 * time.Second

// Params configures Start.
type Params struct {
	// DataDir holds the SQLite files (under DataDir/db) and, when its path allows, the socket.
	// It is created with mode 0700, or tightened to 0700 if it exists with looser bits.
	DataDir string
	// Logger receives FerretDB's warnings and errors; nil discards them. Records below Warn,
	// and FerretDB's copies of failed replies, are dropped (see quietHandler).
	Logger *slog.Logger
}

// Server is a running embedded FerretDB.
type Server struct {
	socket string
	dbDir  string // the SQLite files, one per database
	tmpDir string // a directory made for the socket outside DataDir, removed on Close
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	lock   *os.File // holds the data directory's exclusive lock until Close
}

// newMu serialises ferretdb.New, which writes a package-level variable of FerretDB's (its
// version "package" name); two servers started at once in one process would race on it.
var newMu sync.Mutex

// Start starts FerretDB with the SQLite handler on files under p.DataDir and returns once its
// socket accepts connections, or an error after about ten seconds. ctx bounds only the start:
// the server runs until Close.
func Start(ctx context.Context, p Params) (*Server, error) {
	if p.DataDir == "" {
		return nil, errors.New("embedded: DataDir is required")
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dataDir, err := filepath.Abs(p.DataDir)
	if err != nil {
		return nil, fmt.Errorf("embedded: data directory: %w", err)
	}
	if err := makePrivateDir(dataDir, logger); err != nil {
		return nil, err
	}
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return nil, err
	}
	dbDir := filepath.Join(dataDir, "db")
	if err := makePrivateDir(dbDir, logger); err != nil {
		lock.Close()
		return nil, err
	}

	socket, tmpDir, err := socketPath(dataDir)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s := &Server{socket: socket, dbDir: dbDir, tmpDir: tmpDir, done: make(chan struct{}), lock: lock}
	if err := s.start(ctx, dbDir, logger); err != nil {
		if tmpDir != "" {
			_ = os.RemoveAll(tmpDir)
		}
		lock.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, dbDir string, logger *slog.Logger) error {
	if err := removeStaleSocket(s.socket); err != nil {
		return err
	}
	// A URL built this way escapes any character of the path that SQLite's URI syntax would
	// misread; FerretDB wants the directory with a trailing slash.
	sqliteURL := (&url.URL{Scheme: "file", Path: dbDir + "/"}).String()

	newMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: s.socket},
		Logger:    slog.New(quietHandler{h: logger.Handler()}).With("component", "ferretdb"),
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	newMu.Unlock()
	if err != nil {
		return fmt.Errorf("embedded: start FerretDB: %w", err)
	}

	// The server outlives ctx, which only bounds the start.
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.done)
		if err := f.Run(runCtx); err != nil {
			logger.Error("embedded FerretDB stopped", "err", err)
		}
	}()

	if err := waitForSocket(ctx, s.socket, s.done); err != nil {
		cancel()
		<-s.done
		return err
	}
	return nil
}

// URI returns the connection string for the official driver: the driver wants the socket path,
// URL-escaped, as the host.
func (s *Server) URI() string { return "mongodb://" + url.PathEscape(s.socket) }

// SocketPath returns the path of the Unix socket the server listens on.
func (s *Server) SocketPath() string { return s.socket }

// Close stops the server, waits until it has closed its connections and files, and removes the
// socket. Disconnect clients first: FerretDB gives connections still open three seconds to
// finish. Calling Close again does nothing.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		s.cancel()
		<-s.done
		_ = os.Remove(s.socket) // the listener normally unlinks it already
		if s.tmpDir != "" {
			err = os.RemoveAll(s.tmpDir)
		}
		s.lock.Close() // releases the data directory's lock
	})
	return err
}

// waitForSocket polls until a connection to the socket succeeds, the server stops, ctx ends or
// startTimeout passes.
func waitForSocket(ctx context.Context, socket string, stopped <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "unix", socket)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		select {
		case <-stopped:
			return errors.New("embedded: FerretDB stopped while starting")
		case <-ctx.Done():
			return fmt.Errorf("embedded: FerretDB did not accept connections on %s: %w (last error: %v)", socket, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// quietHandler passes on FerretDB's warnings and errors but drops its Info and Debug records
// (it logs every connection at Info) and its copies of failed command replies. FerretDB logs
// each reply whose "ok" is 0 at Warn, header and body; the client receives the same reply and
// the store turns it into a *models.Error, so the copy only adds noise (every taken email at
// sign-up, the driver's endSessions at every disconnect) and could quote a document's values.
// Replies on connections FerretDB closes are logged at Error and kept.
type quietHandler struct {
	h slog.Handler
}

func (q quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && q.h.Enabled(ctx, l)
}

func (q quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelError && strings.HasPrefix(r.Message, "Response ") {
		return nil
	}
	return q.h.Handle(ctx, r)
}

func (q quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return quietHandler{h: q.h.WithAttrs(as)}
}

func (q quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h: q.h.WithGroup(name)}
}
