package clinical

import (
	"strings"
	"testing"
)

// answersFor spreads total over n items of at most max each, leaving the last item as given.
func answersFor(n, max, total, last int) []int {
	a := make([]int, n)
	a[n-1] = last
	total -= last
	for i := 0; i < n-1 && total > 0; i++ {
		a[i] = min(max, total)
		total -= a[i]
	}
	if total != 0 {
		panic("total does not fit")
	}
	return a
}

func TestPHQ9(t *testing.T) {
	tests := []struct {
		total, item9 int
		band         string
		level        Level
		rule         string
	}{
		{0, 0, "minimal", LevelNormal, "phq9.total"},
		{4, 0, "minimal", LevelNormal, "phq9.total"},
		{5, 0, "mild", LevelNormal, "phq9.total"},
		{9, 0, "mild", LevelNormal, "phq9.total"},
		{10, 0, "moderate", LevelAmber, "phq9.total"},
		{14, 0, "moderate", LevelAmber, "phq9.total"},
		{15, 0, "moderately-severe", LevelAmber, "phq9.total"},
		{19, 0, "moderately-severe", LevelAmber, "phq9.total"},
		{20, 0, "severe", LevelRed, "phq9.total"},
		{24, 0, "severe", LevelRed, "phq9.total"},
		// Item 9 above zero is red with crisis advice whatever the total.
		{1, 1, "minimal", LevelRed, "phq9.item9"},
		{9, 1, "mild", LevelRed, "phq9.item9"},
		{12, 2, "moderate", LevelRed, "phq9.item9"},
		{27, 3, "severe", LevelRed, "phq9.item9"},
	}
	for _, tt := range tests {
		answers := answersFor(9, 3, tt.total, tt.item9)
		r, err := PHQ9(answers)
		if err != nil {
			t.Fatalf("%v: %v", answers, err)
		}
		if *r.Score != tt.total || r.Band != tt.band || r.Level != tt.level || r.RuleID != tt.rule {
			t.Errorf("PHQ9(%v) = %d %s %s %s, want %d %s %s %s", answers, *r.Score, r.Band, r.Level, r.RuleID, tt.total, tt.band, tt.level, tt.rule)
		}
		crisis := r.Advice == CrisisAdvice
		if crisis != (tt.item9 > 0) {
			t.Errorf("PHQ9(%v): crisis advice %v, want %v", answers, crisis, tt.item9 > 0)
		}
	}
	for _, s := range []string{"999", "Samaritans", "116 123", "NHS 111", "option 2"} {
		if !strings.Contains(CrisisAdvice, s) {
			t.Errorf("crisis advice lacks %q", s)
		}
	}
}

func TestGAD7(t *testing.T) {
	tests := []struct {
		total int
		band  string
		level Level
	}{
		{0, "minimal", LevelNormal}, {4, "minimal", LevelNormal}, {5, "mild", LevelNormal}, {9, "mild", LevelNormal},
		{10, "moderate", LevelAmber}, {14, "moderate", LevelAmber}, {15, "severe", LevelRed}, {21, "severe", LevelRed},
	}
	for _, tt := range tests {
		answers := answersFor(7, 3, tt.total, max(0, tt.total-18))
		r, err := GAD7(answers)
		if err != nil {
			t.Fatal(err)
		}
		if *r.Score != tt.total || r.Band != tt.band || r.Level != tt.level || r.RuleID != "gad7.total" {
			t.Errorf("GAD7(%v) = %d %s %s, want %d %s %s", answers, *r.Score, r.Band, r.Level, tt.total, tt.band, tt.level)
		}
	}
}

func TestCAT(t *testing.T) {
	tests := []struct {
		total int
		band  string
		level Level
	}{
		{0, "low", LevelNormal}, {9, "low", LevelNormal},
		{10, "medium", LevelAmber}, // sources differ on exactly 10: medium
		{20, "medium", LevelAmber}, {21, "high", LevelAmber}, {30, "high", LevelAmber},
		{31, "very-high", LevelRed}, {40, "very-high", LevelRed},
	}
	for _, tt := range tests {
		answers := answersFor(8, 5, tt.total, max(0, tt.total-35))
		r, err := CAT(answers)
		if err != nil {
			t.Fatal(err)
		}
		if *r.Score != tt.total || r.Band != tt.band || r.Level != tt.level || r.RuleID != "cat.total" {
			t.Errorf("CAT(%v) = %d %s %s, want %d %s %s", answers, *r.Score, r.Band, r.Level, tt.total, tt.band, tt.level)
		}
	}
}

func TestQuestionnaireAnswersChecked(t *testing.T) {
	tests := []struct {
		name    string
		score   func([]int) (Result, error)
		answers []int
		fields  []string
	}{
		{"phq9 eight answers", PHQ9, make([]int, 8), []string{"answers"}},
		{"phq9 ten answers", PHQ9, make([]int, 10), []string{"answers"}},
		{"phq9 none", PHQ9, nil, []string{"answers"}},
		{"phq9 item out of range", PHQ9, []int{0, 0, 0, 4, 0, 0, 0, 0, 0}, []string{"answers[3]"}},
		{"phq9 negative and too big", PHQ9, []int{-1, 0, 0, 0, 0, 0, 0, 0, 9}, []string{"answers[0]", "answers[8]"}},
		{"gad7 six answers", GAD7, make([]int, 6), []string{"answers"}},
		{"gad7 item 4", GAD7, []int{0, 0, 0, 0, 0, 0, 4}, []string{"answers[6]"}},
		{"cat nine answers", CAT, make([]int, 9), []string{"answers"}},
		{"cat item 6", CAT, []int{0, 6, 0, 0, 0, 0, 0, 0}, []string{"answers[1]"}},
	}
	for _, tt := range tests {
		_, err := tt.score(tt.answers)
		if err == nil {
			t.Errorf("%s: accepted %v", tt.name, tt.answers)
			continue
		}
		got := fieldsOf(t, err)
		if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
			t.Errorf("%s: fields %v, want %v", tt.name, got, tt.fields)
		}
	}
	if _, err := CAT([]int{5, 5, 5, 5, 5, 5, 5, 5}); err != nil {
		t.Errorf("CAT all 5: %v", err)
	}
	for _, code := range []string{"phq9", "gad7", "cat"} {
		if q, ok := QuestionnaireFor(code); !ok || q.Code != code {
			t.Errorf("QuestionnaireFor(%q) = %v, %v", code, q, ok)
		}
	}
	if _, ok := QuestionnaireFor("blood_pressure"); ok {
		t.Error("blood_pressure is not a questionnaire")
	}
}
