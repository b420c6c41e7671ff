package signaling

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v2"
)

// The fast path over ICE-TCP, for a peer already on it whose selected pair moves from the UDP
// mux to ICE-TCP in mid-call (a network that blocks UDP). Its SRTP streams stay with the fast
// path's contexts: pion's saw none of their packets while the fast path had them, and once a
// stream's sequence number has wrapped they would count the packet index wrongly and every
// packet would fail. So the TCP connections pion's mux hands to ICE are wrapped: RTP of such a
// peer's published tracks is taken out of the stream of packets pion reads and forwarded here,
// and what is sent to the peer is sealed here and written on the same connection (from the
// peer's send queue: a TCP write may block). A peer that starts on ICE-TCP stays with pion's
// pipeline, whose contexts have seen everything.

// fastTCPMux is pion's ICE-TCP mux with its connections wrapped.
type fastTCPMux struct {
	ice.TCPMux
	table *fastTable

	mu    sync.Mutex
	conns map[net.PacketConn]*fastTCPConn // by pion's connection
}

func newFastTCPMux(inner ice.TCPMux, table *fastTable) *fastTCPMux {
	return &fastTCPMux{TCPMux: inner, table: table, conns: map[net.PacketConn]*fastTCPConn{}}
}

func (m *fastTCPMux) GetConnByUfrag(ufrag string, isIPv6 bool, local net.IP) (net.PacketConn, error) {
	c, err := m.TCPMux.GetConnByUfrag(ufrag, isIPv6, local)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.conns[c]
	if w == nil {
		w = &fastTCPConn{PacketConn: c, table: m.table, ufrag: ufrag}
		m.conns[c] = w
	}
	return w, nil
}

// RemoveConnByUfrag closes the ufrag's connections (pion's mux does) and forgets them.
func (m *fastTCPMux) RemoveConnByUfrag(ufrag string) {
	m.TCPMux.RemoveConnByUfrag(ufrag)
	m.mu.Lock()
	defer m.mu.Unlock()
	for c, w := range m.conns {
		if w.ufrag == ufrag {
			w.forget()
			delete(m.conns, c)
		}
	}
}

// fastTCPConn is one ICE ufrag's TCP connections as pion's agent reads them. ReadFrom runs on
// that agent's one reading goroutine.
type fastTCPConn struct {
	net.PacketConn
	table *fastTable
	ufrag string
	plain [receiveMTU]byte // where a cipher that does not decrypt in place puts the packet

	mu      sync.Mutex
	remotes []netip.AddrPort // addresses it has read from, registered in the table
}

// ReadFrom gives pion the next packet that the fast path does not take.
func (c *fastTCPConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		ta, ok := addr.(*net.TCPAddr)
		if !ok {
			return n, addr, nil
		}
		from := ta.AddrPort()
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if c.table.tcpConn(from) != c {
			c.mu.Lock()
			c.table.tcpConns.Store(from, c)
			c.remotes = append(c.remotes, from)
			c.mu.Unlock()
		}
		if fp := c.table.getTCP(from); fp != nil && n >= 12 && isRTP(b[:n]) && fp.onRTP(b[:n], c.plain[:], nil, &c.table.tcpForwarded) {
			continue
		}
		return n, addr, nil
	}
}

// Close forgets the connection's addresses and closes it.
func (c *fastTCPConn) Close() error {
	c.forget()
	return c.PacketConn.Close()
}

func (c *fastTCPConn) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.remotes {
		c.table.tcpConns.CompareAndDelete(a, c)
	}
	c.remotes = nil
}

// tcpConn is the wrapped connection a remote address last reached the server on, or nil.
func (t *fastTable) tcpConn(addr netip.AddrPort) *fastTCPConn {
	if c, ok := t.tcpConns.Load(addr); ok {
		return c.(*fastTCPConn)
	}
	return nil
}

// getTCP is the fast peer on ICE-TCP at addr, or nil.
func (t *fastTable) getTCP(addr netip.AddrPort) *fastPeer {
	return (*t.tcpPeers.Load())[addr]
}

// tcpTable is the fast table's part for peers on ICE-TCP.
type tcpTable struct {
	tcpConns     sync.Map // netip.AddrPort → *fastTCPConn
	tcpPeers     atomic.Pointer[map[netip.AddrPort]*fastPeer]
	tcpForwarded atomic.Uint64 // RTP packets forwarded from peers on ICE-TCP
}
