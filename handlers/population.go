package handlers

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"careway/auth"
	"careway/models"
	"careway/models/clinical"
)

// The population view's windows: a blood pressure counts for control if taken in the last 12
// months (as the national hypertension indicators count it); a patient who has recorded nothing
// for 30 days is listed as quiet.
const (
	populationBPWindow    = 365 * 24 * time.Hour
	populationQuietWindow = 30 * 24 * time.Hour
)

type registerCount struct {
	Condition models.ConditionCode `json:"condition"`
	SNOMED    string               `json:"snomed"`
	Display   string               `json:"display"`
	Count     int                  `json:"count"`
}

type patientList struct {
	Count      int                `json:"count"`
	PatientIDs []models.PatientID `json:"patientIds"`
}

type bpControl struct {
	Hypertensive int `json:"hypertensive"`
	AtTarget     int `json:"atTarget"`
	// Share is AtTarget / Hypertensive (0 when there are none): a patient with no reading in
	// the window counts as not at target.
	Share           float64     `json:"share"`
	NotAtTarget     patientList `json:"notAtTarget"`
	NoRecentReading patientList `json:"noRecentReading"`
	WindowDays      int         `json:"windowDays"`
}

type alertList struct {
	patientList
	AlertIDs []models.AlertID `json:"alertIds"`
}

type planList struct {
	patientList
	PlanIDs []models.PlanID `json:"planIds"`
}

type populationAnswer struct {
	PracticeID      models.PracticeID `json:"practiceId"`
	AsOf            time.Time         `json:"asOf"`
	Patients        int               `json:"patients"`
	Registers       []registerCount   `json:"registers"`
	BloodPressure   bpControl         `json:"bloodPressure"`
	OpenRedAlerts   alertList         `json:"openRedAlerts"`
	OverdueReviews  planList          `json:"overdueReviews"`
	NoReadingIn30   patientList       `json:"noReadingIn30Days"`
	QuietWindowDays int               `json:"quietWindowDays"`
}

// handlePopulation gives a practice's clinicians the state of their population: register
// size per condition, the share of hypertensive patients whose latest blood pressure is at
// target (their plan's target, or NICE's by age), unresolved red and emergency alerts, active
// plans past their review date, and patients with no reading in 30 days, each list with the
// patient ids to act on. Only clinicians of the practice may see it (auth.CanViewPopulation).
// The view is audited once for the practice and once per patient named in its lists.
func (s *server) handlePopulation(c *fiber.Ctx) error {
	practice := models.PracticeID(utils.CopyString(c.Params("practiceId")))
	if !models.IsUUID(string(practice)) {
		return models.Errorf(models.ENOTFOUND, "No practice has this id.")
	}
	resource := "practice:" + string(practice)
	if err := s.refusalAudited(c, "population.read", "", resource, auth.CanViewPopulation(actorOf(c), practice)); err != nil {
		return err
	}
	ctx, now := c.UserContext(), s.now().UTC()
	pats, err := s.practicePatients(c, practice)
	if err != nil {
		return err
	}
	ids := make([]models.PatientID, len(pats))
	for i, p := range pats {
		ids[i] = p.ID
	}
	conds, err := s.population.ActiveConditions(ctx, ids)
	if err != nil {
		return err
	}
	plans, err := s.population.CurrentPlans(ctx, ids)
	if err != nil {
		return err
	}
	ans := populationAnswer{PracticeID: practice, AsOf: now, Patients: len(pats),
		QuietWindowDays: int(populationQuietWindow / (24 * time.Hour))}

	// Registers, in the order of models.Conditions' codes.
	counts := map[models.ConditionCode]int{}
	var hypertensive []models.PatientID
	for _, p := range pats {
		for _, code := range uniqueCodes(conds[p.ID]) {
			counts[code]++
			if code == models.ConditionHypertension {
				hypertensive = append(hypertensive, p.ID)
			}
		}
	}
	for _, code := range conditionOrder() {
		info := models.Conditions[code]
		ans.Registers = append(ans.Registers, registerCount{Condition: code, SNOMED: info.SNOMED, Display: info.Display, Count: counts[code]})
	}

	// Blood pressure control.
	bps, err := s.population.LatestReadings(ctx, hypertensive, models.CodeBloodPressure, now.Add(-populationBPWindow))
	if err != nil {
		return err
	}
	byID := map[models.PatientID]*models.Patient{}
	for _, p := range pats {
		byID[p.ID] = p
	}
	bp := bpControl{Hypertensive: len(hypertensive), WindowDays: int(populationBPWindow / (24 * time.Hour)),
		NotAtTarget: newPatientList(), NoRecentReading: newPatientList()}
	for _, id := range hypertensive {
		o := bps[id]
		switch {
		case o == nil || o.Systolic == nil || o.Diastolic == nil:
			bp.NoRecentReading.add(id)
		case bpTargetOf(byID[id], plans[id], o, now).AtTarget(*o.Systolic, *o.Diastolic):
			bp.AtTarget++
		default:
			bp.NotAtTarget.add(id)
		}
	}
	if bp.Hypertensive > 0 {
		bp.Share = float64(bp.AtTarget) / float64(bp.Hypertensive)
	}
	ans.BloodPressure = bp

	// Unresolved red and emergency alerts.
	ans.OpenRedAlerts = alertList{patientList: newPatientList(), AlertIDs: []models.AlertID{}}
	alerts, err := s.unresolvedAlerts(ctx, practice)
	if err != nil {
		return err
	}
	for _, a := range alerts {
		if a.Level.Escalates() {
			ans.OpenRedAlerts.AlertIDs = append(ans.OpenRedAlerts.AlertIDs, a.ID)
			ans.OpenRedAlerts.add(a.PatientID)
		}
	}

	// Active plans past their review date (a local date in Europe/London).
	today := now.In(models.London()).Format(time.DateOnly)
	ans.OverdueReviews = planList{patientList: newPatientList(), PlanIDs: []models.PlanID{}}
	for _, p := range pats {
		for _, pl := range plans[p.ID] {
			if pl.Status == models.PlanActive && pl.ReviewDate != "" && pl.ReviewDate < today {
				ans.OverdueReviews.PlanIDs = append(ans.OverdueReviews.PlanIDs, pl.ID)
				ans.OverdueReviews.add(p.ID)
			}
		}
	}

	// Nobody heard from in 30 days.
	recent, err := s.population.LatestReadings(ctx, ids, "", now.Add(-populationQuietWindow))
	if err != nil {
		return err
	}
	ans.NoReadingIn30 = newPatientList()
	for _, id := range ids {
		if recent[id] == nil {
			ans.NoReadingIn30.add(id)
		}
	}

	if err := s.record(c, "population.read", "", resource, models.OutcomeSuccess, ""); err != nil {
		return err
	}
	named := map[models.PatientID]bool{}
	for _, l := range []patientList{bp.NotAtTarget, bp.NoRecentReading, ans.OpenRedAlerts.patientList, ans.OverdueReviews.patientList, ans.NoReadingIn30} {
		for _, id := range l.PatientIDs {
			if !named[id] {
				named[id] = true
				if err := s.record(c, "population.read", id, resource, models.OutcomeSuccess, ""); err != nil {
					return err
				}
			}
		}
	}
	return c.JSON(ans)
}

func newPatientList() patientList { return patientList{PatientIDs: []models.PatientID{}} }

// add puts id on the list once (the lists are built in patient order, so a repeat is adjacent
// or the list is short; a linear check keeps the order stable).
func (l *patientList) add(id models.PatientID) {
	if slices.Contains(l.PatientIDs, id) {
		return
	}
	l.PatientIDs = append(l.PatientIDs, id)
	l.Count = len(l.PatientIDs)
}

// practicePatients lists every patient registered with practice.
func (s *server) practicePatients(c *fiber.Ctx, practice models.PracticeID) ([]*models.Patient, error) {
	all, _, err := everyPage(math.MaxInt, func(p models.Page) ([]*models.Patient, string, error) {
		return s.patients.ListPatients(c.UserContext(), models.PatientFilter{PracticeID: practice}, p)
	})
	return all, err
}

// unresolvedAlerts lists every open or taken alert of a practice.
func (s *server) unresolvedAlerts(ctx context.Context, practice models.PracticeID) ([]*models.Alert, error) {
	f := models.AlertFilter{PracticeID: practice, Statuses: []string{models.AlertOpen, models.AlertTaken}}
	all, _, err := everyPage(math.MaxInt, func(p models.Page) ([]*models.Alert, string, error) {
		return s.alerts.ListAlerts(ctx, f, p)
	})
	return all, err
}

// bpTargetOf is the target a patient's blood pressure is judged against, as when a reading is
// interpreted: the plans' target if one sets it, otherwise NICE's by age for a home reading
// (anyone but a clinician recorded it) or a clinic one.
func bpTargetOf(p *models.Patient, plans []*models.Plan, o *models.Observation, now time.Time) clinical.BPTarget {
	if t := gatherThresholds(plans).bp; t != nil {
		return clinical.BPTarget{Systolic: t.Systolic, Diastolic: t.Diastolic}
	}
	age, _ := p.Age(now) // an unknown age takes the under-80 target, the stricter one
	return clinical.DefaultBPTarget(age, o.RecordedByRole != models.RoleClinician)
}

// conditionOrder returns the tracked conditions in a stable order.
func conditionOrder() []models.ConditionCode {
	codes := make([]models.ConditionCode, 0, len(models.Conditions))
	for code := range models.Conditions {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	return codes
}

// uniqueCodes drops repeats (a condition recorded twice counts once on its register).
func uniqueCodes(codes []models.ConditionCode) []models.ConditionCode {
	out := slices.Clone(codes)
	slices.Sort(out)
	return slices.Compact(out)
}
