package models

import (
	"context"
	"regexp"
	"strings"
	"time"
)

// Practice is a GP practice.
type Practice struct {
	ID        PracticeID `json:"id"`
	Name      string     `json:"name"`
	ODSCode   string     `json:"odsCode,omitempty"` // NHS organisation code, e.g. "Y12345"
	Phone     string     `json:"phone,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
}

// Address is a postal address in England.
type Address struct {
	Line1    string `json:"line1"`
	Line2    string `json:"line2,omitempty"`
	Town     string `json:"town"`
	Postcode string `json:"postcode"`
}

// Site is a building where a practice sees patients. Its access features travel into booking
// search (a patient who needs step-free access sees only sites that have it).
type Site struct {
	ID             SiteID     `json:"id"`
	PracticeID     PracticeID `json:"practiceId"`
	Name           string     `json:"name"`
	Address        Address    `json:"address"`
	StepFreeAccess bool       `json:"stepFreeAccess"`
	HearingLoop    bool       `json:"hearingLoop"`
	Parking        bool       `json:"parking"`
	CreatedAt      time.Time  `json:"createdAt"`
}

// CareHome is a residential or nursing home, aligned with one practice.
type CareHome struct {
	ID         CareHomeID `json:"id"`
	Name       string     `json:"name"`
	Address    Address    `json:"address"`
	PracticeID PracticeID `json:"practiceId"`
	CreatedAt  time.Time  `json:"createdAt"`
}

// OrgStore keeps practices, sites and care homes.
type OrgStore interface {
	// CreatePractice stores a practice. Returns ECONFLICT if the ODS code is taken.
	CreatePractice(ctx context.Context, p *Practice) error
	// PracticeByID returns ENOTFOUND if there is no such practice.
	PracticeByID(ctx context.Context, id PracticeID) (*Practice, error)
	// ListPractices lists practices by id.
	ListPractices(ctx context.Context, p Page) (items []*Practice, nextCursor string, err error)

	// CreateSite stores a site. Returns ENOTFOUND if its practice does not exist.
	CreateSite(ctx context.Context, s *Site) error
	// SiteByID returns ENOTFOUND if there is no such site.
	SiteByID(ctx context.Context, id SiteID) (*Site, error)
	// ListSites lists a practice's sites by id.
	ListSites(ctx context.Context, practice PracticeID, p Page) (items []*Site, nextCursor string, err error)

	// CreateCareHome stores a care home. Returns ENOTFOUND if its practice does not exist.
	CreateCareHome(ctx context.Context, h *CareHome) error
	// CareHomeByID returns ENOTFOUND if there is no such home.
	CareHomeByID(ctx context.Context, id CareHomeID) (*CareHome, error)
	// ListCareHomes lists care homes, all or those aligned with one practice, by id.
	ListCareHomes(ctx context.Context, practice PracticeID, p Page) (items []*CareHome, nextCursor string, err error)
}

var (
	// odsPattern matches NHS ODS organisation codes (GP practices are a letter and five
	// alphanumerics, e.g. Y12345; care homes and others vary in length).
	odsPattern = regexp.MustCompile(`^[A-Z0-9]{3,10}$`)
	// postcodePattern matches UK postcodes in their usual printed forms.
	postcodePattern = regexp.MustCompile(`^(?i)[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$`)
)

// Validate checks a practice before it is stored.
func (p *Practice) Validate() error {
	probs := ValidateName("name", p.Name)
	if p.ODSCode != "" && !odsPattern.MatchString(p.ODSCode) {
		probs.Add("odsCode", "must be an ODS code: 3 to 10 capital letters and digits, e.g. Y12345")
	}
	if len(p.Phone) > 30 {
		probs.Add("phone", "must be at most 30 characters")
	}
	return probs.Err()
}

// validate adds the problems of an address, with field names under prefix.
func (a *Address) validate(prefix string, probs *Problems) {
	if msg := checkName(a.Line1); msg != "" {
		probs.Add(prefix+".line1", msg)
	}
	if len(a.Line2) > 200 {
		probs.Add(prefix+".line2", "must be at most 200 characters")
	}
	if msg := checkName(a.Town); msg != "" {
		probs.Add(prefix+".town", msg)
	}
	if !postcodePattern.MatchString(strings.TrimSpace(a.Postcode)) {
		probs.Add(prefix+".postcode", "must be a UK postcode such as LS1 4AP")
	}
}

// Validate checks a site before it is stored.
func (s *Site) Validate() error {
	probs := ValidateName("name", s.Name)
	s.Address.validate("address", &probs)
	return probs.Err()
}

// Validate checks a care home before it is stored.
func (h *CareHome) Validate() error {
	probs := ValidateName("name", h.Name)
	h.Address.validate("address", &probs)
	if h.PracticeID == "" {
		probs.Add("practiceId", "is required: the practice the home is aligned with")
	}
	return probs.Err()
}
