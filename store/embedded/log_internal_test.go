package embedded

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestQuietHandler(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(quietHandler{h: slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})}).With("component", "ferretdb")
	ctx := context.Background()

	l.Info("Connection started")
	l.Debug("Request message: {...}")
	l.Warn("Response header: length: 100")
	l.Warn("Response message:\n{ ok: 0, errmsg: \"E11000\" }")
	l.Warn("Connection stopped")
	l.Log(ctx, slog.LevelError, "Response message: closing connection")

	got := buf.String()
	for _, want := range []string{"Connection stopped", "closing connection", "component=ferretdb"} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"Connection started", "Request message", "E11000", "Response header"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("log has %q:\n%s", unwanted, got)
		}
	}
}
