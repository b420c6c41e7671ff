package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"careway/signaling"
)

// raiseOpenFiles lifts this process's open-files limit to its hard limit (children inherit it)
// and returns the new soft limit.
func raiseOpenFiles() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	return l.Cur, nil
}

// runIdle opens sockets waiting-room sockets (patients joined to calls of perCall patients each,
// never admitted), lets the server settle, and reports the server's resident memory against an
// empty server's, with the runtime's own breakdown. Everything is bounded by limit.
func runIdle(ctx context.Context, sockets, perCall, runs int, limit time.Duration, profileDir string, log, out io.Writer) error {
	nofile, err := raiseOpenFiles()
	if err != nil {
		return err
	}
	if need := uint64(sockets) + 200; nofile < need {
		return fmt.Errorf("open-files hard limit %d is below the %d sockets need", nofile, need)
	}
	var perSocket, totals []float64
	for run := 1; run <= runs; run++ {
		r, err := idleRun(ctx, sockets, perCall, limit, profileDir, run, log)
		if err != nil {
			return fmt.Errorf("run %d: %w", run, err)
		}
		fmt.Fprintf(out, "run %d: %s\n", run, r)
		perSocket = append(perSocket, float64(r.rss-r.rssEmpty)/float64(sockets)/1024)
		totals = append(totals, float64(r.rss)/(1<<20))
	}
	fmt.Fprintf(out, "median of %d runs: %d idle waiting sockets: server RSS %.0f MB, %.1f KB per socket\n",
		runs, sockets, medianOf(totals), medianOf(perSocket))
	return nil
}

type idleResult struct {
	sockets, calls     int
	rssEmpty, rss      int64
	heapInuse, stacks  uint64
	goroutines         int
	openTime, settleAt time.Duration
}

func (r idleResult) String() string {
	return fmt.Sprintf("%d sockets in %d calls opened in %s: server RSS %d MB (empty server %d MB) = %.1f KB per socket; heap in use %d MB, goroutine stacks %d MB, %d goroutines (%.1f per socket)",
		r.sockets, r.calls, r.openTime.Round(time.Millisecond), r.rss>>20, r.rssEmpty>>20,
		float64(r.rss-r.rssEmpty)/float64(r.sockets)/1024, r.heapInuse>>20, r.stacks>>20, r.goroutines,
		float64(r.goroutines)/float64(r.sockets))
}

func idleRun(ctx context.Context, sockets, perCall int, limit time.Duration, profileDir string, run int, log io.Writer) (idleResult, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	r := idleResult{sockets: sockets, calls: (sockets + perCall - 1) / perCall}
	cfg := capacityConfig{log: log}
	if profileDir != "" {
		cfg.memProfileRate = 512
	}
	srv, err := startSFU(cfg)
	if err != nil {
		return r, err
	}
	defer srv.stop()
	time.Sleep(time.Second)
	if r.rssEmpty, err = procRSS(srv.pid()); err != nil {
		return r, err
	}

	clients := make([]*sigClient, sockets)
	defer func() {
		var wg sync.WaitGroup
		for i := range clients {
			if c := clients[i]; c != nil {
				wg.Go(c.close)
			}
			if i%500 == 499 {
				wg.Wait()
			}
		}
		wg.Wait()
	}()
	began := time.Now()
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 32 { // dialers at once
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= sockets || failed.Load() != nil {
					return
				}
				c, err := dialSig(ctx, srv.addr, fmt.Sprintf("wait-call-%d", i/perCall), fmt.Sprintf("patient-%d", i), signaling.RolePatient, nil)
				if err == nil {
					clients[i] = c
					var j signaling.JoinedData
					if j, err = c.waitJoined(ctx); err == nil && j.Admitted {
						err = errors.New("a patient was admitted without a clinician")
					}
				}
				if err != nil {
					err = fmt.Errorf("socket %d: %w", i, err)
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return r, *e
	}
	r.openTime = time.Since(began)
	time.Sleep(3 * time.Second) // let the server settle (GC, lazily started goroutines)
	if r.rss, err = procRSS(srv.pid()); err != nil {
		return r, err
	}
	r.heapInuse, r.stacks, r.goroutines, err = serverRuntime(srv.debug)
	if err == nil && profileDir != "" {
		err = saveURL("http://"+srv.debug+"/debug/pprof/heap", filepath.Join(profileDir, fmt.Sprintf("heap-idle-%d-run%d.pprof", sockets, run)))
	}
	return r, err
}

// serverRuntime reads heap and stack use from the server's expvar page and its goroutine count
// from pprof.
func serverRuntime(debug string) (heapInuse, stacks uint64, goroutines int, err error) {
	var v struct {
		Memstats struct{ HeapInuse, StackInuse uint64 } `json:"memstats"`
	}
	if err := serverVars(debug, &v); err != nil {
		return 0, 0, 0, err
	}
	resp, err := http.Get("http://" + debug + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(resp.Body, head)
	_, rest, _ := strings.Cut(string(head[:n]), "total ")
	_, err = fmt.Sscan(rest, &goroutines)
	return v.Memstats.HeapInuse, v.Memstats.StackInuse, goroutines, err
}
