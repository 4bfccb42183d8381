// Package idempotencytest is the contract every api.Idempotency passes:
// claim, in progress, complete, replay, release, lease and expiry.
package idempotencytest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/concord-planning/concord/api"
)

// Open returns a fresh, empty store for one test, reading time from now.
type Open func(t *testing.T, now func() time.Time) api.Idempotency

// Run runs the contract against the store open returns.
func Run(t *testing.T, open Open) {
	t.Helper()
	t0 := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
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
}
