// Package auth signs people in and decides what they may do: password hashing and policy,
// access tokens (Ed25519 JWTs) and their signing keys, refresh-token rotation, login throttling,
// and the access policy (Can), the one place where permission to touch a patient's record is
// decided.
package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"careway/models"

	"golang.org/x/crypto/argon2"
)

// argonParams are the argon2id cost parameters that are written into every encoded hash.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32 // iterations
	threads uint8
	saltLen uint32
	keyLen  uint32
}

// owaspParams is OWASP's first argon2id recommendation (Password Storage Cheat Sheet): 19 MiB,
// two iterations, one lane. It keeps a login near 50 ms of one core.
var owaspParams = argonParams{memory: 19456, time: 2, threads: 1, saltLen: 16, keyLen: 32}

// slotWait is how long a hash waits for a free slot before the caller is told to come back.
const slotWait = 2 * time.Second

// Hasher hashes and checks passwords with argon2id. Each hash holds about 19 MiB for ~50 ms,
// so a semaphore caps how many run at once: a login flood then costs at most
// maxConcurrent × 19 MiB of memory and queues (briefly) instead of exhausting the machine.
// A Hasher is safe for concurrent use.
type Hasher struct {
	params argonParams
	sem    chan struct{}
	wait   time.Duration
	derive func(password, salt []byte, p argonParams) []byte // argon2.IDKey; swapped in tests
	dummy  string
}

// NewHasher returns a Hasher that runs at most maxConcurrent hashes at once (values below 1
// mean 1). A sensible value is the number of cores.
func NewHasher(maxConcurrent int) *Hasher {
	return newHasher(maxConcurrent, owaspParams)
}

// WithSlotWait sets how long a hash waits for a free slot before the caller gets ETOOMANY
// (default 2 s) and returns h. Tests on a loaded machine raise it so that queueing, which is
// correct, is not mistaken for a refusal; call it before h is shared.
func (h *Hasher) WithSlotWait(d time.Duration) *Hasher {
	if d > 0 {
		h.wait = d
	}
	return h
}

func newHasher(maxConcurrent int, p argonParams) *Hasher {
	if maxConcurrent < 1 {
		maxConcurrent = 1
	}
	h := &Hasher{
		params: p,
		sem:    make(chan struct{}, maxConcurrent),
		wait:   slotWait,
		derive: func(password, salt []byte, p argonParams) []byte {
			return argon2.IDKey(password, salt, p.time, p.memory, p.threads, p.keyLen)
		},
	}
	// The dummy hash has the current parameters, so checking a password against it costs
	// exactly what a real check costs. Its key is not the output of any known password.
	h.dummy = encodeHash(p, bytes.Repeat([]byte{0x5a}, int(p.saltLen)), bytes.Repeat([]byte{0xa5}, int(p.keyLen)))
	return h
}

// Hash returns the PHC-style encoding of a new argon2id hash of password, with a random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded standard base64).
//
// Errors: ETOOMANY (RetryAfter 1 s) if no hashing slot frees up within about 2 s; EUNAVAILABLE
// wrapping ctx.Err() if ctx ends while waiting (errors.Is(err, context.Canceled) holds).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", models.Wrap(models.EINTERNAL, err, "Could not hash the password.")
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return encodeHash(h.params, salt, h.derive([]byte(password), salt, h.params)), nil
}

// Verify reports whether password matches the encoded hash, comparing in constant time.
// needsRehash is true when the password matched but the hash was made with parameters other
// than the current ones: the caller should store a fresh Hash.
//
// Errors: EINTERNAL if encoded is not a well-formed argon2id hash; ETOOMANY and EUNAVAILABLE
// as for Hash.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, false, models.Wrap(models.EINTERNAL, err, "The stored password hash is malformed.")
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	got := h.derive([]byte(password), salt, p)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, ok && p != h.params, nil
}

// verifyDummy does the work of one Verify against a fixed hash that no password matches, so
// that "no such user" takes as long as "wrong password". It reports a busy or cancelled wait
// as Verify does, so Login can answer an unknown user exactly as it answers a known one when
// the hasher is saturated.
func (h *Hasher) verifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password, h.dummy)
	return err
}

// acquire takes a hashing slot, waiting at most h.wait.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return models.Wrap(models.EUNAVAILABLE, err, "The request was cancelled.")
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return models.Wrap(models.EUNAVAILABLE, ctx.Err(), "The request was cancelled.")
	case <-timer.C:
		return &models.Error{
			Code:       models.ETOOMANY,
			Message:    "The server is busy signing people in; try again in a moment.",
			RetryAfter: time.Second,
		}
	}
}

func (h *Hasher) release() { <-h.sem }

func encodeHash(p argonParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Limits on parameters read back from a stored hash. The hashes are our own, but a corrupt or
// planted value must not make one login allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	minSaltLen   = 8
	minKeyLen    = 16
	maxKeyLen    = 128
)

// decodeHash parses "$argon2id$v=19$m=…,t=…,p=…$salt$key".
func decodeHash(encoded string) (argonParams, []byte, []byte, error) {
	var p argonParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("not an argon2id hash in PHC form")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return p, nil, nil, fmt.Errorf("want m, t and p parameters, got %q", parts[3])
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(fields[i], name)
		if !ok {
			return p, nil, nil, fmt.Errorf("parameter %d: want %s…, got %q", i+1, name, fields[i])
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return p, nil, nil, fmt.Errorf("parameter %s: bad value %q", name, v)
		}
		vals[i] = n
	}
	if vals[0] > maxMemoryKiB || vals[1] > maxTime || vals[2] > 255 || vals[0] < 8*vals[2] {
		return p, nil, nil, fmt.Errorf("parameters out of range: %q", parts[3])
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minSaltLen {
		return p, nil, nil, fmt.Errorf("bad salt")
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, nil, nil, fmt.Errorf("bad key")
	}
	p = argonParams{memory: uint32(vals[0]), time: uint32(vals[1]), threads: uint8(vals[2]),
		saltLen: uint32(len(salt)), keyLen: uint32(len(key))}
	return p, salt, key, nil
}
