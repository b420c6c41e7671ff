package handlers

import (
	"sync"
	"time"
)

// ttlCache is a small concurrency-safe cache whose entries live for a fixed time. When full it
// drops expired entries, and if none have expired it starts again empty: simple, bounded, and
// good enough for values that are cheap to load again.
type ttlCache[K comparable, V any] struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	items map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v   V
	exp time.Time
}

func newTTLCache[K comparable, V any](ttl time.Duration, max int) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, max: max, items: make(map[K]ttlEntry[V])}
}

func (c *ttlCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok || !now.Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[K, V]) put(k K, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) >= c.max {
		for key, e := range c.items {
			if !now.Before(e.exp) {
				delete(c.items, key)
			}
		}
		if len(c.items) >= c.max {
			c.items = make(map[K]ttlEntry[V])
		}
	}
	c.items[k] = ttlEntry[V]{v: v, exp: now.Add(c.ttl)}
}
