package models

import (
	"context"
	"net/mail"
	"strings"
	"time"
)

// Role is what kind of user an account belongs to.
type Role string

// The roles fixed by the API contract.
const (
	RolePatient       Role = "patient"
	RoleClinician     Role = "clinician"
	RoleCareHomeStaff Role = "carehome_staff"
	RoleAdmin         Role = "admin"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RolePatient, RoleClinician, RoleCareHomeStaff, RoleAdmin:
		return true
	}
	return false
}

// User is an account that can sign in. Its organisation fields depend on its role: a patient
// has PatientID only (their practice and care home are on the patient record, which the practice
// changes), a clinician a PracticeID, care-home staff a
// CareHomeID (and the practice the home is aligned with), an admin a PracticeID when it
// administers one practice or none when it administers the whole partnership.
type User struct {
	ID           UserID     `json:"id"`
	Email        string     `json:"email"` // stored normalised: see NormalizeEmail
	Name         string     `json:"name"`
	Role         Role       `json:"role"`
	Profession   string     `json:"profession,omitempty"` // for clinicians: gp, nurse, ...
	PasswordHash string     `json:"-"`
	PatientID    PatientID  `json:"patientId,omitempty"`
	PracticeID   PracticeID `json:"practiceId,omitempty"`
	CareHomeID   CareHomeID `json:"careHomeId,omitempty"`
	Disabled     bool       `json:"disabled,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
}

// Professions a clinician account may have.
var Professions = []string{"gp", "nurse", "pharmacist", "paramedic", "physiotherapist", "other"}

// NormalizeEmail returns the form in which emails are stored and compared: trimmed and lower
// case. Careway compares whole addresses case-insensitively, as users expect, though RFC 5321
// lets the local part be case-sensitive.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidEmail reports whether s is a plain address (no display name) of sensible length.
func ValidEmail(s string) bool {
	if len(s) < 3 || len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && strings.Contains(s[strings.LastIndexByte(s, '@'):], ".")
}

// UserStore keeps accounts.
type UserStore interface {
	// CreateUser stores a new user. Returns ECONFLICT if the email is taken.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns ENOTFOUND if there is no such user.
	UserByID(ctx context.Context, id UserID) (*User, error)
	// UserByEmail looks the normalised email up. Returns ENOTFOUND if there is no such user.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UpdatePasswordHash replaces a user's hash (after a parameter upgrade). Returns ENOTFOUND.
	UpdatePasswordHash(ctx context.Context, id UserID, hash string) error
	// ListUsers lists users of one practice or care home (either filter may be empty), ordered
	// by id, one page at a time.
	ListUsers(ctx context.Context, f UserFilter, p Page) (items []*User, nextCursor string, err error)
	// CountUsers returns how many accounts exist (0 on a fresh database).
	CountUsers(ctx context.Context) (int64, error)
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	StaffOnly  bool // leave out patients' accounts
	Role       Role
	PracticeID PracticeID
	CareHomeID CareHomeID
}
