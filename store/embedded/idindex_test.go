package embedded_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
)

// TestIndexIDsMakesIDLookupsIndexSearches checks that after IndexIDs SQLite answers FerretDB's
// own by-_id query with an index search (before, a scan), and that FerretDB keeps working on
// the collection: reads, updates, deletes by _id, its unique _id index, listIndexes and drop.
func TestIndexIDsMakesIDLookupsIndexSearches(t *testing.T) {
	dir := MustShortDir(t)
	srv := MustStart(t, dir)
	ctx := context.Background()
	coll := MustConnect(t, srv.URI()).Database("idx").Collection("things")
	for _, id := range []string{"a", "b", "c"} {
		if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "n", Value: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	plan := func() string {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "db", "idx.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var table string
		if err := db.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = 'things'`).Scan(&table); err != nil {
			t.Fatal(err)
		}
		var id, parent, unused int
		var detail string
		// The statement FerretDB v1.24 runs for a find by _id (sqlite backend, collection.go).
		if err := db.QueryRow(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM "`+table+`" WHERE _ferretdb_sjson->'$._id' = ?`, `"a"`).Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		return detail
	}
	if p := plan(); !strings.HasPrefix(p, "SCAN") {
		t.Fatalf("before IndexIDs the plan is %q; FerretDB's behaviour changed, revisit IndexIDs", p)
	}
	n, err := srv.IndexIDs(ctx, "idx")
	if err != nil || n != 1 {
		t.Fatalf("IndexIDs = %d, %v; want 1 index made", n, err)
	}
	if p := plan(); !strings.Contains(p, "USING INDEX") || !strings.Contains(p, "__careway_id_path") {
		t.Fatalf("after IndexIDs the plan is %q, want a search using the id path index", p)
	}
	if n, err := srv.IndexIDs(ctx, "idx"); err != nil || n != 0 {
		t.Fatalf("second IndexIDs = %d, %v; want nothing to do", n, err)
	}

	var got bson.M
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "b"}}).Decode(&got); err != nil || got["n"] != int32(1) {
		t.Fatalf("find by _id: %v %v", got, err)
	}
	if r, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "b"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "n", Value: 2}}}}); err != nil || r.ModifiedCount != 1 {
		t.Fatalf("update by _id: %+v %v", r, err)
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "b"}}).Decode(&got); err != nil || got["n"] != int32(2) {
		t.Fatalf("find after update: %v %v", got, err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}}); !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("duplicate _id: %v, want a duplicate key error", err)
	}
	if r, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: "c"}}); err != nil || r.DeletedCount != 1 {
		t.Fatalf("delete by _id: %+v %v", r, err)
	}
	if n, err := coll.CountDocuments(ctx, bson.D{}); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
	cur, err := coll.Indexes().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var idx []bson.M
	if err := cur.All(ctx, &idx); err != nil || len(idx) != 1 || idx[0]["name"] != "_id_" {
		t.Fatalf("listIndexes = %v, %v; want only FerretDB's _id_", idx, err)
	}
	if err := coll.Drop(ctx); err != nil {
		t.Fatalf("drop: %v", err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatalf("insert after drop: %v", err)
	}
}
