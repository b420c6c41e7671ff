package auth

import (
	"fmt"
	"testing"
	"time"
)

// failWhenAllowed waits (on the fake clock) until a sign-in is allowed, records a failure and
// returns the new time and the block that follows.
func failWhenAllowed(th *Throttle, email, ip string, now time.Time) (time.Time, time.Duration) {
	now = now.Add(th.Check(email, ip, now))
	th.Fail(email, ip, now)
	return now, th.Check(email, ip, now)
}

func TestThrottlePairBackoff(t *testing.T) {
	th := NewThrottle(ThrottleParams{})
	want := map[int]time.Duration{1: 0, 5: 0, 6: time.Second, 7: 2 * time.Second, 8: 4 * time.Second,
		10: 16 * time.Second, 15: 512 * time.Second, 16: 15 * time.Minute, 17: 15 * time.Minute}
	now := t0
	var got time.Duration
	for n := 1; n <= 17; n++ {
		now, got = failWhenAllowed(th, aliceEmail, aliceIP, now)
		if w, ok := want[n]; ok && got != w {
			t.Errorf("after failure %d: Check = %v, want %v", n, got, w)
		}
	}
	if got := th.Check(aliceEmail, "203.0.113.9", now); got != 0 {
		t.Errorf("owner from another address: Check = %v, want 0 (17 failures are within the account's 20)", got)
	}
}

func TestThrottleOtherIPUnaffectedByPairLimit(t *testing.T) {
	th := NewThrottle(ThrottleParams{})
	now := t0
	for range 8 {
		now, _ = failWhenAllowed(th, aliceEmail, aliceIP, now)
	}
	if got := th.Check(aliceEmail, aliceIP, now); got == 0 {
		t.Errorf("attacker's pair: Check = 0, want a block")
	}
	if got := th.Check(aliceEmail, "203.0.113.9", now); got != 0 {
		t.Errorf("owner from another address: Check = %v, want 0", got)
	}
}

func TestThrottleAccountCapIsShort(t *testing.T) {
	th := NewThrottle(ThrottleParams{})
	now := t0
	var longest time.Duration
	for i := range 40 { // one failure from each of 40 addresses
		var d time.Duration
		now, d = failWhenAllowed(th, aliceEmail, fmt.Sprintf("192.0.2.%d", i+1), now)
		longest = max(longest, d)
		if i < 20 && d != 0 {
			t.Errorf("failure %d from distinct addresses: blocked %v, want 0 (20 free)", i+1, d)
		}
	}
	if longest != time.Minute {
		t.Errorf("longest account block = %v, want the 1m cap", longest)
	}
	if got := th.Check(aliceEmail, "198.18.0.1", now); got <= 0 || got > time.Minute {
		t.Errorf("owner from a new address: Check = %v, want a short wait (0, 1m]", got)
	}
}

func TestThrottlePerIP(t *testing.T) {
	th := NewThrottle(ThrottleParams{})
	now := t0
	for i := range 50 {
		th.Fail(fmt.Sprintf("user%d@example.org", i), aliceIP, now)
	}
	if got := th.Check("user99@example.org", aliceIP, now); got != 0 {
		t.Errorf("after 50 failures: Check = %v, want 0", got)
	}
	th.Fail("user50@example.org", aliceIP, now)
	if got := th.Check("user99@example.org", aliceIP, now); got != time.Second {
		t.Errorf("after 51 failures, another account from the address: Check = %v, want 1s", got)
	}
	if got := th.Check("user99@example.org", "203.0.113.9", now); got != 0 {
		t.Errorf("another address: Check = %v, want 0", got)
	}
}

// TestThrottlePerIPCannotLockOutASharedAddress: one person on a care home's Wi-Fi failing a
// hundred sign-ins must not keep a colleague on the same address out for more than a minute.
func TestThrottlePerIPCannotLockOutASharedAddress(t *testing.T) {
	th := NewThrottle(ThrottleParams{})
	now := t0
	for i := range 100 {
		th.Fail(fmt.Sprintf("made-up%d@example.org", i), aliceIP, now)
		now = now.Add(time.Second)
	}
	if got := th.Check("nurse@example.org", aliceIP, now); got > time.Minute || got == 0 {
		t.Errorf("a colleague on the address waits %v, want a short wait of at most 1m", got)
	}
}

func TestThrottleIPv6CountsPer64(t *testing.T) {
	th := NewThrottle(ThrottleParams{})
	for i := range 51 {
		th.Fail(fmt.Sprintf("user%d@example.org", i), fmt.Sprintf("2001:db8:1:2::%x", i+1), t0)
	}
	if got := th.Check("x@example.org", "2001:db8:1:2:ffff::1", t0); got == 0 {
		t.Error("same /64: Check = 0, want a block")
	}
	if got := th.Check("x@example.org", "2001:db8:1:3::1", t0); got != 0 {
		t.Errorf("next /64: Check = %v, want 0", got)
	}
	tests := map[string]string{"::ffff:192.0.2.1": "192.0.2.1", "192.0.2.1": "192.0.2.1",
		"2001:db8::1%eth0": "2001:db8::/64", "not-an-ip": "not-an-ip"}
	for in, want := range tests {
		if got := ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestThrottleForgetsAndSucceed(t *testing.T) {
	t.Run("forgotten a window after the block", func(t *testing.T) {
		th := NewThrottle(ThrottleParams{})
		for range 6 {
			th.Fail(aliceEmail, aliceIP, t0)
		}
		later := t0.Add(time.Second + 15*time.Minute + time.Second)
		th.Fail(aliceEmail, aliceIP, later)
		if got := th.Check(aliceEmail, aliceIP, later); got != 0 {
			t.Errorf("first failure after a quiet window: Check = %v, want 0", got)
		}
	})
	t.Run("success clears the pair only", func(t *testing.T) {
		th := NewThrottle(ThrottleParams{Account: Limit{Free: 5}})
		for range 6 {
			th.Fail(aliceEmail, aliceIP, t0)
		}
		th.Succeed(" ALICE@example.org", aliceIP)
		if _, ok := th.pair.m[aliceEmail+"\x00"+aliceIP]; ok {
			t.Error("pair counter survived Succeed")
		}
		if got := th.Check(aliceEmail, aliceIP, t0); got != time.Second {
			t.Errorf("Check after Succeed = %v, want the account block of 1s to remain", got)
		}
	})
}

func TestThrottleMemoryCap(t *testing.T) {
	th := NewThrottle(ThrottleParams{MaxEntries: 10})
	for i := range 100 {
		th.Fail(fmt.Sprintf("user%d@example.org", i), fmt.Sprintf("10.0.%d.%d", i/250, i%250), t0.Add(time.Duration(i)*time.Second))
	}
	for name, tb := range map[string]*table{"pair": &th.pair, "account": &th.account, "ip": &th.ip} {
		if n := len(tb.m); n > 10 {
			t.Errorf("%s table holds %d counters, want at most 10", name, n)
		}
	}
}
