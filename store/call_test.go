package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

func mustCall(t *testing.T, s *store.CallStore, appt models.AppointmentID) *models.Call {
	t.Helper()
	c := &models.Call{PatientID: "p1", PracticeID: "pr-1", AppointmentID: appt, CreatedBy: "c1",
		Status: models.CallOpen, CreatedAt: t0}
	MustNoErr(t, s.CreateCall(context.Background(), c))
	return c
}

func TestCallStore_LifeCycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewCallStore(storetest.MustOpen(t))
	c := mustCall(t, s, "a1")
	MustCode(t, s.CreateCall(ctx, c), models.ECONFLICT)

	open, err := s.ListOpenCalls(ctx, "pr-1", 0)
	MustNoErr(t, err)
	if len(open) != 1 || open[0].ID != c.ID {
		t.Fatalf("ListOpenCalls = %+v", open)
	}
	got, err := s.OpenCallFor(ctx, "a1", "")
	MustNoErr(t, err)
	if got.ID != c.ID || got.Status != models.CallOpen || len(got.Participants) != 0 {
		t.Fatalf("OpenCallFor = %+v", got)
	}
	_, err = s.OpenCallFor(ctx, "a2", "")
	MustCode(t, err, models.ENOTFOUND)
	_, err = s.OpenCallFor(ctx, "", "")
	MustCode(t, err, models.EINVALID)

	p1 := models.CallParticipant{UserID: "c1", Kind: models.KindClinician, Name: "Dr A", FirstAt: t0}
	p2 := models.CallParticipant{UserID: "guest:x.y", Kind: models.KindGuest, Name: "Interpreter", FirstAt: t0.Add(time.Second)}
	MustNoErr(t, s.AddCallParticipant(ctx, c.ID, p1))
	MustNoErr(t, s.AddCallParticipant(ctx, c.ID, p2))
	MustNoErr(t, s.AddCallParticipant(ctx, c.ID, models.CallParticipant{UserID: "c1", Kind: models.KindClinician, Name: "changed", FirstAt: t0.Add(time.Hour)}))
	MustCode(t, s.AddCallParticipant(ctx, "nope", p1), models.ENOTFOUND)
	got, err = s.CallByID(ctx, c.ID)
	MustNoErr(t, err)
	if len(got.Participants) != 2 || got.Participants[0].Name != "Dr A" || got.Participants[1].UserID != "guest:x.y" {
		t.Fatalf("participants = %+v", got.Participants)
	}

	q := &models.CallQuality{StartedAt: t0, EndedAt: t0.Add(time.Hour), EndedBy: "c1",
		Participants: []models.ParticipantQuality{{UserID: "c1", Kind: models.KindClinician, JoinedAt: t0, LeftAt: t0.Add(time.Hour),
			Admitted: true, Samples: 3, AvgUpLossPct: 0.5, AvgRTTMs: 20}}}
	MustNoErr(t, s.SaveCallQuality(ctx, c.ID, q))
	MustCode(t, s.SaveCallQuality(ctx, "nope", q), models.ENOTFOUND)
	saved, err := s.CallByID(ctx, c.ID)
	MustNoErr(t, err)
	if saved.Status != models.CallOpen || saved.Quality == nil || len(saved.Quality.Participants) != 1 {
		t.Fatalf("after SaveCallQuality: %+v", saved)
	}
	ended, err := s.EndCall(ctx, c.ID, q, t0.Add(time.Hour))
	MustNoErr(t, err)
	if ended.Status != models.CallEnded || ended.EndedAt == nil || ended.Quality == nil || ended.Quality.Participants[0].AvgRTTMs != 20 ||
		!ended.Quality.Participants[0].JoinedAt.Equal(ms(t0)) || ended.Quality.EndedBy != "c1" {
		t.Fatalf("EndCall = %+v", ended)
	}
	_, err = s.EndCall(ctx, c.ID, nil, t0.Add(2*time.Hour))
	MustCode(t, err, models.ECONFLICT)
	_, err = s.EndCall(ctx, "nope", nil, t0)
	MustCode(t, err, models.ENOTFOUND)
	MustCode(t, s.AddCallParticipant(ctx, c.ID, models.CallParticipant{UserID: "late", Kind: models.KindPatient, FirstAt: t0}), models.ECONFLICT)
	_, err = s.OpenCallFor(ctx, "a1", "")
	MustCode(t, err, models.ENOTFOUND)
	open, err = s.ListOpenCalls(ctx, "pr-1", 0)
	MustNoErr(t, err)
	if len(open) != 0 {
		t.Fatalf("ListOpenCalls after the end = %+v", open)
	}
}

func TestCallStore_InviteRedeemedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewCallStore(storetest.MustOpen(t))
	c := mustCall(t, s, "")
	inv := &models.CallInvite{CallID: c.ID, Hash: "ih1", Role: models.GuestInterpreter, Name: "Interpreter",
		CreatedBy: "c1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	MustNoErr(t, s.CreateCallInvite(ctx, inv))
	MustCode(t, s.CreateCallInvite(ctx, &models.CallInvite{CallID: c.ID, Hash: "ih1", CreatedAt: t0, ExpiresAt: t0}), models.ECONFLICT)
	MustNoErr(t, s.CreateCallInvite(ctx, &models.CallInvite{CallID: c.ID, Hash: "ih2", Role: models.GuestCarer,
		CreatedBy: "c1", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))

	const n = 16
	var wg sync.WaitGroup
	codes := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.RedeemCallInvite(ctx, "ih1", fmt.Sprint("g", i), t0.Add(time.Hour), t0.Add(time.Minute))
			codes[i] = models.ErrorCode(err)
		}()
	}
	wg.Wait()
	if wins := countCode(codes, ""); wins != 1 || countCode(codes, models.ECONFLICT) != n-1 {
		t.Fatalf("redeem codes %v: want one success and the rest conflicts", codes)
	}
	_, err := s.RedeemCallInvite(ctx, "ih2", "gx", t0.Add(time.Hour), t0.Add(time.Minute)) // expires exactly now
	MustCode(t, err, models.ENOTFOUND)
	_, err = s.RedeemCallInvite(ctx, "unknown", "gy", t0.Add(time.Hour), t0)
	MustCode(t, err, models.ENOTFOUND)

	// Exactly one guest token was bound: the winner's.
	bound := 0
	for i := range n {
		g, err := s.CallInviteByGuest(ctx, fmt.Sprint("g", i), t0.Add(2*time.Minute))
		if err == nil {
			bound++
			if g.ID != inv.ID || g.CallID != c.ID || g.GuestUserID() != models.UserID("guest:"+inv.ID) {
				t.Errorf("CallInviteByGuest = %+v", g)
			}
			_, err = s.CallInviteByGuest(ctx, fmt.Sprint("g", i), t0.Add(time.Hour)) // expired
			MustCode(t, err, models.ENOTFOUND)
		} else {
			MustCode(t, err, models.ENOTFOUND)
		}
	}
	if bound != 1 {
		t.Errorf("%d guest tokens bound, want 1", bound)
	}
	_, err = s.CallInviteByGuest(ctx, "", t0)
	MustCode(t, err, models.ENOTFOUND)

	list, err := s.ListCallInvites(ctx, c.ID)
	MustNoErr(t, err)
	if len(list) != 2 || list[0].RedeemedAt == nil || list[1].RedeemedAt != nil {
		t.Fatalf("invites = %+v", list)
	}
}

func TestCallStore_TicketConsumedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewCallStore(storetest.MustOpen(t))
	c := mustCall(t, s, "")
	other := mustCall(t, s, "")
	for i, exp := range []time.Duration{30 * time.Second, 30 * time.Second, time.Second} {
		MustNoErr(t, s.CreateCallTicket(ctx, &models.CallTicket{Hash: fmt.Sprint("t", i), CallID: c.ID, UserID: "u1",
			Kind: models.KindPatient, Name: "P", IssuedAt: t0, ExpiresAt: t0.Add(exp)}))
	}
	MustCode(t, s.CreateCallTicket(ctx, &models.CallTicket{Hash: "t0", CallID: c.ID, IssuedAt: t0, ExpiresAt: t0}), models.ECONFLICT)

	now := t0.Add(5 * time.Second)
	_, err := s.ConsumeCallTicket(ctx, "t0", other.ID, now) // another call's ticket
	MustCode(t, err, models.ENOTFOUND)
	const n = 16
	var wg sync.WaitGroup
	codes := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ConsumeCallTicket(ctx, "t0", c.ID, now)
			codes[i] = models.ErrorCode(err)
		}()
	}
	wg.Wait()
	if countCode(codes, "") != 1 || countCode(codes, models.ECONFLICT) != n-1 {
		t.Fatalf("consume codes %v: want one success and the rest conflicts", codes)
	}
	got, err := s.ConsumeCallTicket(ctx, "t1", c.ID, now)
	MustNoErr(t, err)
	if got.UserID != "u1" || got.Kind != models.KindPatient || got.CallID != c.ID || got.UsedAt == nil {
		t.Errorf("ticket = %+v", got)
	}
	_, err = s.ConsumeCallTicket(ctx, "t2", c.ID, now) // expired
	MustCode(t, err, models.ENOTFOUND)

	n2, err := s.DeleteExpiredCallTickets(ctx, t0.Add(10*time.Second))
	MustNoErr(t, err)
	if n2 != 1 {
		t.Errorf("deleted %d expired tickets, want 1", n2)
	}
}

func countCode(codes []string, want string) int {
	n := 0
	for _, c := range codes {
		if c == want {
			n++
		}
	}
	return n
}
