package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"careway/signaling"
)

// userHZ is the unit of utime and stime in /proc/PID/stat (USER_HZ, 100 on every Linux port
// Careway runs on).
const userHZ = 100

// procCPU returns the user plus system CPU time the process pid has used, from /proc/PID/stat
// (all threads). Resolution is 10 ms, so measurement windows are several seconds long.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after it start at the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("malformed /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// procRSS returns the resident set size of process pid in bytes (VmRSS in /proc/PID/status).
func procRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/PID/status")
}

// selfCPU returns the CPU time (user plus system) of this process so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineTicks returns the whole machine's busy and total CPU ticks from /proc/stat.
func machineTicks() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, s := range f[1:] {
		n, _ := strconv.ParseInt(s, 10, 64)
		if i == 7 || i == 8 { // guest time is already counted in user and nice
			continue
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// snapshot is the CPU use of the server, this load generator and the machine at one instant.
type snapshot struct {
	at          time.Time
	server      time.Duration
	switches    int64 // context switches of the server's threads
	rcvbufDrops int64 // UDP datagrams the kernel dropped for a full receive buffer (machine-wide)
	serverDrops int64 // of which on the server's sockets
	selfDrops   int64 // of which on this load generator's sockets
	self        time.Duration
	busy, total int64
}

func takeSnapshot(serverPID int) (snapshot, error) {
	s := snapshot{at: time.Now(), self: selfCPU(), rcvbufDrops: udpRcvbufErrors(), selfDrops: udpDrops(os.Getpid())}
	var err error
	if serverPID > 0 {
		s.server, err = procCPU(serverPID)
		s.switches = procSwitches(serverPID)
		s.serverDrops = udpDrops(serverPID)
	}
	s.busy, s.total = machineTicks()
	return s, err
}

// cpuUse is what happened between two snapshots.
type cpuUse struct {
	wall        time.Duration
	server      time.Duration // CPU time of the server process
	switches    int64         // context switches of the server's threads
	rcvbufDrops int64         // UDP receive-buffer drops on the machine
	serverDrops int64         // UDP drops on the server's sockets
	selfDrops   int64         // UDP drops on the load generator's sockets
	self        time.Duration // CPU time of this load generator
	machineBusy float64       // fraction of the whole machine (all cores) that was busy
}

func between(a, b snapshot) cpuUse {
	u := cpuUse{wall: b.at.Sub(a.at), server: b.server - a.server, self: b.self - a.self, switches: b.switches - a.switches, rcvbufDrops: b.rcvbufDrops - a.rcvbufDrops,
		serverDrops: b.serverDrops - a.serverDrops, selfDrops: b.selfDrops - a.selfDrops}
	if dt := b.total - a.total; dt > 0 {
		u.machineBusy = float64(b.busy-a.busy) / float64(dt)
	}
	return u
}

// child is a server process started from this same binary. It exits by itself when its stdin
// closes, so a load generator that dies never leaves a server behind.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	debug string // net/http/pprof and expvar, if the server announced "debug ADDR" before listening
}

// startChild runs exe (this binary if "") with args and waits (up to 60 s) for the line
// "listening ADDR" on its standard output. The rest of its output goes to log.
func startChild(log io.Writer, exe string, args ...string) (*child, error) {
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = log
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin}
	got := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "debug "); ok && c.addr == "" {
				c.debug = addr
				continue
			}
			if addr, ok := strings.CutPrefix(sc.Text(), "listening "); ok && c.addr == "" {
				c.addr = addr
				got <- nil
				continue
			}
			fmt.Fprintln(log, sc.Text())
		}
		got <- errors.New("server exited before listening")
	}()
	select {
	case err = <-got:
	case <-time.After(60 * time.Second):
		err = errors.New("server did not start within 60 s")
	}
	if err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop asks the server to exit (SIGTERM), then kills it if it has not within 5 s.
func (c *child) stop() {
	c.stdin.Close()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// exitOnStdinEOF ends a server process when its parent goes away.
func exitOnStdinEOF() {
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
}

// serverVars decodes the server's expvar page at debug into v.
func serverVars(debug string, v any) error {
	resp, err := http.Get("http://" + debug + "/debug/vars")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// serverCounters is what the capacity command reads from the SFU at each end of its window.
type serverCounters struct {
	Memstats struct{ Mallocs uint64 } `json:"memstats"` // heap allocations so far
	// The forwarding-delay histogram; nil from a build that keeps none (an older sfu@PATH).
	Delay *signaling.ForwardDelay `json:"forwardDelay"`
	// RTP packets of published tracks that did not decrypt (nil from a build that counts none).
	Rejected *uint64 `json:"rejected"`
}

// readServerCounters reads them in one request, so both ends of the window are one instant each.
func readServerCounters(debug string) (serverCounters, error) {
	var c serverCounters
	err := serverVars(debug, &c)
	return c, err
}

// saveProfile fetches a CPU profile of the next d from the server's pprof at debug into path.
func saveProfile(debug string, d time.Duration, path string) error {
	return saveURL(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debug, int(d.Seconds())), path)
}

// saveURL saves what a GET of u answers into path.
func saveURL(u, path string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	return errors.Join(err, f.Close())
}

// procSwitches returns the context switches (voluntary + involuntary) of every thread of pid:
// a thread sleeping and waking again, which on a forwarding path means goroutine hand-offs that
// found no running thread to take them.
func procSwitches(pid int) int64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var n int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				v, _ := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
				n += v
			} else if rest, ok := strings.CutPrefix(line, "nonvoluntary_ctxt_switches:"); ok {
				v, _ := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
				n += v
			}
		}
	}
	return n
}

// udpRcvbufErrors returns the machine's count of UDP datagrams dropped because a socket's
// receive buffer was full (RcvbufErrors in /proc/net/snmp; the whole machine, all sockets).
func udpRcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Udp: ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "RcvbufErrors" && i < len(f) {
				v, _ := strconv.ParseInt(f[i], 10, 64)
				return v
			}
		}
	}
	return 0
}

// udpDrops returns the datagrams the kernel dropped on the UDP sockets process pid holds
// (the drops column of /proc/net/udp for the socket inodes among /proc/PID/fd).
func udpDrops(pid int) int64 {
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	inodes := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil {
			if in, ok := strings.CutPrefix(l, "socket:["); ok {
				inodes[strings.TrimSuffix(in, "]")] = true
			}
		}
	}
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 13 && inodes[f[9]] {
			v, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			n += v
		}
	}
	return n
}
