package embedded_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"careway/store/embedded"
)

// MustStart starts a server on dir and stops it when the test ends.
func MustStart(tb testing.TB, dir string) *embedded.Server {
	tb.Helper()
	srv, err := embedded.Start(context.Background(), embedded.Params{DataDir: dir})
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	return srv
}

// MustConnect connects the driver to uri and disconnects when the test ends.
func MustConnect(tb testing.TB, uri string) *mongo.Client {
	tb.Helper()
	ctx := context.Background()
	c, err := mongo.Connect(ctx, options.Client().ApplyURI(uri).SetServerSelectionTimeout(5*time.Second))
	if err != nil {
		tb.Fatalf("Connect(%q): %v", uri, err)
	}
	tb.Cleanup(func() { _ = c.Disconnect(ctx) })
	if err := c.Ping(ctx, nil); err != nil {
		tb.Fatalf("Ping(%q): %v", uri, err)
	}
	return c
}

// MustShortDir returns a new directory with a short, lower-case path, where the socket can
// live in the data directory itself (t.TempDir's names have capitals, which the driver would
// lowercase).
func MustShortDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "cwtest")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func mode(tb testing.TB, path string) os.FileMode {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestStart(t *testing.T) {
	t.Run("socket in the data directory", func(t *testing.T) {
		dir := MustShortDir(t)
		srv := MustStart(t, dir)
		if got, want := srv.SocketPath(), filepath.Join(dir, "mongod.sock"); got != want {
			t.Errorf("SocketPath() = %q, want %q", got, want)
		}
		if got, want := mode(t, dir), os.FileMode(0o700); got != want {
			t.Errorf("data directory mode = %v, want %v", got, want)
		}
		if !strings.HasPrefix(srv.URI(), "mongodb://%2F") {
			t.Errorf("URI() = %q, want the escaped socket path as host", srv.URI())
		}
		MustConnect(t, srv.URI())
	})

	t.Run("socket elsewhere when the data directory's path is unusable", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "Data With Capitals", strings.Repeat("x", 100))
		srv := MustStart(t, dir)
		sockDir := filepath.Dir(srv.SocketPath())
		if strings.HasPrefix(srv.SocketPath(), dir) {
			t.Fatalf("SocketPath() = %q, want it outside %q", srv.SocketPath(), dir)
		}
		if got, want := mode(t, sockDir), os.FileMode(0o700); got != want {
			t.Errorf("socket directory mode = %v, want %v", got, want)
		}
		if got, want := mode(t, dir), os.FileMode(0o700); got != want {
			t.Errorf("data directory mode = %v, want %v", got, want)
		}
		c := MustConnect(t, srv.URI())
		// The SQLite files go under a path with spaces.
		if _, err := c.Database("spaces").Collection("c").InsertOne(context.Background(), bson.D{{Key: "n", Value: 1}}); err != nil {
			t.Fatalf("InsertOne: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "db", "spaces.sqlite")); err != nil {
			t.Errorf("database file: %v", err)
		}
		_ = c.Disconnect(context.Background()) // else Close gives the connection 3 s to finish
		if err := srv.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := os.Stat(sockDir); !os.IsNotExist(err) {
			t.Errorf("socket directory after Close: Stat error = %v, want not exist", err)
		}
	})

	t.Run("tightens a loose data directory", func(t *testing.T) {
		dir := MustShortDir(t)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		MustStart(t, dir)
		if got, want := mode(t, dir), os.FileMode(0o700); got != want {
			t.Errorf("data directory mode = %v, want %v", got, want)
		}
	})

	t.Run("no data directory", func(t *testing.T) {
		if _, err := embedded.Start(context.Background(), embedded.Params{}); err == nil {
			t.Fatal("Start with no DataDir: got nil error")
		}
	})

	t.Run("refuses a second server on a live socket", func(t *testing.T) {
		dir := MustShortDir(t)
		MustStart(t, dir)
		srv, err := embedded.Start(context.Background(), embedded.Params{DataDir: dir})
		if err == nil {
			_ = srv.Close()
			t.Fatal("second Start on the same directory: got nil error")
		}
	})

	t.Run("refuses a second server on the same data directory, whatever the socket", func(t *testing.T) {
		dir := t.TempDir() // a long path: the socket goes to a fresh temporary directory each time
		first := MustStart(t, dir)
		srv, err := embedded.Start(context.Background(), embedded.Params{DataDir: dir})
		if err == nil {
			_ = srv.Close()
			t.Fatal("second Start on the same data directory: got nil error")
		}
		if !strings.Contains(err.Error(), "another Careway process") {
			t.Errorf("error = %v, want one naming the other process", err)
		}
		// Once the first stops, the directory is free again.
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		MustStart(t, dir)
	})

	t.Run("replaces a stale socket", func(t *testing.T) {
		dir := MustShortDir(t)
		l, err := net.Listen("unix", filepath.Join(dir, "mongod.sock"))
		if err != nil {
			t.Fatal(err)
		}
		l.(*net.UnixListener).SetUnlinkOnClose(false) // as if the process had crashed
		_ = l.Close()
		srv := MustStart(t, dir)
		MustConnect(t, srv.URI())
	})
}

func TestRestartKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	srv := MustStart(t, dir)
	c := MustConnect(t, srv.URI())
	if _, err := c.Database("keep").Collection("things").InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 42}}); err != nil {
		t.Fatalf("InsertOne: %v", err)
	}
	_ = c.Disconnect(ctx)
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	srv = MustStart(t, dir)
	c = MustConnect(t, srv.URI())
	var got struct {
		N int `bson:"n"`
	}
	if err := c.Database("keep").Collection("things").FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Decode(&got); err != nil {
		t.Fatalf("FindOne after restart: %v", err)
	}
	if got.N != 42 {
		t.Errorf("n after restart = %d, want 42", got.N)
	}
}
