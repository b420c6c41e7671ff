package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/booking"
	"careway/docs"
	"careway/handlers"
	"careway/handlers/handlerstest"
	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// harness is one Careway app on a fresh embedded database, with a small world of organisations
// and people (see newWorld) and a client that checks every answer against docs/openapi.yaml.
type harness struct {
	t        *testing.T
	app      *fiber.App
	db       *store.DB
	users    *store.UserStore
	patients *store.PatientStore
	orgs     *store.OrgStore
	audit    *store.AuditStore
	conds    *store.ConditionStore
	pop      *store.PopulationStore
	obs      *store.ObservationStore
	plans    *store.PlanStore
	alerts   *store.AlertStore
	triage   *store.TriageStore
	calls    *store.CallStore
	// Booking.
	booking *booking.Service
	tokens  *auth.Tokens
	keys    *auth.KeyRing
	hasher  *auth.Hasher
	now     time.Time
	w       world
}

var (
	hashOnce sync.Once
	testHash string // the hash of testPassword, computed once: argon2id is slow on purpose
)

const testPassword = "correct horse battery staple"

type harnessOpts struct {
	params func(*handlers.Params)
	db     *store.DB // default: a fresh database on the shared embedded server
}

func newHarness(t *testing.T, opts ...harnessOpts) *harness {
	t.Helper()
	var db *store.DB
	for _, o := range opts {
		db = o.db
	}
	if db == nil {
		db = storetest.MustOpen(t)
	}
	h := &harness{t: t, db: db, users: store.NewUserStore(db), patients: store.NewPatientStore(db),
		orgs: store.NewOrgStore(db), audit: store.NewAuditStore(db), conds: store.NewConditionStore(db),
		obs: store.NewObservationStore(db), plans: store.NewPlanStore(db), alerts: store.NewAlertStore(db), triage: store.NewTriageStore(db),
		calls: store.NewCallStore(db),
		// On a loaded CI machine eight hashes can queue longer than the production 2 s; the
		// tests that want ETOOMANY build their own hasher.
		hasher: auth.NewHasher(4).WithSlotWait(time.Minute), now: time.Now()}
	keys, err := auth.LoadOrCreateKeyRing(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.keys = keys
	h.tokens = auth.NewTokens(auth.TokenParams{Keys: keys, Issuer: "careway", Audience: "careway-api", TTL: 15 * time.Minute})
	svc := auth.NewService(auth.ServiceParams{Users: h.users, Refresh: store.NewRefreshTokenStore(db), Hasher: h.hasher,
		Tokens: h.tokens, Throttle: auth.NewThrottle(auth.ThrottleParams{})})
	hashOnce.Do(func() {
		testHash, err = h.hasher.Hash(context.Background(), testPassword)
	})
	if err != nil {
		t.Fatal(err)
	}
	h.pop = store.NewPopulationStore(db)
	p := handlers.Params{Population: h.pop, ChangeSources: []models.ChangeSource{h.obs, h.plans, h.alerts},
		DB: db, Users: h.users, Patients: h.patients, Orgs: h.orgs, Audit: h.audit, Conditions: h.conds,
		Observations: h.obs, Plans: h.plans, Alerts: h.alerts, AlertTriage: h.triage,
		Auth: svc, Tokens: h.tokens, Keys: keys, Hasher: h.hasher, OpenAPI: docs.OpenAPI,
		Logger: slog.New(slog.DiscardHandler), RegisterPerIP: 1000,
		Triage: h.triage, Calls: h.calls}
	// Booking.
	p.Sessions, p.Slots, p.Appointments = store.NewSessionStore(db), store.NewSlotStore(db), store.NewAppointmentStore(db)
	p.Policies, p.Notifications, p.Invitations = store.NewBookingPolicyStore(db), store.NewNotificationStore(db), store.NewInvitationStore(db)
	h.booking = booking.New(booking.Params{Sessions: p.Sessions, Slots: p.Slots, Appointments: p.Appointments, Policies: p.Policies,
		Invitations: p.Invitations,
		Notifier: &booking.Notifier{Store: p.Notifications, Logger: slog.New(slog.DiscardHandler), Now: time.Now,
			Carers: booking.HomeStaff{Patients: h.patients, Users: h.users}},
		Calls: booking.StoreCalls{Calls: store.NewCallStore(db), Now: time.Now}})
	p.Booking = h.booking
	p.ChangeSources = append(p.ChangeSources, p.Appointments.(*store.AppointmentStore))
	for _, o := range opts {
		if o.params != nil {
			o.params(&p)
		}
	}
	h.app = handlers.NewApp(p)
	h.w = newWorld(t, h)
	return h
}

// response is an answer already checked against the OpenAPI document.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// problem decodes a problem+json body.
func (r *response) problem(t *testing.T) handlers.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type = %q, want application/problem+json (status %d, body %s)", ct, r.Status, r.Body)
	}
	var p handlers.Problem
	r.decode(t, &p)
	return p
}

// hasFieldError reports whether the problem names field.
func hasFieldError(p handlers.Problem, field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

// do sends a request (body: nil, a string of raw JSON, or a value to encode) with an optional
// bearer token and checks the answer against the OpenAPI document.
func (h *harness) do(method, path, token string, body any) *response {
	h.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			h.t.Fatal(err)
		}
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.send(req)
}

func (h *harness) send(req *http.Request) *response {
	h.t.Helper()
	resp, err := h.app.Test(req, -1)
	return h.read(req, resp, err)
}

// read takes in an answer and checks it against the OpenAPI document.
func (h *harness) read(req *http.Request, resp *http.Response, err error) *response {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	handlerstest.CheckResponse(h.t, req, r.Status, r.Header, r.Body)
	return r
}

// want fails the test unless the answer has the given status.
func (r *response) want(t *testing.T, status int) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// auditCount counts the audit events about a patient with the given action and outcome.
func (h *harness) auditCount(patient models.PatientID, action, outcome string) int {
	h.t.Helper()
	events, _, err := h.audit.ListAuditByPatient(context.Background(), patient, models.Page{Limit: 200})
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.Action == action && e.Outcome == outcome {
			n++
		}
	}
	return n
}

func mustKeys(t *testing.T, h *harness) *auth.KeyRing {
	t.Helper()
	return h.keys
}

func newRequest(method, path, body string) *http.Request {
	return httptest.NewRequest(method, path, strings.NewReader(body))
}

func jsonRequest(method, path, body string) *http.Request {
	req := newRequest(method, path, body)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// serve runs the app on a loopback port for the rare test that needs a real connection (Fiber's
// in-memory Test returns a body-limit error instead of the answer), and returns its base URL.
func (h *harness) serve() string {
	h.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	go h.app.Listener(ln)
	h.t.Cleanup(func() { h.app.Shutdown() })
	return "http://" + ln.Addr().String()
}

// sendReal sends req over a real connection and checks the answer against the document.
func (h *harness) sendReal(req *http.Request) *response {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	return h.read(req, resp, err)
}
