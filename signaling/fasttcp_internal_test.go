package signaling

import (
	"io"
	"net"
	"net/netip"
	"testing"
)

// scriptedTCPMux stands for pion's ICE-TCP mux: one connection per ufrag, which reads the
// datagrams it is given, from one remote address.
type scriptedTCPMux struct {
	conns   map[string]*scriptedConn
	removed []string
}

func (m *scriptedTCPMux) Close() error { return nil }

func (m *scriptedTCPMux) GetConnByUfrag(ufrag string, _ bool, _ net.IP) (net.PacketConn, error) {
	if m.conns[ufrag] == nil {
		m.conns[ufrag] = &scriptedConn{}
	}
	return m.conns[ufrag], nil
}

func (m *scriptedTCPMux) RemoveConnByUfrag(ufrag string) {
	m.removed = append(m.removed, ufrag)
	delete(m.conns, ufrag)
}

type scriptedConn struct {
	net.PacketConn // nil: only ReadFrom is used
	from           *net.TCPAddr
	next           [][]byte
}

func (c *scriptedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if len(c.next) == 0 {
		return 0, nil, io.EOF
	}
	n := copy(b, c.next[0])
	c.next = c.next[1:]
	return n, c.from, nil
}

// The ICE-TCP wrapper: one wrapper per pion connection; it learns which connection a remote
// address is on; it takes the RTP of a fast peer on ICE-TCP (forwarded to the subscriber) and
// passes everything else to pion; removing the ufrag forgets the connection and its addresses.
func TestFastTCPMuxTakesAFastPeersRTPAndForgets(t *testing.T) {
	r := newFastRig(t, keyA)
	inner := &scriptedTCPMux{conns: map[string]*scriptedConn{}}
	m := newFastTCPMux(inner, r.table)
	pc, err := m.GetConnByUfrag("ufrag1", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := m.GetConnByUfrag("ufrag1", false, nil); again != pc {
		t.Fatal("a second wrapper for the same connection")
	}
	from := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	addr := netip.MustParseAddrPort("127.0.0.1:40000")
	stun := append([]byte{0x00, 0x01}, make([]byte, 18)...)
	conn := inner.conns["ufrag1"]
	conn.from = from

	// Not yet a fast peer on TCP: its RTP goes to pion, like everything else.
	rtp := r.sealed(t, 1)
	conn.next = [][]byte{rtp}
	buf := make([]byte, receiveMTU)
	if n, _, err := pc.ReadFrom(buf); err != nil || n != len(rtp) {
		t.Fatalf("read %d bytes (%v), want the RTP packet passed to pion", n, err)
	}
	if r.table.tcpConn(addr) != pc {
		t.Fatal("the remote address was not learnt")
	}

	// Once the peer is on ICE-TCP, its RTP is forwarded here and pion sees only the rest.
	r.table.setTCP(r.from, addr)
	conn.next = [][]byte{r.sealed(t, 2), stun}
	if n, _, err := pc.ReadFrom(buf); err != nil || n != len(stun) || buf[0] != 0x00 {
		t.Fatalf("pion read %d bytes (%v), want only the STUN packet", n, err)
	}
	if got := r.readSub(t); got.SequenceNumber != 2 {
		t.Fatalf("subscriber got sequence number %d, want 2", got.SequenceNumber)
	}
	if r.table.tcpForwarded.Load() != 1 {
		t.Fatalf("%d packets counted as forwarded over ICE-TCP, want 1", r.table.tcpForwarded.Load())
	}

	m.RemoveConnByUfrag("ufrag1")
	if len(inner.removed) != 1 || r.table.tcpConn(addr) != nil || len(m.conns) != 0 {
		t.Fatalf("after RemoveConnByUfrag: pion's mux told %v, address known %v, %d wrappers kept", inner.removed, r.table.tcpConn(addr) != nil, len(m.conns))
	}
}
