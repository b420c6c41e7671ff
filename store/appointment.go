package store

import (
	"context"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"careway/models"
)

var _ models.AppointmentStore = (*AppointmentStore)(nil)

// AppointmentStore keeps appointments in the appointments collection, _id the appointment id
// (chosen by the client, so a retried booking finds the first).
type AppointmentStore struct {
	db *DB
	c  *mongo.Collection
}

// NewAppointmentStore returns the AppointmentStore of db.
func NewAppointmentStore(db *DB) *AppointmentStore {
	return &AppointmentStore{db: db, c: db.collection(collAppointments)}
}

type changeDoc struct {
	At     time.Time `bson:"at"`
	By     string    `bson:"by,omitempty"`
	Role   string    `bson:"role,omitempty"`
	Action string    `bson:"action"`
	From   string    `bson:"from,omitempty"`
	To     string    `bson:"to"`
	Note   string    `bson:"note,omitempty"`
}

type appointmentDoc struct {
	ID              string         `bson:"_id"`
	PatientID       string         `bson:"patientId"`
	PracticeID      string         `bson:"practiceId"`
	SlotIDs         []string       `bson:"slotIds"`
	SessionID       string         `bson:"sessionId"`
	SiteID          string         `bson:"siteId"`
	ClinicianID     string         `bson:"clinicianId"`
	ServiceType     string         `bson:"serviceType"`
	Mode            string         `bson:"mode"`
	Start           time.Time      `bson:"start"`
	End             time.Time      `bson:"end"`
	Reason          string         `bson:"reason"`
	Adjustments     adjustmentsDoc `bson:"adjustments"`
	Status          string         `bson:"status"`
	CancelReason    string         `bson:"cancelReason,omitempty"`
	CallID          string         `bson:"callId,omitempty"`
	TriageRequestID string         `bson:"triageRequestId,omitempty"`
	BookedBy        string         `bson:"bookedBy"`
	BookedByRole    string         `bson:"bookedByRole"`
	History         []changeDoc    `bson:"history"`
	CreatedAt       time.Time      `bson:"createdAt"`
	UpdatedAt       time.Time      `bson:"updatedAt"`
}

func toChangeDoc(c models.AppointmentChange) changeDoc {
	return changeDoc{At: c.At.UTC(), By: string(c.By), Role: string(c.Role), Action: c.Action, From: c.From, To: c.To, Note: c.Note}
}

func toAppointmentDoc(a *models.Appointment) *appointmentDoc {
	d := &appointmentDoc{ID: string(a.ID), PatientID: string(a.PatientID), PracticeID: string(a.PracticeID), SessionID: string(a.SessionID),
		SiteID: string(a.SiteID), ClinicianID: string(a.ClinicianID), ServiceType: string(a.ServiceType), Mode: string(a.Mode),
		Start: a.Start.UTC(), End: a.End.UTC(), Reason: a.Reason, Status: a.Status, CancelReason: a.CancelReason, CallID: string(a.CallID),
		TriageRequestID: string(a.TriageRequestID), BookedBy: string(a.BookedBy), BookedByRole: string(a.BookedByRole),
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(), History: []changeDoc{}}
	d.Adjustments = adjustmentsDoc(a.Adjustments)
	for _, s := range a.SlotIDs {
		d.SlotIDs = append(d.SlotIDs, string(s))
	}
	for _, c := range a.History {
		d.History = append(d.History, toChangeDoc(c))
	}
	return d
}

func (d *appointmentDoc) model() *models.Appointment {
	a := &models.Appointment{ID: models.AppointmentID(d.ID), PatientID: models.PatientID(d.PatientID), PracticeID: models.PracticeID(d.PracticeID),
		SessionID: models.SessionID(d.SessionID), SiteID: models.SiteID(d.SiteID), ClinicianID: models.UserID(d.ClinicianID),
		ServiceType: models.ServiceType(d.ServiceType), Mode: models.AppointmentMode(d.Mode), Start: d.Start.UTC(), End: d.End.UTC(),
		Reason: d.Reason, Status: d.Status, CancelReason: d.CancelReason, CallID: models.CallID(d.CallID),
		TriageRequestID: models.TriageRequestID(d.TriageRequestID), BookedBy: models.UserID(d.BookedBy), BookedByRole: models.Role(d.BookedByRole),
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), History: []models.AppointmentChange{}}
	a.Adjustments = models.Adjustments(d.Adjustments)
	for _, s := range d.SlotIDs {
		a.SlotIDs = append(a.SlotIDs, models.SlotID(s))
	}
	if len(a.SlotIDs) > 0 {
		a.SlotID = a.SlotIDs[0]
	}
	for _, c := range d.History {
		a.History = append(a.History, models.AppointmentChange{At: c.At.UTC(), By: models.UserID(c.By), Role: models.Role(c.Role),
			Action: c.Action, From: c.From, To: c.To, Note: c.Note})
	}
	return a
}

// CreateAppointment stores a new appointment. Returns ECONFLICT if the id exists.
func (s *AppointmentStore) CreateAppointment(ctx context.Context, a *models.Appointment) error {
	err := s.db.writeOne(func() error { _, err := s.c.InsertOne(ctx, toAppointmentDoc(a)); return err })
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "An appointment with this id already exists.")
	}
	return wrapErr("appointments.insert", err)
}

// AppointmentByID returns ENOTFOUND if there is no such appointment.
func (s *AppointmentStore) AppointmentByID(ctx context.Context, id models.AppointmentID) (*models.Appointment, error) {
	d, err := findByID[appointmentDoc](ctx, s.c, string(id), "Appointment not found.")
	if err != nil {
		return nil, err
	}
	return d.model(), nil
}

// AppointmentsByIDs returns the existing appointments among ids, by id; missing and empty ids
// are left out. It asks for _id $in one chunk of ids at a time: on MongoDB index lookups, on
// FerretDB (which pushes only _id equality down) one scan of the collection per chunk instead
// of a lookup per id.
func (s *AppointmentStore) AppointmentsByIDs(ctx context.Context, ids []models.AppointmentID) (map[models.AppointmentID]*models.Appointment, error) {
	want := make([]string, 0, len(ids))
	seen := make(map[models.AppointmentID]bool, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			want = append(want, string(id))
		}
	}
	found := make(map[models.AppointmentID]*models.Appointment, len(want))
	for chunk := range slices.Chunk(want, appointmentsByIDsChunk) {
		cur, err := s.c.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: chunk}}}})
		if err != nil {
			return nil, wrapErr("appointments.find", err)
		}
		var docs []appointmentDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, wrapErr("appointments.find", err)
		}
		for i := range docs {
			found[models.AppointmentID(docs[i].ID)] = docs[i].model()
		}
	}
	return found, nil
}

// appointmentsByIDsChunk is how many ids one query of AppointmentsByIDs names (a variable so
// a test can make chunks small).
var appointmentsByIDsChunk = 1000

// ListAppointments lists appointments by start then id, or by updatedAt then id when
// f.UpdatedSince is set (a changes feed). Returns EINVALID without a patient, practice,
// clinician or status, or for a bad cursor.
func (s *AppointmentStore) ListAppointments(ctx context.Context, f models.AppointmentFilter, p models.Page) ([]*models.Appointment, string, error) {
	filter := withEqual(bson.D{}, "patientId", string(f.PatientID), "practiceId", string(f.PracticeID), "clinicianId", string(f.ClinicianID))
	if len(filter) == 0 && len(f.Statuses) == 0 {
		return nil, "", invalid("patientId", "a patient, practice, clinician or status is required")
	}
	if len(f.Statuses) > 0 {
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: f.Statuses}}})
	}
	if r := timeRange(f.From, f.To); r != nil {
		filter = append(filter, bson.E{Key: "start", Value: r})
	}
	if !f.UpdatedSince.IsZero() {
		filter = append(filter, bson.E{Key: "updatedAt", Value: bson.D{{Key: "$gte", Value: f.UpdatedSince.UTC()}}})
		return listByTime(ctx, s.c, filter, "updatedAt", true, p, func(d *appointmentDoc) (time.Time, string) { return d.UpdatedAt, d.ID }, (*appointmentDoc).model)
	}
	return listByTime(ctx, s.c, filter, "start", true, p, func(d *appointmentDoc) (time.Time, string) { return d.Start, d.ID }, (*appointmentDoc).model)
}

// UpdateAppointment moves an appointment whose status is one of ifStatus to ch.To, appends ch
// to its history, bumps updatedAt and applies set. Returns ENOTFOUND; ECONFLICT if its status
// is not one of ifStatus.
func (s *AppointmentStore) UpdateAppointment(ctx context.Context, id models.AppointmentID, ifStatus []string, ch models.AppointmentChange, set *models.AppointmentUpdate) (*models.Appointment, error) {
	defer s.db.lockWrites(collAppointments)()
	fields := bson.D{{Key: "status", Value: ch.To}, {Key: "updatedAt", Value: ch.At.UTC()}}
	if set != nil {
		if set.CancelReason != nil {
			fields = append(fields, bson.E{Key: "cancelReason", Value: *set.CancelReason})
		}
		if set.CallID != nil {
			fields = append(fields, bson.E{Key: "callId", Value: string(*set.CallID)})
		}
		if r := set.Slots; r != nil {
			ids := make([]string, len(r.SlotIDs))
			for i, v := range r.SlotIDs {
				ids[i] = string(v)
			}
			fields = append(fields, bson.E{Key: "slotIds", Value: ids}, bson.E{Key: "sessionId", Value: string(r.SessionID)},
				bson.E{Key: "siteId", Value: string(r.SiteID)}, bson.E{Key: "clinicianId", Value: string(r.ClinicianID)},
				bson.E{Key: "mode", Value: string(r.Mode)}, bson.E{Key: "start", Value: r.Start.UTC()}, bson.E{Key: "end", Value: r.End.UTC()})
			if r.Adjustments != nil {
				fields = append(fields, bson.E{Key: "adjustments", Value: adjustmentsDoc(*r.Adjustments)})
			}
		}
	}
	d, ok, err := guardedUpdate(ctx, s.db, s.c, string(id), bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: ifStatus}}}},
		func(d *appointmentDoc) bool { return slices.Contains(ifStatus, d.Status) },
		bson.D{{Key: "$set", Value: fields}, {Key: "$push", Value: bson.D{{Key: "history", Value: toChangeDoc(ch)}}}})
	if err != nil {
		return nil, wrapErr("appointments.update", err)
	}
	if !ok {
		if _, err := s.AppointmentByID(ctx, id); err != nil {
			return nil, err
		}
		return nil, models.Errorf(models.ECONFLICT, "The appointment's status does not allow this any more.")
	}
	return d.model(), nil
}
