package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logWriter buffers log output so that the access log costs a memory copy per request rather
// than a write system call (measured: one write per request took a third of the throughput of
// GET /api/v1/me). It flushes every flushEvery, when the buffer fills, when a warning or error
// is logged, and on Close. A crash can lose at most the last flushEvery of info lines.
type logWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

const flushEvery = 200 * time.Millisecond

func newLogWriter(w io.Writer) *logWriter {
	lw := &logWriter{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go lw.loop()
	return lw
}

func (lw *logWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

// Flush writes out what is buffered.
func (lw *logWriter) Flush() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	_ = lw.w.Flush()
}

func (lw *logWriter) loop() {
	defer close(lw.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-lw.stop:
			lw.Flush()
			return
		case <-t.C:
			lw.Flush()
		}
	}
}

// Close stops the flusher and writes out the rest.
func (lw *logWriter) Close() {
	close(lw.stop)
	<-lw.done
}

// flushOnWarn is a slog handler that flushes the buffer after every record at Warn or above, so
// that what an operator needs first is never waiting in memory.
type flushOnWarn struct {
	slog.Handler
	lw *logWriter
}

func (h flushOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.lw.Flush()
	}
	return err
}

func (h flushOnWarn) WithAttrs(as []slog.Attr) slog.Handler {
	return flushOnWarn{Handler: h.Handler.WithAttrs(as), lw: h.lw}
}

func (h flushOnWarn) WithGroup(name string) slog.Handler {
	return flushOnWarn{Handler: h.Handler.WithGroup(name), lw: h.lw}
}
