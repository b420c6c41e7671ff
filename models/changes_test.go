package models

import (
	"sort"
	"testing"
	"time"
)

func TestChangeKeyOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	keys := []ChangeKey{
		{},
		{At: t0, Kind: ChangeAlert, ID: "b"},
		{At: t0, Kind: ChangeAlert, ID: "c"},
		{At: t0, Kind: ChangeObservation, ID: "a"},
		{At: t0, Kind: ChangePlan, ID: "a"},
		{At: t0}, // after everything at t0
		{At: t0.Add(time.Millisecond), Kind: ChangeAlert, ID: "a"},
	}
	for i := range keys {
		for j := range keys {
			if got := keys[i].Less(keys[j]); got != (i < j) {
				t.Errorf("%v.Less(%v) = %v", keys[i], keys[j], got)
			}
		}
	}
	// Sub-millisecond differences do not order keys: the store keeps milliseconds.
	a := ChangeKey{At: t0.Add(100 * time.Microsecond), Kind: ChangeAlert, ID: "a"}
	b := ChangeKey{At: t0.Add(900 * time.Microsecond), Kind: ChangeAlert, ID: "a"}
	if a.Less(b) || b.Less(a) {
		t.Error("keys in the same millisecond with the same kind and id must be equal")
	}
}

func TestChangeKeyAfter(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	k := ChangeKey{At: t0, Kind: ChangeObservation, ID: "m"}
	for kind, want := range map[ChangeKind]string{ChangeAlert: "\uffff", ChangeAppointment: "\uffff", ChangeObservation: "m", ChangePlan: ""} {
		if at, id := k.After(kind); !at.Equal(t0) || id != want {
			t.Errorf("After(%s) = %v %q, want %q", kind, at, id, want)
		}
	}
	if _, id := (ChangeKey{At: t0}).After(ChangePlan); id != "\uffff" {
		t.Errorf("a caught-up key must skip everything at its instant, got %q", id)
	}
}

func TestChangeCursor(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 123_000_000, time.UTC)
	for _, k := range []ChangeKey{{At: t0, Kind: ChangePlan, ID: "p#2"}, {At: t0}, {At: time.UnixMilli(0).UTC()}} {
		got, err := DecodeChangeCursor("since", EncodeChangeCursor(k))
		if err != nil || !got.At.Equal(k.At) || got.Kind != k.Kind || got.ID != k.ID {
			t.Errorf("round trip of %v = %v, %v", k, got, err)
		}
	}
	if k, err := DecodeChangeCursor("since", ""); err != nil || !k.At.IsZero() {
		t.Errorf("empty cursor = %v, %v", k, err)
	}
	bad := []string{"x", "c1.!!", "c2." + EncodeChangeCursor(ChangeKey{At: t0})[3:],
		"c1.MTIzCmZvbwpiYXI",        // unknown kind "foo"
		"c1.LTEKCg",                 // negative time
		"c1.MTIzCgp4",               // an id without a kind
		"c1.MTIzCm9ic2VydmF0aW9uCg", // a kind without an id
		"c1.YWJjCgo",                // not a number
		EncodeChangeCursor(ChangeKey{At: t0}) + "AAAA", // four more bytes: three lines no more
	}
	for _, c := range bad {
		_, err := DecodeChangeCursor("since", c)
		if ErrorCode(err) != EINVALID || err.(*Error).Fields[0].Field != "since" {
			t.Errorf("cursor %q: %v", c, err)
		}
	}
}

func TestMergeChanges(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	mk := func(kind ChangeKind, ms int, id string) Change {
		return Change{Key: ChangeKey{At: t0.Add(time.Duration(ms) * time.Millisecond), Kind: kind, ID: id}}
	}
	obs := []Change{mk(ChangeObservation, 0, "a"), mk(ChangeObservation, 2, "b"), mk(ChangeObservation, 5, "c")}
	alerts := []Change{mk(ChangeAlert, 2, "z"), mk(ChangeAlert, 3, "y")}
	plans := []Change{mk(ChangePlan, 0, "p#1")}
	all, more := MergeChanges([][]Change{obs, alerts, plans}, 10)
	if more || len(all) != 6 {
		t.Fatalf("merged %d, more %v", len(all), more)
	}
	if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].Key.Less(all[j].Key) }) {
		t.Errorf("not in feed order: %v", all)
	}
	if all[1].Key.ID != "p#1" || all[2].Key.ID != "z" {
		t.Errorf("ties broken wrongly: %v", all)
	}
	first, more := MergeChanges([][]Change{obs, alerts, plans}, 4)
	if !more || len(first) != 4 || first[3].Key.ID != "b" {
		t.Errorf("first 4 = %v, more %v", first, more)
	}
}
