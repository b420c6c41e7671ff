package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"careway/models"
)

// A cursor is the sort key of the last item of a page, so the next page starts strictly after
// it whatever was inserted or deleted meanwhile (no skip/offset, which would repeat or miss
// items). It is opaque to clients: base64url of a JSON array of strings.

func encodeCursor(keys ...string) string {
	b, _ := json.Marshal(keys) // a []string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the n keys of a cursor, or EINVALID naming the field "cursor".
func decodeCursor(cursor string, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	var keys []string
	if err != nil || json.Unmarshal(b, &keys) != nil || len(keys) != n {
		return nil, invalid("cursor", "is not a cursor returned by this list")
	}
	for _, k := range keys {
		if k == "" {
			return nil, invalid("cursor", "is not a cursor returned by this list")
		}
	}
	return keys, nil
}

// timeKey and parseTimeKey write a time as milliseconds since the epoch, the precision of a
// BSON date, so a key read back from the database compares exactly.
func timeKey(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func parseTimeKey(s string) (time.Time, error) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, invalid("cursor", "is not a cursor returned by this list")
	}
	return time.UnixMilli(ms).UTC(), nil
}

// findPage runs a query sorted by sort and returns at most limit documents, and whether more
// follow: it asks for one more than it returns.
func findPage[D any](ctx context.Context, c *mongo.Collection, filter, sort bson.D, limit int) (docs []D, more bool, err error) {
	op := c.Name() + ".find"
	cur, err := c.Find(ctx, filter, options.Find().SetSort(sort).SetLimit(int64(limit)+1))
	if err != nil {
		return nil, false, wrapErr(op, err)
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, wrapErr(op, err)
	}
	if len(docs) > limit {
		return docs[:limit], true, nil
	}
	return docs, false, nil
}

// listByID returns one page of the documents matching filter in _id order, converted by conv,
// and the cursor of the next page ("" after the last). It needs an index on the filter's
// fields followed by _id.
func listByID[D any, M any](ctx context.Context, c *mongo.Collection, filter bson.D, p models.Page, id func(*D) string, conv func(*D) *M) ([]*M, string, error) {
	return listByIDUpTo(ctx, c, filter, p, models.NormalLimit(p.Limit), id, conv)
}

// listByIDUpTo is listByID with pages of limit items, for internal listings that are not bound
// by the API's page limit.
func listByIDUpTo[D any, M any](ctx context.Context, c *mongo.Collection, filter bson.D, p models.Page, limit int, id func(*D) string, conv func(*D) *M) ([]*M, string, error) {
	if p.Cursor != "" {
		keys, err := decodeCursor(p.Cursor, 1)
		if err != nil {
			return nil, "", err
		}
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: keys[0]}}})
	}
	docs, more, err := findPage[D](ctx, c, filter, bson.D{{Key: "_id", Value: 1}}, limit)
	if err != nil {
		return nil, "", err
	}
	items := make([]*M, len(docs))
	for i := range docs {
		items[i] = conv(&docs[i])
	}
	next := ""
	if more {
		next = encodeCursor(id(&docs[len(docs)-1]))
	}
	return items, next, nil
}

// listByTime returns one page of the documents matching filter ordered by a time field and
// then _id (newest first unless ascending), converted by conv, and the cursor of the next
// page. The cursor holds the last item's time and id, so paging neither repeats nor skips
// items while new ones arrive. It needs an index on the filter's fields, then field, then _id.
func listByTime[D any, M any](ctx context.Context, c *mongo.Collection, filter bson.D, field string, ascending bool,
	p models.Page, key func(*D) (time.Time, string), conv func(*D) *M) ([]*M, string, error) {
	dir, cmp := -1, "$lt"
	if ascending {
		dir, cmp = 1, "$gt"
	}
	if p.Cursor != "" {
		keys, err := decodeCursor(p.Cursor, 2)
		if err != nil {
			return nil, "", err
		}
		at, err := parseTimeKey(keys[0])
		if err != nil {
			return nil, "", err
		}
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: field, Value: bson.D{{Key: cmp, Value: at}}}},
			bson.D{{Key: field, Value: at}, {Key: "_id", Value: bson.D{{Key: cmp, Value: keys[1]}}}},
		}})
	}
	limit := models.NormalLimit(p.Limit)
	docs, more, err := findPage[D](ctx, c, filter, bson.D{{Key: field, Value: dir}, {Key: "_id", Value: dir}}, limit)
	if err != nil {
		return nil, "", err
	}
	items := make([]*M, len(docs))
	for i := range docs {
		items[i] = conv(&docs[i])
	}
	next := ""
	if more {
		at, id := key(&docs[len(docs)-1])
		next = encodeCursor(timeKey(at), id)
	}
	return items, next, nil
}
