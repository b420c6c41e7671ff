package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"careway/handlers"
	"careway/models"
)

// newStaff adds a signed-in user of the given role to the harness's world.
func (h *harness) newStaff(u models.User) *person {
	h.t.Helper()
	now := time.Now().UTC()
	u.ID = models.UserID(models.NewID())
	u.Email = fmt.Sprintf("%s@test.careway.test", u.ID)
	u.PasswordHash = testHash
	u.CreatedAt, u.UpdatedAt = now, now
	if u.Name == "" {
		u.Name = "Test " + string(u.Role)
	}
	if err := h.users.CreateUser(context.Background(), &u); err != nil {
		h.t.Fatal(err)
	}
	tok, _, err := h.tokens.Issue(&u)
	if err != nil {
		h.t.Fatal(err)
	}
	return &person{user: &u, token: tok}
}

func triageBody(patient models.PatientID, flags ...models.RedFlag) map[string]any {
	if flags == nil {
		flags = []models.RedFlag{}
	}
	return map[string]any{"id": models.NewID(), "patientId": patient, "description": "A cough for three weeks",
		"preferredMode": "video", "redFlags": flags, "symptoms": []string{"cough"}, "availability": "mornings",
		"adjustments": map[string]any{"interpreter": true, "language": "Polish"}}
}

func (h *harness) createTriage(t *testing.T, token string, body map[string]any) models.TriageRequest {
	t.Helper()
	var r models.TriageRequest
	h.do("POST", "/api/v1/triage-requests", token, body).want(t, 201).decode(t, &r)
	return r
}

func TestTriageCreate(t *testing.T) {
	h := newHarness(t)
	w := h.w

	t.Run("routine, and a retry stores nothing twice", func(t *testing.T) {
		body := triageBody(w.patientA.ID)
		r := h.createTriage(t, w.patient.token, body)
		if r.Priority != models.PriorityRoutine || r.Redirect != "" || r.Status != models.TriageWaiting ||
			r.Source != models.SourcePatient || r.PracticeID != w.practiceA.ID || !r.Adjustments.Interpreter {
			t.Fatalf("created %+v", r)
		}
		body["description"] = "changed on the retry"
		again := h.createTriage(t, w.patient.token, body)
		if again.ID != r.ID || again.Description != r.Description || !again.CreatedAt.Equal(r.CreatedAt) {
			t.Errorf("retry = %+v, want the stored request", again)
		}
		list, _, err := h.triage.ListTriageForPatient(context.Background(), w.patientA.ID, models.Page{})
		if err != nil || len(list) != 1 {
			t.Fatalf("stored %d requests (%v), want 1", len(list), err)
		}
		// The same id for another patient's request.
		p := h.do("POST", "/api/v1/triage-requests", w.patient2.token, map[string]any{"id": r.ID, "patientId": w.patientA2.ID,
			"description": "x", "preferredMode": "phone"}).want(t, 409).problem(t)
		if !hasFieldError(p, "id") {
			t.Errorf("409 does not name id: %+v", p)
		}
		if n := h.auditCount(w.patientA.ID, "triage.create", models.OutcomeSuccess); n != 2 {
			t.Errorf("%d triage.create audit events, want 2", n)
		}
	})

	t.Run("every red flag answers 999 and is stored at the head of the queue", func(t *testing.T) {
		for _, f := range models.AllRedFlags {
			r := h.createTriage(t, w.patient.token, triageBody(w.patientA.ID, f))
			if r.Priority != models.PriorityEmergency || r.Redirect != "999" || !strings.Contains(r.Advice, "999") {
				t.Errorf("%s: %+v, want emergency with redirect 999", f, r)
			}
			if f == models.FlagSuicidalIntent && !strings.Contains(r.Advice, "116 123") {
				t.Errorf("suicidal intent advice %q lacks Samaritans 116 123", r.Advice)
			}
			stored, err := h.triage.TriageRequestByID(context.Background(), r.ID)
			if err != nil || stored.Priority != models.PriorityEmergency || stored.RedFlags[0] != f {
				t.Errorf("%s stored as %+v (%v)", f, stored, err)
			}
		}
		var q struct {
			Items []struct {
				ID       models.TriageRequestID `json:"id"`
				Priority models.TriagePriority  `json:"queuePriority"`
			} `json:"items"`
		}
		h.do("GET", "/api/v1/practices/"+string(w.practiceA.ID)+"/triage-queue", w.clinicianA.token, nil).want(t, 200).decode(t, &q)
		if len(q.Items) == 0 || q.Items[0].Priority != models.PriorityEmergency {
			t.Fatalf("queue head = %+v, want an emergency", q.Items)
		}
	})

	t.Run("proxy within book_appointments scope", func(t *testing.T) {
		r := h.createTriage(t, w.staff1.token, triageBody(w.resident1.ID))
		if r.Source != models.SourceProxy || r.SubmittedBy != w.staff1.user.ID {
			t.Errorf("proxy request %+v", r)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			who     *person
			patient models.PatientID
		}{
			{"another patient", w.patient, w.patientA2.ID},
			{"staff without the book scope", w.staff1, w.resident2.ID},
			{"staff without consent", w.staff1, w.resident3.ID},
			{"staff of another home", w.staff2, w.resident1.ID},
			{"clinician of another practice", w.clinicianB, w.patientA.ID},
			{"administrator", w.adminA, w.patientA.ID},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := h.auditCount(tt.patient, "triage.create", models.OutcomeDenied)
				body := triageBody(tt.patient, models.FlagChestPain)
				h.do("POST", "/api/v1/triage-requests", tt.who.token, body).want(t, 403)
				if _, err := h.triage.TriageRequestByID(context.Background(), models.TriageRequestID(body["id"].(string))); models.ErrorCode(err) != models.ENOTFOUND {
					t.Errorf("a refused request was stored (%v)", err)
				}
				if after := h.auditCount(tt.patient, "triage.create", models.OutcomeDenied); after != before+1 {
					t.Errorf("refusal audited %d times, want once", after-before)
				}
			})
		}
		h.do("POST", "/api/v1/triage-requests", "", triageBody(w.patientA.ID)).want(t, 401)
	})

	t.Run("bad input names the field and stores nothing", func(t *testing.T) {
		long := strings.Repeat("a", models.MaxTriageDescription+1)
		many := make([]string, 21)
		for i := range many {
			many[i] = "x"
		}
		for _, tt := range []struct {
			field string
			set   func(map[string]any)
		}{
			{"id", func(b map[string]any) { b["id"] = "not-a-uuid" }},
			{"preferredMode", func(b map[string]any) { b["preferredMode"] = "carrier_pigeon" }},
			{"redFlags[1]", func(b map[string]any) { b["redFlags"] = []string{"chest_pain", "headache"} }},
			{"description", func(b map[string]any) { b["description"] = long }},
			{"description", func(b map[string]any) { b["description"] = "  " }},
			{"symptoms", func(b map[string]any) { b["symptoms"] = many }},
			{"symptoms[0]", func(b map[string]any) { b["symptoms"] = []string{"bad\x00"} }},
			{"adjustments.language", func(b map[string]any) { b["adjustments"] = map[string]any{"interpreter": true} }},
			{"patientId", func(b map[string]any) { delete(b, "patientId") }},
			{"redFlags", func(b map[string]any) { b["redFlags"] = "chest_pain" }},
		} {
			t.Run(tt.field, func(t *testing.T) {
				body := triageBody(w.patientA.ID)
				tt.set(body)
				p := h.do("POST", "/api/v1/triage-requests", w.patient.token, body).want(t, 400).problem(t)
				if !hasFieldError(p, tt.field) {
					t.Errorf("problem does not name %s: %+v", tt.field, p)
				}
			})
		}
		// A body past the server's limit is refused before it is read.
		small := newHarness(t, harnessOpts{params: func(p *handlers.Params) { p.BodyLimit = 4096 }})
		huge := triageBody(small.w.patientA.ID)
		huge["symptoms"] = []string{strings.Repeat("a", 3000), strings.Repeat("b", 3000)}
		b, _ := json.Marshal(huge)
		req, _ := http.NewRequest("POST", small.serve()+"/api/v1/triage-requests", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+small.w.patient.token)
		small.sendReal(req).want(t, 413)
	})
}

func TestTriagePriorityWeighsReadings(t *testing.T) {
	h := newHarness(t)
	w := h.w
	ctx, now := context.Background(), time.Now().UTC()

	// An open red alert: urgent.
	if _, _, err := h.alerts.RaiseAlert(ctx, &models.Alert{ID: models.AlertID(models.NewID()), PatientID: w.patientA.ID,
		PracticeID: w.practiceA.ID, RuleID: "bp.crisis", Code: models.CodeBloodPressure, Level: models.LevelRed,
		LatestLevel: models.LevelRed, Count: 1, FirstObservationID: "o1", LatestObservationID: "o1",
		ObservationIDs: []models.ObservationID{"o1"}, Status: models.AlertOpen, OpenedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	r := h.createTriage(t, w.patient.token, triageBody(w.patientA.ID))
	if r.Priority != models.PriorityUrgent || len(r.Reasons) != 1 || r.Reasons[0] != "open_red_alert" {
		t.Errorf("with an open red alert: %s %v, want urgent for open_red_alert", r.Priority, r.Reasons)
	}

	// A NEWS2 at emergency level an hour ago: emergency, 999; one two days old weighs nothing.
	vital := func(id string, at time.Time, level models.Level) *models.Observation {
		score := 8
		return &models.Observation{ID: models.ObservationID(id), PatientID: w.patientA2.ID, Code: models.CodeVitalSigns,
			EffectiveAt: at, Interpretation: models.Interpretation{Level: level, Score: &score, RuleID: "news2.total", Advice: "x"},
			Status: "final", RecordedBy: w.patient2.user.ID, RecordedByRole: models.RolePatient, RecordedAt: at, UpdatedAt: at}
	}
	if errs, err := h.obs.InsertObservations(ctx, []*models.Observation{vital(models.NewID(), now.Add(-48*time.Hour), models.LevelEmergency)}); err != nil || errs[0] != nil {
		t.Fatal(err, errs)
	}
	r = h.createTriage(t, w.patient2.token, triageBody(w.patientA2.ID))
	if r.Priority != models.PriorityRoutine {
		t.Errorf("with a two-day-old NEWS2: %s, want routine", r.Priority)
	}
	if errs, err := h.obs.InsertObservations(ctx, []*models.Observation{vital(models.NewID(), now.Add(-time.Hour), models.LevelEmergency)}); err != nil || errs[0] != nil {
		t.Fatal(err, errs)
	}
	r = h.createTriage(t, w.patient2.token, triageBody(w.patientA2.ID))
	if r.Priority != models.PriorityEmergency || r.Redirect != "999" {
		t.Errorf("with a recent emergency NEWS2: %s redirect %q, want emergency 999", r.Priority, r.Redirect)
	}
}

func TestTriageQueue(t *testing.T) {
	h := newHarness(t)
	w := h.w
	ctx, now := context.Background(), time.Now().UTC()
	add := func(p models.PatientID, prio models.TriagePriority, age time.Duration) models.TriageRequestID {
		r := &models.TriageRequest{ID: models.TriageRequestID(models.NewID()), PatientID: p, PracticeID: w.practiceA.ID,
			Description: "x", PreferredMode: models.ModePhone, RedFlags: []models.RedFlag{}, Source: models.SourcePatient,
			Priority: prio, Reasons: []string{}, Status: models.TriageWaiting, CreatedAt: now.Add(-age), UpdatedAt: now.Add(-age)}
		if _, _, err := h.triage.CreateTriageRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	routineNew := add(w.patientA.ID, models.PriorityRoutine, time.Hour)
	routineOld := add(w.patientA2.ID, models.PriorityRoutine, 80*time.Hour) // raised to soon by waiting
	urgent := add(w.resident1.ID, models.PriorityUrgent, time.Minute)
	soon := add(w.patientA.ID, models.PrioritySoon, 2*time.Hour)
	emergency := add(w.resident4.ID, models.PriorityEmergency, 0)
	add(w.patientB.ID, models.PriorityEmergency, 0) // practice B's patient, but filed against A: not shown to A

	type item struct {
		ID              models.TriageRequestID `json:"id"`
		QueuePriority   models.TriagePriority  `json:"queuePriority"`
		RaisedByWaiting bool                   `json:"raisedByWaiting"`
		PatientName     string                 `json:"patientName"`
	}
	var got []item
	cursor := ""
	for range 10 {
		var page struct {
			Items        []item  `json:"items"`
			NextCursor   *string `json:"nextCursor"`
			WaitingRooms []any   `json:"waitingRooms"`
		}
		url := "/api/v1/practices/" + string(w.practiceA.ID) + "/triage-queue?limit=2"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		h.do("GET", url, w.clinicianA.token, nil).want(t, 200).decode(t, &page)
		got = append(got, page.Items...)
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	want := []models.TriageRequestID{emergency, urgent, routineOld, soon, routineNew}
	if len(got) != len(want) {
		t.Fatalf("queue has %d items %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i].ID != want[i] {
			t.Errorf("queue[%d] = %s, want %s (%+v)", i, got[i].ID, want[i], got)
		}
	}
	if !got[2].RaisedByWaiting || got[2].QueuePriority != models.PrioritySoon || got[0].PatientName == "" {
		t.Errorf("old routine request: %+v, want raised to soon by waiting, with a name", got[2])
	}
	if n := h.auditCount(w.patientA.ID, "triage.queue", models.OutcomeSuccess); n != 2 {
		t.Errorf("patient A listed %d times in the audit, want 2", n)
	}

	for _, who := range []*person{w.clinicianB, w.patient, w.staff1, w.adminA} {
		h.do("GET", "/api/v1/practices/"+string(w.practiceA.ID)+"/triage-queue", who.token, nil).want(t, 403)
	}
	h.do("GET", "/api/v1/practices/"+string(w.practiceA.ID)+"/triage-queue?cursor=garbage", w.clinicianA.token, nil).want(t, 400)
}

func TestTriageTakeRace(t *testing.T) {
	h := newHarness(t)
	w := h.w
	r := h.createTriage(t, w.patient.token, triageBody(w.patientA.ID))
	path := "/api/v1/triage-requests/" + string(r.ID) + "/take"

	// Refused before the race: the patient, and a clinician of another practice.
	h.do("POST", path, w.patient.token, nil).want(t, 403)
	h.do("POST", path, w.clinicianB.token, nil).want(t, 403)
	h.do("POST", "/api/v1/triage-requests/"+models.NewID()+"/take", w.clinicianA.token, nil).want(t, 404)

	const takers = 12
	clinicians := make([]*person, takers)
	for i := range clinicians {
		clinicians[i] = h.newStaff(models.User{Role: models.RoleClinician, Profession: "gp", PracticeID: w.practiceA.ID})
	}
	var wg sync.WaitGroup
	statuses := make([]int, takers)
	for i, c := range clinicians {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := jsonRequest("POST", path, "")
			req.Header.Set("Authorization", "Bearer "+c.token)
			resp, err := h.app.Test(req, -1)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	winner := -1
	for i, s := range statuses {
		switch s {
		case 200:
			if winner >= 0 {
				t.Fatalf("two clinicians took the request: %v", statuses)
			}
			winner = i
		case 409:
		default:
			t.Fatalf("statuses %v: want one 200 and the rest 409", statuses)
		}
	}
	if winner < 0 {
		t.Fatalf("nobody took the request: %v", statuses)
	}
	if n := h.auditCount(w.patientA.ID, "triage.take", models.OutcomeFailure); n != takers-1 {
		t.Errorf("%d failed takes audited, want %d", n, takers-1)
	}
	var got models.TriageRequest
	h.do("GET", "/api/v1/triage-requests/"+string(r.ID), w.patient.token, nil).want(t, 200).decode(t, &got)
	if got.Status != models.TriageInProgress || got.TakenBy != clinicians[winner].user.ID {
		t.Errorf("patient sees %+v, want in progress with the winner", got)
	}
}

func TestTriageOutcome(t *testing.T) {
	h := newHarness(t)
	w := h.w
	other := h.newStaff(models.User{Role: models.RoleClinician, Profession: "gp", PracticeID: w.practiceA.ID})
	r := h.createTriage(t, w.patient.token, triageBody(w.patientA.ID))
	base := "/api/v1/triage-requests/" + string(r.ID)
	video := map[string]any{"kind": "video_consultation", "note": "I will call you by video at 10:00"}

	h.do("POST", base+"/outcome", w.clinicianA.token, video).want(t, 409) // not taken yet
	h.do("POST", base+"/take", w.clinicianA.token, nil).want(t, 200)
	h.do("POST", base+"/outcome", other.token, video).want(t, 409) // taken by someone else
	h.do("POST", base+"/outcome", w.patient.token, video).want(t, 403)
	h.do("POST", base+"/outcome", w.clinicianB.token, video).want(t, 403)
	p := h.do("POST", base+"/outcome", w.clinicianA.token, map[string]any{"kind": "leeches"}).want(t, 400).problem(t)
	if !hasFieldError(p, "kind") {
		t.Errorf("bad kind: %+v", p)
	}

	var done models.TriageRequest
	h.do("POST", base+"/outcome", w.clinicianA.token, video).want(t, 200).decode(t, &done)
	if done.Status != models.TriageCompleted || done.Outcome == nil || done.Outcome.Kind != models.OutcomeVideoConsultation || done.Outcome.CallID == "" {
		t.Fatalf("outcome = %+v", done)
	}
	h.do("POST", base+"/outcome", w.clinicianA.token, map[string]any{"kind": "self_care"}).want(t, 409)

	// The call exists, for this patient and request; the patient sees it and the outcome.
	var call models.Call
	h.do("GET", "/api/v1/calls/"+string(done.Outcome.CallID), w.patient.token, nil).want(t, 200).decode(t, &call)
	if call.PatientID != w.patientA.ID || call.TriageRequestID != r.ID || call.Status != models.CallOpen {
		t.Errorf("call %+v", call)
	}
	var list struct {
		Items []models.TriageRequest `json:"items"`
	}
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/triage-requests", w.patient.token, nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Outcome == nil || list.Items[0].Outcome.Note != video["note"] {
		t.Errorf("patient's list %+v", list.Items)
	}
	h.do("GET", "/api/v1/patients/"+string(w.patientA.ID)+"/triage-requests", w.patient2.token, nil).want(t, 403)
	h.do("GET", base, w.patient2.token, nil).want(t, 403)
	h.do("GET", base, w.clinicianB.token, nil).want(t, 403)
	h.do("GET", "/api/v1/triage-requests/not-an-id", w.patient.token, nil).want(t, 404)
	if n := h.auditCount(w.patientA.ID, "triage.outcome", models.OutcomeSuccess); n != 1 {
		t.Errorf("%d outcomes audited, want 1", n)
	}

	// face_to_face records the decision only; the adjustments stay on the request for booking.
	r2 := h.createTriage(t, w.patient.token, triageBody(w.patientA.ID))
	h.do("POST", "/api/v1/triage-requests/"+string(r2.ID)+"/take", w.clinicianA.token, nil).want(t, 200)
	var f2f models.TriageRequest
	h.do("POST", "/api/v1/triage-requests/"+string(r2.ID)+"/outcome", w.clinicianA.token, map[string]any{"kind": "face_to_face"}).want(t, 200).decode(t, &f2f)
	if f2f.Outcome.Kind != models.OutcomeFaceToFace || f2f.Outcome.CallID != "" || !f2f.Adjustments.Interpreter {
		t.Errorf("face to face outcome %+v", f2f)
	}
}
