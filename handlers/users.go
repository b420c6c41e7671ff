package handlers

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

type userRequest struct {
	Email      string            `json:"email"`
	Name       string            `json:"name"`
	Role       models.Role       `json:"role"`
	Profession string            `json:"profession"`
	PracticeID models.PracticeID `json:"practiceId"`
	CareHomeID models.CareHomeID `json:"careHomeId"`
	Password   string            `json:"password"`
}

// handleUserCreate lets an administrator create a staff account: a clinician of their practice,
// care-home staff of a home aligned with it, or another administrator. Patients register
// themselves or are registered as records (POST /patients) instead.
func (s *server) handleUserCreate(c *fiber.Ctx) error {
	var req userRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	now := s.now().UTC()
	u := &models.User{ID: models.UserID(models.NewID()), Email: models.NormalizeEmail(req.Email),
		Name: strings.TrimSpace(req.Name), Role: req.Role, Profession: req.Profession,
		PracticeID: req.PracticeID, CareHomeID: req.CareHomeID, CreatedAt: now, UpdatedAt: now}
	probs := models.ValidateName("name", u.Name)
	if !models.ValidEmail(u.Email) {
		probs.Add("email", "must be an email address such as name@example.org")
	}
	switch u.Role {
	case models.RoleClinician:
		if u.PracticeID == "" {
			probs.Add("practiceId", "is required for a clinician")
		}
		if !slices.Contains(models.Professions, u.Profession) {
			probs.Add("profession", "must be one of "+strings.Join(models.Professions, ", "))
		}
	case models.RoleCareHomeStaff:
		if u.CareHomeID == "" {
			probs.Add("careHomeId", "is required for care-home staff")
		}
	case models.RoleAdmin:
	case models.RolePatient:
		probs.Add("role", "patients register themselves; use POST /api/v1/patients for a record without an account")
	default:
		probs.Add("role", "must be clinician, carehome_staff or admin")
	}
	if u.Role != models.RoleClinician && u.Profession != "" {
		probs.Add("profession", "is only for clinicians")
	}
	if u.Role != models.RoleCareHomeStaff && u.CareHomeID != "" {
		probs.Add("careHomeId", "is only for care-home staff")
	}
	if err := auth.CheckPassword(req.Password, u.Email, u.Name); err != nil {
		probs = append(probs, fieldsOf(err)...)
	}
	if err := probs.Err(); err != nil {
		return err
	}
	ctx := c.UserContext()
	if u.Role == models.RoleCareHomeStaff {
		h, err := s.bodyCareHome(c, u.CareHomeID)
		if err != nil {
			return err
		}
		u.PracticeID = h.PracticeID // the home's practice exists: the store checked it
	}
	if err := s.canManageOrg(c, u.PracticeID); err != nil {
		return err
	}
	if u.PracticeID != "" && u.Role != models.RoleCareHomeStaff {
		if _, err := s.bodyPractice(c, u.PracticeID); err != nil {
			return err
		}
	}
	hash, err := s.hasher.Hash(ctx, req.Password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	if err := s.users.CreateUser(ctx, u); err != nil {
		if models.ErrorCode(err) == models.ECONFLICT {
			return emailTaken()
		}
		return err
	}
	if err := s.record(c, "user.create", "", string(u.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(profileOf(u))
}

// handleUserList lists the staff accounts of ?practiceId= (or ?careHomeId=) for its
// administrators. Patients' accounts are not listed here: they are patient data, reached only
// through a patient's record, where the access policy and the audit trail apply.
func (s *server) handleUserList(c *fiber.Ctx) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	f := models.UserFilter{StaffOnly: true, Role: models.Role(c.Query("role")), PracticeID: models.PracticeID(c.Query("practiceId")),
		CareHomeID: models.CareHomeID(c.Query("careHomeId"))}
	if f.Role != "" && (!f.Role.Valid() || f.Role == models.RolePatient) {
		return fieldError("role", "must be clinician, carehome_staff or admin")
	}
	practice := f.PracticeID
	if f.CareHomeID != "" {
		h, err := s.orgs.CareHomeByID(c.UserContext(), f.CareHomeID)
		if err != nil {
			return err
		}
		if practice != "" && practice != h.PracticeID {
			return fieldError("careHomeId", "is not aligned with practiceId")
		}
		practice = h.PracticeID
	}
	if err := s.canManageOrg(c, practice); err != nil {
		return err
	}
	items, next, err := s.users.ListUsers(c.UserContext(), f, page)
	if err != nil {
		return err
	}
	return c.JSON(newList(mapItems(items, profileOf), next))
}
