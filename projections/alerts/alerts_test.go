package alerts

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/alert"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/ledger"
)

var (
	t0     = time.Date(2028, 1, 3, 9, 0, 0, 0, time.UTC)
	emea   = dimension.MustParseNode("region=emea")
	secret = []byte("0123456789abcdef0123456789abcdef")
)

// fakeReader answers P(target) of EMEA from a settable value, at a
// settable position.
type fakeReader struct {
	mu        sync.Mutex
	p         float64
	pos       eventstore.Position
	openSince time.Time
	calls     int
}

func (r *fakeReader) set(p float64, pos uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p, r.pos = p, eventstore.Position{Commit: pos, Prepare: pos}
}

func (r *fakeReader) Figure(_ context.Context, planID, metric string, node dimension.Node, year int) (Figure, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if planID != "fy28" || metric != "revenue" || node != emea || year != 2028 {
		return Figure{Position: r.pos}, ErrNoFigure
	}
	return Figure{Position: r.pos, HasTarget: true, Target: 1000, Gap: 1000 * (1 - r.p), Probability: r.p, Forecast: 900, StdDev: 100, OpenSince: r.openSince}, nil
}

func openBooks(t *testing.T) (*Books, *eventstore.Registry) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "e.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := eventstore.NewRegistry()
	alert.RegisterEvents(reg)
	ledger.RegisterEvents(reg)
	return eventstore.NewRepository(st, reg, alert.New), reg
}

var rule = alert.RuleDefined{ID: "emea-fy", Plan: "fy28", Kind: alert.ProbabilityBelow, Nodes: []dimension.Node{emea}, Metric: "revenue",
	Year: 2028, Threshold: 0.5, Severity: alert.Critical, Owners: []string{"role:planner"}, By: "alice", At: t0}

func defineRule(t *testing.T, books *Books) {
	t.Helper()
	if _, err := books.Update(context.Background(), alert.Stream("fy28"), eventstore.Any, eventstore.Command{},
		func(b *alert.Book) error { return b.DefineRule(rule) }); err != nil {
		t.Fatal(err)
	}
}

func rec(pos uint64) eventstore.RecordedEvent {
	return eventstore.RecordedEvent{Position: eventstore.Position{Commit: pos, Prepare: pos}}
}

func load(t *testing.T, books *Books) *alert.Book {
	t.Helper()
	b, _, err := books.Load(context.Background(), alert.Stream("fy28"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValue(t *testing.T) {
	f := Figure{HasTarget: true, Target: 1000, Gap: 250, Probability: 0.3, Forecast: 800, StdDev: 50, HasCommit: true, Commit: 950}
	tests := []struct {
		kind   alert.Kind
		fig    Figure
		want   float64
		ok     bool
		thresh float64
		holds  bool
	}{
		{alert.ProbabilityBelow, f, 0.3, true, 0.5, true},
		{alert.ProbabilityBelow, Figure{}, 0, false, 0.5, false},
		{alert.GapAbove, f, 250, true, 300, false},
		{alert.GapShareAbove, f, 25, true, 20, true},
		{alert.GapShareAbove, Figure{HasTarget: true, Target: 0, Gap: 5}, 0, false, 20, false},
		{alert.CommitDivergence, f, 3, true, 2, true},
		{alert.CommitDivergence, Figure{HasCommit: true, Commit: 1}, 0, false, 2, false},
		// 1,100 after 1,000: a move of 10%.
		{alert.ForecastMove, Figure{HasRuns: true, Latest: 1100, Previous: 1000}, 10, true, 5, true},
		{alert.ForecastMove, Figure{HasRuns: true, Latest: 900, Previous: 1000}, 10, true, 12, false},
		{alert.ForecastMove, Figure{HasRuns: true, Latest: 5, Previous: 0}, 0, false, 5, false},
		{alert.ForecastMove, Figure{Latest: 2000, Previous: 1000}, 0, false, 5, false},
		// A 95% interval of 1,000 ± 196 has a standard deviation of 100: an
		// actual 1 sd away lies on the edge of the 68.27% interval, one
		// 2.5 sd away on that of the 98.76% interval.
		{alert.ActualOutsideInterval, Figure{HasClosed: true, ClosedActual: 900, ClosedMean: 1000, ClosedLo95: 1000 - 100*z95, ClosedHi95: 1000 + 100*z95}, 68.26894921370859, true, 95, false},
		{alert.ActualOutsideInterval, Figure{HasClosed: true, ClosedActual: 1250, ClosedMean: 1000, ClosedLo95: 1000 - 100*z95, ClosedHi95: 1000 + 100*z95}, 98.75806693484477, true, 95, true},
		{alert.ActualOutsideInterval, Figure{HasClosed: true, ClosedActual: 1250, ClosedMean: 1000, ClosedLo95: 1000, ClosedHi95: 1000}, 0, false, 95, false},
		// The clock reads 2028-01-03 09:00: December ended 2 days 9 hours ago.
		{alert.CloseOverdue, Figure{OpenSince: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)}, 2.375, true, 2, true},
		{alert.CloseOverdue, Figure{OpenSince: time.Date(2028, 2, 1, 0, 0, 0, 0, time.UTC)}, -28.625, true, 0, false},
		{alert.CloseOverdue, Figure{}, 0, false, 0, false},
	}
	for _, tt := range tests {
		v, ok := Value(tt.kind, tt.fig, t0)
		if math.Abs(v-tt.want) > 1e-9 || ok != tt.ok {
			t.Errorf("Value(%s, %+v) = %v, %v, want %v, %v", tt.kind, tt.fig, v, ok, tt.want, tt.ok)
		}
		if got := ok && Holds(tt.kind, tt.thresh, v); got != tt.holds {
			t.Errorf("Holds(%s, %v, %v) = %v, want %v", tt.kind, tt.thresh, v, got, tt.holds)
		}
	}
}

func TestManagerRaisesOnceAndResolves(t *testing.T) {
	ctx := context.Background()
	books, _ := openBooks(t)
	defineRule(t, books)
	reader := &fakeReader{}
	m := NewManager(books, reader, func() time.Time { return t0 })
	closed := ledger.PeriodClosed{Period: fiscal.NewPeriod(2027, time.December), By: "controller"}

	reader.set(0.62, 1)
	if err := m.Handle(ctx, rec(1), rule); err != nil {
		t.Fatal(err)
	}
	reader.set(0.31, 5)
	if err := m.Handle(ctx, rec(5), closed); err != nil {
		t.Fatal(err)
	}
	// Events the evaluation at 5 already covered are not evaluated again.
	calls := reader.calls
	if err := m.Handle(ctx, rec(4), closed); err != nil {
		t.Fatal(err)
	}
	if reader.calls != calls {
		t.Errorf("an event at 4 after an evaluation at 5 read %d figures, want none", reader.calls-calls)
	}
	reader.set(0.2, 7)
	if err := m.Handle(ctx, rec(7), closed); err != nil {
		t.Fatal(err)
	}
	as := load(t, books).Alerts()
	if len(as) != 1 {
		t.Fatalf("%d alerts after two weak closes, want 1: %+v", len(as), as)
	}
	a := as[0]
	if a.Before == nil || *a.Before != 0.62 || a.After != 0.31 || a.Position.Commit != 5 || !a.Open() {
		t.Errorf("alert = %+v, want open, from 0.62 to 0.31 at 5", a)
	}

	// A restart replays the log: a new manager, the same events, no new alert.
	again := NewManager(books, reader, func() time.Time { return t0 })
	for _, p := range []uint64{1, 5, 7} {
		if err := again.Handle(ctx, rec(p), closed); err != nil {
			t.Fatal(err)
		}
		if p == 1 {
			if err := again.Handle(ctx, rec(p), rule); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := len(load(t, books).Alerts()); n != 1 {
		t.Errorf("%d alerts after a replay, want 1", n)
	}

	reader.set(0.7, 9)
	if err := m.Handle(ctx, rec(9), ledger.ActualRestated{}); err != nil {
		t.Fatal(err)
	}
	a, _ = load(t, books).Alert(a.ID)
	if a.Open() || a.Resolved.Position.Commit != 9 || *a.Resolved.Value != 0.7 {
		t.Errorf("alert after the restatement = %+v, want resolved at 9 with 0.7", a)
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) After(time.Duration) <-chan time.Time {
	panic("DeliverDue never waits")
}

// receiver is a loopback HTTPS webhook that fails its first failures
// requests and records the rest.
type receiver struct {
	mu       sync.Mutex
	failures int
	calls    int
	bodies   []string
	headers  []http.Header
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls <= r.failures {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	r.bodies = append(r.bodies, string(body))
	r.headers = append(r.headers, req.Header.Clone())
}

func TestWebhookRetriesThenDelivers(t *testing.T) {
	ctx := context.Background()
	books, _ := openBooks(t)
	defineRule(t, books)
	reader := &fakeReader{}
	reader.set(0.3, 3)
	m := NewManager(books, reader, func() time.Time { return t0 })
	if err := m.Handle(ctx, rec(2), rule); err != nil {
		t.Fatal(err)
	}
	recv := &receiver{failures: 3}
	srv := httptest.NewTLSServer(recv)
	defer srv.Close()
	clock := &fakeClock{now: t0}
	w, err := NewWebhook(books, WebhookConfig{URL: srv.URL, Secret: secret, Client: srv.Client(), MaxAttempts: 5, Backoff: time.Second, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Handle(ctx, eventstore.RecordedEvent{Stream: alert.Stream("fy28")}, alert.Raised{}); err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	for range 4 {
		next, err := w.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if next.IsZero() {
			break
		}
		waits = append(waits, next.Sub(clock.now))
		// Not due yet: nothing is sent.
		calls := recv.calls
		if _, err := w.DeliverDue(ctx); err != nil || recv.calls != calls {
			t.Fatalf("DeliverDue before the retry is due sent %d requests (%v)", recv.calls-calls, err)
		}
		clock.now = next
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}; !equalDurations(waits, want) {
		t.Errorf("backoff waits = %v, want %v", waits, want)
	}
	if recv.calls != 4 || len(recv.bodies) != 1 {
		t.Fatalf("receiver saw %d calls, %d accepted; want 4, 1", recv.calls, len(recv.bodies))
	}
	h := recv.headers[0]
	if got := h.Get(HeaderAlertID); got != "fy28/a1" {
		t.Errorf("%s = %q, want fy28/a1", HeaderAlertID, got)
	}
	if err := Verify(secret, []byte(recv.bodies[0]), h.Get(HeaderSignature), clock.now, 5*time.Minute); err != nil {
		t.Errorf("Verify(delivered body) = %v", err)
	}
	if err := Verify(secret, []byte(strings.Replace(recv.bodies[0], "0.3", "0.9", 1)), h.Get(HeaderSignature), clock.now, 5*time.Minute); !errors.Is(err, ErrSignature) {
		t.Errorf("Verify(tampered body) = %v, want ErrSignature", err)
	}
	a, _ := load(t, books).Alert("a1")
	if d := a.Delivery[alert.ChangeRaised]; !d.Delivered || d.Attempts != 3 {
		t.Errorf("delivery = %+v, want delivered after 3 failures", d)
	}
	// Delivered and then acknowledged: a restarted webhook sends nothing.
	if _, err := books.Update(ctx, alert.Stream("fy28"), eventstore.Any, eventstore.Command{}, func(b *alert.Book) error {
		return b.Acknowledge("a1", "vp-emea", "on it", t0)
	}); err != nil {
		t.Fatal(err)
	}
	w2, _ := NewWebhook(books, WebhookConfig{URL: srv.URL, Secret: secret, Client: srv.Client(), Clock: clock})
	_ = w2.Handle(ctx, eventstore.RecordedEvent{Stream: alert.Stream("fy28")}, alert.Acknowledged{})
	if _, err := w2.DeliverDue(ctx); err != nil || recv.calls != 4 {
		t.Errorf("a restarted webhook made %d calls (%v), want none", recv.calls-4, err)
	}
}

func TestWebhookDeadLetters(t *testing.T) {
	ctx := context.Background()
	books, _ := openBooks(t)
	defineRule(t, books)
	reader := &fakeReader{}
	reader.set(0.3, 3)
	if err := NewManager(books, reader, func() time.Time { return t0 }).Handle(ctx, rec(2), rule); err != nil {
		t.Fatal(err)
	}
	recv := &receiver{failures: 100}
	srv := httptest.NewTLSServer(recv)
	defer srv.Close()
	clock := &fakeClock{now: t0}
	w, _ := NewWebhook(books, WebhookConfig{URL: srv.URL, Secret: secret, Client: srv.Client(), MaxAttempts: 2, Clock: clock})
	_ = w.Handle(ctx, eventstore.RecordedEvent{Stream: alert.Stream("fy28")}, alert.Raised{})
	for range 3 {
		next, err := w.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if next.IsZero() {
			break
		}
		clock.now = next
	}
	dead := load(t, books).DeadLetters()
	if recv.calls != 2 || len(dead) != 1 || dead[0].Attempts != 2 || !strings.Contains(dead[0].LastError, "503") {
		t.Errorf("after %d calls dead letters = %+v, want one after 2 attempts", recv.calls, dead)
	}
}

func TestNewWebhookRejects(t *testing.T) {
	books, _ := openBooks(t)
	for _, cfg := range []WebhookConfig{
		{URL: "http://example.com/hook", Secret: secret},
		{URL: "https://example.com/hook", Secret: []byte("short")},
		{URL: "https://example.com/hook", Secret: secret, MaxAttempts: -1},
	} {
		if _, err := NewWebhook(books, cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("NewWebhook(%q, %d-byte secret, %d attempts) = %v, want ErrConfig", cfg.URL, len(cfg.Secret), cfg.MaxAttempts, err)
		}
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWaitHandled(t *testing.T) {
	books, _ := openBooks(t)
	m := NewManager(books, &fakeReader{}, func() time.Time { return t0 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.WaitHandled(ctx, rec(3).Position); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitHandled(3) before any event = %v, want context.Canceled", err)
	}
	done := make(chan error)
	go func() { done <- m.WaitHandled(context.Background(), rec(3).Position) }()
	for _, p := range []uint64{2, 3} {
		if err := m.Handle(context.Background(), rec(p), alert.Acknowledged{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("WaitHandled(3) after the event at 3 = %v", err)
	}
}

// TestTickRaisesOverdueClose: a close_overdue rule raises its alert when the
// clock passes the threshold with no new event, and the close resolves it.
func TestTickRaisesOverdueClose(t *testing.T) {
	ctx := context.Background()
	books, _ := openBooks(t)
	overdue := rule
	overdue.ID, overdue.Kind, overdue.Threshold = "close-late", alert.CloseOverdue, 5
	if _, err := books.Update(ctx, alert.Stream("fy28"), eventstore.Any, eventstore.Command{},
		func(b *alert.Book) error { return b.DefineRule(overdue) }); err != nil {
		t.Fatal(err)
	}
	reader := &fakeReader{}
	reader.set(0.6, 1)
	reader.openSince = time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC) // December 2027 ends
	now := time.Date(2028, 1, 3, 0, 0, 0, 0, time.UTC)
	m := NewManager(books, reader, func() time.Time { return now })
	if err := m.Handle(ctx, rec(1), overdue); err != nil {
		t.Fatal(err)
	}
	if err := m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if as := load(t, books).Alerts(); len(as) != 0 {
		t.Fatalf("alerts 2 days after the month's end = %+v, want none", as)
	}
	// Nothing new in the log, the clock moves to 7 days after the end.
	now = time.Date(2028, 1, 8, 0, 0, 0, 0, time.UTC)
	reader.set(0.6, 2)
	if err := m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	as := load(t, books).Alerts()
	if len(as) != 1 || as[0].Kind != alert.CloseOverdue || as[0].After != 7 || as[0].Before == nil || *as[0].Before != 2 || !as[0].Open() {
		t.Fatalf("alerts 7 days after the month's end = %+v, want one open, from 2 to 7 days", as)
	}
	// December is closed: January ends on 1 February.
	reader.set(0.6, 4)
	reader.openSince = time.Date(2028, 2, 1, 0, 0, 0, 0, time.UTC)
	if err := m.Handle(ctx, rec(4), ledger.PeriodClosed{Period: fiscal.NewPeriod(2027, time.December)}); err != nil {
		t.Fatal(err)
	}
	if a, _ := load(t, books).Alert(as[0].ID); a.Open() || a.Resolved.Position.Commit != 4 {
		t.Errorf("alert after the close = %+v, want resolved at 4", a)
	}
}

// raiseOne defines the rule and raises its alert a1 (P = 0.3 at 3).
func raiseOne(t *testing.T, books *Books) {
	t.Helper()
	defineRule(t, books)
	reader := &fakeReader{}
	reader.set(0.3, 3)
	if err := NewManager(books, reader, func() time.Time { return t0 }).Handle(context.Background(), rec(2), rule); err != nil {
		t.Fatal(err)
	}
}

// TestTwoReplicasDeliverOnce: two webhooks over one store, each a serve
// replica, deliver the same news at the same time: the receiver hears it
// once, and the book records one claim and one delivery.
func TestTwoReplicasDeliverOnce(t *testing.T) {
	ctx := context.Background()
	for round := range 5 {
		books, _ := openBooks(t)
		raiseOne(t, books)
		recv := &receiver{}
		srv := httptest.NewTLSServer(recv)
		clock := &fakeClock{now: t0}
		var hooks []*Webhook
		for _, name := range []string{"replica-1", "replica-2"} {
			w, err := NewWebhook(books, WebhookConfig{URL: srv.URL, Secret: secret, Client: srv.Client(), Clock: clock, Replica: name})
			if err != nil {
				t.Fatal(err)
			}
			_ = w.Handle(ctx, eventstore.RecordedEvent{Stream: alert.Stream("fy28")}, alert.Raised{})
			hooks = append(hooks, w)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(hooks))
		start := make(chan struct{})
		for i, w := range hooks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = w.DeliverDue(ctx)
			}()
		}
		close(start)
		wg.Wait()
		srv.Close()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		a, _ := load(t, books).Alert("a1")
		if recv.calls != 1 || !a.Delivery[alert.ChangeRaised].Delivered {
			t.Errorf("round %d: two replicas made %d calls, delivery %+v; want 1 call, delivered", round, recv.calls, a.Delivery[alert.ChangeRaised])
		}
	}
}

// TestLapsedClaimIsTakenOver: a replica that claimed a delivery and
// stopped before sending holds it only until its claim lapses; then
// another replica sends it.
func TestLapsedClaimIsTakenOver(t *testing.T) {
	ctx := context.Background()
	books, _ := openBooks(t)
	raiseOne(t, books)
	if _, err := books.Update(ctx, alert.Stream("fy28"), eventstore.Any, eventstore.Command{}, func(b *alert.Book) error {
		return b.Claim("a1", alert.ChangeRaised, 1, "replica-1", t0.Add(time.Minute), t0)
	}); err != nil {
		t.Fatal(err)
	}
	recv := &receiver{}
	srv := httptest.NewTLSServer(recv)
	defer srv.Close()
	clock := &fakeClock{now: t0.Add(10 * time.Second)}
	w, _ := NewWebhook(books, WebhookConfig{URL: srv.URL, Secret: secret, Client: srv.Client(), Clock: clock, Replica: "replica-2"})
	_ = w.Handle(ctx, eventstore.RecordedEvent{Stream: alert.Stream("fy28")}, alert.Raised{})
	next, err := w.DeliverDue(ctx)
	if err != nil || recv.calls != 0 || !next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("DeliverDue during replica-1's claim = %v, %v after %d calls; want the claim's end, no call", next, err, recv.calls)
	}
	clock.now = next
	if next, err := w.DeliverDue(ctx); err != nil || recv.calls != 1 || !next.IsZero() {
		t.Fatalf("DeliverDue after the claim lapsed = %v, %v after %d calls; want one call", next, err, recv.calls)
	}
	if a, _ := load(t, books).Alert("a1"); !a.Delivery[alert.ChangeRaised].Delivered {
		t.Errorf("delivery = %+v, want delivered", a.Delivery[alert.ChangeRaised])
	}
}

// TestRestartKeepsBefore: a restarted manager keeps the open alert as it
// was raised (0.62 before, 0.31 after), and the first alert it raises
// takes its "before" from the book, not from nothing.
func TestRestartKeepsBefore(t *testing.T) {
	ctx := context.Background()
	books, _ := openBooks(t)
	defineRule(t, books)
	reader := &fakeReader{}
	m := NewManager(books, reader, func() time.Time { return t0 })
	reader.set(0.62, 1)
	if err := m.Handle(ctx, rec(1), rule); err != nil {
		t.Fatal(err)
	}
	reader.set(0.31, 5)
	if err := m.Handle(ctx, rec(5), ledger.PeriodClosed{}); err != nil {
		t.Fatal(err)
	}
	reader.set(0.55, 7)
	if err := m.Handle(ctx, rec(7), ledger.ActualRestated{}); err != nil {
		t.Fatal(err)
	}
	// A restart while P is 0.4: the replay evaluates at the head and raises a2.
	reader.set(0.4, 9)
	again := NewManager(books, reader, func() time.Time { return t0 })
	for _, p := range []uint64{1, 5, 7, 9} {
		var e any = ledger.PeriodClosed{}
		if p == 1 {
			e = rule
		}
		if err := again.Handle(ctx, rec(p), e); err != nil {
			t.Fatal(err)
		}
	}
	as := load(t, books).Alerts()
	if len(as) != 2 {
		t.Fatalf("alerts = %+v, want a1 resolved and a2 open", as)
	}
	a2, a1 := as[0], as[1]
	if a1.Before == nil || *a1.Before != 0.62 || a1.After != 0.31 || a1.Open() {
		t.Errorf("a1 after the restart = %+v, want 0.62 → 0.31, resolved", a1)
	}
	if a2.Before == nil || *a2.Before != 0.55 || a2.After != 0.4 || !a2.Open() {
		t.Errorf("a2 raised after the restart = %+v, want open, before 0.55 (the figure that resolved a1), after 0.4", a2)
	}
}

// TestTwoManagersRaiseOnce: the alert processes of two replicas evaluate
// the same close at the same time: one alert is raised.
func TestTwoManagersRaiseOnce(t *testing.T) {
	ctx := context.Background()
	for round := range 5 {
		books, _ := openBooks(t)
		defineRule(t, books)
		reader := &fakeReader{}
		reader.set(0.31, 5)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i := range errs {
			m := NewManager(books, reader, func() time.Time { return t0 })
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = m.Handle(ctx, rec(5), rule)
			}()
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if as := load(t, books).Alerts(); len(as) != 1 {
			t.Errorf("round %d: two managers raised %d alerts, want 1", round, len(as))
		}
	}
}
