package models

import (
	"math"
	"sort"
	"time"
)

// PlannedSchedule is one monitoring schedule of a current plan, with the time the plan started
// (its first version): readings are expected only from then on.
type PlannedSchedule struct {
	Schedule
	PlanID PlanID
	Since  time.Time
}

// AdherenceWindow compares the readings expected by a schedule over the last Days days with
// those recorded. Expected is rounded to one decimal; Percent is recorded/expected capped at
// 100, and nil when nothing was expected yet (a plan started moments ago, or a monthly
// schedule within its first days).
type AdherenceWindow struct {
	Days     int       `json:"days"`
	From     time.Time `json:"from"` // the window's start: Days ago, or when the plan started if later
	Expected float64   `json:"expected"`
	Recorded int       `json:"recorded"`
	Percent  *int      `json:"percent"`
}

// CodeAdherence is the adherence to the schedule for one reading code.
type CodeAdherence struct {
	Code    ObservationCode   `json:"code"`
	Times   int               `json:"times"`
	Per     string            `json:"per"`
	PlanIDs []PlanID          `json:"planIds"`
	Windows []AdherenceWindow `json:"windows"`
}

// AdherenceDays are the windows reported: the last 7 and the last 28 days.
var AdherenceDays = []int{7, 28}

// ratePerDay is how many readings a schedule asks for per day.
func ratePerDay(s Schedule) float64 {
	d, ok := SchedulePeriods[s.Per]
	if !ok || s.Times <= 0 {
		return 0
	}
	return float64(s.Times) / (float64(d) / float64(24*time.Hour))
}

// Adherence compares schedules with the times of the final readings of each code (readings
// entered in error must be left out by the caller). When two plans schedule the same code, the
// more demanding schedule counts (the patient is asked for the larger number), and both plans
// are named. The result is ordered by code.
func Adherence(schedules []PlannedSchedule, readings map[ObservationCode][]time.Time, now time.Time) []CodeAdherence {
	type merged struct {
		s     Schedule
		rate  float64
		since time.Time
		plans []PlanID
	}
	byCode := map[ObservationCode]*merged{}
	for _, ps := range schedules {
		r := ratePerDay(ps.Schedule)
		if r == 0 {
			continue
		}
		m := byCode[ps.Code]
		if m == nil {
			byCode[ps.Code] = &merged{s: ps.Schedule, rate: r, since: ps.Since, plans: []PlanID{ps.PlanID}}
			continue
		}
		m.plans = append(m.plans, ps.PlanID)
		if r > m.rate {
			m.s, m.rate, m.since = ps.Schedule, r, ps.Since
		}
	}
	out := make([]CodeAdherence, 0, len(byCode))
	for code, m := range byCode {
		ca := CodeAdherence{Code: code, Times: m.s.Times, Per: m.s.Per, PlanIDs: m.plans}
		for _, days := range AdherenceDays {
			from := now.Add(-time.Duration(days) * 24 * time.Hour)
			if m.since.After(from) {
				from = m.since
			}
			w := AdherenceWindow{Days: days, From: from.UTC()}
			if from.Before(now) {
				w.Expected = math.Round(m.rate*now.Sub(from).Hours()/24*10) / 10
			}
			for _, at := range readings[code] {
				if !at.Before(from) && !at.After(now) {
					w.Recorded++
				}
			}
			if w.Expected > 0 {
				pct := int(math.Round(math.Min(1, float64(w.Recorded)/w.Expected) * 100))
				w.Percent = &pct
			}
			ca.Windows = append(ca.Windows, w)
		}
		out = append(out, ca)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}
