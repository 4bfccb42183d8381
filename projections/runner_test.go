package projections_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections"
)

// sumModel is a read model meeting the Projection contract: Apply under the
// write lock, queries under the read lock. It sums the N of each event.
type sumModel struct {
	gen  int64
	fail func(pos uint64) error

	mu    sync.RWMutex
	count int
	sum   int
	last  uint64
}

func (m *sumModel) Apply(ctx context.Context, rec eventstore.RecordedEvent, ev any) error {
	if m.fail != nil {
		if err := m.fail(rec.Position.Commit); err != nil {
			return err
		}
	}
	h := ev.(happened)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.count++
	m.sum += h.N
	m.last = rec.Position.Commit
	return nil
}

func (m *sumModel) snapshot() (count, sum int, last uint64) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.count, m.sum, m.last
}

// consistent reports whether m holds exactly events 1…last.
func (m *sumModel) consistent() bool {
	count, sum, last := m.snapshot()
	return uint64(count) == last && sum == count*(count+1)/2
}

func newRunner(t *testing.T, e *env) *projections.Runner {
	t.Helper()
	reg := eventstore.NewRegistry()
	eventstore.Register[happened](reg, "test.Happened")
	r, err := projections.NewRunner(e.store, projections.RunnerConfig{Registry: reg, Retry: fastRetry(), Redelivery: fastRedelivery()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func runRunner(t *testing.T, r *projections.Runner) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Runner.Run = %v", err)
		}
	})
}

func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

func TestRunnerReadyAndReadYourWrite(t *testing.T) {
	e := &env{store: newMemStore()}
	e.appendEvents(t, 50)
	r := newRunner(t, e)
	m, err := projections.Register(r, "sum", func() *sumModel { return &sumModel{} })
	if err != nil {
		t.Fatal(err)
	}
	if r.Ready() {
		t.Fatal("Ready() = true before Run")
	}
	runRunner(t, r)
	if err := r.WaitReady(deadline(t)); err != nil {
		t.Fatal(err)
	}
	if !r.Ready() {
		t.Error("Ready() = false after WaitReady")
	}
	if count, sum, _ := m.Current().snapshot(); count != 50 || sum != 50*51/2 {
		t.Errorf("after ready: %d events summing %d, want 50 summing %d", count, sum, 50*51/2)
	}
	data := []byte(`{"n":51}`)
	res, err := e.store.Append(context.Background(), "s-x", eventstore.Any,
		eventstore.EventData{ID: [16]byte{1}, Type: "test.Happened", SchemaVersion: 1, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WaitFor(deadline(t), res.Position); err != nil {
		t.Fatal(err)
	}
	if count, sum, _ := m.Current().snapshot(); count != 51 || sum != 51*52/2 {
		t.Errorf("after WaitFor(%v): %d events summing %d, want 51 summing %d", res.Position, count, sum, 51*52/2)
	}
	if h := r.Health(); len(h) != 1 || !h[0].Healthy || h[0].Name != "sum" {
		t.Errorf("Health() = %+v, want sum healthy", h)
	}
}

// TestRunnerRebuildSwapsUnderReaders rebuilds a model while readers query
// it and a writer appends: readers always see a whole instance, the new
// instance replaces the old one, and the old one stops changing.
func TestRunnerRebuildSwapsUnderReaders(t *testing.T) {
	e := &env{store: newMemStore()}
	e.appendEvents(t, 300)
	r := newRunner(t, e)
	var gens atomic.Int64
	m, err := projections.Register(r, "sum", func() *sumModel { return &sumModel{gen: gens.Add(1)} })
	if err != nil {
		t.Fatal(err)
	}
	runRunner(t, r)
	if err := r.WaitReady(deadline(t)); err != nil {
		t.Fatal(err)
	}
	old := m.Current()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, torn atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !m.Current().consistent() {
					torn.Add(1)
				}
				reads.Add(1)
			}
		})
	}
	wg.Go(func() { // live appends during the rebuild
		for range 100 {
			select {
			case <-stop:
				return
			default:
			}
			e.appendEvents(t, 1)
		}
	})

	if err := r.Rebuild(deadline(t), "sum"); err != nil {
		t.Fatal(err)
	}
	cur := m.Current()
	if cur == old || cur.gen != 2 {
		t.Fatalf("after Rebuild the instance in service is generation %d, want 2", cur.gen)
	}
	close(stop)
	wg.Wait()
	if torn.Load() != 0 {
		t.Errorf("%d of %d reads saw an inconsistent instance", torn.Load(), reads.Load())
	}
	oldCount, _, _ := old.snapshot()
	res, err := e.store.Append(context.Background(), "s-y", eventstore.Any,
		eventstore.EventData{ID: [16]byte{2}, Type: "test.Happened", SchemaVersion: 1, Data: []byte(`{"n":0}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WaitFor(deadline(t), res.Position); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := old.snapshot(); n != oldCount {
		t.Errorf("the swapped-out instance went from %d to %d events; it must receive none", oldCount, n)
	}
	// The rebuilt instance equals a replay: events 1…n with the last N = 0.
	count, sum, last := cur.snapshot()
	if uint64(count) != res.Position.Commit || last != res.Position.Commit || sum != (count-1)*count/2 {
		t.Errorf("rebuilt instance holds %d events to %d summing %d, want all %d", count, last, sum, res.Position.Commit)
	}
	if h := r.Health(); len(h) != 1 {
		t.Errorf("Health() after rebuild = %+v, want the model only (rebuild consumer removed)", h)
	}
	if err := r.Rebuild(deadline(t), "nope"); !errors.Is(err, projections.ErrUnknownModel) {
		t.Errorf("Rebuild(nope) = %v, want ErrUnknownModel", err)
	}
}

func TestRunnerStopsOnFailureAndReportsIt(t *testing.T) {
	e := &env{store: newMemStore()}
	e.appendEvents(t, 5)
	r := newRunner(t, e)
	var fixed atomic.Bool
	var attempts atomic.Int64
	stuck := make(chan struct{})
	var once sync.Once
	fail := func(pos uint64) error {
		if pos != 3 || fixed.Load() {
			return nil
		}
		if attempts.Add(1) == 5 { // third delivery
			once.Do(func() { close(stuck) })
		}
		return errors.New("bad event")
	}
	m, err := projections.Register(r, "sum", func() *sumModel { return &sumModel{fail: fail} })
	if err != nil {
		t.Fatal(err)
	}
	runRunner(t, r)
	waitClosed(t, stuck, "third delivery of event 3")
	if r.Ready() {
		t.Error("Ready() = true with a model stuck at 2 of 5")
	}
	h := r.Health()
	if len(h) != 1 || h[0].Healthy || h[0].Position.Commit != 2 || h[0].Lag != 3 || h[0].Head.Commit != 5 {
		t.Errorf("Health() = %+v, want sum unhealthy at 2, head 5, lag 3", h)
	}
	short, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.WaitFor(short, eventstore.Position{Commit: 5, Prepare: 5}); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor on a stuck model = %v, want context.Canceled", err)
	}
	fixed.Store(true)
	if err := r.WaitReady(deadline(t)); err != nil {
		t.Fatal(err)
	}
	if count, _, _ := m.Current().snapshot(); count != 5 {
		t.Errorf("after the fix the model holds %d events, want 5", count)
	}
}
