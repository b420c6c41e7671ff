package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// MustCreateToken stores a token of family fam issued at t0 and expiring at t0+ttl.
func MustCreateToken(tb testing.TB, s *store.RefreshTokenStore, hash, fam string, ttl time.Duration) *models.RefreshToken {
	tb.Helper()
	tok := &models.RefreshToken{Hash: hash, FamilyID: fam, UserID: "u1", IssuedAt: t0, ExpiresAt: t0.Add(ttl)}
	if err := s.CreateRefreshToken(context.Background(), tok); err != nil {
		tb.Fatalf("CreateRefreshToken(%s): %v", hash, err)
	}
	return tok
}

func TestRefreshTokenStore_Consume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewRefreshTokenStore(storetest.MustOpen(t))
	now := t0.Add(time.Minute)

	t.Run("twice", func(t *testing.T) {
		MustCreateToken(t, s, "h1", "f1", time.Hour)
		got, err := s.ConsumeRefreshToken(ctx, "h1", now)
		MustNoErr(t, err)
		if got.Hash != "h1" || got.FamilyID != "f1" || got.UserID != "u1" || got.UsedAt == nil || !got.UsedAt.Equal(ms(now)) {
			t.Errorf("ConsumeRefreshToken = %+v, want h1 of f1 for u1 used at %v", got, ms(now))
		}
		if got.RevokedAt != nil || !got.ExpiresAt.Equal(ms(t0.Add(time.Hour))) || !got.IssuedAt.Equal(ms(t0)) {
			t.Errorf("ConsumeRefreshToken = %+v: times changed", got)
		}
		_, err = s.ConsumeRefreshToken(ctx, "h1", now.Add(time.Second))
		MustCode(t, err, models.ECONFLICT)
		stored, err := s.RefreshTokenByHash(ctx, "h1")
		MustNoErr(t, err)
		if stored.UsedAt == nil || !stored.UsedAt.Equal(ms(now)) {
			t.Errorf("UsedAt after a second attempt = %v, want the first use %v", stored.UsedAt, ms(now))
		}
	})

	t.Run("unknown", func(t *testing.T) {
		_, err := s.ConsumeRefreshToken(ctx, "nope", now)
		MustCode(t, err, models.ENOTFOUND)
		_, err = s.RefreshTokenByHash(ctx, "nope")
		MustCode(t, err, models.ENOTFOUND)
	})

	t.Run("expired", func(t *testing.T) {
		MustCreateToken(t, s, "h2", "f2", time.Minute) // expires exactly at now
		_, err := s.ConsumeRefreshToken(ctx, "h2", now)
		MustCode(t, err, models.ENOTFOUND)
	})

	t.Run("revoked", func(t *testing.T) {
		MustCreateToken(t, s, "h3", "f3", time.Hour)
		MustNoErr(t, s.RevokeRefreshToken(ctx, "h3", now))
		_, err := s.ConsumeRefreshToken(ctx, "h3", now)
		MustCode(t, err, models.ECONFLICT)
	})

	t.Run("used and expired is still a reuse", func(t *testing.T) {
		MustCreateToken(t, s, "h4", "f4", 2*time.Minute)
		_, err := s.ConsumeRefreshToken(ctx, "h4", now)
		MustNoErr(t, err)
		_, err = s.ConsumeRefreshToken(ctx, "h4", now.Add(time.Hour))
		MustCode(t, err, models.ECONFLICT)
	})

	t.Run("duplicate hash", func(t *testing.T) {
		err := s.CreateRefreshToken(ctx, &models.RefreshToken{Hash: "h1", FamilyID: "f9", UserID: "u2", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		MustCode(t, err, models.ECONFLICT)
	})

	t.Run("concurrently", func(t *testing.T) {
		MustCreateToken(t, s, "race", "f5", time.Hour)
		const n = 20
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = s.ConsumeRefreshToken(ctx, "race", now)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch models.ErrorCode(err) {
			case "":
				wins++
			case models.ECONFLICT:
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if wins != 1 {
			t.Errorf("%d of %d concurrent consumes succeeded, want exactly 1", wins, n)
		}
	})
}

func TestRefreshTokenStore_Revoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewRefreshTokenStore(storetest.MustOpen(t))
	now := t0.Add(time.Minute)

	MustCreateToken(t, s, "a1", "fa", time.Hour)
	MustCreateToken(t, s, "a2", "fa", time.Hour)
	MustCreateToken(t, s, "a3", "fa", time.Hour)
	MustCreateToken(t, s, "b1", "fb", time.Hour)

	t.Run("one token", func(t *testing.T) {
		MustNoErr(t, s.RevokeRefreshToken(ctx, "a1", now))
		MustNoErr(t, s.RevokeRefreshToken(ctx, "a1", now.Add(time.Minute))) // again: no error, first time kept
		MustNoErr(t, s.RevokeRefreshToken(ctx, "unknown", now))
		got, err := s.RefreshTokenByHash(ctx, "a1")
		MustNoErr(t, err)
		if got.RevokedAt == nil || !got.RevokedAt.Equal(ms(now)) {
			t.Errorf("RevokedAt = %v, want %v", got.RevokedAt, ms(now))
		}
	})

	t.Run("family", func(t *testing.T) {
		later := now.Add(time.Hour)
		n, err := s.RevokeRefreshFamily(ctx, "fa", later)
		MustNoErr(t, err)
		if n != 2 {
			t.Errorf("RevokeRefreshFamily changed %d tokens, want 2 (one was revoked already)", n)
		}
		for hash, want := range map[string]time.Time{"a1": ms(now), "a2": ms(later), "a3": ms(later)} {
			got, err := s.RefreshTokenByHash(ctx, hash)
			MustNoErr(t, err)
			if got.RevokedAt == nil || !got.RevokedAt.Equal(want) {
				t.Errorf("%s: RevokedAt = %v, want %v", hash, got.RevokedAt, want)
			}
		}
		if got, _ := s.RefreshTokenByHash(ctx, "b1"); got.RevokedAt != nil {
			t.Errorf("b1 of another family revoked: %+v", got)
		}
		n, err = s.RevokeRefreshFamily(ctx, "fa", later)
		MustNoErr(t, err)
		if n != 0 {
			t.Errorf("second RevokeRefreshFamily changed %d tokens, want 0", n)
		}
	})
}

func TestRefreshTokenStore_DeleteExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewRefreshTokenStore(storetest.MustOpen(t))
	MustCreateToken(t, s, "old1", "f", time.Hour)
	MustCreateToken(t, s, "old2", "f", 2*time.Hour)
	MustCreateToken(t, s, "live", "f", 5*time.Hour)

	n, err := s.DeleteExpiredRefreshTokens(ctx, t0.Add(3*time.Hour))
	MustNoErr(t, err)
	if n != 2 {
		t.Errorf("DeleteExpiredRefreshTokens = %d, want 2", n)
	}
	for _, h := range []string{"old1", "old2"} {
		_, err := s.RefreshTokenByHash(ctx, h)
		MustCode(t, err, models.ENOTFOUND)
	}
	_, err = s.RefreshTokenByHash(ctx, "live")
	MustNoErr(t, err)
}
