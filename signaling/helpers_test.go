package signaling_test

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"careway/models"
	"careway/signaling"
	"careway/signaling/sigtest"
)

// testHub is a hub on loopback with short limits, closed when the test ends.
type testHub struct {
	*signaling.Hub
	tb     testing.TB
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed map[models.CallID]signaling.Summary
	done   chan models.CallID
}

func newTestHub(tb testing.TB, tweak ...func(*signaling.Params)) *testHub {
	tb.Helper()
	th := &testHub{tb: tb, closed: map[models.CallID]signaling.Summary{}, done: make(chan models.CallID, 100)}
	level := slog.LevelWarn
	if os.Getenv("SIGNALING_DEBUG") != "" {
		level = slog.LevelDebug
	}
	p := signaling.Params{
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		Network: signaling.Network{ListenIP: "127.0.0.1", UDPPort: 0, TCPPort: -1},
		Limits:  signaling.Limits{QualityInterval: 500 * time.Millisecond, ResumeGrace: 2 * time.Second},
		OnClose: func(call models.CallID, s signaling.Summary) {
			th.mu.Lock()
			th.closed[call] = s
			th.mu.Unlock()
			select {
			case th.done <- call:
			default:
			}
		},
	}
	for _, f := range tweak {
		f(&p)
	}
	h, err := signaling.NewHub(p)
	if err != nil {
		tb.Fatalf("NewHub: %v", err)
	}
	th.Hub = h
	tb.Cleanup(func() {
		if err := h.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
		th.wg.Wait()
	})
	return th
}

// join connects a client to call as who.
func (th *testHub) join(call models.CallID, who signaling.Identity, opts sigtest.Options) *sigtest.Client {
	th.tb.Helper()
	server, client := sigtest.Pipe()
	th.wg.Add(1)
	go func() {
		defer th.wg.Done()
		if err := th.Join(context.Background(), call, who, server); err != nil {
			th.tb.Errorf("Join: %v", err)
		}
	}()
	return sigtest.New(th.tb, client, opts)
}

// resume reconnects c on a new socket with its token.
func (th *testHub) resume(c *sigtest.Client, call models.CallID, who signaling.Identity, token string) {
	server, client := sigtest.Pipe()
	th.wg.Add(1)
	go func() {
		defer th.wg.Done()
		_ = th.Join(context.Background(), call, who, server)
	}()
	c.Resume(client, token)
}

var (
	clinician = signaling.Identity{UserID: "u-clin", Role: signaling.RoleClinician, Name: "Dr Test"}
	patient   = signaling.Identity{UserID: "u-pat", Role: signaling.RolePatient, Name: "Pat"}
	guest     = signaling.Identity{UserID: "g-1", Role: signaling.RoleGuest, Name: "Interpreter"}
	staff     = signaling.Identity{UserID: "u-staff", Role: signaling.RoleCareHomeStaff, Name: "Carer"}
)

// eventually polls cond until it is true or timeout passes.
func eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func decode[T any](tb testing.TB, c *sigtest.Client, typ string) T {
	tb.Helper()
	var v T
	sigtest.Decode(tb, c.Wait(typ, 5*time.Second), &v)
	return v
}

// qualityUntil waits (up to 15 s) for a quality message to c in which at least n participants'
// figures satisfy ok.
func qualityUntil(tb testing.TB, c *sigtest.Client, what string, ok func(signaling.Quality) bool, n int) {
	tb.Helper()
	eventually(tb, 15*time.Second, what, func() bool {
		env, got := c.WaitFor(signaling.TypeQuality, 2*time.Second)
		if !got {
			return false
		}
		var q signaling.QualityData
		sigtest.Decode(tb, env, &q)
		matched := 0
		for _, p := range q.Participants {
			if ok(p) {
				matched++
			}
		}
		return matched >= n
	})
}
