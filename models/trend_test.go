package models

import (
	"testing"
	"time"
)

func london(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func fp(f float64) *float64 { return &f }

func TestSummaryBucketsLondon(t *testing.T) {
	loc := london(t)
	// 2026-03-29 is the day the clocks go forward (23 hours); 2026-10-25 the day they go back (25).
	from := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)
	to := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	b, err := SummaryBuckets(from, to, BucketDay, loc)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		date       string
		start, end string
	}{
		{"2026-03-28", "2026-03-28T00:00:00Z", "2026-03-29T00:00:00Z"},
		{"2026-03-29", "2026-03-29T00:00:00Z", "2026-03-29T23:00:00Z"}, // 23 hours
		{"2026-03-30", "2026-03-29T23:00:00Z", "2026-03-30T23:00:00Z"},
		{"2026-03-31", "2026-03-30T23:00:00Z", "2026-03-31T23:00:00Z"},
	}
	if len(b) != len(want) {
		t.Fatalf("%d buckets, want %d: %+v", len(b), len(want), b)
	}
	for i, w := range want {
		if b[i].Date != w.date || b[i].Start.Format(time.RFC3339) != w.start || b[i].End.Format(time.RFC3339) != w.end {
			t.Errorf("bucket %d = %s %s %s, want %s %s %s", i, b[i].Date, b[i].Start.Format(time.RFC3339), b[i].End.Format(time.RFC3339), w.date, w.start, w.end)
		}
	}
	// Autumn: the day is 25 hours long.
	b, _ = SummaryBuckets(time.Date(2026, 10, 25, 5, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 6, 0, 0, 0, time.UTC), BucketDay, loc)
	if len(b) != 1 || b[0].End.Sub(b[0].Start) != 25*time.Hour {
		t.Errorf("25-hour day: %+v", b)
	}
}

func TestSummaryBucketsWeekStartsMonday(t *testing.T) {
	loc := london(t)
	// Sunday 2026-11-22 23:30 UTC is still Sunday in London (GMT): its week began Monday 16th.
	from := time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC)
	to := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	b, err := SummaryBuckets(from, to, BucketWeek, loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 2 || b[0].Date != "2026-11-16" || b[1].Date != "2026-11-23" || b[1].Start.Weekday() != time.Monday {
		t.Fatalf("weeks = %+v", b)
	}
	// Summer: a Monday starts at 23:00 UTC on the Sunday.
	b, _ = SummaryBuckets(time.Date(2026, 7, 5, 23, 30, 0, 0, time.UTC), time.Date(2026, 7, 6, 1, 0, 0, 0, time.UTC), BucketWeek, loc)
	if len(b) != 1 || b[0].Date != "2026-07-06" || b[0].Start.Format(time.RFC3339) != "2026-07-05T23:00:00Z" {
		t.Fatalf("summer week = %+v", b)
	}
}

func TestSummaryBucketsRefuses(t *testing.T) {
	loc := london(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		from, to time.Time
		bucket   string
		field    string
	}{
		{now, now.Add(time.Hour), "month", "bucket"},
		{now, now.Add(time.Hour), "", "bucket"},
		{now, now, "day", "from"},
		{now.Add(time.Hour), now, "day", "from"},
		{now.AddDate(-2, 0, 0), now, "day", "to"},
		{now.AddDate(-6, 0, 0), now, "week", "to"},
	}
	for _, tt := range tests {
		_, err := SummaryBuckets(tt.from, tt.to, tt.bucket, loc)
		var e *Error
		if err == nil || ErrorCode(err) != EINVALID {
			t.Errorf("%v–%v %s: err %v", tt.from, tt.to, tt.bucket, err)
			continue
		}
		e = err.(*Error)
		if e.Fields[0].Field != tt.field {
			t.Errorf("%v–%v %s: field %s, want %s", tt.from, tt.to, tt.bucket, e.Fields[0].Field, tt.field)
		}
	}
	if b, err := SummaryBuckets(now.AddDate(-1, 0, 0), now, "day", loc); err != nil || len(b) != 366 {
		t.Errorf("a year of days: %d buckets, %v", len(b), err)
	}
}

func TestSummarise(t *testing.T) {
	loc := london(t)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	b, err := SummaryBuckets(day, day.AddDate(0, 0, 3), BucketDay, loc)
	if err != nil {
		t.Fatal(err)
	}
	bp := func(id string, at time.Time, s, d float64) *Observation {
		return &Observation{ID: ObservationID(id), Code: CodeBloodPressure, EffectiveAt: at, Systolic: fp(s), Diastolic: fp(d), Status: ObservationFinal}
	}
	withdrawn := bp("x", day.Add(9*time.Hour), 250, 150)
	withdrawn.Status = ObservationEnteredInError
	obs := []*Observation{
		bp("b", day.Add(8*time.Hour), 140, 90),
		bp("a", day.Add(20*time.Hour), 130, 85),
		bp("c", day.Add(20*time.Hour), 150, 80), // same time as "a": the greater id is the latest
		withdrawn,
		bp("d", day.AddDate(0, 0, 2).Add(time.Hour), 120, 70),
		bp("e", day.AddDate(0, 0, 5), 100, 60), // outside every bucket
	}
	Summarise(b, obs)
	if b[0].Count != 3 || b[1].Count != 0 || b[2].Count != 1 {
		t.Fatalf("counts %d %d %d, want 3 0 1", b[0].Count, b[1].Count, b[2].Count)
	}
	s := b[0].Series["systolic"]
	if s.Count != 3 || s.Min != 130 || s.Max != 150 || s.Mean != 140 || s.Latest != 150 || !s.LatestAt.Equal(day.Add(20*time.Hour)) {
		t.Errorf("systolic = %+v", s)
	}
	d := b[0].Series["diastolic"]
	if d.Min != 80 || d.Max != 90 || d.Mean != 85 || d.Latest != 80 {
		t.Errorf("diastolic = %+v", d)
	}
	if len(b[1].Series) != 0 {
		t.Errorf("empty day has series %v", b[1].Series)
	}
	// Means round to two decimals.
	b, _ = SummaryBuckets(day, day.Add(time.Hour), BucketDay, loc)
	Summarise(b, []*Observation{
		{ID: "1", Code: CodeBloodGlucose, EffectiveAt: day, Value: fp(5), Status: ObservationFinal},
		{ID: "2", Code: CodeBloodGlucose, EffectiveAt: day, Value: fp(5), Status: ObservationFinal},
		{ID: "3", Code: CodeBloodGlucose, EffectiveAt: day, Value: fp(6), Status: ObservationFinal},
		{ID: "4", Code: CodeSymptom, EffectiveAt: day, Text: "dizzy", Status: ObservationFinal},
	})
	if v := b[0].Series["value"]; v.Mean != 5.33 || v.Count != 3 || b[0].Count != 4 {
		t.Errorf("value = %+v, count %d", v, b[0].Count)
	}
}

func TestObservationSeries(t *testing.T) {
	seven, three := 7, 3
	tests := []struct {
		o    Observation
		want map[string]float64
	}{
		{Observation{Code: CodeBloodPressure, Systolic: fp(120), Diastolic: fp(80)}, map[string]float64{"systolic": 120, "diastolic": 80}},
		{Observation{Code: CodePHQ9, Total: &seven}, map[string]float64{"total": 7}},
		{Observation{Code: CodeVitalSigns, Interpretation: Interpretation{Score: &three}}, map[string]float64{"news2": 3}},
		{Observation{Code: CodePeakFlow, Value: fp(400)}, map[string]float64{"value": 400}},
		{Observation{Code: CodeSmokingStatus, SmokingStatus: "never"}, map[string]float64{}},
	}
	for _, tt := range tests {
		got := ObservationSeries(&tt.o)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %v, want %v", tt.o.Code, got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s: %v, want %v", tt.o.Code, got, tt.want)
			}
		}
	}
}

func TestAdherence(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	long := now.AddDate(0, -3, 0)
	times := func(n int, every time.Duration) []time.Time {
		var out []time.Time
		for i := 0; i < n; i++ {
			out = append(out, now.Add(-time.Duration(i)*every-time.Minute))
		}
		return out
	}
	schedules := []PlannedSchedule{
		{Schedule{Code: CodeBloodPressure, Times: 2, Per: "day"}, "p1", long},
		{Schedule{Code: CodeBloodPressure, Times: 1, Per: "week"}, "p2", long}, // less demanding: p1's counts
		{Schedule{Code: CodePeakFlow, Times: 1, Per: "week"}, "p3", now.Add(-72 * time.Hour)},
		{Schedule{Code: CodeHbA1c, Times: 1, Per: "month"}, "p4", now},
		{Schedule{Code: CodeBodyWeight, Times: 0, Per: "week"}, "p5", long}, // nothing asked
	}
	readings := map[ObservationCode][]time.Time{
		CodeBloodPressure: times(40, 12*time.Hour), // 2 a day for 20 days
		CodePeakFlow:      times(3, 24*time.Hour),
	}
	got := Adherence(schedules, readings, now)
	if len(got) != 3 || got[0].Code != CodeBloodPressure || got[1].Code != CodeHbA1c || got[2].Code != CodePeakFlow {
		t.Fatalf("codes = %+v", got)
	}
	bp := got[0]
	if bp.Times != 2 || bp.Per != "day" || len(bp.PlanIDs) != 2 {
		t.Errorf("bp schedule = %+v", bp)
	}
	w7, w28 := bp.Windows[0], bp.Windows[1]
	if w7.Days != 7 || w7.Expected != 14 || w7.Recorded != 14 || *w7.Percent != 100 {
		t.Errorf("bp 7 days = %+v", w7)
	}
	if w28.Days != 28 || w28.Expected != 56 || w28.Recorded != 40 || *w28.Percent != 71 {
		t.Errorf("bp 28 days = %+v (percent %d)", w28, *w28.Percent)
	}
	// A plan three days old expects 3/7 of a weekly reading, and counts from its start.
	pf := got[2].Windows[0]
	if pf.Expected != 0.4 || pf.Recorded != 3 || *pf.Percent != 100 || !pf.From.Equal(now.Add(-72*time.Hour)) {
		t.Errorf("peak flow = %+v", pf)
	}
	// A plan started now expects nothing yet.
	if w := got[1].Windows[0]; w.Expected != 0 || w.Percent != nil {
		t.Errorf("hba1c = %+v", w)
	}
}
