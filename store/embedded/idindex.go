package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the driver FerretDB itself uses ("sqlite"), the same library instance
)

// idColumn is the expression FerretDB v1.24's SQLite backend compares when it looks a document
// up or updates it by _id (metadata.IDColumn: `_ferretdb_sjson->'$._id'`). The unique index it
// creates for _id is on `_ferretdb_sjson->"_id"`, a different expression to SQLite's planner,
// so every lookup, update and delete by _id scans and parses the whole table (measured: ~30 ms
// per lookup on 8,000 slots with the C sqlite3, more with the Go translation FerretDB uses).
// The same mismatch was reported for FerretDB's PostgreSQL backend
// (github.com/FerretDB/FerretDB/issues/4646).
const idColumn = `_ferretdb_sjson->'$._id'`

// idIndexSuffix names Careway's own index; FerretDB names its indexes table + "_" + the
// MongoDB index name, and Careway creates no MongoDB index of this name.
const idIndexSuffix = "__careway_id_path"

// IndexIDs gives every collection of database dbName an SQLite index on the expression
// FerretDB's _id lookups use (see idColumn), so that a read, update or delete by _id is an index
// search instead of a scan. Call it after store.Open has created the collections; it does
// nothing for an index that exists, so calling it at every start costs a query per collection.
// A collection created later gets its index at the next call.
//
// The index is plain SQLite: FerretDB does not list it (listIndexes shows only its own), SQLite
// keeps it up to date on every write, and dropping the collection drops it with the table. It is
// not unique: FerretDB's own _id index enforces that.
func (s *Server) IndexIDs(ctx context.Context, dbName string) (int, error) {
	file := filepath.Join(s.dbDir, dbName+".sqlite")
	if _, err := os.Stat(file); err != nil {
		return 0, fmt.Errorf("embedded: database file of %q: %w", dbName, err)
	}
	// The same busy timeout as FerretDB's pool: a write of FerretDB's in progress makes the
	// CREATE INDEX wait rather than fail. The journal mode (WAL) is the file's own.
	q := url.Values{"_pragma": {"busy_timeout(10000)"}}
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: file, RawQuery: q.Encode()}).String())
	if err != nil {
		return 0, fmt.Errorf("embedded: open %s: %w", file, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		return 0, fmt.Errorf("embedded: list collections of %q: %w", dbName, err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return 0, fmt.Errorf("embedded: list collections of %q: %w", dbName, err)
		}
		tables = append(tables, t)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("embedded: list collections of %q: %w", dbName, err)
	}
	created := 0
	for _, t := range tables {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?`, t+idIndexSuffix).Scan(&n); err != nil {
			return created, fmt.Errorf("embedded: index of %s: %w", t, err)
		}
		if n > 0 {
			continue
		}
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (%s)`, t+idIndexSuffix, t, idColumn)); err != nil {
			return created, fmt.Errorf("embedded: index %s: %w", t, err)
		}
		created++
	}
	return created, nil
}
