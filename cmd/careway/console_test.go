package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromiumPath is Debian's chromium, which the browser tests drive.
const chromiumPath = "/usr/bin/chromium"

// TestConsole runs the web console's real-browser tests (web/e2e/console.js): headless Chromium
// with a fake camera and microphone, driven by playwright-core, against the whole program on
// the embedded database with the demo data set. It fails, never skips, when the browser or the
// npm packages are missing: a skipped browser test would let a broken console pass CI.
func TestConsole(t *testing.T) {
	web, err := filepath.Abs("../../web")
	if err != nil {
		t.Fatal(err)
	}
	const fix = "run `.ci/run`, or `npm ci --prefix web` and install Debian's chromium (apt-get install chromium)"
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser tests need %s: %v; %s", chromiumPath, err, fix)
	}
	if _, err := os.Stat(filepath.Join(web, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("the browser tests need web/node_modules/playwright-core: %v; %s", err, fix)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the browser tests need node: %v; %s", err, fix)
	}

	p := startProgram(t, demoEnv(t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute) // ~40 s on a quiet machine; CI machines can be very loaded
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(web, "e2e", "console.js"))
	cmd.Dir = web
	cmd.Env = append(os.Environ(),
		"CAREWAY_BASE="+p.base,
		"CAREWAY_PASSWORD="+demoPassword,
		"CHROMIUM="+chromiumPath,
		"PROFILE_DIR="+t.TempDir(),
		"CONSOLE_ONLY="+os.Getenv("CONSOLE_ONLY"),
		"SCREENSHOT_DIR="+os.Getenv("SCREENSHOT_DIR"),
	)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("web/e2e/console.js:\n%s", out)
	if err != nil {
		t.Fatalf("browser tests failed: %v (program output follows)\n%s", err, p.output())
	}
	// The browsers' calls went by the media server's fast path (UDP mux on loopback).
	resp, err := http.Get(p.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`careway_media_forwarded_packets_total\{path="fast"\} (\d+)`).FindSubmatch(body)
	if m == nil || string(m[1]) == "0" {
		t.Fatalf("no packets forwarded by the fast path during the browser tests; metrics:\n%s", grepLines(body, "careway_media"))
	}
	// ... and each one's time in the server was counted.
	c := regexp.MustCompile(`careway_media_forward_delay_seconds_count (\d+)`).FindSubmatch(body)
	if c == nil || string(c[1]) == "0" {
		t.Fatalf("no forwarding delays counted; metrics:\n%s", grepLines(body, "careway_media_forward_delay"))
	}
	if !regexp.MustCompile(`(?m)^careway_media_rejected_packets_total \d+$`).Match(body) {
		t.Fatalf("no count of RTP that did not decrypt; metrics:\n%s", grepLines(body, "careway_media"))
	}
}

// grepLines returns the lines of b that contain s.
func grepLines(b []byte, s string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
