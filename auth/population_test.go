package auth

import (
	"testing"

	"careway/models"
)

func TestCanViewPopulation(t *testing.T) {
	// Written out by hand: only a clinician of the practice itself.
	tests := []struct {
		actor    string
		practice string
		want     bool
	}{
		{"clinician", "pr-1", true},
		{"clinician", "pr-2", false},
		{"clinician", "", false},
		{"clinician without practice", "pr-1", false},
		{"clinician without practice", "", false},
		{"patient", "pr-1", false},
		{"staff", "pr-1", false},
		{"practice admin", "pr-1", false},
		{"partnership admin", "pr-1", false},
		{"unknown role", "pr-1", false},
		{"no role", "pr-1", false},
	}
	for _, tt := range tests {
		err := CanViewPopulation(actorNamed(t, tt.actor), models.PracticeID(tt.practice))
		checkDecision(t, "CanViewPopulation("+tt.actor+", "+tt.practice+")", err, tt.want)
	}
}
