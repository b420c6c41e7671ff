package auth

import (
	"context"
	"errors"
	"time"

	"careway/models"
)

// errWrongCredentials is the one answer to every failed sign-in, so that the response never
// tells whether an account exists, is disabled, or just had the wrong password.
func errWrongCredentials(cause error) error {
	return models.Wrap(models.EUNAUTHORIZED, cause, "Email or password is wrong.")
}

// Login signs a user in with email and password from clientIP and starts a new refresh-token
// family. The user is returned whenever the email matched an account, on failure too, so the
// caller can audit the attempt against the user id; a throttled attempt is refused before the
// lookup and returns no user.
//
// Errors: ETOOMANY with RetryAfter (whole seconds) when the throttle holds this account or
// address back, or when the hasher is saturated; EUNAUTHORIZED "Email or password is wrong."
// for an unknown email, a wrong password or a disabled account alike (each taking the time of
// one password check); EUNAVAILABLE if ctx ends while waiting to hash; EINTERNAL if the stored
// hash is malformed; store failures pass through.
func (s *Service) Login(ctx context.Context, email, password, clientIP string) (*TokenPair, *models.User, error) {
	email = models.NormalizeEmail(email)
	now := s.now()
	if wait := s.throttle.Check(email, clientIP, now); wait > 0 {
		return nil, nil, &models.Error{
			Code:       models.ETOOMANY,
			Message:    "Too many failed sign-in attempts. Wait a little and try again.",
			RetryAfter: ceilSecond(wait),
		}
	}

	u, err := s.users.UserByEmail(ctx, email)
	if models.ErrorCode(err) == models.ENOTFOUND {
		if err := s.hasher.verifyDummy(ctx, password); err != nil {
			return nil, nil, err
		}
		s.throttle.Fail(email, clientIP, now)
		return nil, nil, errWrongCredentials(errors.New("no such account"))
	} else if err != nil {
		return nil, nil, err
	}

	if u.PasswordHash == "" {
		// An account without a password (not yet set up) cannot sign in, and must not answer
		// differently from an unknown one.
		if err := s.hasher.verifyDummy(ctx, password); err != nil {
			return nil, u, err
		}
		s.throttle.Fail(email, clientIP, now)
		return nil, u, errWrongCredentials(errors.New("account has no password"))
	}
	// The password is checked before the disabled flag so that both cost the same time.
	ok, needsRehash, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return nil, u, err
	}
	if !ok {
		s.throttle.Fail(email, clientIP, now)
		return nil, u, errWrongCredentials(errors.New("wrong password"))
	}
	if u.Disabled {
		return nil, u, errWrongCredentials(errors.New("account disabled"))
	}
	s.throttle.Succeed(email, clientIP)

	if needsRehash {
		// Upgrading the stored hash is best effort: failing here must not fail the sign-in.
		if hash, err := s.hasher.Hash(ctx, password); err != nil {
			s.log.WarnContext(ctx, "password rehash failed", "userId", u.ID, "err", err)
		} else if err := s.users.UpdatePasswordHash(ctx, u.ID, hash); err != nil {
			s.log.WarnContext(ctx, "password rehash not stored", "userId", u.ID, "err", err)
		} else {
			u.PasswordHash = hash
		}
	}
	pair, err := s.issue(ctx, u, models.NewID(), now.Add(s.refreshTTL), now)
	if err != nil {
		return nil, u, err
	}
	return pair, u, nil
}

// ceilSecond rounds d up to whole seconds, the unit of the Retry-After header: rounding down
// would send the client back a moment too early, only to meet the throttle again.
func ceilSecond(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}
