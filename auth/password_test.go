package auth

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"careway/models"
)

// cheapParams keep tests fast where the cost of argon2 is not what is being tested.
var cheapParams = argonParams{memory: 64, time: 1, threads: 1, saltLen: 16, keyLen: 32}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := NewHasher(2)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(enc) {
		t.Fatalf("Hash = %q, want PHC argon2id with OWASP parameters", enc)
	}
	tests := []struct {
		name     string
		password string
		wantOK   bool
	}{
		{"right password", "correct horse battery", true},
		{"wrong password", "correct horse batterY", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, tt.password, enc)
			if err != nil || ok != tt.wantOK || rehash {
				t.Errorf("Verify = %v, %v, %v; want %v, false, nil", ok, rehash, err, tt.wantOK)
			}
		})
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	ctx := context.Background()
	old, err := newHasher(1, cheapParams).Hash(ctx, "an old password hash")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHasher(1)
	if ok, rehash, err := h.Verify(ctx, "an old password hash", old); err != nil || !ok || !rehash {
		t.Errorf("Verify(right, old params) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	if ok, rehash, err := h.Verify(ctx, "a wrong password!", old); err != nil || ok || rehash {
		t.Errorf("Verify(wrong, old params) = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := newHasher(1, cheapParams)
	var calls atomic.Int32
	h.derive = func(pw, salt []byte, p argonParams) []byte { calls.Add(1); return make([]byte, p.keyLen) }
	salt, key := "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	tests := []struct{ name, encoded string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"old version", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key},
		{"params out of order", "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key},
		{"zero time", "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key},
		{"huge memory", "$argon2id$v=19$m=99999999,t=2,p=1$" + salt + "$" + key},
		{"threads over 255", "$argon2id$v=19$m=19456,t=2,p=256$" + salt + "$" + key},
		{"non-numeric", "$argon2id$v=19$m=lots,t=2,p=1$" + salt + "$" + key},
		{"padded salt", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key},
		{"bad base64 key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$!!!!"},
		{"short key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$a2V5"},
		{"extra field", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, _, err := h.Verify(context.Background(), "password", tt.encoded)
			if got := models.ErrorCode(err); got != models.EINTERNAL || ok {
				t.Errorf("Verify(%q) = %v, code %q; want false, %q", tt.encoded, ok, got, models.EINTERNAL)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("derive ran %d times on malformed hashes, want 0", n)
	}
}

func TestHasherConcurrencyLimit(t *testing.T) {
	const limit = 3
	h := newHasher(limit, cheapParams)
	var active, peak atomic.Int32
	h.derive = func(pw, salt []byte, p argonParams) []byte {
		n := active.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
		active.Add(-1)
		return make([]byte, p.keyLen)
	}
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if _, err := h.Hash(context.Background(), "some password"); err != nil {
				t.Errorf("Hash: %v", err)
			}
		})
	}
	wg.Wait()
	if got := peak.Load(); got > limit || got < 2 {
		t.Errorf("peak concurrent hashes = %d, want 2..%d", got, limit)
	}
}

func TestHasherBusyAndCancel(t *testing.T) {
	h := newHasher(1, cheapParams)
	hold, held := make(chan struct{}), make(chan struct{})
	h.derive = func(pw, salt []byte, p argonParams) []byte {
		if string(pw) == "holder" {
			close(held)
			<-hold
		}
		return make([]byte, p.keyLen)
	}
	done := make(chan struct{})
	go func() { defer close(done); h.Hash(context.Background(), "holder") }()
	<-held
	defer func() { close(hold); <-done }()

	t.Run("no slot within the wait", func(t *testing.T) {
		h.wait = 30 * time.Millisecond
		_, err := h.Hash(context.Background(), "second")
		var e *models.Error
		if !errors.As(err, &e) || e.Code != models.ETOOMANY || e.RetryAfter != time.Second {
			t.Errorf("Hash while busy = %v; want ETOOMANY with RetryAfter 1s", err)
		}
	})
	t.Run("context cancelled while waiting", func(t *testing.T) {
		h.wait = time.Minute
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		start := time.Now()
		_, _, err := h.Verify(ctx, "x", h.dummy)
		if models.ErrorCode(err) != models.EUNAVAILABLE || !errors.Is(err, context.Canceled) {
			t.Errorf("Verify with cancelled ctx = %v; want EUNAVAILABLE wrapping context.Canceled", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("cancelled wait took %v", d)
		}
	})
}

func TestVerifyDummyDoesTheSameWork(t *testing.T) {
	h := NewHasher(1)
	var got []argonParams
	h.derive = func(pw, salt []byte, p argonParams) []byte { got = append(got, p); return make([]byte, p.keyLen) }
	if err := h.verifyDummy(context.Background(), "whatever the user typed"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != owaspParams {
		t.Errorf("verifyDummy derived with %v, want one derivation with %v", got, owaspParams)
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name, password, email, userName string
		wantOK                          bool
	}{
		{"9 characters", "kx7!mq2vz", "", "", false},
		{"10 characters", "kx7!mq2vzp", "", "", true},
		{"10 runes, more bytes", "ñçœ€漢字ßøåé", "", "", true},
		{"9 runes, many bytes", "ñçœ€漢字ßøå", "", "", false},
		{"spaces are not trimmed", "  kx7mq2  ", "", "", true},
		{"64 characters", strings.Repeat("Tq9-", 16), "", "", true},
		{"128 characters", strings.Repeat("Tq9-", 32), "", "", true},
		{"129 characters", strings.Repeat("Tq9-", 32) + "x", "", "", false},
		{"common", "password123", "", "", false},
		{"common, other case", "PassWord123", "", "", false},
		{"common, NHS", "NHS12345678", "", "", false},
		{"common, club and year", "Liverpool1892", "", "", false},
		{"contains email local part", "xjsmith2024xx", "JSmith@example.org", "", false},
		{"contains a piece of the local part", "margaret!Rainfall", "margaret.jones@example.org", "", false},
		{"short local part may appear", "Abc-river-lamp-42", "abc@example.org", "", true},
		{"equals the name", "Eleanor Rigby", "", "eleanor rigby", false},
		{"contains a word of the name", "rigby-lamp-7-cloud", "", "Eleanor Rigby", false},
		{"short name word may appear", "Ann-river-lamp-42", "", "Ann Lee", true},
		{"good", "violet-harbour-tractor", "jane.doe@example.org", "Jane Doe", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPassword(tt.password, tt.email, tt.userName)
			if tt.wantOK {
				if err != nil {
					t.Errorf("CheckPassword(%q) = %v, want nil", tt.password, err)
				}
				return
			}
			var e *models.Error
			if !errors.As(err, &e) || e.Code != models.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != "password" {
				t.Errorf("CheckPassword(%q) = %#v, want EINVALID with one field error on \"password\"", tt.password, err)
			}
		})
	}
}

func TestCommonPasswordList(t *testing.T) {
	if n := len(commonPasswords); n < 500 {
		t.Errorf("list has %d entries, want at least 500", n)
	}
	long := 0
	for line := range strings.Lines(commonPasswordsText) {
		line = strings.TrimSuffix(line, "\n")
		if line != strings.TrimSpace(line) || line == "" {
			t.Errorf("entry %q has surrounding space or is empty", line)
		}
		if len([]rune(line)) >= MinPasswordLen {
			long++
		}
	}
	if long < 500 {
		t.Errorf("%d entries have 10 or more characters, want at least 500", long)
	}
	for _, pw := range []string{"1234567890", "qwertyuiop", "iloveyou123", "letmein123", "summer2024", "welcome123", "nhs12345678"} {
		if !isCommonPassword(pw) {
			t.Errorf("%q is missing from the list", pw)
		}
	}
}
