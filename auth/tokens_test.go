package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"careway/models"

	"github.com/golang-jwt/jwt/v5"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const (
	testIssuer   = "https://careway.test"
	testAudience = "careway-api"
)

// testClock is a settable clock for Now parameters.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{now: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *testClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

func mustKeyRing(tb testing.TB, now time.Time) *KeyRing {
	tb.Helper()
	k, err := LoadOrCreateKeyRing(tb.TempDir(), now)
	if err != nil {
		tb.Fatalf("LoadOrCreateKeyRing: %v", err)
	}
	return k
}

var testUser = &models.User{ID: "u-1", Role: models.RoleCareHomeStaff, CareHomeID: "ch-1", PracticeID: "pr-1"}

func mustIssue(tb testing.TB, tk *Tokens, u *models.User) string {
	tb.Helper()
	tok, _, err := tk.Issue(u)
	if err != nil {
		tb.Fatalf("Issue: %v", err)
	}
	return tok
}

// signRaw signs arbitrary claims with arbitrary headers, as an attacker (or a buggy issuer)
// might.
func signRaw(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("SignedString: %v", err)
	}
	return s
}

func validClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"iss": testIssuer, "aud": testAudience, "sub": "u-1", "role": "patient",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(), "jti": "j1"}
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestIssueVerify(t *testing.T) {
	clock := newTestClock(t0)
	ring := mustKeyRing(t, t0)
	tk := NewTokens(TokenParams{Keys: ring, Issuer: testIssuer, Audience: testAudience, Now: clock.Now})
	tok, expiresIn, err := tk.Issue(testUser)
	if err != nil || expiresIn != 15*time.Minute {
		t.Fatalf("Issue = %v, %v; want a token valid 15m", expiresIn, err)
	}
	parts := strings.Split(tok, ".")
	var header map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	json.Unmarshal(hb, &header)
	if header["alg"] != "EdDSA" || header["typ"] != "at+jwt" || header["kid"] != ring.CurrentKID() {
		t.Errorf("header = %v, want alg EdDSA, typ at+jwt, kid %s", header, ring.CurrentKID())
	}
	var payload map[string]any
	pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(pb, &payload)
	for _, k := range []string{"iss", "aud", "sub", "role", "exp", "iat", "nbf", "jti", "careHomeId", "practiceId"} {
		if _, ok := payload[k]; !ok {
			t.Errorf("payload lacks %q: %v", k, payload)
		}
	}
	if _, ok := payload["patientId"]; ok {
		t.Errorf("payload has patientId for a user without one: %v", payload)
	}
	c, err := tk.Verify(tok)
	want := Claims{UserID: "u-1", Role: models.RoleCareHomeStaff, CareHomeID: "ch-1", PracticeID: "pr-1",
		ID: c.ID, ExpiresAt: t0.Add(15 * time.Minute)}
	if err != nil || *c != want || c.ID == "" {
		t.Errorf("Verify = %+v, %v; want %+v", c, err, want)
	}
	if _, _, err := tk.Issue(&models.User{ID: "u-2", Role: "superuser"}); models.ErrorCode(err) != models.EINTERNAL {
		t.Errorf("Issue for an unknown role = %v, want EINTERNAL", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	clock := newTestClock(t0)
	ring := mustKeyRing(t, t0)
	kid, priv := ring.signer()
	pub := priv.Public().(ed25519.PublicKey)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	params := TokenParams{Keys: ring, Issuer: testIssuer, Audience: testAudience, Now: clock.Now, CacheSize: -1}
	tk := NewTokens(params)
	good := mustIssue(t, tk, testUser)
	parts := strings.Split(good, ".")
	hdr := map[string]any{"kid": kid, "typ": "at+jwt"}
	other := func(mod func(p *TokenParams)) *Tokens { p := params; mod(&p); return NewTokens(p) }

	tamperedPayload := func() string {
		pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
		pb = []byte(strings.Replace(string(pb), `"carehome_staff"`, `"clinician"`, 1))
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(pb) + "." + parts[2]
	}()
	sig := []byte(parts[2])
	sig[10] ^= 'A' ^ 'B' // change one base64 character in the middle
	if sig[10] == parts[2][10] {
		t.Fatal("signature not changed")
	}
	noExp := validClaims(t0)
	delete(noExp, "exp")
	unknownRole := validClaims(t0)
	unknownRole["role"] = "root"

	tests := []struct{ name, token string }{
		{"empty", ""},
		{"garbage", "not.a.jwt"},
		{"oversized", strings.Repeat("a", 5000)},
		{"expired", mustIssue(t, other(func(p *TokenParams) { p.Now = func() time.Time { return t0.Add(-16 * time.Minute) } }), testUser)},
		{"expired by a second", mustIssue(t, other(func(p *TokenParams) { p.Now = func() time.Time { return t0.Add(-15*time.Minute - time.Second) } }), testUser)},
		{"not yet valid", mustIssue(t, other(func(p *TokenParams) { p.Now = func() time.Time { return t0.Add(5 * time.Minute) } }), testUser)},
		{"tampered payload", tamperedPayload},
		{"tampered signature", parts[0] + "." + parts[1] + "." + string(sig)},
		{"signature stripped", parts[0] + "." + parts[1] + "."},
		{"alg none", b64(map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid}) + "." + b64(validClaims(t0)) + "."},
		{"HS256 with the public key as secret", signRaw(t, jwt.SigningMethodHS256, []byte(pub), hdr, validClaims(t0))},
		{"wrong audience", mustIssue(t, other(func(p *TokenParams) { p.Audience = "another-api" }), testUser)},
		{"wrong issuer", mustIssue(t, other(func(p *TokenParams) { p.Issuer = "https://evil.test" }), testUser)},
		{"missing exp", signRaw(t, jwt.SigningMethodEdDSA, priv, hdr, noExp)},
		{"unknown role", signRaw(t, jwt.SigningMethodEdDSA, priv, hdr, unknownRole)},
		{"missing typ", signRaw(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": kid, "typ": nil}, validClaims(t0))},
		{"typ JWT", signRaw(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": kid, "typ": "JWT"}, validClaims(t0))},
		{"missing kid", signRaw(t, jwt.SigningMethodEdDSA, priv, map[string]any{"typ": "at+jwt"}, validClaims(t0))},
		{"unknown kid", signRaw(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": "20260101T000000Z-0000000000000000", "typ": "at+jwt"}, validClaims(t0))},
		{"another key under our kid", signRaw(t, jwt.SigningMethodEdDSA, otherPriv, hdr, validClaims(t0))},
		{"another ring's token", mustIssue(t, other(func(p *TokenParams) { p.Keys = mustKeyRing(t, t0) }), testUser)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tk.Verify(tt.token)
			if models.ErrorCode(err) != models.EUNAUTHORIZED || c != nil {
				t.Errorf("Verify = %+v, %v; want nil, EUNAUTHORIZED", c, err)
			}
		})
	}
	t.Run("the untampered token", func(t *testing.T) {
		if _, err := tk.Verify(good); err != nil {
			t.Errorf("Verify = %v, want nil", err)
		}
	})
	t.Run("nbf within the clock leeway", func(t *testing.T) {
		ahead := mustIssue(t, other(func(p *TokenParams) { p.Now = func() time.Time { return t0.Add(20 * time.Second) } }), testUser)
		if _, err := tk.Verify(ahead); err != nil {
			t.Errorf("Verify of a token from a node 20 s ahead = %v, want nil", err)
		}
	})
}

func TestVerifyCacheNeverServesExpired(t *testing.T) {
	clock := newTestClock(t0)
	tk := NewTokens(TokenParams{Keys: mustKeyRing(t, t0), Issuer: testIssuer, Audience: testAudience, Now: clock.Now})
	tok := mustIssue(t, tk, testUser)
	steps := []struct {
		at     time.Duration
		wantOK bool
	}{
		{0, true},
		{14*time.Minute + 59*time.Second, true},
		{15 * time.Minute, false},
		{15*time.Minute + 10*time.Second, false}, // inside the nbf leeway, still refused
		{14 * time.Minute, true},                 // clock back: the parse path decides again
	}
	for _, s := range steps {
		clock.Set(t0.Add(s.at))
		_, err := tk.Verify(tok)
		if (err == nil) != s.wantOK {
			t.Errorf("at +%v: Verify = %v, want ok %v", s.at, err, s.wantOK)
		}
	}
	if tk.cache.len() != 1 {
		t.Errorf("cache holds %d entries, want 1", tk.cache.len())
	}
}

func TestVerifyCacheBounded(t *testing.T) {
	clock := newTestClock(t0)
	tk := NewTokens(TokenParams{Keys: mustKeyRing(t, t0), Issuer: testIssuer, Audience: testAudience, Now: clock.Now, CacheSize: 32})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 40 {
				u := &models.User{ID: models.UserID(fmt.Sprintf("u-%d-%d", i, j)), Role: models.RolePatient}
				tok := mustIssue(t, tk, u)
				for range 2 {
					if c, err := tk.Verify(tok); err != nil || c.UserID != u.ID {
						t.Errorf("Verify = %+v, %v", c, err)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := tk.cache.len(); n > 32 {
		t.Errorf("cache holds %d entries, want at most 32", n)
	}
}

func benchmarkVerify(b *testing.B, cacheSize int) {
	tk := NewTokens(TokenParams{Keys: mustKeyRing(b, time.Now()), Issuer: testIssuer, Audience: testAudience, CacheSize: cacheSize})
	tok := mustIssue(b, tk, testUser)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := tk.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifyCached(b *testing.B)   { benchmarkVerify(b, 0) }
func BenchmarkVerifyUncached(b *testing.B) { benchmarkVerify(b, -1) }
