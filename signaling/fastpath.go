package signaling

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
	"github.com/pion/webrtc/v3"
)

// The fast path forwards RTP without pion's per-connection pipeline.
//
// pion hands every packet through five goroutines (the ICE mux reader, the ICE candidate, the
// DTLS/SRTP demultiplexer, the SRTP session and the track reader) and copies it about six times
// on the way in and out; measured, that cost 2.4 times a bare UDP relay per forwarded packet
// (docs/benchmarks.md, media). Here the ICE mux's own reader goroutine, which pion already runs
// for the shared UDP port, does all of it for a packet from a connected peer: look the sender up
// by address, decrypt with the sender's SRTP keys, and for each subscriber rewrite the SSRC and
// payload type, encrypt with the subscriber's keys and send on the same socket. It is the shape
// of cmd/mediabench's srtp relay.
//
// pion still does everything else: ICE (STUN), DTLS, RTCP both ways, the first packets of a
// track until the participant publishes it, and all media of a peer connected over ICE-TCP or
// with the UDP mux off (the slow path: pubTrack.run and sendQueue). The keys are pion's own,
// derived from the same DTLS handshake (srtpKeys). A peer's RTP goes one way only at a time, so
// no SRTP packet index is ever encrypted twice under one key.

// replayWindow is the fast path's SRTP replay window for incoming RTP, in packets. It is wider
// than pion's default so that a retransmission answering a subscriber's NACK (the same sequence
// number, arriving late) is not taken for a replay.
const replayWindow = 1024

// fastSocket is one UDP socket of the ICE mux. pion's mux reads it through ReadFrom, which keeps
// the packets the fast path forwards and returns everything else.
type fastSocket struct {
	*net.UDPConn
	table *fastTable
	// Used only by the socket's one reader (pion's mux worker goroutine).
	plain [maxPacket + 64]byte
	hdr   rtp.Header
}

// ReadFrom returns the next packet that is not fast-path RTP.
func (s *fastSocket) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, from, err := s.UDPConn.ReadFromUDPAddrPort(b)
		if err != nil {
			return n, nil, err
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if fp := s.table.get(from); fp != nil {
			if fp.sock.Load() == nil { // the pair's local address did not name the socket
				fp.sock.CompareAndSwap(nil, s)
			}
			if n >= 12 && isRTP(b[:n]) && fp.onRTP(s, b[:n]) {
				continue
			}
		}
		return n, net.UDPAddrFromAddrPort(from), nil
	}
}

// isRTP tells RTP from everything else on the port (RFC 7983: STUN, DTLS and RTP/RTCP by first
// byte; RFC 5761: RTCP by packet type).
func isRTP(b []byte) bool {
	return b[0]>>6 == 2 && (b[1] < 192 || b[1] > 223)
}

// fastTable maps a remote address to its peer. It is read on every packet without a lock and
// copied on the rare change. A hub without the UDP mux has a table with no sockets, which arms
// nobody.
type fastTable struct {
	mu    sync.Mutex
	peers atomic.Pointer[map[netip.AddrPort]*fastPeer]
	socks []*fastSocket

	fastPackets atomic.Uint64 // RTP packets the fast path received and forwarded
	pionPackets atomic.Uint64 // RTP packets forwarded after pion's pipeline (slow path)
}

func newFastTable() *fastTable {
	t := &fastTable{}
	t.peers.Store(&map[netip.AddrPort]*fastPeer{})
	return t
}

func (t *fastTable) get(addr netip.AddrPort) *fastPeer {
	return (*t.peers.Load())[addr]
}

// set points addr at fp (or removes fp's entries when addr is invalid).
func (t *fastTable) set(fp *fastPeer, addr netip.AddrPort) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.peers.Load()
	m := make(map[netip.AddrPort]*fastPeer, len(old)+1)
	for a, p := range old {
		if p != fp {
			m[a] = p
		}
	}
	if addr.IsValid() {
		m[addr] = fp
	}
	t.peers.Store(&m)
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

	inMu sync.Mutex
	in   *srtp.Context // decrypts the peer's RTP
	pubs atomic.Pointer[[]*pubTrack]
	good atomic.Uint64 // packets decrypted
	bad  atomic.Uint64 // packets that failed to decrypt

	outMu  sync.Mutex
	out    *srtp.Context // encrypts RTP to the peer
	addr   netip.AddrPort
	sealed [maxPacket + 64]byte
	outHdr rtp.Header

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
	in, err := srtp.CreateContext(keys.RemoteMasterKey, keys.RemoteMasterSalt, profile, srtp.SRTPReplayProtection(replayWindow))
	if err != nil {
		return nil, err
	}
	out, err := srtp.CreateContext(keys.LocalMasterKey, keys.LocalMasterSalt, profile)
	if err != nil {
		return nil, err
	}
	fp := &fastPeer{table: t, in: in, out: out, addr: addr, onFail: onFail}
	fp.pubs.Store(&[]*pubTrack{})
	fp.sock.Store(t.socketFor(local))
	t.set(fp, addr)
	return fp, nil
}

// move follows the peer to the pair pion selected after an ICE restart or a network change. An
// error means the new pair is not on the UDP mux: the caller takes the peer off the fast path.
func (fp *fastPeer) move(pc *webrtc.PeerConnection) error {
	addr, local, err := selectedUDP(pc)
	if err != nil {
		return err
	}
	fp.outMu.Lock()
	changed := fp.addr != addr
	fp.addr = addr
	fp.outMu.Unlock()
	if changed {
		fp.sock.Store(fp.table.socketFor(local))
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
	dt := pc.SCTP().Transport()
	if dt == nil {
		return netip.AddrPort{}, nil, errors.New("signaling: no DTLS transport")
	}
	pair, err := dt.ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil {
		return netip.AddrPort{}, nil, errors.New("signaling: no selected candidate pair")
	}
	if pair.Local.Protocol != webrtc.ICEProtocolUDP || pair.Remote.Protocol != webrtc.ICEProtocolUDP {
		return netip.AddrPort{}, nil, fmt.Errorf("signaling: selected pair is %s, not UDP", pair.Remote.Protocol)
	}
	ip, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		return netip.AddrPort{}, nil, fmt.Errorf("signaling: remote candidate address %q: %w", pair.Remote.Address, err)
	}
	return netip.AddrPortFrom(ip.Unmap(), pair.Remote.Port), pair.Local, nil
}

// addPub starts taking t's packets from pion: from now on they arrive here.
func (fp *fastPeer) addPub(t *pubTrack) {
	fp.inMu.Lock()
	defer fp.inMu.Unlock()
	old := *fp.pubs.Load()
	for _, p := range old {
		if p == t {
			return
		}
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
func (fp *fastPeer) onRTP(s *fastSocket, pkt []byte) bool {
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
	fp.inMu.Lock()
	plain, err := fp.in.DecryptRTP(s.plain[:], pkt, &s.hdr)
	fp.inMu.Unlock()
	if err != nil {
		// A replay or a forged packet is dropped, as pion would. Until one packet has decrypted,
		// failures mean the keys are wrong (a replay needs an accepted packet first).
		if fp.good.Load() == 0 && fp.bad.Add(1) == failLimit {
			fp.disarm()
			if fp.onFail != nil {
				fp.onFail()
			}
		}
		return true
	}
	fp.good.Add(1)
	fp.table.fastPackets.Add(1)
	t.forward(plain)
	return true
}

// sendRTP sends one plaintext RTP packet to the peer as ssrc with payload type pt. It rewrites
// pkt's header in place.
func (fp *fastPeer) sendRTP(pkt []byte, ssrc uint32, pt uint8) {
	sock := fp.sock.Load()
	if sock == nil {
		return
	}
	binary.BigEndian.PutUint32(pkt[8:12], ssrc)
	pkt[1] = pkt[1]&0x80 | pt&0x7f
	fp.outMu.Lock()
	defer fp.outMu.Unlock()
	sealed, err := fp.out.EncryptRTP(fp.sealed[:0], pkt, &fp.outHdr)
	if err != nil {
		return
	}
	if _, err := sock.WriteToUDPAddrPort(sealed, fp.addr); err == nil && fp.sent != nil {
		fp.sent.Add(uint64(len(pkt)))
	}
}
