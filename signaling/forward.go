package signaling

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

// The forwarding path. A published track's packets reach forward either from the fast path
// (fastpath.go: the UDP mux's reader decrypted them) or from pion's pipeline (run: the first
// packets of a track, and peers on ICE-TCP or without the mux). forward hands each packet to
// every subscriber: encrypted and sent at once when the subscriber is on the fast path, else
// copied into its send queue, drained by its own goroutine through pion. A subscriber that
// cannot keep up loses packets from its own queue and slows nobody else. Nothing on this path
// allocates per packet.
//
// RTCP stays with pion, and the server answers it itself, since it rewrites only SSRCs and keeps
// sequence numbers and timestamps: a publisher's sender reports go on to its subscribers (lip
// sync needs the sender's own clock mapping) and are answered with receiver reports from what
// arrived; a subscriber's NACK is answered from the track's recent packets, or passed to the
// publisher; keyframe requests go to the publisher, at most one per KeyframeEvery.

// maxPacket is the largest RTP packet forwarded (pion's receive MTU).
const maxPacket = 1460

// pubTrack is one track a participant publishes to the server.
type pubTrack struct {
	owner  *participant
	remote *webrtc.TrackRemote
	kind   webrtc.RTPCodecType
	ssrc   uint32
	table  *fastTable

	mu     sync.Mutex // guards changes to subs and closed
	closed bool
	subs   atomic.Pointer[[]*downTrack] // read without the lock on every packet

	fwdMu sync.Mutex // held while a packet is forwarded: stats and ring have one writer at a time
	stats recvStats
	ring  *packetRing // video only: recent packets, for NACKs

	lastKeyframe atomic.Int64 // unix nanoseconds of the last keyframe request sent upstream
	keyframeGap  int64

	rrExpected, rrReceived uint64          // at the last receiver report; owned by the publisher's RTCP reader
	nackedUp               [ringSize]int64 // unix nanoseconds each ring position was last NACKed upstream; under fwdMu
}

func newPubTrack(owner *participant, remote *webrtc.TrackRemote, keyframeEvery time.Duration) *pubTrack {
	t := &pubTrack{owner: owner, remote: remote, kind: remote.Kind(), ssrc: uint32(remote.SSRC()), keyframeGap: int64(keyframeEvery)}
	t.subs.Store(&[]*downTrack{})
	t.stats.clockRate = float64(remote.Codec().ClockRate)
	if t.kind == kindVideo {
		t.ring = &packetRing{}
	}
	return t
}

// run reads the track through pion until the publisher goes away, then calls done. Once the
// fast path takes the track, pion sees none of its packets and run only waits.
func (t *pubTrack) run(done func()) {
	defer done()
	buf := make([]byte, maxPacket)
	for {
		n, _, err := t.remote.Read(buf)
		if errors.Is(err, io.ErrShortBuffer) {
			continue // an oversized packet was dropped; the next one may fit
		}
		if err != nil {
			t.close()
			return
		}
		if n < 12 {
			continue
		}
		t.table.pionPackets.Add(1)
		t.forward(buf[:n], nil)
	}
}

// forward sends one plaintext packet to every subscriber. It may rewrite pkt's header. via is
// the mux socket whose reader is forwarding it (nil: pion's path), as for downTrack.send.
func (t *pubTrack) forward(pkt []byte, via *fastSocket) {
	t.fwdMu.Lock()
	defer t.fwdMu.Unlock()
	t.stats.onPacket(pkt, time.Now())
	if t.ring != nil {
		t.ring.put(pkt)
	}
	for _, d := range *t.subs.Load() {
		d.send(pkt, via)
	}
}

// addSub starts forwarding to d; false if the track has ended.
func (t *pubTrack) addSub(d *downTrack) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	old := *t.subs.Load()
	subs := make([]*downTrack, len(old), len(old)+1)
	copy(subs, old)
	subs = append(subs, d)
	t.subs.Store(&subs)
	return true
}

// removeSub stops forwarding to d.
func (t *pubTrack) removeSub(d *downTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	subs := without(*t.subs.Load(), d)
	t.subs.Store(&subs)
}

// without returns a new slice of the elements of s other than x: the slices here are read
// without a lock while they are replaced, so they are never changed in place.
func without[T comparable](s []T, x T) []T {
	out := make([]T, 0, len(s))
	for _, e := range s {
		if e != x {
			out = append(out, e)
		}
	}
	return out
}

func (t *pubTrack) close() {
	t.mu.Lock()
	t.closed = true
	t.subs.Store(&[]*downTrack{})
	t.mu.Unlock()
}

// requestKeyframe asks the publisher for a keyframe, at most once per keyframeGap unless force.
func (t *pubTrack) requestKeyframe(force bool) {
	if t.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	now := time.Now().UnixNano()
	last := t.lastKeyframe.Load()
	if !force && now-last < t.keyframeGap {
		return
	}
	if !t.lastKeyframe.CompareAndSwap(last, now) {
		return // another subscriber's request just went
	}
	if pc := t.owner.peer(); pc != nil {
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: t.ssrc}})
	}
}

// readRTCP reads the publisher's RTCP for this track until its receiver stops.
func (t *pubTrack) readRTCP(receiver *webrtc.RTPReceiver) {
	for {
		pkts, _, err := receiver.ReadRTCP()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return
			}
			continue // a malformed packet: keep reading
		}
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == t.ssrc {
				t.onSenderReport(sr, time.Now())
			}
		}
	}
}

// onSenderReport passes the publisher's sender report on to every subscriber, as that
// subscriber's SSRC, and answers the publisher with a receiver report (RFC 3550 6.4).
func (t *pubTrack) onSenderReport(sr *rtcp.SenderReport, now time.Time) {
	lsr := uint32(sr.NTPTime >> 16)
	for _, d := range *t.subs.Load() {
		pc := d.sub.peer()
		if pc == nil || d.closed.Load() {
			continue
		}
		d.sentSR(lsr, now)
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.SenderReport{SSRC: d.ssrc, NTPTime: sr.NTPTime, RTPTime: sr.RTPTime, PacketCount: sr.PacketCount, OctetCount: sr.OctetCount}})
	}
	if pc := t.owner.peer(); pc != nil {
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: t.owner.rtcpSSRC, Reports: []rtcp.ReceptionReport{t.receptionReport(lsr, now, time.Now())}}})
	}
}

// receptionReport describes what arrived of the track since the last report.
func (t *pubTrack) receptionReport(lsr uint32, srAt, now time.Time) rtcp.ReceptionReport {
	expected, received := t.stats.expected.Load(), t.stats.packets.Load()
	r := rtcp.ReceptionReport{
		SSRC:               t.ssrc,
		LastSequenceNumber: uint32(t.stats.highest.Load()),
		Jitter:             uint32(math.Float64frombits(t.stats.jitterBits.Load())),
		LastSenderReport:   lsr,
		Delay:              uint32(now.Sub(srAt) * 65536 / time.Second),
	}
	if expected > received { // duplicates can make received the larger
		r.TotalLost = uint32(min(expected-received, 0x7fffff))
	}
	if e, g := expected-t.rrExpected, received-t.rrReceived; expected >= t.rrExpected && e > g && received >= t.rrReceived {
		r.FractionLost = uint8((e - g) * 256 / e)
	}
	t.rrExpected, t.rrReceived = expected, received
	return r
}

// onNack answers a subscriber's NACK: packets still in the ring are sent again to that
// subscriber; the others are asked of the publisher (once per ring position per 100 ms, however
// many subscribers missed them), and reach every subscriber when they come.
func (t *pubTrack) onNack(d *downTrack, n *rtcp.TransportLayerNack) {
	if t.ring == nil {
		return
	}
	var missing []uint16
	buf := make([]byte, maxPacket)
	now := time.Now().UnixNano()
	t.fwdMu.Lock() // the ring and nackedUp; several subscribers' readers may call at once
	for _, pair := range n.Nacks {
		for _, seq := range pair.PacketList() {
			if size, ok := t.ring.get(seq, buf); ok {
				d.send(buf[:size], nil)
				continue
			}
			if i := seq % ringSize; now-t.nackedUp[i] > int64(100*time.Millisecond) {
				t.nackedUp[i] = now
				missing = append(missing, seq)
			}
		}
	}
	t.fwdMu.Unlock()
	if len(missing) == 0 {
		return
	}
	if pc := t.owner.peer(); pc != nil {
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{SenderSSRC: t.owner.rtcpSSRC, MediaSSRC: t.ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(missing)}})
	}
}

// ringSize is how many recent packets of a video track are kept for NACKs: about 0.8 s at
// 1.2 Mbit/s, more than a retransmission is worth on any network a call can run on. A power
// of two, so a sequence number keeps its position across the 16-bit wrap.
const ringSize = 128

type packetRing struct {
	slots [ringSize]ringSlot
}

type ringSlot struct {
	seq uint16
	n   int
	buf [maxPacket]byte
}

func (r *packetRing) put(pkt []byte) {
	seq := binary.BigEndian.Uint16(pkt[2:4])
	s := &r.slots[seq%ringSize]
	s.seq, s.n = seq, copy(s.buf[:], pkt)
}

func (r *packetRing) get(seq uint16, dst []byte) (int, bool) {
	s := &r.slots[seq%ringSize]
	if s.n == 0 || s.seq != seq {
		return 0, false
	}
	return copy(dst, s.buf[:s.n]), true
}

// downTrack is one published track as sent to one subscriber.
type downTrack struct {
	pub    *pubTrack
	sub    *participant
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	ssrc   uint32        // the SSRC this track is sent with
	pt     atomic.Uint32 // the payload type the subscriber agreed for it
	ready  atomic.Bool   // the subscriber has answered an offer with this track in it
	closed atomic.Bool
	// The publisher's extended sequence number when the first packet went to the subscriber,
	// where the subscriber's SRTP counter for the track starts; both under the publisher's fwdMu.
	sentFirst bool
	firstSeq  uint64
	// From the subscriber's receiver reports about this track.
	fractionLost atomic.Uint32 // RTCP fraction lost (0-255) of the latest report
	rtt          atomic.Int64  // nanoseconds, 0 until measured

	srMu   sync.Mutex
	srSent [4]struct {
		lsr uint32
		at  time.Time
	} // the last sender reports passed on, to time the round trip from the answers
	srNext int
}

// send sends one plaintext packet to the subscriber, by the fast path or through pion's. It
// may rewrite pkt's header. It sends nothing until the subscriber has agreed to the track and its
// media has connected: a packet on an SSRC the client has not been offered yet could be taken
// for another track. via is the mux socket whose reader is sending, which batches the packet
// with the others of its read (nil: send at once).
func (d *downTrack) send(pkt []byte, via *fastSocket) {
	if d.closed.Load() || !d.ready.Load() {
		return
	}
	if fp := d.sub.fast.Load(); fp != nil {
		d.noteSent()
		if !fp.onTCP() {
			fp.sendRTP(pkt, d.ssrc, uint8(d.pt.Load()), via)
		} else if q := d.sub.queue.Load(); q != nil {
			q.push(d, pkt) // a TCP write may block: the subscriber's own goroutine sends it
		}
	} else if q := d.sub.queue.Load(); q != nil && d.sub.viaPion.Load() {
		d.noteSent()
		q.push(d, pkt)
	}
}

// noteSent records where the subscriber's stream began. Called under the publisher's fwdMu,
// just after the packet's arrival was counted, so that the highest sequence number is this
// packet's (or, for a late one, a few ahead in the same cycle or the next).
func (d *downTrack) noteSent() {
	if !d.sentFirst {
		d.sentFirst, d.firstSeq = true, d.pub.stats.highestSeq
	}
}

// resumeOn hands fp, about to take over sending the track from pion, the subscriber's SRTP
// counter: the number of wraps of the sequence number since the first packet the subscriber
// got, which is where its own context is. Without it the fast path would start at counter 0
// and, after a wrap, everything it sent would fail to decrypt.
func (d *downTrack) resumeOn(fp *fastPeer) {
	d.pub.fwdMu.Lock()
	sent, first, last := d.sentFirst, d.firstSeq, d.pub.stats.highestSeq
	d.pub.fwdMu.Unlock()
	if !sent {
		return
	}
	fp.outMu.Lock()
	fp.out.resume(d.ssrc, uint32(last>>16-first>>16), uint16(last))
	fp.outMu.Unlock()
}

// deliver sends a packet from the subscriber's queue: by the fast path over ICE-TCP if the
// subscriber is on it (which counts what it sends), else through pion. It returns the bytes
// sent through pion.
func (d *downTrack) deliver(pkt []byte) uint64 {
	if fp := d.sub.fast.Load(); fp != nil {
		fp.sendRTP(pkt, d.ssrc, uint8(d.pt.Load()), nil)
		return 0
	}
	// Before the subscriber's answer binds the track, Write sends nothing.
	if _, err := d.track.Write(pkt); err != nil {
		return 0
	}
	return uint64(len(pkt))
}

// readRTCP reads the subscriber's RTCP for this track until the sender stops: keyframe requests
// go to the publisher, NACKs are answered, receiver reports feed the quality figures.
func (d *downTrack) readRTCP() {
	for {
		pkts, _, err := d.sender.ReadRTCP()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || d.closed.Load() {
				return
			}
			continue // a malformed packet: keep reading
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.pub.requestKeyframe(false)
			case *rtcp.TransportLayerNack:
				if p.MediaSSRC == d.ssrc {
					d.pub.onNack(d, p)
				}
			case *rtcp.ReceiverReport:
				d.onReports(p.Reports, time.Now())
			case *rtcp.SenderReport:
				d.onReports(p.Reports, time.Now())
			}
		}
	}
}

// sentSR notes a sender report passed on to the subscriber.
func (d *downTrack) sentSR(lsr uint32, at time.Time) {
	d.srMu.Lock()
	d.srSent[d.srNext%len(d.srSent)] = struct {
		lsr uint32
		at  time.Time
	}{lsr, at}
	d.srNext++
	d.srMu.Unlock()
}

func (d *downTrack) onReports(reports []rtcp.ReceptionReport, now time.Time) {
	for _, r := range reports {
		if r.SSRC != d.ssrc {
			continue
		}
		d.fractionLost.Store(uint32(r.FractionLost))
		if r.LastSenderReport == 0 {
			continue
		}
		// RFC 3550 6.4.1: RTT = arrival - time the report named was sent - DLSR. The report
		// names the publisher's clock, so the send time is the server's own record of it.
		d.srMu.Lock()
		var sent time.Time
		for _, s := range d.srSent {
			if s.lsr == r.LastSenderReport && !s.at.IsZero() {
				sent = s.at
			}
		}
		d.srMu.Unlock()
		if sent.IsZero() {
			continue
		}
		if rtt := now.Sub(sent) - time.Duration(r.Delay)*time.Second/65536; rtt > 0 && rtt < 16*time.Second {
			d.rtt.Store(int64(rtt))
		}
	}
}

// sendQueue is one subscriber's bounded queue of packets and the goroutine that sends them.
type sendQueue struct {
	mu         sync.Mutex
	slots      []slot
	head, tail uint64 // head: next to send; tail: next free
	wake       chan struct{}
	done       chan struct{}
	stopped    chan struct{}

	sentBytes atomic.Uint64
	dropped   atomic.Uint64
}

type slot struct {
	d   *downTrack
	n   int
	buf [maxPacket]byte
}

func newSendQueue(size int) *sendQueue {
	q := &sendQueue{slots: make([]slot, size), wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go q.run()
	return q
}

// push copies pkt into the queue for d, or drops it if the queue is full.
func (q *sendQueue) push(d *downTrack, pkt []byte) {
	q.mu.Lock()
	if q.tail-q.head == uint64(len(q.slots)) {
		q.mu.Unlock()
		q.dropped.Add(1)
		return
	}
	s := &q.slots[q.tail%uint64(len(q.slots))]
	s.d = d
	s.n = copy(s.buf[:], pkt)
	q.tail++
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *sendQueue) run() {
	defer close(q.stopped)
	for {
		select {
		case <-q.wake:
		case <-q.done:
			return
		}
		q.mu.Lock()
		head, tail := q.head, q.tail
		q.mu.Unlock()
		var sent uint64
		for i := head; i != tail; i++ {
			s := &q.slots[i%uint64(len(q.slots))]
			if s.d.closed.Load() {
				continue
			}
			sent += s.d.deliver(s.buf[:s.n])
		}
		q.sentBytes.Add(sent)
		q.mu.Lock()
		q.head = tail
		for i := head; i != tail; i++ {
			q.slots[i%uint64(len(q.slots))].d = nil
		}
		q.mu.Unlock()
	}
}

// stop ends the goroutine and waits for it.
func (q *sendQueue) stop() {
	close(q.done)
	<-q.stopped
}
