package signaling

import (
	"bytes"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

func TestSendQueueDropsWhenFullAndNeverBlocks(t *testing.T) {
	q := &sendQueue{slots: make([]slot, 4), wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	d := &downTrack{}
	for range 10 { // no writer running: the queue fills, then drops
		q.push(d, []byte("0123456789ab"))
	}
	if got := q.dropped.Load(); got != 6 {
		t.Fatalf("dropped %d, want 6", got)
	}
	if allocs := testing.AllocsPerRun(100, func() { q.push(d, []byte("0123456789ab")) }); allocs != 0 {
		t.Fatalf("push allocates %v", allocs)
	}
}

// fastRig is a publisher and a subscriber on the fast path, without pion: the server's mux
// socket, and a client socket for each that encrypts or decrypts with the other end's keys.
type fastRig struct {
	table     *fastTable
	sock      *fastSocket
	pub       *pubTrack
	from, sub *fastPeer
	pubConn   *net.UDPConn // the publisher's socket
	subConn   *net.UDPConn // the subscriber's socket
	pubCtx    *srtp.Context
	subCtx    *srtp.Context
	cipher    func(key []byte) rtpCipher // a server-side cipher of the rig's profile
}

var (
	rigSalt = []byte("0123456789ab")
	keyA    = []byte("publisher-key-16")
	keyB    = []byte("subscriberkey-16")
)

func newFastRig(t *testing.T, serverInKey []byte) *fastRig {
	return newFastRigWith(t, srtp.ProtectionProfileAeadAes128Gcm, serverInKey)
}

// newFastRigWith builds the rig with another SRTP profile: its clients are pion/srtp's, the
// server's ciphers the fast path's own.
func newFastRigWith(t *testing.T, profile srtp.ProtectionProfile, serverInKey []byte) *fastRig {
	t.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	salt := rigSalt
	if profile == srtp.ProtectionProfileAes128CmHmacSha1_80 {
		salt = []byte("0123456789abcd")
	}
	ctx := func(key []byte) *srtp.Context {
		c, err := srtp.CreateContext(key, salt, profile)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	server := func(key []byte) rtpCipher {
		c, err := newRTPCipher(profile, key, salt)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	r := &fastRig{table: newFastTable(), pubConn: listen(), subConn: listen(), pubCtx: ctx(keyA), subCtx: ctx(keyB), cipher: server}
	sock, err := newFastSocket(listen(), r.table)
	if err != nil {
		t.Fatal(err)
	}
	r.sock = sock
	r.table.socks = []*fastSocket{r.sock}
	addr := func(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }
	r.from = &fastPeer{table: r.table, in: server(serverInKey), out: server(keyA), addr: addr(r.pubConn)}
	r.sub = &fastPeer{table: r.table, in: server(keyB), out: server(keyB), addr: addr(r.subConn)}
	for _, fp := range []*fastPeer{r.from, r.sub} {
		fp.sock.Store(r.sock)
		fp.pubs.Store(&[]*pubTrack{})
		r.table.set(fp, fp.addr)
	}
	subscriber := &participant{}
	subscriber.fast.Store(r.sub)
	r.pub = &pubTrack{ssrc: 1111, kind: kindVideo, table: r.table, ring: &packetRing{}}
	r.pub.stats.clockRate = 90000
	d := &downTrack{pub: r.pub, sub: subscriber, ssrc: 2222}
	d.pt.Store(96)
	d.ready.Store(true)
	r.pub.subs.Store(&[]*downTrack{d})
	r.from.addPub(r.pub)
	return r
}

// onRTP hands the server a datagram from the publisher as the mux socket's reader would.
func (r *fastRig) onRTP(pkt []byte) bool {
	return r.from.onRTP(pkt, r.sock.plain[:], r.sock, &r.sock.forwarded)
}

// sealed returns the publisher's packet number i, encrypted as the publisher would.
func (r *fastRig) sealed(t *testing.T, i int) []byte {
	t.Helper()
	return r.seal(t, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 100, SequenceNumber: uint16(i), Timestamp: uint32(i) * 3000, SSRC: 1111},
		Payload: bytes.Repeat([]byte{byte(i)}, 1100)})
}

// seal encrypts pkt as the publisher would.
func (r *fastRig) seal(t *testing.T, pkt *rtp.Packet) []byte {
	t.Helper()
	plain, err := pkt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.pubCtx.EncryptRTP(nil, plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The fast path decrypts the publisher's packet, rewrites SSRC and payload type for the
// subscriber and encrypts it with the subscriber's keys, with no allocation (AES-GCM, its own
// SRTP); a peer on AES-CM with HMAC-SHA1 is forwarded the same way through pion/srtp.
func TestFastPathForwardsOnePacketWithoutAllocating(t *testing.T) {
	r := newFastRig(t, keyA)
	r.forwardsOne(t)

	packets := make([][]byte, 0, 300)
	for i := range 300 {
		packets = append(packets, r.sealed(t, 10+i))
	}
	next := 0
	// The subscriber's socket is left unread: the kernel drops what its buffer cannot hold.
	if allocs := testing.AllocsPerRun(200, func() {
		r.onRTP(packets[next])
		r.sock.batch.flush()
		next++
	}); allocs != 0 {
		t.Fatalf("%v allocations per packet forwarded to one subscriber, want none", allocs)
	}

	newFastRigWith(t, srtp.ProtectionProfileAes128CmHmacSha1_80, keyA).forwardsOne(t)
}

// forwardsOne sends the publisher's first packet through the fast path and checks what the
// subscriber gets; a packet of an SSRC nobody published goes to pion.
func (r *fastRig) forwardsOne(t *testing.T) {
	t.Helper()
	if !r.onRTP(r.sealed(t, 1)) {
		t.Fatal("onRTP handed a published track's packet to pion")
	}
	got := r.received(t)
	if got.SSRC != 2222 || got.PayloadType != 96 || got.SequenceNumber != 1 || got.Timestamp != 3000 || len(got.Payload) != 1100 || got.Payload[0] != 1 {
		t.Fatalf("subscriber got %v, want SSRC 2222, PT 96, seq 1, ts 3000, 1100 bytes of 1", got.Header)
	}
	if r.pub.stats.packets.Load() != 1 {
		t.Fatalf("stats counted %d packets", r.pub.stats.packets.Load())
	}
	// A packet longer than maxPacket is taken and dropped, not sent on.
	sealedBig := r.seal(t, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 100, SequenceNumber: 2, SSRC: 1111}, Payload: make([]byte, maxPacket)})
	if !r.onRTP(sealedBig) {
		t.Fatal("an oversized packet of a published track was handed to pion")
	}
	if sent, _ := r.sock.batch.flush(); sent != 0 {
		t.Fatalf("an oversized packet was sent on (%d datagrams)", sent)
	}
	// An unpublished SSRC goes to pion.
	other := r.sealed(t, 2)
	other[8] ^= 0xff
	if r.onRTP(other) {
		t.Fatal("a packet of an unpublished SSRC was kept from pion")
	}
}

// received flushes the reader's batch, which must hold one packet, and returns that packet as
// the subscriber decrypts it.
func (r *fastRig) received(t *testing.T) rtp.Packet {
	t.Helper()
	if sent, err := r.sock.batch.flush(); sent != 1 || err != nil {
		t.Fatalf("the reader's batch sent %d packets (%v), want one", sent, err)
	}
	return r.readSub(t)
}

// readSub reads the subscriber's next packet and decrypts it.
func (r *fastRig) readSub(t *testing.T) rtp.Packet {
	t.Helper()
	buf := make([]byte, 1500)
	_ = r.subConn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := r.subConn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := r.subCtx.DecryptRTP(nil, buf[:n], nil)
	if err != nil {
		t.Fatalf("subscriber cannot decrypt: %v", err)
	}
	var got rtp.Packet
	if err := got.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	return got
}

// The fast path takes a track over from pion, which decrypted its first packets, for either
// profile:
//   - at set-up, when the sequence number wrapped among the packets pion took (seen as one
//     participant in some thousands never receiving a track: every packet failed to decrypt);
//   - when a peer comes back from pion late in a call, many wraps on, in both directions: the
//     publisher's counter is taken from what the track received, the subscriber's from what
//     was sent to it.
func TestFastPathTakesOverFromPion(t *testing.T) {
	for _, profile := range []srtp.ProtectionProfile{srtp.ProtectionProfileAeadAes128Gcm, srtp.ProtectionProfileAes128CmHmacSha1_80} {
		t.Run(profile.String(), func(t *testing.T) {
			r := newFastRigWith(t, profile, keyA)
			for i := 65530; i < 65536+3; i++ {
				r.sealed(t, i) // decrypted by pion, never seen by the fast path
			}
			for i := 65536 + 3; i < 65536+10; i++ {
				if !r.onRTP(r.sealed(t, i)) {
					t.Fatal("onRTP handed a published track's packet to pion")
				}
				if got := r.received(t); got.SequenceNumber != uint16(i) {
					t.Fatalf("subscriber got sequence number %d, want %d", got.SequenceNumber, uint16(i))
				}
			}

			// The publisher comes back to the mux with a fresh context, its track two wraps on
			// (counted by the track's statistics); the subscriber too, two wraps after its first
			// packet.
			r = newFastRigWith(t, profile, keyA)
			r.from.removePub(r.pub)
			r.from.in, r.sub.out = r.cipher(keyA), r.cipher(keyB)
			r.pubCtx.SetROC(1111, 2)
			r.subCtx.SetROC(2222, 2)
			st := &r.pub.stats // as pion's path left them: 2<<16 | 100 the highest so far
			st.started, st.baseSeq, st.highestSeq = true, 50, 2<<16|100
			st.highest.Store(st.highestSeq)
			st.packets.Store(st.highestSeq - st.baseSeq + 1)
			d := (*r.pub.subs.Load())[0]
			d.sentFirst, d.firstSeq = true, 60
			r.from.addPub(r.pub)
			d.resumeOn(r.sub)
			for i := 101; i < 110; i++ {
				r.onRTP(r.sealed(t, i))
				if got := r.received(t); got.SequenceNumber != uint16(i) {
					t.Fatalf("subscriber got sequence number %d, want %d", got.SequenceNumber, i)
				}
			}
		})
	}
}

// A peer whose packets never decrypt (keys taken wrongly) goes back to pion after failLimit
// packets, once; after one good packet, failures are replays or forgeries and change nothing.
func TestFastPathGivesUpOnKeysThatNeverDecrypt(t *testing.T) {
	r := newFastRig(t, keyB) // the server's idea of the publisher's key is wrong
	fails := 0
	r.from.onFail = func() { fails++ }
	for i := range failLimit + 5 {
		r.onRTP(r.sealed(t, i))
	}
	if fails != 1 || r.table.get(r.from.addr) != nil {
		t.Fatalf("onFail called %d times, peer still in table: %v; want once, removed", fails, r.table.get(r.from.addr) != nil)
	}
	if got := r.table.rejected.Load(); got != failLimit+5 {
		t.Fatalf("%d packets counted as rejected, want %d", got, failLimit+5)
	}

	r = newFastRig(t, keyA)
	r.from.onFail = func() { fails++ }
	fails = 0
	r.onRTP(r.sealed(t, 1))
	for i := range failLimit + 5 {
		bad := r.sealed(t, 2+i)
		bad[len(bad)-1] ^= 1 // a forged tag
		r.onRTP(bad)
	}
	if fails != 0 || r.table.get(r.from.addr) == nil {
		t.Fatalf("after a good packet, forgeries called onFail %d times / removed the peer", fails)
	}
}

// The shared port's sockets share it among themselves only: a second server on the same port
// fails as it would without SO_REUSEPORT.
// With one reader the socket does not share at all.
func TestSharedPortRefusesASecondServer(t *testing.T) {
	for _, readers := range []int{1, 2} {
		first, err := listenShared(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, readers, 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		port := first[0].LocalAddr().(*net.UDPAddr).Port
		if canSharePort && (len(first) != readers || first[readers-1].LocalAddr().(*net.UDPAddr).Port != port) {
			t.Fatalf("sockets %v, want %d on port %d", first, readers, port)
		}
		for _, again := range []int{1, 2} {
			if second, err := listenShared(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, again, 1<<16); err == nil {
				for _, c := range second {
					c.Close()
				}
				t.Errorf("a second server with %d readers bound the port that one with %d is using", again, readers)
			}
		}
		for _, c := range first {
			c.Close()
		}
	}
}

// The UDP port's readers: as configured, or one per two cores; a count out of range is refused.
func TestReadersPerPort(t *testing.T) {
	if got := (&Network{Readers: 3}).readersPerPort(); got != 3 {
		t.Errorf("Readers 3 opened %d", got)
	}
	if got, want := (&Network{}).readersPerPort(), max(1, min(runtime.GOMAXPROCS(0)/2, 8)); got != want {
		t.Errorf("default %d readers, want %d", got, want)
	}
	if err := (&Params{Network: Network{Readers: MaxReaders}}).validate(); err != nil {
		t.Errorf("Readers %d refused: %v", MaxReaders, err)
	}
	for _, n := range []int{-1, MaxReaders + 1} {
		p := Params{Network: Network{Readers: n}}
		if err := p.validate(); err == nil {
			t.Errorf("Readers %d accepted", n)
		}
	}
}
