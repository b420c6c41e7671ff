package handlers_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestConsoleFiles checks how the embedded web console is served: the page at /, its assets
// with their types, the console's CSP and permissions, revalidation by ETag, and nothing served
// in place of API paths or for unknown files. (The console is not part of the API, so these
// answers are not checked against docs/openapi.yaml.)
func TestConsoleFiles(t *testing.T) {
	h := newHarness(t)
	get := func(path string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := h.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, body := get("/", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<main") {
		t.Fatalf("GET / = %d %q, body %.80q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline or eval", csp)
	}
	if pp := resp.Header.Get("Permissions-Policy"); !strings.Contains(pp, "camera=(self)") || !strings.Contains(pp, "microphone=(self)") {
		t.Errorf("Permissions-Policy = %q", pp)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control = %q, want no-cache", cc)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if again, b := get("/", map[string]string{"If-None-Match": etag}); again.StatusCode != 304 || b != "" {
		t.Errorf("revalidation with the ETag = %d with %d bytes, want 304 and none", again.StatusCode, len(b))
	}
	if idx, _ := get("/index.html", nil); idx.Header.Get("ETag") != etag {
		t.Errorf("/index.html has ETag %q, / has %q", idx.Header.Get("ETag"), etag)
	}

	for path, ctype := range map[string]string{"/js/app.js": "text/javascript", "/css/app.css": "text/css", "/favicon.svg": "image/svg+xml"} {
		r, b := get(path, nil)
		if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), ctype) || b == "" {
			t.Errorf("GET %s = %d %q (%d bytes), want 200 %s", path, r.StatusCode, r.Header.Get("Content-Type"), len(b), ctype)
		}
	}
	for _, path := range []string{"/nope.js", "/js/", "/../web.go", "/web.go", "/e2e/console.js", "/package.json"} {
		if r, _ := get(path, nil); r.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", path, r.StatusCode)
		}
	}
	// API paths keep their own answers: an unauthenticated API call is 401, never the page.
	if r, b := get("/api/v1/me", nil); r.StatusCode != 401 || strings.Contains(b, "<main") {
		t.Errorf("GET /api/v1/me = %d, want 401 from the API", r.StatusCode)
	}
	req := httptest.NewRequest("POST", "/", strings.NewReader("x"))
	if r, err := h.app.Test(req, -1); err != nil || r.StatusCode == 200 {
		t.Errorf("POST / = %v %v, want no page", r.StatusCode, err)
	}
}
