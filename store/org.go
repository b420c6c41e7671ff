package store

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"careway/models"
)

var _ models.OrgStore = (*OrgStore)(nil)

// OrgStore keeps practices, sites and care homes, each in its own collection with _id the
// organisation's id.
//
// ODS codes are unique but optional, and FerretDB v1.24 has no partial or sparse indexes, so
// a practice document carries odsKey ("ods:" + the code, or "id:" + the practice id when it
// has none) with a unique index on it, as patients do with NHS numbers.
type OrgStore struct {
	practices, sites, careHomes *mongo.Collection
}

// NewOrgStore returns the OrgStore of db.
func NewOrgStore(db *DB) *OrgStore {
	return &OrgStore{
		practices: db.collection(collPractices),
		sites:     db.collection(collSites),
		careHomes: db.collection(collCareHomes),
	}
}

type practiceDoc struct {
	ID        string    `bson:"_id"`
	ODSKey    string    `bson:"odsKey"`
	Name      string    `bson:"name"`
	ODSCode   string    `bson:"odsCode,omitempty"`
	Phone     string    `bson:"phone,omitempty"`
	CreatedAt time.Time `bson:"createdAt"`
}

func (d *practiceDoc) model() *models.Practice {
	return &models.Practice{
		ID: models.PracticeID(d.ID), Name: d.Name, ODSCode: d.ODSCode, Phone: d.Phone, CreatedAt: d.CreatedAt,
	}
}

// CreatePractice stores a practice, giving it a new id if p.ID is empty. Returns ECONFLICT if
// the ODS code is taken or the id exists.
func (s *OrgStore) CreatePractice(ctx context.Context, p *models.Practice) error {
	if p.ID == "" {
		p.ID = models.PracticeID(models.NewID())
	}
	_, err := s.practices.InsertOne(ctx, &practiceDoc{
		ID: string(p.ID), ODSKey: optionalUniqueKey("ods", p.ODSCode, string(p.ID)), Name: p.Name, ODSCode: p.ODSCode, Phone: p.Phone, CreatedAt: p.CreatedAt.UTC(),
	})
	if mongo.IsDuplicateKeyError(err) {
		if exists(ctx, s.practices, string(p.ID)) {
			return models.Errorf(models.ECONFLICT, "A practice with this id already exists.")
		}
		return models.Errorf(models.ECONFLICT, "A practice with this ODS code already exists.")
	}
	return wrapErr("practices.insert", err)
}

// PracticeByID returns ENOTFOUND if there is no such practice.
func (s *OrgStore) PracticeByID(ctx context.Context, id models.PracticeID) (*models.Practice, error) {
	var d practiceDoc
	if err := s.practices.FindOne(ctx, bson.D{{Key: "_id", Value: string(id)}}).Decode(&d); err != nil {
		return nil, notFound("practices.findOne", err, "Practice not found.")
	}
	return d.model(), nil
}

// ListPractices lists practices by id. Returns EINVALID for a cursor this list did not return.
func (s *OrgStore) ListPractices(ctx context.Context, p models.Page) ([]*models.Practice, string, error) {
	return listByID(ctx, s.practices, bson.D{}, p, func(d *practiceDoc) string { return d.ID }, (*practiceDoc).model)
}

type siteDoc struct {
	ID             string     `bson:"_id"`
	PracticeID     string     `bson:"practiceId"`
	Name           string     `bson:"name"`
	Address        addressDoc `bson:"address"`
	StepFreeAccess bool       `bson:"stepFreeAccess"`
	HearingLoop    bool       `bson:"hearingLoop"`
	Parking        bool       `bson:"parking"`
	CreatedAt      time.Time  `bson:"createdAt"`
}

func (d *siteDoc) model() *models.Site {
	return &models.Site{
		ID: models.SiteID(d.ID), PracticeID: models.PracticeID(d.PracticeID), Name: d.Name,
		Address: d.Address.model(), StepFreeAccess: d.StepFreeAccess, HearingLoop: d.HearingLoop,
		Parking: d.Parking, CreatedAt: d.CreatedAt,
	}
}

// CreateSite stores a site, giving it a new id if s.ID is empty. Returns ENOTFOUND if its
// practice does not exist and ECONFLICT if the id exists.
func (s *OrgStore) CreateSite(ctx context.Context, site *models.Site) error {
	if err := s.practiceExists(ctx, site.PracticeID); err != nil {
		return err
	}
	if site.ID == "" {
		site.ID = models.SiteID(models.NewID())
	}
	_, err := s.sites.InsertOne(ctx, &siteDoc{
		ID: string(site.ID), PracticeID: string(site.PracticeID), Name: site.Name,
		Address: toAddressDoc(site.Address), StepFreeAccess: site.StepFreeAccess,
		HearingLoop: site.HearingLoop, Parking: site.Parking, CreatedAt: site.CreatedAt.UTC(),
	})
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "A site with this id already exists.")
	}
	return wrapErr("sites.insert", err)
}

// SiteByID returns ENOTFOUND if there is no such site.
func (s *OrgStore) SiteByID(ctx context.Context, id models.SiteID) (*models.Site, error) {
	var d siteDoc
	if err := s.sites.FindOne(ctx, bson.D{{Key: "_id", Value: string(id)}}).Decode(&d); err != nil {
		return nil, notFound("sites.findOne", err, "Site not found.")
	}
	return d.model(), nil
}

// ListSites lists a practice's sites by id. Returns EINVALID for a cursor this list did not
// return.
func (s *OrgStore) ListSites(ctx context.Context, practice models.PracticeID, p models.Page) ([]*models.Site, string, error) {
	filter := bson.D{{Key: "practiceId", Value: string(practice)}}
	return listByID(ctx, s.sites, filter, p, func(d *siteDoc) string { return d.ID }, (*siteDoc).model)
}

type careHomeDoc struct {
	ID         string     `bson:"_id"`
	Name       string     `bson:"name"`
	Address    addressDoc `bson:"address"`
	PracticeID string     `bson:"practiceId"`
	CreatedAt  time.Time  `bson:"createdAt"`
}

func (d *careHomeDoc) model() *models.CareHome {
	return &models.CareHome{
		ID: models.CareHomeID(d.ID), Name: d.Name, Address: d.Address.model(),
		PracticeID: models.PracticeID(d.PracticeID), CreatedAt: d.CreatedAt,
	}
}

// CreateCareHome stores a care home, giving it a new id if h.ID is empty. Returns ENOTFOUND if
// the practice it is aligned with does not exist and ECONFLICT if the id exists.
func (s *OrgStore) CreateCareHome(ctx context.Context, h *models.CareHome) error {
	if err := s.practiceExists(ctx, h.PracticeID); err != nil {
		return err
	}
	if h.ID == "" {
		h.ID = models.CareHomeID(models.NewID())
	}
	_, err := s.careHomes.InsertOne(ctx, &careHomeDoc{
		ID: string(h.ID), Name: h.Name, Address: toAddressDoc(h.Address),
		PracticeID: string(h.PracticeID), CreatedAt: h.CreatedAt.UTC(),
	})
	if mongo.IsDuplicateKeyError(err) {
		return models.Errorf(models.ECONFLICT, "A care home with this id already exists.")
	}
	return wrapErr("careHomes.insert", err)
}

// CareHomeByID returns ENOTFOUND if there is no such home.
func (s *OrgStore) CareHomeByID(ctx context.Context, id models.CareHomeID) (*models.CareHome, error) {
	var d careHomeDoc
	if err := s.careHomes.FindOne(ctx, bson.D{{Key: "_id", Value: string(id)}}).Decode(&d); err != nil {
		return nil, notFound("careHomes.findOne", err, "Care home not found.")
	}
	return d.model(), nil
}

// ListCareHomes lists care homes by id: all of them when practice is empty, otherwise those
// aligned with it. Returns EINVALID for a cursor this list did not return.
func (s *OrgStore) ListCareHomes(ctx context.Context, practice models.PracticeID, p models.Page) ([]*models.CareHome, string, error) {
	filter := bson.D{}
	if practice != "" {
		filter = append(filter, bson.E{Key: "practiceId", Value: string(practice)})
	}
	return listByID(ctx, s.careHomes, filter, p, func(d *careHomeDoc) string { return d.ID }, (*careHomeDoc).model)
}

// practiceExists returns ENOTFOUND unless the practice exists. Without transactions a practice
// could still be removed just after the check, but practices are never deleted.
func (s *OrgStore) practiceExists(ctx context.Context, id models.PracticeID) error {
	n, err := s.practices.CountDocuments(ctx, bson.D{{Key: "_id", Value: string(id)}})
	if err != nil {
		return wrapErr("practices.count", err)
	}
	if n == 0 {
		return models.Errorf(models.ENOTFOUND, "Practice not found.")
	}
	return nil
}

type addressDoc struct {
	Line1    string `bson:"line1"`
	Line2    string `bson:"line2,omitempty"`
	Town     string `bson:"town"`
	Postcode string `bson:"postcode"`
}

func toAddressDoc(a models.Address) addressDoc {
	return addressDoc{Line1: a.Line1, Line2: a.Line2, Town: a.Town, Postcode: a.Postcode}
}

func (d addressDoc) model() models.Address {
	return models.Address{Line1: d.Line1, Line2: d.Line2, Town: d.Town, Postcode: d.Postcode}
}
