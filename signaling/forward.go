package signaling

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

// The forwarding path. One goroutine per published track reads its RTP and copies each packet
// into the send queue of every subscriber; one goroutine per subscriber drains its queue into
// its tracks. A subscriber that cannot keep up loses packets from its own queue and slows
// nobody else. Nothing on this path allocates per packet.

// maxPacket is the largest RTP packet forwarded (pion's receive MTU).
const maxPacket = 1460

// pubTrack is one track a participant publishes to the server.
type pubTrack struct {
	owner  *participant
	remote *webrtc.TrackRemote
	kind   webrtc.RTPCodecType
	ssrc   uint32

	mu     sync.Mutex // guards changes to subs and closed
	closed bool
	subs   atomic.Pointer[[]*downTrack] // read without the lock on every packet

	lastKeyframe atomic.Int64 // unix nanoseconds of the last keyframe request sent upstream
	keyframeGap  int64
	stats        recvStats
}

func newPubTrack(owner *participant, remote *webrtc.TrackRemote, keyframeEvery time.Duration) *pubTrack {
	t := &pubTrack{owner: owner, remote: remote, kind: remote.Kind(), ssrc: uint32(remote.SSRC()), keyframeGap: int64(keyframeEvery)}
	t.subs.Store(&[]*downTrack{})
	t.stats.clockRate = float64(remote.Codec().ClockRate)
	return t
}

// run reads the track until the publisher goes away, then calls done.
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
		pkt := buf[:n]
		t.stats.onPacket(pkt, time.Now())
		for _, d := range *t.subs.Load() {
			d.queue.push(d, pkt)
		}
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
	old := *t.subs.Load()
	subs := make([]*downTrack, 0, len(old))
	for _, s := range old {
		if s != d {
			subs = append(subs, s)
		}
	}
	t.subs.Store(&subs)
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

// downTrack is one published track as sent to one subscriber.
type downTrack struct {
	pub    *pubTrack
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	ssrc   uint32 // the SSRC this track is sent with
	queue  *sendQueue
	closed atomic.Bool
	// From the subscriber's receiver reports about this track.
	fractionLost atomic.Uint32 // RTCP fraction lost (0-255) of the latest report
	rtt          atomic.Int64  // nanoseconds, 0 until measured
}

// readRTCP reads the subscriber's RTCP for this track until the sender stops: keyframe requests
// go to the publisher, receiver reports feed the quality figures. Reading also drives pion's
// interceptors (NACK responses, reports).
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
			case *rtcp.ReceiverReport:
				d.onReports(p.Reports)
			case *rtcp.SenderReport:
				d.onReports(p.Reports)
			}
		}
	}
}

func (d *downTrack) onReports(reports []rtcp.ReceptionReport) {
	for _, r := range reports {
		if r.SSRC != d.ssrc {
			continue
		}
		d.fractionLost.Store(uint32(r.FractionLost))
		if r.LastSenderReport != 0 {
			// RFC 3550 6.4.1: RTT = arrival - LSR - DLSR, in 1/65536 s.
			rtt := compactNTP(time.Now()) - r.LastSenderReport - r.Delay
			if rtt < 1<<20 { // under 16 s: anything else is a wrapped or bogus report
				d.rtt.Store(int64(rtt) * int64(time.Second) / 65536)
			}
		}
	}
}

// compactNTP is the middle 32 bits of the NTP timestamp of t.
func compactNTP(t time.Time) uint32 {
	sec := uint64(t.Unix()) + 2208988800
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32(sec<<16 | frac>>16)
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
			// Before the subscriber's answer binds the track, Write sends nothing.
			if _, err := s.d.track.Write(s.buf[:s.n]); err == nil {
				sent += uint64(s.n)
			}
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
