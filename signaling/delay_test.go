package signaling

import (
	"testing"
	"time"
)

// Each delay lands in the bucket whose bounds hold it, at every edge of the log-linear scale.
func TestDelayBuckets(t *testing.T) {
	lower := func(i int) time.Duration {
		if i == 0 {
			return 0
		}
		return delayBucketUpper(i - 1)
	}
	for i := range delayBuckets - 1 {
		lo, hi := lower(i), delayBucketUpper(i)
		if hi <= lo {
			t.Fatalf("bucket %d: [%v, %v) is empty", i, lo, hi)
		}
		for _, d := range []time.Duration{lo, hi - 1} {
			if got := delayBucket(int64(d)); got != i {
				t.Errorf("%v (edge of bucket %d [%v, %v)) went to bucket %d", d, i, lo, hi, got)
			}
		}
	}
	last := delayBuckets - 1
	for _, d := range []time.Duration{delayBucketUpper(last - 1), time.Hour} {
		if got := delayBucket(int64(d)); got != last {
			t.Errorf("%v went to bucket %d, want the open last one %d", d, got, last)
		}
	}
	if got := delayBucket(-5); got != 0 {
		t.Errorf("a negative delay (the clock stepped back) went to bucket %d", got)
	}
	// A bucket edge within 25 % of any delay from 1 µs to 1 s: p99 is read to that precision.
	for i := 4; i < delayBuckets-1; i++ {
		if r := float64(delayBucketUpper(i)) / float64(lower(i)); r > 1.25 {
			t.Errorf("bucket %d spans %v to %v (%.2f ×)", i, lower(i), delayBucketUpper(i), r)
		}
	}
}

// Quantiles and differences of histograms read back what was added.
func TestForwardDelayQuantiles(t *testing.T) {
	tab := &fastTable{socks: []*fastSocket{{}, {}}}
	empty := tab.forwardDelay()
	if q := empty.Quantile(0.99); q != 0 {
		t.Fatalf("empty histogram's p99 %v", q)
	}
	for range 98 {
		tab.socks[0].delay.add(int64(100 * time.Microsecond))
	}
	tab.socks[1].delay.add(int64(3 * time.Millisecond))
	tab.socks[1].delay.add(int64(3 * time.Millisecond))
	d := tab.forwardDelay().Since(empty)
	if p50 := d.Quantile(0.5); p50 < 100*time.Microsecond || p50 > 125*time.Microsecond {
		t.Errorf("p50 %v, want the bucket over 100 µs", p50)
	}
	if p99 := d.Quantile(0.99); p99 < 3*time.Millisecond || p99 > 3750*time.Microsecond {
		t.Errorf("p99 %v, want the bucket over 3 ms", p99)
	}
	if d.Sum != 98*100*time.Microsecond+6*time.Millisecond {
		t.Errorf("sum %v", d.Sum)
	}
	later := tab.forwardDelay()
	tab.socks[0].delay.add(int64(time.Hour))
	if q := tab.forwardDelay().Since(later).Quantile(0.5); q != delayBucketUpper(delayBuckets-2) {
		t.Errorf("an hour's delay alone reads %v, want the last bucket's lower bound", q)
	}
}
