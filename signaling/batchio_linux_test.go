package signaling

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestBatchFindsSocketFamily(t *testing.T) {
	for _, tc := range []struct {
		network, addr string
		inet6         bool
	}{
		{"udp4", "127.0.0.1:0", false},
		{"udp", "0.0.0.0:0", true}, // Go makes a dual-stack IPv6 socket for the wildcard
		{"udp", ":0", true},
		{"udp6", "[::1]:0", true},
	} {
		b := mustBatchConn(t, mustListenUDP(t, tc.network, tc.addr), 1)
		if b.inet6 != tc.inet6 {
			t.Errorf("%s %s: inet6 %v, want %v", tc.network, tc.addr, b.inet6, tc.inet6)
		}
	}
}

// icmpRefused leaves an ICMP port-unreachable report pending on c: with IP_RECVERR the kernel
// keeps one for an unconnected socket too, and returns it from the socket's next read or write.
func icmpRefused(tb testing.TB, c *net.UDPConn) {
	tb.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		tb.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR, 1)
	}); err != nil || serr != nil {
		tb.Fatal(err, serr)
	}
	gone := mustListenUDP(tb, "udp4", "127.0.0.1:0")
	closed := addrOf(gone)
	gone.Close()
	mustWrite(tb, c, []byte("to nobody"), closed)
	settle()
}

// A refused earlier datagram shows up as an error of the next read, which the caller reads past.
func TestBatchReadICMPErrorIsTransient(t *testing.T) {
	rc, sc := mustListenUDP(t, "udp4", "127.0.0.1:0"), mustListenUDP(t, "udp4", "127.0.0.1:0")
	b := mustBatchConn(t, rc, 8)
	icmpRefused(t, rc)
	mustWrite(t, sc, []byte("after"), addrOf(rc))
	settle()
	_, err := b.read()
	if !errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, net.ErrClosed) {
		t.Fatalf("read: got %v, want ECONNREFUSED", err)
	}
	sameDatagrams(t, readBatch(t, b), []datagram{{addrOf(sc), "after"}})
}

// A pending report is returned by the next send too, for a datagram that did nothing wrong:
// flush tries it again rather than drop it.
func TestBatchFlushRetriesAfterICMPError(t *testing.T) {
	sc, rc := mustListenUDP(t, "udp4", "127.0.0.1:0"), mustListenUDP(t, "udp4", "127.0.0.1:0")
	b := mustBatchConn(t, sc, 8)
	icmpRefused(t, sc)
	b.queue([]byte("first"), addrOf(rc))
	b.queue([]byte("second"), addrOf(rc))
	if n, err := b.flush(); n != 2 || err != nil {
		t.Fatalf("flush: got %d, %v; want 2, nil", n, err)
	}
	sameDatagrams(t, mustReadPlain(t, rc, 2), []datagram{{addrOf(sc), "first"}, {addrOf(sc), "second"}})
}

// A link-local sender's zone comes back as the interface index, which queue takes back.
func TestBatchSockaddrZone(t *testing.T) {
	var sa unix.RawSockaddrInet6
	b := &batchConn{inet6: true}
	to := netip.MustParseAddrPort("[fe80::1%7]:5004")
	if _, err := b.putSockaddr(&sa, to); err != nil {
		t.Fatal(err)
	}
	if sa.Scope_id != 7 {
		t.Fatalf("scope id %d, want 7", sa.Scope_id)
	}
	if got := sockaddrToAddrPort(&sa); got != to {
		t.Fatalf("got %v back, want %v", got, to)
	}
	b.inet6 = false
	if _, err := b.putSockaddr(&sa, netip.MustParseAddrPort("[::ffff:10.0.0.1]:9")); err != nil {
		t.Fatalf("v4-mapped address on an IPv4 socket: %v", err)
	}
	if got, want := sockaddrToAddrPort(&sa), netip.MustParseAddrPort("10.0.0.1:9"); got != want {
		t.Fatalf("got %v back, want %v", got, want)
	}
}

// Each datagram carries the kernel's receive time: after it was sent, before the read returned,
// and a datagram that waited in the socket's buffer shows the wait.
func TestBatchStampsArrival(t *testing.T) {
	for _, tc := range []struct{ network, addr string }{{"udp4", "127.0.0.1:0"}, {"udp6", "[::1]:0"}} {
		c := mustListenUDP(t, tc.network, tc.addr)
		b := mustBatchConn(t, c, 4)
		sender := mustListenUDP(t, tc.network, tc.addr)
		settle() // the kernel turns stamping on a moment after the first socket asks for it
		before := time.Now().UnixNano()
		mustWrite(t, sender, []byte("first"), addrOf(c))
		time.Sleep(30 * time.Millisecond)
		mustWrite(t, sender, []byte("second"), addrOf(c))
		settle()
		n, err := b.read()
		if err != nil || n != 2 {
			t.Fatalf("%s: read %d, %v; want the 2 waiting", tc.network, n, err)
		}
		after := time.Now().UnixNano()
		first, second := b.arrived(0), b.arrived(1)
		if first < before || second > after || second-first < int64(25*time.Millisecond) {
			t.Fatalf("%s: stamps %d and %d, want within [%d, %d] and 30 ms apart", tc.network, first, second, before, after)
		}
	}
}
