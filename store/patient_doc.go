package store

import (
	"time"

	"careway/models"
)

// patientDoc is the stored form of a models.Patient.
type patientDoc struct {
	ID          string                  `bson:"_id"`
	NHSKey      string                  `bson:"nhsKey"` // see PatientStore
	NHSNumber   string                  `bson:"nhsNumber,omitempty"`
	ClaimedNHS  string                  `bson:"claimedNhsNumber,omitempty"`
	Name        string                  `bson:"name"`
	DateOfBirth string                  `bson:"dateOfBirth"`
	Sex         string                  `bson:"sex,omitempty"`
	PracticeID  string                  `bson:"practiceId,omitempty"`
	Requested   string                  `bson:"requestedPracticeId,omitempty"`
	CareHomeID  string                  `bson:"careHomeId,omitempty"`
	Proxy       *proxyDoc               `bson:"proxyConsent,omitempty"`
	Adjustments *recordedAdjustmentsDoc `bson:"adjustments,omitempty"`
	CreatedAt   time.Time               `bson:"createdAt"`
	UpdatedAt   time.Time               `bson:"updatedAt"`
}

// proxyDoc is the stored form of a models.ProxyConsent.
type proxyDoc struct {
	CareHomeID string     `bson:"careHomeId"`
	Scopes     []string   `bson:"scopes"`
	Basis      string     `bson:"basis"`
	From       time.Time  `bson:"from"`
	Until      *time.Time `bson:"until,omitempty"`
	RecordedBy string     `bson:"recordedBy"`
	RecordedAt time.Time  `bson:"recordedAt"`
}

func toPatientDoc(p *models.Patient) *patientDoc {
	d := &patientDoc{
		ID:          string(p.ID),
		NHSKey:      nhsKey(p.ID, p.NHSNumber),
		NHSNumber:   p.NHSNumber,
		ClaimedNHS:  p.ClaimedNHSNumber,
		Requested:   string(p.RequestedPracticeID),
		Name:        p.Name,
		DateOfBirth: p.DateOfBirth,
		Sex:         p.Sex,
		PracticeID:  string(p.PracticeID),
		CareHomeID:  string(p.CareHomeID),
		CreatedAt:   p.CreatedAt.UTC(),
		UpdatedAt:   p.UpdatedAt.UTC(),
	}
	if p.Proxy != nil {
		d.Proxy = toProxyDoc(p.Proxy)
	}
	if p.Adjustments != nil {
		d.Adjustments = toRecordedAdjustmentsDoc(p.Adjustments)
	}
	return d
}

func (d *patientDoc) model() *models.Patient {
	p := &models.Patient{
		ID:                  models.PatientID(d.ID),
		NHSNumber:           d.NHSNumber,
		ClaimedNHSNumber:    d.ClaimedNHS,
		RequestedPracticeID: models.PracticeID(d.Requested),
		Name:                d.Name,
		DateOfBirth:         d.DateOfBirth,
		Sex:                 d.Sex,
		PracticeID:          models.PracticeID(d.PracticeID),
		CareHomeID:          models.CareHomeID(d.CareHomeID),
		CreatedAt:           d.CreatedAt,
		UpdatedAt:           d.UpdatedAt,
	}
	if d.Proxy != nil {
		p.Proxy = d.Proxy.model()
	}
	if d.Adjustments != nil {
		p.Adjustments = d.Adjustments.model()
	}
	return p
}

func toProxyDoc(c *models.ProxyConsent) *proxyDoc {
	d := &proxyDoc{
		CareHomeID: string(c.CareHomeID),
		Scopes:     make([]string, len(c.Scopes)),
		Basis:      c.Basis,
		From:       c.From.UTC(),
		RecordedBy: string(c.RecordedBy),
		RecordedAt: c.RecordedAt.UTC(),
	}
	for i, s := range c.Scopes {
		d.Scopes[i] = string(s)
	}
	if c.Until != nil {
		u := c.Until.UTC()
		d.Until = &u
	}
	return d
}

func (d *proxyDoc) model() *models.ProxyConsent {
	c := &models.ProxyConsent{
		CareHomeID: models.CareHomeID(d.CareHomeID),
		Scopes:     make([]models.ProxyScope, len(d.Scopes)),
		Basis:      d.Basis,
		From:       d.From,
		Until:      d.Until,
		RecordedBy: models.UserID(d.RecordedBy),
		RecordedAt: d.RecordedAt,
	}
	for i, s := range d.Scopes {
		c.Scopes[i] = models.ProxyScope(s)
	}
	return c
}

// recordedAdjustmentsDoc is the stored form of a patient's models.RecordedAdjustments.
type recordedAdjustmentsDoc struct {
	Needs     adjustmentsDoc `bson:"needs"`
	Version   int            `bson:"version"`
	UpdatedBy string         `bson:"updatedBy,omitempty"`
	UpdatedAt time.Time      `bson:"updatedAt"`
}

func toRecordedAdjustmentsDoc(r *models.RecordedAdjustments) *recordedAdjustmentsDoc {
	return &recordedAdjustmentsDoc{Needs: adjustmentsDoc(r.Adjustments), Version: r.Version, UpdatedBy: string(r.UpdatedBy), UpdatedAt: r.UpdatedAt.UTC()}
}

func (d *recordedAdjustmentsDoc) model() *models.RecordedAdjustments {
	return &models.RecordedAdjustments{Adjustments: models.Adjustments(d.Needs), Version: d.Version, UpdatedBy: models.UserID(d.UpdatedBy), UpdatedAt: d.UpdatedAt.UTC()}
}
