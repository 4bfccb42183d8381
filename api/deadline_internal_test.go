package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
)

// TestBusyIsUnavailable: an answer still being computed when the query's
// deadline passes is a 503 problem with Retry-After.
func TestBusyIsUnavailable(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("%w: %w", view.ErrBusy, context.DeadlineExceeded),
		fmt.Errorf("reading: %w", context.Canceled),
		fmt.Errorf("api: idempotency store: natskv: claim: %w (nats: no response from stream)", ErrUnavailable),
	} {
		p, h := problemOf(err)
		if p.Status != http.StatusServiceUnavailable || h.Get("Retry-After") != retryAfter {
			t.Errorf("problemOf(%v) = %d with Retry-After %q, want 503 with %q", err, p.Status, h.Get("Retry-After"), retryAfter)
		}
	}
}

// TestQueryTimeoutBoundsTheHandler: a query route's handler runs under a
// context that ends after Config.QueryTimeout.
func TestQueryTimeoutBoundsTheHandler(t *testing.T) {
	const timeout = 3 * time.Second
	s := &Server{cfg: Config{QueryTimeout: timeout}}
	var deadline time.Time
	var ok bool
	h := s.withQueryTimeout(func(c echo.Context) error {
		deadline, ok = c.Request().Context().Deadline()
		return nil
	})
	before := time.Now()
	rec := httptest.NewRecorder()
	if err := h(echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)); err != nil {
		t.Fatal(err)
	}
	if !ok || deadline.Before(before) || deadline.After(time.Now().Add(timeout)) {
		t.Fatalf("handler deadline = %v (set %v), want within %v of %v", deadline, ok, timeout, before)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's and the test's
// goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestShutdownCancelsWhatOutlivesTheGrace: when Start's context ends, a
// request still running after the shutdown grace has its context
// cancelled and Start returns (it used to wait for the request).
func TestShutdownCancelsWhatOutlivesTheGrace(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	reg := planning.NewRegistry()
	logs := &syncBuffer{}
	s, err := New(Config{ShutdownGrace: 50 * time.Millisecond}, Deps{Store: store, Registry: reg, Service: planning.New(store, reg),
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	cancelled := make(chan error, 1)
	s.echo.GET("/block", func(c echo.Context) error {
		close(entered)
		<-c.Request().Context().Done()
		cancelled <- c.Request().Context().Err()
		return nil
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Start(runCtx, "127.0.0.1:0") }()
	addr := waitFor(t, logs, regexp.MustCompile(`msg=listening addr=(\S+)`))
	go func() {
		if resp, err := http.Get("http://" + addr + "/block"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Start after shutdown = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Start did not return within 30s of its context ending, with a 50ms grace")
	}
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("the blocked request's context ended with %v, want context.Canceled", err)
	}
}

// waitFor waits (at most 30s) for re to match the log and returns its
// first group.
func waitFor(t *testing.T, logs *syncBuffer, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %s in the log:\n%s", re, logs.String())
	return ""
}
