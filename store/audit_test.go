package store_test

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

func TestAuditStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewAuditStore(storetest.MustOpen(t))

	// 30 events about pat1 by gp1, in bursts of three sharing a millisecond, appended in an
	// order unrelated to their times; and a few others that must not show up.
	var want []*models.AuditEvent
	for i := range 30 {
		e := &models.AuditEvent{
			ID:        fmt.Sprintf("e%02d", (i*7)%30),
			At:        t0.Add(time.Duration(i/3) * time.Minute).Add(time.Duration(i%3) * time.Microsecond),
			ActorID:   "gp1",
			ActorRole: models.RoleClinician,
			Action:    "patient.read",
			PatientID: "pat1",
			Outcome:   models.OutcomeSuccess,
			RequestID: fmt.Sprintf("req%d", i),
		}
		want = append(want, e)
	}
	for _, i := range shuffled(30) {
		MustNoErr(t, s.AppendAudit(ctx, want[i]))
	}
	MustNoErr(t, s.AppendAudit(ctx, &models.AuditEvent{ID: "x1", At: t0, ActorID: "gp2", PatientID: "pat2", Action: "patient.read", Outcome: models.OutcomeDenied, Reason: "not_registered"}))
	MustNoErr(t, s.AppendAudit(ctx, &models.AuditEvent{ID: "x2", At: t0, Action: "auth.login", Outcome: models.OutcomeFailure, ClientAddr: "192.0.2.1"}))

	for _, e := range want {
		e.At = ms(e.At)
	}
	slices.SortFunc(want, func(a, b *models.AuditEvent) int {
		return cmp.Or(b.At.Compare(a.At), cmp.Compare(b.ID, a.ID)) // newest first, then id descending
	})

	for name, list := range map[string]func(models.Page) ([]*models.AuditEvent, string, error){
		"by patient": func(p models.Page) ([]*models.AuditEvent, string, error) { return s.ListAuditByPatient(ctx, "pat1", p) },
		"by actor":   func(p models.Page) ([]*models.AuditEvent, string, error) { return s.ListAuditByActor(ctx, "gp1", p) },
	} {
		t.Run(name, func(t *testing.T) {
			for _, limit := range []int{1, 7, 30, 0} {
				got, _ := collectPages(t, limit, 40, list)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("limit %d: got %d events in order %v\nwant %d in order %v", limit, len(got), eventIDs(got), len(want), eventIDs(want))
				}
			}
		})
	}

	t.Run("duplicate id", func(t *testing.T) {
		MustCode(t, s.AppendAudit(ctx, &models.AuditEvent{ID: "x1", At: t0, Action: "patient.read", Outcome: models.OutcomeSuccess}), models.ECONFLICT)
	})

	t.Run("invalid cursor", func(t *testing.T) {
		for _, c := range []string{"x", "WyJhIl0" /* one key */, "WyJub3QtYS10aW1lIiwiZTAxIl0" /* ["not-a-time","e01"] */} {
			_, _, err := s.ListAuditByPatient(ctx, "pat1", models.Page{Cursor: c})
			MustFieldError(t, err, "cursor")
		}
	})
}

// shuffled returns 0..n-1 in a fixed shuffled order.
func shuffled(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = (i*11 + 5) % n
	}
	return out
}

func eventIDs(es []*models.AuditEvent) []string {
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}
