// Command mediabench measures Careway's media server against the targets in PERFORMANCE.md:
// CPU per forwarded packet, loss and forwarding delay under rising numbers of two-party calls
// (beside a bare UDP relay measured in the same run), call set-up time, and the memory of idle
// waiting-room sockets. Servers run as separate child processes of this binary so that their
// CPU and memory can be read from /proc without the load generator's.
//
//	mediabench capacity -targets relay,sfu -calls 25,50,100,150 -runs 3
//	mediabench setup -calls 50
//	mediabench idle -sockets 10000
//
// docs/bench/media.sh runs them as docs/benchmarks.md reports them.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mediabench:", err)
		os.Exit(1)
	}
}

const usage = `usage: mediabench capacity|setup|idle [flags]   (-h after a command lists its flags)`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", usage)
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "capacity":
		targets := fs.String("targets", "relay,sfu", "comma-separated: relay (bare UDP relay), srtp-relay (the relay decrypting and re-encrypting SRTP in its one goroutine), sfu (Careway's signaling package), sfu@PATH (the SFU of another mediabench build, for A/B), direct (pion peers with no server)")
		calls := fs.String("calls", "25,50,100,150", "rising numbers of two-party calls")
		runs := fs.Int("runs", 3, "repetitions of the whole ramp")
		always := fs.Int("always", 100, "measure every step up to this many calls even past 1 % loss or saturation")
		warmup := fs.Duration("warmup", 2*time.Second, "traffic before measuring")
		measure := fs.Duration("measure", 8*time.Second, "measurement window per step")
		sockBuf := fs.Int("sockbuf", 4<<20, "relay socket buffer bytes")
		profile := fs.String("profile", "", "directory for CPU and allocation profiles of the SFU's measurement windows")
		noMux := fs.Bool("no-mux", false, "run the SFU without its shared UDP port")
		readers := fs.Int("readers", 0, "sockets (readers) sharing the SFU's UDP port; 0: the hub's default")
		memRate := fs.Int("memprofilerate", 0, "the SFU's runtime.MemProfileRate, for exact allocation profiles with -profile (1 counts every allocation but costs CPU)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		ns, err := parseInts(*calls)
		if err != nil {
			return fmt.Errorf("-calls: %w", err)
		}
		return runCapacity(ctx, capacityConfig{
			targets: strings.Split(*targets, ","), calls: ns, runs: *runs, always: *always,
			warmup: *warmup, measure: *measure, sockBuf: *sockBuf, log: stderr, out: stdout,
			profileDir: *profile, noMux: *noMux, readers: *readers, memProfileRate: *memRate,
		})
	case "serve-sfu":
		addr := fs.String("addr", "127.0.0.1:0", "HTTP (WebSocket) listen address")
		udpPort := fs.Int("udp-port", 0, "shared UDP port: 0 any, -1 none")
		readers := fs.Int("readers", 0, "sockets (readers) sharing the UDP port; 0: the hub's default")
		memRate := fs.Int("memprofilerate", 0, "runtime.MemProfileRate (0: the default)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *memRate > 0 {
			runtime.MemProfileRate = *memRate
		}
		return serveSFU(*addr, *udpPort, *readers)
	case "setup":
		calls := fs.Int("calls", 50, "calls per run")
		runs := fs.Int("runs", 3, "runs, each with a fresh server")
		verbose := fs.Bool("v", false, "print every call's time and the patient's set-up stages (to stderr)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return runSetup(ctx, *calls, *runs, *verbose, stderr, stdout)
	case "idle":
		sockets := fs.Int("sockets", 10000, "idle waiting-room sockets")
		perCall := fs.Int("per-call", 1, "waiting patients per call (a call holds at most 6)")
		runs := fs.Int("runs", 3, "runs, each with a fresh server")
		limit := fs.Duration("limit", 3*time.Minute, "time limit per run")
		profile := fs.String("profile", "", "directory for a heap profile of the server holding the sockets")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return runIdle(ctx, *sockets, *perCall, *runs, *limit, *profile, stderr, stdout)
	case "serve-relay":
		addr := fs.String("addr", "127.0.0.1:0", "UDP listen address")
		sockBuf := fs.Int("sockbuf", 4<<20, "socket buffer bytes")
		withSRTP := fs.Bool("srtp", false, "decrypt and re-encrypt every packet (AES-128-GCM)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return serveRelay(*addr, *sockBuf, *withSRTP)
	default:
		return fmt.Errorf("unknown command %q; %s", args[0], usage)
	}
}
