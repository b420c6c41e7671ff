package signaling_test

import (
	"careway/models"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"careway/signaling"
	"careway/signaling/sigtest"
)

func TestJoinLeaveCyclesLeaveNoGoroutines(t *testing.T) {
	cycles := 200
	if n, err := strconv.Atoi(os.Getenv("LEAK_CYCLES")); err == nil {
		cycles = n
	}
	if testing.Short() {
		t.Skip("200 peer connections")
	}
	h := newTestHub(t)
	settle := func(limit int) int {
		var n int
		for range 100 {
			runtime.GC()
			if n = runtime.NumGoroutine(); n <= limit {
				return n
			}
			time.Sleep(50 * time.Millisecond)
		}
		return n
	}
	// Warm up once so lazily started runtime and pion goroutines are counted in the baseline.
	cycle(t, h, "leak", 0)
	time.Sleep(500 * time.Millisecond)
	runtime.GC()
	base := runtime.NumGoroutine()
	// Four calls at a time, each cycling 50 times.
	var wg sync.WaitGroup
	for lane := range 4 {
		wg.Go(func() {
			for i := lane; i < cycles; i += 4 {
				cycle(t, h, models.CallID(fmt.Sprintf("leak-%d", lane)), i)
			}
		})
	}
	wg.Wait()
	if n := settle(base + 2); n > base+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after 200 join/leave cycles\n%s", base, n, buf[:runtime.Stack(buf, true)])
	}
}

// cycle joins a clinician (and, every other time, a waiting patient), lets media negotiate, then
// leaves: by leave, by dropping the socket, or by the room ending.
func cycle(t *testing.T, h *testHub, call models.CallID, i int) {
	t.Helper()
	server, client := sigtest.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Join(context.Background(), call, clinician, server)
	}()
	c := sigtest.New(t, client, sigtest.Options{Publish: i%4 == 0})
	c.Joined()
	c.Wait(signaling.TypeOffer, 5*time.Second)
	if err := c.Connected(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	var pat *sigtest.Client
	var patDone chan struct{}
	if i%2 == 1 {
		ps, pc := sigtest.Pipe()
		patDone = make(chan struct{})
		go func() {
			defer close(patDone)
			_ = h.Join(context.Background(), call, patient, ps)
		}()
		pat = sigtest.New(t, pc, sigtest.Options{})
		pat.Joined()
	}
	switch i % 3 {
	case 0:
		c.Send(signaling.TypeLeave, nil)
		if pat != nil {
			pat.Send(signaling.TypeLeave, nil)
		}
	case 1:
		c.Send(signaling.TypeEnd, nil)
	case 2:
		h.End(call)
	}
	<-done
	if pat != nil {
		<-patDone
	}
	c.Close()
	if pat != nil {
		pat.Close()
	}
}
