package handlers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"careway/models"
)

// person is a signed-in user of the test world with a valid access token.
type person struct {
	user  *models.User
	token string
}

// world is the cast every handler test can use: two practices (A and B), two care homes of
// practice A (H1 and H2), patients, residents and staff in each relationship the policy knows.
type world struct {
	practiceA, practiceB *models.Practice
	home1, home2         *models.CareHome

	patientA  *models.Patient // practice A, has an account (patientA user)
	patientA2 *models.Patient // practice A, another patient
	patientB  *models.Patient // practice B
	resident1 *models.Patient // home 1, consent: all scopes
	resident2 *models.Patient // home 1, consent: view_plan only
	resident3 *models.Patient // home 1, no consent
	resident4 *models.Patient // home 2, consent: all scopes

	patient                *person // of patientA
	patient2               *person // of patientA2
	clinicianA, clinicianB *person
	staff1, staff2         *person // of home 1 and home 2
	adminA, adminB         *person // practice administrators
	superAdmin             *person // partnership-wide administrator
}

var nhsSeq int

// nextNHSNumber returns a fresh valid NHS number from the 999 range.
func nextNHSNumber() string {
	for {
		nhsSeq++
		base := fmt.Sprintf("999%06d", 500000+nhsSeq)
		sum := 0
		for i := 0; i < 9; i++ {
			sum += int(base[i]-'0') * (10 - i)
		}
		check := 11 - sum%11
		if check == 11 {
			check = 0
		}
		if check != 10 {
			return fmt.Sprintf("%s%d", base, check)
		}
	}
}

func newWorld(t *testing.T, h *harness) world {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var w world
	w.practiceA = &models.Practice{ID: models.PracticeID(models.NewID()), Name: "Practice A", CreatedAt: now}
	w.practiceB = &models.Practice{ID: models.PracticeID(models.NewID()), Name: "Practice B", CreatedAt: now}
	must(h.orgs.CreatePractice(ctx, w.practiceA))
	must(h.orgs.CreatePractice(ctx, w.practiceB))
	addr := models.Address{Line1: "1 Test Street", Town: "Calderford", Postcode: "HX1 1AA"}
	w.home1 = &models.CareHome{ID: models.CareHomeID(models.NewID()), Name: "Home One", Address: addr, PracticeID: w.practiceA.ID, CreatedAt: now}
	w.home2 = &models.CareHome{ID: models.CareHomeID(models.NewID()), Name: "Home Two", Address: addr, PracticeID: w.practiceA.ID, CreatedAt: now}
	must(h.orgs.CreateCareHome(ctx, w.home1))
	must(h.orgs.CreateCareHome(ctx, w.home2))

	newPatient := func(name string, practice models.PracticeID, home models.CareHomeID, scopes ...models.ProxyScope) *models.Patient {
		p := &models.Patient{ID: models.PatientID(models.NewID()), NHSNumber: nextNHSNumber(), Name: name,
			DateOfBirth: "1950-05-05", PracticeID: practice, CareHomeID: home, CreatedAt: now, UpdatedAt: now}
		if len(scopes) > 0 {
			p.Proxy = &models.ProxyConsent{CareHomeID: home, Scopes: scopes, Basis: models.BasisPatientConsent,
				From: now.Add(-24 * time.Hour), RecordedBy: "test", RecordedAt: now}
		}
		must(h.patients.CreatePatient(ctx, p))
		return p
	}
	w.patientA = newPatient("Alice Patient", w.practiceA.ID, "")
	w.patientA2 = newPatient("Anna Other", w.practiceA.ID, "")
	w.patientB = newPatient("Bob Elsewhere", w.practiceB.ID, "")
	w.resident1 = newPatient("Rita Resident", w.practiceA.ID, w.home1.ID, models.AllProxyScopes...)
	w.resident2 = newPatient("Ron Resident", w.practiceA.ID, w.home1.ID, models.ScopeViewPlan)
	w.resident3 = newPatient("Ruth Resident", w.practiceA.ID, w.home1.ID)
	w.resident4 = newPatient("Reg Resident", w.practiceA.ID, w.home2.ID, models.AllProxyScopes...)

	newPerson := func(u models.User) *person {
		u.ID = models.UserID(models.NewID())
		u.Email = fmt.Sprintf("%s@test.careway.test", u.ID)
		u.PasswordHash = testHash
		u.CreatedAt, u.UpdatedAt = now, now
		if u.Name == "" {
			u.Name = "Test " + string(u.Role)
		}
		must(h.users.CreateUser(ctx, &u))
		tok, _, err := h.tokens.Issue(&u)
		must(err)
		return &person{user: &u, token: tok}
	}
	w.patient = newPerson(models.User{Role: models.RolePatient, PatientID: w.patientA.ID})
	w.patient2 = newPerson(models.User{Role: models.RolePatient, PatientID: w.patientA2.ID})
	w.clinicianA = newPerson(models.User{Role: models.RoleClinician, Profession: "gp", PracticeID: w.practiceA.ID, Name: "Dr A"})
	w.clinicianB = newPerson(models.User{Role: models.RoleClinician, Profession: "gp", PracticeID: w.practiceB.ID, Name: "Dr B"})
	w.staff1 = newPerson(models.User{Role: models.RoleCareHomeStaff, CareHomeID: w.home1.ID, PracticeID: w.practiceA.ID})
	w.staff2 = newPerson(models.User{Role: models.RoleCareHomeStaff, CareHomeID: w.home2.ID, PracticeID: w.practiceA.ID})
	w.adminA = newPerson(models.User{Role: models.RoleAdmin, PracticeID: w.practiceA.ID})
	w.adminB = newPerson(models.User{Role: models.RoleAdmin, PracticeID: w.practiceB.ID})
	w.superAdmin = newPerson(models.User{Role: models.RoleAdmin})
	return w
}
