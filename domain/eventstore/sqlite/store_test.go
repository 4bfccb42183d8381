package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/eventstore/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	return openWith(t, path, "")
}

// openWith opens the store at path with a fixed clock and the given driver.
func openWith(t *testing.T, path, driver string) *sqlite.Store {
	t.Helper()
	clock := time.Date(2027, 3, 31, 12, 0, 0, 0, time.UTC)
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{
		Driver: driver,
		Clock:  func() time.Time { clock = clock.Add(time.Millisecond); return clock },
	})
	if err != nil {
		t.Fatalf("Open(%s) error %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestContract runs the contract suite against both drivers: the default
// (pure Go) and a database/sql driver (the cgo one, which bench_test.go
// links), since each has its own connection code.
func TestContract(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) eventstore.Store {
				return openWith(t, filepath.Join(t.TempDir(), "events.db"), driver)
			}, storetest.Features{
				Importer: true,
				Reopen: func(t *testing.T, s eventstore.Store) eventstore.Store {
					st := s.(*sqlite.Store)
					if err := st.Close(); err != nil {
						t.Fatalf("Close error %v", err)
					}
					return openWith(t, st.Path(), driver)
				},
			})
		})
	}
}

func TestCheckpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := open(t, path)
	ctx := context.Background()
	if p, err := s.LoadCheckpoint(ctx, "plan"); err != nil || p != eventstore.Start {
		t.Fatalf("LoadCheckpoint(new) = %v, %v; want Start", p, err)
	}
	want := eventstore.Position{Commit: 42, Prepare: 42}
	if err := s.SaveCheckpoint(ctx, "plan", want); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	if p, err := s.LoadCheckpoint(ctx, "plan"); err != nil || p != want {
		t.Fatalf("LoadCheckpoint after reopen = %v, %v; want %v", p, err, want)
	}
}

// TestManyConcurrentReadersOfUncachedStreams reads a log of many streams,
// new to the store's name cache, from more goroutines than the read pool
// has connections: naming streams must not need a second connection while
// a read holds one (that deadlocked the pool).
func TestManyConcurrentReadersOfUncachedStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := open(t, path)
	ctx := context.Background()
	for i := range 300 {
		if _, err := s.Append(ctx, fmt.Sprintf("stream-%d", i), eventstore.NoStream, storetest.Event("test.Happened", `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = open(t, path)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			evs, err := s.ReadAll(ctx, eventstore.Start, 1000)
			if err == nil && len(evs) != 300 {
				err = fmt.Errorf("read %d events, want 300", len(evs))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent read: %v", err)
		}
	}
}

// TestCancelledAppendLeavesStoreUsable cancels an append's context inside
// its transaction (the store's clock is read there): the append must roll
// back completely, and the next append must not find a transaction left open.
func TestCancelledAppendLeavesStoreUsable(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			armed := true
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), sqlite.Options{
				Driver: driver,
				Clock: func() time.Time {
					if armed {
						cancel()
					}
					return time.Date(2027, 3, 31, 12, 0, 0, 0, time.UTC)
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			first := []eventstore.EventData{storetest.Event("test.Happened", `{"n":1}`), storetest.Event("test.Happened", `{"n":2}`)}
			_, err = s.Append(ctx, "s-1", eventstore.NoStream, first...)
			armed = false
			second := storetest.Event("test.Happened", `{"n":3}`)
			if err == nil {
				// The driver finished before it saw the cancellation: the
				// append stands, and the store must still work.
				if _, err := s.Append(context.Background(), "s-1", eventstore.Exact(2), second); err != nil {
					t.Fatalf("Append after a completed append error %v", err)
				}
				return
			}
			if driver == "sqlite" && !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "interrupt") {
				t.Errorf("Append with a context cancelled inside = %v, want an interruption", err)
			}
			if evs, err := s.ReadStream(context.Background(), "s-1", 1, 10); err != nil || len(evs) != 0 {
				t.Fatalf("ReadStream after the cancelled append = %d events, %v; want none", len(evs), err)
			}
			if _, err := s.Append(context.Background(), "s-1", eventstore.NoStream, second); err != nil {
				t.Fatalf("Append after a cancelled append error %v", err)
			}
			if evs, err := s.ReadStream(context.Background(), "s-1", 1, 10); err != nil || len(evs) != 1 || evs[0].ID != second.ID {
				t.Fatalf("ReadStream = %d events, %v; want the one appended after", len(evs), err)
			}
		})
	}
}

// TestSnapshotEmptiesTheLog: a snapshot written is copied into the
// database file and the write-ahead log emptied, so that reads after it
// (a restore) do not look for its pages in the log.
func TestSnapshotEmptiesTheLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s := open(t, path)
	blob := []byte(strings.Repeat("snapshot ", 1<<19)) // 4.5 MB
	if err := s.SaveSnapshot(ctx, "view", blob); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 0 {
		t.Errorf("the write-ahead log holds %d bytes after a snapshot of %d, want 0", fi.Size(), len(blob))
	}
	got, err := s.LoadSnapshot(ctx, "view")
	if err != nil || string(got) != string(blob) {
		t.Errorf("LoadSnapshot after the checkpoint: %d bytes, error %v; want the %d written", len(got), err, len(blob))
	}
}
