package handlers

import (
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// writeTracker knows the start time of every API write request still in progress in this
// process. The change feed uses it for its read watermark (see changeWatermark): a document is
// stamped with the time of its change inside the request that changes it, so no write still in
// progress can carry a stamp earlier than the start of the oldest request in progress.
type writeTracker struct {
	mu     sync.Mutex
	next   uint64
	starts map[uint64]time.Time
}

func newWriteTracker() *writeTracker { return &writeTracker{starts: map[uint64]time.Time{}} }

// begin records a write starting at t and returns the function that ends it.
func (w *writeTracker) begin(t time.Time) (end func()) {
	w.mu.Lock()
	w.next++
	id := w.next
	w.starts[id] = t
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.starts, id)
		w.mu.Unlock()
	}
}

// oldest returns the start of the oldest write in progress, and false when there is none. A
// scan is enough: writes in progress are counted in tens, not thousands.
func (w *writeTracker) oldest() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var min time.Time
	for _, t := range w.starts {
		if min.IsZero() || t.Before(min) {
			min = t
		}
	}
	return min, !min.IsZero()
}

// trackWrites registers every request that may change data (any method but GET, HEAD and
// OPTIONS) with the write tracker for as long as it runs. The start is read from the same clock
// (s.now) that the handlers stamp documents with, before the handler runs.
func (s *server) trackWrites(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	end := s.writes.begin(s.now())
	defer end()
	return c.Next()
}

// changeWatermark returns the latest change time the feed may hand out now: everything stamped
// at or before it is committed (or will never be). It is the earlier of
//   - now minus the settle window, which covers writes in progress on other Careway nodes
//     against the same database and small clock differences between them, and
//   - one millisecond before the start of the oldest write in progress here (stored times have
//     millisecond precision, so a stamp in the same millisecond as that start must wait too).
func (s *server) changeWatermark() time.Time {
	w := s.now().Add(-s.changesSettle).UTC().Truncate(time.Millisecond)
	if oldest, ok := s.writes.oldest(); ok {
		if o := oldest.UTC().Truncate(time.Millisecond).Add(-time.Millisecond); o.Before(w) {
			w = o
		}
	}
	return w
}
