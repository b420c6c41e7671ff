package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"careway/models"
)

var _ models.UserStore = (*UserStore)(nil)

// UserStore keeps accounts in the users collection, one document per user with _id the user's
// id and a unique index on email.
type UserStore struct {
	db *DB
	c  *mongo.Collection
}

// NewUserStore returns the UserStore of db.
func NewUserStore(db *DB) *UserStore { return &UserStore{db: db, c: db.collection(collUsers)} }

type userDoc struct {
	ID           string    `bson:"_id"`
	Email        string    `bson:"email"`
	Name         string    `bson:"name"`
	Role         string    `bson:"role"`
	Profession   string    `bson:"profession,omitempty"`
	PasswordHash string    `bson:"passwordHash"`
	PatientID    string    `bson:"patientId,omitempty"`
	PracticeID   string    `bson:"practiceId,omitempty"`
	CareHomeID   string    `bson:"careHomeId,omitempty"`
	Disabled     bool      `bson:"disabled"`
	CreatedAt    time.Time `bson:"createdAt"`
	UpdatedAt    time.Time `bson:"updatedAt"`
}

func toUserDoc(u *models.User) *userDoc {
	return &userDoc{
		ID:           string(u.ID),
		Email:        u.Email,
		Name:         u.Name,
		Role:         string(u.Role),
		Profession:   u.Profession,
		PasswordHash: u.PasswordHash,
		PatientID:    string(u.PatientID),
		PracticeID:   string(u.PracticeID),
		CareHomeID:   string(u.CareHomeID),
		Disabled:     u.Disabled,
		CreatedAt:    u.CreatedAt.UTC(),
		UpdatedAt:    u.UpdatedAt.UTC(),
	}
}

func (d *userDoc) model() *models.User {
	return &models.User{
		ID:           models.UserID(d.ID),
		Email:        d.Email,
		Name:         d.Name,
		Role:         models.Role(d.Role),
		Profession:   d.Profession,
		PasswordHash: d.PasswordHash,
		PatientID:    models.PatientID(d.PatientID),
		PracticeID:   models.PracticeID(d.PracticeID),
		CareHomeID:   models.CareHomeID(d.CareHomeID),
		Disabled:     d.Disabled,
		CreatedAt:    d.CreatedAt,
		UpdatedAt:    d.UpdatedAt,
	}
}

// CreateUser stores a new user, giving it a new id if u.ID is empty. The email is stored and
// compared exactly as given (callers normalise it with models.NormalizeEmail). Returns
// ECONFLICT if the email is taken or the id exists.
func (s *UserStore) CreateUser(ctx context.Context, u *models.User) error {
	if u.ID == "" {
		u.ID = models.UserID(models.NewID())
	}
	_, err := s.c.InsertOne(ctx, toUserDoc(u))
	if mongo.IsDuplicateKeyError(err) {
		// The server's message does not reliably name the index (FerretDB's does not), so
		// find out which key was taken.
		if exists(ctx, s.c, string(u.ID)) {
			return models.Errorf(models.ECONFLICT, "A user with this id already exists.")
		}
		return models.Errorf(models.ECONFLICT, "An account with this email already exists.")
	}
	return wrapErr("users.insert", err)
}

// UserByID returns ENOTFOUND if there is no such user.
func (s *UserStore) UserByID(ctx context.Context, id models.UserID) (*models.User, error) {
	return s.findOne(ctx, bson.D{{Key: "_id", Value: string(id)}})
}

// UserByEmail looks the email up exactly as given. Returns ENOTFOUND if there is no such user.
func (s *UserStore) UserByEmail(ctx context.Context, email string) (*models.User, error) {
	return s.findOne(ctx, bson.D{{Key: "email", Value: email}})
}

func (s *UserStore) findOne(ctx context.Context, filter bson.D) (*models.User, error) {
	var d userDoc
	if err := s.c.FindOne(ctx, filter).Decode(&d); err != nil {
		return nil, notFound("users.findOne", err, "User not found.")
	}
	return d.model(), nil
}

// UpdatePasswordHash replaces a user's password hash. It leaves UpdatedAt alone: a re-hash
// with new parameters does not change the account. Returns ENOTFOUND.
func (s *UserStore) UpdatePasswordHash(ctx context.Context, id models.UserID, hash string) error {
	defer s.db.lockWrites(collUsers)()
	res, err := s.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: string(id)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "passwordHash", Value: hash}}}})
	if err != nil {
		return wrapErr("users.update", err)
	}
	if res.MatchedCount == 0 {
		return models.Errorf(models.ENOTFOUND, "User not found.")
	}
	return nil
}

// ListUsers lists the users matching every non-empty field of f (all users if none), by id.
// Returns EINVALID for a cursor that this list did not return.
func (s *UserStore) ListUsers(ctx context.Context, f models.UserFilter, p models.Page) ([]*models.User, string, error) {
	filter := bson.D{}
	if f.PracticeID != "" {
		filter = append(filter, bson.E{Key: "practiceId", Value: string(f.PracticeID)})
	}
	if f.CareHomeID != "" {
		filter = append(filter, bson.E{Key: "careHomeId", Value: string(f.CareHomeID)})
	}
	if f.Role != "" {
		filter = append(filter, bson.E{Key: "role", Value: string(f.Role)})
	} else if f.StaffOnly {
		filter = append(filter, bson.E{Key: "role", Value: bson.D{{Key: "$in", Value: bson.A{
			string(models.RoleClinician), string(models.RoleCareHomeStaff), string(models.RoleAdmin)}}}})
	}
	return listByID(ctx, s.c, filter, p, func(d *userDoc) string { return d.ID }, (*userDoc).model)
}

// CountUsers returns how many accounts exist (0 on a fresh database).
func (s *UserStore) CountUsers(ctx context.Context) (int64, error) {
	n, err := s.c.CountDocuments(ctx, bson.D{})
	if err != nil {
		return 0, wrapErr("users.count", err)
	}
	return n, nil
}

// exists reports whether a document with the given _id exists. It is used only to explain a
// duplicate key error, so a failure to look counts as "no".
func exists(ctx context.Context, c *mongo.Collection, id string) bool {
	n, err := c.CountDocuments(ctx, bson.D{{Key: "_id", Value: id}})
	return err == nil && n > 0
}
