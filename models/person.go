package models

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sexes a patient record may carry (FHIR administrative gender).
var Sexes = []string{"female", "male", "other", "unknown"}

// ValidatePerson checks the personal fields of a patient record: name, date of birth and sex.
// The NHS number is checked by clinical.ValidNHSNumber, which models cannot import.
func (p *Patient) ValidatePerson(now time.Time) Problems {
	var probs Problems
	if msg := checkName(p.Name); msg != "" {
		probs.Add("name", msg)
	}
	dob, err := time.Parse(time.DateOnly, p.DateOfBirth)
	switch {
	case p.DateOfBirth == "":
		probs.Add("dateOfBirth", "is required")
	case err != nil:
		probs.Add("dateOfBirth", "must be a date written YYYY-MM-DD")
	case dob.After(now):
		probs.Add("dateOfBirth", "is in the future")
	case dob.Before(now.AddDate(-130, 0, 0)):
		probs.Add("dateOfBirth", "is more than 130 years ago")
	}
	if p.Sex != "" && !contains(Sexes, p.Sex) {
		probs.Add("sex", "must be female, male, other or unknown")
	}
	return probs
}

// checkName returns why a person's or organisation's name is unacceptable, or "".
func checkName(name string) string {
	switch n := utf8.RuneCountInString(name); {
	case strings.TrimSpace(name) == "":
		return "is required"
	case n > 200:
		return "must be at most 200 characters"
	case !utf8.ValidString(name):
		return "must be valid UTF-8 text"
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "must not contain control characters"
		}
	}
	return ""
}

// ValidateName returns a Problems entry for field when name is unacceptable.
func ValidateName(field, name string) Problems {
	var probs Problems
	if msg := checkName(name); msg != "" {
		probs.Add(field, msg)
	}
	return probs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
