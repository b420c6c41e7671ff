package auth

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"careway/models"
)

// The expectations below are written out by hand from the rules in the brief (DESIGN.md,
// CLINICAL.md "Proxy access"), not derived from policy.go: a change to Can that is not mirrored
// here fails.

var allActions = []Action{ActReadPatient, ActManageRegistration, ActRecordConsent, ActReadClinical,
	ActWriteObservation, ActReadPlan, ActWritePlan, ActBook, ActReadAppointments, ActCreateTriage,
	ActReadTriage, ActJoinCall, ActHandleTriage, ActManageCall, ActReadAccessLog, ActExport, ActManageAlert,
	ActReadAdjustments, ActWriteAdjustments}

// Allowed sets, as space-separated action names.
const (
	none      = ""
	self      = "patient.read patient.consent clinical.read observation.write plan.read appointment.book appointment.read triage.create triage.read call.join audit.read patient.export adjustments.read adjustments.write"
	clin      = "patient.read patient.consent clinical.read observation.write plan.read plan.write appointment.book appointment.read triage.create triage.read call.join triage.handle call.manage patient.export alert.manage adjustments.read adjustments.write" // not audit.read: least privilege
	admin     = "patient.read patient.registration patient.consent appointment.book appointment.read audit.read adjustments.read adjustments.write"
	accept    = "patient.read patient.registration" // a practice admin, for a patient asking to join
	staffBook = "patient.read appointment.book appointment.read triage.create triage.read adjustments.read adjustments.write"
	staffObs  = "patient.read clinical.read observation.write"
	staffPlan = "patient.read plan.read"
	staffCall = "patient.read call.join"
	staffAll  = "patient.read clinical.read observation.write plan.read appointment.book appointment.read triage.create triage.read call.join adjustments.read adjustments.write"
)

var policyNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

var policyActors = []struct {
	name  string
	actor Actor
}{
	{"patient", Actor{UserID: "u1", Role: models.RolePatient, PatientID: "p-own", PracticeID: "pr-1"}},
	{"clinician", Actor{UserID: "u2", Role: models.RoleClinician, PracticeID: "pr-1"}},
	{"staff", Actor{UserID: "u3", Role: models.RoleCareHomeStaff, CareHomeID: "ch-1", PracticeID: "pr-1"}},
	{"practice admin", Actor{UserID: "u4", Role: models.RoleAdmin, PracticeID: "pr-1"}},
	{"partnership admin", Actor{UserID: "u5", Role: models.RoleAdmin}},
	{"patient without patient id", Actor{UserID: "u6", Role: models.RolePatient}},
	{"clinician without practice", Actor{UserID: "u7", Role: models.RoleClinician}},
	{"staff without home", Actor{UserID: "u8", Role: models.RoleCareHomeStaff}},
	{"unknown role", Actor{UserID: "u9", Role: "auditor", PracticeID: "pr-1", CareHomeID: "ch-1", PatientID: "p-own"}},
	{"no role", Actor{UserID: "u10", PracticeID: "pr-1", CareHomeID: "ch-1", PatientID: "p-own"}},
}

func consent(home models.CareHomeID, from, until time.Duration, scopes ...models.ProxyScope) *models.ProxyConsent {
	c := &models.ProxyConsent{CareHomeID: home, Scopes: scopes, Basis: models.BasisPatientConsent, From: policyNow.Add(from)}
	if until != 0 {
		u := policyNow.Add(until)
		c.Until = &u
	}
	return c
}

func resident(home models.CareHomeID, practice models.PracticeID, c *models.ProxyConsent) *models.Patient {
	return &models.Patient{ID: "p-res", Name: "Secret Name", NHSNumber: "9990000018", PracticeID: practice, CareHomeID: home, Proxy: c}
}

const day = 24 * time.Hour

var (
	book, obs, plan, call = models.ScopeBookAppointments, models.ScopeRecordObservations, models.ScopeViewPlan, models.ScopeJoinCalls
	everyScope            = []models.ProxyScope{book, obs, plan, call}
)

// policyMatrix: one row per relationship, one column per actor in policyActors order.
var policyMatrix = []struct {
	relation string
	patient  *models.Patient
	allowed  [10]string
}{
	{"own record", &models.Patient{ID: "p-own", Name: "Secret Name", PracticeID: "pr-1"},
		[10]string{self, clin, none, admin, admin, none, none, none, none, none}},
	{"other patient, same practice", &models.Patient{ID: "p-b", Name: "Secret Name", PracticeID: "pr-1"},
		[10]string{none, clin, none, admin, admin, none, none, none, none, none}},
	{"patient of another practice", &models.Patient{ID: "p-c", Name: "Secret Name", PracticeID: "pr-2"},
		[10]string{none, none, none, none, admin, none, none, none, none, none}},
	{"unregistered patient", &models.Patient{ID: "p-u", Name: "Secret Name"},
		[10]string{none, none, none, none, admin, none, none, none, none, none}},
	{"self-registered, asked to join this practice", &models.Patient{ID: "p-req", Name: "Secret Name", RequestedPracticeID: "pr-1"},
		[10]string{none, none, none, accept, admin, none, none, none, none, none}},
	{"self-registered, asked to join another practice", &models.Patient{ID: "p-req2", Name: "Secret Name", RequestedPracticeID: "pr-2"},
		[10]string{none, none, none, none, admin, none, none, none, none, none}},
	{"registered elsewhere, stale request for this practice", &models.Patient{ID: "p-req3", Name: "Secret Name", PracticeID: "pr-2", RequestedPracticeID: "pr-1"},
		[10]string{none, none, none, none, admin, none, none, none, none, none}},
	{"resident, book_appointments", resident("ch-1", "pr-1", consent("ch-1", -day, 0, book)),
		[10]string{none, clin, staffBook, admin, admin, none, none, none, none, none}},
	{"resident, record_observations", resident("ch-1", "pr-1", consent("ch-1", -day, 0, obs)),
		[10]string{none, clin, staffObs, admin, admin, none, none, none, none, none}},
	{"resident, view_plan", resident("ch-1", "pr-1", consent("ch-1", -day, 0, plan)),
		[10]string{none, clin, staffPlan, admin, admin, none, none, none, none, none}},
	{"resident, join_calls", resident("ch-1", "pr-1", consent("ch-1", -day, 0, call)),
		[10]string{none, clin, staffCall, admin, admin, none, none, none, none, none}},
	{"resident, every scope", resident("ch-1", "pr-1", consent("ch-1", -day, day, everyScope...)),
		[10]string{none, clin, staffAll, admin, admin, none, none, none, none, none}},
	{"resident, consent starts now", resident("ch-1", "pr-1", consent("ch-1", 0, 0, everyScope...)),
		[10]string{none, clin, staffAll, admin, admin, none, none, none, none, none}},
	{"resident, consent expired", resident("ch-1", "pr-1", consent("ch-1", -2*day, -time.Hour, everyScope...)),
		[10]string{none, clin, none, admin, admin, none, none, none, none, none}},
	{"resident, consent ends in a second", resident("ch-1", "pr-1", consent("ch-1", -day, time.Second, everyScope...)),
		[10]string{none, clin, staffAll, admin, admin, none, none, none, none, none}},
	{"resident, consent until exactly now", resident("ch-1", "pr-1", &models.ProxyConsent{CareHomeID: "ch-1", Scopes: everyScope, From: policyNow.Add(-day), Until: &policyNow}),
		[10]string{none, clin, none, admin, admin, none, none, none, none, none}},
	{"resident, consent not yet started", resident("ch-1", "pr-1", consent("ch-1", time.Hour, 0, everyScope...)),
		[10]string{none, clin, none, admin, admin, none, none, none, none, none}},
	{"resident, consent names another home", resident("ch-1", "pr-1", consent("ch-2", -day, 0, everyScope...)),
		[10]string{none, clin, none, admin, admin, none, none, none, none, none}},
	{"resident, no consent", resident("ch-1", "pr-1", nil),
		[10]string{none, clin, none, admin, admin, none, none, none, none, none}},
	{"resident of another home", resident("ch-2", "pr-1", consent("ch-2", -day, 0, everyScope...)),
		[10]string{none, clin, none, admin, admin, none, none, none, none, none}},
	{"resident of another practice's home", resident("ch-3", "pr-2", consent("ch-3", -day, 0, everyScope...)),
		[10]string{none, none, none, none, admin, none, none, none, none, none}},
}

func TestCanMatrix(t *testing.T) {
	if len(policyActors) != len(policyMatrix[0].allowed) {
		t.Fatalf("%d actors but %d matrix columns", len(policyActors), len(policyMatrix[0].allowed))
	}
	for _, row := range policyMatrix {
		for col, a := range policyActors {
			t.Run(row.relation+"/"+a.name, func(t *testing.T) {
				allowed := strings.Fields(row.allowed[col])
				for _, act := range allActions {
					want := contains(allowed, string(act))
					err := Can(a.actor, act, row.patient, policyNow)
					checkDecision(t, fmt.Sprintf("Can(%s)", act), err, want)
				}
			})
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func checkDecision(t *testing.T, what string, err error, wantAllowed bool) {
	t.Helper()
	switch {
	case wantAllowed && err != nil:
		t.Errorf("%s = %v, want allowed", what, err)
	case !wantAllowed && models.ErrorCode(err) != models.EFORBIDDEN:
		t.Errorf("%s = %v, want EFORBIDDEN", what, err)
	case err != nil && (strings.Contains(err.Error(), "Secret Name") || strings.Contains(err.Error(), "9990000018")):
		t.Errorf("%s: message %q reveals patient data", what, err)
	}
}

func TestCanRefusesUnknownActionAndNilPatient(t *testing.T) {
	own := &models.Patient{ID: "p-own", PracticeID: "pr-1"}
	for _, a := range policyActors {
		t.Run(a.name, func(t *testing.T) {
			checkDecision(t, "unknown action", Can(a.actor, "patient.delete", own, policyNow), false)
			checkDecision(t, "empty action", Can(a.actor, "", own, policyNow), false)
			for _, act := range allActions {
				checkDecision(t, fmt.Sprintf("Can(%s, nil patient)", act), Can(a.actor, act, nil, policyNow), false)
			}
		})
	}
}

func TestCanManageOrg(t *testing.T) {
	tests := []struct {
		actor    string
		practice models.PracticeID
		want     bool
	}{
		{"partnership admin", "pr-1", true},
		{"partnership admin", "pr-2", true},
		{"partnership admin", "", true},
		{"practice admin", "pr-1", true},
		{"practice admin", "pr-2", false},
		{"practice admin", "", false},
		{"clinician", "pr-1", false},
		{"staff", "pr-1", false},
		{"patient", "pr-1", false},
		{"unknown role", "pr-1", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%q", tt.actor, tt.practice), func(t *testing.T) {
			checkDecision(t, "CanManageOrg", CanManageOrg(actorNamed(t, tt.actor), tt.practice), tt.want)
		})
	}
}

func TestCanListCareHome(t *testing.T) {
	own := &models.CareHome{ID: "ch-1", PracticeID: "pr-1"}
	otherSamePractice := &models.CareHome{ID: "ch-2", PracticeID: "pr-1"}
	otherPractice := &models.CareHome{ID: "ch-3", PracticeID: "pr-2"}
	tests := []struct {
		actor string
		home  *models.CareHome
		want  bool
	}{
		{"staff", own, true},
		{"staff", otherSamePractice, false},
		{"staff without home", &models.CareHome{PracticeID: "pr-1"}, false},
		{"clinician", own, true},
		{"clinician", otherSamePractice, true},
		{"clinician", otherPractice, false},
		{"clinician without practice", &models.CareHome{ID: "ch-4"}, false},
		{"practice admin", own, true},
		{"practice admin", otherPractice, false},
		{"partnership admin", otherPractice, true},
		{"patient", own, false},
		{"unknown role", own, false},
		{"partnership admin", nil, false},
	}
	for _, tt := range tests {
		name := "nil"
		if tt.home != nil {
			name = string(tt.home.ID)
		}
		t.Run(tt.actor+"/"+name, func(t *testing.T) {
			checkDecision(t, "CanListCareHome", CanListCareHome(actorNamed(t, tt.actor), tt.home), tt.want)
		})
	}
}

func TestCanListPracticeCareHomes(t *testing.T) {
	tests := []struct {
		actor    string
		practice models.PracticeID
		want     bool
	}{
		{"clinician", "pr-1", true},
		{"clinician", "pr-2", false},
		{"clinician", "", false},
		{"clinician without practice", "", false},
		{"practice admin", "pr-1", true},
		{"practice admin", "pr-2", false},
		{"practice admin", "", false},
		{"partnership admin", "", true},
		{"partnership admin", "pr-2", true},
		{"staff", "pr-1", false},
		{"patient", "pr-1", false},
		{"unknown role", "pr-1", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%q", tt.actor, tt.practice), func(t *testing.T) {
			checkDecision(t, "CanListPracticeCareHomes", CanListPracticeCareHomes(actorNamed(t, tt.actor), tt.practice), tt.want)
		})
	}
}

func TestCanListPracticeAlerts(t *testing.T) {
	tests := []struct {
		actor    string
		practice models.PracticeID
		want     bool
	}{
		{"clinician", "pr-1", true},
		{"clinician", "pr-2", false},
		{"clinician", "", false},
		{"clinician without practice", "", false},
		{"practice admin", "pr-1", false},
		{"partnership admin", "pr-1", false},
		{"staff", "pr-1", false},
		{"patient", "pr-1", false},
		{"unknown role", "pr-1", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%q", tt.actor, tt.practice), func(t *testing.T) {
			checkDecision(t, "CanListPracticeAlerts", CanListPracticeAlerts(actorNamed(t, tt.actor), tt.practice), tt.want)
		})
	}
}

func actorNamed(t *testing.T, name string) Actor {
	t.Helper()
	for _, a := range policyActors {
		if a.name == name {
			return a.actor
		}
	}
	t.Fatalf("no actor %q", name)
	return Actor{}
}

func TestActorFromClaims(t *testing.T) {
	c := &Claims{UserID: "u1", Role: models.RoleCareHomeStaff, PatientID: "p1", PracticeID: "pr-1", CareHomeID: "ch-1", ID: "j"}
	want := Actor{UserID: "u1", Role: models.RoleCareHomeStaff, PatientID: "p1", PracticeID: "pr-1", CareHomeID: "ch-1"}
	if got := ActorFromClaims(c); got != want {
		t.Errorf("ActorFromClaims = %+v, want %+v", got, want)
	}
	if got := ActorFromClaims(nil); got != (Actor{}) {
		t.Errorf("ActorFromClaims(nil) = %+v, want the zero Actor", got)
	}
}

func TestCanWorkTriageQueue(t *testing.T) {
	tests := []struct {
		actor    string
		practice models.PracticeID
		want     bool
	}{
		{"clinician", "pr-1", true},
		{"clinician", "pr-2", false},
		{"clinician", "", false},
		{"clinician without practice", "", false},
		{"practice admin", "pr-1", false},
		{"partnership admin", "pr-1", false},
		{"staff", "pr-1", false},
		{"patient", "pr-1", false},
		{"unknown role", "pr-1", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%q", tt.actor, tt.practice), func(t *testing.T) {
			checkDecision(t, "CanWorkTriageQueue", CanWorkTriageQueue(actorNamed(t, tt.actor), tt.practice), tt.want)
		})
	}
}
