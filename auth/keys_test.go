package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func pemFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = strings.TrimSuffix(filepath.Base(n), ".pem")
	}
	return names
}

func TestLoadOrCreateKeyRing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	k, err := LoadOrCreateKeyRing(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	kid := k.CurrentKID()
	if got := pemFiles(t, dir); !slices.Equal(got, []string{kid}) {
		t.Errorf("files %v, want [%s]", got, kid)
	}
	if !strings.HasPrefix(kid, "20260302T090000Z-") || !kidPattern.MatchString(kid) {
		t.Errorf("kid %q, want creation time then fingerprint", kid)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, kid+".pem"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	again, err := LoadOrCreateKeyRing(dir, t0.Add(time.Hour))
	if err != nil || again.CurrentKID() != kid {
		t.Errorf("reload: kid %q, %v; want %q", again.CurrentKID(), err, kid)
	}
}

func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	clock := newTestClock(t0)
	ring, err := LoadOrCreateKeyRing(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	params := TokenParams{Keys: ring, Issuer: testIssuer, Audience: testAudience, Now: clock.Now, CacheSize: -1}
	tk := NewTokens(params)
	oldKID := ring.CurrentKID()
	oldToken := mustIssue(t, tk, testUser)

	newKID, err := ring.Rotate(dir, t0.Add(time.Minute))
	if err != nil || newKID == oldKID || ring.CurrentKID() != newKID {
		t.Fatalf("Rotate = %q, %v; want a new current kid", newKID, err)
	}
	clock.Advance(time.Minute)
	if _, err := tk.Verify(oldToken); err != nil {
		t.Errorf("token from the old key after Rotate: %v, want valid", err)
	}
	if kid := headerKID(t, mustIssue(t, tk, testUser)); kid != newKID {
		t.Errorf("new token kid %q, want %q", kid, newKID)
	}

	reloaded, err := LoadOrCreateKeyRing(dir, t0.Add(time.Minute))
	if err != nil || reloaded.CurrentKID() != newKID {
		t.Fatalf("reload: current %q, %v; want %q", reloaded.CurrentKID(), err, newKID)
	}
	p2 := params
	p2.Keys = reloaded
	if _, err := NewTokens(p2).Verify(oldToken); err != nil {
		t.Errorf("reloaded ring refuses the old key's token: %v", err)
	}

	// The first key was replaced at +1m; it goes once that is more than KeyRetention ago.
	if _, err := ring.Rotate(dir, t0.Add(time.Minute+KeyRetention)); err != nil {
		t.Fatal(err)
	}
	if got := len(pemFiles(t, dir)); got != 3 {
		t.Errorf("after a rotation within the retention: %d key files, want 3", got)
	}
	third, err := ring.Rotate(dir, t0.Add(2*time.Minute+KeyRetention))
	if err != nil {
		t.Fatal(err)
	}
	files := pemFiles(t, dir)
	if len(files) != 3 || slices.Contains(files, oldKID) || !slices.Contains(files, newKID) || !slices.Contains(files, third) {
		t.Errorf("key files %v: want the first key gone and the other three kept", files)
	}
	if _, ok := ring.publicKey(oldKID); ok {
		t.Error("retired key still verifies")
	}
}

func TestRotateSameSecond(t *testing.T) {
	dir := t.TempDir()
	ring, err := LoadOrCreateKeyRing(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	first := ring.CurrentKID()
	second, err := ring.Rotate(dir, t0)
	if err != nil || second <= first {
		t.Errorf("Rotate in the same second = %q, %v; want a kid sorting after %q", second, err, first)
	}
	reloaded, err := LoadOrCreateKeyRing(dir, t0)
	if err != nil || reloaded.CurrentKID() != second {
		t.Errorf("reload: current %q, %v; want %q", reloaded.CurrentKID(), err, second)
	}
}

func writePEM(t *testing.T, path string, key any) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	good := filepath.Join(dir, "signing.pem")
	writePEM(t, good, priv)
	ring, err := LoadKeyFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if want := fingerprint(priv.Public().(ed25519.PublicKey)); ring.CurrentKID() != want {
		t.Errorf("kid %q, want %q", ring.CurrentKID(), want)
	}
	tk := NewTokens(TokenParams{Keys: ring, Issuer: testIssuer, Audience: testAudience})
	if _, err := tk.Verify(mustIssue(t, tk, testUser)); err != nil {
		t.Errorf("round trip with a configured key: %v", err)
	}
	if _, err := ring.Rotate(dir, time.Now()); err == nil {
		t.Error("Rotate of a configured key succeeded, want an error")
	}

	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	writePEM(t, filepath.Join(dir, "ec.pem"), ec)
	os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a key"), 0o600)
	for _, name := range []string{"ec.pem", "junk.pem", "missing.pem"} {
		if _, err := LoadKeyFile(filepath.Join(dir, name)); err == nil {
			t.Errorf("LoadKeyFile(%s) succeeded, want an error", name)
		}
	}
}

func TestLoadOrCreateRejectsStrangeKeys(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct{ name, file string }{
		{"name is not a kid", "backup.pem"},
		{"fingerprint does not match", "20260101T000000Z-0123456789abcdef.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writePEM(t, filepath.Join(dir, tt.file), priv)
			if _, err := LoadOrCreateKeyRing(dir, t0); err == nil {
				t.Errorf("LoadOrCreateKeyRing with %s succeeded, want an error", tt.file)
			}
		})
	}
}

func TestJWKS(t *testing.T) {
	dir := t.TempDir()
	ring, _ := LoadOrCreateKeyRing(dir, t0)
	ring.Rotate(dir, t0.Add(time.Hour))
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(ring.JWKS(), &set); err != nil {
		t.Fatalf("JWKS is not JSON: %v", err)
	}
	if len(set.Keys) != 2 || set.Keys[0]["kid"] != ring.CurrentKID() {
		t.Fatalf("JWKS = %s; want two keys, the current one first", ring.JWKS())
	}
	for _, k := range set.Keys {
		if len(k) != 6 || k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["use"] != "sig" || k["alg"] != "EdDSA" {
			t.Errorf("key %v: want exactly kty OKP, crv Ed25519, x, kid, use sig, alg EdDSA", k)
		}
		x, err := base64.RawURLEncoding.DecodeString(k["x"])
		pub, ok := ring.publicKey(k["kid"])
		if err != nil || !ok || !ed25519.PublicKey(x).Equal(pub) {
			t.Errorf("key %s: x does not decode to its public key", k["kid"])
		}
	}
}

func headerKID(t *testing.T, token string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.SplitN(token, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	json.Unmarshal(b, &h)
	return h.Kid
}
