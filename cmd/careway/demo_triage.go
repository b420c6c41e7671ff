package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/handlers"
	"careway/models"
)

// demoID kinds of the demo triage requests and of the observations that go with one.
const (
	kindTriage        = 32
	kindTriageReading = 33
)

// demoTriageRequest is one request in the demo practice's triage queue that a patient, or the
// care home for a resident, submitted ago before the seed. The seed never chooses a priority:
// the API assesses each one as it would any other, from the patient's record as it stood then.
type demoTriageRequest struct {
	kind         byte // kindPatient or kindResident
	n            int  // 1-based, as in demoPatients / demoResidents
	ago          time.Duration
	description  string
	symptoms     []string
	mode         models.AppointmentMode
	availability string
	adjustments  models.Adjustments
	vitals       map[string]any // a resident's observations taken just before (RESTORE2), or nil
	shows        string         // what the demo shows with this one, for the reader
}

var demoTriageRequests = []demoTriageRequest{
	{kind: kindPatient, n: 2, ago: 4*time.Hour + 10*time.Minute, mode: models.ModePhone,
		description: "My home blood pressure was very high on Friday morning (184/106). I feel well: no headache, chest pain or weakness. Should I change my tablets?",
		symptoms:    []string{"high home blood pressure reading"}, availability: "Any time after 11am; I work early shifts",
		shows: "urgent: his open red blood-pressure alert is weighed"},
	{kind: kindResident, n: 1, ago: time.Hour + 35*time.Minute, mode: models.ModeVideo,
		description: "Edith has been off her food for three days and is sleepier than usual. This afternoon she is breathing faster and her pulse is up (NEWS2 4 on our observations). Could a GP review her today or tomorrow?",
		symptoms:    []string{"not eating", "more sleepy", "breathing faster"}, availability: "Any time; a carer can sit with her on the tablet",
		adjustments: models.Adjustments{CarerAttending: true},
		vitals: map[string]any{"respiratoryRate": 21, "oxygenSaturation": 95, "onOxygen": false, "systolic": 126, "pulse": 94,
			"consciousness": "A", "temperature": 37.8},
		shows: "soon: submitted by the care home, the amber NEWS2 taken just before is weighed"},
	{kind: kindPatient, n: 5, ago: 3*24*time.Hour + 2*time.Hour, mode: models.ModeVideo,
		description: "I would like to talk about being referred to a weight management programme. My sugars have been better since I started walking.",
		symptoms:    []string{}, availability: "Weekday lunchtimes, 12 to 2",
		shows: "routine, raised to soon by three days' waiting"},
	{kind: kindPatient, n: 14, ago: 6*time.Hour + 20*time.Minute, mode: models.ModeFaceToFace,
		description: "Pain in my right knee for three weeks, worse going up stairs. No injury. Paracetamol helps a little.",
		symptoms:    []string{"knee pain", "stiffness in the morning"}, availability: "Mornings, Monday to Wednesday",
		adjustments: models.Adjustments{Interpreter: true, Language: "Polish"},
		shows:       "routine, with an interpreter asked for"},
	{kind: kindPatient, n: 10, ago: 2*time.Hour + 50*time.Minute, mode: models.ModePhone,
		description: "Since a cold last week I am using my blue inhaler three or four times a day, mostly for a cough at night. My peak flow is in the green zone and I am not breathless at rest.",
		symptoms:    []string{"night-time cough", "wheeze"}, availability: "After 5pm on weekdays",
		shows: "routine"},
}

// demoTriageParams is what seeding the triage requests needs. Each request is submitted through
// an instance of the API whose clock reads the request's submission time, so its priority is
// assessed, and its waiting time counted, as if it had come in then; everything else about it
// (checks, assessment, audit) is the API's own. The resident's observations go through App,
// the API as served, because the change feed needs their write stamped at the real time.
type demoTriageParams struct {
	App          *fiber.App
	Tokens       *auth.Tokens
	Keys         *auth.KeyRing
	Users        models.UserStore
	Patients     models.PatientStore
	Orgs         models.OrgStore
	Audit        models.AuditStore
	Observations models.ObservationStore
	Alerts       models.AlertStore
	Triage       models.TriageStore
	Log          *slog.Logger
	Readings     bool // false with CAREWAY_DEMO_WEEKS=0: no readings are seeded, this one neither
}

// seedDemoTriage submits the demo triage requests that are not stored yet, and returns how many
// it stored. Ids are fixed, so a second start (or one after an interrupted seed) stores nothing
// twice. It runs after seedDemoLTC: the open alerts and readings it made are weighed. A database
// without the demo practice is not touched.
func seedDemoTriage(ctx context.Context, p demoTriageParams, now time.Time) (int, error) {
	now = now.UTC().Truncate(time.Minute)
	if _, err := p.Orgs.PracticeByID(ctx, models.PracticeID(demoID(kindPractice, 1))); models.ErrorCode(err) == models.ENOTFOUND {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	var mu sync.Mutex
	var at time.Time
	var api *fiber.App // made only when a request needs storing: a restart with all stored makes none
	staff := &models.User{ID: models.UserID(demoID(kindUser, 2+3)), Role: models.RoleCareHomeStaff,
		CareHomeID: models.CareHomeID(demoID(kindHome, 1)), PracticeID: models.PracticeID(demoID(kindPractice, 1))}
	made := 0
	for i, d := range demoTriageRequests {
		if err := ctx.Err(); err != nil {
			return made, err
		}
		id := models.TriageRequestID(demoID(kindTriage, i+1))
		if _, err := p.Triage.TriageRequestByID(ctx, id); err == nil {
			continue
		} else if models.ErrorCode(err) != models.ENOTFOUND {
			return made, err
		}
		patient := models.PatientID(demoID(d.kind, d.n))
		poster := staff
		if d.kind == kindPatient {
			poster = &models.User{ID: models.UserID(demoID(kindUser, 100+d.n)), Role: models.RolePatient, PatientID: patient}
		}
		submitted := now.Add(-d.ago)
		if d.vitals != nil && p.Readings {
			r := map[string]any{"id": demoID(kindTriageReading, i+1), "code": models.CodeVitalSigns,
				"effectiveAt": submitted.Add(-2 * time.Minute).Format(time.RFC3339)}
			for k, v := range d.vitals {
				r[k] = v
			}
			if _, err := postDemoReadings(demoLTCParams{App: p.App, Tokens: p.Tokens}, poster, patient, []map[string]any{r}); err != nil {
				return made, fmt.Errorf("observations for demo triage request %d: %w", i+1, err)
			}
		}
		mu.Lock()
		at = submitted
		mu.Unlock()
		if api == nil {
			api = handlers.NewApp(handlers.Params{Users: p.Users, Patients: p.Patients, Orgs: p.Orgs, Audit: p.Audit,
				Observations: p.Observations, Alerts: p.Alerts, Triage: p.Triage, Tokens: p.Tokens, Keys: p.Keys, Logger: p.Log,
				Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return at }})
		}
		status, body, err := demoPost(api, p.Tokens, poster, "/api/v1/triage-requests", map[string]any{
			"id": id, "patientId": patient, "description": d.description, "preferredMode": d.mode, "redFlags": []string{},
			"symptoms": d.symptoms, "availability": d.availability, "adjustments": d.adjustments})
		if err != nil {
			return made, err
		}
		if status != 201 {
			return made, fmt.Errorf("demo triage request %d: POST answered %d: %s", i+1, status, body)
		}
		made++
	}
	return made, nil
}

// demoPost sends body as JSON to app in memory, with an access token for poster, and returns
// the status and the answer.
func demoPost(app *fiber.App, tokens *auth.Tokens, poster *models.User, path string, body any) (int, []byte, error) {
	tok, _, err := tokens.Issue(poster)
	if err != nil {
		return 0, nil, err
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req := httptest.NewRequest("POST", path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := app.Test(req, -1)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}
