package auth

import (
	"context"
	"sync"
	"time"

	"careway/models"
)

// The Service's flows are tested against small in-memory stores that follow the documented
// contracts of models.UserStore and models.RefreshTokenStore (the MongoDB implementations are
// tested in store/). Every method works under one mutex, so ConsumeRefreshToken is atomic, as
// the real store's findOneAndUpdate with a guard is.

type fakeUsers struct {
	mu     sync.Mutex
	byID   map[models.UserID]*models.User
	hashes int // UpdatePasswordHash calls
}

var _ models.UserStore = (*fakeUsers)(nil)

func newFakeUsers() *fakeUsers { return &fakeUsers{byID: map[models.UserID]*models.User{}} }

func (s *fakeUsers) CreateUser(ctx context.Context, u *models.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.byID {
		if o.Email == u.Email {
			return models.Errorf(models.ECONFLICT, "email taken")
		}
	}
	c := *u
	s.byID[u.ID] = &c
	return nil
}

func (s *fakeUsers) UserByID(ctx context.Context, id models.UserID) (*models.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.byID[id]; ok {
		c := *u
		return &c, nil
	}
	return nil, models.Errorf(models.ENOTFOUND, "no such user")
}

func (s *fakeUsers) UserByEmail(ctx context.Context, email string) (*models.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.byID {
		if u.Email == email {
			c := *u
			return &c, nil
		}
	}
	return nil, models.Errorf(models.ENOTFOUND, "no such user")
}

func (s *fakeUsers) UpdatePasswordHash(ctx context.Context, id models.UserID, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.byID[id]
	if !ok {
		return models.Errorf(models.ENOTFOUND, "no such user")
	}
	u.PasswordHash = hash
	s.hashes++
	return nil
}

func (s *fakeUsers) ListUsers(ctx context.Context, f models.UserFilter, p models.Page) ([]*models.User, string, error) {
	return nil, "", models.Errorf(models.EINTERNAL, "not used by auth")
}

func (s *fakeUsers) CountUsers(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.byID)), nil
}

func (s *fakeUsers) setDisabled(id models.UserID, disabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[id].Disabled = disabled
}

type fakeRefresh struct {
	mu     sync.Mutex
	tokens map[string]*models.RefreshToken
	// beforeCreate, when set, runs (without the lock) at the start of CreateRefreshToken, to
	// simulate a concurrent request landing at that moment.
	beforeCreate func()
}

var _ models.RefreshTokenStore = (*fakeRefresh)(nil)

func newFakeRefresh() *fakeRefresh { return &fakeRefresh{tokens: map[string]*models.RefreshToken{}} }

func (s *fakeRefresh) CreateRefreshToken(ctx context.Context, t *models.RefreshToken) error {
	if f := s.beforeCreate; f != nil {
		f()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[t.Hash]; ok {
		return models.Errorf(models.ECONFLICT, "duplicate hash")
	}
	c := *t
	s.tokens[t.Hash] = &c
	return nil
}

func (s *fakeRefresh) ConsumeRefreshToken(ctx context.Context, hash string, now time.Time) (*models.RefreshToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[hash]
	switch {
	case !ok || !now.Before(t.ExpiresAt):
		return nil, models.Errorf(models.ENOTFOUND, "no such token")
	case t.UsedAt != nil || t.RevokedAt != nil:
		return nil, models.Errorf(models.ECONFLICT, "token used or revoked")
	}
	t.UsedAt = &now
	c := *t
	return &c, nil
}

func (s *fakeRefresh) RefreshTokenByHash(ctx context.Context, hash string) (*models.RefreshToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[hash]; ok {
		c := *t
		return &c, nil
	}
	return nil, models.Errorf(models.ENOTFOUND, "no such token")
}

func (s *fakeRefresh) RevokeRefreshToken(ctx context.Context, hash string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[hash]; ok && t.RevokedAt == nil {
		t.RevokedAt = &now
	}
	return nil
}

func (s *fakeRefresh) RevokeRefreshFamily(ctx context.Context, family string, now time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, t := range s.tokens {
		if t.FamilyID == family && t.RevokedAt == nil {
			t.RevokedAt = &now
			n++
		}
	}
	return n, nil
}

func (s *fakeRefresh) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for h, t := range s.tokens {
		if t.ExpiresAt.Before(before) {
			delete(s.tokens, h)
			n++
		}
	}
	return n, nil
}
