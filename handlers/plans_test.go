package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"careway/models"
)

// planBody is a valid plan for a condition with the given thresholds.
func planBody(condition string, thresholds map[string]any) map[string]any {
	return map[string]any{
		"condition":  condition,
		"goals":      []any{map[string]any{"description": "Home blood pressure below 135/85", "code": "blood_pressure", "high": 135, "unit": "mm[Hg]"}},
		"thresholds": thresholds,
		"monitoring": []any{map[string]any{"code": "blood_pressure", "times": 2, "per": "week"}},
		"actions":    []string{"Take amlodipine 5 mg every morning"},
		"ifWorse":    "If readings stay above 160/100 for a week, book a review; above 180/120, contact the practice today.",
		"reviewDate": time.Now().UTC().AddDate(0, 6, 0).Format(time.DateOnly),
	}
}

type planOut struct {
	ID         string
	Version    int
	Status     string
	IfWorse    string
	AuthorID   string
	Thresholds models.Thresholds
}

func TestConditions(t *testing.T) {
	h := newHarness(t)
	w := h.w
	path := "/api/v1/patients/" + string(w.resident1.ID) + "/conditions"
	var c models.Condition
	h.do("POST", path, w.clinicianA.token, map[string]any{"code": "heart_failure", "onset": "2019-04-01"}).want(t, 201).decode(t, &c)
	if c.SNOMED != "84114007" || c.Status != "active" || c.RecordedBy != w.clinicianA.user.ID {
		t.Errorf("condition = %+v", c)
	}
	h.do("POST", path, w.clinicianA.token, map[string]any{"code": "heart_failure"}).want(t, 409)
	for _, body := range []any{map[string]any{"code": "gout"}, map[string]any{"code": "asthma", "onset": "yesterday"},
		map[string]any{"code": "asthma", "onset": "2999-01-01"}, `{"code": 5}`} {
		h.do("POST", path, w.clinicianA.token, body).want(t, 400)
	}
	for _, who := range []*person{w.staff1, w.adminA, w.clinicianB} {
		h.do("POST", path, who.token, map[string]any{"code": "asthma"}).want(t, 403)
	}
	h.do("POST", "/api/v1/patients/"+string(w.patientA.ID)+"/conditions", w.patient.token, map[string]any{"code": "asthma"}).want(t, 403)

	// Visible to the patient's proxies within scope, not beyond.
	var list struct{ Items []models.Condition }
	h.do("GET", path, w.staff1.token, nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 1 {
		t.Errorf("staff see %d conditions", len(list.Items))
	}
	h.do("GET", path, w.staff2.token, nil).want(t, 403)

	up := path + "/" + c.ID
	h.do("PATCH", up, w.clinicianA.token, map[string]any{"status": "deleted"}).want(t, 400)
	h.do("PATCH", up, w.staff1.token, map[string]any{"status": "resolved"}).want(t, 403)
	h.do("PATCH", path+"/"+models.NewID(), w.clinicianA.token, map[string]any{"status": "resolved"}).want(t, 404)
	h.do("PATCH", up, w.clinicianA.token, map[string]any{"status": "resolved"}).want(t, 200).decode(t, &c)
	if c.Status != "resolved" || c.UpdatedBy != w.clinicianA.user.ID || c.UpdatedAt == nil {
		t.Errorf("resolved = %+v", c)
	}
	h.do("GET", path, w.clinicianA.token, nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Status != "resolved" {
		t.Errorf("a resolved condition stays on the record: %+v", list.Items)
	}
	h.do("POST", path, w.clinicianA.token, map[string]any{"code": "heart_failure"}).want(t, 201)
	h.do("PATCH", up, w.clinicianA.token, map[string]any{"status": "active"}).want(t, 409)
}

func TestPlans(t *testing.T) {
	h := newHarness(t)
	w := h.w
	base := "/api/v1/patients/" + string(w.resident2.ID)
	h.do("POST", base+"/plans", w.clinicianA.token, planBody("hypertension", nil)).want(t, 400) // no such condition yet
	h.do("POST", base+"/conditions", w.clinicianA.token, map[string]any{"code": "hypertension"}).want(t, 201)

	bad := []struct {
		name  string
		edit  func(m map[string]any)
		field string
	}{
		{"unknown condition", func(m map[string]any) { m["condition"] = "gout" }, "condition"},
		{"no review date", func(m map[string]any) { delete(m, "reviewDate") }, "reviewDate"},
		{"review in the past", func(m map[string]any) { m["reviewDate"] = "2020-01-01" }, "reviewDate"},
		{"no ifWorse", func(m map[string]any) { m["ifWorse"] = "" }, "ifWorse"},
		{"bp target reversed", func(m map[string]any) {
			m["thresholds"] = map[string]any{"bpTarget": map[string]any{"systolic": 120, "diastolic": 130}}
		}, "thresholds.bpTarget.diastolic"},
		{"bp target as text", func(m map[string]any) {
			m["thresholds"] = map[string]any{"bpTarget": map[string]any{"systolic": "high", "diastolic": 80}}
		}, "thresholds.bpTarget.systolic"},
		{"personal best absurd", func(m map[string]any) { m["thresholds"] = map[string]any{"peakFlowPersonalBest": 5000} }, "thresholds.peakFlowPersonalBest"},
		{"hba1c target in percent", func(m map[string]any) { m["thresholds"] = map[string]any{"hba1cTarget": 7} }, "thresholds.hba1cTarget"},
		{"schedule per year", func(m map[string]any) {
			m["monitoring"] = []any{map[string]any{"code": "blood_pressure", "times": 1, "per": "year"}}
		}, "monitoring[0].per"},
		{"schedule zero times", func(m map[string]any) {
			m["monitoring"] = []any{map[string]any{"code": "blood_pressure", "times": 0, "per": "day"}}
		}, "monitoring[0].times"},
		{"schedule unknown code", func(m map[string]any) {
			m["monitoring"] = []any{map[string]any{"code": "mood", "times": 1, "per": "day"}}
		}, "monitoring[0].code"},
		{"goal target without code", func(m map[string]any) { m["goals"] = []any{map[string]any{"description": "x", "high": 5}} }, "goals[0].code"},
		{"version on create", func(m map[string]any) { m["version"] = 1 }, "version"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			b := planBody("hypertension", nil)
			tt.edit(b)
			pr := h.do("POST", base+"/plans", w.clinicianA.token, b).want(t, 400).problem(t)
			if !hasFieldError(pr, tt.field) {
				t.Errorf("problem does not name %s: %+v", tt.field, pr)
			}
		})
	}
	for _, who := range []*person{w.staff1, w.adminA, w.clinicianB} {
		h.do("POST", base+"/plans", who.token, planBody("hypertension", nil)).want(t, 403)
	}

	var v1 planOut
	r := h.do("POST", base+"/plans", w.clinicianA.token, planBody("hypertension", map[string]any{"bpTarget": map[string]any{"systolic": 140, "diastolic": 85}})).want(t, 201)
	r.decode(t, &v1)
	if v1.Version != 1 || r.Header.Get("ETag") != `"1"` || v1.Thresholds.BPTarget == nil || v1.Thresholds.BPTarget.Systolic != 140 {
		t.Fatalf("v1 = %+v, ETag %s", v1, r.Header.Get("ETag"))
	}
	h.do("POST", base+"/plans", w.clinicianA.token, planBody("hypertension", nil)).want(t, 409)
	planPath := base + "/plans/" + v1.ID

	// Readers: the clinician, staff with view_plan (resident2 has only that scope); not others.
	h.do("GET", planPath, w.staff1.token, nil).want(t, 200)
	h.do("GET", base+"/plans", w.staff1.token, nil).want(t, 200)
	h.do("GET", planPath, w.staff2.token, nil).want(t, 403)
	h.do("GET", "/api/v1/patients/"+string(w.resident3.ID)+"/plans", w.staff1.token, nil).want(t, 403)
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/plans/"+v1.ID, w.clinicianA.token, nil).want(t, 404)

	// A change needs the version it is based on.
	change := planBody("hypertension", map[string]any{"bpTarget": map[string]any{"systolic": 135, "diastolic": 85}})
	h.do("PUT", planPath, w.clinicianA.token, change).want(t, 400)
	change["version"] = 1
	var v2 planOut
	r = h.do("PUT", planPath, w.clinicianA.token, change).want(t, 200)
	r.decode(t, &v2)
	if v2.Version != 2 || r.Header.Get("ETag") != `"2"` || v2.Thresholds.BPTarget.Systolic != 135 {
		t.Fatalf("v2 = %+v", v2)
	}
	// A stale change (based on 1) is refused and erases nothing.
	stale := planBody("hypertension", map[string]any{"bpTarget": map[string]any{"systolic": 150, "diastolic": 90}})
	stale["version"] = 1
	pr := h.do("PUT", planPath, w.clinicianA.token, stale).want(t, 409).problem(t)
	if !hasFieldError(pr, "version") {
		t.Errorf("stale: %+v", pr)
	}
	// If-Match works as well as the version field.
	delete(stale, "version")
	req := jsonRequest("PUT", planPath, mustJSON(t, stale))
	req.Header.Set("Authorization", "Bearer "+w.clinicianA.token)
	req.Header.Set("If-Match", `"1"`)
	h.send(req).want(t, 409)
	req = jsonRequest("PUT", planPath, mustJSON(t, stale))
	req.Header.Set("Authorization", "Bearer "+w.clinicianA.token)
	req.Header.Set("If-Match", `"2"`)
	h.send(req).want(t, 200)
	other := planBody("asthma", nil)
	other["version"] = 3
	h.do("PUT", planPath, w.clinicianA.token, other).want(t, 400)
	h.do("PUT", planPath, w.staff1.token, change).want(t, 403)

	var versions struct{ Items []planOut }
	h.do("GET", planPath+"/versions", w.staff1.token, nil).want(t, 200).decode(t, &versions)
	if len(versions.Items) != 3 || versions.Items[0].Thresholds.BPTarget.Systolic != 140 || versions.Items[2].Thresholds.BPTarget.Systolic != 150 {
		t.Errorf("versions = %+v", versions.Items)
	}
	if n := h.auditCount(w.resident2.ID, "plan.update", models.OutcomeSuccess); n != 2 {
		t.Errorf("%d plan.update audit events, want 2", n)
	}
}

// TestPlanEditRace: two clinicians (here ten requests) change the same version at once:
// exactly one wins, the others get 409, and the history holds the winner only.
func TestPlanEditRace(t *testing.T) {
	h := newHarness(t)
	w := h.w
	base := "/api/v1/patients/" + string(w.patientA.ID)
	h.do("POST", base+"/conditions", w.clinicianA.token, map[string]any{"code": "asthma"}).want(t, 201)
	var v1 planOut
	h.do("POST", base+"/plans", w.clinicianA.token, planBody("asthma", map[string]any{"peakFlowPersonalBest": 450})).want(t, 201).decode(t, &v1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	winner := ""
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b := planBody("asthma", map[string]any{"peakFlowPersonalBest": 400 + i})
			b["version"] = 1
			b["ifWorse"] = "edit" + strings.Repeat("x", i)
			r := h.do("PUT", base+"/plans/"+v1.ID, w.clinicianA.token, b)
			mu.Lock()
			defer mu.Unlock()
			statuses[r.Status]++
			if r.Status == http.StatusOK {
				winner = b["ifWorse"].(string)
			}
		}(i)
	}
	wg.Wait()
	if statuses[200] != 1 || statuses[409] != 9 {
		t.Fatalf("statuses %v, want one 200 and nine 409", statuses)
	}
	var versions struct{ Items []planOut }
	h.do("GET", base+"/plans/"+v1.ID+"/versions", w.patient.token, nil).want(t, 200).decode(t, &versions)
	if len(versions.Items) != 2 || versions.Items[1].IfWorse != winner {
		t.Errorf("history = %+v, winner %q", versions.Items, winner)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
