package handlers_test

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"careway/handlers"
	"careway/models"
	"careway/store"
	"careway/store/embedded"
)

func TestHealthAndReadiness(t *testing.T) {
	h := newHarness(t)
	h.do("GET", "/healthz", "", nil).want(t, 200)
	h.do("GET", "/readyz", "", nil).want(t, 200)
	r := h.do("GET", "/api/openapi.yaml", "", nil).want(t, 200)
	if !strings.Contains(string(r.Body), "openapi: 3.0.3") {
		t.Error("/api/openapi.yaml does not serve the document")
	}
}

// TestDatabaseOutage stops the database under a running app: readiness and the API answer 503
// while it is away, nothing already stored is lost, and both recover without a restart.
func TestDatabaseOutage(t *testing.T) {
	// A short data directory: the socket must stay at the same path across the restart, and
	// a long test temp path would push it into a fresh temporary directory each time.
	dir, err := os.MkdirTemp("", "cw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Params{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, srv.URI(), "outage", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	h := newHarness(t, harnessOpts{db: db})
	path := "/api/v1/patients/" + string(h.w.patientA.ID)
	h.do("GET", path, h.w.clinicianA.token, nil).want(t, 200)

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	r := h.do("GET", "/readyz", "", nil).want(t, 503)
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	r = h.do("GET", path, h.w.clinicianA.token, nil).want(t, 503)
	if p := r.problem(t); strings.Contains(p.Detail, "Alice") {
		t.Errorf("problem leaks patient data: %+v", p)
	}

	srv2, err := embedded.Start(ctx, embedded.Params{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv2.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := h.do("GET", "/readyz", "", nil)
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d 30 s after the database came back", r.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var p models.Patient
	h.do("GET", path, h.w.clinicianA.token, nil).want(t, 200).decode(t, &p)
	if p.Name != "Alice Patient" {
		t.Errorf("after the outage the record reads %+v", p)
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t)
	h.do("GET", "/api/v1/patients/"+string(h.w.patientA.ID), h.w.clinicianA.token, nil).want(t, 200)
	// Requests of other methods after it must not rewrite its labels (they once did: the
	// method string was a view of a reused buffer).
	for i := 0; i < 3; i++ {
		h.do("POST", "/api/v1/auth/login", "", map[string]any{"email": "x@example.org"}).want(t, 400)
		h.do("DELETE", "/api/v1/patients/"+string(h.w.patientA.ID)+"/proxy-consent", h.w.patient2.token, nil).want(t, 403)
	}
	h.do("GET", "/nowhere", "", nil).want(t, 404)
	h.do("GET", "/api/v1/nowhere", h.w.patient.token, nil).want(t, 404)
	body := string(h.do("GET", "/metrics", "", nil).want(t, 200).Body)
	for _, want := range []string{
		`careway_http_requests_total{method="GET",route="/api/v1/patients/:patientId",status="200"} 1`,
		`careway_http_request_duration_seconds_bucket{method="GET",route="/api/v1/patients/:patientId",status="200"`,
		`route="unmatched",status="404"`,
		`careway_http_requests_total{method="POST",route="/api/v1/auth/login",status="400"} 3`,
		`careway_http_requests_total{method="DELETE",route="/api/v1/patients/:patientId/proxy-consent",status="403"} 3`,
		"go_goroutines",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, string(h.w.patientA.ID)) {
		t.Error("/metrics labels carry a patient id")
	}

	locked := newHarness(t, harnessOpts{params: func(p *handlers.Params) { p.MetricsToken = "s3cret-scrape" }})
	locked.do("GET", "/metrics", "", nil).want(t, 401)
	locked.do("GET", "/metrics", "s3cret-scrape", nil).want(t, 200)
}

func TestHeadersAndRequestIDs(t *testing.T) {
	h := newHarness(t)
	req := newRequest("GET", "/api/v1/me", "")
	req.Header.Set("Authorization", "Bearer "+h.w.patient.token)
	req.Header.Set("X-Request-Id", "client-chosen\nforged")
	r := h.send(req).want(t, 200)
	id := r.Header.Get("X-Request-Id")
	if id == "" || strings.Contains(id, "client-chosen") {
		t.Errorf("X-Request-Id = %q, want a server-generated id", id)
	}
	for header, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "SAMEORIGIN",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-store",
	} {
		if got := r.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	if !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", r.Header.Get("Content-Security-Policy"))
	}
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS answered with no origins configured")
	}
	h.do("GET", "/nowhere", "", nil).want(t, 404).problem(t)
	p := h.do("GET", "/api/v1/nowhere", h.w.patient.token, nil).want(t, 404).problem(t)
	if p.RequestID == "" {
		t.Error("problem without requestId")
	}
}

func TestCORS(t *testing.T) {
	h := newHarness(t, harnessOpts{params: func(p *handlers.Params) { p.CORSOrigins = []string{"https://app.example.org"} }})
	for origin, want := range map[string]string{"https://app.example.org": "https://app.example.org", "https://evil.example": ""} {
		req := newRequest("OPTIONS", "/api/v1/me", "")
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := h.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("origin %s: Access-Control-Allow-Origin = %q, want %q", origin, got, want)
		}
	}
}

// TestClientAddress checks whose address the audit trail records: X-Forwarded-For is believed
// only from a trusted proxy, and read from the right.
func TestClientAddress(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32"), netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name    string
		proxies []netip.Prefix
		xff     string
		want    string
		second  string // a second X-Forwarded-For line, as some proxies add
	}{
		{name: "two header lines: the proxy's line counts", proxies: trusted, xff: "6.6.6.6", second: "203.0.113.9", want: "203.0.113.9"},
		{name: "no proxy configured: header ignored", xff: "203.0.113.9", want: "0.0.0.0"},
		{name: "trusted proxy: client is the rightmost untrusted hop", proxies: trusted, xff: "198.51.100.7, 203.0.113.9, 10.1.2.3", want: "203.0.113.9"},
		{name: "spoofed left entries ignored", proxies: trusted, xff: "1.1.1.1, 203.0.113.9", want: "203.0.113.9"},
		{name: "garbage hop stops the walk", proxies: trusted, xff: "203.0.113.9, nonsense", want: "0.0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{params: func(p *handlers.Params) { p.TrustedProxies = tt.proxies }})
			req := newRequest("GET", "/api/v1/patients/"+string(h.w.patientA.ID), "")
			req.Header.Set("Authorization", "Bearer "+h.w.patient.token)
			req.Header.Set("X-Forwarded-For", tt.xff)
			if tt.second != "" {
				req.Header.Add("X-Forwarded-For", tt.second)
			}
			h.send(req).want(t, 200)
			events, _, err := h.audit.ListAuditByPatient(context.Background(), h.w.patientA.ID, models.Page{Limit: 1})
			if err != nil || len(events) != 1 {
				t.Fatalf("audit: %v, %d events", err, len(events))
			}
			if got := events[0].ClientAddr; got != tt.want {
				t.Errorf("audited client address = %q, want %q", got, tt.want)
			}
		})
	}
	_ = slog.Default
}
