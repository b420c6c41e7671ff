package main

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// The synthetic media every participant publishes. A video frame of 5 packets of 1,200 bytes
// (RTP header included) 25 times a second is 1.2 Mbit/s; Opus-rate audio is one 92-byte packet
// every 20 ms. 175 packets/s per participant in each direction.
const (
	videoPacketSize  = 1200
	audioPacketSize  = 92
	videoFrameEvery  = 40 * time.Millisecond
	videoPerFrame    = 5
	audioEvery       = 20 * time.Millisecond
	packetsPerSecond = videoPerFrame*int(time.Second/videoFrameEvery) + int(time.Second/audioEvery)
	rtpHeaderSize    = 12
	kindVideo        = 0
	kindAudio        = 1
	videoPT          = 96
	audioPT          = 111
	stampSize        = 9 // send time (8 bytes, ns since the clock's base) + kind
	histBucket       = 10 * time.Microsecond
	histBuckets      = 20000 // 200 ms; later arrivals go to the overflow count
)

// clock is the load generator's one time base: stamps are nanoseconds since base on the
// monotonic clock, so that send and receive times compare exactly within the process.
type clock struct{ base time.Time }

func (c clock) now() int64 { return int64(time.Since(c.base)) }

// window is the measurement interval: only packets whose send stamp falls inside it are counted,
// so set-up, warm-up and the drain afterwards never blur loss or delay.
type window struct{ start, end atomic.Int64 }

func (w *window) contains(stamp int64) bool {
	s := w.start.Load()
	return s != 0 && stamp >= s && stamp < w.end.Load()
}

// stream writes the RTP header and the stamp of one outgoing stream into a reusable buffer.
type stream struct {
	buf  []byte
	seq  uint16
	ts   uint32
	ssrc uint32
	kind byte
}

func newStream(kind byte) *stream {
	size, pt := videoPacketSize, byte(videoPT)
	if kind == kindAudio {
		size, pt = audioPacketSize, audioPT
	}
	s := &stream{buf: make([]byte, size), seq: uint16(rand.Uint32()), ts: rand.Uint32(), ssrc: rand.Uint32(), kind: kind}
	s.buf[0] = 0x80
	s.buf[1] = pt
	binary.BigEndian.PutUint32(s.buf[8:12], s.ssrc)
	for i := rtpHeaderSize + stampSize; i < size; i++ {
		s.buf[i] = byte(i)
	}
	return s
}

// next fills in the next packet of the stream, stamped with now, and returns it.
func (s *stream) next(now int64, tsStep uint32) []byte {
	s.seq++
	s.ts += tsStep
	binary.BigEndian.PutUint16(s.buf[2:4], s.seq)
	binary.BigEndian.PutUint32(s.buf[4:8], s.ts)
	binary.BigEndian.PutUint64(s.buf[rtpHeaderSize:], uint64(now))
	s.buf[rtpHeaderSize+8] = s.kind
	return s.buf
}

// rtpPayload returns the payload of a raw RTP packet (after CSRCs and any header extension),
// or nil if the packet is too short to be one of ours.
func rtpPayload(b []byte) []byte {
	if len(b) < rtpHeaderSize {
		return nil
	}
	off := rtpHeaderSize + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < off+4 {
			return nil
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:off+4]))
	}
	if len(b) < off+stampSize {
		return nil
	}
	return b[off:]
}

// tally counts what one participant sent and received inside the window and the delays of what
// it received.
type tally struct {
	sent [2]atomic.Int64

	mu       sync.Mutex
	recv     [2]int64
	first    int64 // receive time of the first packet of any kind, 0 until then
	firstVid int64 // receive time of the first video packet, 0 until then
	hist     []uint32
	over     int64
}

func newTally() *tally { return &tally{hist: make([]uint32, histBuckets)} }

// sentPacket records a packet stamped at stamp.
func (t *tally) sentPacket(w *window, stamp int64, kind byte) {
	if w.contains(stamp) {
		t.sent[kind].Add(1)
	}
}

// received records a packet payload (starting at the stamp) received at now.
func (t *tally) received(w *window, payload []byte, now int64) {
	stamp := int64(binary.BigEndian.Uint64(payload))
	kind := payload[8] & 1
	t.mu.Lock()
	if t.first == 0 {
		t.first = now
	}
	if kind == kindVideo && t.firstVid == 0 {
		t.firstVid = now
	}
	if w.contains(stamp) {
		t.recv[kind]++
		if b := (now - stamp) / int64(histBucket); b >= 0 && b < histBuckets {
			t.hist[b]++
		} else {
			t.over++
		}
	}
	t.mu.Unlock()
}

func (t *tally) firstVideo() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.firstVid
}

// summary adds up the tallies of every participant.
type summary struct {
	sent, recv int64
	hist       []uint64
	over       int64
}

func summarise(ts []*tally) summary {
	s := summary{hist: make([]uint64, histBuckets)}
	for _, t := range ts {
		s.sent += t.sent[0].Load() + t.sent[1].Load()
		t.mu.Lock()
		s.recv += t.recv[0] + t.recv[1]
		for i, n := range t.hist {
			s.hist[i] += uint64(n)
		}
		s.over += t.over
		t.mu.Unlock()
	}
	return s
}

func (s summary) loss() float64 {
	if s.sent == 0 {
		return 0
	}
	return 1 - float64(s.recv)/float64(s.sent)
}

// quantile returns the delay below which fraction q of the received packets arrived (overflowed
// packets count as later than every bucket).
func (s summary) quantile(q float64) time.Duration {
	var total uint64
	for _, n := range s.hist {
		total += n
	}
	total += uint64(s.over)
	if total == 0 {
		return 0
	}
	want := uint64(q * float64(total))
	var acc uint64
	for i, n := range s.hist {
		acc += n
		if acc > want {
			return time.Duration(i+1) * histBucket
		}
	}
	return histBuckets * histBucket
}

// pacerShards is how many goroutines send: enough for sends to use both cores, few enough that
// each wakes only once a millisecond.
const pacerShards = 4

// pacers spreads participants over several pacer goroutines.
type pacers []*pacer

func newPacers(clk clock, win *window, n int) pacers {
	ps := make(pacers, n)
	for i := range ps {
		ps[i] = &pacer{clk: clk, win: win}
	}
	return ps
}

func (ps pacers) add(pub publisher, t *tally) {
	least := ps[0]
	for _, p := range ps {
		if len(p.parts) < len(least.parts) {
			least = p
		}
	}
	least.add(pub, t)
}

// start runs every pacer until stop is closed; wait on the result.
func (ps pacers) start(stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(func() { p.run(stop) })
	}
	return &wg
}

func (ps pacers) counts() (lag, errs int64) {
	for _, p := range ps {
		lag += p.lag.Load()
		errs += p.errs.Load()
	}
	return lag, errs
}

// publisher is anything that can send one participant's raw RTP packets.
type publisher interface {
	send(kind byte, pkt []byte) error
}

// pacer sends every participant's media on schedule from one goroutine ticking every
// millisecond, each participant with its own random phase, so the server sees traffic spread in
// time as it would from independent clients rather than in synchronised bursts.
type pacer struct {
	clk   clock
	win   *window
	parts []*pacedPart
	lag   atomic.Int64 // packets skipped because the generator fell more than 200 ms behind
	errs  atomic.Int64
}

type pacedPart struct {
	pub          publisher
	tally        *tally
	video, audio *stream
	nextV, nextA int64
}

func (p *pacer) add(pub publisher, t *tally) {
	now := p.clk.now()
	p.parts = append(p.parts, &pacedPart{
		pub: pub, tally: t, video: newStream(kindVideo), audio: newStream(kindAudio),
		nextV: now + rand.Int64N(int64(videoFrameEvery)), nextA: now + rand.Int64N(int64(audioEvery)),
	})
}

// run sends until stop is closed.
func (p *pacer) run(stop <-chan struct{}) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	const behind = int64(200 * time.Millisecond)
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for _, pp := range p.parts {
			now := p.clk.now()
			for pp.nextV <= now {
				if now-pp.nextV > behind {
					p.lag.Add(videoPerFrame)
				} else {
					for i := range videoPerFrame {
						step := uint32(3600) // 90 kHz clock, 25 frames/s: one step per frame
						if i > 0 {
							step = 0
						}
						p.emit(pp, pp.video, step)
					}
				}
				pp.nextV += int64(videoFrameEvery)
			}
			for pp.nextA <= now {
				if now-pp.nextA > behind {
					p.lag.Add(1)
				} else {
					p.emit(pp, pp.audio, 960)
				}
				pp.nextA += int64(audioEvery)
			}
		}
	}
}

func (p *pacer) emit(pp *pacedPart, s *stream, tsStep uint32) {
	stamp := p.clk.now()
	if err := pp.pub.send(s.kind, s.next(stamp, tsStep)); err != nil {
		p.errs.Add(1)
		return
	}
	pp.tally.sentPacket(p.win, stamp, s.kind)
}
