package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"careway/models"
)

var _ models.InvitationStore = (*InvitationStore)(nil)

// InvitationStore keeps booking invitations in the bookingInvitations collection, _id the id.
type InvitationStore struct {
	db *DB
	c  *mongo.Collection
}

// NewInvitationStore returns the InvitationStore of db.
func NewInvitationStore(db *DB) *InvitationStore {
	return &InvitationStore{db: db, c: db.collection(collInvitations)}
}

type invitationDoc struct {
	ID              string         `bson:"_id"`
	PatientID       string         `bson:"patientId"`
	PracticeID      string         `bson:"practiceId"`
	TriageRequestID string         `bson:"triageRequestId,omitempty"`
	ServiceType     string         `bson:"serviceType"`
	Modes           []string       `bson:"modes"`
	From            time.Time      `bson:"from"`
	To              time.Time      `bson:"to"`
	Adjustments     adjustmentsDoc `bson:"adjustments"`
	Status          string         `bson:"status"`
	AppointmentID   string         `bson:"appointmentId,omitempty"`
	CreatedBy       string         `bson:"createdBy"`
	CreatedAt       time.Time      `bson:"createdAt"`
}

func (d *invitationDoc) model() *models.BookingInvitation {
	i := &models.BookingInvitation{ID: d.ID, PatientID: models.PatientID(d.PatientID), PracticeID: models.PracticeID(d.PracticeID),
		TriageRequestID: models.TriageRequestID(d.TriageRequestID), ServiceType: models.ServiceType(d.ServiceType), From: d.From.UTC(),
		To: d.To.UTC(), Adjustments: models.Adjustments(d.Adjustments), Status: d.Status, AppointmentID: models.AppointmentID(d.AppointmentID),
		CreatedBy: models.UserID(d.CreatedBy), CreatedAt: d.CreatedAt.UTC()}
	for _, m := range d.Modes {
		i.Modes = append(i.Modes, models.AppointmentMode(m))
	}
	return i
}

// CreateInvitation stores i (a new id if it has none). Returns ECONFLICT if the id exists.
func (s *InvitationStore) CreateInvitation(ctx context.Context, i *models.BookingInvitation) error {
	if i.ID == "" {
		i.ID = models.NewID()
	}
	d := &invitationDoc{ID: i.ID, PatientID: string(i.PatientID), PracticeID: string(i.PracticeID), TriageRequestID: string(i.TriageRequestID),
		ServiceType: string(i.ServiceType), From: i.From.UTC(), To: i.To.UTC(), Adjustments: adjustmentsDoc(i.Adjustments), Status: i.Status,
		CreatedBy: string(i.CreatedBy), CreatedAt: i.CreatedAt.UTC()}
	for _, m := range i.Modes {
		d.Modes = append(d.Modes, string(m))
	}
	_, err := s.c.InsertOne(ctx, d)
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "An invitation with this id already exists.")
	}
	return wrapErr("bookingInvitations.insert", err)
}

// InvitationByID returns ENOTFOUND if there is none.
func (s *InvitationStore) InvitationByID(ctx context.Context, id string) (*models.BookingInvitation, error) {
	d, err := findByID[invitationDoc](ctx, s.c, id, "Invitation not found.")
	if err != nil {
		return nil, err
	}
	return d.model(), nil
}

// ListInvitations lists a patient's invitations, newest first.
func (s *InvitationStore) ListInvitations(ctx context.Context, patient models.PatientID, p models.Page) ([]*models.BookingInvitation, string, error) {
	return listByTime(ctx, s.c, bson.D{{Key: "patientId", Value: string(patient)}}, "createdAt", false, p,
		func(d *invitationDoc) (time.Time, string) { return d.CreatedAt, d.ID }, (*invitationDoc).model)
}

// UseInvitation marks an open invitation used by appt, or succeeds if appt uses it already.
// Returns ENOTFOUND; ECONFLICT if another appointment used it.
func (s *InvitationStore) UseInvitation(ctx context.Context, id string, appt models.AppointmentID) error {
	defer s.db.lockWrites(collInvitations)()
	_, ok, err := guardedUpdate(ctx, s.db, s.c, id, bson.D{{Key: "status", Value: models.InvitationOpen}},
		func(d *invitationDoc) bool { return d.Status == models.InvitationOpen },
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: models.InvitationUsed}, {Key: "appointmentId", Value: string(appt)}}}})
	if err != nil || ok {
		return wrapErr("bookingInvitations.use", err)
	}
	cur, err := s.InvitationByID(ctx, id)
	if err != nil {
		return err
	}
	if cur.AppointmentID == appt {
		return nil
	}
	return models.Errorf(models.ECONFLICT, "This invitation has been used already.")
}

// ReopenInvitation undoes UseInvitation by appt; an invitation used by another is left alone.
func (s *InvitationStore) ReopenInvitation(ctx context.Context, id string, appt models.AppointmentID) error {
	defer s.db.lockWrites(collInvitations)()
	_, _, err := guardedUpdate(ctx, s.db, s.c, id, bson.D{{Key: "appointmentId", Value: string(appt)}},
		func(d *invitationDoc) bool { return d.AppointmentID == string(appt) },
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: models.InvitationOpen}}}, {Key: "$unset", Value: bson.D{{Key: "appointmentId", Value: ""}}}})
	return wrapErr("bookingInvitations.reopen", err)
}
