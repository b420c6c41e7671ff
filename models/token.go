package models

import (
	"context"
	"time"
)

// RefreshToken is the stored form of an opaque refresh token. Only a hash of the token is
// kept. Tokens rotate: each use marks the token used and issues a new one in the same family; a
// used token presented again means it was stolen, and the whole family is revoked.
type RefreshToken struct {
	Hash      string // hex SHA-256 of the token; the key
	FamilyID  string
	UserID    UserID
	IssuedAt  time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time // set when rotated
	RevokedAt *time.Time // set on logout or family revocation
}

// RefreshTokenStore keeps refresh tokens.
type RefreshTokenStore interface {
	// CreateRefreshToken stores a new token.
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	// ConsumeRefreshToken atomically marks an unused, unrevoked, unexpired token used at now and
	// returns it. Returns ENOTFOUND if no token has that hash or it has expired, and ECONFLICT
	// if it was already used or revoked (a reuse: the caller revokes the family).
	ConsumeRefreshToken(ctx context.Context, hash string, now time.Time) (*RefreshToken, error)
	// RefreshTokenByHash returns ENOTFOUND if there is no such token.
	RefreshTokenByHash(ctx context.Context, hash string) (*RefreshToken, error)
	// RevokeRefreshToken revokes one token (logout). Revoking an unknown or revoked token is
	// not an error.
	RevokeRefreshToken(ctx context.Context, hash string, now time.Time) error
	// RevokeRefreshFamily revokes every token of a family and returns how many it changed.
	RevokeRefreshFamily(ctx context.Context, family string, now time.Time) (int64, error)
	// DeleteExpiredRefreshTokens removes tokens that expired before the given time (the
	// embedded server has no TTL indexes, so Careway cleans up itself).
	DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int64, error)
}
