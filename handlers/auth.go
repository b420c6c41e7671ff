package handlers

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

// profile is the answer of GET /api/v1/me and of registration.
type profile struct {
	ID         models.UserID     `json:"id"`
	Role       models.Role       `json:"role"`
	Name       string            `json:"name"`
	Email      string            `json:"email"`
	Profession string            `json:"profession,omitempty"`
	PatientID  models.PatientID  `json:"patientId,omitempty"`
	PracticeID models.PracticeID `json:"practiceId,omitempty"`
	CareHomeID models.CareHomeID `json:"careHomeId,omitempty"`
}

func profileOf(u *models.User) profile {
	return profile{ID: u.ID, Role: u.Role, Name: u.Name, Email: u.Email, Profession: u.Profession,
		PatientID: u.PatientID, PracticeID: u.PracticeID, CareHomeID: u.CareHomeID}
}

type registerRequest struct {
	Email       string            `json:"email"`
	Password    string            `json:"password"`
	Name        string            `json:"name"`
	DateOfBirth string            `json:"dateOfBirth"`
	NHSNumber   string            `json:"nhsNumber"`
	PracticeID  models.PracticeID `json:"practiceId"`
}

// handleRegister lets a patient create their own account and record. Nothing a registrant
// says about themselves is trusted: an NHS number (optional, Modulus 11 checked) is kept as a
// claim, outside the unique index of verified numbers, and a practice is kept as a request. The
// practice's administrators verify both when they accept the patient (PUT .../registration);
// until then the practice's clinicians cannot see the record. So nobody can take another
// person's NHS number, appear on a practice's list under it, or find out whether someone is a
// Careway patient.
func (s *server) handleRegister(c *fiber.Ctx) error {
	var req registerRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	now := s.now()
	req.Email = models.NormalizeEmail(req.Email)
	pat := &models.Patient{ID: models.PatientID(models.NewID()), Name: strings.TrimSpace(req.Name),
		DateOfBirth: req.DateOfBirth, RequestedPracticeID: req.PracticeID, CreatedAt: now, UpdatedAt: now}
	var problems models.Problems
	if !models.ValidEmail(req.Email) {
		problems.Add("email", "must be an email address such as name@example.org")
	}
	if err := auth.CheckPassword(req.Password, req.Email, pat.Name); err != nil {
		problems = append(problems, fieldsOf(err)...)
	}
	problems = append(problems, pat.ValidatePerson(now)...)
	pat.ClaimedNHSNumber = nhsNumberField(req.NHSNumber, "nhsNumber", &problems)
	if err := problems.Err(); err != nil {
		return err
	}
	ctx := c.UserContext()
	if pat.RequestedPracticeID != "" {
		if _, err := s.bodyPractice(c, pat.RequestedPracticeID); err != nil {
			return err
		}
	}
	if _, err := s.users.UserByEmail(ctx, req.Email); err == nil {
		return emailTaken()
	} else if models.ErrorCode(err) != models.ENOTFOUND {
		return err
	}
	hash, err := s.hasher.Hash(ctx, req.Password)
	if err != nil {
		return err
	}
	if err := s.patients.CreatePatient(ctx, pat); err != nil {
		return err
	}
	u := &models.User{ID: models.UserID(models.NewID()), Email: req.Email, Name: pat.Name,
		Role: models.RolePatient, PasswordHash: hash, PatientID: pat.ID, CreatedAt: now, UpdatedAt: now}
	if err := s.users.CreateUser(ctx, u); err != nil {
		// Another registration took the email between the check and here. Undo the record
		// created a moment ago, which nothing refers to yet, so no orphan record remains.
		if derr := s.patients.DeleteUnclaimedPatient(ctx, pat.ID); derr != nil {
			s.log.Error("could not undo patient record after failed registration", "patientId", string(pat.ID), "err", derr)
		}
		if models.ErrorCode(err) == models.ECONFLICT {
			return emailTaken()
		}
		return err
	}
	c.Locals(localActor, auth.Actor{UserID: u.ID, Role: u.Role, PatientID: u.PatientID})
	if err := s.record(c, "auth.register", pat.ID, string(u.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(profileOf(u))
}

func emailTaken() error {
	return &models.Error{Code: models.ECONFLICT, Message: "An account with this email already exists. Sign in, or reset the password.",
		Fields: []models.FieldError{{Field: "email", Message: "is already registered"}}}
}

// fieldsOf returns the field errors of an EINVALID error, or one general field error.
func fieldsOf(err error) models.Problems {
	if me, ok := err.(*models.Error); ok && len(me.Fields) > 0 {
		return models.Problems(me.Fields)
	}
	return models.Problems{{Field: "body", Message: models.ErrorMessage(err)}}
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type tokenResponse struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int    `json:"expiresIn"` // seconds
}

func tokensOf(p *auth.TokenPair) tokenResponse {
	return tokenResponse{AccessToken: p.AccessToken, RefreshToken: p.RefreshToken, TokenType: "Bearer",
		ExpiresIn: int(p.ExpiresIn / time.Second)}
}

// handleLogin signs a user in. Every attempt, right or wrong, is audited.
func (s *server) handleLogin(c *fiber.Ctx) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	var problems models.Problems
	if strings.TrimSpace(req.Email) == "" {
		problems.Add("email", "is required")
	}
	if req.Password == "" {
		problems.Add("password", "is required")
	}
	if err := problems.Err(); err != nil {
		return err
	}
	pair, u, err := s.auth.Login(c.UserContext(), req.Email, req.Password, s.clientAddr(c))
	if u != nil {
		c.Locals(localActor, auth.Actor{UserID: u.ID, Role: u.Role})
	}
	if err != nil {
		if aerr := s.record(c, "auth.login", "", "", models.OutcomeFailure, models.ErrorCode(err)); aerr != nil {
			return aerr
		}
		return err
	}
	if err := s.record(c, "auth.login", "", "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(tokensOf(pair))
}

type refreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

func (r refreshRequest) validate() error {
	if r.RefreshToken == "" || len(r.RefreshToken) > 128 {
		return fieldError("refreshToken", "is required and must be a refresh token issued by Careway")
	}
	return nil
}

// handleRefresh rotates a refresh token. A token presented twice revokes its family and is
// audited as a reuse: one of the two presenters stole it.
func (s *server) handleRefresh(c *fiber.Ctx) error {
	var req refreshRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	pair, uid, err := s.auth.Refresh(c.UserContext(), req.RefreshToken)
	if uid != "" {
		c.Locals(localActor, auth.Actor{UserID: uid})
	}
	if err != nil {
		if auth.IsTokenReuse(err) {
			if aerr := s.record(c, "auth.refresh_reuse", "", "", models.OutcomeDenied, "family_revoked"); aerr != nil {
				return aerr
			}
		}
		return err
	}
	return c.JSON(tokensOf(pair))
}

// handleLogout revokes the refresh token's family. The access token lapses by itself within
// its 15 minutes.
func (s *server) handleLogout(c *fiber.Ctx) error {
	var req refreshRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	if err := s.auth.Logout(c.UserContext(), req.RefreshToken, actorOf(c).UserID); err != nil {
		return err
	}
	if err := s.record(c, "auth.logout", "", "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// handleMe returns the signed-in user's profile. A patient's practice and care home come from
// their record, which the practice changes (accepting a registration, a move), not from the
// account.
func (s *server) handleMe(c *fiber.Ctx) error {
	id := actorOf(c).UserID
	now := s.now()
	prof, ok := s.profiles.get(id, now)
	if !ok {
		u, err := s.users.UserByID(c.UserContext(), id)
		if err != nil {
			if models.ErrorCode(err) == models.ENOTFOUND {
				return models.Errorf(models.EUNAUTHORIZED, "This account no longer exists.")
			}
			return err
		}
		if u.Disabled {
			return models.Errorf(models.EUNAUTHORIZED, "This account is disabled.")
		}
		prof = profileOf(u)
		if u.Role == models.RolePatient && u.PatientID != "" {
			p, err := s.patients.PatientByID(c.UserContext(), u.PatientID)
			if err != nil {
				return err
			}
			prof.PracticeID, prof.CareHomeID = p.PracticeID, p.CareHomeID
		}
		s.profiles.put(id, prof, now)
	}
	return c.JSON(prof)
}
