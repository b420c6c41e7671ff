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

var _ models.NotificationStore = (*NotificationStore)(nil)

// NotificationStore keeps inboxes in the notifications collection, _id the notification id.
type NotificationStore struct {
	db *DB
	c  *mongo.Collection
}

// NewNotificationStore returns the NotificationStore of db.
func NewNotificationStore(db *DB) *NotificationStore {
	return &NotificationStore{db: db, c: db.collection(collNotifications)}
}

type notificationDoc struct {
	ID            string     `bson:"_id"`
	UserID        string     `bson:"userId,omitempty"`
	PatientID     string     `bson:"patientId,omitempty"`
	ResidentID    string     `bson:"residentId,omitempty"`
	Kind          string     `bson:"kind"`
	Title         string     `bson:"title"`
	Body          string     `bson:"body"`
	AppointmentID string     `bson:"appointmentId,omitempty"`
	CreatedAt     time.Time  `bson:"createdAt"`
	ReadAt        *time.Time `bson:"readAt,omitempty"`
}

func (d *notificationDoc) model() *models.Notification {
	n := &models.Notification{ID: models.NotificationID(d.ID), UserID: models.UserID(d.UserID), PatientID: models.PatientID(d.PatientID),
		ResidentID: models.PatientID(d.ResidentID), Kind: d.Kind, Title: d.Title, Body: d.Body, AppointmentID: models.AppointmentID(d.AppointmentID), CreatedAt: d.CreatedAt.UTC()}
	if d.ReadAt != nil {
		t := d.ReadAt.UTC()
		n.ReadAt = &t
	}
	return n
}

// CreateNotification stores n, giving it a new id if it has none. Returns ECONFLICT if the id
// exists (a reminder already sent).
func (s *NotificationStore) CreateNotification(ctx context.Context, n *models.Notification) error {
	if n.ID == "" {
		n.ID = models.NotificationID(models.NewID())
	}
	doc := &notificationDoc{ID: string(n.ID), UserID: string(n.UserID), PatientID: string(n.PatientID), ResidentID: string(n.ResidentID), Kind: n.Kind,
		Title: n.Title, Body: n.Body, AppointmentID: string(n.AppointmentID), CreatedAt: n.CreatedAt.UTC()}
	err := s.db.writeOne(func() error { _, err := s.c.InsertOne(ctx, doc); return err })
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "This notification exists already.")
	}
	return wrapErr("notifications.insert", err)
}

// inbox matches the notifications of a user and of the patient the user is.
func inbox(user models.UserID, patient models.PatientID) bson.D {
	or := bson.A{bson.D{{Key: "userId", Value: string(user)}}}
	if patient != "" {
		or = append(or, bson.D{{Key: "patientId", Value: string(patient)}})
	}
	return bson.D{{Key: "$or", Value: or}}
}

// ListNotifications lists a user's inbox, newest first. Returns EINVALID for a bad cursor.
func (s *NotificationStore) ListNotifications(ctx context.Context, user models.UserID, patient models.PatientID, p models.Page) ([]*models.Notification, string, error) {
	return listByTime(ctx, s.c, bson.D{{Key: "$and", Value: bson.A{inbox(user, patient)}}}, "createdAt", false, p,
		func(d *notificationDoc) (time.Time, string) { return d.CreatedAt, d.ID }, (*notificationDoc).model)
}

// MarkNotificationRead marks one notification of the inbox read (keeping the first time it was
// read). Returns ENOTFOUND if it is not in that inbox.
func (s *NotificationStore) MarkNotificationRead(ctx context.Context, id models.NotificationID, user models.UserID, patient models.PatientID, now time.Time) (*models.Notification, error) {
	defer s.db.lockWrites(collNotifications)()
	filter := bson.D{{Key: "_id", Value: string(id)}, {Key: "$and", Value: bson.A{inbox(user, patient)}}}
	var d notificationDoc
	err := s.c.FindOneAndUpdate(ctx, append(filter, bson.E{Key: "readAt", Value: bson.D{{Key: "$exists", Value: false}}}),
		bson.D{{Key: "$set", Value: bson.D{{Key: "readAt", Value: now.UTC()}}}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		err = s.c.FindOne(ctx, filter).Decode(&d)
	}
	if err != nil {
		return nil, notFound("notifications.read", err, "Notification not found.")
	}
	return d.model(), nil
}
