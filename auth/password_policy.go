package auth

import (
	_ "embed"
	"strings"
	"unicode"
	"unicode/utf8"

	"careway/models"
)

// Password length limits, counted in Unicode code points (NIST SP 800-63B and the NCSC favour
// length over composition rules). The upper limit only bounds the hashing input; it is far above
// the 64 characters every password manager needs.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 128
)

// minPersonalLen is the shortest email local part or name that a password may not contain:
// shorter fragments ("jo", "ann") turn up inside too many good passwords by chance.
const minPersonalLen = 4

//go:embed common-passwords.txt
var commonPasswordsText string

// commonPasswords holds the embedded list in lower case. It is built once at start-up and only
// read afterwards, so sharing it between goroutines is safe.
var commonPasswords = parseCommonPasswords(commonPasswordsText)

func parseCommonPasswords(text string) map[string]struct{} {
	set := make(map[string]struct{}, 1024)
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if line != "" {
			set[strings.ToLower(line)] = struct{}{}
		}
	}
	return set
}

// CheckPassword applies the password policy to a new password for the account with the given
// email and name. It returns nil if the password is acceptable, otherwise an EINVALID
// *models.Error whose one field error (field "password") says what is wrong in plain English.
// The password is refused when it has fewer than MinPasswordLen or more than MaxPasswordLen
// characters (nothing is trimmed), is on the embedded list of common passwords (compared without
// regard to case), or contains the account's email local part, a part of it, the name or one
// word of the name, where that fragment has at least 4 characters (again ignoring case).
func CheckPassword(password, email, name string) error {
	var p models.Problems
	n := utf8.RuneCountInString(password)
	lower := strings.ToLower(password)
	switch {
	case n < MinPasswordLen:
		p.Add("password", "must be at least 10 characters long")
	case n > MaxPasswordLen:
		p.Add("password", "must be at most 128 characters long")
	case isCommonPassword(lower):
		p.Add("password", "is one of the most commonly used passwords; choose another")
	case containsAny(lower, emailFragments(email)):
		p.Add("password", "must not contain your email address; choose another")
	case containsAny(lower, nameFragments(name)):
		p.Add("password", "must not contain your name; choose another")
	}
	return p.Err()
}

func isCommonPassword(lower string) bool {
	_, ok := commonPasswords[lower]
	return ok
}

// emailFragments returns the local part of the address and, for "jane.smith+nhs", its pieces
// "jane", "smith" and "nhs", all in lower case.
func emailFragments(email string) []string {
	local := strings.ToLower(strings.TrimSpace(email))
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	return withParts(local)
}

// nameFragments returns the whole name and each of its words, in lower case.
func nameFragments(name string) []string {
	return withParts(strings.ToLower(strings.TrimSpace(name)))
}

// withParts returns s and its runs of letters and digits.
func withParts(s string) []string {
	out := []string{s}
	parts := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(parts) > 1 {
		out = append(out, parts...)
	}
	return out
}

// containsAny reports whether lower contains a fragment of at least minPersonalLen characters.
func containsAny(lower string, fragments []string) bool {
	for _, f := range fragments {
		if utf8.RuneCountInString(f) >= minPersonalLen && strings.Contains(lower, f) {
			return true
		}
	}
	return false
}
