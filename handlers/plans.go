package handlers

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"careway/auth"
	"careway/models"
)

// Limits on a plan's parts.
const (
	maxPlanItems = 20
	maxPlanText  = 2000
	maxPlanLine  = 500
)

type goalInput struct {
	Description string   `json:"description"`
	Code        string   `json:"code"`
	Low         *float64 `json:"low"`
	High        *float64 `json:"high"`
	Unit        string   `json:"unit"`
	By          string   `json:"by"`
}

type thresholdsInput struct {
	BPTarget             *models.BPTarget `json:"bpTarget"`
	PeakFlowPersonalBest *float64         `json:"peakFlowPersonalBest"`
	SpO2Scale2           bool             `json:"spo2Scale2"`
	HbA1cTarget          *float64         `json:"hba1cTarget"`
	BMILowerCutPoints    bool             `json:"bmiLowerCutPoints"`
}

type scheduleInput struct {
	Code  string `json:"code"`
	Times int    `json:"times"`
	Per   string `json:"per"`
}

// planRequest is the whole content of a plan: a change sends every part, and becomes the next
// version. Version (or the If-Match header) names the version the change was based on.
type planRequest struct {
	Condition  string          `json:"condition"`
	Version    *int            `json:"version"`
	Status     string          `json:"status"`
	Goals      []goalInput     `json:"goals"`
	Thresholds thresholdsInput `json:"thresholds"`
	Monitoring []scheduleInput `json:"monitoring"`
	Actions    []string        `json:"actions"`
	IfWorse    string          `json:"ifWorse"`
	ReviewDate string          `json:"reviewDate"`
}

// plan checks the request and returns the plan content it describes (without id, patient,
// version or author).
func (r *planRequest) plan(today string) (*models.Plan, error) {
	var p models.Problems
	pl := &models.Plan{Condition: models.ConditionCode(r.Condition), Status: r.Status, IfWorse: strings.TrimSpace(r.IfWorse),
		ReviewDate: r.ReviewDate, Goals: []models.Goal{}, Monitoring: []models.Schedule{}, Actions: []string{}}
	if _, ok := models.Conditions[pl.Condition]; !ok {
		p.Add("condition", "must be one of hypertension, type2_diabetes, asthma, copd, depression, anxiety, heart_failure, obesity")
	}
	switch pl.Status {
	case "":
		pl.Status = models.PlanActive
	case models.PlanActive, models.PlanEnded:
	default:
		p.Add("status", "must be active or ended")
	}
	if len(r.Goals) > maxPlanItems {
		p.Add("goals", "at most 20 goals")
	}
	for i, g := range r.Goals {
		f := "goals[" + strconv.Itoa(i) + "]"
		desc := strings.TrimSpace(g.Description)
		if desc == "" || len([]rune(desc)) > maxPlanLine {
			p.Add(f+".description", "is required, at most 500 characters")
		}
		code := models.ObservationCode(g.Code)
		if g.Code != "" && !code.Valid() {
			p.Add(f+".code", "is not a reading code; use one of "+codeList())
		}
		if (g.Low != nil || g.High != nil) && g.Code == "" {
			p.Add(f+".code", "is required with a measurable target (low or high): the reading it is measured by")
		}
		if g.Low != nil && g.High != nil && *g.Low > *g.High {
			p.Add(f+".high", "must not be below low")
		}
		if len(g.Unit) > 20 {
			p.Add(f+".unit", "must be at most 20 characters")
		}
		if g.By != "" && !isDate(g.By) {
			p.Add(f+".by", "must be a date (YYYY-MM-DD)")
		}
		pl.Goals = append(pl.Goals, models.Goal{Description: desc, Code: code, Low: g.Low, High: g.High, Unit: g.Unit, By: g.By})
	}
	t := r.Thresholds
	pl.Thresholds = models.Thresholds{PeakFlowPersonalBest: t.PeakFlowPersonalBest, SpO2Scale2: t.SpO2Scale2,
		HbA1cTarget: t.HbA1cTarget, BMILowerCutPoints: t.BMILowerCutPoints}
	if b := t.BPTarget; b != nil {
		if !between(b.Systolic, 100, 200) {
			p.Add("thresholds.bpTarget.systolic", "must be from 100 to 200 mmHg")
		}
		if !between(b.Diastolic, 50, 120) {
			p.Add("thresholds.bpTarget.diastolic", "must be from 50 to 120 mmHg")
		} else if b.Diastolic >= b.Systolic {
			p.Add("thresholds.bpTarget.diastolic", "must be below the systolic target")
		}
		pl.Thresholds.BPTarget = &models.BPTarget{Systolic: b.Systolic, Diastolic: b.Diastolic}
	}
	if v := t.PeakFlowPersonalBest; v != nil && !between(*v, 60, 1000) {
		p.Add("thresholds.peakFlowPersonalBest", "must be from 60 to 1000 L/min")
	}
	if v := t.HbA1cTarget; v != nil && !between(*v, 30, 100) {
		p.Add("thresholds.hba1cTarget", "must be from 30 to 100 mmol/mol (IFCC)")
	}
	if len(r.Monitoring) > maxPlanItems {
		p.Add("monitoring", "at most 20 entries")
	}
	seen := map[string]bool{}
	for i, m := range r.Monitoring {
		f := "monitoring[" + strconv.Itoa(i) + "]"
		if !models.ObservationCode(m.Code).Valid() {
			p.Add(f+".code", "is not a reading code; use one of "+codeList())
		} else if seen[m.Code] {
			p.Add(f+".code", "is scheduled twice")
		}
		seen[m.Code] = true
		if _, ok := models.SchedulePeriods[m.Per]; !ok {
			p.Add(f+".per", "must be day, week or month")
		}
		if m.Times < 1 || m.Times > 24 {
			p.Add(f+".times", "must be a whole number from 1 to 24")
		}
		pl.Monitoring = append(pl.Monitoring, models.Schedule{Code: models.ObservationCode(m.Code), Times: m.Times, Per: m.Per})
	}
	if len(r.Actions) > maxPlanItems {
		p.Add("actions", "at most 20 actions")
	}
	for i, a := range r.Actions {
		a = strings.TrimSpace(a)
		if a == "" || len([]rune(a)) > maxPlanLine {
			p.Add("actions["+strconv.Itoa(i)+"]", "is required, at most 500 characters")
		}
		pl.Actions = append(pl.Actions, a)
	}
	if pl.IfWorse == "" || len([]rune(pl.IfWorse)) > maxPlanText {
		p.Add("ifWorse", "is required (what to do if things get worse), at most 2000 characters")
	}
	switch {
	case !isDate(r.ReviewDate):
		p.Add("reviewDate", "is required: a date (YYYY-MM-DD)")
	case r.ReviewDate < today:
		p.Add("reviewDate", "is in the past; set the next review")
	}
	return pl, p.Err()
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func between(v, lo, hi float64) bool { return !math.IsNaN(v) && v >= lo && v <= hi }

// handlePlanCreate writes version 1 of a plan for one of the patient's active conditions.
func (s *server) handlePlanCreate(c *fiber.Ctx) error {
	var req planRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	now := s.now().UTC()
	if req.Version != nil {
		return fieldError("version", "is for changes to a plan; a new plan is version 1")
	}
	pl, err := req.plan(now.Format(time.DateOnly))
	if err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActWritePlan)
	if err != nil {
		return err
	}
	if err := s.requireActiveCondition(c, p.ID, pl.Condition); err != nil {
		return err
	}
	pl.ID, pl.PatientID, pl.Version, pl.AuthorID, pl.CreatedAt = models.PlanID(models.NewID()), p.ID, 1, actorOf(c).UserID, now
	if err := s.plans.CreatePlan(c.UserContext(), pl); err != nil {
		return conflictOn(err, "condition", "already has a plan; change that plan instead")
	}
	if err := s.record(c, "plan.create", p.ID, string(pl.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	setVersionTag(c, pl.Version)
	return c.Status(fiber.StatusCreated).JSON(pl)
}

// requireActiveCondition checks that the patient has the condition, active, on record.
func (s *server) requireActiveCondition(c *fiber.Ctx, patient models.PatientID, code models.ConditionCode) error {
	conds, err := s.conditions.ListConditions(c.UserContext(), patient)
	if err != nil {
		return err
	}
	for _, cd := range conds {
		if cd.Code == code && cd.Status == models.ConditionActive {
			return nil
		}
	}
	return fieldError("condition", "is not an active condition on the patient's record; record the condition first")
}

// handlePlanUpdate stores a change to a plan as its next version. The change must say which
// version it was based on (the version field or If-Match); if someone else changed the plan
// since, it is refused with 409 and nothing is overwritten.
func (s *server) handlePlanUpdate(c *fiber.Ctx) error {
	var req planRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	based, err := basedOnVersion(c, req.Version)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	pl, err := req.plan(now.Format(time.DateOnly))
	if err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActWritePlan)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	cur, err := s.plans.PlanByID(ctx, p.ID, planParam(c))
	if err != nil {
		return err
	}
	if pl.Condition != cur.Condition {
		return fieldError("condition", "cannot change; a plan belongs to one condition")
	}
	if cur.Version != based {
		return staleVersion(cur.Version, based)
	}
	if pl.Status == models.PlanActive && cur.Status != models.PlanActive {
		if err := s.requireActiveCondition(c, p.ID, pl.Condition); err != nil {
			return err
		}
	}
	pl.ID, pl.PatientID, pl.Version, pl.AuthorID, pl.CreatedAt = cur.ID, p.ID, based+1, actorOf(c).UserID, now
	if err := s.plans.AddPlanVersion(ctx, pl); err != nil {
		return conflictOn(err, "version", "is no longer the current version")
	}
	if err := s.record(c, "plan.update", p.ID, string(pl.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	setVersionTag(c, pl.Version)
	return c.JSON(pl)
}

// basedOnVersion reads the version a change to a plan was based on: the body's version, or
// If-Match ("3", W/"3" or 3). Both, when given, must agree.
func basedOnVersion(c *fiber.Ctx, body *int) (int, error) {
	return versionBasis(c, body, "plan", 1)
}

// versionBasis reads the version a change to a versioned thing (what: "plan") was based on,
// from the body's version or If-Match; both, when given, must agree, and neither may be below
// first (the version a thing has before its first change).
func versionBasis(c *fiber.Ctx, body *int, what string, first int) (int, error) {
	header := strings.TrimSpace(c.Get(fiber.HeaderIfMatch))
	fromHeader := -1
	if header != "" {
		n, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(header, "W/"), `"`))
		if err != nil || n < first {
			return 0, fieldError("If-Match", "must be the "+what+"'s version as its ETag gives it, e.g. \"3\"")
		}
		fromHeader = n
	}
	switch {
	case body == nil && fromHeader < 0:
		return 0, fieldError("version", "is required (or the If-Match header): the version this change is based on")
	case body != nil && *body < first:
		return 0, fieldError("version", "must be a version of the "+what+" ("+strconv.Itoa(first)+" or more)")
	case body != nil && fromHeader >= 0 && *body != fromHeader:
		return 0, fieldError("version", "differs from If-Match")
	case body != nil:
		return *body, nil
	}
	return fromHeader, nil
}

func staleVersion(current, based int) error {
	return &models.Error{Code: models.ECONFLICT,
		Message: "The plan has changed since version " + strconv.Itoa(based) + " (it is at version " + strconv.Itoa(current) + "); reload it and make the change again.",
		Fields:  []models.FieldError{{Field: "version", Message: "is not the current version (" + strconv.Itoa(current) + ")"}}}
}

func setVersionTag(c *fiber.Ctx, v int) { c.Set(fiber.HeaderETag, `"`+strconv.Itoa(v)+`"`) }

func planParam(c *fiber.Ctx) models.PlanID {
	return models.PlanID(utils.CopyString(c.Params("planId")))
}

// handlePlanList returns the current version of each of the patient's plans.
func (s *server) handlePlanList(c *fiber.Ctx) error {
	p, err := s.patientFor(c, auth.ActReadPlan)
	if err != nil {
		return err
	}
	items, err := s.plans.ListPlans(c.UserContext(), p.ID)
	if err != nil {
		return err
	}
	if err := s.record(c, "plan.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(newList(items, ""))
}

// handlePlanGet returns the current version of a plan, with its version as the ETag.
func (s *server) handlePlanGet(c *fiber.Ctx) error {
	p, err := s.patientFor(c, auth.ActReadPlan)
	if err != nil {
		return err
	}
	pl, err := s.plans.PlanByID(c.UserContext(), p.ID, planParam(c))
	if err != nil {
		return err
	}
	if err := s.record(c, "plan.read", p.ID, string(pl.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	setVersionTag(c, pl.Version)
	return c.JSON(pl)
}

// handlePlanVersions returns every version of a plan, oldest first.
func (s *server) handlePlanVersions(c *fiber.Ctx) error {
	p, err := s.patientFor(c, auth.ActReadPlan)
	if err != nil {
		return err
	}
	items, err := s.plans.PlanVersions(c.UserContext(), p.ID, planParam(c))
	if err != nil {
		return err
	}
	if err := s.record(c, "plan.read", p.ID, string(items[0].ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(newList(items, ""))
}
