package signaling

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// delayHist counts the fast path's forwarded packets by the time each spent in the server:
// from the kernel's receive stamp to the return of the sendmmsg that sent it on, so it covers
// the wait in the socket's buffer, the reader's wake-up, the work and the send. Every packet is
// counted, by its socket's reader alone (so the atomics are never contended; they let /metrics
// read while the reader writes).
//
// Buckets are log-linear: four per doubling of 1.024 µs (delayUnit), which puts a bucket edge
// within 19 % of any delay from a microsecond to a second.
type delayHist struct {
	counts [delayBuckets]atomic.Uint64
	sumNs  atomic.Uint64
}

const (
	delayUnitShift = 10 // 1.024 µs
	delayBuckets   = 4 + 4*20
)

// delayBucket is the bucket of a delay of ns nanoseconds: 0..3 for under 4 units, then four
// per doubling; the last bucket takes everything longer (about 3.8 s and more).
func delayBucket(ns int64) int {
	if ns < 0 { // the wall clock stepped back between stamp and send
		ns = 0
	}
	u := uint64(ns) >> delayUnitShift
	if u < 4 {
		return int(u)
	}
	e := bits.Len64(u) - 3 // u>>e is 4..7
	return min(4+4*e+int(u>>e)-4, delayBuckets-1)
}

// delayBucketUpper is the upper bound (exclusive) of bucket i; the last one has none.
func delayBucketUpper(i int) time.Duration {
	if i < 4 {
		return time.Duration(i+1) << delayUnitShift
	}
	e := (i - 4) / 4
	m := (i-4)%4 + 4
	return time.Duration((m+1)<<e) << delayUnitShift
}

func (h *delayHist) add(ns int64) {
	h.counts[delayBucket(ns)].Add(1)
	if ns > 0 {
		h.sumNs.Add(uint64(ns))
	}
}

// ForwardDelay is the fast path's forwarding delays so far: Counts[i] packets took less than
// Upper[i] (and at least Upper[i-1]); the last bucket has no upper bound (Upper is one shorter
// than Counts). Sum is their total.
type ForwardDelay struct {
	Upper  []time.Duration
	Counts []uint64
	Sum    time.Duration
}

// Quantile is the upper bound of the bucket holding quantile q (0..1) of the packets, 0 when
// none were counted; in the open last bucket, its lower bound.
func (d ForwardDelay) Quantile(q float64) time.Duration {
	var total uint64
	for _, c := range d.Counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total-1)) + 1
	var seen uint64
	for i, c := range d.Counts {
		seen += c
		if seen >= rank {
			if i < len(d.Upper) {
				return d.Upper[i]
			}
			return d.Upper[len(d.Upper)-1]
		}
	}
	return d.Upper[len(d.Upper)-1]
}

// Since is the delays counted after an earlier reading o.
func (d ForwardDelay) Since(o ForwardDelay) ForwardDelay {
	out := ForwardDelay{Upper: d.Upper, Counts: make([]uint64, len(d.Counts)), Sum: d.Sum - o.Sum}
	for i := range d.Counts {
		out.Counts[i] = d.Counts[i]
		if i < len(o.Counts) {
			out.Counts[i] -= o.Counts[i]
		}
	}
	return out
}

// forwardDelay sums the sockets' histograms.
func (t *fastTable) forwardDelay() ForwardDelay {
	d := ForwardDelay{Upper: make([]time.Duration, delayBuckets-1), Counts: make([]uint64, delayBuckets)}
	for i := range d.Upper {
		d.Upper[i] = delayBucketUpper(i)
	}
	var sum uint64
	for _, s := range t.socks {
		for i := range d.Counts {
			d.Counts[i] += s.delay.counts[i].Load()
		}
		sum += s.delay.sumNs.Load()
	}
	d.Sum = time.Duration(sum)
	return d
}
