package signaling

import (
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// recvStats counts what arrives on one published track. onPacket runs under the track's
// forwarding lock; the quality ticker and the receiver reports read the atomics.
type recvStats struct {
	clockRate float64

	// Reader-goroutine state.
	started     bool
	baseSeq     uint64
	highestSeq  uint64 // extended
	lastTransit float64
	jitterFloat float64

	packets    atomic.Uint64
	bytes      atomic.Uint64
	expected   atomic.Uint64 // highest - base + 1
	highest    atomic.Uint64 // highest extended sequence number
	jitterBits atomic.Uint64 // float64 bits, in RTP timestamp units
}

func (s *recvStats) onPacket(pkt []byte, now time.Time) {
	seq := uint64(binary.BigEndian.Uint16(pkt[2:4]))
	ts := binary.BigEndian.Uint32(pkt[4:8])
	if !s.started {
		s.started = true
		s.baseSeq, s.highestSeq = seq, seq
	} else {
		// Extend the 16-bit sequence number around the highest seen.
		cycles := s.highestSeq &^ 0xffff
		ext := cycles | seq
		diff := int64(ext) - int64(s.highestSeq)
		switch {
		case diff > 1<<15:
			ext -= 1 << 16
		case diff < -(1 << 15):
			ext += 1 << 16
		}
		if ext > s.highestSeq {
			s.highestSeq = ext
		}
	}
	s.highest.Store(s.highestSeq)
	s.expected.Store(s.highestSeq - s.baseSeq + 1)
	s.packets.Add(1)
	s.bytes.Add(uint64(len(pkt)))
	if s.clockRate > 0 {
		arrival := float64(now.UnixNano()) / 1e9 * s.clockRate
		transit := arrival - float64(ts)
		if s.packets.Load() > 1 {
			d := math.Abs(transit - s.lastTransit)
			// Ignore jumps of more than 10 s in timestamp units: a new stream or a wrapped timestamp.
			if d < 10*s.clockRate {
				s.jitterFloat += (d - s.jitterFloat) / 16
				s.jitterBits.Store(math.Float64bits(s.jitterFloat))
			}
		}
		s.lastTransit = transit
	}
}

func (s *recvStats) jitter() time.Duration {
	if s.clockRate == 0 {
		return 0
	}
	return time.Duration(math.Float64frombits(s.jitterBits.Load()) / s.clockRate * float64(time.Second))
}

// meter turns a participant's counters into per-interval figures and keeps the call's summary.
type meter struct {
	mu sync.Mutex
	// last counter values, to take differences
	lastAt                     time.Time
	lastUpBytes, lastDownBytes uint64
	lastPackets, lastExpected  uint64
	// summary
	samples                        int
	sumUpKbps, sumDownKbps         float64
	sumUpLoss, sumDownLoss, sumRTT float64
	rttSamples                     int
	maxUpLoss, maxDownLoss, maxRTT float64
	maxJitter, sumJitter           float64
}

// counters is a snapshot of one participant's raw counters.
type counters struct {
	upBytes, downBytes uint64
	packets, expected  uint64
	jitter             time.Duration
	downLossFraction   float64 // 0-1, worst over its subscribed tracks
	rtt                time.Duration
}

// sample makes one interval's Quality from c and adds it to the summary.
func (m *meter) sample(id string, c counters, now time.Time) Quality {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := Quality{ParticipantID: id, JitterMs: ms(c.jitter), RTTMs: ms(c.rtt), DownLossPct: round1(c.downLossFraction * 100)}
	if !m.lastAt.IsZero() {
		secs := now.Sub(m.lastAt).Seconds()
		if secs > 0 {
			q.UpKbps = round1(float64(c.upBytes-m.lastUpBytes) * 8 / 1000 / secs)
			q.DownKbps = round1(float64(c.downBytes-m.lastDownBytes) * 8 / 1000 / secs)
		}
		exp, got := c.expected-m.lastExpected, c.packets-m.lastPackets
		if exp > 0 && exp > got {
			q.UpLossPct = round1(float64(exp-got) / float64(exp) * 100)
		}
		m.samples++
		m.sumUpKbps += q.UpKbps
		m.sumDownKbps += q.DownKbps
		m.sumUpLoss += q.UpLossPct
		m.sumDownLoss += q.DownLossPct
		m.maxUpLoss = max(m.maxUpLoss, q.UpLossPct)
		m.maxDownLoss = max(m.maxDownLoss, q.DownLossPct)
		m.maxJitter = max(m.maxJitter, q.JitterMs)
		m.sumJitter += q.JitterMs
		if q.RTTMs > 0 {
			m.rttSamples++
			m.sumRTT += q.RTTMs
			m.maxRTT = max(m.maxRTT, q.RTTMs)
		}
	}
	m.lastAt = now
	m.lastUpBytes, m.lastDownBytes = c.upBytes, c.downBytes
	m.lastPackets, m.lastExpected = c.packets, c.expected
	return q
}

// QualitySummary is one participant's quality over the whole call.
type QualitySummary struct {
	Samples        int     `json:"samples" bson:"samples"`
	AvgUpKbps      float64 `json:"avgUpKbps" bson:"avgUpKbps"`
	AvgDownKbps    float64 `json:"avgDownKbps" bson:"avgDownKbps"`
	AvgUpLossPct   float64 `json:"avgUpLossPct" bson:"avgUpLossPct"`
	MaxUpLossPct   float64 `json:"maxUpLossPct" bson:"maxUpLossPct"`
	AvgDownLossPct float64 `json:"avgDownLossPct" bson:"avgDownLossPct"`
	MaxDownLossPct float64 `json:"maxDownLossPct" bson:"maxDownLossPct"`
	AvgRTTMs       float64 `json:"avgRttMs" bson:"avgRttMs"`
	MaxRTTMs       float64 `json:"maxRttMs" bson:"maxRttMs"`
	AvgJitterMs    float64 `json:"avgJitterMs" bson:"avgJitterMs"`
	MaxJitterMs    float64 `json:"maxJitterMs" bson:"maxJitterMs"`
}

func (m *meter) summary() QualitySummary {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := QualitySummary{Samples: m.samples, MaxUpLossPct: m.maxUpLoss, MaxDownLossPct: m.maxDownLoss, MaxRTTMs: m.maxRTT, MaxJitterMs: m.maxJitter}
	if m.samples > 0 {
		n := float64(m.samples)
		s.AvgUpKbps, s.AvgDownKbps = round1(m.sumUpKbps/n), round1(m.sumDownKbps/n)
		s.AvgUpLossPct, s.AvgDownLossPct = round1(m.sumUpLoss/n), round1(m.sumDownLoss/n)
		s.AvgJitterMs = round1(m.sumJitter / n)
	}
	if m.rttSamples > 0 {
		s.AvgRTTMs = round1(m.sumRTT / float64(m.rttSamples))
	}
	return s
}

func ms(d time.Duration) float64 { return round1(float64(d) / float64(time.Millisecond)) }

func round1(v float64) float64 { return math.Round(v*10) / 10 }
