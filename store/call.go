package store

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"careway/models"
)

var _ models.CallStore = (*CallStore)(nil)

// CallStore keeps video consultations (calls), guest invites (callInvites, unique on the hash
// of the link's secret) and socket tickets (callTickets, _id the ticket's hash).
type CallStore struct {
	db      *DB
	calls   *mongo.Collection
	invites *mongo.Collection
	tickets *mongo.Collection
}

// NewCallStore returns the CallStore of db.
func NewCallStore(db *DB) *CallStore {
	return &CallStore{db: db, calls: db.collection(collCalls), invites: db.collection(collCallInvites),
		tickets: db.collection(collCallTickets)}
}

type participantDoc struct {
	UserID  string    `bson:"userId"`
	Kind    string    `bson:"kind"`
	Name    string    `bson:"name"`
	FirstAt time.Time `bson:"firstAt"`
}

// qualityDoc and partQualityDoc are the stored forms of models.CallQuality and
// models.ParticipantQuality: the same fields, so the values convert.
type qualityDoc struct {
	StartedAt    time.Time        `bson:"startedAt"`
	EndedAt      time.Time        `bson:"endedAt"`
	EndedBy      string           `bson:"endedBy,omitempty"`
	Participants []partQualityDoc `bson:"participants"`
}

type partQualityDoc struct {
	UserID         models.UserID          `bson:"userId"`
	Kind           models.ParticipantKind `bson:"kind"`
	JoinedAt       time.Time              `bson:"joinedAt"`
	LeftAt         time.Time              `bson:"leftAt"`
	LeftReason     string                 `bson:"leftReason,omitempty"`
	Admitted       bool                   `bson:"admitted"`
	Samples        int                    `bson:"samples"`
	AvgUpKbps      float64                `bson:"avgUpKbps"`
	AvgDownKbps    float64                `bson:"avgDownKbps"`
	AvgUpLossPct   float64                `bson:"avgUpLossPct"`
	MaxUpLossPct   float64                `bson:"maxUpLossPct"`
	AvgDownLossPct float64                `bson:"avgDownLossPct"`
	MaxDownLossPct float64                `bson:"maxDownLossPct"`
	AvgRTTMs       float64                `bson:"avgRttMs"`
	MaxRTTMs       float64                `bson:"maxRttMs"`
	AvgJitterMs    float64                `bson:"avgJitterMs"`
	MaxJitterMs    float64                `bson:"maxJitterMs"`
}

// callDoc is the stored form of a models.Call. Participants are an object keyed by participant
// key (see participantKey) rather than an array, so that "add once" is a plain guarded $set
// that both MongoDB and FerretDB apply atomically (no positional or array operators).
type callDoc struct {
	ID              string                    `bson:"_id"`
	PatientID       string                    `bson:"patientId"`
	PracticeID      string                    `bson:"practiceId"`
	TriageRequestID string                    `bson:"triageRequestId,omitempty"`
	AppointmentID   string                    `bson:"appointmentId,omitempty"`
	CreatedBy       string                    `bson:"createdBy"`
	Status          string                    `bson:"status"`
	Participants    map[string]participantDoc `bson:"participants"`
	Quality         *qualityDoc               `bson:"quality,omitempty"`
	CreatedAt       time.Time                 `bson:"createdAt"`
	EndedAt         *time.Time                `bson:"endedAt,omitempty"`
}

// participantKey turns a user id into a field name: ids are UUIDs or "guest:" + a UUID, and a
// field name must not hold '.' or start with '$'.
func participantKey(id models.UserID) string {
	return "u_" + strings.NewReplacer(".", "_", "$", "_", ":", "_").Replace(string(id))
}

func toCallDoc(c *models.Call) *callDoc {
	d := &callDoc{ID: string(c.ID), PatientID: string(c.PatientID), PracticeID: string(c.PracticeID),
		TriageRequestID: string(c.TriageRequestID), AppointmentID: string(c.AppointmentID), CreatedBy: string(c.CreatedBy),
		Status: string(c.Status), Participants: map[string]participantDoc{}, CreatedAt: c.CreatedAt.UTC(), EndedAt: utcPtr(c.EndedAt)}
	for _, p := range c.Participants {
		d.Participants[participantKey(p.UserID)] = toParticipantDoc(p)
	}
	if c.Quality != nil {
		d.Quality = toQualityDoc(c.Quality)
	}
	return d
}

func toParticipantDoc(p models.CallParticipant) participantDoc {
	return participantDoc{UserID: string(p.UserID), Kind: string(p.Kind), Name: p.Name, FirstAt: p.FirstAt.UTC()}
}

func toQualityDoc(q *models.CallQuality) *qualityDoc {
	d := &qualityDoc{StartedAt: q.StartedAt.UTC(), EndedAt: q.EndedAt.UTC(), EndedBy: string(q.EndedBy),
		Participants: make([]partQualityDoc, len(q.Participants))}
	for i, p := range q.Participants {
		d.Participants[i] = partQualityDoc(p)
		d.Participants[i].JoinedAt, d.Participants[i].LeftAt = p.JoinedAt.UTC(), p.LeftAt.UTC()
	}
	return d
}

func (d *qualityDoc) model() *models.CallQuality {
	q := &models.CallQuality{StartedAt: d.StartedAt.UTC(), EndedAt: d.EndedAt.UTC(), EndedBy: models.UserID(d.EndedBy),
		Participants: make([]models.ParticipantQuality, len(d.Participants))}
	for i, p := range d.Participants {
		q.Participants[i] = models.ParticipantQuality(p)
		q.Participants[i].JoinedAt, q.Participants[i].LeftAt = p.JoinedAt.UTC(), p.LeftAt.UTC()
	}
	return q
}

func (d *callDoc) model() *models.Call {
	c := &models.Call{ID: models.CallID(d.ID), PatientID: models.PatientID(d.PatientID), PracticeID: models.PracticeID(d.PracticeID),
		TriageRequestID: models.TriageRequestID(d.TriageRequestID), AppointmentID: models.AppointmentID(d.AppointmentID),
		CreatedBy: models.UserID(d.CreatedBy), Status: models.CallStatus(d.Status), CreatedAt: d.CreatedAt.UTC(),
		EndedAt: utcPtr(d.EndedAt), Participants: make([]models.CallParticipant, 0, len(d.Participants))}
	for _, p := range d.Participants {
		c.Participants = append(c.Participants, models.CallParticipant{UserID: models.UserID(p.UserID),
			Kind: models.ParticipantKind(p.Kind), Name: p.Name, FirstAt: p.FirstAt.UTC()})
	}
	sort.Slice(c.Participants, func(i, j int) bool {
		a, b := c.Participants[i], c.Participants[j]
		return a.FirstAt.Before(b.FirstAt) || (a.FirstAt.Equal(b.FirstAt) && a.UserID < b.UserID)
	})
	if d.Quality != nil {
		c.Quality = d.Quality.model()
	}
	return c
}

// CreateCall stores a new call, giving it a new id if c.ID is empty. Returns ECONFLICT if the
// id exists.
func (s *CallStore) CreateCall(ctx context.Context, c *models.Call) error {
	if c.ID == "" {
		c.ID = models.CallID(models.NewID())
	}
	_, err := s.calls.InsertOne(ctx, toCallDoc(c))
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "A call with this id already exists.")
	}
	return wrapErr("calls.insert", err)
}

// CallByID returns ENOTFOUND if there is no such call.
func (s *CallStore) CallByID(ctx context.Context, id models.CallID) (*models.Call, error) {
	var d callDoc
	if err := s.calls.FindOne(ctx, bson.D{{Key: "_id", Value: string(id)}}).Decode(&d); err != nil {
		return nil, notFound("calls.findOne", err, "Call not found.")
	}
	return d.model(), nil
}

// OpenCallFor returns the newest open call of an appointment or a triage request (exactly one
// of them set). Returns ENOTFOUND if there is none, EINVALID if neither or both are set.
func (s *CallStore) OpenCallFor(ctx context.Context, appointment models.AppointmentID, request models.TriageRequestID) (*models.Call, error) {
	var filter bson.D
	switch {
	case appointment != "" && request == "":
		filter = bson.D{{Key: "appointmentId", Value: string(appointment)}}
	case request != "" && appointment == "":
		filter = bson.D{{Key: "triageRequestId", Value: string(request)}}
	default:
		return nil, invalid("appointmentId", "give an appointment or a triage request, not both")
	}
	filter = append(filter, bson.E{Key: "status", Value: string(models.CallOpen)})
	var d callDoc
	err := s.calls.FindOne(ctx, filter, options.FindOne().SetSort(bson.D{{Key: "createdAt", Value: -1}})).Decode(&d)
	if err != nil {
		return nil, notFound("calls.findOne", err, "No open call.")
	}
	return d.model(), nil
}

// ListOpenCalls returns the open calls of a practice, newest first, at most max (100 when max
// is not positive).
func (s *CallStore) ListOpenCalls(ctx context.Context, practice models.PracticeID, max int) ([]*models.Call, error) {
	if max <= 0 {
		max = 100
	}
	filter := bson.D{{Key: "practiceId", Value: string(practice)}, {Key: "status", Value: string(models.CallOpen)}}
	docs, _, err := findPage[callDoc](ctx, s.calls, filter, bson.D{{Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}}, max)
	if err != nil {
		return nil, err
	}
	out := make([]*models.Call, len(docs))
	for i := range docs {
		out[i] = docs[i].model()
	}
	return out, nil
}

// AddCallParticipant records p once per user id on an open call. Returns ENOTFOUND; ECONFLICT
// if the call has ended.
func (s *CallStore) AddCallParticipant(ctx context.Context, id models.CallID, p models.CallParticipant) error {
	field := "participants." + participantKey(p.UserID)
	filter := bson.D{{Key: "_id", Value: string(id)}, {Key: "status", Value: string(models.CallOpen)},
		{Key: field, Value: bson.D{{Key: "$exists", Value: false}}}}
	update := bson.D{{Key: "$set", Value: bson.D{{Key: field, Value: toParticipantDoc(p)}}}}
	unlock := s.db.lockWrites(collCalls)
	res, err := s.calls.UpdateOne(ctx, filter, update)
	unlock()
	if err != nil {
		return wrapErr("calls.update", err)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	c, err := s.CallByID(ctx, id)
	if err != nil {
		return err
	}
	if c.Status != models.CallOpen {
		return models.Errorf(models.ECONFLICT, "This call has ended.")
	}
	return nil // already a participant
}

// SaveCallQuality records q as the call's latest quality summary, whatever its status.
// Returns ENOTFOUND.
func (s *CallStore) SaveCallQuality(ctx context.Context, id models.CallID, q *models.CallQuality) error {
	defer s.db.lockWrites(collCalls)()
	res, err := s.calls.UpdateOne(ctx, bson.D{{Key: "_id", Value: string(id)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "quality", Value: toQualityDoc(q)}}}})
	if err != nil {
		return wrapErr("calls.update", err)
	}
	if res.MatchedCount == 0 {
		return models.Errorf(models.ENOTFOUND, "Call not found.")
	}
	return nil
}

// EndCall marks an open call ended with its quality summary. Returns ENOTFOUND; ECONFLICT if it
// had already ended.
func (s *CallStore) EndCall(ctx context.Context, id models.CallID, q *models.CallQuality, now time.Time) (*models.Call, error) {
	set := bson.D{{Key: "status", Value: string(models.CallEnded)}, {Key: "endedAt", Value: now.UTC()}}
	if q != nil {
		set = append(set, bson.E{Key: "quality", Value: toQualityDoc(q)})
	}
	filter := bson.D{{Key: "_id", Value: string(id)}, {Key: "status", Value: string(models.CallOpen)}}
	unlock := s.db.lockWrites(collCalls)
	var d callDoc
	err := s.calls.FindOneAndUpdate(ctx, filter, bson.D{{Key: "$set", Value: set}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	unlock()
	if err == nil {
		return d.model(), nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, wrapErr("calls.end", err)
	}
	if _, err := s.CallByID(ctx, id); err != nil {
		return nil, err
	}
	return nil, models.Errorf(models.ECONFLICT, "This call has already ended.")
}

type inviteDoc struct {
	ID         string     `bson:"_id"`
	CallID     string     `bson:"callId"`
	Hash       string     `bson:"hash"`
	Role       string     `bson:"role"`
	Name       string     `bson:"name"`
	CreatedBy  string     `bson:"createdBy"`
	CreatedAt  time.Time  `bson:"createdAt"`
	ExpiresAt  time.Time  `bson:"expiresAt"`
	RedeemedAt *time.Time `bson:"redeemedAt"` // null until redeemed
	GuestHash  string     `bson:"guestHash,omitempty"`
	GuestUntil *time.Time `bson:"guestUntil,omitempty"`
}

func (d *inviteDoc) model() *models.CallInvite {
	return &models.CallInvite{ID: d.ID, CallID: models.CallID(d.CallID), Hash: d.Hash, Role: models.GuestRole(d.Role),
		Name: d.Name, CreatedBy: models.UserID(d.CreatedBy), CreatedAt: d.CreatedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC(),
		RedeemedAt: utcPtr(d.RedeemedAt), GuestHash: d.GuestHash, GuestUntil: utcPtr(d.GuestUntil)}
}

// CreateCallInvite stores an invite, giving it a new id if i.ID is empty. Returns ECONFLICT if
// the id or hash exists.
func (s *CallStore) CreateCallInvite(ctx context.Context, i *models.CallInvite) error {
	if i.ID == "" {
		i.ID = models.NewID()
	}
	_, err := s.invites.InsertOne(ctx, inviteDoc{ID: i.ID, CallID: string(i.CallID), Hash: i.Hash, Role: string(i.Role),
		Name: i.Name, CreatedBy: string(i.CreatedBy), CreatedAt: i.CreatedAt.UTC(), ExpiresAt: i.ExpiresAt.UTC(),
		RedeemedAt: utcPtr(i.RedeemedAt)})
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "The invite exists already.")
	}
	return wrapErr("callInvites.insert", err)
}

// ListCallInvites returns a call's invites, oldest first (a call has a handful).
func (s *CallStore) ListCallInvites(ctx context.Context, call models.CallID) ([]*models.CallInvite, error) {
	docs, _, err := findPage[inviteDoc](ctx, s.invites, bson.D{{Key: "callId", Value: string(call)}},
		bson.D{{Key: "createdAt", Value: 1}}, 100)
	if err != nil {
		return nil, err
	}
	out := make([]*models.CallInvite, len(docs))
	for i := range docs {
		out[i] = docs[i].model()
	}
	return out, nil
}

// RedeemCallInvite marks the unexpired, unredeemed invite with this hash redeemed and binds
// the guest token's hash to it, in one guarded update under the write lock. Returns ENOTFOUND
// if no invite has the hash or it has expired; ECONFLICT if it was redeemed already.
func (s *CallStore) RedeemCallInvite(ctx context.Context, hash, guestHash string, guestUntil, now time.Time) (*models.CallInvite, error) {
	now = now.UTC()
	if guestHash == "" {
		return nil, invalid("guestHash", "is required")
	}
	filter := bson.D{{Key: "hash", Value: hash}, {Key: "redeemedAt", Value: nil},
		{Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: now}}}}
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "redeemedAt", Value: now},
		{Key: "guestHash", Value: guestHash}, {Key: "guestUntil", Value: guestUntil.UTC()}}}}
	unlock := s.db.lockWrites(collCallInvites)
	var d inviteDoc
	err := s.invites.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	unlock()
	if err == nil {
		return d.model(), nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, wrapErr("callInvites.redeem", err)
	}
	if err := s.invites.FindOne(ctx, bson.D{{Key: "hash", Value: hash}}).Decode(&d); err != nil {
		return nil, notFound("callInvites.findOne", err, "This invitation link is not valid.")
	}
	if d.RedeemedAt != nil {
		return nil, models.Errorf(models.ECONFLICT, "This invitation link has already been used; ask the clinician for a new one.")
	}
	return nil, models.Errorf(models.ENOTFOUND, "This invitation link has expired; ask the clinician for a new one.")
}

// CallInviteByGuest returns the redeemed invite whose guest token has this hash. Returns
// ENOTFOUND if there is none or the guest token has expired at now.
func (s *CallStore) CallInviteByGuest(ctx context.Context, guestHash string, now time.Time) (*models.CallInvite, error) {
	if guestHash == "" {
		return nil, models.Errorf(models.ENOTFOUND, "The guest token is not valid.")
	}
	var d inviteDoc
	err := s.invites.FindOne(ctx, bson.D{{Key: "guestHash", Value: guestHash},
		{Key: "guestUntil", Value: bson.D{{Key: "$gt", Value: now.UTC()}}}}).Decode(&d)
	if err != nil {
		return nil, notFound("callInvites.findOne", err, "The guest token is not valid or has expired.")
	}
	return d.model(), nil
}

type ticketDoc struct {
	Hash      string     `bson:"_id"`
	CallID    string     `bson:"callId"`
	UserID    string     `bson:"userId"`
	Kind      string     `bson:"kind"`
	Name      string     `bson:"name"`
	IssuedAt  time.Time  `bson:"issuedAt"`
	ExpiresAt time.Time  `bson:"expiresAt"`
	UsedAt    *time.Time `bson:"usedAt"` // null until used
}

func (d *ticketDoc) model() *models.CallTicket {
	return &models.CallTicket{Hash: d.Hash, CallID: models.CallID(d.CallID), UserID: models.UserID(d.UserID),
		Kind: models.ParticipantKind(d.Kind), Name: d.Name, IssuedAt: d.IssuedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC(),
		UsedAt: utcPtr(d.UsedAt)}
}

// CreateCallTicket stores a ticket. Returns ECONFLICT if the hash exists.
func (s *CallStore) CreateCallTicket(ctx context.Context, t *models.CallTicket) error {
	_, err := s.tickets.InsertOne(ctx, ticketDoc{Hash: t.Hash, CallID: string(t.CallID), UserID: string(t.UserID),
		Kind: string(t.Kind), Name: t.Name, IssuedAt: t.IssuedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(), UsedAt: utcPtr(t.UsedAt)})
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "The ticket exists already.")
	}
	return wrapErr("callTickets.insert", err)
}

// ConsumeCallTicket marks the unused, unexpired ticket with this hash for this call used, in
// one guarded update under the write lock. Returns ENOTFOUND if no ticket of this call has the
// hash or it has expired; ECONFLICT if it was used already.
func (s *CallStore) ConsumeCallTicket(ctx context.Context, hash string, call models.CallID, now time.Time) (*models.CallTicket, error) {
	now = now.UTC()
	filter := bson.D{{Key: "_id", Value: hash}, {Key: "callId", Value: string(call)}, {Key: "usedAt", Value: nil},
		{Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: now}}}}
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "usedAt", Value: now}}}}
	unlock := s.db.lockWrites(collCallTickets)
	var d ticketDoc
	err := s.tickets.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	unlock()
	if err == nil {
		return d.model(), nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, wrapErr("callTickets.consume", err)
	}
	err = s.tickets.FindOne(ctx, bson.D{{Key: "_id", Value: hash}, {Key: "callId", Value: string(call)}}).Decode(&d)
	if err != nil {
		return nil, notFound("callTickets.findOne", err, "The ticket is not valid for this call.")
	}
	if d.UsedAt != nil {
		return nil, models.Errorf(models.ECONFLICT, "The ticket has already been used.")
	}
	return nil, models.Errorf(models.ENOTFOUND, "The ticket has expired.")
}

// DeleteExpiredCallTickets removes tickets that expired before the given time (FerretDB has
// no TTL indexes, so Careway cleans up itself).
func (s *CallStore) DeleteExpiredCallTickets(ctx context.Context, before time.Time) (int64, error) {
	defer s.db.lockWrites(collCallTickets)()
	res, err := s.tickets.DeleteMany(ctx, bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}})
	if err != nil {
		return 0, wrapErr("callTickets.delete", err)
	}
	return res.DeletedCount, nil
}
