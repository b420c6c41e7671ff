package auth

import (
	"testing"

	"careway/models"
)

func TestCanManageAndPublishSessions(t *testing.T) {
	cases := []struct {
		name             string
		a                Actor
		manage, publish  bool // for practice pr-1, clinician u2
		publishOtherClin bool
	}{
		{"clinician of the practice", Actor{UserID: "u2", Role: models.RoleClinician, PracticeID: "pr-1"}, true, true, false},
		{"clinician elsewhere", Actor{UserID: "u2", Role: models.RoleClinician, PracticeID: "pr-2"}, false, false, false},
		{"clinician without practice", Actor{UserID: "u2", Role: models.RoleClinician}, false, false, false},
		{"practice admin", Actor{UserID: "u4", Role: models.RoleAdmin, PracticeID: "pr-1"}, true, true, true},
		{"other practice admin", Actor{UserID: "u4", Role: models.RoleAdmin, PracticeID: "pr-2"}, false, false, false},
		{"partnership admin", Actor{UserID: "u5", Role: models.RoleAdmin}, true, true, true},
		{"patient", Actor{UserID: "u1", Role: models.RolePatient, PatientID: "p", PracticeID: "pr-1"}, false, false, false},
		{"care-home staff", Actor{UserID: "u3", Role: models.RoleCareHomeStaff, CareHomeID: "h", PracticeID: "pr-1"}, false, false, false},
		{"no role", Actor{UserID: "u9", PracticeID: "pr-1"}, false, false, false},
	}
	for _, c := range cases {
		if got := CanManageSessions(c.a, "pr-1") == nil; got != c.manage {
			t.Errorf("%s: manage = %v, want %v", c.name, got, c.manage)
		}
		if got := CanPublishSession(c.a, "pr-1", "u2") == nil; got != c.publish {
			t.Errorf("%s: publish own = %v, want %v", c.name, got, c.publish)
		}
		if got := CanPublishSession(c.a, "pr-1", "u-other") == nil; got != c.publishOtherClin {
			t.Errorf("%s: publish for another clinician = %v, want %v", c.name, got, c.publishOtherClin)
		}
		if err := CanManageSessions(c.a, "pr-1"); err != nil && models.ErrorCode(err) != models.EFORBIDDEN {
			t.Errorf("%s: %v, want EFORBIDDEN", c.name, err)
		}
	}
	if CanManageSessions(Actor{Role: models.RoleClinician}, "") == nil {
		t.Error("an empty practice matched a clinician without one")
	}
}
