package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"careway/auth"
	"careway/models"
	"careway/models/clinical"
)

// The demo data set of DESIGN.md: one practice with two sites, a care home with five residents,
// staff, and twenty patients with a spread of long-term conditions. Every id is fixed, so a
// seed interrupted half-way can be completed by the next start without creating anything twice.

const demoDomain = "@demo.careway.test"

type demoPerson struct {
	name, sex, dob string
	conditions     []models.ConditionCode
	basis          string // residents only: the basis of their proxy consent
}

// The twenty patients of the demo practice: ages and conditions spread as on a real list in a
// deprived northern English town (hypertension and type 2 diabetes most common, then asthma,
// COPD, depression and obesity).
var demoPatients = []demoPerson{
	{"Margaret Holt", "female", "1948-03-14", cc("hypertension", "type2_diabetes"), ""},
	{"David Okafor", "male", "1971-07-02", cc("hypertension"), ""},
	{"Aisha Rahman", "female", "1985-11-23", cc("asthma"), ""},
	{"Peter Walsh", "male", "1952-01-30", cc("copd", "heart_failure"), ""},
	{"Sandra Kowalski", "female", "1963-05-09", cc("type2_diabetes", "obesity"), ""},
	{"Imran Hussain", "male", "1968-09-17", cc("type2_diabetes", "hypertension"), ""},
	{"Chloe Bennett", "female", "1999-02-11", cc("depression", "anxiety"), ""},
	{"George Clarke", "male", "1940-12-05", cc("heart_failure", "hypertension"), ""},
	{"Priya Sharma", "female", "1977-04-28", cc("hypertension"), ""},
	{"Liam Doyle", "male", "1990-08-19", cc("asthma"), ""},
	{"Janet Armitage", "female", "1957-10-03", cc("copd"), ""},
	{"Mohammed Ali", "male", "1960-06-21", cc("type2_diabetes"), ""},
	{"Emma Richardson", "female", "1982-12-12", cc("depression"), ""},
	{"Tomasz Nowak", "male", "1975-03-07", cc("obesity", "hypertension"), ""},
	{"Grace Adeyemi", "female", "1969-01-25", cc("hypertension", "type2_diabetes"), ""},
	{"Kevin Marsh", "male", "1958-07-14", cc("copd", "depression"), ""},
	{"Fatima Begum", "female", "1992-09-30", cc("asthma", "anxiety"), ""},
	{"Harold Jenkins", "male", "1936-04-18", cc("hypertension", "heart_failure"), ""},
	{"Sophie Turner", "female", "2001-06-06", cc("anxiety"), ""},
	{"Ryan Fletcher", "male", "1987-11-11", cc("obesity", "depression"), ""},
}

// The five residents of the demo care home. They have no app accounts: staff act for them
// within the recorded consent, which for two rests on a best-interests decision.
var demoResidents = []demoPerson{
	{"Edith Marsden", "female", "1931-02-17", cc("heart_failure", "hypertension"), models.BasisPatientConsent},
	{"Arthur Pickles", "male", "1934-08-09", cc("copd"), models.BasisPatientConsent},
	{"Doris Whitworth", "female", "1929-11-30", cc("hypertension"), models.BasisBestInterests},
	{"Stanley Brook", "male", "1938-05-22", cc("type2_diabetes", "heart_failure"), models.BasisPatientConsent},
	{"Winifred Shaw", "female", "1933-09-14", cc("depression"), models.BasisBestInterests},
}

type demoStaff struct {
	local, name, profession string
	role                    models.Role
}

var demoStaffList = []demoStaff{
	{"gp1", "Dr Sarah Khan", "gp", models.RoleClinician},
	{"gp2", "Dr James Whitaker", "gp", models.RoleClinician},
	{"nurse1", "Helen Brooks", "nurse", models.RoleClinician},
	{"carehome1", "Mary Lister", "", models.RoleCareHomeStaff},
	{"carehome2", "Daniel Hirst", "", models.RoleCareHomeStaff},
}

func cc(codes ...string) []models.ConditionCode {
	out := make([]models.ConditionCode, len(codes))
	for i, c := range codes {
		out[i] = models.ConditionCode(c)
	}
	return out
}

// demoID makes the fixed UUID of demo entity n of a kind.
func demoID(kind byte, n int) string {
	return fmt.Sprintf("de000000-0000-4000-8000-%02x%010x", kind, n)
}

const (
	kindPractice = 1
	kindSite     = 2
	kindHome     = 3
	kindPatient  = 4
	kindUser     = 5
	kindResident = 6
	kindCond     = 7
)

// demoNHSNumber returns the n-th valid NHS number in the never-issued 999 range.
func demoNHSNumber(n int) string {
	found := 0
	for k := 100; ; k++ {
		s := fmt.Sprintf("999%06d", k)
		for d := 0; d <= 9; d++ {
			if clinical.ValidNHSNumber(fmt.Sprintf("%s%d", s, d)) {
				if found == n {
					return fmt.Sprintf("%s%d", s, d)
				}
				found++
			}
		}
	}
}

type seedParams struct {
	Users      models.UserStore
	Patients   models.PatientStore
	Orgs       models.OrgStore
	Conditions models.ConditionStore
	Hasher     *auth.Hasher
	Password   string // "" for a random one, printed
	Out        io.Writer
	Log        *slog.Logger
}

// seedDemo seeds the demo data set into an empty database. A database that already has accounts
// is left alone, unless it holds the demo practice without the demo admin, which is created
// last: then an earlier seed was interrupted and this one completes it.
func seedDemo(ctx context.Context, p seedParams) error {
	n, err := p.Users.CountUsers(ctx)
	if err != nil {
		return err
	}
	adminEmail := "admin" + demoDomain
	if n > 0 {
		_, perr := p.Orgs.PracticeByID(ctx, models.PracticeID(demoID(kindPractice, 1)))
		_, aerr := p.Users.UserByEmail(ctx, adminEmail)
		if perr != nil || aerr == nil {
			return nil
		}
	}
	password, shown := p.Password, p.Password == ""
	if shown {
		password = randomPassword()
	}
	hash, err := p.Hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	if err := seedDemoRecords(ctx, p, hash, time.Now().UTC()); err != nil {
		return err
	}
	fmt.Fprintf(p.Out, "\nDemo data seeded. Sign in as any of:\n  %s (practice administrator)\n", adminEmail)
	for _, s := range demoStaffList {
		fmt.Fprintf(p.Out, "  %s%s (%s)\n", s.local, demoDomain, s.name)
	}
	fmt.Fprintf(p.Out, "  patient1%s ... patient%d%s\n", demoDomain, len(demoPatients), demoDomain)
	if shown {
		fmt.Fprintf(p.Out, "Password for every demo account: %s\n\n", password)
	} else {
		fmt.Fprintf(p.Out, "Password for every demo account: the value of CAREWAY_DEMO_PASSWORD\n\n")
	}
	p.Log.Info("demo data seeded", "patients", len(demoPatients)+len(demoResidents))
	return nil
}

func seedDemoRecords(ctx context.Context, p seedParams, hash string, now time.Time) error {
	practice := &models.Practice{ID: models.PracticeID(demoID(kindPractice, 1)), Name: "Riverside Medical Practice",
		ODSCode: "Y99901", Phone: "01632 960001", CreatedAt: now}
	sites := []*models.Site{
		{ID: models.SiteID(demoID(kindSite, 1)), PracticeID: practice.ID, Name: "Riverside Health Centre",
			Address:        models.Address{Line1: "1 Canal Wharf", Town: "Calderford", Postcode: "HX1 2AB"},
			StepFreeAccess: true, HearingLoop: true, Parking: true, CreatedAt: now},
		{ID: models.SiteID(demoID(kindSite, 2)), PracticeID: practice.ID, Name: "Mill Street Surgery",
			Address:        models.Address{Line1: "42 Mill Street", Town: "Calderford", Postcode: "HX3 7XY"},
			StepFreeAccess: false, HearingLoop: true, Parking: false, CreatedAt: now},
	}
	home := &models.CareHome{ID: models.CareHomeID(demoID(kindHome, 1)), Name: "Hillcrest Care Home",
		Address:    models.Address{Line1: "Hillcrest Road", Town: "Calderford", Postcode: "HX2 9HQ"},
		PracticeID: practice.ID, CreatedAt: now}
	if err := ignoreConflict(p.Orgs.CreatePractice(ctx, practice)); err != nil {
		return err
	}
	for _, s := range sites {
		if err := ignoreConflict(p.Orgs.CreateSite(ctx, s)); err != nil {
			return err
		}
	}
	if err := ignoreConflict(p.Orgs.CreateCareHome(ctx, home)); err != nil {
		return err
	}
	cond := 0
	addPatient := func(id models.PatientID, person demoPerson, nhs int, homeID models.CareHomeID) error {
		pat := &models.Patient{ID: id, NHSNumber: demoNHSNumber(nhs), Name: person.name, DateOfBirth: person.dob,
			Sex: person.sex, PracticeID: practice.ID, CareHomeID: homeID, CreatedAt: now, UpdatedAt: now}
		if homeID != "" {
			pat.Proxy = &models.ProxyConsent{CareHomeID: homeID, Scopes: models.AllProxyScopes, Basis: person.basis,
				From: now.AddDate(0, -6, 0), RecordedBy: models.UserID(demoID(kindUser, 1)), RecordedAt: now}
		}
		if err := ignoreConflict(p.Patients.CreatePatient(ctx, pat)); err != nil {
			return err
		}
		for _, code := range person.conditions {
			cond++
			info := models.Conditions[code]
			c := &models.Condition{ID: demoID(kindCond, cond), PatientID: id, Code: code, SNOMED: info.SNOMED,
				Display: info.Display, Status: "active", RecordedBy: models.UserID(demoID(kindUser, 1)), RecordedAt: now}
			if err := ignoreConflict(p.Conditions.AddCondition(ctx, c)); err != nil {
				return err
			}
		}
		return nil
	}
	for i, person := range demoPatients {
		id := models.PatientID(demoID(kindPatient, i+1))
		if err := addPatient(id, person, i, ""); err != nil {
			return err
		}
		u := &models.User{ID: models.UserID(demoID(kindUser, 100+i+1)), Email: fmt.Sprintf("patient%d%s", i+1, demoDomain),
			Name: person.name, Role: models.RolePatient, PasswordHash: hash, PatientID: id, CreatedAt: now, UpdatedAt: now}
		if err := createDemoUser(ctx, p.Users, u); err != nil {
			return err
		}
	}
	for i, person := range demoResidents {
		if err := addPatient(models.PatientID(demoID(kindResident, i+1)), person, len(demoPatients)+i, home.ID); err != nil {
			return err
		}
	}
	for i, s := range demoStaffList {
		u := &models.User{ID: models.UserID(demoID(kindUser, 2+i)), Email: s.local + demoDomain, Name: s.name,
			Role: s.role, Profession: s.profession, PasswordHash: hash, PracticeID: practice.ID, CreatedAt: now, UpdatedAt: now}
		if s.role == models.RoleCareHomeStaff {
			u.CareHomeID = home.ID
		}
		if err := createDemoUser(ctx, p.Users, u); err != nil {
			return err
		}
	}
	// The administrator last: its presence marks a finished seed.
	admin := &models.User{ID: models.UserID(demoID(kindUser, 1)), Email: "admin" + demoDomain, Name: "Joanne Pearson",
		Role: models.RoleAdmin, PasswordHash: hash, PracticeID: practice.ID, CreatedAt: now, UpdatedAt: now}
	return createDemoUser(ctx, p.Users, admin)
}

// createDemoUser creates a demo account, or, when an interrupted seed created it already, gives
// it this seed's password hash: the password printed now must work for every demo account, and
// a random one from the interrupted start was never shown.
func createDemoUser(ctx context.Context, users models.UserStore, u *models.User) error {
	err := users.CreateUser(ctx, u)
	if models.ErrorCode(err) != models.ECONFLICT {
		return err
	}
	if err := users.UpdatePasswordHash(ctx, u.ID, u.PasswordHash); models.ErrorCode(err) != models.ENOTFOUND {
		return err // nil, or a real failure
	}
	return nil // the email belongs to someone else's account: leave it alone
}

func ignoreConflict(err error) error {
	if models.ErrorCode(err) == models.ECONFLICT {
		return nil
	}
	return err
}

// randomPassword makes a 16-character password without look-alike characters.
func randomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b strings.Builder
	for i := 0; i < 16; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic("careway: crypto/rand failed: " + err.Error())
		}
		b.WriteByte(alphabet[n.Int64()])
	}
	return b.String()
}
