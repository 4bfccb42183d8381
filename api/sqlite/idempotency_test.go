package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/api/idempotencytest"
	"github.com/concord-planning/concord/api/sqlite"
	events "github.com/concord-planning/concord/domain/eventstore/sqlite"
)

// TestIdempotencyContract runs the same scenario against every
// api.Idempotency: claim, in progress, complete, replay, release, expiry.
func TestIdempotencyContract(t *testing.T) {
	stores := map[string]idempotencytest.Open{
		"memory": func(_ *testing.T, now func() time.Time) api.Idempotency { return api.NewMemoryIdempotency(100, now) },
		"sqlite, in the event store's file": func(t *testing.T, now func() time.Time) api.Idempotency {
			path := filepath.Join(t.TempDir(), "events.db")
			es, err := events.Open(context.Background(), path, events.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { es.Close() })
			s, err := sqlite.Open(context.Background(), path, now)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) { idempotencytest.Run(t, open) })
	}
}

// TestMemoryIdempotencyIsBounded: the least recently stored key goes first.
func TestMemoryIdempotencyIsBounded(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	m := api.NewMemoryIdempotency(2, func() time.Time { return t0 })
	for _, k := range []string{"a", "b", "c"} {
		if _, err := m.Reserve(ctx, k, nil, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := m.Complete(ctx, k, api.StoredResponse{Status: 200}, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() != 2 {
		t.Errorf("Len = %d, want 2", m.Len())
	}
	if got, _ := m.Reserve(ctx, "a", nil, t0.Add(time.Hour)); got != nil {
		t.Errorf("the oldest key survived: %+v", got)
	}
	if got, _ := m.Reserve(ctx, "c", nil, t0.Add(time.Hour)); got == nil {
		t.Errorf("the newest key was evicted")
	}
}
