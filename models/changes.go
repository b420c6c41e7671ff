package models

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// ChangeKind names what a change feed item carries.
type ChangeKind string

// The kinds of a patient's change feed. Their string order is the tie-break of the feed's order
// (see ChangeKey).
const (
	ChangeAlert       ChangeKind = "alert"
	ChangeAppointment ChangeKind = "appointment"
	ChangeObservation ChangeKind = "observation"
	ChangePlan        ChangeKind = "plan"
)

// ChangeKinds lists the kinds in feed order.
var ChangeKinds = []ChangeKind{ChangeAlert, ChangeAppointment, ChangeObservation, ChangePlan}

// ChangeKey is a position in a patient's change feed, which is ordered by the time of each
// document's last change (At, to the millisecond, the precision of a stored date), then by
// Kind, then by the document's id. The zero key is before everything.
//
// A key with an empty Kind means "after everything changed at or before At": the feed hands it
// out when a reader has caught up to the watermark, so the next read starts strictly after it.
type ChangeKey struct {
	At   time.Time
	Kind ChangeKind
	ID   string
}

// Less reports whether k comes before o in feed order.
func (k ChangeKey) Less(o ChangeKey) bool {
	ka, oa := k.At.UnixMilli(), o.At.UnixMilli()
	if ka != oa {
		return ka < oa
	}
	// An empty Kind sorts after every kind at the same instant.
	if (k.Kind == "") != (o.Kind == "") {
		return o.Kind == ""
	}
	if k.Kind != o.Kind {
		return k.Kind < o.Kind
	}
	return k.ID < o.ID
}

// After returns the bound a source of kind must read strictly after: the documents of that
// kind that follow k are those whose (At, ID) is greater than the returned (at, id) pair.
// For kinds before k.Kind (or any kind when k.Kind is empty), everything at k.At has been
// delivered, so id is "\uffff" (above every id); for k.Kind itself it is k.ID; for kinds after
// it, "" (nothing at k.At of that kind has been delivered yet).
func (k ChangeKey) After(kind ChangeKind) (at time.Time, id string) {
	switch {
	case k.Kind == "" || kind < k.Kind:
		return k.At, "\uffff"
	case kind == k.Kind:
		return k.At, k.ID
	}
	return k.At, ""
}

// changeCursorPrefix versions the cursor format.
const changeCursorPrefix = "c1."

// EncodeChangeCursor writes k as an opaque cursor for clients.
func EncodeChangeCursor(k ChangeKey) string {
	raw := strconv.FormatInt(k.At.UnixMilli(), 10) + "\n" + string(k.Kind) + "\n" + k.ID
	return changeCursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeChangeCursor reads a cursor written by EncodeChangeCursor. "" is the start of the feed.
// Anything else is EINVALID naming field.
func DecodeChangeCursor(field, cursor string) (ChangeKey, error) {
	if cursor == "" {
		return ChangeKey{}, nil
	}
	bad := func() (ChangeKey, error) {
		var p Problems
		p.Add(field, "is not a cursor returned by the changes feed")
		return ChangeKey{}, p.Err()
	}
	rest, ok := strings.CutPrefix(cursor, changeCursorPrefix)
	if !ok || len(cursor) > 512 {
		return bad()
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return bad()
	}
	parts := strings.Split(string(b), "\n")
	if len(parts) != 3 {
		return bad()
	}
	ms, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || ms < 0 {
		return bad()
	}
	k := ChangeKey{At: time.UnixMilli(ms).UTC(), Kind: ChangeKind(parts[1]), ID: parts[2]}
	if k.Kind == "" {
		if k.ID != "" {
			return bad()
		}
		return k, nil
	}
	known := false
	for _, c := range ChangeKinds {
		known = known || c == k.Kind
	}
	if !known || k.ID == "" {
		return bad()
	}
	return k, nil
}

// Change is one item of a patient's change feed: the document as it is now. Exactly one of the
// pointers is set, matching Kind.
type Change struct {
	Key         ChangeKey
	Observation *Observation
	Plan        *Plan
	Alert       *Alert
	Appointment *Appointment
}

// ChangeSource gives the documents of one kind that belong to a patient and changed within a
// range of the feed.
type ChangeSource interface {
	// Kind is the kind of every change the source gives.
	Kind() ChangeKind
	// ChangesAfter returns at most limit changes of the patient whose (time, id) is greater
	// than (after, afterID) and whose time is at or before until, in (time, id) order.
	ChangesAfter(ctx context.Context, patient PatientID, after time.Time, afterID string, until time.Time, limit int) ([]Change, error)
}

// MergeChanges merges the sorted changes of several sources into feed order and keeps the
// first limit. more reports whether any were left out.
func MergeChanges(lists [][]Change, limit int) (items []Change, more bool) {
	total := 0
	for _, l := range lists {
		total += len(l)
	}
	pos := make([]int, len(lists))
	for len(items) < limit {
		best := -1
		for i, l := range lists {
			if pos[i] < len(l) && (best < 0 || l[pos[i]].Key.Less(lists[best][pos[best]].Key)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		items = append(items, lists[best][pos[best]])
		pos[best]++
	}
	return items, len(items) < total
}
