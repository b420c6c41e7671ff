package store

import (
	"container/heap"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"careway/models"
)

// Slot search on FerretDB.
//
// MongoDB answers SearchSlots from the compound index (practiceId, status, start, _id). FerretDB
// v1.24 pushes no filter but _id equality down to SQLite, so the same query reads and decodes
// every slot of every practice (a month of a large practice: 8,000 documents, about a second).
// On FerretDB the search instead walks the practice's active sessions, kept in memory
// (sessionIndex), computes each slot's start and derived id (SlotIDFor) without reading it,
// merges the sessions' slots in (start, _id) order, and reads only the slots it may return, by
// _id, until the page is full. Every slot returned was read as free by this search; a slot
// booked before the search read it is never shown, and a free slot is never skipped, because
// which slots exist follows from the sessions alone.
//
// sessionIndex is sound because the FerretDB Careway talks to is its own embedded server: no
// other process reaches it (private socket, lock file), the process opens it once, and every
// write of a session goes through SessionStore, which updates the index after each write. The
// same assumption already makes DB.lockWrites sound. A session written to the database behind
// the store's back (a test emptying collections) needs DB.ForgetCaches.

// indexedSession is what the search needs of an active session.
type indexedSession struct {
	id          string
	siteID      string
	clinicianID string
	serviceType string
	modes       []string
	start       time.Time // as stored: milliseconds
	step        time.Duration
	count       int // slots
}

// slot n of the session starts at start + n × step (slotsOf).
func (e *indexedSession) slotStart(n int) time.Time { return e.start.Add(time.Duration(n) * e.step) }

func (e *indexedSession) end() time.Time { return e.slotStart(e.count) }

// sessionIndex holds the active sessions of every practice, by start then id, loaded from the
// database at first use.
type sessionIndex struct {
	mu       sync.RWMutex
	loaded   bool
	practice map[string][]*indexedSession
}

func indexEntry(d *sessionDoc) (string, *indexedSession) {
	return d.PracticeID, &indexedSession{id: d.ID, siteID: d.SiteID, clinicianID: d.ClinicianID, serviceType: d.ServiceType,
		modes: slices.Clone(d.Modes), start: d.Start.UTC().Truncate(time.Millisecond),
		step: time.Duration(d.SlotMinutes) * time.Minute, count: d.SlotCount}
}

// sessionsOf returns the active sessions of a practice, loading the index first if needed. The
// slice must not be changed.
func (x *sessionIndex) sessionsOf(ctx context.Context, db *DB, practice string) ([]*indexedSession, error) {
	x.mu.RLock()
	if x.loaded {
		defer x.mu.RUnlock()
		return x.practice[practice], nil
	}
	x.mu.RUnlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.loaded {
		// Loaded under the write lock: a session inserted meanwhile is either seen by this scan
		// or added by its writer after the lock is released (add waits for it).
		cur, err := db.collection(collSessions).Find(ctx, bson.D{{Key: "status", Value: models.SessionActive}})
		if err != nil {
			return nil, wrapErr("sessions.find", err)
		}
		var docs []sessionDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, wrapErr("sessions.find", err)
		}
		x.practice = map[string][]*indexedSession{}
		for i := range docs {
			pr, e := indexEntry(&docs[i])
			x.practice[pr] = append(x.practice[pr], e)
		}
		for _, list := range x.practice {
			slices.SortFunc(list, compareEntries)
		}
		x.loaded = true
	}
	return x.practice[practice], nil
}

// add records an active session just inserted. Before the index is loaded it does nothing: the
// load reads the session from the database.
func (x *sessionIndex) add(d *sessionDoc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.loaded {
		x.put(indexEntry(d))
	}
}

// put inserts or replaces an entry, keeping the practice's list in (start, id) order. The list
// is copied, so a search holding the old one is undisturbed. The caller holds the write lock.
func (x *sessionIndex) put(practice string, e *indexedSession) {
	old := x.practice[practice]
	list := make([]*indexedSession, 0, len(old)+1)
	for _, o := range old {
		if o.id != e.id {
			list = append(list, o)
		}
	}
	i, _ := slices.BinarySearchFunc(list, e, compareEntries)
	x.practice[practice] = slices.Insert(list, i, e)
}

// compareEntries orders sessions by start, then id.
func compareEntries(a, b *indexedSession) int {
	if c := a.start.Compare(b.start); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// remove drops a session that is no longer active.
func (x *sessionIndex) remove(practice, id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.loaded {
		return
	}
	x.practice[practice] = slices.DeleteFunc(slices.Clone(x.practice[practice]), func(e *indexedSession) bool { return e.id == id })
}

// forget drops the index; the next search loads it again.
func (x *sessionIndex) forget() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.loaded, x.practice = false, nil
}

// ForgetCaches drops what the DB keeps in memory about the data (on FerretDB, the sessions the
// slot search walks and the booking policies). Only for code that changes the database without
// the stores, such as a test emptying its collections.
func (db *DB) ForgetCaches() {
	db.sessions.forget()
	db.policies.Clear()
}

// slotRef is a slot known from its session, not yet read.
type slotRef struct {
	start time.Time
	id    string
	sess  *indexedSession
	n     int
}

// slotHeap orders slots by start, then id: the order of SearchSlots.
type slotHeap []slotRef

func (h slotHeap) Len() int { return len(h) }
func (h slotHeap) Less(i, j int) bool {
	if c := h[i].start.Compare(h[j].start); c != 0 {
		return c < 0
	}
	return h[i].id < h[j].id
}
func (h slotHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *slotHeap) Push(x any)   { *h = append(*h, x.(slotRef)) }
func (h *slotHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// searchBySessions is SearchSlots on FerretDB (see the comment at the top of this file): the
// same results, the same order and the same cursors as the query MongoDB answers.
func (s *SlotStore) searchBySessions(ctx context.Context, q models.SlotQuery, p models.Page) ([]*models.Slot, string, error) {
	from := q.NotBefore.UTC()
	var afterAt time.Time
	var afterID string
	if p.Cursor != "" {
		keys, err := decodeCursor(p.Cursor, 2)
		if err != nil {
			return nil, "", err
		}
		if afterAt, err = parseTimeKey(keys[0]); err != nil {
			return nil, "", err
		}
		afterID = keys[1]
		if afterAt.After(from) {
			from = afterAt
		}
	}
	sessions, err := s.db.sessions.sessionsOf(ctx, s.db, string(q.PracticeID))
	if err != nil {
		return nil, "", err
	}
	var h slotHeap
	for _, e := range sessions {
		if e.step <= 0 || !e.end().After(from) || (!q.Before.IsZero() && !e.start.Before(q.Before)) || !sessionMatches(e, q) {
			continue
		}
		n := 0
		if from.After(e.start) {
			n = int((from.Sub(e.start) + e.step - 1) / e.step) // the first slot starting at or after from
		}
		if ref, ok := refOf(e, n, q.Before); ok {
			h = append(h, ref)
		}
	}
	heap.Init(&h)
	limit := models.NormalLimit(p.Limit)
	var found []*slotDoc
	for h.Len() > 0 && len(found) <= limit {
		ref := heap.Pop(&h).(slotRef)
		if next, ok := refOf(ref.sess, ref.n+1, q.Before); ok {
			heap.Push(&h, next)
		}
		if p.Cursor != "" && (ref.start.Before(afterAt) || (ref.start.Equal(afterAt) && ref.id <= afterID)) {
			continue // on an earlier page
		}
		d, err := findByID[slotDoc](ctx, s.c, ref.id, "Slot not found.")
		if models.ErrorCode(err) == models.ENOTFOUND {
			continue // not inserted yet, or never (a crash between a session and its slots)
		} else if err != nil {
			return nil, "", err
		}
		if d.Start.Equal(ref.start) && slotMatches(d, q) {
			found = append(found, d)
		}
	}
	next := ""
	if len(found) > limit {
		found = found[:limit]
		last := found[limit-1]
		next = encodeCursor(timeKey(last.Start), last.ID)
	}
	items := make([]*models.Slot, len(found))
	for i, d := range found {
		items[i] = d.model()
		if q.Mode != "" {
			items[i].Mode = q.Mode
		}
	}
	return items, next, nil
}

// refOf is slot n of a session, if the session has it and it starts before before (zero: no
// bound).
func refOf(e *indexedSession, n int, before time.Time) (slotRef, bool) {
	if n >= e.count {
		return slotRef{}, false
	}
	at := e.slotStart(n)
	if !before.IsZero() && !at.Before(before) {
		return slotRef{}, false
	}
	return slotRef{start: at, id: string(SlotIDFor(models.SessionID(e.id), n)), sess: e, n: n}, true
}

// sessionMatches is the part of a slot query a session decides (its slots copy these fields).
func sessionMatches(e *indexedSession, q models.SlotQuery) bool {
	return (q.SiteID == "" || e.siteID == string(q.SiteID)) && (q.ClinicianID == "" || e.clinicianID == string(q.ClinicianID)) &&
		(q.ServiceType == "" || e.serviceType == string(q.ServiceType)) && (q.Mode == "" || slices.Contains(e.modes, string(q.Mode)))
}

// slotMatches is the whole slot query on a slot as read: the filter SearchSlots gives MongoDB.
func slotMatches(d *slotDoc, q models.SlotQuery) bool {
	return d.Status == models.SlotFree && d.PracticeID == string(q.PracticeID) && !d.Start.Before(q.NotBefore) &&
		(q.Before.IsZero() || d.Start.Before(q.Before)) && (q.SiteID == "" || d.SiteID == string(q.SiteID)) &&
		(q.ClinicianID == "" || d.ClinicianID == string(q.ClinicianID)) && (q.ServiceType == "" || d.ServiceType == string(q.ServiceType)) &&
		(q.Mode == "" || slices.Contains(d.Modes, string(q.Mode))) && (!q.StepFreeOnly || d.StepFree)
}

// nextByID is NextSlot on FerretDB: the slot of the session that starts when first ends is
// slot n = (first's end − the session's start) / slot length, read by its derived id.
func (s *SlotStore) nextByID(ctx context.Context, first *models.Slot) (*models.Slot, error) {
	const none = "The session has no slot after this one."
	sess, err := findByID[sessionDoc](ctx, s.db.collection(collSessions), string(first.SessionID), none)
	if err != nil {
		return nil, err
	}
	step, off := time.Duration(sess.SlotMinutes)*time.Minute, first.End.Sub(sess.Start.UTC())
	if step <= 0 || off < 0 || off%step != 0 {
		return nil, models.Errorf(models.ENOTFOUND, none)
	}
	d, err := findByID[slotDoc](ctx, s.c, string(SlotIDFor(first.SessionID, int(off/step))), none)
	if err != nil {
		return nil, err
	}
	if d.SessionID != string(first.SessionID) || !d.Start.Equal(first.End) {
		return nil, models.Errorf(models.ENOTFOUND, none)
	}
	return d.model(), nil
}
