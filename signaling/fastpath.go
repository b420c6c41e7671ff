package signaling

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"
)

// The fast path forwards RTP without pion's per-connection pipeline.
//
// pion hands every packet through five goroutines (the ICE mux reader, the ICE candidate, the
// DTLS/SRTP demultiplexer, the SRTP session and the track reader) and copies it about six times
// on the way in and out; measured, that cost 2.4 times a bare UDP relay per forwarded packet
// (docs/benchmarks.md, media). Here a reader of the shared UDP port (fastMux; Network.Readers)
// does all of it for a packet from a connected peer: look the sender up by address, decrypt
// with the sender's SRTP keys, and for each subscriber rewrite the SSRC and payload type,
// encrypt with the subscriber's keys and send. It is the shape of cmd/mediabench's srtp relay.
//
// pion still does everything else: ICE (STUN), DTLS, RTCP both ways, the first packets of a
// track until the participant publishes it, and all media of a peer that connected over ICE-TCP
// or with the UDP mux off (the slow path: pubTrack.run and sendQueue); a peer that moves from
// the mux to ICE-TCP stays on the fast path (fasttcp.go). The keys are pion's own,
// derived from the same DTLS handshake (srtpKeys). A peer's RTP goes one way only at a time, so
// no SRTP packet index is ever encrypted twice under one key.

// replayWindow is the fast path's SRTP replay window for incoming RTP, in packets: wider than
// pion's default (64) so that a retransmission the publisher sends for a subscriber's NACK,
// late and out of order, is not taken for a replay (256 is 1.7 s of video at 150 packets/s).
const replayWindow = 256

// fastMux is the shared UDP port as pion's ICE mux sees it: one socket, or several bound to
// the same address and port (SO_REUSEPORT, Network.Readers), so that the kernel spreads the
// peers over them by address and each socket's reader forwards on its own core. Each reader
// keeps the fast path's packets and passes the rest (STUN, DTLS, RTCP) to pion's one mux reader
// through a queue; pion writes on the first socket (they share the port, so peers cannot tell).
type fastMux struct {
	socks   []*fastSocket
	toPion  chan pionPacket
	bufs    sync.Pool
	closed  chan struct{}
	once    sync.Once
	readers sync.WaitGroup
}

type pionPacket struct {
	buf  *[]byte
	n    int
	from netip.AddrPort
}

// pionQueue bounds the packets waiting for pion's mux reader. They are ICE checks, DTLS and
// RTCP, all of which are sent again if lost.
const pionQueue = 1024

func newFastMux(table *fastTable, conns []*net.UDPConn) (*fastMux, error) {
	m := &fastMux{toPion: make(chan pionPacket, pionQueue), closed: make(chan struct{})}
	m.bufs.New = func() any { b := make([]byte, receiveMTU); return &b }
	for _, c := range conns {
		s, err := newFastSocket(c, table)
		if err != nil {
			return nil, err
		}
		m.socks = append(m.socks, s)
	}
	table.socks = append(table.socks, m.socks...)
	m.readers.Add(len(m.socks))
	for _, s := range m.socks {
		go func() {
			defer m.readers.Done()
			s.serve(m)
		}()
	}
	return m, nil
}

// receiveMTU is the largest datagram read from the port (pion's own limit).
const receiveMTU = 8192

// ReadFrom gives pion the next packet that is not the fast path's.
func (m *fastMux) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-m.toPion:
		n := copy(b, (*p.buf)[:p.n])
		m.bufs.Put(p.buf)
		return n, net.UDPAddrFromAddrPort(p.from), nil
	case <-m.closed:
		return 0, nil, io.EOF
	}
}

func (m *fastMux) WriteTo(b []byte, addr net.Addr) (int, error) { return m.socks[0].WriteTo(b, addr) }
func (m *fastMux) LocalAddr() net.Addr                          { return m.socks[0].LocalAddr() }

// Close closes every socket and waits for their readers.
func (m *fastMux) Close() error {
	var errs []error
	m.once.Do(func() {
		close(m.closed)
		for _, s := range m.socks {
			errs = append(errs, s.Close())
		}
		m.readers.Wait()
	})
	return errors.Join(errs...)
}

// Deadlines are not used by pion's mux; the sockets keep none.
func (m *fastMux) SetDeadline(time.Time) error      { return nil }
func (m *fastMux) SetReadDeadline(time.Time) error  { return nil }
func (m *fastMux) SetWriteDeadline(time.Time) error { return nil }

// fastSocket is one socket of the shared port, with its reader's buffers.
type fastSocket struct {
	*net.UDPConn
	table *fastTable
	// Used only by the socket's reader: its batches of datagrams in and out, and where a cipher
	// that does not decrypt in place puts the packet.
	batch *batchConn
	plain [receiveMTU]byte
	fast  [socketBatch]bool // which datagrams of the read the fast path took (forwarded or dropped)

	forwarded atomic.Uint64 // RTP packets this socket's reader forwarded
	delay     delayHist     // and the time each spent in the server
}

// socketBatch is how many datagrams the reader takes from the socket per system call, and sends
// per call after them. At the rates of a busy server (tens of thousands of packets a second
// over a few sockets) a read finds a few waiting; the batch only has to be larger than that.
const socketBatch = 32

func newFastSocket(c *net.UDPConn, table *fastTable) (*fastSocket, error) {
	b, err := newBatchConn(c, socketBatch)
	if err != nil {
		return nil, err
	}
	return &fastSocket{UDPConn: c, table: table, batch: b}, nil
}

// serve reads the socket until it closes: the fast path's packets are forwarded here, the
// rest queued for pion. Everything waiting on the socket is read in one call, and what its
// packets produced is sent in one call before the next read, so nothing waits for more traffic.
func (s *fastSocket) serve(m *fastMux) {
	for {
		n, err := s.batch.read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient error (an ICMP report of an unreachable peer): keep reading
		}
		for i := range n {
			s.fast[i] = s.handle(m, s.batch.data(i), s.batch.from(i))
		}
		s.batch.flush() // a datagram the kernel refused is lost as a plain write's would be
		sent := time.Now().UnixNano()
		for i := range n {
			if s.fast[i] {
				if at := s.batch.arrived(i); at != 0 {
					s.delay.add(sent - at)
				}
			}
		}
	}
}

// handle forwards one datagram by the fast path (true) or queues it for pion.
func (s *fastSocket) handle(m *fastMux, pkt []byte, from netip.AddrPort) bool {
	if fp := s.table.get(from); fp != nil {
		if fp.sock.Load() == nil { // the pair's local address did not name the socket
			fp.sock.CompareAndSwap(nil, s)
		}
		if len(pkt) >= 12 && isRTP(pkt) && fp.onRTP(pkt, s.plain[:], s, &s.forwarded) {
			return true
		}
	}
	b := m.bufs.Get().(*[]byte)
	select {
	case m.toPion <- pionPacket{buf: b, n: copy(*b, pkt), from: from}:
	default:
		m.bufs.Put(b)
		s.table.pionDropped.Add(1)
	}
	return false
}

// isRTP tells RTP from everything else on the port (RFC 7983: STUN, DTLS and RTP/RTCP by first
// byte; RFC 5761: RTCP by packet type).
func isRTP(b []byte) bool {
	return b[0]>>6 == 2 && (b[1] < 192 || b[1] > 223)
}

// fastPackets is how many RTP packets the fast path has forwarded, over every socket.
func (t *fastTable) fastPackets() uint64 {
	n := t.tcpForwarded.Load()
	for _, s := range t.socks {
		n += s.forwarded.Load()
	}
	return n
}

// fastTable maps a remote address to its peer. It is read on every packet without a lock and
// copied on the rare change. A hub without the UDP mux has a table with no sockets, which arms
// nobody.
type fastTable struct {
	mu    sync.Mutex
	peers atomic.Pointer[map[netip.AddrPort]*fastPeer]
	socks []*fastSocket

	pionPackets atomic.Uint64 // RTP packets forwarded after pion's pipeline (slow path)
	pionDropped atomic.Uint64 // packets for pion (ICE, DTLS, RTCP) dropped because its queue was full
	rejected    atomic.Uint64 // RTP packets of published tracks that failed to decrypt (forged, replayed, or keys or index wrong)

	tcpTable // peers that moved to ICE-TCP (fasttcp.go)
}

func newFastTable() *fastTable {
	t := &fastTable{}
	t.peers.Store(&map[netip.AddrPort]*fastPeer{})
	t.tcpPeers.Store(&map[netip.AddrPort]*fastPeer{})
	return t
}

func (t *fastTable) get(addr netip.AddrPort) *fastPeer {
	return (*t.peers.Load())[addr]
}

// set points addr at fp on the UDP mux (or removes fp's entries when addr is invalid), and
// removes fp's entries for ICE-TCP.
func (t *fastTable) set(fp *fastPeer, addr netip.AddrPort) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.peers.Store(pointing(*t.peers.Load(), fp, addr))
	t.tcpPeers.Store(pointing(*t.tcpPeers.Load(), fp, netip.AddrPort{}))
}

// setTCP points addr at fp on ICE-TCP, and removes fp's entries for the UDP mux.
func (t *fastTable) setTCP(fp *fastPeer, addr netip.AddrPort) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tcpPeers.Store(pointing(*t.tcpPeers.Load(), fp, addr))
	t.peers.Store(pointing(*t.peers.Load(), fp, netip.AddrPort{}))
}

// pointing is a copy of old without fp's entries, with addr pointing at fp if it is valid.
func pointing(old map[netip.AddrPort]*fastPeer, fp *fastPeer, addr netip.AddrPort) *map[netip.AddrPort]*fastPeer {
	m := make(map[netip.AddrPort]*fastPeer, len(old)+1)
	for a, p := range old {
		if p != fp {
			m[a] = p
		}
	}
	if addr.IsValid() {
		m[addr] = fp
	}
	return &m
}

// socketFor finds the mux socket a selected pair's local candidate is on: by port and address,
// or by port alone when the address is a public one (1:1 NAT). Nil when it cannot tell; the
// socket is then learnt from the peer's next packet.
func (t *fastTable) socketFor(local *webrtc.ICECandidate) *fastSocket {
	var byPort []*fastSocket
	for _, s := range t.socks {
		la, ok := s.LocalAddr().(*net.UDPAddr)
		if !ok || la.Port != int(local.Port) {
			continue
		}
		if la.IP.String() == local.Address {
			return s
		}
		byPort = append(byPort, s)
	}
	if len(byPort) == 1 {
		return byPort[0]
	}
	return nil
}

// fastPeer is one peer connection on the fast path: where it is and its SRTP contexts.
type fastPeer struct {
	table *fastTable
	sock  atomic.Pointer[fastSocket]
	tcp   atomic.Pointer[fastTCPConn] // set while the selected pair is on ICE-TCP (fasttcp.go)

	inMu sync.Mutex
	in   rtpCipher // decrypts the peer's RTP
	pubs atomic.Pointer[[]*pubTrack]
	good atomic.Bool   // a packet has decrypted: the keys are right
	bad  atomic.Uint64 // packets that failed to decrypt

	outMu  sync.Mutex
	out    rtpCipher // encrypts RTP to the peer
	addr   netip.AddrPort
	sealed [maxPacket + srtpOverhead]byte

	onFail func() // called once if the peer's packets never decrypt; must not block

	sent *atomic.Uint64 // the participant's count of RTP bytes sent to it (nil: not counted)
}

// armFast puts pc on the fast path if its selected candidate pair is on the UDP mux.
func (t *fastTable) armFast(pc *webrtc.PeerConnection, onFail func()) (*fastPeer, error) {
	if len(t.socks) == 0 {
		return nil, errors.New("signaling: no UDP mux")
	}
	addr, local, err := selectedUDP(pc)
	if err != nil {
		return nil, err
	}
	profile, keys, err := srtpKeys(pc)
	if err != nil {
		return nil, err
	}
	in, err := newRTPCipher(profile, keys.RemoteMasterKey, keys.RemoteMasterSalt)
	if err != nil {
		return nil, err
	}
	out, err := newRTPCipher(profile, keys.LocalMasterKey, keys.LocalMasterSalt)
	if err != nil {
		return nil, err
	}
	fp := &fastPeer{table: t, in: in, out: out, addr: addr, onFail: onFail}
	fp.pubs.Store(&[]*pubTrack{})
	fp.sock.Store(t.socketFor(local))
	t.set(fp, addr)
	return fp, nil
}

// move follows the peer to the pair pion selected after an ICE restart or a network change: on
// the UDP mux, or over ICE-TCP on a connection the mux wrapper has seen. An error means neither:
// the caller takes the peer off the fast path. toTCP is called before the peer's packets start
// going over ICE-TCP, where everything sent to it is queued.
func (fp *fastPeer) move(pc *webrtc.PeerConnection, toTCP func()) error {
	addr, local, err := selectedPair(pc)
	if err != nil {
		return err
	}
	if local.Protocol == webrtc.ICEProtocolTCP {
		c := fp.table.tcpConn(addr)
		if c == nil {
			return fmt.Errorf("signaling: no ICE-TCP connection from %v", addr)
		}
		toTCP()
		fp.outMu.Lock()
		fp.addr = addr
		fp.tcp.Store(c)
		fp.outMu.Unlock()
		fp.table.setTCP(fp, addr)
		return nil
	}
	fp.outMu.Lock()
	changed := fp.addr != addr || fp.tcp.Load() != nil
	fp.addr = addr
	fp.outMu.Unlock()
	if changed {
		fp.sock.Store(fp.table.socketFor(local))
		fp.tcp.Store(nil)
		fp.table.set(fp, addr)
	}
	return nil
}

// disarm takes the peer off the fast path.
func (fp *fastPeer) disarm() {
	fp.table.set(fp, netip.AddrPort{})
}

// selectedUDP returns the remote address of pc's selected pair if both ends are UDP.
func selectedUDP(pc *webrtc.PeerConnection) (netip.AddrPort, *webrtc.ICECandidate, error) {
	addr, local, err := selectedPair(pc)
	if err == nil && local.Protocol != webrtc.ICEProtocolUDP {
		err = fmt.Errorf("signaling: selected pair is %s, not UDP", local.Protocol)
	}
	return addr, local, err
}

// selectedPair returns the remote address and the local candidate of pc's selected pair, whose
// ends are both UDP or both TCP.
func selectedPair(pc *webrtc.PeerConnection) (netip.AddrPort, *webrtc.ICECandidate, error) {
	dt := pc.SCTP().Transport()
	if dt == nil {
		return netip.AddrPort{}, nil, errors.New("signaling: no DTLS transport")
	}
	pair, err := dt.ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil {
		return netip.AddrPort{}, nil, errors.New("signaling: no selected candidate pair")
	}
	if pair.Local.Protocol != pair.Remote.Protocol {
		return netip.AddrPort{}, nil, fmt.Errorf("signaling: selected pair is %s to %s", pair.Local.Protocol, pair.Remote.Protocol)
	}
	ip, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		return netip.AddrPort{}, nil, fmt.Errorf("signaling: remote candidate address %q: %w", pair.Remote.Address, err)
	}
	return netip.AddrPortFrom(ip.Unmap(), pair.Remote.Port), pair.Local, nil
}

// addPub starts taking t's packets from pion: from now on they arrive here. If pion has passed
// some on already, decryption carries on from the last of them (a peer that comes back to the
// UDP mux late in a call is many wraps of the sequence number on); a track that has only just
// started may still have packets in pion's queue, which openFirst allows for.
func (fp *fastPeer) addPub(t *pubTrack) {
	fp.inMu.Lock()
	defer fp.inMu.Unlock()
	old := *fp.pubs.Load()
	for _, p := range old {
		if p == t {
			return
		}
	}
	if t.stats.packets.Load() > 0 {
		ext := t.stats.highest.Load()
		fp.in.resume(t.ssrc, uint32(ext>>16), uint16(ext))
	}
	pubs := append(append(make([]*pubTrack, 0, len(old)+1), old...), t)
	fp.pubs.Store(&pubs)
}

func (fp *fastPeer) removePub(t *pubTrack) {
	fp.inMu.Lock()
	defer fp.inMu.Unlock()
	pubs := without(*fp.pubs.Load(), t)
	fp.pubs.Store(&pubs)
}

// failLimit is how many packets in a row may fail to decrypt before the fast path gives the
// peer back to pion: a peer whose keys the fast path got wrong would otherwise lose all media.
const failLimit = 16

// onRTP forwards one packet from the peer; false hands it to pion (a track not yet published).
// scratch is the reader's buffer for a cipher that does not decrypt in place; via is the mux
// socket whose reader is calling (nil: the packet came over ICE-TCP), as for pubTrack.forward;
// forwarded counts the packets forwarded (its reader's own counter).
func (fp *fastPeer) onRTP(pkt, scratch []byte, via *fastSocket, forwarded *atomic.Uint64) bool {
	ssrc := binary.BigEndian.Uint32(pkt[8:12])
	var t *pubTrack
	for _, p := range *fp.pubs.Load() {
		if p.ssrc == ssrc {
			t = p
			break
		}
	}
	if t == nil {
		return false
	}
	if len(pkt) > maxPacket+srtpOverhead {
		return true // longer than any packet the server forwards (maxPacket): dropped
	}
	fp.inMu.Lock()
	plain, err := fp.in.open(pkt, scratch)
	fp.inMu.Unlock()
	if err != nil {
		fp.table.rejected.Add(1)
		// A replay or a forged packet is dropped, as pion would. Until one packet has decrypted,
		// failures mean the keys are wrong (a replay needs an accepted packet first).
		if !fp.good.Load() && fp.bad.Add(1) == failLimit {
			fp.disarm()
			if fp.onFail != nil {
				fp.onFail()
			}
		}
		return true
	}
	if !fp.good.Load() {
		fp.good.Store(true)
	}
	forwarded.Add(1)
	t.forward(plain, via)
	return true
}

// sendRTP sends one plaintext RTP packet to the peer as ssrc with payload type pt. It rewrites
// pkt's header in place. via is the mux socket whose reader is calling, which queues the packet
// in its batch (the sockets share the port, so the peer cannot tell which one sent it); nil
// (a retransmission from an RTCP reader) writes at once on the peer's own socket.
func (fp *fastPeer) sendRTP(pkt []byte, ssrc uint32, pt uint8, via *fastSocket) {
	if c := fp.tcp.Load(); c != nil {
		fp.sendTCP(c, pkt, ssrc, pt)
		return
	}
	sock := fp.sock.Load()
	if sock == nil {
		return
	}
	binary.BigEndian.PutUint32(pkt[8:12], ssrc)
	pkt[1] = pkt[1]&0x80 | pt&0x7f
	if via != nil {
		buf := via.batch.sendBuf() // before the lock: it may flush a full batch
		fp.outMu.Lock()
		sealed, err := fp.out.seal(buf, pkt)
		to := fp.addr
		fp.outMu.Unlock()
		if err != nil {
			return
		}
		via.batch.queue(sealed, to)
		if fp.sent != nil {
			fp.sent.Add(uint64(len(pkt)))
		}
		return
	}
	fp.outMu.Lock()
	defer fp.outMu.Unlock()
	sealed, err := fp.out.seal(fp.sealed[:0], pkt)
	if err != nil {
		return
	}
	if _, err := sock.WriteToUDPAddrPort(sealed, fp.addr); err == nil && fp.sent != nil {
		fp.sent.Add(uint64(len(pkt)))
	}
}

// sendTCP is sendRTP for a peer on ICE-TCP. The peer's send queue calls it (downTrack.send
// queues everything for such a peer), since the write may block: it is made outside outMu, so
// that a stalled connection holds up nothing but that queue. The packet is sealed into a buffer
// of its own, as pion's TCP framing copies it again anyway.
func (fp *fastPeer) sendTCP(c *fastTCPConn, pkt []byte, ssrc uint32, pt uint8) {
	binary.BigEndian.PutUint32(pkt[8:12], ssrc)
	pkt[1] = pkt[1]&0x80 | pt&0x7f
	fp.outMu.Lock()
	sealed, err := fp.out.seal(make([]byte, 0, len(pkt)+srtpOverhead), pkt)
	to := fp.addr
	fp.outMu.Unlock()
	if err != nil {
		return
	}
	if _, err := c.WriteTo(sealed, net.TCPAddrFromAddrPort(to)); err == nil && fp.sent != nil {
		fp.sent.Add(uint64(len(pkt)))
	}
}

// onTCP reports whether the peer's selected pair is on ICE-TCP.
func (fp *fastPeer) onTCP() bool { return fp.tcp.Load() != nil }
