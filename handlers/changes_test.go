package handlers_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"careway/handlers"
	"careway/models"
	"careway/store"
)

type changeItem struct {
	Kind        string              `json:"kind"`
	ChangedAt   time.Time           `json:"changedAt"`
	Observation *models.Observation `json:"observation"`
	Plan        *models.Plan        `json:"plan"`
	Alert       *models.Alert       `json:"alert"`
	Appointment *models.Appointment `json:"appointment"`
}

type changesAnswer struct {
	Items      []changeItem `json:"items"`
	NextCursor string       `json:"nextCursor"`
	HasMore    bool         `json:"hasMore"`
	Watermark  time.Time    `json:"watermark"`
	Kinds      []string     `json:"kinds"`
}

func changesPath(p models.PatientID, since string, limit int) string {
	q := url.Values{}
	if since != "" {
		q.Set("since", since)
	}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	return "/api/v1/patients/" + string(p) + "/changes?" + q.Encode()
}

// quickChanges makes the feed's settle window one millisecond, so tests need not wait: the
// write tracker alone keeps the watermark behind writes in progress.
func quickChanges(p *handlers.Params) { p.ChangesSettle = time.Millisecond }

// drain pages through the feed from since until it has no more, and returns the items and the
// last cursor.
func drain(t *testing.T, h *harness, token string, p models.PatientID, since string, limit int) ([]changeItem, string) {
	t.Helper()
	var all []changeItem
	for range 1000 {
		var a changesAnswer
		h.do("GET", changesPath(p, since, limit), token, nil).want(t, 200).decode(t, &a)
		if len(a.Items) > limit {
			t.Fatalf("%d items for limit %d", len(a.Items), limit)
		}
		all = append(all, a.Items...)
		if a.NextCursor == "" {
			t.Fatal("no nextCursor")
		}
		since = a.NextCursor
		if !a.HasMore {
			return all, since
		}
	}
	t.Fatal("the feed does not end")
	return nil, ""
}

func itemKey(it changeItem) string {
	switch {
	case it.Observation != nil:
		return "observation:" + string(it.Observation.ID)
	case it.Plan != nil:
		return fmt.Sprintf("plan:%s#%d", it.Plan.ID, it.Plan.Version)
	case it.Alert != nil:
		return "alert:" + string(it.Alert.ID)
	case it.Appointment != nil:
		return "appointment:" + string(it.Appointment.ID)
	}
	return "?"
}

func postReading(h *harness, token string, p models.PatientID, id string, at time.Time, pulse int) (int, string) {
	body := fmt.Sprintf(`{"id":%q,"code":"heart_rate","effectiveAt":%q,"value":%d}`, id, at.UTC().Format(time.RFC3339Nano), pulse)
	req := httptest.NewRequest("POST", "/api/v1/patients/"+string(p)+"/observations", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := h.app.Test(req, -1)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	return resp.StatusCode, ""
}

func TestChangesFeed(t *testing.T) {
	h := newHarness(t, harnessOpts{params: quickChanges})
	w, pa := h.w, h.w.patientA.ID
	ctx := context.Background()
	now := time.Now().UTC()

	// Readings uploaded through the API, a plan with two versions, an alert.
	var ids []string
	for i := range 5 {
		id := models.NewID()
		ids = append(ids, id)
		if st, msg := postReading(h, w.patient.token, pa, id, now.Add(-time.Duration(i)*time.Minute), 70+i); st != 201 && st != 200 {
			t.Fatalf("upload: %d %s", st, msg)
		}
	}
	pl := storePlan(t, h, pa, models.ConditionHypertension, time.Now().UTC(), "2027-01-01")
	v2 := *pl
	v2.Version, v2.CreatedAt = 2, time.Now().UTC()
	if err := h.plans.AddPlanVersion(ctx, &v2); err != nil {
		t.Fatal(err)
	}
	al, _, err := h.alerts.RaiseAlert(ctx, &models.Alert{PatientID: pa, PracticeID: w.practiceA.ID, RuleID: "bp.crisis",
		Code: models.CodeBloodPressure, Level: models.LevelRed, LatestLevel: models.LevelRed, FirstObservationID: "o",
		LatestObservationID: "o", ObservationIDs: []models.ObservationID{"o"}, UpdatedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	appt := &models.Appointment{ID: models.AppointmentID(models.NewID()), PatientID: pa, PracticeID: w.practiceA.ID,
		SlotID: "s1", SlotIDs: []models.SlotID{"s1"}, SessionID: "se1", SiteID: "si1", ClinicianID: w.clinicianA.user.ID, ServiceType: "gp", Reason: "review", Mode: models.ModeVideo, Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour),
		Status: models.ApptBooked, BookedBy: w.patient.user.ID, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
	if err := store.NewAppointmentStore(h.db).CreateAppointment(ctx, appt); err != nil {
		t.Fatal(err)
	}
	// Another patient's changes never appear.
	storeReadings(t, h, &models.Observation{PatientID: w.patientA2.ID, Code: models.CodeHeartRate, EffectiveAt: now, Value: fptr(60)})
	time.Sleep(5 * time.Millisecond)

	items, cursor := drain(t, h, w.patient.token, pa, "", 2)
	seen := map[string]int{}
	for i, it := range items {
		seen[itemKey(it)]++
		if i > 0 && it.ChangedAt.Before(items[i-1].ChangedAt) {
			t.Errorf("item %d changed at %v, before the one before it", i, it.ChangedAt)
		}
	}
	want := []string{"plan:" + string(pl.ID) + "#1", "plan:" + string(pl.ID) + "#2", "alert:" + string(al.ID), "appointment:" + string(appt.ID)}
	for _, id := range ids {
		want = append(want, "observation:"+id)
	}
	for _, k := range want {
		if seen[k] != 1 {
			t.Errorf("%s seen %d times, want once", k, seen[k])
		}
	}
	if len(items) != len(want) {
		t.Errorf("%d items, want %d: %v", len(items), len(want), seen)
	}

	// Caught up: nothing more, and the cursor stays usable.
	if again, _ := drain(t, h, w.patient.token, pa, cursor, 2); len(again) != 0 {
		t.Fatalf("repeated after catching up: %v", again)
	}
	// A correction and a taken alert come again, once each, as they are now.
	resp := h.do("POST", "/api/v1/patients/"+string(pa)+"/observations/"+ids[0]+"/entered-in-error", w.clinicianA.token,
		map[string]string{"reason": "wrong patient"})
	if resp.Status != 200 {
		t.Fatalf("correction: %d %s", resp.Status, resp.Body)
	}
	if _, err := h.alerts.TakeAlert(ctx, al.ID, w.clinicianA.user.ID, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	again, _ := drain(t, h, w.patient.token, pa, cursor, 1)
	if len(again) != 2 || again[0].Observation == nil || again[0].Observation.Status != models.ObservationEnteredInError ||
		again[1].Alert == nil || again[1].Alert.Status != models.AlertTaken {
		t.Fatalf("after correction and take = %+v", again)
	}
	if n := h.auditCount(pa, "changes.read", models.OutcomeSuccess); n < 5 {
		t.Errorf("%d feed reads audited", n)
	}
}

func TestChangesRefusesBadInput(t *testing.T) {
	h := newHarness(t, harnessOpts{params: quickChanges})
	pa, tok := h.w.patientA.ID, h.w.patient.token
	base := "/api/v1/patients/" + string(pa) + "/changes"
	tests := []struct {
		query string
		field string
	}{
		{"?since=yesterday", "since"},
		{"?since=c1.!!!", "since"},
		{"?since=c1.bm90IGEgY3Vyc29y", "since"}, // "not a cursor"
		{"?since=" + strings.Repeat("c", 600), "since"},
		{"?limit=0", "limit"},
		{"?limit=201", "limit"},
		{"?limit=ten", "limit"},
		{"?cursor=abc", "cursor"},
	}
	for _, tt := range tests {
		p := h.do("GET", base+tt.query, tok, nil).want(t, 400).problem(t)
		if !hasFieldError(p, tt.field) {
			t.Errorf("%s: errors %v do not name %s", tt.query, p.Errors, tt.field)
		}
	}
}

func TestChangesPermissions(t *testing.T) {
	h := newHarness(t, harnessOpts{params: quickChanges})
	trendRefusals(t, h, func(p models.PatientID) string { return changesPath(p, "", 0) })
	w := h.w
	// A proxy sees only the kinds of its scope.
	storePlan(t, h, w.resident1.ID, models.ConditionCOPD, time.Now().UTC(), "2027-01-01")
	time.Sleep(5 * time.Millisecond)
	var a changesAnswer
	h.do("GET", changesPath(w.resident1.ID, "", 0), w.staff1.token, nil).want(t, 200).decode(t, &a)
	if strings.Join(a.Kinds, ",") != "observation,plan,alert,appointment" || len(a.Items) != 1 {
		t.Errorf("full scope: kinds %v, %d items", a.Kinds, len(a.Items))
	}
	consent := *w.resident1.Proxy
	consent.Scopes = []models.ProxyScope{models.ScopeRecordObservations}
	if _, err := h.patients.SetProxyConsent(context.Background(), w.resident1.ID, w.practiceA.ID, &consent, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.do("GET", changesPath(w.resident1.ID, "", 0), w.staff1.token, nil).want(t, 200).decode(t, &a)
	if strings.Join(a.Kinds, ",") != "observation,alert" || len(a.Items) != 0 {
		t.Errorf("record-observations only: kinds %v, %d items", a.Kinds, len(a.Items))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// slowInserts delays some reading inserts after the handler has stamped them, so writes commit
// out of the order of their stamps: the fault a change feed must survive.
type slowInserts struct {
	models.ObservationStore
}

func (s slowInserts) InsertObservations(ctx context.Context, obs []*models.Observation) ([]error, error) {
	time.Sleep(time.Duration(rand.IntN(25)) * time.Millisecond)
	return s.ObservationStore.InsertObservations(ctx, obs)
}

// Writers upload readings concurrently, each insert delayed at random after its time stamp,
// while a reader pages through the feed with a small page. Every reading must reach the reader
// exactly once.
func TestChangesConcurrentWritersNeverSkip(t *testing.T) {
	h := newHarness(t, harnessOpts{params: func(p *handlers.Params) {
		quickChanges(p)
		p.Observations = slowInserts{p.Observations}
	}})
	w, pa := h.w, h.w.patientA.ID
	const writers, each = 4, 12
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written = map[string]bool{}
	)
	done := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				id := models.NewID()
				st, msg := postReading(h, w.patient.token, pa, id, time.Now().Add(-time.Duration(i*each+j)*time.Second), 60+j)
				if st != 201 && st != 200 {
					t.Errorf("upload: %d %s", st, msg)
					return
				}
				mu.Lock()
				written[id] = true
				mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	seen := map[string]int{}
	cursor, reads := "", 0
	read := func() bool {
		var a changesAnswer
		h.do("GET", changesPath(pa, cursor, 3), w.patient.token, nil).want(t, 200).decode(t, &a)
		reads++
		for _, it := range a.Items {
			seen[itemKey(it)]++
		}
		cursor = a.NextCursor
		return a.HasMore
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			read()
		}
	}
	time.Sleep(5 * time.Millisecond)
	for read() {
	}
	if len(written) != writers*each {
		t.Fatalf("%d readings written, want %d", len(written), writers*each)
	}
	for id := range written {
		if n := seen["observation:"+id]; n != 1 {
			t.Errorf("reading %s seen %d times, want once", id, n)
		}
	}
	if len(seen) != len(written) {
		t.Errorf("%d distinct items seen, %d written", len(seen), len(written))
	}
	t.Logf("%d reads while %d writers uploaded %d readings", reads, writers, len(written))
}
