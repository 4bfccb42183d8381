package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/google/uuid"
)

// A tiny aggregate for the repository tests: a counter that may not exceed
// its limit.
type counterEvent interface{ isCounterEvent() }

type Opened struct {
	Limit int `json:"limit"`
}
type Incremented struct {
	By int `json:"by"`
}

func (Opened) isCounterEvent()      {}
func (Incremented) isCounterEvent() {}

type counter struct {
	opened  bool
	limit   int
	value   int
	changes []counterEvent
}

func (c *counter) Apply(e counterEvent) {
	switch e := e.(type) {
	case Opened:
		c.opened, c.limit = true, e.Limit
	case Incremented:
		c.value += e.By
	}
}

func (c *counter) Changes() []counterEvent { return c.changes }

func (c *counter) record(e counterEvent) { c.Apply(e); c.changes = append(c.changes, e) }

var errOverLimit = errors.New("counter: over limit")

func (c *counter) Increment(by int) error {
	if c.value+by > c.limit {
		return errOverLimit
	}
	c.record(Incremented{By: by})
	return nil
}

// IncrementedV1 is the schema before "by" was introduced: always one.
func upcastIncremented(data []byte) ([]byte, error) { return []byte(`{"by":1}`), nil }

func registry() *eventstore.Registry {
	r := eventstore.NewRegistry()
	eventstore.Register[Opened](r, "counter.Opened")
	eventstore.Register[Incremented](r, "counter.Incremented", upcastIncremented)
	return r
}

func newStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "e.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRegistryZero: Zero names the type of a stored event by its zero
// value, without decoding (or upcasting) its data, and refuses what Decode
// refuses before it reads the data.
func TestRegistryZero(t *testing.T) {
	r := registry()
	got, err := r.Zero(eventstore.RecordedEvent{Type: "counter.Opened", SchemaVersion: 1, Data: []byte(`{"limit":"not read"}`)})
	if err != nil || got != (Opened{}) {
		t.Errorf("Zero(counter.Opened) = %#v, %v, want Opened{}", got, err)
	}
	got, err = r.Zero(eventstore.RecordedEvent{Type: "counter.Incremented", SchemaVersion: 1, Data: []byte(`{}`)})
	if err != nil || got != (Incremented{}) {
		t.Errorf("Zero(counter.Incremented v1) = %#v, %v, want Incremented{} (not upcast)", got, err)
	}
	if _, err := r.Zero(eventstore.RecordedEvent{Type: "counter.Renamed", SchemaVersion: 1}); !errors.Is(err, eventstore.ErrUnknownType) {
		t.Errorf("Zero(unknown) error = %v, want ErrUnknownType", err)
	}
	var de *eventstore.DecodeError
	if _, err := r.Zero(eventstore.RecordedEvent{Type: "counter.Opened", SchemaVersion: 2}); !errors.As(err, &de) {
		t.Errorf("Zero of a future schema version: error %v, want *DecodeError", err)
	}
}

func TestRegistryRoundTripAndUpcast(t *testing.T) {
	r := registry()
	d, err := r.Encode(uuid.New(), Incremented{By: 3}, eventstore.Metadata{Actor: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Type != "counter.Incremented" || d.SchemaVersion != 2 || string(d.Data) != `{"by":3}` {
		t.Errorf("Encode = %s v%d %s, want counter.Incremented v2 {\"by\":3}", d.Type, d.SchemaVersion, d.Data)
	}
	got, err := r.Decode(eventstore.RecordedEvent{Type: d.Type, SchemaVersion: 2, Data: d.Data})
	if err != nil || got != (Incremented{By: 3}) {
		t.Errorf("Decode = %v, %v, want {3}", got, err)
	}
	old, err := r.Decode(eventstore.RecordedEvent{Type: "counter.Incremented", SchemaVersion: 1, Data: []byte(`{}`)})
	if err != nil || old != (Incremented{By: 1}) {
		t.Errorf("Decode(v1) = %v, %v, want upcast {1}", old, err)
	}
	_, err = r.Decode(eventstore.RecordedEvent{Type: "counter.Renamed", SchemaVersion: 1, Stream: "c-1", Data: []byte(`{}`)})
	var ute *eventstore.UnknownTypeError
	if !errors.Is(err, eventstore.ErrUnknownType) || !errors.As(err, &ute) || ute.Type != "counter.Renamed" || ute.Stream != "c-1" {
		t.Errorf("Decode(unknown) error = %v, want UnknownTypeError naming the type and stream", err)
	}
	if _, err := r.Decode(eventstore.RecordedEvent{Type: "counter.Opened", SchemaVersion: 2, Data: []byte(`{}`)}); err == nil {
		t.Error("Decode of a future schema version succeeded")
	}
	var de *eventstore.DecodeError
	if _, err := r.Decode(eventstore.RecordedEvent{Type: "counter.Opened", SchemaVersion: 1, Data: []byte(`{"limit":"x"}`)}); !errors.As(err, &de) {
		t.Errorf("Decode of bad data error = %v, want *DecodeError", err)
	}
	if _, err := r.Encode(uuid.New(), struct{}{}, eventstore.Metadata{}); !errors.Is(err, eventstore.ErrUnknownType) {
		t.Errorf("Encode(unregistered) error = %v, want ErrUnknownType", err)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice did not panic")
		}
	}()
	r := registry()
	eventstore.Register[struct{ X int }](r, "counter.Opened")
}

func TestRepositoryUpdate(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	repo := eventstore.NewRepository(s, registry(), func() *counter { return &counter{} })
	open := eventstore.Command{Metadata: eventstore.Metadata{Actor: "ann", CorrelationID: "req-1"}}
	res, err := repo.Update(ctx, "counter-1", eventstore.NoStream, open, func(c *counter) error {
		c.record(Opened{Limit: 5})
		return nil
	})
	if err != nil || res.Version != 1 {
		t.Fatalf("Update(open) = %+v, %v", res, err)
	}
	// Given the counter at version 1, when incremented by 4 then 2, the
	// second is refused and stores nothing.
	if _, err := repo.Update(ctx, "counter-1", eventstore.Exact(1), open, func(c *counter) error { return c.Increment(4) }); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Update(ctx, "counter-1", eventstore.Any, open, func(c *counter) error { return c.Increment(2) }); !errors.Is(err, errOverLimit) {
		t.Errorf("Update over the limit error = %v, want errOverLimit", err)
	}
	// A stale expected version is a conflict, decided before the command runs.
	ran := false
	_, err = repo.Update(ctx, "counter-1", eventstore.Exact(1), open, func(c *counter) error { ran = true; return c.Increment(1) })
	var ce *eventstore.ConflictError
	if !errors.As(err, &ce) || ce.Actual != 2 || ran {
		t.Errorf("Update at a stale version: error %v, command ran %v; want a conflict at version 2 without running", err, ran)
	}
	c, v, err := repo.Load(ctx, "counter-1")
	if err != nil || v != 2 || c.value != 4 || c.limit != 5 {
		t.Errorf("Load = value %d limit %d at version %d, %v; want 4, 5 at 2", c.value, c.limit, v, err)
	}
	evs, _ := s.ReadStream(ctx, "counter-1", 1, 10)
	if evs[0].Metadata.Actor != "ann" || evs[0].Metadata.CorrelationID != "req-1" {
		t.Errorf("stored metadata = %+v, want actor ann, correlation req-1", evs[0].Metadata)
	}
}

func TestRepositoryIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	repo := eventstore.NewRepository(s, registry(), func() *counter { return &counter{} })
	cmd := eventstore.Command{IdempotencyKey: "import-7"}
	open := func(c *counter) error { c.record(Opened{Limit: 9}); c.record(Incremented{By: 1}); return nil }
	first, err := repo.Update(ctx, "counter-2", eventstore.NoStream, cmd, open)
	if err != nil {
		t.Fatal(err)
	}
	// The same command's events, appended again as a blind retry of the
	// store call, are stored once.
	evs, _ := s.ReadStream(ctx, "counter-2", 1, 10)
	retry := make([]eventstore.EventData, len(evs))
	for i, e := range evs {
		retry[i] = eventstore.EventData{ID: e.ID, Type: e.Type, SchemaVersion: e.SchemaVersion, Data: e.Data, Metadata: e.Metadata}
	}
	again, err := s.Append(ctx, "counter-2", eventstore.NoStream, retry...)
	if err != nil || again != first {
		t.Errorf("retried append = %+v, %v, want %+v", again, err, first)
	}
	other := newStore(t)
	otherRepo := eventstore.NewRepository(other, registry(), func() *counter { return &counter{} })
	if _, err := otherRepo.Update(ctx, "counter-2", eventstore.NoStream, cmd, open); err != nil {
		t.Fatal(err)
	}
	otherEvs, _ := other.ReadStream(ctx, "counter-2", 1, 10)
	for i := range evs {
		if evs[i].ID != otherEvs[i].ID {
			t.Errorf("event %d: IDs %s and %s differ for the same idempotency key", i, evs[i].ID, otherEvs[i].ID)
		}
	}
}

// openCounter records a new counter of limit in stream.
func openCounter(t *testing.T, repo *eventstore.Repository[*counter, counterEvent], stream string, limit int) {
	t.Helper()
	if _, err := repo.Update(context.Background(), stream, eventstore.NoStream, eventstore.Command{}, func(c *counter) error {
		c.record(Opened{Limit: limit})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// countingStore records the number of events of each append.
type countingStore struct {
	eventstore.Store
	appends []int
}

func (c *countingStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	c.appends = append(c.appends, len(events))
	return c.Store.Append(ctx, stream, expected, events...)
}

func TestRepositoryMaxAppendBytes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		maxBytes int
		want     []int // events per append; each Incremented is 8 bytes: {"by":1}
	}{
		{0, []int{5}},
		{20, []int{2, 2, 1}},
		{8, []int{1, 1, 1, 1, 1}},
		{3, []int{1, 1, 1, 1, 1}}, // an event larger than the bound goes alone
		{1000, []int{5}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.maxBytes), func(t *testing.T) {
			s := &countingStore{Store: newStore(t)}
			repo := eventstore.NewRepository(s, registry(), func() *counter { return &counter{} })
			openCounter(t, repo, "counter-4", 1000)
			s.appends = nil
			res, err := repo.Update(ctx, "counter-4", eventstore.Any, eventstore.Command{MaxAppendBytes: tt.maxBytes}, func(c *counter) error {
				for range 5 {
					if err := c.Increment(1); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil || res.Version != 6 || !slices.Equal(s.appends, tt.want) {
				t.Errorf("Update = %+v, %v in appends of %v events; want version 6 in appends of %v", res, err, s.appends, tt.want)
			}
			if c, v, err := repo.Load(ctx, "counter-4"); err != nil || v != 6 || c.value != 5 {
				t.Errorf("Load = value %d at version %d, %v; want 5 at 6", c.value, v, err)
			}
		})
	}
}

func TestRepositoryAnyRetriesOnConflict(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	repo := eventstore.NewRepository(s, registry(), func() *counter { return &counter{} })
	openCounter(t, repo, "counter-3", 1000)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := repo.Update(ctx, "counter-3", eventstore.Any, eventstore.Command{}, func(c *counter) error { return c.Increment(1) })
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, eventstore.ErrConflict) {
			t.Errorf("concurrent Update error %v", err)
		}
	}
	c, _, _ := repo.Load(ctx, "counter-3")
	if c.value != ok || ok == 0 {
		t.Errorf("after %d successful increments the counter is %d", ok, c.value)
	}
}

func TestVerifyReportsTampering(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for i := range 3 {
		if _, err := s.Append(ctx, fmt.Sprintf("s-%d", i), eventstore.NoStream,
			eventstore.EventData{ID: uuid.New(), Type: "t", SchemaVersion: 1, Data: []byte(`{}`)},
			eventstore.EventData{ID: uuid.New(), Type: "t", SchemaVersion: 1, Data: []byte(`{"b":1}`)}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := eventstore.Verify(ctx, s, eventstore.VerifyOptions{})
	if err != nil || rep.Events != 6 {
		t.Fatalf("Verify = %d, %v; want 6 events, no error", rep.Events, err)
	}
	tampered := tamperingStore{Store: s, position: 4}
	rep, err = eventstore.Verify(ctx, tampered, eventstore.VerifyOptions{})
	n := rep.Events
	var ce *eventstore.ChainError
	if n != 6 || !errors.As(err, &ce) || ce.Stream != "s-1" || ce.Version != 2 {
		t.Errorf("Verify(tampered) = %d, %v; want a break at s-1 version 2", n, err)
	}
}

// tamperingStore alters the data of one event as it is read.
type tamperingStore struct {
	eventstore.Store
	position uint64
}

func (s tamperingStore) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	evs, err := s.Store.ReadAll(ctx, after, limit)
	for i := range evs {
		if evs[i].Position.Commit == s.position {
			evs[i].Data = []byte(`{"b":2}`)
		}
	}
	return evs, err
}

func TestPositionText(t *testing.T) {
	for _, p := range []eventstore.Position{{}, {Commit: 7, Prepare: 7}, {Commit: 1200, Prepare: 1100}} {
		b, _ := json.Marshal(p)
		var back eventstore.Position
		if err := json.Unmarshal(b, &back); err != nil || back != p {
			t.Errorf("JSON round trip of %v = %v, %v", p, back, err)
		}
	}
	if _, err := eventstore.ParsePosition("x"); err == nil {
		t.Error("ParsePosition(x) succeeded")
	}
	if !(eventstore.Position{Commit: 1, Prepare: 9}).Before(eventstore.Position{Commit: 2}) {
		t.Error("commit does not order positions")
	}
}

func FuzzDecode(f *testing.F) {
	r := registry()
	f.Add("counter.Incremented", 1, []byte(`{}`))
	f.Add("counter.Incremented", 2, []byte(`{"by":3}`))
	f.Add("counter.Opened", 1, []byte(`{"limit":-1}`))
	f.Add("counter.Opened", 0, []byte(`nul`))
	f.Add("x", 1, []byte(`[]`))
	f.Fuzz(func(t *testing.T, typ string, version int, data []byte) {
		e, err := r.Decode(eventstore.RecordedEvent{Type: typ, SchemaVersion: version, Data: data})
		if err != nil {
			var ute *eventstore.UnknownTypeError
			var de *eventstore.DecodeError
			if !errors.As(err, &ute) && !errors.As(err, &de) {
				t.Fatalf("Decode error %v is neither UnknownTypeError nor DecodeError", err)
			}
			return
		}
		switch e.(type) {
		case Opened, Incremented:
		default:
			t.Fatalf("Decode returned %T", e)
		}
	})
}
