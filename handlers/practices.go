package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"careway/auth"
	"careway/models"
)

type practiceRequest struct {
	Name    string `json:"name"`
	ODSCode string `json:"odsCode"`
	Phone   string `json:"phone"`
}

// handlePracticeCreate lets a partnership-wide administrator add a practice.
func (s *server) handlePracticeCreate(c *fiber.Ctx) error {
	var req practiceRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	p := &models.Practice{ID: models.PracticeID(models.NewID()), Name: strings.TrimSpace(req.Name),
		ODSCode: strings.TrimSpace(req.ODSCode), Phone: strings.TrimSpace(req.Phone), CreatedAt: s.now().UTC()}
	if err := p.Validate(); err != nil {
		return err
	}
	if err := s.canManageOrg(c, ""); err != nil { // "": the partnership itself
		return err
	}
	if err := s.orgs.CreatePractice(c.UserContext(), p); err != nil {
		return err
	}
	if err := s.record(c, "practice.create", "", string(p.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

// handlePracticeList lists practices: directory information any signed-in user may see.
func (s *server) handlePracticeList(c *fiber.Ctx) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	items, next, err := s.orgs.ListPractices(c.UserContext(), page)
	if err != nil {
		return err
	}
	return c.JSON(newList(items, next))
}

// handlePracticeGet returns one practice.
func (s *server) handlePracticeGet(c *fiber.Ctx) error {
	p, err := s.orgs.PracticeByID(c.UserContext(), models.PracticeID(c.Params("practiceId")))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

type siteRequest struct {
	Name           string         `json:"name"`
	Address        models.Address `json:"address"`
	StepFreeAccess bool           `json:"stepFreeAccess"`
	HearingLoop    bool           `json:"hearingLoop"`
	Parking        bool           `json:"parking"`
}

// handleSiteCreate adds a site to a practice (administrators of that practice).
func (s *server) handleSiteCreate(c *fiber.Ctx) error {
	practiceID := models.PracticeID(utils.CopyString(c.Params("practiceId")))
	var req siteRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	site := &models.Site{ID: models.SiteID(models.NewID()), PracticeID: practiceID, Name: strings.TrimSpace(req.Name),
		Address: req.Address, StepFreeAccess: req.StepFreeAccess, HearingLoop: req.HearingLoop,
		Parking: req.Parking, CreatedAt: s.now().UTC()}
	if err := site.Validate(); err != nil {
		return err
	}
	if err := s.canManageOrg(c, practiceID); err != nil {
		return err
	}
	if err := s.orgs.CreateSite(c.UserContext(), site); err != nil { // ENOTFOUND: no such practice
		return err
	}
	if err := s.record(c, "site.create", "", string(site.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(site)
}

// handleSiteList lists a practice's sites with their access features.
func (s *server) handleSiteList(c *fiber.Ctx) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	practiceID := models.PracticeID(c.Params("practiceId"))
	if _, err := s.orgs.PracticeByID(c.UserContext(), practiceID); err != nil {
		return err
	}
	items, next, err := s.orgs.ListSites(c.UserContext(), practiceID, page)
	if err != nil {
		return err
	}
	return c.JSON(newList(items, next))
}

// canManageOrg asks the policy whether the caller administers the practice, auditing a refusal.
func (s *server) canManageOrg(c *fiber.Ctx, practice models.PracticeID) error {
	return s.refusalAudited(c, "org.manage", "", string(practice), auth.CanManageOrg(actorOf(c), practice))
}
