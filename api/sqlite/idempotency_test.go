package sqlite_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/api/sqlite"
	events "github.com/concord-planning/concord/domain/eventstore/sqlite"
)

// TestIdempotencyContract runs the same scenario against every
// api.Idempotency: claim, in progress, complete, replay, release, expiry.
func TestIdempotencyContract(t *testing.T) {
	t0 := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	stores := map[string]func(t *testing.T, now func() time.Time) api.Idempotency{
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
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := t0
			s := open(t, func() time.Time { return now })
			fp := []byte("fingerprint")
			if got, err := s.Reserve(ctx, "a", fp, now.Add(time.Minute)); got != nil || err != nil {
				t.Fatalf("first Reserve = %v, %v; want a new claim", got, err)
			}
			if _, err := s.Reserve(ctx, "a", fp, now.Add(time.Minute)); !errors.Is(err, api.ErrInProgress) {
				t.Fatalf("Reserve of a running key = %v, want ErrInProgress", err)
			}
			resp := api.StoredResponse{Fingerprint: fp, Status: 201, Header: http.Header{"Etag": {`"3"`}}, Body: []byte(`{"ok":true}`)}
			if err := s.Complete(ctx, "a", resp, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			got, err := s.Reserve(ctx, "a", []byte("other"), now.Add(time.Minute))
			if err != nil || got == nil || got.Status != 201 || string(got.Body) != `{"ok":true}` || got.Header.Get("ETag") != `"3"` || string(got.Fingerprint) != "fingerprint" {
				t.Fatalf("Reserve of a finished key = %+v, %v; want the stored response", got, err)
			}
			// Release drops a running claim, never a finished one.
			if _, err := s.Reserve(ctx, "b", fp, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := s.Release(ctx, "b"); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Reserve(ctx, "b", fp, now.Add(time.Minute)); got != nil || err != nil {
				t.Errorf("Reserve after Release = %v, %v; want a new claim", got, err)
			}
			if err := s.Release(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Reserve(ctx, "a", fp, now.Add(time.Minute)); got == nil {
				t.Errorf("Release dropped a finished response")
			}
			// A claim abandoned past its lease may be taken again; a
			// response past its expiry is forgotten.
			now = t0.Add(2 * time.Minute)
			if got, err := s.Reserve(ctx, "b", fp, now.Add(time.Minute)); got != nil || err != nil {
				t.Errorf("Reserve of an abandoned claim = %v, %v; want a new claim", got, err)
			}
			now = t0.Add(2 * time.Hour)
			if got, err := s.Reserve(ctx, "a", fp, now.Add(time.Minute)); got != nil || err != nil {
				t.Errorf("Reserve of an expired key = %v, %v; want a new claim", got, err)
			}
		})
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
