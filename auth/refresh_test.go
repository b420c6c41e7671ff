package auth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"careway/models"
)

const (
	aliceEmail    = "alice@example.org"
	alicePassword = "violet-harbour-tractor"
	aliceID       = models.UserID("u-alice")
	aliceIP       = "198.51.100.7"
)

type serviceEnv struct {
	svc     *Service
	users   *fakeUsers
	refresh *fakeRefresh
	tokens  *Tokens
	clock   *testClock
	derives atomic.Int32 // argon2 derivations, dummy ones included
}

func newServiceEnv(t *testing.T) *serviceEnv {
	t.Helper()
	e := &serviceEnv{users: newFakeUsers(), refresh: newFakeRefresh(), clock: newTestClock(t0)}
	e.tokens = NewTokens(TokenParams{Keys: mustKeyRing(t, t0), Issuer: testIssuer, Audience: testAudience, Now: e.clock.Now})
	h := newHasher(4, cheapParams)
	derive := h.derive
	h.derive = func(pw, salt []byte, p argonParams) []byte { e.derives.Add(1); return derive(pw, salt, p) }
	hash, err := h.Hash(context.Background(), alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	alice := &models.User{ID: aliceID, Email: aliceEmail, Name: "Alice Example", Role: models.RolePatient,
		PasswordHash: hash, PatientID: "p-alice", PracticeID: "pr-1"}
	if err := e.users.CreateUser(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	e.svc = NewService(ServiceParams{Users: e.users, Refresh: e.refresh, Hasher: h, Tokens: e.tokens, Now: e.clock.Now})
	return e
}

func (e *serviceEnv) mustLogin(t *testing.T) *TokenPair {
	t.Helper()
	pair, _, err := e.svc.Login(context.Background(), aliceEmail, alicePassword, aliceIP)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return pair
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := models.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name, email, password string
		disabled              bool
		wantCode              string
		wantUser              bool
	}{
		{"right password", aliceEmail, alicePassword, false, "", true},
		{"email in other case and spaces", "  Alice@Example.ORG ", alicePassword, false, "", true},
		{"wrong password", aliceEmail, "violet-harbour-tractoR", false, models.EUNAUTHORIZED, true},
		{"unknown email", "bob@example.org", alicePassword, false, models.EUNAUTHORIZED, false},
		{"disabled account", aliceEmail, alicePassword, true, models.EUNAUTHORIZED, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newServiceEnv(t)
			e.users.setDisabled(aliceID, tt.disabled)
			before := e.derives.Load()
			pair, u, err := e.svc.Login(context.Background(), tt.email, tt.password, aliceIP)
			wantCode(t, "Login", err, tt.wantCode)
			if got := u != nil; got != tt.wantUser {
				t.Errorf("Login returned user: %v, want %v", got, tt.wantUser)
			}
			if n := e.derives.Load() - before; n != 1 {
				t.Errorf("Login ran %d password derivations, want exactly 1 (same cost whatever the outcome)", n)
			}
			if tt.wantCode != "" {
				if got := models.ErrorMessage(err); got != "Email or password is wrong." {
					t.Errorf("message = %q, want the one shared message", got)
				}
				return
			}
			c, err := e.tokens.Verify(pair.AccessToken)
			if err != nil || c.UserID != aliceID || c.Role != models.RolePatient || c.PatientID != "p-alice" {
				t.Fatalf("access token: %+v, %v; want alice's claims", c, err)
			}
			rt, err := e.refresh.RefreshTokenByHash(context.Background(), HashRefreshToken(pair.RefreshToken))
			if err != nil || rt.UserID != aliceID || !rt.ExpiresAt.Equal(t0.Add(DefaultRefreshTTL)) || rt.FamilyID == "" {
				t.Errorf("stored refresh token %+v, %v; want alice's, expiring in 30 days", rt, err)
			}
			if pair.ExpiresIn != DefaultAccessTTL {
				t.Errorf("ExpiresIn = %v, want %v", pair.ExpiresIn, DefaultAccessTTL)
			}
		})
	}
}

func TestLoginThrottled(t *testing.T) {
	e := newServiceEnv(t)
	ctx := context.Background()
	for i := range 6 { // 5 free failures, the 6th starts a 1 s block
		_, _, err := e.svc.Login(ctx, aliceEmail, "wrong password "+string(rune('a'+i)), aliceIP)
		wantCode(t, "wrong password", err, models.EUNAUTHORIZED)
	}
	before := e.derives.Load()
	_, _, err := e.svc.Login(ctx, aliceEmail, alicePassword, aliceIP)
	var me *models.Error
	if !errors.As(err, &me) || me.Code != models.ETOOMANY || me.RetryAfter != time.Second {
		t.Fatalf("Login while blocked = %v; want ETOOMANY with RetryAfter 1s", err)
	}
	if n := e.derives.Load() - before; n != 0 {
		t.Errorf("a throttled login hashed %d times, want 0", n)
	}
	if _, _, err := e.svc.Login(ctx, aliceEmail, alicePassword, "203.0.113.9"); err != nil {
		t.Errorf("Login of the owner from another address = %v, want success", err)
	}
	e.clock.Advance(time.Second)
	if _, _, err := e.svc.Login(ctx, aliceEmail, alicePassword, aliceIP); err != nil {
		t.Errorf("Login after the block = %v, want success", err)
	}
}

func TestLoginRehashesOldParameters(t *testing.T) {
	e := newServiceEnv(t)
	e.svc.hasher.params = argonParams{memory: 128, time: 1, threads: 1, saltLen: 16, keyLen: 32} // "new" policy
	e.mustLogin(t)
	u, _ := e.users.UserByID(context.Background(), aliceID)
	p, _, _, err := decodeHash(u.PasswordHash)
	if err != nil || p.memory != 128 || e.users.hashes != 1 {
		t.Errorf("after login: stored params %+v (err %v), %d updates; want m=128 and one update", p, err, e.users.hashes)
	}
}

func TestRefreshRotates(t *testing.T) {
	e := newServiceEnv(t)
	ctx := context.Background()
	first := e.mustLogin(t)
	e.clock.Advance(time.Hour)
	second, uid, err := e.svc.Refresh(ctx, first.RefreshToken)
	if err != nil || uid != aliceID || second.RefreshToken == first.RefreshToken {
		t.Fatalf("Refresh = %+v, %q, %v; want a new pair for alice", second, uid, err)
	}
	if _, err := e.tokens.Verify(second.AccessToken); err != nil {
		t.Errorf("new access token: %v", err)
	}
	a, _ := e.refresh.RefreshTokenByHash(ctx, HashRefreshToken(first.RefreshToken))
	b, _ := e.refresh.RefreshTokenByHash(ctx, HashRefreshToken(second.RefreshToken))
	if a.FamilyID != b.FamilyID || !a.ExpiresAt.Equal(b.ExpiresAt) || a.UsedAt == nil {
		t.Errorf("old %+v, new %+v; want same family and absolute expiry, old one used", a, b)
	}
	if _, _, err := e.svc.Refresh(ctx, second.RefreshToken); err != nil {
		t.Errorf("Refresh with the new token = %v, want success", err)
	}
}

func TestRefreshFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("unknown token", func(t *testing.T) {
		e := newServiceEnv(t)
		_, uid, err := e.svc.Refresh(ctx, "not-a-token")
		wantCode(t, "Refresh", err, models.EUNAUTHORIZED)
		if IsTokenReuse(err) || uid != "" {
			t.Errorf("IsTokenReuse = %v, uid %q; want false, empty", IsTokenReuse(err), uid)
		}
	})
	t.Run("family expired", func(t *testing.T) {
		e := newServiceEnv(t)
		pair := e.mustLogin(t)
		e.clock.Advance(DefaultRefreshTTL)
		_, _, err := e.svc.Refresh(ctx, pair.RefreshToken)
		wantCode(t, "Refresh after 30 days", err, models.EUNAUTHORIZED)
	})
	t.Run("reuse revokes the family", func(t *testing.T) {
		e := newServiceEnv(t)
		first := e.mustLogin(t)
		second, _, err := e.svc.Refresh(ctx, first.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		_, uid, err := e.svc.Refresh(ctx, first.RefreshToken)
		wantCode(t, "second use", err, models.EUNAUTHORIZED)
		if !IsTokenReuse(err) || uid != aliceID {
			t.Errorf("IsTokenReuse = %v, uid %q; want true, %q", IsTokenReuse(err), uid, aliceID)
		}
		_, _, err = e.svc.Refresh(ctx, second.RefreshToken)
		wantCode(t, "the newer token of the family", err, models.EUNAUTHORIZED)
	})
	t.Run("disabled user", func(t *testing.T) {
		e := newServiceEnv(t)
		pair := e.mustLogin(t)
		e.users.setDisabled(aliceID, true)
		_, uid, err := e.svc.Refresh(ctx, pair.RefreshToken)
		wantCode(t, "Refresh of a disabled user", err, models.EUNAUTHORIZED)
		if uid != aliceID {
			t.Errorf("uid = %q, want %q", uid, aliceID)
		}
		rt, _ := e.refresh.RefreshTokenByHash(ctx, HashRefreshToken(pair.RefreshToken))
		if rt.RevokedAt == nil {
			t.Error("family not revoked")
		}
	})
	t.Run("reuse racing the insert of the new token", func(t *testing.T) {
		e := newServiceEnv(t)
		pair := e.mustLogin(t)
		e.refresh.beforeCreate = func() { // the thief's copy arrives between consume and insert
			e.refresh.beforeCreate = nil
			if _, _, err := e.svc.Refresh(ctx, pair.RefreshToken); !IsTokenReuse(err) {
				t.Errorf("concurrent reuse = %v, want a reuse error", err)
			}
		}
		next, _, err := e.svc.Refresh(ctx, pair.RefreshToken)
		if err != nil {
			t.Fatalf("Refresh = %v", err)
		}
		_, _, err = e.svc.Refresh(ctx, next.RefreshToken)
		wantCode(t, "token issued into a revoked family", err, models.EUNAUTHORIZED)
	})
}

func TestRefreshConcurrent(t *testing.T) {
	e := newServiceEnv(t)
	pair := e.mustLogin(t)
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		successes []*TokenPair
		reuses    int
	)
	for range 20 {
		wg.Go(func() {
			p, _, err := e.svc.Refresh(context.Background(), pair.RefreshToken)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				successes = append(successes, p)
			case IsTokenReuse(err):
				reuses++
			default:
				t.Errorf("Refresh = %v", err)
			}
		})
	}
	wg.Wait()
	if len(successes) != 1 || reuses != 19 {
		t.Fatalf("%d successes and %d reuses, want 1 and 19", len(successes), reuses)
	}
	// The reuse revoked the family, including the winner's new token.
	_, _, err := e.svc.Refresh(context.Background(), successes[0].RefreshToken)
	wantCode(t, "the winner's token after the reuse", err, models.EUNAUTHORIZED)
}

func TestLogout(t *testing.T) {
	ctx := context.Background()
	e := newServiceEnv(t)
	pair := e.mustLogin(t)
	next, _, err := e.svc.Refresh(ctx, pair.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Logout(ctx, next.RefreshToken, "u-mallory"); models.ErrorCode(err) != models.EFORBIDDEN {
		t.Errorf("Logout of another user's token = %v, want EFORBIDDEN", err)
	}
	if err := e.svc.Logout(ctx, next.RefreshToken, aliceID); err != nil {
		t.Errorf("Logout = %v, want nil", err)
	}
	_, _, err = e.svc.Refresh(ctx, next.RefreshToken)
	wantCode(t, "Refresh after logout", err, models.EUNAUTHORIZED)
	for _, tok := range []string{next.RefreshToken, "never-issued"} {
		if err := e.svc.Logout(ctx, tok, aliceID); err != nil {
			t.Errorf("Logout(%q) again = %v, want nil", tok, err)
		}
	}
}

func TestNewRefreshToken(t *testing.T) {
	tok, hash := NewRefreshToken()
	other, _ := NewRefreshToken()
	if len(tok) != 43 || tok == other || hash != HashRefreshToken(tok) || len(hash) != 64 {
		t.Errorf("NewRefreshToken = %q, %q; want 43 base64url chars, fresh each time, hex SHA-256", tok, hash)
	}
}
