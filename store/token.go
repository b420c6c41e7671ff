package store

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"careway/models"
)

var _ models.RefreshTokenStore = (*RefreshTokenStore)(nil)

// RefreshTokenStore keeps refresh tokens in the refreshTokens collection, _id the token's hash.
// Expired tokens stay until DeleteExpiredRefreshTokens removes them: FerretDB has no TTL
// indexes.
type RefreshTokenStore struct {
	db *DB
	c  *mongo.Collection
}

// NewRefreshTokenStore returns the RefreshTokenStore of db.
func NewRefreshTokenStore(db *DB) *RefreshTokenStore {
	return &RefreshTokenStore{db: db, c: db.collection(collRefreshTokens)}
}

// refreshTokenDoc is the stored form of a models.RefreshToken. UsedAt and RevokedAt are
// written as null rather than left out, so that the guard {usedAt: null} reads plainly (it
// would match a missing field too).
type refreshTokenDoc struct {
	Hash      string     `bson:"_id"`
	FamilyID  string     `bson:"familyId"`
	UserID    string     `bson:"userId"`
	IssuedAt  time.Time  `bson:"issuedAt"`
	ExpiresAt time.Time  `bson:"expiresAt"`
	UsedAt    *time.Time `bson:"usedAt"`
	RevokedAt *time.Time `bson:"revokedAt"`
}

func toRefreshTokenDoc(t *models.RefreshToken) *refreshTokenDoc {
	return &refreshTokenDoc{
		Hash: t.Hash, FamilyID: t.FamilyID, UserID: string(t.UserID),
		IssuedAt: t.IssuedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(),
		UsedAt: utcPtr(t.UsedAt), RevokedAt: utcPtr(t.RevokedAt),
	}
}

func (d *refreshTokenDoc) model() *models.RefreshToken {
	return &models.RefreshToken{
		Hash: d.Hash, FamilyID: d.FamilyID, UserID: models.UserID(d.UserID),
		IssuedAt: d.IssuedAt, ExpiresAt: d.ExpiresAt, UsedAt: d.UsedAt, RevokedAt: d.RevokedAt,
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateRefreshToken stores a new token. Returns ECONFLICT if the hash exists.
func (s *RefreshTokenStore) CreateRefreshToken(ctx context.Context, t *models.RefreshToken) error {
	_, err := s.c.InsertOne(ctx, toRefreshTokenDoc(t))
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "The refresh token exists already.")
	}
	return wrapErr("refreshTokens.insert", err)
}

// ConsumeRefreshToken marks an unused, unrevoked, unexpired token used at now and returns it.
// The check and the change are one findOneAndUpdate with the guard in the filter, so of any
// number of concurrent calls with one token exactly one succeeds. When nothing matches, the
// token is looked up to say why: ENOTFOUND if no token has that hash or it expired, ECONFLICT
// if it was already used or revoked (a reuse, even when it has also expired, so that the
// caller revokes the family).
func (s *RefreshTokenStore) ConsumeRefreshToken(ctx context.Context, hash string, now time.Time) (*models.RefreshToken, error) {
	now = now.UTC()
	filter := bson.D{
		{Key: "_id", Value: hash},
		{Key: "usedAt", Value: nil},
		{Key: "revokedAt", Value: nil},
		{Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: now}}},
	}
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "usedAt", Value: now}}}}
	opts := options.FindOneAndUpdate().SetReturnDocument(options.After)

	unlock := s.db.lockWrites(collRefreshTokens)
	var d refreshTokenDoc
	err := s.c.FindOneAndUpdate(ctx, filter, update, opts).Decode(&d)
	unlock()
	if err == nil {
		return d.model(), nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, wrapErr("refreshTokens.consume", err)
	}

	t, err := s.RefreshTokenByHash(ctx, hash)
	switch {
	case err != nil:
		return nil, err
	case t.UsedAt != nil || t.RevokedAt != nil:
		return nil, models.Errorf(models.ECONFLICT, "The refresh token was already used or revoked.")
	case !t.ExpiresAt.After(now):
		return nil, models.Errorf(models.ENOTFOUND, "The refresh token has expired.")
	}
	// The token matched the guard when read back, so it did not when the update ran: it was
	// not yet issued, or the clock moved. Refuse rather than guess.
	return nil, models.Errorf(models.ECONFLICT, "The refresh token changed during the request.")
}

// RefreshTokenByHash returns ENOTFOUND if there is no such token.
func (s *RefreshTokenStore) RefreshTokenByHash(ctx context.Context, hash string) (*models.RefreshToken, error) {
	var d refreshTokenDoc
	if err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&d); err != nil {
		return nil, notFound("refreshTokens.findOne", err, "The refresh token is not known.")
	}
	return d.model(), nil
}

// RevokeRefreshToken revokes one token at now (logout). A token already revoked keeps its
// first revocation time; an unknown token is not an error.
func (s *RefreshTokenStore) RevokeRefreshToken(ctx context.Context, hash string, now time.Time) error {
	defer s.db.lockWrites(collRefreshTokens)()
	_, err := s.c.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: hash}, {Key: "revokedAt", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revokedAt", Value: now.UTC()}}}})
	return wrapErr("refreshTokens.revoke", err)
}

// RevokeRefreshFamily revokes every unrevoked token of a family at now and returns how many it
// changed.
func (s *RefreshTokenStore) RevokeRefreshFamily(ctx context.Context, family string, now time.Time) (int64, error) {
	defer s.db.lockWrites(collRefreshTokens)()
	res, err := s.c.UpdateMany(ctx,
		bson.D{{Key: "familyId", Value: family}, {Key: "revokedAt", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revokedAt", Value: now.UTC()}}}})
	if err != nil {
		return 0, wrapErr("refreshTokens.revokeFamily", err)
	}
	return res.ModifiedCount, nil
}

// DeleteExpiredRefreshTokens removes the tokens that expired before the given time and returns
// how many. The caller runs it now and then: there is no TTL index to do it.
func (s *RefreshTokenStore) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time) (int64, error) {
	defer s.db.lockWrites(collRefreshTokens)()
	res, err := s.c.DeleteMany(ctx, bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}})
	if err != nil {
		return 0, wrapErr("refreshTokens.deleteExpired", err)
	}
	return res.DeletedCount, nil
}
