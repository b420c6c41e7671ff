package signaling

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// mustListenUDP opens a UDP socket on loopback (or wherever addr says), closed when the test ends.
func mustListenUDP(tb testing.TB, network, addr string) *net.UDPConn {
	tb.Helper()
	ua, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := net.ListenUDP(network, ua)
	if err != nil {
		tb.Fatalf("listen %s %s: %v", network, addr, err)
	}
	tb.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second)) // a lost datagram fails the test, not hangs it
	return c
}

func mustBatchConn(tb testing.TB, c *net.UDPConn, size int) *batchConn {
	tb.Helper()
	b, err := newBatchConn(c, size)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// addrOf is where c's datagrams come from, as a peer on loopback sees it.
func addrOf(c *net.UDPConn) netip.AddrPort {
	ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func mustWrite(tb testing.TB, c *net.UDPConn, pkt []byte, to netip.AddrPort) {
	tb.Helper()
	if _, err := c.WriteToUDPAddrPort(pkt, to); err != nil {
		tb.Fatal(err)
	}
}

type datagram struct {
	from netip.AddrPort
	data string
}

// readBatch does one read and copies out what it returned.
func readBatch(tb testing.TB, b *batchConn) []datagram {
	tb.Helper()
	n, err := b.read()
	if err != nil {
		tb.Fatalf("read: %v", err)
	}
	got := make([]datagram, n)
	for i := range n {
		got[i] = datagram{b.from(i), string(b.data(i))}
	}
	return got
}

// readWaiting reads the n datagrams already waiting on b's socket. On Linux one read must take
// them all; elsewhere a read takes one.
func readWaiting(tb testing.TB, b *batchConn, n int) []datagram {
	tb.Helper()
	var got []datagram
	reads := 0
	for len(got) < n {
		got = append(got, readBatch(tb, b)...)
		reads++
	}
	if runtime.GOOS == "linux" && reads != 1 {
		tb.Fatalf("%d datagrams took %d reads, want 1", n, reads)
	}
	return got
}

// readPlain reads n datagrams one by one from c. It may run on a goroutine of its own.
func readPlain(c *net.UDPConn, n int) ([]datagram, error) {
	buf := make([]byte, 70000)
	got := make([]datagram, n)
	for i := range got {
		m, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return got[:i], fmt.Errorf("datagram %d of %d: %w", i, n, err)
		}
		got[i] = datagram{netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), string(buf[:m])}
	}
	return got, nil
}

func mustReadPlain(tb testing.TB, c *net.UDPConn, n int) []datagram {
	tb.Helper()
	got, err := readPlain(c, n)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

func sameDatagrams(tb testing.TB, got, want []datagram) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d datagrams %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			tb.Fatalf("datagram %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// settle gives loopback time to queue what was just sent (it normally has before the send
// returns), so that one read finds all of it.
func settle() { time.Sleep(20 * time.Millisecond) }

func TestBatchReadReturnsWaitingDatagramsInOrder(t *testing.T) {
	for _, tc := range []struct{ network, addr string }{{"udp4", "127.0.0.1:0"}, {"udp6", "[::1]:0"}} {
		t.Run(tc.network, func(t *testing.T) {
			rc := mustListenUDP(t, tc.network, tc.addr)
			b := mustBatchConn(t, rc, 8)
			s1, s2 := mustListenUDP(t, tc.network, tc.addr), mustListenUDP(t, tc.network, tc.addr)
			var want []datagram
			for i, s := range []*net.UDPConn{s1, s2, s2, s1, s2} {
				d := datagram{addrOf(s), fmt.Sprintf("datagram %d", i)}
				mustWrite(t, s, []byte(d.data), addrOf(rc))
				want = append(want, d)
			}
			settle()
			sameDatagrams(t, readWaiting(t, b, len(want)), want)
		})
	}
}

func TestBatchReadSplitsMoreThanSize(t *testing.T) {
	rc, sc := mustListenUDP(t, "udp4", "127.0.0.1:0"), mustListenUDP(t, "udp4", "127.0.0.1:0")
	b := mustBatchConn(t, rc, 8)
	var want []datagram
	for i := range 20 {
		d := datagram{addrOf(sc), fmt.Sprintf("datagram %d", i)}
		mustWrite(t, sc, []byte(d.data), addrOf(rc))
		want = append(want, d)
	}
	settle()
	var got []datagram
	for len(got) < len(want) {
		batch := readBatch(t, b)
		if len(batch) > 8 {
			t.Fatalf("read returned %d datagrams, more than its size 8", len(batch))
		}
		got = append(got, batch...)
	}
	sameDatagrams(t, got, want)
}

func TestBatchQueueSendsToSeveralReceivers(t *testing.T) {
	sc := mustListenUDP(t, "udp4", "127.0.0.1:0")
	r1, r2 := mustListenUDP(t, "udp4", "127.0.0.1:0"), mustListenUDP(t, "udp4", "127.0.0.1:0")
	b := mustBatchConn(t, sc, 16)
	var want1, want2 []datagram
	for i := range 10 {
		d := datagram{addrOf(sc), fmt.Sprintf("datagram %d %s", i, bytes.Repeat([]byte{'x'}, i*100))}
		// Half built in the batch's own buffers, half in the caller's.
		pkt := []byte(d.data)
		if i%4 < 2 {
			pkt = append(b.sendBuf(), d.data...)
		}
		to := r1
		if i%2 == 1 {
			to = r2
		}
		b.queue(pkt, addrOf(to))
		if to == r1 {
			want1 = append(want1, d)
		} else {
			want2 = append(want2, d)
		}
	}
	if n, err := b.flush(); n != 10 || err != nil {
		t.Fatalf("flush: got %d, %v; want 10, nil", n, err)
	}
	sameDatagrams(t, mustReadPlain(t, r1, len(want1)), want1)
	sameDatagrams(t, mustReadPlain(t, r2, len(want2)), want2)
	if n, err := b.flush(); n != 0 || err != nil {
		t.Fatalf("second flush: got %d, %v; want 0, nil", n, err)
	}
}

// An IPv6 socket bound to every address is dual-stack: it sends to and hears from IPv4 peers
// (v4-mapped on the wire, plain IPv4 in from) as well as IPv6 ones.
func TestBatchDualStackSocket(t *testing.T) {
	dc := mustListenUDP(t, "udp", ":0")
	port := dc.LocalAddr().(*net.UDPAddr).Port
	b := mustBatchConn(t, dc, 8)
	r4, r6 := mustListenUDP(t, "udp4", "127.0.0.1:0"), mustListenUDP(t, "udp6", "[::1]:0")

	b.queue([]byte("to v4"), addrOf(r4))
	b.queue([]byte("to v6"), addrOf(r6))
	if n, err := b.flush(); n != 2 || err != nil {
		t.Fatalf("flush: got %d, %v; want 2, nil", n, err)
	}
	from4 := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	from6 := netip.AddrPortFrom(netip.IPv6Loopback(), uint16(port))
	sameDatagrams(t, mustReadPlain(t, r4, 1), []datagram{{from4, "to v4"}})
	sameDatagrams(t, mustReadPlain(t, r6, 1), []datagram{{from6, "to v6"}})

	mustWrite(t, r4, []byte("from v4"), from4)
	mustWrite(t, r6, []byte("from v6"), from6)
	settle()
	got := readWaiting(t, b, 2)
	sameDatagrams(t, got, []datagram{{addrOf(r4), "from v4"}, {addrOf(r6), "from v6"}})
	if !got[0].from.Addr().Is4() {
		t.Fatalf("IPv4 sender reported as %v, want it unmapped", got[0].from)
	}
}

// The read side and the write side may be two goroutines'.
func TestBatchReadWhileFlushing(t *testing.T) {
	c := mustListenUDP(t, "udp4", "127.0.0.1:0")
	b := mustBatchConn(t, c, 8)
	const total = 200
	sent := make(chan error, 1)
	go func() { // to itself, in flushes of 8
		for i := range total {
			b.queue(fmt.Appendf(b.sendBuf(), "datagram %d", i), addrOf(c))
			if i%8 == 7 || i == total-1 {
				if _, err := b.flush(); err != nil {
					sent <- err
					return
				}
			}
		}
		sent <- nil
	}()
	var got, want []datagram
	for i := range total {
		want = append(want, datagram{addrOf(c), fmt.Sprintf("datagram %d", i)})
	}
	for len(got) < total {
		got = append(got, readBatch(t, b)...)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	sameDatagrams(t, got, want)
}

func TestBatchIPv4SocketRefusesIPv6Destination(t *testing.T) {
	sc, rc := mustListenUDP(t, "udp4", "127.0.0.1:0"), mustListenUDP(t, "udp4", "127.0.0.1:0")
	b := mustBatchConn(t, sc, 4)
	b.queue([]byte("lost"), netip.AddrPortFrom(netip.IPv6Loopback(), 9))
	b.queue([]byte("kept"), addrOf(rc))
	n, err := b.flush()
	if n != 1 || err == nil {
		t.Fatalf("flush: got %d, %v; want 1 and an error", n, err)
	}
	sameDatagrams(t, mustReadPlain(t, rc, 1), []datagram{{addrOf(sc), "kept"}})
}

func TestBatchNoAllocations(t *testing.T) {
	sc, rc := mustListenUDP(t, "udp4", "127.0.0.1:0"), mustListenUDP(t, "udp4", "127.0.0.1:0")
	sb, rb := mustBatchConn(t, sc, 8), mustBatchConn(t, rc, 8)
	pkt := bytes.Repeat([]byte{0x80}, 1200)
	to := addrOf(rc)
	t.Run("queue+flush", func(t *testing.T) {
		allocs := testing.AllocsPerRun(100, func() {
			for range 8 {
				sb.queue(pkt, to)
			}
			if n, err := sb.flush(); n != 8 || err != nil {
				t.Fatalf("flush: got %d, %v", n, err)
			}
			for got := 0; got < 8; { // keep the receiver's buffer from filling
				n, err := rb.read()
				if err != nil {
					t.Fatal(err)
				}
				got += n
			}
		})
		if allocs != 0 {
			t.Fatalf("queue, flush and read of 8 datagrams allocate %v times", allocs)
		}
	})
	t.Run("sendBuf", func(t *testing.T) {
		allocs := testing.AllocsPerRun(100, func() {
			sb.queue(append(sb.sendBuf(), pkt...), to)
			if n, err := sb.flush(); n != 1 || err != nil {
				t.Fatalf("flush: got %d, %v", n, err)
			}
			if _, err := rb.read(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("sendBuf, queue, flush and read allocate %v times", allocs)
		}
	})
	t.Run("read", func(t *testing.T) {
		allocs := testing.AllocsPerRun(100, func() {
			for range 8 {
				sc.WriteToUDPAddrPort(pkt, to)
			}
			for got := 0; got < 8; {
				n, err := rb.read()
				if err != nil {
					t.Fatal(err)
				}
				got += n
			}
		})
		if allocs != 0 {
			t.Fatalf("writing 8 datagrams and reading them in batches allocates %v times", allocs)
		}
	})
}

func TestBatchCloseUnblocksRead(t *testing.T) {
	rc := mustListenUDP(t, "udp4", "127.0.0.1:0")
	rc.SetDeadline(time.Time{})
	b := mustBatchConn(t, rc, 8)
	done := make(chan error, 1)
	go func() {
		_, err := b.read()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it block in the poller
	rc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after close: got %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("read still blocked 5 s after close")
	}
	if _, err := b.read(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed conn: got %v, want net.ErrClosed", err)
	}
	b.queue([]byte("x"), addrOf(rc))
	if n, err := b.flush(); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("flush on a closed conn: got %d, %v; want 0, net.ErrClosed", n, err)
	}
}

// A datagram longer than receiveMTU is dropped and counted, and the read goes on to the next.
func TestBatchReadDropsTruncatedDatagram(t *testing.T) {
	rc, sc := mustListenUDP(t, "udp4", "127.0.0.1:0"), mustListenUDP(t, "udp4", "127.0.0.1:0")
	b := mustBatchConn(t, rc, 8)
	mustWrite(t, sc, make([]byte, receiveMTU+1000), addrOf(rc))
	mustWrite(t, sc, make([]byte, receiveMTU), addrOf(rc)) // the largest that fits
	mustWrite(t, sc, []byte("small"), addrOf(rc))
	settle()
	var got []datagram
	for len(got) < 2 {
		got = append(got, readBatch(t, b)...)
	}
	sameDatagrams(t, got, []datagram{{addrOf(sc), string(make([]byte, receiveMTU))}, {addrOf(sc), "small"}})
	if n := b.dropped.Load(); n != 1 {
		t.Fatalf("dropped %d, want 1", n)
	}
}

// sendmmsg stops at a datagram it refuses and reports the ones before it; flush goes on past it.
// More datagrams than the batch holds makes queue flush in the middle.
func TestBatchFlushSkipsRefusedDatagram(t *testing.T) {
	sc, rc := mustListenUDP(t, "udp4", "127.0.0.1:0"), mustListenUDP(t, "udp4", "127.0.0.1:0")
	b := mustBatchConn(t, sc, 64)
	const total, tooBig1, tooBig2 = 100, 20, 63
	type result struct {
		got []datagram
		err error
	}
	read := make(chan result, 1)
	go func() { // read as they come: 98 at once could overflow the receive buffer
		got, err := readPlain(rc, total-2)
		read <- result{got, err}
	}()
	var want []datagram
	for i := range total {
		if i == tooBig1 || i == tooBig2 {
			b.queue(make([]byte, 70000), addrOf(rc)) // over UDP's 65,507 bytes: EMSGSIZE
			continue
		}
		d := datagram{addrOf(sc), fmt.Sprintf("datagram %d", i)}
		b.queue([]byte(d.data), addrOf(rc))
		want = append(want, d)
	}
	n, err := b.flush()
	if n != total-2 || err == nil {
		t.Fatalf("flush: got %d, %v; want %d and EMSGSIZE", n, err, total-2)
	}
	if !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("flush error %v, want EMSGSIZE", err)
	}
	r := <-read
	if r.err != nil {
		t.Fatal(r.err)
	}
	sameDatagrams(t, r.got, want)
}

// BenchmarkBatchIO compares a datagram's cost sent and read one per system call with batches of
// 8 (1,200 bytes, loopback, sender and receiver in one goroutine).
func BenchmarkBatchIO(b *testing.B) {
	const batch = 8
	pkt := bytes.Repeat([]byte{0x80}, 1200)
	b.Run("one-by-one", func(b *testing.B) {
		sc, rc := mustListenUDP(b, "udp4", "127.0.0.1:0"), mustListenUDP(b, "udp4", "127.0.0.1:0")
		to, buf := addrOf(rc), make([]byte, receiveMTU)
		b.ReportAllocs()
		b.SetBytes(int64(len(pkt)))
		b.ResetTimer()
		for i := 0; i < b.N; i += batch {
			for range batch {
				if _, err := sc.WriteToUDPAddrPort(pkt, to); err != nil {
					b.Fatal(err)
				}
			}
			for range batch {
				if _, _, err := rc.ReadFromUDPAddrPort(buf); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("batch8", func(b *testing.B) {
		sc, rc := mustListenUDP(b, "udp4", "127.0.0.1:0"), mustListenUDP(b, "udp4", "127.0.0.1:0")
		sb, rb := mustBatchConn(b, sc, batch), mustBatchConn(b, rc, batch)
		to := addrOf(rc)
		b.ReportAllocs()
		b.SetBytes(int64(len(pkt)))
		b.ResetTimer()
		for i := 0; i < b.N; i += batch {
			for range batch {
				sb.queue(pkt, to)
			}
			if _, err := sb.flush(); err != nil {
				b.Fatal(err)
			}
			for got := 0; got < batch; {
				n, err := rb.read()
				if err != nil {
					b.Fatal(err)
				}
				got += n
			}
		}
	})
}
