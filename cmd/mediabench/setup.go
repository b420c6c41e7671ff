package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"careway/signaling"

	"github.com/pion/webrtc/v3"
)

// runSetup measures call set-up as a patient sees it: the clinician is already in the call and
// publishing; the patient opens its socket, joins, is admitted by the clinician's client as soon
// as the clinician hears of it, answers the server's offer, connects, and the clock stops at the
// first remote video packet. Calls run one after another on an otherwise idle server; each run
// starts a fresh server.
func runSetup(ctx context.Context, calls, runs int, verbose bool, log, out io.Writer) error {
	var p50s, p95s, both50s, both95s []float64
	for run := 1; run <= runs; run++ {
		patient, both, err := setupRun(ctx, calls, verbose, log)
		if err != nil {
			return fmt.Errorf("run %d: %w", run, err)
		}
		p50, p95 := pct(patient, 0.50), pct(patient, 0.95)
		b50, b95 := pct(both, 0.50), pct(both, 0.95)
		fmt.Fprintf(out, "run %d: %d calls: socket open → first remote video at the patient p50 %.0f ms p95 %.0f ms (max %.0f); both ways p50 %.0f ms p95 %.0f ms\n",
			run, calls, ms(p50), ms(p95), ms(slices.Max(patient)), ms(b50), ms(b95))
		p50s, p95s = append(p50s, ms(p50)), append(p95s, ms(p95))
		both50s, both95s = append(both50s, ms(b50)), append(both95s, ms(b95))
	}
	fmt.Fprintf(out, "median of %d runs: patient p50 %.0f ms, p95 %.0f ms; both ways p50 %.0f ms, p95 %.0f ms\n",
		runs, medianOf(p50s), medianOf(p95s), medianOf(both50s), medianOf(both95s))
	return nil
}

// pct returns the q quantile of ds (nearest rank).
func pct(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

func setupRun(ctx context.Context, calls int, verbose bool, log io.Writer) (patientSide, bothWays []time.Duration, err error) {
	srv, err := startSFU(capacityConfig{log: log})
	if err != nil {
		return nil, nil, err
	}
	defer srv.stop()
	api, err := newClientAPI()
	if err != nil {
		return nil, nil, err
	}
	for i := range calls {
		p, b, stages, err := setupOne(ctx, api, srv.addr, i)
		if err != nil {
			return nil, nil, fmt.Errorf("call %d: %w", i, err)
		}
		patientSide, bothWays = append(patientSide, p), append(bothWays, b)
		if verbose {
			fmt.Fprintf(log, "call %d: patient %v, both ways %v; patient's stages:%s\n", i, p.Round(time.Millisecond), b.Round(time.Millisecond), stages)
		}
	}
	return patientSide, bothWays, nil
}

func setupOne(ctx context.Context, api *webrtc.API, addr string, i int) (patientSide, bothWays time.Duration, stages string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	clk := clock{base: time.Now()}
	win := &window{} // never opened: only first-packet times matter here
	call := fmt.Sprintf("setup-call-%d", i)
	var stops []func()
	defer func() {
		for _, s := range slices.Backward(stops) {
			s()
		}
	}()
	publish := func(p *sfuPart) {
		ps := newPacers(clk, win, 1)
		ps.add(p, p.tally)
		stop := make(chan struct{})
		wg := ps.start(stop)
		stops = append(stops, func() { close(stop); wg.Wait() })
	}

	gp, err := joinSFU(ctx, api, addr, call, fmt.Sprintf("gp-%d", i), signaling.RoleClinician, clk, win)
	if err != nil {
		return 0, 0, "", fmt.Errorf("clinician: %w", err)
	}
	stops = append(stops, gp.close)
	publish(gp)
	if err := waitFor(ctx, func() bool { return gp.pc.ConnectionState() == webrtc.PeerConnectionStateConnected }); err != nil {
		return 0, 0, "", fmt.Errorf("clinician's media never connected: %w", err)
	}

	pt, err := joinSFU(ctx, api, addr, call, fmt.Sprintf("patient-%d", i), signaling.RolePatient, clk, win)
	if err != nil {
		return 0, 0, "", fmt.Errorf("patient: %w", err)
	}
	stops = append(stops, pt.close)
	t0 := int64(pt.sig.opened.Sub(clk.base)) // the moment before the patient's socket was dialled
	publish(pt)
	if err := waitFor(ctx, func() bool { return pt.tally.firstVideo() != 0 && gp.tally.firstVideo() != 0 }); err != nil {
		return 0, 0, "", fmt.Errorf("no video both ways: %w", err)
	}
	patientSide = time.Duration(pt.tally.firstVideo() - t0)
	bothWays = time.Duration(max(pt.tally.firstVideo(), gp.tally.firstVideo()) - t0)
	return patientSide, bothWays, pt.sig.stageList(), nil
}

// waitFor polls cond every millisecond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}
