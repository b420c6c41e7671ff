package clinical

import (
	"slices"
	"strings"
	"testing"
	"time"

	"careway/models"
)

func TestAssessTriage(t *testing.T) {
	flags := func(f ...models.RedFlag) []models.RedFlag { return f }
	tests := []struct {
		name     string
		in       TriageSignals
		want     models.TriagePriority
		redirect string
		advice   string // a substring of the advice
		reasons  []string
	}{
		{"nothing", TriageSignals{}, models.PriorityRoutine, "", "Your practice will reply", []string{}},
		{"each red flag", TriageSignals{RedFlags: flags(models.FlagCollapse)}, models.PriorityEmergency, "999", "Call 999 now", []string{ReasonRedFlag}},
		{"suicidal intent alone", TriageSignals{RedFlags: flags(models.FlagSuicidalIntent)}, models.PriorityEmergency, "999", "Samaritans free on 116 123", []string{ReasonRedFlag}},
		{"suicidal intent and chest pain", TriageSignals{RedFlags: flags(models.FlagChestPain, models.FlagSuicidalIntent)}, models.PriorityEmergency, "999", "option 2", []string{ReasonRedFlag}},
		{"open emergency alert", TriageSignals{OpenAlertLevel: LevelEmergency}, models.PriorityEmergency, "999", "emergency care", []string{ReasonOpenEmergency}},
		{"open red alert", TriageSignals{OpenAlertLevel: LevelRed}, models.PriorityUrgent, "", "today", []string{ReasonOpenRedAlert}},
		{"NEWS2 emergency", TriageSignals{NEWS2Level: LevelEmergency}, models.PriorityEmergency, "999", "emergency care", []string{ReasonNEWS2Emergency}},
		{"NEWS2 red", TriageSignals{NEWS2Level: LevelRed}, models.PriorityUrgent, "", "today", []string{ReasonNEWS2Red}},
		{"NEWS2 amber", TriageSignals{NEWS2Level: LevelAmber}, models.PrioritySoon, "", "reply", []string{ReasonNEWS2Amber}},
		{"NEWS2 normal", TriageSignals{NEWS2Level: LevelNormal}, models.PriorityRoutine, "", "reply", []string{}},
		{"opened by alert", TriageSignals{Source: models.SourceAlert}, models.PriorityUrgent, "", "today", []string{ReasonFromAlert}},
		{"highest wins, all reasons kept", TriageSignals{RedFlags: flags(models.FlagAnaphylaxis), OpenAlertLevel: LevelRed, NEWS2Level: LevelAmber},
			models.PriorityEmergency, "999", "Call 999", []string{ReasonRedFlag, ReasonOpenRedAlert, ReasonNEWS2Amber}},
		{"amber reading never lowers a red alert", TriageSignals{OpenAlertLevel: LevelRed, NEWS2Level: LevelAmber}, models.PriorityUrgent, "", "today",
			[]string{ReasonOpenRedAlert, ReasonNEWS2Amber}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AssessTriage(tt.in)
			if got.Priority != tt.want || got.Redirect != tt.redirect || !strings.Contains(got.Advice, tt.advice) || !slices.Equal(got.Reasons, tt.reasons) {
				t.Errorf("AssessTriage(%+v) = %+v; want %s, redirect %q, advice containing %q, reasons %v", tt.in, got, tt.want, tt.redirect, tt.advice, tt.reasons)
			}
		})
	}
	for _, f := range models.AllRedFlags {
		if got := AssessTriage(TriageSignals{RedFlags: []models.RedFlag{f}}); got.Priority != models.PriorityEmergency || got.Redirect != "999" {
			t.Errorf("red flag %s: %+v, want emergency with redirect 999", f, got)
		}
	}
}

func TestQueuePriority(t *testing.T) {
	tests := []struct {
		in     models.TriagePriority
		waited time.Duration
		want   models.TriagePriority
		raised bool
	}{
		{models.PriorityRoutine, RoutineWaitLimit - time.Nanosecond, models.PriorityRoutine, false},
		{models.PriorityRoutine, RoutineWaitLimit, models.PrioritySoon, true},
		{models.PrioritySoon, SoonWaitLimit - time.Nanosecond, models.PrioritySoon, false},
		{models.PrioritySoon, SoonWaitLimit, models.PriorityUrgent, true},
		{models.PriorityUrgent, 30 * 24 * time.Hour, models.PriorityUrgent, false},
		{models.PriorityEmergency, 0, models.PriorityEmergency, false},
	}
	for _, tt := range tests {
		got, raised := QueuePriority(tt.in, tt.waited)
		if got != tt.want || raised != tt.raised {
			t.Errorf("QueuePriority(%s, %v) = %s, %v; want %s, %v", tt.in, tt.waited, got, raised, tt.want, tt.raised)
		}
	}
}
