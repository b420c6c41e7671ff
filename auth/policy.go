package auth

import (
	"fmt"
	"time"

	"careway/models"
)

// Actor is who is asking, as far as the access policy cares: the user, its role and the
// organisation ids that tie it to patients.
type Actor struct {
	UserID     models.UserID
	Role       models.Role
	PatientID  models.PatientID
	PracticeID models.PracticeID
	CareHomeID models.CareHomeID
}

// ActorFromClaims returns the actor described by a verified access token. A nil c gives the
// zero Actor, whom the policy refuses everything.
func ActorFromClaims(c *Claims) Actor {
	if c == nil {
		return Actor{}
	}
	return Actor{UserID: c.UserID, Role: c.Role, PatientID: c.PatientID, PracticeID: c.PracticeID, CareHomeID: c.CareHomeID}
}

// ActorOfUser returns the actor a user's account is (as its access token would say), for
// decisions made outside a request: who may receive a notification about a patient.
func ActorOfUser(u *models.User) Actor {
	return Actor{UserID: u.ID, Role: u.Role, PatientID: u.PatientID, PracticeID: u.PracticeID, CareHomeID: u.CareHomeID}
}

// Action is something done to one patient's record. The values double as audit action names.
type Action string

// The actions the policy knows. Anything else is refused.
const (
	ActReadPatient        Action = "patient.read"         // demographics and registration
	ActManageRegistration Action = "patient.registration" // change practice or care home
	ActRecordConsent      Action = "patient.consent"      // record or withdraw proxy consent
	ActReadClinical       Action = "clinical.read"        // observations, conditions, alerts
	ActWriteObservation   Action = "observation.write"    // record a reading
	ActReadPlan           Action = "plan.read"            // the self-management plan
	ActWritePlan          Action = "plan.write"           // set or change the plan
	ActBook               Action = "appointment.book"     // book, cancel or reschedule
	ActReadAppointments   Action = "appointment.read"     // list the patient's appointments
	ActCreateTriage       Action = "triage.create"        // ask for care online
	ActReadTriage         Action = "triage.read"          // see triage requests and outcomes
	ActJoinCall           Action = "call.join"            // take part in a video consultation
	ActHandleTriage       Action = "triage.handle"        // take a triage request, record its outcome
	ActManageCall         Action = "call.manage"          // create a call, invite guests to it
	ActReadAccessLog      Action = "audit.read"           // see who accessed the record
	ActExport             Action = "patient.export"       // subject access export
	ActManageAlert        Action = "alert.manage"         // take or resolve an alert about the patient
	ActReadAdjustments    Action = "adjustments.read"     // the reasonable adjustments recorded on the record
	ActWriteAdjustments   Action = "adjustments.write"    // record or change them
)

// Valid reports whether a is one of the actions above.
func (a Action) Valid() bool {
	switch a {
	case ActReadPatient, ActManageRegistration, ActRecordConsent, ActReadClinical, ActWriteObservation,
		ActReadPlan, ActWritePlan, ActBook, ActReadAppointments, ActCreateTriage, ActReadTriage,
		ActJoinCall, ActHandleTriage, ActManageCall, ActReadAccessLog, ActExport, ActManageAlert,
		ActReadAdjustments, ActWriteAdjustments:
		return true
	}
	return false
}

// Can decides whether actor a may perform act on patient p at time now. It returns nil if so,
// and otherwise an EFORBIDDEN *models.Error whose message says what the actor lacks, never
// anything about the patient. The rules:
//
//   - a patient: their own record only, every action but ActManageRegistration, ActWritePlan,
//     ActManageAlert (an alert is the practice's work list, not the patient's), ActHandleTriage
//     and ActManageCall (those are a clinician's decisions);
//   - a clinician: patients registered with the clinician's practice, every action but
//     ActManageRegistration and ActReadAccessLog (who looked at a record is for the patient and
//     the practice's administrators, who answer for information governance; least privilege);
//   - care-home staff: residents of their own home, and only within the resident's current proxy
//     consent for that home (see staffScope); never ActWritePlan, ActManageRegistration,
//     ActRecordConsent, ActHandleTriage, ActManageCall, ActReadAccessLog, ActExport or ActManageAlert;
//   - an admin: ActReadPatient, ActManageRegistration, ActRecordConsent, ActBook,
//     ActReadAppointments, ActReadAdjustments, ActWriteAdjustments and ActReadAccessLog, for patients of the admin's practice, or of any
//     practice for a partnership-wide admin (no PracticeID); never clinical data. A practice
//     admin may also ActReadPatient and ActManageRegistration for a self-registered patient
//     with no practice who asked to join theirs (to verify and accept them);
//   - any other role, an unknown action or a nil patient: refused.
func Can(a Actor, act Action, p *models.Patient, now time.Time) error {
	if !act.Valid() {
		return forbidden("This action is not known to the access policy.")
	}
	if p == nil {
		return forbidden("No patient record was given.")
	}
	switch a.Role {
	case models.RolePatient:
		if act == ActManageRegistration || act == ActWritePlan || act == ActManageAlert || act == ActHandleTriage || act == ActManageCall {
			return forbidden("Patients cannot do this themselves (%s); ask the practice.", act)
		}
		if a.PatientID == "" || a.PatientID != p.ID {
			return forbidden("Patients can only use their own record.")
		}
		return nil
	case models.RoleClinician:
		switch act {
		case ActManageRegistration:
			return forbidden("Registration is managed by practice administrators.")
		case ActReadAccessLog:
			return forbidden("A record's access log is for the patient and the practice's administrators.")
		}
		if a.PracticeID == "" || a.PracticeID != p.PracticeID {
			return forbidden("Clinicians can only act for patients registered with their own practice.")
		}
		return nil
	case models.RoleCareHomeStaff:
		return canStaff(a, act, p, now)
	case models.RoleAdmin:
		switch act {
		case ActReadPatient, ActManageRegistration, ActRecordConsent, ActBook, ActReadAppointments, ActReadAccessLog,
			ActReadAdjustments, ActWriteAdjustments: // reception records adjustments when it books
		default:
			return forbidden("Administrators cannot do this (%s); it needs a clinician or the patient.", act)
		}
		if a.PracticeID == "" || a.PracticeID == p.PracticeID {
			return nil
		}
		// A patient who registered themselves and asked to join this admin's practice: the
		// admin may read the record and accept (register) them, and nothing more until then.
		if p.PracticeID == "" && p.RequestedPracticeID == a.PracticeID && (act == ActReadPatient || act == ActManageRegistration) {
			return nil
		}
		return forbidden("Practice administrators can only act for patients of their own practice.")
	}
	return forbidden("This account's role gives no access to patient records.")
}

// staffScope returns the proxy scope care-home staff need for act. anyScope means that a current
// consent with any scope will do; ok false means staff may never do act.
func staffScope(act Action) (scope models.ProxyScope, anyScope, ok bool) {
	switch act {
	case ActReadPatient:
		return "", true, true
	case ActReadClinical, ActWriteObservation:
		return models.ScopeRecordObservations, false, true
	case ActReadPlan:
		return models.ScopeViewPlan, false, true
	case ActBook, ActReadAppointments, ActReadTriage:
		return models.ScopeBookAppointments, false, true
	case ActReadAdjustments, ActWriteAdjustments:
		// Adjustments travel with bookings, so the staff who book for a resident may see and
		// keep them up to date; with any other scope alone they may not (least privilege).
		return models.ScopeBookAppointments, false, true
	case ActCreateTriage:
		// Asking for care online is closest to booking. The safer reading: it needs an explicit
		// scope, not just any consent, and booking is the one that fits.
		return models.ScopeBookAppointments, false, true
	case ActJoinCall:
		return models.ScopeJoinCalls, false, true
	}
	return "", false, false // ActWritePlan, ActManageRegistration, ActRecordConsent, ActHandleTriage, ActManageCall, ActReadAccessLog, ActExport, ActManageAlert
}

func canStaff(a Actor, act Action, p *models.Patient, now time.Time) error {
	scope, anyScope, ok := staffScope(act)
	if !ok {
		return forbidden("Care-home staff cannot do this (%s).", act)
	}
	if a.CareHomeID == "" || a.CareHomeID != p.CareHomeID {
		return forbidden("Care-home staff can only act for residents of their own home.")
	}
	if anyScope {
		for _, s := range models.AllProxyScopes {
			if p.Proxy.Allows(a.CareHomeID, s, now) {
				return nil
			}
		}
		return forbidden("Care-home staff need the resident's current proxy consent.")
	}
	if !p.Proxy.Allows(a.CareHomeID, scope, now) {
		return forbidden("Care-home staff need the resident's current proxy consent to %s (scope %s).", scopeVerb(scope), scope)
	}
	return nil
}

func scopeVerb(s models.ProxyScope) string {
	switch s {
	case models.ScopeBookAppointments:
		return "book appointments and ask for care"
	case models.ScopeRecordObservations:
		return "record and see observations"
	case models.ScopeViewPlan:
		return "view the plan"
	case models.ScopeJoinCalls:
		return "join calls"
	}
	return string(s)
}

// CanManageOrg decides whether a may administer practice (its sites, users, care homes): a
// partnership-wide admin (no PracticeID) any practice, a practice admin only their own. An empty
// practice means the partnership itself (creating a practice): partnership-wide admins only.
// Returns nil or an EFORBIDDEN *models.Error.
func CanManageOrg(a Actor, practice models.PracticeID) error {
	if a.Role != models.RoleAdmin {
		return forbidden("Only administrators can manage practices.")
	}
	if a.PracticeID != "" && a.PracticeID != practice {
		return forbidden("Practice administrators can only manage their own practice.")
	}
	return nil
}

// CanListCareHome decides whether a may list the residents of home: its own staff, clinicians
// of the practice it is aligned with, and admins who may manage that practice (CanManageOrg).
// Returns nil or an EFORBIDDEN *models.Error (also for a nil home).
func CanListCareHome(a Actor, home *models.CareHome) error {
	if home == nil {
		return forbidden("No care home was given.")
	}
	switch a.Role {
	case models.RoleCareHomeStaff:
		if a.CareHomeID != "" && a.CareHomeID == home.ID {
			return nil
		}
		return forbidden("Care-home staff can only list the residents of their own home.")
	case models.RoleClinician:
		if a.PracticeID != "" && a.PracticeID == home.PracticeID {
			return nil
		}
		return forbidden("Clinicians can only list care homes aligned with their own practice.")
	case models.RoleAdmin:
		return CanManageOrg(a, home.PracticeID)
	}
	return forbidden("This account's role cannot list care-home residents.")
}

func forbidden(format string, args ...any) error {
	return &models.Error{Code: models.EFORBIDDEN, Message: fmt.Sprintf(format, args...)}
}

// CanListPracticeAlerts decides whether a may list the alerts raised to practice: its
// clinicians only (alerts carry clinical readings). Returns nil or an EFORBIDDEN *models.Error.
func CanListPracticeAlerts(a Actor, practice models.PracticeID) error {
	if a.Role == models.RoleClinician && a.PracticeID != "" && a.PracticeID == practice {
		return nil
	}
	return forbidden("Only clinicians of this practice can see its alerts.")
}

// CanListPracticeCareHomes decides whether a may list the care homes aligned with practice:
// clinicians of that practice and admins who may manage it (CanManageOrg; an empty practice, all
// homes, is for partnership-wide admins only). Returns nil or an EFORBIDDEN *models.Error.
func CanListPracticeCareHomes(a Actor, practice models.PracticeID) error {
	if a.Role == models.RoleClinician {
		if practice != "" && a.PracticeID == practice {
			return nil
		}
		return forbidden("Clinicians can only list the care homes of their own practice.")
	}
	return CanManageOrg(a, practice)
}

// CanManageSessions decides whether a may run a practice's booking book: publish and cancel
// sessions, record attendance, see the practice's sessions. Clinicians and administrators of
// that practice, and partnership-wide admins; nobody else. Returns nil or EFORBIDDEN.
func CanManageSessions(a Actor, practice models.PracticeID) error {
	if a.Role == models.RoleClinician {
		if practice != "" && a.PracticeID == practice {
			return nil
		}
		return forbidden("Clinicians can only manage the sessions of their own practice.")
	}
	if a.Role == models.RoleAdmin {
		return CanManageOrg(a, practice)
	}
	return forbidden("Only the practice's clinicians and administrators can manage sessions.")
}

// CanPublishSession decides whether a may publish a session of clinician at practice: an
// administrator who may manage the practice for any of its clinicians, a clinician for their
// own sessions only. Returns nil or EFORBIDDEN.
func CanPublishSession(a Actor, practice models.PracticeID, clinician models.UserID) error {
	if err := CanManageSessions(a, practice); err != nil {
		return err
	}
	if a.Role == models.RoleClinician && a.UserID != clinician {
		return forbidden("Clinicians publish their own sessions; an administrator publishes for others.")
	}
	return nil
}

// CanWorkTriageQueue decides whether a may see and work the triage queue of practice: clinicians
// of that practice only. Returns nil or an EFORBIDDEN *models.Error.
func CanWorkTriageQueue(a Actor, practice models.PracticeID) error {
	if a.Role != models.RoleClinician {
		return forbidden("Only clinicians work the triage queue.")
	}
	if practice == "" || a.PracticeID != practice {
		return forbidden("Clinicians can only work the triage queue of their own practice.")
	}
	return nil
}
