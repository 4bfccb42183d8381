package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections"
)

var _ projections.Checkpoints = (*sqlite.Store)(nil)

// TestFeedOnSQLiteResumesAcrossReopen: a consumer on the SQLite store, its
// checkpoint in the same file, stopped while handling an event and started
// again on the reopened store, handles every event exactly once.
func TestFeedOnSQLiteResumesAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	open := func() *sqlite.Store {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	write := func(s *sqlite.Store, from, to int) {
		for k := from; k <= to; k++ {
			data, _ := json.Marshal(happened{N: k})
			ev := eventstore.EventData{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(k))), Type: "test.Happened", SchemaVersion: 1, Data: data}
			if _, err := s.Append(context.Background(), fmt.Sprint("s-", k%4), eventstore.Any, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	store := open()
	write(store, 1, 40)
	rec := newRecorder()
	for _, stopAt := range []uint64{9, 27} {
		reached := make(chan struct{})
		var once sync.Once
		rec.fail = func(ctx context.Context, pos uint64, attempt int) error {
			if pos == stopAt {
				once.Do(func() { close(reached) })
				<-ctx.Done()
			}
			return nil
		}
		r, err := projections.NewRouter(projections.RouterConfig{Retry: fastRetry()})
		if err != nil {
			t.Fatal(err)
		}
		feed := projections.NewFeed(store, projections.FeedConfig{Checkpoints: store, Redelivery: fastRedelivery()})
		if err := r.AddConsumer(projections.Consumer{Name: "c", Source: feed, Policy: projections.StopOnFailure, Handler: rec}); err != nil {
			t.Fatal(err)
		}
		stop := run(t, r)
		waitClosed(t, reached, fmt.Sprintf("event %d", stopAt))
		stop()
		if got := rec.snapshot(); !slices.Equal(got, seq(1, stopAt)) {
			t.Fatalf("applied %v when stopped while handling %d, want 1…%d", got, stopAt, stopAt)
		}
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}
		store = open()
	}
	t.Cleanup(func() { store.Close() })
	write(store, 41, 45)
	rec.fail = nil
	r, err := projections.NewRouter(projections.RouterConfig{Retry: fastRetry()})
	if err != nil {
		t.Fatal(err)
	}
	feed := projections.NewFeed(store, projections.FeedConfig{Checkpoints: store, Redelivery: fastRedelivery()})
	if err := r.AddConsumer(projections.Consumer{Name: "c", Source: feed, Policy: projections.StopOnFailure, Handler: rec}); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	rec.waitLen(t, 45)
	if got := rec.snapshot(); !slices.Equal(got, seq(1, 45)) {
		t.Fatalf("applied %v, want 1…45 each once in order", got)
	}
	// The head is read from the store in the background: check it once known.
	if h, _ := r.ConsumerHealth("c"); h.Head != eventstore.Start && h.Head.Commit != 45 {
		t.Errorf("health = %+v, want head 45", h)
	}
}

// TestFeedYields: a subscription calls FeedConfig.Yield before every 4,096
// events it hands out, and stops when Yield returns an error (its
// context ended while it waited) — having handed out the events before it.
func TestFeedYields(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	const n = 9000
	for from := 0; from < n; from += 1000 {
		batch := make([]eventstore.EventData, 0, 1000)
		for k := from + 1; k <= from+1000; k++ {
			data, _ := json.Marshal(happened{N: k})
			batch = append(batch, eventstore.EventData{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(k))), Type: "test.Happened", SchemaVersion: 1, Data: data})
		}
		if _, err := store.Append(context.Background(), fmt.Sprint("s-", from), eventstore.NoStream, batch...); err != nil {
			t.Fatal(err)
		}
	}
	read := func(yield func(context.Context) error) (handed int) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		feed := projections.NewFeed(store, projections.FeedConfig{Checkpoints: projections.NewMemoryCheckpoints(), Yield: yield})
		defer feed.Close()
		msgs, err := feed.Subscribe(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		for msg := range msgs {
			msg.Ack()
			if handed++; handed == n {
				return handed
			}
		}
		return handed
	}
	calls := 0
	if got := read(func(context.Context) error { calls++; return nil }); got != n {
		t.Fatalf("handed out %d events, want %d", got, n)
	}
	if calls != n/4096 {
		t.Errorf("Yield called %d times for %d events, want %d (before every 4,096)", calls, n, n/4096)
	}
	stopped := errors.New("stopped")
	if got := read(func(context.Context) error { return stopped }); got != 4095 {
		t.Errorf("with Yield failing, %d events handed out, want the 4,095 before its first call", got)
	}
}
