package auth

import (
	"sync"
	"time"
)

// defaultCacheSize bounds the verified-token cache: at roughly 300 bytes per entry (claims, ids,
// map overhead), 50,000 entries stay near 15 MB and cover the tokens of a busy quarter-hour.
const defaultCacheSize = 50_000

// cacheShards spreads the cache over several locks so that concurrent requests on many cores
// rarely wait for each other.
const cacheShards = 16

// evictScan is how many entries a full shard looks at for expired ones before evicting a live
// one: a constant cost per insert, never a sweep of the whole map.
const evictScan = 32

// tokenCache remembers verified access tokens until their exp. Keys are SHA-256 digests of
// token strings, so a hit means the very same token was verified before.
type tokenCache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[[32]byte]Claims
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{perShard: max(1, (size+cacheShards-1)/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[[32]byte]Claims)
	}
	return c
}

// get returns the claims of a remembered token that has not reached its exp at now.
func (c *tokenCache) get(key [32]byte, now time.Time) (Claims, bool) {
	s := &c.shards[key[0]%cacheShards]
	s.mu.RLock()
	claims, ok := s.m[key]
	s.mu.RUnlock()
	if !ok {
		return Claims{}, false
	}
	if !now.Before(claims.ExpiresAt) {
		s.mu.Lock()
		if cur, ok := s.m[key]; ok && !now.Before(cur.ExpiresAt) {
			delete(s.m, key)
		}
		s.mu.Unlock()
		return Claims{}, false
	}
	return claims, true
}

// put remembers claims until their exp. When the shard is full it first drops expired entries
// among a few it looks at, and otherwise one arbitrary live entry (Go's map order is random):
// an evicted token is merely verified again next time.
func (c *tokenCache) put(key [32]byte, claims Claims, now time.Time) {
	if !now.Before(claims.ExpiresAt) {
		return
	}
	s := &c.shards[key[0]%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; !ok && len(s.m) >= c.perShard {
		scanned := 0
		for k, v := range s.m {
			if !now.Before(v.ExpiresAt) {
				delete(s.m, k)
			}
			if scanned++; scanned >= evictScan {
				break
			}
		}
		if len(s.m) >= c.perShard {
			for k := range s.m {
				delete(s.m, k)
				break
			}
		}
	}
	s.m[key] = claims
}

// len returns the number of entries, live or not yet dropped (for tests).
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}
