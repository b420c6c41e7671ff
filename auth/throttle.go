package auth

import (
	"net/netip"
	"sync"
	"time"

	"careway/models"
)

// The login throttle slows password guessing without handing an attacker a way to lock real
// people out. It keeps three counters of failed sign-ins, each with its own limit:
//
//   - per (account, IP): the strict one. 5 failures in 15 minutes are free; after that each
//     failure blocks the pair for a delay that doubles from 1 s up to 15 minutes. A guesser at
//     one address is slowed to about four tries an hour, while the owner, signing in from
//     elsewhere, is not affected at all.
//   - per account, across all IPs: looser (20 free) and capped at 1 minute. Guessing spread over
//     many addresses is slowed, but the most an attacker can impose on the owner is a one-minute
//     wait; a long account lock-out would itself be the attack.
//   - per IP, across accounts: 50 free failures in 15 minutes, then doubling to 1 minute. This
//     is the brake on credential stuffing (many accounts, one password each): past the free
//     allowance an address gets about one guess a minute. IPv6 addresses count per /64, the block
//     a single customer usually holds. Many people share one address (a care home's Wi-Fi, a
//     mobile operator's CGNAT), and one of them misbehaving must not keep the rest out, so the
//     cap is a minute like the account rule's: a longer one would itself be a lock-out weapon.
//
// A counter is forgotten after a window (15 minutes) with no failures, counted from the end of
// its last block. A success clears only the (account, IP) counter: clearing the others would let
// an attacker with one valid account reset its own brakes.
//
// The throttle lives in memory, on one node: with several nodes each keeps its own counts, so
// an attacker spread across n nodes gets up to n times the allowance. Memory is bounded: each
// table holds at most MaxEntries counters; when full it drops forgotten ones among a few it looks
// at, and otherwise an arbitrary one, so a flood degrades the throttle (some counters are lost)
// rather than the process.

// Limit is one throttling rule. Zero fields take the default of the rule they belong to.
type Limit struct {
	Free      int           // failures allowed before any delay
	Window    time.Duration // a counter is forgotten after this long without failures or block
	BaseDelay time.Duration // delay after the first failure past Free; doubles with each further one
	MaxDelay  time.Duration // the longest delay
}

// ThrottleParams configures NewThrottle. The zero value gives the defaults described above.
type ThrottleParams struct {
	Pair       Limit // per (account, IP): 5 free in 15 min, 1 s doubling to 15 min
	Account    Limit // per account: 20 free in 15 min, 1 s doubling to 1 min
	IP         Limit // per IP (/64 for IPv6): 50 free in 15 min, 1 s doubling to 1 min
	MaxEntries int   // counters kept per rule; 0 means 100,000
}

// Throttle counts failed sign-ins. It is safe for concurrent use.
type Throttle struct {
	mu      sync.Mutex
	pair    table
	account table
	ip      table
	max     int
}

type table struct {
	limit Limit
	m     map[string]*counter
}

type counter struct {
	failures int
	last     time.Time // the last failure
	until    time.Time // blocked until
}

// NewThrottle returns a Throttle with p's limits, defaults filled in.
func NewThrottle(p ThrottleParams) *Throttle {
	fill := func(l, d Limit) Limit {
		if l.Free <= 0 {
			l.Free = d.Free
		}
		if l.Window <= 0 {
			l.Window = d.Window
		}
		if l.BaseDelay <= 0 {
			l.BaseDelay = d.BaseDelay
		}
		if l.MaxDelay <= 0 {
			l.MaxDelay = d.MaxDelay
		}
		return l
	}
	const q = 15 * time.Minute
	t := &Throttle{
		pair:    table{limit: fill(p.Pair, Limit{5, q, time.Second, q}), m: map[string]*counter{}},
		account: table{limit: fill(p.Account, Limit{20, q, time.Second, time.Minute}), m: map[string]*counter{}},
		ip:      table{limit: fill(p.IP, Limit{50, q, time.Second, time.Minute}), m: map[string]*counter{}},
		max:     p.MaxEntries,
	}
	if t.max <= 0 {
		t.max = 100_000
	}
	return t
}

// Check returns how long a sign-in for email from ip must wait: 0 if it may go ahead now,
// otherwise the longest block of the three rules.
func (t *Throttle) Check(email, ip string, now time.Time) (retryAfter time.Duration) {
	a, i := models.NormalizeEmail(email), ClientKey(ip)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, w := range []time.Duration{t.pair.wait(a+"\x00"+i, now), t.account.wait(a, now), t.ip.wait(i, now)} {
		retryAfter = max(retryAfter, w)
	}
	return retryAfter
}

// Fail records a failed sign-in for email from ip at now.
func (t *Throttle) Fail(email, ip string, now time.Time) {
	a, i := models.NormalizeEmail(email), ClientKey(ip)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pair.fail(a+"\x00"+i, now, t.max)
	t.account.fail(a, now, t.max)
	t.ip.fail(i, now, t.max)
}

// Succeed forgets the failures of email from ip (only that pair; see the package notes above).
func (t *Throttle) Succeed(email, ip string) {
	a, i := models.NormalizeEmail(email), ClientKey(ip)
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pair.m, a+"\x00"+i)
}

// forgotten reports whether a Window has passed since the last failure and the end of the last
// block, whichever is later. Counting from the block's end matters: with a 15-minute block and a
// 15-minute window, counting from the failure would wipe the count just as the block lifts.
func (tb *table) forgotten(c *counter, now time.Time) bool {
	end := c.last
	if c.until.After(end) {
		end = c.until
	}
	return now.Sub(end) > tb.limit.Window
}

func (tb *table) wait(key string, now time.Time) time.Duration {
	if c, ok := tb.m[key]; ok && c.until.After(now) {
		return c.until.Sub(now)
	}
	return 0
}

func (tb *table) fail(key string, now time.Time, maxEntries int) {
	c, ok := tb.m[key]
	if ok && tb.forgotten(c, now) {
		*c = counter{}
	}
	if !ok {
		tb.makeRoom(now, maxEntries)
		c = &counter{}
		tb.m[key] = c
	}
	c.failures++
	c.last = now
	if excess := c.failures - tb.limit.Free; excess > 0 {
		delay := tb.limit.MaxDelay
		if shift := excess - 1; shift < 30 {
			delay = min(tb.limit.BaseDelay<<shift, tb.limit.MaxDelay)
		}
		c.until = now.Add(delay)
	}
}

// makeRoom keeps the table below maxEntries: it drops forgotten counters among the first few
// in (random) map order and, if that frees nothing, one arbitrary counter.
func (tb *table) makeRoom(now time.Time, maxEntries int) {
	if len(tb.m) < maxEntries {
		return
	}
	scanned := 0
	for k, c := range tb.m {
		if tb.forgotten(c, now) {
			delete(tb.m, k)
		}
		if scanned++; scanned >= 64 {
			break
		}
	}
	for k := range tb.m {
		if len(tb.m) < maxEntries {
			break
		}
		delete(tb.m, k)
	}
}

// ClientKey returns the key a client address is counted under by Careway's per-address limits:
// IPv4 as is, IPv6 as its /64 (one customer's block: counting single IPv6 addresses would give
// each client billions of allowances), and anything that does not parse as given.
func ClientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
	return addr.String()
}
