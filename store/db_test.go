package store_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// MustOpenDB opens dbName at uri and closes it when the test ends.
func MustOpenDB(tb testing.TB, uri, dbName string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), uri, dbName, storetest.Logger())
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close(context.Background()) })
	return db
}

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("creates indexes, and again on the same database", func(t *testing.T) {
		srv := storetest.MustStartServer(t)
		name := storetest.DBName(t)
		MustOpenDB(t, srv.URI(), name)
		db := MustOpenDB(t, srv.URI(), name)

		var got []bson.M
		cur, err := db.Database().Collection("patients").Indexes().List(ctx)
		MustNoErr(t, err)
		MustNoErr(t, cur.All(ctx, &got))
		unique := map[string]bool{}
		for _, ix := range got {
			u, _ := ix["unique"].(bool)
			unique[ix["name"].(string)] = u
		}
		want := map[string]bool{"_id_": false, "nhsKey_1": true, "practiceId_1__id_1": false, "careHomeId_1__id_1": false}
		for name, u := range want {
			if gu, ok := unique[name]; !ok || gu != u {
				t.Errorf("patients index %s: present %v unique %v, want unique %v (all: %v)", name, ok, gu, u, unique)
			}
		}
		MustNoErr(t, db.Ping(ctx))
	})

	t.Run("bad connection string", func(t *testing.T) {
		_, err := store.Open(ctx, "postgres://nowhere", "x", nil)
		MustCode(t, err, models.EINVALID)
	})

	t.Run("no database name", func(t *testing.T) {
		_, err := store.Open(ctx, "mongodb://localhost", "", nil)
		MustCode(t, err, models.EINVALID)
	})

	t.Run("nothing listening", func(t *testing.T) {
		uri := "mongodb://" + url.PathEscape(filepath.Join(t.TempDir(), "mongod.sock"))
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		start := time.Now()
		_, err := store.Open(ctx, uri, "x", nil)
		MustCode(t, err, models.EUNAVAILABLE)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Open took %v to fail, want about 1 s", d)
		}
	})
}

func TestPing_StoppedServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := storetest.MustStartServer(t)
	db := MustOpenDB(t, srv.URI(), storetest.DBName(t))
	MustNoErr(t, db.Ping(ctx))

	if err := srv.Close(); err != nil { // gives the open connection 3 s, then cuts it
		t.Fatalf("Close: %v", err)
	}
	start := time.Now()
	err := db.Ping(ctx)
	MustCode(t, err, models.EUNAVAILABLE)
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("Ping took %v to fail, want at most the 5 s server selection timeout", d)
	}
	if got, want := models.ErrorMessage(err), "The database is unavailable."; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}

	// Later pings wait for server selection; a caller's deadline shortens the wait.
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	start = time.Now()
	MustCode(t, db.Ping(ctx), models.EUNAVAILABLE)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Ping with a 0.5 s deadline took %v", d)
	}
}

// TestReopenAfterRestart is Careway stopping and starting again on the same data directory:
// the records, and the unique indexes that guard them, are still there.
func TestReopenAfterRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	name := storetest.DBName(t)

	srv := storetest.MustStartServerIn(t, dir)
	db := MustOpenDB(t, srv.URI(), name)
	MustNoErr(t, store.NewUserStore(db).CreateUser(ctx, &models.User{ID: "u1", Email: "a@example.test", Role: models.RolePatient}))
	MustNoErr(t, db.Close(ctx))
	MustNoErr(t, srv.Close())

	srv = storetest.MustStartServerIn(t, dir)
	users := store.NewUserStore(MustOpenDB(t, srv.URI(), name))
	got, err := users.UserByEmail(ctx, "a@example.test")
	MustNoErr(t, err)
	if got.ID != "u1" {
		t.Errorf("UserByEmail after restart = %+v, want u1", got)
	}
	err = users.CreateUser(ctx, &models.User{ID: "u2", Email: "a@example.test", Role: models.RolePatient})
	MustCode(t, err, models.ECONFLICT)
}
