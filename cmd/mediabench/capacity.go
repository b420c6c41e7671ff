package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// capacityConfig is what the capacity command varies.
type capacityConfig struct {
	targets   []string // relay, sfu, direct; sfu@PATH runs the SFU from another mediabench binary (A/B)
	serverExe string   // the server binary of the step being run ("": this one)
	calls     []int    // two-party calls per step, rising
	runs      int
	always    int // steps up to this many calls are measured even past 1 % loss or saturation
	warmup    time.Duration
	measure   time.Duration
	sockBuf   int
	// profileDir, if set, receives a CPU profile of the measurement window of every SFU step.
	profileDir string
	noMux      bool // the SFU without its shared UDP port (a socket per peer connection)
	readers    int  // sockets sharing the SFU's UDP port (0: the hub's default)
	// memProfileRate, if set, is the SFU's runtime.MemProfileRate (finer heap profiles).
	memProfileRate int
	log            io.Writer
	out            io.Writer
}

// stepResult is one target at one number of calls.
type stepResult struct {
	run               int
	target            string
	calls             int
	sent, forwarded   int64
	loss              float64
	p50, p99          time.Duration
	use               cpuUse
	usPerPacket       float64 // server CPU per forwarded packet
	serverCores       float64 // server CPU / wall
	genCores          float64
	lag, errs         int64
	setupTime         time.Duration
	serverRSS         int64
	mallocs           uint64 // server heap allocations in the window (SFU only)
	inServer          bool   // the server measured its own forwarding delay (SFU only):
	srvP50, srvP99    time.Duration
	rejected          *uint64 // RTP the server could not decrypt, since it started (nil: an older build)
	offers            int64   // offers the clients received in the window (SFU only)
	saturated, failed bool
	err               error
}

// participant is one simulated client of any target.
type participant interface {
	publisher
	close()
}

// callSet is the participants of a step and how to take them down.
type callSet struct {
	parts   []participant
	tallies []*tally
	server  *child
}

// offers counts the offers every participant has received so far.
func (cs *callSet) offers() int64 {
	var n int64
	for _, p := range cs.parts {
		if o, ok := p.(interface{ offers() int64 }); ok {
			n += o.offers()
		}
	}
	return n
}

func (cs *callSet) close() {
	for _, p := range cs.parts {
		p.close()
	}
	if cs.server != nil {
		cs.server.stop()
	}
}

// dialer creates the calls of one target; it must fill parts and tallies pairwise and may start a
// server process.
type dialer func(ctx context.Context, cfg capacityConfig, calls int, clk clock, win *window) (*callSet, error)

var dialers = map[string]dialer{
	"relay":      dialRelayCalls(false),
	"srtp-relay": dialRelayCalls(true),
	"direct":     dialDirectCalls,
	"sfu":        dialSFUCalls,
}

func dialRelayCalls(withSRTP bool) dialer {
	return func(ctx context.Context, cfg capacityConfig, calls int, clk clock, win *window) (*callSet, error) {
		return relayCalls(ctx, cfg, withSRTP, calls, clk, win)
	}
}

func relayCalls(ctx context.Context, cfg capacityConfig, withSRTP bool, calls int, clk clock, win *window) (*callSet, error) {
	srv, err := startChild(cfg.log, "", "serve-relay", "-addr", "127.0.0.1:0", "-sockbuf", strconv.Itoa(cfg.sockBuf), "-srtp="+strconv.FormatBool(withSRTP))
	if err != nil {
		return nil, err
	}
	cs := &callSet{server: srv}
	for i := range calls {
		for range 2 {
			if ctx.Err() != nil {
				cs.close()
				return nil, ctx.Err()
			}
			c, err := dialRelay(srv.addr, uint32(i), withSRTP, clk, win)
			if err != nil {
				cs.close()
				return nil, err
			}
			cs.parts = append(cs.parts, c)
			cs.tallies = append(cs.tallies, c.tally)
		}
	}
	return cs, nil
}

func dialDirectCalls(ctx context.Context, _ capacityConfig, calls int, clk clock, win *window) (*callSet, error) {
	api, err := newClientAPI()
	if err != nil {
		return nil, err
	}
	cs := &callSet{}
	for range calls {
		if ctx.Err() != nil {
			cs.close()
			return nil, ctx.Err()
		}
		a, err := newPionClient(api, clk, win)
		if err != nil {
			cs.close()
			return nil, err
		}
		b, err := newPionClient(api, clk, win)
		if err != nil {
			a.close()
			cs.close()
			return nil, err
		}
		cs.parts = append(cs.parts, a, b)
		cs.tallies = append(cs.tallies, a.tally, b.tally)
		if err := connectDirect(a, b); err != nil {
			cs.close()
			return nil, err
		}
	}
	return cs, nil
}

// runStep measures one target at one number of calls: set up, wait until every participant
// receives, warm up, measure, drain, tear down.
func runStep(ctx context.Context, cfg capacityConfig, target string, calls, run int) stepResult {
	r := stepResult{run: run, target: target, calls: calls}
	clk := clock{base: time.Now()}
	win := &window{}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	began := time.Now()
	name, exe, _ := strings.Cut(target, "@")
	cfg.serverExe = exe
	cs, err := dialers[name](ctx, cfg, calls, clk, win)
	if err != nil {
		r.err, r.failed = err, true
		return r
	}
	defer cs.close()

	p := newPacers(clk, win, pacerShards)
	for i, part := range cs.parts {
		p.add(part, cs.tallies[i])
	}
	stop := make(chan struct{})
	paced := p.start(stop)
	defer func() { close(stop); paced.Wait() }()

	// Every participant must be receiving before the clock starts.
	for !allReceiving(cs.tallies) {
		if ctx.Err() != nil || time.Since(began) > 2*time.Minute {
			r.err, r.failed = fmt.Errorf("only %d of %d participants receiving", countReceiving(cs.tallies), len(cs.tallies)), true
			for i, t := range cs.tallies {
				if d, ok := cs.parts[i].(interface{ describe() string }); ok && t.firstVideo() == 0 {
					fmt.Fprintf(cfg.log, "  not receiving: participant %d: %s\n", i, d.describe())
				}
			}
			if cs.server != nil {
				if c, err := readServerCounters(cs.server.debug); err == nil && c.Rejected != nil {
					fmt.Fprintf(cfg.log, "  the server dropped %d RTP packets that did not decrypt\n", *c.Rejected)
				}
			}
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.setupTime = time.Since(began)
	time.Sleep(cfg.warmup)

	pid := 0
	if cs.server != nil {
		pid = cs.server.pid()
	}
	lag0, errs0 := p.counts()
	offers0 := cs.offers()
	a, err := takeSnapshot(pid)
	if err != nil {
		r.err, r.failed = err, true
		return r
	}
	debug := ""
	if cs.server != nil {
		debug = cs.server.debug
	}
	var start serverCounters
	var startErr error
	var profiled chan error
	if debug != "" {
		start, startErr = readServerCounters(debug)
		if cfg.profileDir != "" {
			allocs := filepath.Join(cfg.profileDir, fmt.Sprintf("allocs-%s-%d-run%d", fileSafe(target), calls, run))
			_ = saveURL("http://"+debug+"/debug/pprof/allocs?gc=1", allocs+"-start.pprof")
			defer func() { _ = saveURL("http://"+debug+"/debug/pprof/allocs?gc=1", allocs+"-end.pprof") }()
			profiled = make(chan error, 1)
			path := filepath.Join(cfg.profileDir, fmt.Sprintf("cpu-%s-%d-run%d.pprof", fileSafe(target), calls, run))
			go func() { profiled <- saveProfile(debug, cfg.measure, path) }()
		}
	}
	win.end.Store(1 << 62)
	win.start.Store(clk.now())
	time.Sleep(cfg.measure)
	win.end.Store(clk.now())
	b, err := takeSnapshot(pid)
	if debug != "" {
		if end, err := readServerCounters(debug); err == nil && startErr == nil {
			r.mallocs = end.Memstats.Mallocs - start.Memstats.Mallocs
			if end.Delay != nil && start.Delay != nil {
				d := end.Delay.Since(*start.Delay)
				r.inServer, r.srvP50, r.srvP99 = true, d.Quantile(0.5), d.Quantile(0.99)
			}
			r.rejected = end.Rejected
		}
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			fmt.Fprintln(cfg.log, "profile:", err)
		}
	}
	if err != nil {
		r.err, r.failed = err, true
		return r
	}
	lag1, errs1 := p.counts()
	r.offers = cs.offers() - offers0
	r.lag, r.errs = lag1-lag0, errs1-errs0
	if pid > 0 {
		r.serverRSS, _ = procRSS(pid)
	}
	time.Sleep(500 * time.Millisecond) // packets sent inside the window may still be on the way

	s := summarise(cs.tallies)
	r.sent, r.forwarded = s.sent, s.recv
	r.loss = s.loss()
	r.p50, r.p99 = s.quantile(0.50), s.quantile(0.99)
	r.use = between(a, b)
	if r.forwarded > 0 && pid > 0 {
		r.usPerPacket = float64(r.use.server.Microseconds()) / float64(r.forwarded)
	}
	r.serverCores = r.use.server.Seconds() / r.use.wall.Seconds()
	r.genCores = r.use.self.Seconds() / r.use.wall.Seconds()
	// The machine is shared, so a busy machine alone says little; the server is saturated when
	// it used nearly both cores, or the generator could not keep up with the schedule.
	r.saturated = r.serverCores > 1.85 || r.lag > r.sent/100
	return r
}

func allReceiving(ts []*tally) bool { return countReceiving(ts) == len(ts) }

func countReceiving(ts []*tally) int {
	n := 0
	for _, t := range ts {
		if t.firstVideo() != 0 {
			n++
		}
	}
	return n
}

func (r stepResult) String() string {
	if r.failed {
		return fmt.Sprintf("%-6s calls=%-4d FAILED: %v", r.target, r.calls, r.err)
	}
	return fmt.Sprintf("%-6s calls=%-4d fwd=%7.0f pkt/s loss=%6.3f%% delay p50=%5.2fms p99=%6.2fms server=%5.2f µs/pkt %.1f allocs/pkt %.2f switches/pkt (%.2f cores, rss %d MB) gen=%.2f cores machine=%3.0f%%%s lag=%d errs=%d offers=%d udp-drops server=%d clients=%d machine=%d setup=%s",
		r.target, r.calls, float64(r.forwarded)/r.use.wall.Seconds(), 100*r.loss,
		ms(r.p50), ms(r.p99), r.usPerPacket, float64(r.mallocs)/max(1, float64(r.forwarded)), float64(r.use.switches)/max(1, float64(r.forwarded)), r.serverCores, r.serverRSS>>20, r.genCores,
		100*r.use.machineBusy, map[bool]string{true: " SATURATED", false: ""}[r.saturated],
		r.lag, r.errs, r.offers, r.use.serverDrops, r.use.selfDrops, r.use.rcvbufDrops, r.setupTime.Round(time.Millisecond)) + r.inServerString()
}

func (r stepResult) inServerString() string {
	var b strings.Builder
	if r.inServer {
		fmt.Fprintf(&b, " in-server delay p50<=%.3fms p99<=%.3fms", ms(r.srvP50), ms(r.srvP99))
	}
	if r.rejected != nil {
		fmt.Fprintf(&b, " rejected=%d", *r.rejected)
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runCapacity raises the number of calls for each target in turn, alternating targets at every
// step so that they share the machine's conditions, and repeats the whole ramp cfg.runs times. A
// target stops rising once its loss passes 1 % or the server is saturated (but every step up to
// cfg.always calls is measured, so the figure the target is stated at always exists).
func runCapacity(ctx context.Context, cfg capacityConfig) error {
	for _, t := range cfg.targets {
		if name, _, _ := strings.Cut(t, "@"); dialers[name] == nil {
			return fmt.Errorf("unknown target %q", t)
		}
	}
	all := map[string]map[int][]stepResult{}
	for run := 1; run <= cfg.runs; run++ {
		stopped := map[string]bool{}
		for _, n := range cfg.calls {
			for _, t := range cfg.targets {
				if stopped[t] || ctx.Err() != nil {
					continue
				}
				r := runStep(ctx, cfg, t, n, run)
				fmt.Fprintf(cfg.out, "run %d: %s\n", run, r)
				if all[t] == nil {
					all[t] = map[int][]stepResult{}
				}
				all[t][n] = append(all[t][n], r)
				if (r.failed || r.loss > 0.01 || r.saturated) && n >= cfg.always {
					stopped[t] = true
				}
			}
		}
	}
	fmt.Fprintln(cfg.out, "\nmedians:")
	fmt.Fprintln(cfg.out, "| calls | target | runs | fwd pkt/s | loss | delay p50 | delay p99 | server µs/pkt | server allocs/pkt | server thread switches/pkt | server cores | machine busy |")
	fmt.Fprintln(cfg.out, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range cfg.calls {
		for _, t := range cfg.targets {
			rs := ok(all[t][n])
			if len(rs) == 0 {
				continue
			}
			fmt.Fprintf(cfg.out, "| %d | %s | %d | %.0f | %.3f %% | %.2f ms | %.2f ms | %.2f | %.1f | %.2f | %.2f | %.0f %% |\n",
				n, t, len(rs),
				median(rs, func(r stepResult) float64 { return float64(r.forwarded) / r.use.wall.Seconds() }),
				median(rs, func(r stepResult) float64 { return 100 * r.loss }),
				median(rs, func(r stepResult) float64 { return ms(r.p50) }),
				median(rs, func(r stepResult) float64 { return ms(r.p99) }),
				median(rs, func(r stepResult) float64 { return r.usPerPacket }),
				median(rs, func(r stepResult) float64 { return float64(r.mallocs) / max(1, float64(r.forwarded)) }),
				median(rs, func(r stepResult) float64 { return float64(r.use.switches) / max(1, float64(r.forwarded)) }),
				median(rs, func(r stepResult) float64 { return r.serverCores }),
				median(rs, func(r stepResult) float64 { return 100 * r.use.machineBusy }))
		}
		if d, s := ok(all["direct"][n]), ok(all["sfu"][n]); len(d) > 0 && len(s) > 0 {
			fmt.Fprintf(cfg.out, "| %d | delay the SFU adds (sfu − direct, medians) | | | | %.2f ms | %.2f ms | | | | | |\n", n,
				median(s, func(r stepResult) float64 { return ms(r.p50) })-median(d, func(r stepResult) float64 { return ms(r.p50) }),
				median(s, func(r stepResult) float64 { return ms(r.p99) })-median(d, func(r stepResult) float64 { return ms(r.p99) }))
		}
		for _, t := range cfg.targets {
			var in []stepResult
			for _, r := range ok(all[t][n]) {
				if r.inServer {
					in = append(in, r)
				}
			}
			if len(in) > 0 {
				fmt.Fprintf(cfg.out, "| %d | %s: time in the server (kernel receive stamp → send; bucket upper bounds) | %d | | | ≤ %.3f ms | ≤ %.3f ms | | | | | |\n", n, t, len(in),
					median(in, func(r stepResult) float64 { return ms(r.srvP50) }),
					median(in, func(r stepResult) float64 { return ms(r.srvP99) }))
			}
		}
		for _, t := range cfg.targets {
			if t != "relay" && t != "direct" && len(ok(all["relay"][n])) > 0 && len(ok(all[t][n])) > 0 {
				fmt.Fprintf(cfg.out, "| %d | %s/relay (same-run ratio, median) | | | | | | %.2f × | | | | |\n", n, t,
					medianRatio(all[t][n], all["relay"][n]))
			}
		}
	}
	return ctx.Err()
}

// fileSafe makes a target name usable in a file name.
func fileSafe(s string) string { return strings.NewReplacer("/", "_", "@", "-").Replace(s) }

func ok(rs []stepResult) []stepResult {
	var out []stepResult
	for _, r := range rs {
		if !r.failed {
			out = append(out, r)
		}
	}
	return out
}

func median(rs []stepResult, f func(stepResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return medianOf(v)
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// medianRatio pairs the steps of two targets taken in the same run and returns the median ratio
// of their CPU per packet.
func medianRatio(a, b []stepResult) float64 {
	var v []float64
	for _, x := range ok(a) {
		for _, y := range ok(b) {
			if x.run == y.run && y.usPerPacket > 0 {
				v = append(v, x.usPerPacket/y.usPerPacket)
			}
		}
	}
	return medianOf(v)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, errors.New("want a comma-separated list of positive numbers")
		}
		out = append(out, n)
	}
	return out, nil
}
