package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"careway/auth"
	"careway/handlers"
	"careway/models"
)

func registerBody(email, password string) map[string]any {
	return map[string]any{"email": email, "password": password, "name": "Nadia Test", "dateOfBirth": "1980-02-29"}
}

func TestRegister(t *testing.T) {
	h := newHarness(t)
	t.Run("created, email normalised, then sign-in works", func(t *testing.T) {
		body := registerBody("  New.Patient@Example.ORG ", "a long enough passphrase")
		body["nhsNumber"] = "943 476 5919"
		body["practiceId"] = string(h.w.practiceA.ID)
		var prof struct {
			ID, Role, Email, PatientID, PracticeID string
		}
		h.do("POST", "/api/v1/auth/register", "", body).want(t, 201).decode(t, &prof)
		if prof.Role != "patient" || prof.Email != "new.patient@example.org" || prof.PatientID == "" {
			t.Fatalf("profile = %+v", prof)
		}
		if prof.PracticeID != "" {
			t.Errorf("practiceId = %q straight after self-registration; the practice has not accepted yet", prof.PracticeID)
		}
		p, err := h.patients.PatientByID(context.Background(), models.PatientID(prof.PatientID))
		if err != nil {
			t.Fatal(err)
		}
		if p.NHSNumber != "" || p.ClaimedNHSNumber != "9434765919" || p.RequestedPracticeID != h.w.practiceA.ID {
			t.Errorf("stored number %q, claim %q, request %q; want only a claim (digits) and a request", p.NHSNumber, p.ClaimedNHSNumber, p.RequestedPracticeID)
		}
		h.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "NEW.PATIENT@example.org", "password": "a long enough passphrase"}).want(t, 200)
		if n := h.auditCount(p.ID, "auth.register", models.OutcomeSuccess); n != 1 {
			t.Errorf("register audit events = %d, want 1", n)
		}
	})
	t.Run("email taken, whatever its case", func(t *testing.T) {
		r := h.do("POST", "/api/v1/auth/register", "", registerBody("NEW.patient@example.org", "another long passphrase")).want(t, 409)
		if p := r.problem(t); !hasFieldError(p, "email") {
			t.Errorf("409 should name the email field: %+v", p)
		}
	})
	t.Run("someone else's NHS number is only a claim", func(t *testing.T) {
		// Another person types the same number (or a patient's real, verified one): they are
		// registered, but take nothing: the number stays the verified patient's alone, and
		// the answer does not reveal that the number is known.
		for _, nhs := range []string{"9434765919", h.w.patientA.NHSNumber} {
			body := registerBody(models.NewID()+"@example.org", "another long passphrase")
			body["nhsNumber"] = nhs
			body["practiceId"] = string(h.w.practiceA.ID)
			var prof struct{ PatientID string }
			h.do("POST", "/api/v1/auth/register", "", body).want(t, 201).decode(t, &prof)
			// The practice's clinician cannot see the newcomer before the practice accepts them.
			h.do("GET", "/api/v1/patients/"+prof.PatientID, h.w.clinicianA.token, nil).want(t, 403)
		}
		got, err := h.patients.PatientByID(context.Background(), h.w.patientA.ID)
		if err != nil || got.NHSNumber == "" {
			t.Fatalf("the verified patient's number was disturbed: %+v, %v", got, err)
		}
	})
	bad := []struct {
		name  string
		body  any
		field string
	}{
		{"short password", registerBody("a@example.org", "short1234"), "password"},
		{"common password", registerBody("a@example.org", "Password123"), "password"},
		{"password holds the email name", registerBody("nadiaperkins@example.org", "nadiaperkins2024!"), "password"},
		{"password too long", registerBody("a@example.org", strings.Repeat("x", 129)), "password"},
		{"not an email", registerBody("not-an-email", "a long enough passphrase"), "email"},
		{"bad NHS check digit", func() map[string]any {
			b := registerBody("a@example.org", "a long enough passphrase")
			b["nhsNumber"] = "9434765918"
			return b
		}(), "nhsNumber"},
		{"future birth date", func() map[string]any {
			b := registerBody("a@example.org", "a long enough passphrase")
			b["dateOfBirth"] = time.Now().AddDate(1, 0, 0).Format("2006-01-02")
			return b
		}(), "dateOfBirth"},
		{"birth date not a date", func() map[string]any {
			b := registerBody("a@example.org", "a long enough passphrase")
			b["dateOfBirth"] = "29/02/1980"
			return b
		}(), "dateOfBirth"},
		{"unknown practice", func() map[string]any {
			b := registerBody("a@example.org", "a long enough passphrase")
			b["practiceId"] = models.NewID()
			return b
		}(), "practiceId"},
		{"operator object for email", `{"email":{"$ne":null},"password":"a long enough passphrase","name":"X","dateOfBirth":"1980-01-01"}`, "email"},
		{"number for name", `{"email":"a@example.org","password":"a long enough passphrase","name":42,"dateOfBirth":"1980-01-01"}`, "name"},
		{"unknown field", `{"email":"a@example.org","password":"a long enough passphrase","name":"X","dateOfBirth":"1980-01-01","role":"admin"}`, "role"},
		{"two values", `{"email":"a@example.org"} {}`, "body"},
		{"not JSON", `{"email":`, "body"},
		{"array body", `[]`, "body"},
		{"empty body", ``, "body"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("POST", "/api/v1/auth/register", "", tt.body).want(t, 400)
			if p := r.problem(t); !hasFieldError(p, tt.field) {
				t.Errorf("problem does not name field %q: %+v", tt.field, p)
			}
		})
	}
	t.Run("wrong content type", func(t *testing.T) {
		req := newRequest("POST", "/api/v1/auth/register", "email=a@example.org")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.send(req).want(t, 415)
	})
}

func TestBodyLimit(t *testing.T) {
	h := newHarness(t, harnessOpts{params: func(p *handlers.Params) { p.BodyLimit = 4096 }})
	body := registerBody("big@example.org", "a long enough passphrase")
	body["name"] = strings.Repeat("x", 8000)
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", h.serve()+"/api/v1/auth/register", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	r := h.sendReal(req).want(t, 413)
	// fasthttp refuses the body before any middleware runs; the answer must still carry an id.
	if p := r.problem(t); p.RequestID == "" || r.Header.Get("X-Request-Id") != p.RequestID {
		t.Errorf("413 request id: header %q, body %q; want the same non-empty id", r.Header.Get("X-Request-Id"), p.RequestID)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("413 without X-Content-Type-Options: nosniff")
	}
	if _, err := h.users.UserByEmail(context.Background(), "big@example.org"); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("an oversized registration stored something: %v", err)
	}
}

func TestRegisterThrottledPerAddress(t *testing.T) {
	h := newHarness(t, harnessOpts{params: func(p *handlers.Params) { p.RegisterPerIP = 2 }})
	for i := 0; i < 2; i++ {
		h.do("POST", "/api/v1/auth/register", "", registerBody("", "a long enough passphrase")).want(t, 400)
	}
	r := h.do("POST", "/api/v1/auth/register", "", registerBody("x@example.org", "a long enough passphrase")).want(t, 429)
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}

// TestRegisterThrottledPerIPv6Block: the limit counts an IPv6 client's whole /64, not each of
// the addresses it can pick from it.
func TestRegisterThrottledPerIPv6Block(t *testing.T) {
	h := newHarness(t, harnessOpts{params: func(p *handlers.Params) {
		p.RegisterPerIP = 2
		p.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}
	}})
	for i, want := range []int{400, 400, 429} {
		req := jsonRequest("POST", "/api/v1/auth/register", `{"email":""}`)
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("2001:db8:1:2::%x", i+1))
		h.send(req).want(t, want)
	}
	req := jsonRequest("POST", "/api/v1/auth/register", `{"email":""}`)
	req.Header.Set("X-Forwarded-For", "2001:db8:9:9::1") // another customer
	h.send(req).want(t, 400)
}

func TestLogin(t *testing.T) {
	h := newHarness(t)
	email := h.w.patient.user.Email
	var pair struct {
		AccessToken, RefreshToken, TokenType string
		ExpiresIn                            int
	}
	h.do("POST", "/api/v1/auth/login", "", map[string]any{"email": strings.ToUpper(email), "password": testPassword}).want(t, 200).decode(t, &pair)
	if pair.TokenType != "Bearer" || pair.ExpiresIn != 900 || pair.AccessToken == "" || pair.RefreshToken == "" {
		t.Fatalf("token answer = %+v", pair)
	}
	var me map[string]any
	h.do("GET", "/api/v1/me", pair.AccessToken, nil).want(t, 200).decode(t, &me)
	if me["id"] != string(h.w.patient.user.ID) || me["role"] != "patient" || me["patientId"] != string(h.w.patientA.ID) {
		t.Errorf("/me = %v", me)
	}

	wrong := h.do("POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": "not the password at all"}).want(t, 401)
	unknown := h.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "nobody@example.org", "password": "not the password at all"}).want(t, 401)
	if a, b := wrong.problem(t).Detail, unknown.problem(t).Detail; a != b {
		t.Errorf("wrong password says %q but unknown email says %q: that tells an attacker which emails exist", a, b)
	}
	h.do("POST", "/api/v1/auth/login", "", `{"email":"`+email+`","password":{"$gt":""}}`).want(t, 400)
	h.do("POST", "/api/v1/auth/login", "", map[string]any{"email": email}).want(t, 400)

	events, _, err := h.audit.ListAuditByActor(context.Background(), h.w.patient.user.ID, models.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var ok, failed int
	for _, e := range events {
		if e.Action == "auth.login" && e.Outcome == models.OutcomeSuccess {
			ok++
		}
		if e.Action == "auth.login" && e.Outcome == models.OutcomeFailure {
			failed++
		}
	}
	if ok != 1 || failed != 1 {
		t.Errorf("audited logins: %d success, %d failure; want 1 and 1", ok, failed)
	}
}

func TestLoginThrottled(t *testing.T) {
	h := newHarness(t)
	email := h.w.clinicianA.user.Email
	var last *response
	for i := 0; i < 12; i++ {
		last = h.do("POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": "wrong password number"})
		if last.Status == 429 {
			break
		}
		last.want(t, 401)
	}
	if last.Status != 429 {
		t.Fatalf("12 wrong passwords never throttled (last status %d)", last.Status)
	}
	if last.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Even the right password waits while throttled.
	h.do("POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": testPassword}).want(t, 429)
}

func login(t *testing.T, h *harness, u *models.User) (access, refresh string) {
	t.Helper()
	var pair struct{ AccessToken, RefreshToken string }
	h.do("POST", "/api/v1/auth/login", "", map[string]any{"email": u.Email, "password": testPassword}).want(t, 200).decode(t, &pair)
	return pair.AccessToken, pair.RefreshToken
}

func TestRefreshRotationAndReuse(t *testing.T) {
	h := newHarness(t)
	_, r1 := login(t, h, h.w.patient.user)
	var pair struct{ AccessToken, RefreshToken string }
	h.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refreshToken": r1}).want(t, 200).decode(t, &pair)
	if pair.RefreshToken == r1 {
		t.Fatal("refresh did not rotate the token")
	}
	h.do("GET", "/api/v1/me", pair.AccessToken, nil).want(t, 200)
	// r1 again: a reuse. It fails, and so does the newer token of the same family.
	h.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refreshToken": r1}).want(t, 401)
	h.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refreshToken": pair.RefreshToken}).want(t, 401)
	events, _, err := h.audit.ListAuditByActor(context.Background(), h.w.patient.user.ID, models.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	reuse := 0
	for _, e := range events {
		if e.Action == "auth.refresh_reuse" {
			reuse++
		}
	}
	// Two presentations of tokens from a revoked family: r1 itself, then its successor.
	if reuse != 2 {
		t.Errorf("reuse audit events = %d, want 2", reuse)
	}
	// Unknown and malformed tokens.
	h.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refreshToken": "made-up"}).want(t, 401)
	h.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refreshToken": ""}).want(t, 400)
	h.do("POST", "/api/v1/auth/refresh", "", `{"refreshToken":{"$ne":null}}`).want(t, 400)
}

func TestRefreshRace(t *testing.T) {
	h := newHarness(t)
	_, r1 := login(t, h, h.w.patient.user)
	bodies := make([]string, 10)
	for i := range bodies {
		bodies[i] = `{"refreshToken":"` + r1 + `"}`
	}
	if statuses := h.concurrently("/api/v1/auth/refresh", bodies); statuses[200] != 1 || statuses[401] != 9 {
		t.Errorf("10 concurrent refreshes of one token: %v, want exactly one 200 and nine 401", statuses)
	}
}

// concurrently POSTs each JSON body to path at the same time and counts the statuses.
func (h *harness) concurrently(path string, bodies []string) map[int]int {
	h.t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for _, b := range bodies {
		wg.Add(1)
		go func(b string) {
			defer wg.Done()
			resp, err := h.app.Test(jsonRequest("POST", path, b), -1)
			if err != nil {
				h.t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		}(b)
	}
	wg.Wait()
	return statuses
}

func TestLogout(t *testing.T) {
	h := newHarness(t)
	access, refresh := login(t, h, h.w.patient.user)
	_, otherRefresh := login(t, h, h.w.patient2.user)
	h.do("POST", "/api/v1/auth/logout", access, map[string]any{"refreshToken": otherRefresh}).want(t, 403)
	h.do("POST", "/api/v1/auth/logout", "", map[string]any{"refreshToken": refresh}).want(t, 401)
	h.do("POST", "/api/v1/auth/logout", access, map[string]any{"refreshToken": refresh}).want(t, 204)
	h.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refreshToken": refresh}).want(t, 401)
	h.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refreshToken": otherRefresh}).want(t, 200)
}

func TestAccessTokensRefused(t *testing.T) {
	h := newHarness(t)
	u := h.w.patient.user
	otherKeys, err := auth.LoadOrCreateKeyRing(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := mustKeys(t, h)
	issue := func(p auth.TokenParams) string {
		t.Helper()
		if p.Keys == nil {
			p.Keys = keys
		}
		if p.Issuer == "" {
			p.Issuer = "careway"
		}
		if p.Audience == "" {
			p.Audience = "careway-api"
		}
		if p.TTL == 0 {
			p.TTL = 15 * time.Minute
		}
		tok, _, err := auth.NewTokens(p).Issue(u)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := h.w.patient.token
	parts := strings.Split(good, ".")
	tamperedPayload := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"`+string(h.w.superAdmin.user.ID)+`","role":"admin","iss":"careway","aud":"careway-api","exp":4102444800}`)) + "." + parts[2]
	sig := []byte(parts[2])
	sig[3] ^= 1
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`))
	tokens := map[string]string{
		"malformed":         "not.a.jwt",
		"garbage":           "abc",
		"expired":           issue(auth.TokenParams{TTL: time.Minute, Now: func() time.Time { return time.Now().Add(-time.Hour) }}),
		"wrong audience":    issue(auth.TokenParams{Audience: "someone-else"}),
		"wrong issuer":      issue(auth.TokenParams{Issuer: "not-careway"}),
		"another key":       issue(auth.TokenParams{Keys: otherKeys}),
		"tampered payload":  tamperedPayload,
		"tampered sig":      parts[0] + "." + parts[1] + "." + string(sig),
		"alg none":          noneHeader + "." + parts[1] + ".",
		"alg none with sig": noneHeader + "." + parts[1] + "." + parts[2],
	}
	for name, tok := range tokens {
		t.Run(name, func(t *testing.T) {
			r := h.do("GET", "/api/v1/me", tok, nil).want(t, 401)
			r.problem(t)
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	t.Run("no token", func(t *testing.T) { h.do("GET", "/api/v1/me", "", nil).want(t, 401) })
	t.Run("basic scheme", func(t *testing.T) {
		req := newRequest("GET", "/api/v1/me", "")
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("a:b")))
		h.send(req).want(t, 401)
	})
	t.Run("good token still works", func(t *testing.T) { h.do("GET", "/api/v1/me", good, nil).want(t, 200) })
}

func TestJWKS(t *testing.T) {
	h := newHarness(t)
	var set struct {
		Keys []struct{ Kty, Crv, X, Kid, Alg string }
	}
	h.do("GET", "/.well-known/jwks.json", "", nil).want(t, 200).decode(t, &set)
	if len(set.Keys) == 0 || set.Keys[0].Kty != "OKP" || set.Keys[0].Crv != "Ed25519" || set.Keys[0].Kid == "" {
		t.Fatalf("JWKS = %+v", set)
	}
}

func TestMeForDeletedOrUnknownUser(t *testing.T) {
	h := newHarness(t)
	ghost := &models.User{ID: models.UserID(models.NewID()), Role: models.RolePatient, Email: "ghost@example.org"}
	tok, _, err := h.tokens.Issue(ghost)
	if err != nil {
		t.Fatal(err)
	}
	h.do("GET", "/api/v1/me", tok, nil).want(t, http.StatusUnauthorized)
}

// TestRegisterRaces sends the same registration from many clients at once. Exactly one wins;
// the others get 409; and the losers leave no patient record or account behind.
func TestRegisterRaces(t *testing.T) {
	h := newHarness(t)
	race := func(bodies []string) map[int]int { return h.concurrently("/api/v1/auth/register", bodies) }
	count := func(coll string, filter map[string]any) int64 {
		n, err := h.db.Database().Collection(coll).CountDocuments(context.Background(), filter)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Run("same email", func(t *testing.T) {
		bodies := make([]string, 8)
		for i := range bodies {
			bodies[i] = `{"email":"racer@example.org","password":"a long enough passphrase","name":"Rae Racer","dateOfBirth":"1970-01-01"}`
		}
		if got := race(bodies); got[201] != 1 || got[409] != 7 {
			t.Fatalf("statuses = %v, want one 201 and seven 409", got)
		}
		if n := count("patients", map[string]any{"name": "Rae Racer"}); n != 1 {
			t.Errorf("%d patient records for one registration, want 1 (losers must undo theirs)", n)
		}
	})
	t.Run("same NHS number, different emails", func(t *testing.T) {
		// Claims do not collide: all register, and no record gets the number verified.
		nhs := nextNHSNumber()
		bodies := make([]string, 8)
		for i := range bodies {
			bodies[i] = fmt.Sprintf(`{"email":"twin%d@example.org","password":"a long enough passphrase","name":"Tess Twin","dateOfBirth":"1970-01-01","nhsNumber":%q}`, i, nhs)
		}
		if got := race(bodies); got[201] != 8 {
			t.Fatalf("statuses = %v, want eight 201", got)
		}
		if n := count("patients", map[string]any{"nhsNumber": nhs}); n != 0 {
			t.Errorf("%d records hold the number as verified, want 0", n)
		}
	})
}
