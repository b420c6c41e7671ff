package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

type careHomeRequest struct {
	Name       string            `json:"name"`
	Address    models.Address    `json:"address"`
	PracticeID models.PracticeID `json:"practiceId"`
}

// handleCareHomeCreate adds a care home aligned with a practice (administrators of that
// practice).
func (s *server) handleCareHomeCreate(c *fiber.Ctx) error {
	var req careHomeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	h := &models.CareHome{ID: models.CareHomeID(models.NewID()), Name: strings.TrimSpace(req.Name),
		Address: req.Address, PracticeID: req.PracticeID, CreatedAt: s.now().UTC()}
	if err := h.Validate(); err != nil {
		return err
	}
	if err := s.canManageOrg(c, h.PracticeID); err != nil {
		return err
	}
	if err := s.orgs.CreateCareHome(c.UserContext(), h); err != nil {
		if models.ErrorCode(err) == models.ENOTFOUND { // the store checks that the practice exists
			return fieldError("practiceId", "no practice has this id")
		}
		return err
	}
	if err := s.record(c, "carehome.create", "", string(h.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(h)
}

// handleCareHomeList lists the care homes aligned with ?practiceId= (administrators and
// clinicians of that practice; partnership administrators may omit it to see all).
func (s *server) handleCareHomeList(c *fiber.Ctx) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	practice := models.PracticeID(c.Query("practiceId"))
	if err := s.refusalAudited(c, "carehome.list", "", string(practice), auth.CanListPracticeCareHomes(actorOf(c), practice)); err != nil {
		return err
	}
	items, next, err := s.orgs.ListCareHomes(c.UserContext(), practice, page)
	if err != nil {
		return err
	}
	return c.JSON(newList(items, next))
}

// careHomeFor loads the home named by :careHomeId and asks the policy whether the caller may see
// it and its residents.
func (s *server) careHomeFor(c *fiber.Ctx) (*models.CareHome, error) {
	h, err := s.orgs.CareHomeByID(c.UserContext(), models.CareHomeID(c.Params("careHomeId")))
	if err != nil {
		return nil, err
	}
	if err := s.refusalAudited(c, "carehome.read", "", string(h.ID), auth.CanListCareHome(actorOf(c), h)); err != nil {
		return nil, err
	}
	return h, nil
}

// handleCareHomeGet returns one care home.
func (s *server) handleCareHomeGet(c *fiber.Ctx) error {
	h, err := s.careHomeFor(c)
	if err != nil {
		return err
	}
	return c.JSON(h)
}

// resident is one line of a care home's resident list.
type resident struct {
	PatientID   models.PatientID    `json:"patientId"`
	Name        string              `json:"name"`
	DateOfBirth string              `json:"dateOfBirth"`
	NHSNumber   string              `json:"nhsNumber,omitempty"`
	ProxyScopes []models.ProxyScope `json:"proxyScopes"` // what the home's staff may do now
}

// handleResidentList lists a home's residents. Staff see the residents whose recorded consent
// lets them act for them now, with the scopes they hold; clinicians of the home's practice see
// every resident. Each resident shown is an access to their record, and is audited.
func (s *server) handleResidentList(c *fiber.Ctx) error {
	h, err := s.careHomeFor(c)
	if err != nil {
		return err
	}
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	pats, next, err := s.patients.ListPatients(c.UserContext(), models.PatientFilter{CareHomeID: h.ID}, page)
	if err != nil {
		return err
	}
	if pats, err = s.listed(c, pats, string(h.ID)); err != nil {
		return err
	}
	now := s.now()
	return c.JSON(newList(mapItems(pats, func(p *models.Patient) resident {
		r := resident{PatientID: p.ID, Name: p.Name, DateOfBirth: p.DateOfBirth, NHSNumber: p.NHSNumber, ProxyScopes: []models.ProxyScope{}}
		for _, sc := range models.AllProxyScopes {
			if p.Proxy.Allows(h.ID, sc, now) {
				r.ProxyScopes = append(r.ProxyScopes, sc)
			}
		}
		return r
	}), next))
}
