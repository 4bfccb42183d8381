package viewtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
)

// SeedDay is when Seeded's clock starts.
var SeedDay = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// OpenStore opens a new SQLite event store at path (a file in the test's
// temporary directory when path is empty) recording times from clock,
// without fsync (tests need no durability); it is closed when the test
// ends.
func OpenStore(tb testing.TB, path string, clock *Clock) *sqlite.Store {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "events.db")
	}
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{Clock: clock.Now, Synchronous: "OFF"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// Seeded opens a store as OpenStore does, with a Clock set to SeedDay, and
// seeds the demo company into it through reg.
func Seeded(tb testing.TB, path string, reg *eventstore.Registry) (*sqlite.Store, Demo, *Clock) {
	tb.Helper()
	clock := &Clock{}
	clock.Set(SeedDay)
	s := OpenStore(tb, path, clock)
	d, err := Seed(context.Background(), s, reg, clock)
	if err != nil {
		tb.Fatal(err)
	}
	return s, d, clock
}
