package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/eventstore/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	clock := time.Date(2027, 3, 31, 12, 0, 0, 0, time.UTC)
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{
		Clock: func() time.Time { clock = clock.Add(time.Millisecond); return clock },
	})
	if err != nil {
		t.Fatalf("Open(%s) error %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		return open(t, filepath.Join(t.TempDir(), "events.db"))
	}, storetest.Features{
		Importer: true,
		Reopen: func(t *testing.T, s eventstore.Store) eventstore.Store {
			st := s.(*sqlite.Store)
			if err := st.Close(); err != nil {
				t.Fatalf("Close error %v", err)
			}
			return open(t, st.Path())
		},
	})
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
