package esdb

import (
	"io"
	"log/slog"
	"sync"
	"testing"
)

// LoggerForTest returns a logger writing to t's output until t ends, then
// discarding: client goroutines abandoned by a test (see clientRef) may
// still log after it, and writing to a finished test's output panics.
func LoggerForTest(t *testing.T) *slog.Logger {
	w := &untilCleanup{w: t.Output()}
	t.Cleanup(func() {
		w.mu.Lock()
		w.w = io.Discard
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type untilCleanup struct {
	mu sync.Mutex
	w  io.Writer
}

func (u *untilCleanup) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.w.Write(p)
}
