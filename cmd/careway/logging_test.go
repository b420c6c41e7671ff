package main

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer safe to read while the flusher writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLogWriterFlushesWarningsAtOnceAndTheRestOnClose(t *testing.T) {
	var out lockedBuffer
	lw := newLogWriter(&out)
	log := newLogger(&Config{LogLevel: slog.LevelInfo, LogFormat: "json"}, lw)
	log.Info("routine", "requestId", "r1")
	log.Warn("attention", "requestId", "r2")
	got := out.String()
	if !strings.Contains(got, "attention") || !strings.Contains(got, "routine") {
		t.Fatalf("after a warning the buffer should be written out in order; got %q", got)
	}
	log.Info("last words", "requestId", "r3")
	lw.Close()
	if !strings.Contains(out.String(), "last words") {
		t.Errorf("Close did not flush: %q", out.String())
	}
	if strings.Index(out.String(), "routine") > strings.Index(out.String(), "attention") {
		t.Error("lines came out of order")
	}
}
