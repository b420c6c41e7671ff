package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"careway/models"
)

// maxRefreshTokenLen spares the store a lookup for input that cannot be a token (ours have 43
// characters; the margin leaves room for a future format).
const maxRefreshTokenLen = 256

// DefaultRefreshTTL is how long a refresh-token family lives when ServiceParams.RefreshTTL is 0.
const DefaultRefreshTTL = 30 * 24 * time.Hour

// NewRefreshToken returns a new opaque refresh token (32 random bytes, unpadded base64url) and
// the hash under which it is stored (see HashRefreshToken).
func NewRefreshToken() (token, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("auth: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashRefreshToken(token)
}

// HashRefreshToken returns the hex SHA-256 of the token string. A fast hash is right here:
// the token is 256 random bits, so there is nothing to brute-force.
func HashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ServiceParams configures NewService.
type ServiceParams struct {
	Users      models.UserStore         // required
	Refresh    models.RefreshTokenStore // required
	Hasher     *Hasher                  // required
	Tokens     *Tokens                  // required
	Throttle   *Throttle                // nil means NewThrottle(ThrottleParams{})
	RefreshTTL time.Duration            // lifetime of a refresh-token family; 0 means 30 days
	Now        func() time.Time         // nil means time.Now
	Logger     *slog.Logger             // nil means no logging
}

// Service signs people in and out and rotates their refresh tokens. It is safe for concurrent
// use.
type Service struct {
	users      models.UserStore
	refresh    models.RefreshTokenStore
	hasher     *Hasher
	tokens     *Tokens
	throttle   *Throttle
	refreshTTL time.Duration
	now        func() time.Time
	log        *slog.Logger
}

// TokenPair is what a successful sign-in or refresh hands the client.
type TokenPair struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration // of the access token
}

// NewService returns a Service. It panics if a required parameter is missing (a wiring mistake).
func NewService(p ServiceParams) *Service {
	if p.Users == nil || p.Refresh == nil || p.Hasher == nil || p.Tokens == nil {
		panic("auth: NewService needs Users, Refresh, Hasher and Tokens")
	}
	s := &Service{users: p.Users, refresh: p.Refresh, hasher: p.Hasher, tokens: p.Tokens,
		throttle: p.Throttle, refreshTTL: p.RefreshTTL, now: p.Now, log: p.Logger}
	if s.throttle == nil {
		s.throttle = NewThrottle(ThrottleParams{})
	}
	if s.refreshTTL <= 0 {
		s.refreshTTL = DefaultRefreshTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// errTokenReuse marks the EUNAUTHORIZED error of a refresh token presented a second time.
var errTokenReuse = errors.New("refresh token reuse: family revoked")

// IsTokenReuse reports whether err is Refresh's answer to a refresh token that had already been
// used or revoked, a sign that it was copied: the caller should audit it as such.
func IsTokenReuse(err error) bool { return errors.Is(err, errTokenReuse) }

func badRefresh(cause error) error {
	return models.Wrap(models.EUNAUTHORIZED, cause, "The refresh token is not valid; sign in again.")
}

// Refresh exchanges a refresh token for a new pair. The old token is used up; the new one joins
// the same family and keeps the family's absolute expiry (set at sign-in, RefreshTTL later): a
// sliding expiry would let a stolen token that keeps being rotated live for ever, and 30 days
// between sign-ins is a fair price for health data. It returns the user id whenever the token
// was known, for the audit trail.
//
// Errors, all EUNAUTHORIZED with the same message: the token is unknown or expired; it was used
// or revoked before (a reuse: the whole family is revoked, and IsTokenReuse(err) is true); its
// user no longer exists or is disabled (the family is revoked). Store failures pass through.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (*TokenPair, models.UserID, error) {
	if refreshToken == "" || len(refreshToken) > maxRefreshTokenLen {
		return nil, "", badRefresh(errors.New("empty or oversized refresh token"))
	}
	hash := HashRefreshToken(refreshToken)
	now := s.now()
	rt, err := s.refresh.ConsumeRefreshToken(ctx, hash, now)
	switch models.ErrorCode(err) {
	case "":
	case models.ENOTFOUND:
		return nil, "", badRefresh(err)
	case models.ECONFLICT:
		if rt == nil {
			if rt, err = s.refresh.RefreshTokenByHash(ctx, hash); models.ErrorCode(err) == models.ENOTFOUND {
				return nil, "", badRefresh(err) // deleted meanwhile by the expiry clean-up
			} else if err != nil {
				return nil, "", err
			}
		}
		if _, err := s.refresh.RevokeRefreshFamily(ctx, rt.FamilyID, now); err != nil {
			return nil, rt.UserID, err
		}
		return nil, rt.UserID, badRefresh(errTokenReuse)
	default:
		return nil, "", err
	}

	u, err := s.users.UserByID(ctx, rt.UserID)
	if models.ErrorCode(err) == models.ENOTFOUND || (err == nil && u.Disabled) {
		if _, rerr := s.refresh.RevokeRefreshFamily(ctx, rt.FamilyID, now); rerr != nil {
			return nil, rt.UserID, rerr
		}
		return nil, rt.UserID, badRefresh(errors.New("user gone or disabled"))
	} else if err != nil {
		return nil, rt.UserID, err
	}
	pair, err := s.issue(ctx, u, rt.FamilyID, rt.ExpiresAt, now)
	if err != nil {
		return nil, u.ID, err
	}

	// A concurrent reuse of the same token may have revoked the family between our consume and
	// the insert of the new token, which would then have escaped the revocation. The consumed
	// token tells: if it is now revoked, revoke the family again so the new token dies too. The
	// pair is still returned: its access token is no more than what a reuse arriving a moment
	// later would have left alive, and the next refresh fails.
	// This relies on RevokeRefreshFamily marking used tokens too, as its contract says (every
	// token of the family).
	old, err := s.refresh.RefreshTokenByHash(ctx, hash)
	if err != nil {
		s.log.WarnContext(ctx, "refresh: could not re-check the family for a concurrent reuse", "userId", u.ID, "err", err)
	} else if old.RevokedAt != nil {
		if _, err := s.refresh.RevokeRefreshFamily(ctx, rt.FamilyID, now); err != nil {
			return nil, u.ID, err
		}
	}
	return pair, u.ID, nil
}

// Logout revokes the whole family of refreshToken, if it belongs to userID. An unknown token is
// not an error: logging out twice is harmless. Returns EFORBIDDEN if the token belongs to
// another user; store failures pass through.
func (s *Service) Logout(ctx context.Context, refreshToken string, userID models.UserID) error {
	rt, err := s.refresh.RefreshTokenByHash(ctx, HashRefreshToken(refreshToken))
	switch {
	case models.ErrorCode(err) == models.ENOTFOUND:
		return nil
	case err != nil:
		return err
	case rt.UserID != userID:
		return models.Errorf(models.EFORBIDDEN, "This refresh token belongs to another account.")
	}
	_, err = s.refresh.RevokeRefreshFamily(ctx, rt.FamilyID, s.now())
	return err
}

// issue signs an access token and stores a new refresh token of the family.
func (s *Service) issue(ctx context.Context, u *models.User, family string, familyExpiry, now time.Time) (*TokenPair, error) {
	access, expiresIn, err := s.tokens.Issue(u)
	if err != nil {
		return nil, err
	}
	token, hash := NewRefreshToken()
	err = s.refresh.CreateRefreshToken(ctx, &models.RefreshToken{
		Hash: hash, FamilyID: family, UserID: u.ID, IssuedAt: now, ExpiresAt: familyExpiry,
	})
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: access, RefreshToken: token, ExpiresIn: expiresIn}, nil
}
