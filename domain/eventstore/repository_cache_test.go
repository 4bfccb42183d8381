package eventstore_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/concord-planning/concord/domain/eventstore"
)

// cached is the counter with Clone, so that a Repository caches it; it
// keeps the increments it saw in a slice and a map, which a shallow copy
// would share.
type cached struct {
	counter
	history []int
	seen    map[int]bool
}

func newCached() *cached { return &cached{seen: map[int]bool{}} }

func (c *cached) Apply(e counterEvent) {
	c.counter.Apply(e)
	if e, ok := e.(Incremented); ok {
		c.history = append(c.history, e.By)
		c.seen[e.By] = true
	}
}

func (c *cached) Increment(by int) error {
	if c.value+by > c.limit {
		return errOverLimit
	}
	e := Incremented{By: by}
	c.Apply(e)
	c.changes = append(c.changes, e)
	return nil
}

func (c *cached) Clone() *cached {
	out := *c
	out.history, out.seen, out.changes = slices.Clone(c.history), maps.Clone(c.seen), slices.Clone(c.changes)
	return &out
}

// readCounting counts the events its reads return, and fails appends
// while failAppend is set.
type readCounting struct {
	eventstore.Store
	read       int
	failAppend error
}

func (s *readCounting) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	evs, err := s.Store.ReadStream(ctx, stream, from, limit)
	s.read += len(evs)
	return evs, err
}

func (s *readCounting) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if s.failAppend != nil {
		return eventstore.AppendResult{}, s.failAppend
	}
	return s.Store.Append(ctx, stream, expected, events...)
}

func cachedRepo(s eventstore.Store, opts ...eventstore.RepositoryOption) *eventstore.Repository[*cached, counterEvent] {
	return eventstore.NewRepository(s, registry(), newCached, opts...)
}

func increment(t *testing.T, repo *eventstore.Repository[*cached, counterEvent], stream string, by int) eventstore.AppendResult {
	t.Helper()
	res, err := repo.Update(context.Background(), stream, eventstore.Any, eventstore.Command{}, func(c *cached) error { return c.Increment(by) })
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func openCached(t *testing.T, repo *eventstore.Repository[*cached, counterEvent], stream string, limit int) {
	t.Helper()
	if _, err := repo.Update(context.Background(), stream, eventstore.NoStream, eventstore.Command{}, func(c *cached) error {
		c.record(Opened{Limit: limit})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// wantState fails unless a load of stream by a repository that caches
// nothing (a fresh replay) and one by repo give value and history at
// version, with no recorded changes.
func wantState(t *testing.T, s eventstore.Store, repo *eventstore.Repository[*cached, counterEvent], stream string, version uint64, value int, history []int) {
	t.Helper()
	for name, r := range map[string]*eventstore.Repository[*cached, counterEvent]{"replayed": cachedRepo(s, eventstore.CacheSize(0)), "cached": repo} {
		c, v, err := r.Load(context.Background(), stream)
		if err != nil || v != version || c.value != value || !slices.Equal(c.history, history) || len(c.Changes()) != 0 {
			t.Errorf("%s load = value %d history %v changes %v at version %d, %v; want %d %v no changes at %d",
				name, c.value, c.history, c.Changes(), v, err, value, history, version)
		}
	}
}

func TestRepositoryCacheReadsOnlyTheTail(t *testing.T) {
	ctx := context.Background()
	s := &readCounting{Store: newStore(t)}
	repo := cachedRepo(s)
	openCached(t, repo, "c", 100)
	for i := 1; i <= 5; i++ {
		increment(t, repo, "c", i)
	}
	// Given a repository that wrote the stream, when it loads it, it
	// reads nothing but the check for newer events.
	s.read = 0
	wantState(t, s, repo, "c", 6, 15, []int{1, 2, 3, 4, 5})
	s.read = 0
	if _, _, err := repo.Load(ctx, "c"); err != nil || s.read != 0 {
		t.Errorf("a cached load read %d events, %v; want 0", s.read, err)
	}
	// A shared Current costs no copy while the stream is unchanged.
	a, _, _ := repo.Current(ctx, "c")
	b, _, _ := repo.Current(ctx, "c")
	if a != b {
		t.Error("Current returned two copies of an unchanged stream, want the cached state twice")
	}
}

func TestRepositoryCacheSeesOtherWriters(t *testing.T) {
	ctx := context.Background()
	s := &readCounting{Store: newStore(t)}
	mine, theirs := cachedRepo(s), cachedRepo(s) // two replicas over one store
	openCached(t, mine, "c", 10)
	increment(t, mine, "c", 1)
	// Given the stream cached by mine, when another replica appends,
	// mine's loads and commands see its events, reading only them.
	increment(t, theirs, "c", 2)
	increment(t, theirs, "c", 3)
	s.read = 0
	c, v, err := mine.Load(ctx, "c")
	if err != nil || v != 4 || c.value != 6 || s.read != 2 {
		t.Errorf("Load after another writer = value %d at version %d (read %d events), %v; want 6 at 4 reading 2", c.value, v, s.read, err)
	}
	increment(t, theirs, "c", 4)
	if _, err := mine.Update(ctx, "c", eventstore.Any, eventstore.Command{}, func(c *cached) error { return c.Increment(1) }); !errors.Is(err, errOverLimit) {
		t.Errorf("Update over the limit after another writer's events = %v, want errOverLimit", err)
	}
	// An expected version is checked against the store, not the cache.
	increment(t, theirs, "c", -3)
	_, err = mine.Update(ctx, "c", eventstore.Exact(5), eventstore.Command{}, func(c *cached) error { return c.Increment(1) })
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Errorf("Update at version 5 of a stream at 6 = %v, want a conflict", err)
	}
	wantState(t, s, mine, "c", 6, 7, []int{1, 2, 3, 4, -3})
}

func TestRepositoryCacheStaysCleanOnFailure(t *testing.T) {
	ctx := context.Background()
	s := &readCounting{Store: newStore(t)}
	repo := cachedRepo(s)
	openCached(t, repo, "c", 10)
	increment(t, repo, "c", 1)
	// A decide that records and then refuses changes nothing.
	refused := errors.New("refused")
	if _, err := repo.Update(ctx, "c", eventstore.Any, eventstore.Command{}, func(c *cached) error {
		_ = c.Increment(5)
		return refused
	}); !errors.Is(err, refused) {
		t.Fatalf("Update = %v, want the refusal", err)
	}
	wantState(t, s, repo, "c", 2, 1, []int{1})
	// A failed append caches nothing.
	s.failAppend = errors.New("disk full")
	if _, err := repo.Update(ctx, "c", eventstore.Any, eventstore.Command{}, func(c *cached) error { return c.Increment(2) }); !errors.Is(err, s.failAppend) {
		t.Fatalf("Update = %v, want the append's error", err)
	}
	s.failAppend = nil
	wantState(t, s, repo, "c", 2, 1, []int{1})
	// A conflicting append (another writer between the load and the
	// append) is retried on the stream as it stands, and caches only that.
	other := cachedRepo(s)
	interleaved := false
	if _, err := repo.Update(ctx, "c", eventstore.Any, eventstore.Command{}, func(c *cached) error {
		if !interleaved {
			interleaved = true
			increment(t, other, "c", 7)
		}
		return c.Increment(3)
	}); !errors.Is(err, errOverLimit) {
		t.Errorf("Update after a conflict = %v, want errOverLimit (1+7+3 > 10) decided on the reloaded stream", err)
	}
	wantState(t, s, repo, "c", 3, 8, []int{1, 7})
	// With an exact expectation the conflict is returned, and nothing cached.
	_, err := repo.Update(ctx, "c", eventstore.Exact(3), eventstore.Command{}, func(c *cached) error {
		increment(t, other, "c", 1)
		return c.Increment(1)
	})
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Errorf("Update = %v, want a conflict", err)
	}
	wantState(t, s, repo, "c", 4, 9, []int{1, 7, 1})
}

func TestRepositoryCacheCloneIsolation(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	repo := cachedRepo(s)
	openCached(t, repo, "c", 100)
	increment(t, repo, "c", 1)
	// Given two loads of a cached stream, changing one leaves the other
	// and the cache as they were.
	a, _, _ := repo.Load(ctx, "c")
	b, _, _ := repo.Load(ctx, "c")
	if err := a.Increment(9); err != nil {
		t.Fatal(err)
	}
	a.Apply(Incremented{By: 4})
	if b.value != 1 || !slices.Equal(b.history, []int{1}) || b.seen[9] || len(b.Changes()) != 0 {
		t.Errorf("the other load = value %d history %v seen %v changes %v, want 1 [1] {1} none", b.value, b.history, b.seen, b.Changes())
	}
	wantState(t, s, repo, "c", 2, 1, []int{1})
	// The aggregate a command changed is not the one cached: changing it
	// after Update leaves the cache as the store has it.
	var kept *cached
	if _, err := repo.Update(ctx, "c", eventstore.Any, eventstore.Command{}, func(c *cached) error { kept = c; return c.Increment(2) }); err != nil {
		t.Fatal(err)
	}
	kept.Apply(Incremented{By: 50})
	wantState(t, s, repo, "c", 3, 3, []int{1, 2})
}

func TestRepositoryCacheEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	s := &readCounting{Store: newStore(t)}
	repo := cachedRepo(s, eventstore.CacheSize(2))
	for _, stream := range []string{"a", "b", "c"} {
		openCached(t, repo, stream, 10)
		increment(t, repo, stream, 1)
	}
	// a, the least recently used of three, was dropped: it is replayed,
	// and drops c, used before b.
	for _, tt := range []struct {
		stream string
		read   int
	}{{"c", 0}, {"b", 0}, {"a", 2}, {"a", 0}, {"b", 0}, {"c", 2}} {
		s.read = 0
		if _, v, err := repo.Load(ctx, tt.stream); err != nil || v != 2 || s.read != tt.read {
			t.Errorf("Load(%s) at version %d read %d events, %v; want version 2 reading %d", tt.stream, v, s.read, err, tt.read)
		}
	}
}

func TestRepositoryLoadVersion(t *testing.T) {
	ctx := context.Background()
	s := &readCounting{Store: newStore(t)}
	repo := cachedRepo(s)
	openCached(t, repo, "c", 100)
	for i := 1; i <= 4; i++ {
		increment(t, repo, "c", i)
	}
	for _, tt := range []struct {
		upTo    uint64
		history []int
		read    int
	}{
		{5, []int{1, 2, 3, 4}, 0}, // the cached version
		{3, []int{1, 2}, 3},       // before it: replayed
		{3, []int{1, 2}, 0},       // then kept
		{1, nil, 1},
		{5, []int{1, 2, 3, 4}, 0},
		{3, []int{1, 2}, 0},
	} {
		s.read = 0
		c, err := repo.LoadVersion(ctx, "c", tt.upTo)
		if err != nil || !slices.Equal(c.history, tt.history) || s.read != tt.read {
			t.Errorf("LoadVersion(%d) = history %v reading %d events, %v; want %v reading %d", tt.upTo, c.history, s.read, err, tt.history, tt.read)
		}
		c.Apply(Incremented{By: 100}) // the caller's own: the next answer is unchanged
	}
	// Past the cached version it reads on from it.
	increment(t, cachedRepo(s), "c", 5)
	s.read = 0
	if c, err := repo.LoadVersion(ctx, "c", 6); err != nil || c.value != 15 || s.read != 1 {
		t.Errorf("LoadVersion(6) = value %d reading %d events, %v; want 15 reading 1", c.value, s.read, err)
	}
	if _, err := repo.LoadVersion(ctx, "c", 9); err == nil {
		t.Error("LoadVersion past the stream's end succeeded, want an error")
	}
}

func TestRepositoryStatesFrom(t *testing.T) {
	ctx := context.Background()
	s := &readCounting{Store: newStore(t)}
	openCached(t, cachedRepo(s), "c", 10)
	increment(t, cachedRepo(s), "c", 2)
	increment(t, cachedRepo(s), "c", 3)
	// Given a state folded elsewhere at version 2, a load starts from it
	// and reads only the event after it.
	folded := newCached()
	folded.Apply(Opened{Limit: 10})
	folded.Apply(Incremented{By: 2})
	repo := cachedRepo(s)
	offered := folded
	repo.StatesFrom(func(_ context.Context, stream string, v uint64) (*cached, uint64, bool) {
		if stream != "c" || v != 0 {
			return nil, 0, false
		}
		if offered == folded {
			return folded, 2, true
		}
		return offered, 1, true
	})
	s.read = 0
	c, v, err := repo.Load(ctx, "c")
	if err != nil || v != 3 || c.value != 5 || s.read != 1 {
		t.Errorf("Load from a state offered = value %d at version %d reading %d events, %v; want 5 at 3 reading 1", c.value, v, s.read, err)
	}
	if folded.value != 2 {
		t.Errorf("the offered state changed to value %d, want it left at 2", folded.value)
	}
	// An older state offered later is not taken: the source is asked only
	// for what the repository does not hold.
	offered = newCached()
	s.read = 0
	if c, v, _ := repo.Load(ctx, "c"); v != 3 || c.value != 5 || s.read != 0 {
		t.Errorf("Load after an older state is offered = value %d at version %d reading %d events; want 5 at 3 reading 0", c.value, v, s.read)
	}
}

// TestRepositoryPastFrom: a past version the repository does not hold is
// taken from the StatesFrom source (a copy of it, read nothing), and
// replayed from the start when the source has none.
func TestRepositoryPastFrom(t *testing.T) {
	ctx := context.Background()
	s := &readCounting{Store: newStore(t)}
	repo := cachedRepo(s)
	openCached(t, repo, "c", 100)
	for i := 1; i <= 4; i++ {
		increment(t, repo, "c", i)
	}
	built := map[uint64]*cached{}
	for v := uint64(1); v <= 5; v++ {
		c, err := cachedRepo(s).LoadVersion(ctx, "c", v) // a repository of its own replays
		if err != nil {
			t.Fatal(err)
		}
		built[v] = c
	}
	var asked []uint64
	repo.StatesFrom(func(_ context.Context, stream string, v uint64) (*cached, uint64, bool) {
		asked = append(asked, v)
		c, ok := built[v]
		return c, v, ok && stream == "c" && v != 2
	})
	for _, tt := range []struct {
		upTo    uint64
		history []int
		read    int
	}{
		{3, []int{1, 2}, 0}, // from the source
		{2, []int{1}, 2},    // the source has none: replayed
		{5, []int{1, 2, 3, 4}, 0},
	} {
		s.read = 0
		c, err := repo.LoadVersion(ctx, "c", tt.upTo)
		if err != nil || !slices.Equal(c.history, tt.history) || s.read != tt.read {
			t.Errorf("LoadVersion(%d) = history %v reading %d events, %v; want %v reading %d", tt.upTo, c.history, s.read, err, tt.history, tt.read)
		}
		c.Apply(Incremented{By: 100}) // the caller's copy, not the source's state
	}
	if !slices.Equal(asked, []uint64{3, 2}) {
		t.Errorf("the source was asked for versions %v, want [3 2] (the latest is cached)", asked)
	}
	if !slices.Equal(built[3].history, []int{1, 2}) {
		t.Errorf("the source's state changed to %v", built[3].history)
	}
}
