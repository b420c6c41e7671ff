package models

import (
	"math"
	"sync"
	"time"
	_ "time/tzdata" // Europe/London must load on hosts without a zoneinfo database
)

// London returns the Europe/London time zone, in which Careway's days and weeks begin.
var London = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic("careway: the embedded time zone database lacks Europe/London: " + err.Error())
	}
	return loc
})

// Trend buckets.
const (
	BucketDay  = "day"
	BucketWeek = "week"
)

// Limits on a summary's range, so one request cannot ask the server to read years of readings
// into memory: about a year of days, five years of weeks.
const (
	MaxSummaryDays  = 366
	MaxSummaryWeeks = 261
)

// SeriesStats summarises one numeric series of readings in a bucket.
type SeriesStats struct {
	Count    int       `json:"count"`
	Min      float64   `json:"min"`
	Max      float64   `json:"max"`
	Mean     float64   `json:"mean"`
	Latest   float64   `json:"latest"`
	LatestAt time.Time `json:"latestAt"`
}

// SummaryBucket is one local day or week of a trend. Start and End are the bucket's bounds in
// UTC ([Start, End)); Date is the local calendar date it starts on (YYYY-MM-DD). Series is keyed
// by the measured field: "value", "systolic"/"diastolic" for blood pressure, "total" for
// questionnaires, "news2" for vital signs. Count counts readings (including those without a
// number, e.g. symptoms).
type SummaryBucket struct {
	Date   string                 `json:"date"`
	Start  time.Time              `json:"start"`
	End    time.Time              `json:"end"`
	Count  int                    `json:"count"`
	Series map[string]SeriesStats `json:"series"`
}

// BucketStart returns the start of the local day (or the local week, which begins on Monday)
// that contains t, in loc.
func BucketStart(t time.Time, bucket string, loc *time.Location) time.Time {
	l := t.In(loc)
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	if bucket == BucketWeek {
		back := (int(day.Weekday()) + 6) % 7 // Monday 0 … Sunday 6
		day = time.Date(l.Year(), l.Month(), l.Day()-back, 0, 0, 0, 0, loc)
	}
	return day
}

// nextBucket returns the start of the bucket after start. Adding calendar days (not 24 hours)
// keeps bucket edges on local midnight across clock changes, when a day lasts 23 or 25 hours.
func nextBucket(start time.Time, bucket string) time.Time {
	days := 1
	if bucket == BucketWeek {
		days = 7
	}
	return time.Date(start.Year(), start.Month(), start.Day()+days, 0, 0, 0, 0, start.Location())
}

// SummaryBuckets returns the empty buckets covering [from, to): every local day or week that
// overlaps the range, the first starting at or before from. Returns EINVALID naming "bucket" for
// an unknown bucket, "from" when from is not before to, and "to" when the range needs more than
// MaxSummaryDays days or MaxSummaryWeeks weeks.
func SummaryBuckets(from, to time.Time, bucket string, loc *time.Location) ([]SummaryBucket, error) {
	var p Problems
	max := MaxSummaryDays
	switch bucket {
	case BucketDay:
	case BucketWeek:
		max = MaxSummaryWeeks
	default:
		p.Add("bucket", "must be day or week")
		return nil, p.Err()
	}
	if !from.Before(to) {
		p.Add("from", "must be before to")
		return nil, p.Err()
	}
	var out []SummaryBucket
	for s := BucketStart(from, bucket, loc); s.Before(to); s = nextBucket(s, bucket) {
		if len(out) == max {
			p.Add("to", "the range is too long for "+bucket+" buckets; ask for a shorter range or weekly buckets")
			return nil, p.Err()
		}
		out = append(out, SummaryBucket{Date: s.Format(time.DateOnly), Start: s.UTC(), End: nextBucket(s, bucket).UTC(),
			Series: map[string]SeriesStats{}})
	}
	return out, nil
}

// ObservationSeries returns the numbers a reading contributes to a trend, by series name:
// systolic and diastolic for blood pressure, total for questionnaires, news2 for vital signs
// (the score it was given), value for every other numeric code. Readings with no number
// (smoking status, symptoms) give none.
func ObservationSeries(o *Observation) map[string]float64 {
	out := map[string]float64{}
	switch o.Code {
	case CodeBloodPressure:
		if o.Systolic != nil {
			out["systolic"] = *o.Systolic
		}
		if o.Diastolic != nil {
			out["diastolic"] = *o.Diastolic
		}
	case CodePHQ9, CodeGAD7, CodeCAT:
		if o.Total != nil {
			out["total"] = float64(*o.Total)
		}
	case CodeVitalSigns:
		if o.Interpretation.Score != nil {
			out["news2"] = float64(*o.Interpretation.Score)
		}
	default:
		if o.Value != nil {
			out["value"] = *o.Value
		}
	}
	return out
}

// Summarise adds readings into buckets made by SummaryBuckets. Readings outside every bucket,
// and readings entered in error, are left out. Means are rounded to two decimals; the latest is
// the reading with the greatest effectiveAt (then id). buckets is changed in place.
func Summarise(buckets []SummaryBucket, obs []*Observation) {
	type acc struct {
		SeriesStats
		sum      float64
		latestID ObservationID
	}
	accs := make([]map[string]*acc, len(buckets))
	for _, o := range obs {
		if o.EnteredInError() {
			continue
		}
		i := findBucket(buckets, o.EffectiveAt)
		if i < 0 {
			continue
		}
		buckets[i].Count++
		if accs[i] == nil {
			accs[i] = map[string]*acc{}
		}
		for name, v := range ObservationSeries(o) {
			a := accs[i][name]
			if a == nil {
				a = &acc{SeriesStats: SeriesStats{Min: v, Max: v}}
				accs[i][name] = a
			}
			a.Count++
			a.sum += v
			a.Min, a.Max = math.Min(a.Min, v), math.Max(a.Max, v)
			at := o.EffectiveAt.UTC()
			if a.Count == 1 || at.After(a.LatestAt) || (at.Equal(a.LatestAt) && o.ID > a.latestID) {
				a.Latest, a.LatestAt, a.latestID = v, at, o.ID
			}
		}
	}
	for i := range buckets {
		for name, a := range accs[i] {
			a.Mean = math.Round(a.sum/float64(a.Count)*100) / 100
			buckets[i].Series[name] = a.SeriesStats
		}
	}
}

// findBucket returns the index of the bucket holding t, or -1 (buckets are sorted and adjacent).
func findBucket(buckets []SummaryBucket, t time.Time) int {
	lo, hi := 0, len(buckets)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case t.Before(buckets[m].Start):
			hi = m
		case !t.Before(buckets[m].End):
			lo = m + 1
		default:
			return m
		}
	}
	return -1
}
