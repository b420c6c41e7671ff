package clinical

import (
	"time"

	"careway/models"
)

// TriageSignals is what the triage rule weighs besides the request's own answers: the
// patient's open alerts and latest NEWS2, and whether an alert opened the request.
type TriageSignals struct {
	RedFlags []models.RedFlag
	Source   models.TriageSource
	// OpenAlertLevel is the highest level of the patient's open alerts ("" for none).
	OpenAlertLevel Level
	// NEWS2Level is the level of the patient's latest NEWS2 reading taken within
	// RecentNEWS2 before the request ("" for none).
	NEWS2Level Level
}

// RecentNEWS2 is how old a NEWS2 reading may be and still weigh on a new request. NEWS2 is a
// snapshot of acute illness; a day-old score says little, but within a day it is the best
// evidence the practice has.
const RecentNEWS2 = 24 * time.Hour

// Reason codes for a priority (TriageRequest.Reasons).
const (
	ReasonRedFlag        = "red_flag"
	ReasonOpenEmergency  = "open_emergency_alert"
	ReasonOpenRedAlert   = "open_red_alert"
	ReasonNEWS2Emergency = "recent_news2_emergency"
	ReasonNEWS2Red       = "recent_news2_red"
	ReasonNEWS2Amber     = "recent_news2_amber"
	ReasonFromAlert      = "opened_by_alert"
	ReasonWaitingTime    = "waiting_time"
)

// TriageAssessment is the rule's answer: the priority, why, and what to tell the patient at once.
type TriageAssessment struct {
	Priority models.TriagePriority
	Reasons  []string
	Redirect string // "999" for an emergency
	Advice   string
}

// Advice shown with a triage answer.
const (
	Advice999 = "Call 999 now. What you have told us can be an emergency. Your request has been " +
		"passed to your practice, but do not wait for a reply."
	AdviceCrisis = "If you might act on thoughts of ending your life, or are in danger now, call 999 or go to A&E. " +
		"You can call Samaritans free on 116 123 at any time, day or night, or call NHS 111 and choose option 2 " +
		"for urgent mental health help. Your request has been passed to your practice."
	AdviceEmergencyReading = "Your recent readings need emergency care: call 999 now if you have not already. " +
		"Your request has been passed to your practice."
	AdviceUrgent = "Your practice will contact you today. If you get worse before then, call NHS 111, " +
		"or 999 in an emergency."
	AdviceRoutine = "Your practice will reply to your request. If you get worse before then, call NHS 111, " +
		"or 999 in an emergency."
)

// AssessTriage computes a new request's priority (CLINICAL.md "Triage red flags" and "From a
// rule to an interpretation level"):
//
//   - any red flag: emergency, with redirect "999"; suicidal intent adds crisis advice
//     (Samaritans 116 123, NHS 111 option 2). The request is still stored and shown to the
//     practice: blocking it would teach patients to resubmit without the flag;
//   - an open emergency alert or a recent NEWS2 at emergency level: emergency, redirect "999"
//     (the reading already told the patient to call 999: the safer reading repeats it);
//   - an open red alert, a recent NEWS2 at red level, or a request opened by an alert: urgent;
//   - a recent NEWS2 at amber level: soon;
//   - otherwise routine.
//
// Every reason that applies is listed, not just the deciding one.
func AssessTriage(s TriageSignals) TriageAssessment {
	a := TriageAssessment{Priority: models.PriorityRoutine, Reasons: []string{}}
	raise := func(p models.TriagePriority, reason string) {
		a.Reasons = append(a.Reasons, reason)
		if p.Rank() < a.Priority.Rank() {
			a.Priority = p
		}
	}
	crisis := false
	for _, f := range s.RedFlags {
		if f == models.FlagSuicidalIntent {
			crisis = true
		}
	}
	if len(s.RedFlags) > 0 {
		raise(models.PriorityEmergency, ReasonRedFlag)
	}
	switch s.OpenAlertLevel {
	case LevelEmergency:
		raise(models.PriorityEmergency, ReasonOpenEmergency)
	case LevelRed:
		raise(models.PriorityUrgent, ReasonOpenRedAlert)
	}
	switch s.NEWS2Level {
	case LevelEmergency:
		raise(models.PriorityEmergency, ReasonNEWS2Emergency)
	case LevelRed:
		raise(models.PriorityUrgent, ReasonNEWS2Red)
	case LevelAmber:
		raise(models.PrioritySoon, ReasonNEWS2Amber)
	}
	if s.Source == models.SourceAlert {
		raise(models.PriorityUrgent, ReasonFromAlert)
	}

	switch {
	case crisis && len(s.RedFlags) == 1:
		a.Advice = AdviceCrisis
	case crisis:
		a.Advice = Advice999 + " " + AdviceCrisis
	case len(s.RedFlags) > 0:
		a.Advice = Advice999
	case a.Priority == models.PriorityEmergency:
		a.Advice = AdviceEmergencyReading
	case a.Priority == models.PriorityUrgent:
		a.Advice = AdviceUrgent
	default:
		a.Advice = AdviceRoutine
	}
	if a.Priority == models.PriorityEmergency {
		a.Redirect = "999"
	}
	return a
}

// How long a request may wait before the queue raises its priority one step. Urgent requests
// are same-day already and are never raised to emergency by waiting alone: an emergency needs
// clinical evidence, and the patient was told to call 111 or 999 if worse.
const (
	RoutineWaitLimit = 72 * time.Hour // routine → soon after three days
	SoonWaitLimit    = 24 * time.Hour // soon → urgent after a day
)

// QueuePriority returns the priority with which a request that has waited for waited stands in
// the queue, and whether waiting raised it.
func QueuePriority(p models.TriagePriority, waited time.Duration) (models.TriagePriority, bool) {
	switch {
	case p == models.PriorityRoutine && waited >= RoutineWaitLimit:
		return models.PrioritySoon, true
	case p == models.PrioritySoon && waited >= SoonWaitLimit:
		return models.PriorityUrgent, true
	}
	return p, false
}
