package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
)

// Limits on the readings one summary reads: pages of the most the store gives at once.
const maxSummaryPages = 100 // × 200 = 20,000 readings

// Default ranges of a summary without ?from=: 30 days of days, 12 weeks of weeks.
var summaryDefaultRange = map[string]time.Duration{
	models.BucketDay:  30 * 24 * time.Hour,
	models.BucketWeek: 12 * 7 * 24 * time.Hour,
}

type summaryAnswer struct {
	Code     models.ObservationCode `json:"code"`
	Bucket   string                 `json:"bucket"`
	TimeZone string                 `json:"timeZone"`
	From     time.Time              `json:"from"`
	To       time.Time              `json:"to"`
	Buckets  []models.SummaryBucket `json:"buckets"`
}

// handleObservationSummary summarises a patient's readings of one code per local day or week
// (Europe/London; weeks begin on Monday): count, and per series min, max, mean and latest.
// The sums are made here in Go, since the embedded database lacks $min/$max/$avg/$first.
// Readings entered in error are left out. ?code= is required; ?from= and ?to= (RFC 3339, from
// inclusive, to exclusive) default to the last 30 days (day) or 12 weeks (week) up to now;
// ?bucket= is day (default) or week.
func (s *server) handleObservationSummary(c *fiber.Ctx) error {
	f, err := observationFilter(c)
	if err != nil {
		return err
	}
	if f.Code == "" {
		return fieldError("code", "is required: the reading code to summarise")
	}
	bucket := c.Query("bucket", models.BucketDay)
	if _, ok := summaryDefaultRange[bucket]; !ok {
		return fieldError("bucket", "must be day or week")
	}
	if f.To.IsZero() {
		f.To = s.now().UTC()
	}
	if f.From.IsZero() {
		f.From = f.To.Add(-summaryDefaultRange[bucket])
	}
	buckets, err := models.SummaryBuckets(f.From, f.To, bucket, models.London())
	if err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActReadClinical)
	if err != nil {
		return err
	}
	f.PatientID, f.Ascending, f.IncludeEnteredInError = p.ID, true, false
	obs, err := s.allObservations(c.UserContext(), f)
	if err != nil {
		return err
	}
	models.Summarise(buckets, obs)
	if err := s.record(c, "observation.summary", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(summaryAnswer{Code: f.Code, Bucket: bucket, TimeZone: models.London().String(), From: f.From, To: f.To,
		Buckets: buckets})
}

// allObservations reads every reading matching f, page by page, up to maxSummaryPages pages;
// beyond that it refuses (EINVALID naming "from") rather than read without bound.
func (s *server) allObservations(ctx context.Context, f models.ObservationFilter) ([]*models.Observation, error) {
	all, complete, err := everyPage(maxSummaryPages, func(p models.Page) ([]*models.Observation, string, error) {
		return s.observations.ListObservations(ctx, f, p)
	})
	if err == nil && !complete {
		err = fieldError("from", "this range holds too many readings to summarise at once; ask for a shorter range")
	}
	return all, err
}

type adherenceAnswer struct {
	AsOf  time.Time              `json:"asOf"`
	Items []models.CodeAdherence `json:"items"`
}

// handleAdherence compares a patient's readings over the last 7 and 28 days with the
// monitoring schedules of their current active plans (models.Adherence). It reads both the
// readings and the plan, so it needs ActReadClinical and ActReadPlan.
func (s *server) handleAdherence(c *fiber.Ctx) error {
	p, err := s.patientFor(c, auth.ActReadClinical)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if err := s.refusalAudited(c, string(auth.ActReadPlan), p.ID, "", auth.Can(actorOf(c), auth.ActReadPlan, p, now)); err != nil {
		return err
	}
	ctx := c.UserContext()
	plans, err := s.plans.ListPlans(ctx, p.ID)
	if err != nil {
		return err
	}
	var schedules []models.PlannedSchedule
	for _, pl := range plans {
		if pl.Status != models.PlanActive || len(pl.Monitoring) == 0 {
			continue
		}
		versions, err := s.plans.PlanVersions(ctx, p.ID, pl.ID)
		if err != nil {
			return err
		}
		since := pl.CreatedAt
		if len(versions) > 0 {
			since = versions[0].CreatedAt
		}
		for _, m := range pl.Monitoring {
			schedules = append(schedules, models.PlannedSchedule{Schedule: m, PlanID: pl.ID, Since: since})
		}
	}
	longest := 0
	for _, d := range models.AdherenceDays {
		longest = max(longest, d)
	}
	readings := map[models.ObservationCode][]time.Time{}
	for _, sc := range schedules {
		if _, done := readings[sc.Code]; done {
			continue
		}
		obs, err := s.allObservations(ctx, models.ObservationFilter{PatientID: p.ID, Code: sc.Code,
			From: now.Add(-time.Duration(longest) * 24 * time.Hour), Ascending: true})
		if err != nil {
			return err
		}
		times := make([]time.Time, 0, len(obs))
		for _, o := range obs {
			times = append(times, o.EffectiveAt)
		}
		readings[sc.Code] = times
	}
	if err := s.record(c, "adherence.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(adherenceAnswer{AsOf: now, Items: models.Adherence(schedules, readings, now)})
}
