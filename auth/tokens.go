package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"careway/models"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultAccessTTL is the lifetime of an access token when TokenParams.TTL is zero.
const DefaultAccessTTL = 15 * time.Minute

// clockLeeway tolerates clocks of different nodes that disagree a little: a token issued by a
// node whose clock runs ahead is not refused as "not yet valid". It is never applied to exp (see
// Verify).
const clockLeeway = 30 * time.Second

// maxTokenLen refuses absurd inputs before any parsing; real tokens are about 400 bytes.
const maxTokenLen = 4096

// accessTokenType is the JWT "typ" header of an OAuth 2.0 access token (RFC 9068).
const accessTokenType = "at+jwt"

// TokenParams configures NewTokens.
type TokenParams struct {
	Keys     *KeyRing         // required
	Issuer   string           // required; the "iss" claim, e.g. "https://careway.example.nhs.uk"
	Audience string           // required; the "aud" claim, e.g. "careway-api"
	TTL      time.Duration    // access token lifetime; 0 means DefaultAccessTTL
	Now      func() time.Time // the clock; nil means time.Now
	// CacheSize caps how many verified tokens Verify remembers; 0 means 50,000, negative turns
	// the cache off.
	CacheSize int
}

// Tokens issues and verifies access tokens. It is safe for concurrent use.
type Tokens struct {
	keys     *KeyRing
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
	cache    *tokenCache // nil when turned off
}

// Claims is what a verified access token says about its bearer.
type Claims struct {
	UserID     models.UserID
	Role       models.Role
	PatientID  models.PatientID
	PracticeID models.PracticeID
	CareHomeID models.CareHomeID
	ID         string // the token's "jti"
	ExpiresAt  time.Time
}

// accessClaims is the JWT payload.
type accessClaims struct {
	jwt.RegisteredClaims
	Role       models.Role       `json:"role"`
	PatientID  models.PatientID  `json:"patientId,omitempty"`
	PracticeID models.PracticeID `json:"practiceId,omitempty"`
	CareHomeID models.CareHomeID `json:"careHomeId,omitempty"`
}

// NewTokens returns a Tokens. It panics if Keys, Issuer or Audience is missing: that is a wiring
// mistake to catch at start-up, not a runtime condition.
func NewTokens(p TokenParams) *Tokens {
	if p.Keys == nil || p.Issuer == "" || p.Audience == "" {
		panic("auth: NewTokens needs Keys, Issuer and Audience")
	}
	t := &Tokens{keys: p.Keys, issuer: p.Issuer, audience: p.Audience, ttl: p.TTL, now: p.Now}
	if t.ttl <= 0 {
		t.ttl = DefaultAccessTTL
	}
	if t.now == nil {
		t.now = time.Now
	}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(p.Issuer),
		jwt.WithAudience(p.Audience),
		jwt.WithLeeway(clockLeeway),
		jwt.WithTimeFunc(func() time.Time { return t.now() }),
		jwt.WithStrictDecoding(),
	)
	switch {
	case p.CacheSize == 0:
		t.cache = newTokenCache(defaultCacheSize)
	case p.CacheSize > 0:
		t.cache = newTokenCache(p.CacheSize)
	}
	return t
}

// Issue signs an access token for u with the current key: header alg EdDSA, kid and typ
// "at+jwt"; claims iss, aud, sub (the user id), role, iat, nbf, exp, a random jti and the
// user's patientId, practiceId and careHomeId where set. expiresIn is the token's lifetime.
// Returns EINTERNAL if u is nil, has no id or has an unknown role, or if signing fails.
func (t *Tokens) Issue(u *models.User) (token string, expiresIn time.Duration, err error) {
	if u == nil || u.ID == "" || !u.Role.Valid() {
		return "", 0, models.Errorf(models.EINTERNAL, "Cannot issue a token for an incomplete account.")
	}
	now := t.now().Truncate(time.Second) // JWT times are whole seconds
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", 0, models.Wrap(models.EINTERNAL, err, "Cannot issue a token.")
	}
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   string(u.ID),
			Audience:  jwt.ClaimStrings{t.audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		},
		Role:       u.Role,
		PatientID:  u.PatientID,
		PracticeID: u.PracticeID,
		CareHomeID: u.CareHomeID,
	}
	kid, priv := t.keys.signer()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = kid
	tok.Header["typ"] = accessTokenType
	token, err = tok.SignedString(priv)
	if err != nil {
		return "", 0, models.Wrap(models.EINTERNAL, err, "Cannot issue a token.")
	}
	return token, t.ttl, nil
}

// Verify checks an access token and returns what it says. Any failure (malformed, bad
// signature, algorithm other than EdDSA, unknown kid, typ not "at+jwt", wrong iss or aud, no
// exp, expired, not yet valid, unknown role) is an EUNAUTHORIZED *models.Error with one generic
// message; the reason is its hidden cause, for logs.
//
// nbf and iat may be up to 30 s in the future (clock skew between nodes), but a token is refused
// from the second of its exp on, with or without the cache: the cache keeps an entry only until
// exp, and a parsed token past its exp is refused even though the library would allow leeway.
//
// Verified tokens are remembered (keyed by their SHA-256, so neither the token text nor a
// caller's reused buffer is kept) to spare the ~50 µs of an Ed25519 check on every request.
func (t *Tokens) Verify(token string) (*Claims, error) {
	if token == "" || len(token) > maxTokenLen {
		return nil, unauthorized(errors.New("empty or oversized token"))
	}
	now := t.now()
	var sum [32]byte
	if t.cache != nil {
		sum = sha256.Sum256([]byte(token))
		if c, ok := t.cache.get(sum, now); ok {
			return &c, nil
		}
	}
	var ac accessClaims
	if _, err := t.parser.ParseWithClaims(token, &ac, t.keyFor); err != nil {
		return nil, unauthorized(err)
	}
	exp := ac.ExpiresAt.Time.UTC()
	switch {
	case !now.Before(exp):
		return nil, unauthorized(jwt.ErrTokenExpired)
	case ac.Subject == "" || ac.ID == "" || !ac.Role.Valid():
		return nil, unauthorized(errors.New("token lacks sub, jti or a known role"))
	}
	c := Claims{
		UserID:     models.UserID(ac.Subject),
		Role:       ac.Role,
		PatientID:  ac.PatientID,
		PracticeID: ac.PracticeID,
		CareHomeID: ac.CareHomeID,
		ID:         ac.ID,
		ExpiresAt:  exp,
	}
	if t.cache != nil {
		t.cache.put(sum, c, now)
	}
	return &c, nil
}

// keyFor is the jwt.Keyfunc: it insists on the access-token typ and returns the verifying key
// named by kid. It runs before the signature check, on data not yet authenticated, so it only
// selects among our own keys.
func (t *Tokens) keyFor(tok *jwt.Token) (any, error) {
	if typ, _ := tok.Header["typ"].(string); typ != accessTokenType && typ != "application/"+accessTokenType {
		return nil, errors.New("typ header is not at+jwt")
	}
	if _, ok := tok.Method.(*jwt.SigningMethodEd25519); !ok {
		return nil, errors.New("not an EdDSA token") // also checked by WithValidMethods
	}
	kid, _ := tok.Header["kid"].(string)
	pub, ok := t.keys.publicKey(kid)
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return pub, nil
}

func unauthorized(cause error) error {
	return models.Wrap(models.EUNAUTHORIZED, cause, "The access token is missing, expired or not valid.")
}
