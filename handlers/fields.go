package handlers

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"careway/models"
	"careway/models/clinical"
)

// Helpers for the fields that several request bodies share. Each turns a bad or unknown value
// into an EINVALID (or ECONFLICT) error that names the field, the way decode does for JSON.

// nhsNumberField parses an optional NHS number from a body: "" when absent, the ten digits when
// valid, and a problem added under field otherwise.
func nhsNumberField(raw, field string, probs *models.Problems) string {
	if raw == "" {
		return ""
	}
	digits, ok := clinical.ParseNHSNumber(raw)
	if !ok {
		probs.Add(field, "is not a valid NHS number (10 digits with a correct check digit)")
	}
	return digits
}

// bodyPractice loads a practice named in a request body; an unknown id is the field's fault
// (400), not a missing page (404).
func (s *server) bodyPractice(c *fiber.Ctx, id models.PracticeID) (*models.Practice, error) {
	p, err := s.orgs.PracticeByID(c.UserContext(), id)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return nil, fieldError("practiceId", "no practice has this id")
	}
	return p, err
}

// bodyCareHome loads a care home named in a request body, as bodyPractice does.
func (s *server) bodyCareHome(c *fiber.Ctx, id models.CareHomeID) (*models.CareHome, error) {
	h, err := s.orgs.CareHomeByID(c.UserContext(), id)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return nil, fieldError("careHomeId", "no care home has this id")
	}
	return h, err
}

// conflictOn names field in an ECONFLICT error that names none, keeping its message; other
// errors pass as they are.
func conflictOn(err error, field, message string) error {
	var me *models.Error
	if models.ErrorCode(err) != models.ECONFLICT || (errors.As(err, &me) && len(me.Fields) > 0) {
		return err // not a conflict, or one that names its own field already
	}
	return &models.Error{Code: models.ECONFLICT, Message: models.ErrorMessage(err),
		Fields: []models.FieldError{{Field: field, Message: message}}}
}

// requiredText trims raw and returns it, or a 400 naming field when it is empty (the message
// says what the text is for) or longer than max characters.
func requiredText(field, raw string, max int, whatFor string) (string, error) {
	text := strings.TrimSpace(raw)
	switch {
	case text == "":
		return "", fieldError(field, "is required: "+whatFor)
	case len([]rune(text)) > max:
		return "", fieldError(field, fmt.Sprintf("must be at most %d characters", max))
	}
	return text, nil
}
